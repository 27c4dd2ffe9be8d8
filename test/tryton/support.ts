/**
 * What the Tryton tests share: where the local peer is (TRYTON_URL/TRYTON_DB/TRYTON_USER/
 * TRYTON_PASSWORD, else the files `bash scripts/peers/tryton.sh start` leaves in
 * .accord/peers/tryton/), whether it answers, a raw JSON-RPC client for out-of-band changes
 * (as the user "clerk", a person editing in the ERP), and a counting, fault-injecting proxy in
 * front of the real server (the sandbox's FaultInjector) for the contract suite.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { type FaultConfig, FaultInjector } from "../../src/sandbox/common/faults.ts";

export interface PeerEnv {
  url: string;
  db: string;
  user: string;
  password: string;
}

const ROOT = resolve(import.meta.dirname, "../..");
export const ENABLE_HINT =
  "start the local Tryton peer with `bash scripts/peers/tryton.sh start` (installs Tryton from Debian's packages on first use)";

export function peerEnv(): PeerEnv | undefined {
  let password = process.env.TRYTON_PASSWORD;
  if (!password) {
    try {
      password = readFileSync(resolve(ROOT, ".accord/peers/tryton/admin.pass"), "utf8").trim();
    } catch {
      return undefined;
    }
  }
  return {
    url: (process.env.TRYTON_URL ?? `http://127.0.0.1:${process.env.TRYTON_PORT ?? "8000"}`).replace(/\/+$/, ""),
    db: process.env.TRYTON_DB ?? "accord",
    user: process.env.TRYTON_USER ?? "admin",
    password,
  };
}

/** The peer's env when it answers; undefined (skip) — or a loud failure when CI=true. */
export async function probePeer(): Promise<PeerEnv | undefined> {
  const env = peerEnv();
  let ok = false;
  if (env) {
    try {
      const res = await fetch(`${env.url}/`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ id: 1, method: "common.server.version", params: [] }),
        signal: AbortSignal.timeout(3000),
      });
      ok = res.ok;
    } catch {
      ok = false;
    }
  }
  if (ok) return env;
  const why = env ? `Tryton does not answer at ${env.url}` : "no Tryton password (TRYTON_PASSWORD or .accord/peers/tryton/admin.pass)";
  if (process.env.CI === "true") throw new Error(`Tryton tests cannot run in CI: ${why}. .ci/run must ${ENABLE_HINT}.`);
  console.warn(`Tryton tests skipped: ${why}. To enable them, ${ENABLE_HINT}.`);
  return undefined;
}

type Json = Record<string, unknown>;

/** Minimal JSON-RPC client for out-of-band changes (not the connector under test). */
export class RawTryton {
  private auth = "";
  private n = 1;
  calls = 0;
  readonly env: PeerEnv;
  readonly login: string;
  private readonly password: string;
  context: Json = {};
  constructor(env: PeerEnv, login = "clerk", password = env.password) {
    this.env = env;
    this.login = login;
    this.password = password;
  }
  async post(
    method: string,
    params: unknown[],
    opts: { auth?: boolean; body?: Json } = {},
  ): Promise<{ status: number; text: string; json?: Json }> {
    this.calls++;
    const res = await fetch(`${this.env.url}/${this.env.db}/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(opts.auth === false || !this.auth ? {} : { Authorization: this.auth }) },
      body: JSON.stringify(opts.body ?? { id: this.n++, method, params }),
    });
    const text = await res.text();
    let json: Json | undefined;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }
  async open(): Promise<this> {
    const r = await this.post("common.db.login", [this.login, { password: this.password }, "en"], { auth: false });
    const [uid, key] = (r.json?.result ?? []) as [number, string];
    if (!key) throw new Error(`raw login of ${this.login} failed: HTTP ${r.status}`);
    this.auth = `Session ${Buffer.from(`${this.login}:${uid}:${key}`).toString("base64")}`;
    const prefs = (await this.call("model.res.user.get_preferences", [true, {}], false)) as Json;
    this.context = { company: prefs.company };
    return this;
  }
  /** A call whose last param is the context (unless withContext is false); throws on an error envelope. */
  async call(method: string, params: unknown[], withContext = true): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.post(method, withContext ? [...params, this.context] : params);
      // Tryton on SQLite can number concurrent creates from the same sequence value (rolled back): try again
      if (attempt < 5 && method.endsWith(".create") && /The code on [\w .]+ must be unique/.test(r.text)) {
        await new Promise((res) => setTimeout(res, 30 + Math.random() * 120 * attempt));
        continue;
      }
      if (r.status !== 200 || !r.json || "error" in r.json) throw new Error(`${method}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      return r.json.result;
    }
  }
}

/** A proxy in front of Tryton: counts requests and injects faults (seeded) on the way back. */
export class FaultProxy {
  readonly injector = new FaultInjector(null);
  requests = 0;
  /** Request bodies as sent (JSON text) and the last session header seen. */
  readonly bodies: string[] = [];
  lastAuthorization = "";
  /** Answer the next N database calls (not logins) with HTTP 401, empty body (an expired session). */
  expireNext = 0;
  /** Answer logins with Tryton's lock-out: HTTP 429, HTML, no Retry-After. */
  lockout = false;
  private server?: Server;
  url = "";
  private readonly target: string;
  constructor(target: string) {
    this.target = target;
  }
  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  faults(cfg: FaultConfig | null): void {
    this.injector.configure(cfg);
  }
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    this.bodies.push(text);
    if (typeof req.headers.authorization === "string") this.lastAuthorization = req.headers.authorization;
    const isLogin = text.includes('"common.db.login"');
    if (isLogin && this.lockout) {
      res.writeHead(429, { "Content-Type": "text/html" }).end("<h1>Too Many Requests</h1>");
      return;
    }
    if (!isLogin && this.expireNext > 0) {
      this.expireNext--;
      res.writeHead(401).end();
      return;
    }
    const fault = this.injector.decide(req);
    try {
      // Faults that answer instead of the server (429/5xx/drop) happen before forwarding.
      if (fault && fault.kind !== "slow" && fault.kind !== "truncate" && (await this.injector.apply(fault, req, res))) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
      const up = await fetch(this.target + (req.url ?? "/"), {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await up.arrayBuffer());
      if (fault && (await this.injector.apply(fault, req, res, body))) return;
      res.writeHead(up.status, { "Content-Type": up.headers.get("content-type") ?? "application/json", "Content-Length": body.length });
      res.end(body);
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  }
  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
