/**
 * Fault injection for the sandbox servers: makes an emulated system misbehave the way
 * real ones (and the proxies in front of them) do — rate limits, 5xx pages, slow
 * answers, dropped connections, truncated bodies — deterministically, so a test that
 * saw a fault once sees it again with the same seed.
 *
 * How a server uses it (per incoming request, before handling it):
 *
 *   const fault = injector.decide(req);          // null: behave normally
 *   if (fault && (await injector.apply(fault, req, res))) return;  // fault already answered
 *   // ... handle the request normally (a `slow` fault returns false after its delay)
 *
 * For a realistic `truncate`, compute the real response body first and pass it:
 *   `await injector.apply(fault, req, res, Buffer.from(json))` — headers announce the full
 *   Content-Length, only half of the bytes are sent, then the socket is destroyed.
 *
 * Which requests get a fault (all counting is over requests passed to `decide`; control
 * requests under `/__sandbox/` are never faulted and never counted):
 *   - window: requests numbered 1.. ; with `afterRequests: A` the first A requests pass,
 *     with `forRequests: F` only the F requests after those can be faulted;
 *   - inside the window: `everyNth: N` faults the N-th, 2N-th, … request of the window;
 *     `rate: r` faults each request with probability r (seeded PRNG, default seed 1);
 *     neither given: every request of the window is faulted;
 *   - `methods` / `pathPrefix` (optional) restrict which requests are eligible;
 *   - kinds are used round-robin in the order given (first fault gets kinds[0], …).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Prng } from "./prng.ts";

export type FaultKind = "429" | "500" | "502" | "503" | "slow" | "drop" | "truncate";

export const FAULT_KINDS: readonly FaultKind[] = ["429", "500", "502", "503", "slow", "drop", "truncate"];

export interface FaultConfig {
  /** Probability 0..1 that an eligible request is faulted (seeded, deterministic). */
  rate?: number;
  /** Fault every N-th eligible request (counted inside the window). */
  everyNth?: number;
  /** Kinds of fault, used round-robin. Must not be empty. */
  kinds: FaultKind[];
  /** Retry-After (seconds) sent with 429 and 503. Default 1. */
  retryAfterSec?: number;
  /** Delay of a `slow` fault in ms. Default 2000. */
  slowMs?: number;
  /** PRNG seed for `rate`. Default 1. */
  seed?: number;
  /** Let this many requests pass before faults may start. */
  afterRequests?: number;
  /** After the first `afterRequests`, faults may happen for this many requests only. */
  forRequests?: number;
  /** Optional: only requests with these HTTP methods are eligible (e.g. ["POST","PUT"]). */
  methods?: string[];
  /** Optional: only requests whose path starts with this prefix are eligible (e.g. "/api/v1/Account"). */
  pathPrefix?: string;
}

export interface Fault {
  kind: FaultKind;
  /** Number of the request (1-based, among counted requests) the fault was decided for. */
  request: number;
}

export interface FaultStats {
  /** Requests counted by `decide` since the last `configure`. */
  requests: number;
  /** Faults injected since the last `configure`. */
  injected: number;
  byKind: Record<FaultKind, number>;
  config: FaultConfig | null;
}

/** Shape of a request as far as `decide` cares; a node IncomingMessage fits. */
export interface FaultRequestInfo {
  method?: string;
  url?: string;
}

/** Thrown by `parseFaultConfig` when the JSON body of a control request is not a valid FaultConfig. */
export class FaultConfigError extends Error {}

function emptyByKind(): Record<FaultKind, number> {
  return { "429": 0, "500": 0, "502": 0, "503": 0, slow: 0, drop: 0, truncate: 0 };
}

const STATUS_TEXT: Record<string, string> = {
  "429": "Too Many Requests",
  "500": "Internal Server Error",
  "502": "Bad Gateway",
  "503": "Service Temporarily Unavailable",
};

/** The page nginx serves for an upstream error — what a client really sees behind a proxy. */
function nginxPage(code: string): string {
  const title = `${code} ${STATUS_TEXT[code]}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n`;
}

export class FaultInjector {
  private cfg: FaultConfig | null = null;
  private prng = new Prng(1);
  private requests = 0;
  private injected = 0;
  private byKind = emptyByKind();

  constructor(cfg: FaultConfig | null = null) {
    this.configure(cfg);
  }

  /** Set (or clear with null) the fault configuration; resets counters and the PRNG. */
  configure(cfg: FaultConfig | null): void {
    if (cfg) validate(cfg);
    this.cfg = cfg ? { ...cfg, kinds: [...cfg.kinds] } : null;
    this.prng = new Prng(cfg?.seed ?? 1);
    this.requests = 0;
    this.injected = 0;
    this.byKind = emptyByKind();
  }

  /** The current configuration (a copy), or null. */
  config(): FaultConfig | null {
    return this.cfg ? { ...this.cfg, kinds: [...this.cfg.kinds] } : null;
  }

  /**
   * Decide whether this request gets a fault. Call once per request. Without `req`, every
   * call counts as an eligible request. Requests under `/__sandbox/` are never faulted.
   */
  decide(req?: FaultRequestInfo): Fault | null {
    const url = req?.url ?? "";
    if (url.startsWith("/__sandbox")) return null;
    const cfg = this.cfg;
    if (!cfg) return null;
    if (cfg.methods && req?.method && !cfg.methods.map((m) => m.toUpperCase()).includes(req.method.toUpperCase())) return null;
    if (cfg.pathPrefix && req?.url !== undefined && !url.startsWith(cfg.pathPrefix)) return null;

    this.requests++;
    const n = this.requests;
    const after = cfg.afterRequests ?? 0;
    if (n <= after) return null;
    const inWindow = n - after; // 1-based position inside the window
    if (cfg.forRequests !== undefined && inWindow > cfg.forRequests) return null;

    let hit: boolean;
    if (cfg.everyNth !== undefined) hit = inWindow % cfg.everyNth === 0;
    else if (cfg.rate !== undefined) hit = this.prng.next() < cfg.rate;
    else hit = true;
    if (!hit) return null;

    const kind = cfg.kinds[this.injected % cfg.kinds.length] as FaultKind;
    this.injected++;
    this.byKind[kind]++;
    return { kind, request: n };
  }

  /**
   * Perform a fault on the response. Returns true when the fault has answered (or killed)
   * the request — the server must not touch `res` again; false when the server should go
   * on and answer normally (`slow`, after its delay).
   */
  async apply(fault: Fault, req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<boolean> {
    const cfg = this.cfg;
    const retryAfter = String(cfg?.retryAfterSec ?? 1);
    switch (fault.kind) {
      case "429": {
        const page = Buffer.from(nginxPage("429"));
        res.writeHead(429, {
          "Content-Type": "text/html",
          "Content-Length": page.length,
          "Retry-After": retryAfter,
        });
        res.end(page);
        return true;
      }
      case "500": {
        // An application crash: plain text, as PHP-FPM / gunicorn behind a proxy often yield.
        const text = Buffer.from("Internal Server Error\n");
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": text.length });
        res.end(text);
        return true;
      }
      case "502":
      case "503": {
        const page = Buffer.from(nginxPage(fault.kind));
        const headers: Record<string, string | number> = { "Content-Type": "text/html", "Content-Length": page.length };
        if (fault.kind === "503") headers["Retry-After"] = retryAfter;
        res.writeHead(Number(fault.kind), headers);
        res.end(page);
        return true;
      }
      case "slow": {
        await new Promise((resolve) => setTimeout(resolve, cfg?.slowMs ?? 2000));
        return false;
      }
      case "drop": {
        // Drain nothing, answer nothing: the client sees a reset / "socket hang up".
        req.socket.destroy();
        res.socket?.destroy();
        return true;
      }
      case "truncate": {
        const full = body ?? syntheticBody();
        const half = full.subarray(0, Math.floor(full.length / 2));
        res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": full.length });
        res.flushHeaders();
        const socket = res.socket;
        await new Promise<void>((resolve) => {
          res.write(half, () => resolve());
        });
        // Give the bytes a moment to leave, then cut the connection mid-body.
        await new Promise((resolve) => setImmediate(resolve));
        socket?.destroy();
        return true;
      }
    }
  }

  /** Counts since the last `configure`. */
  stats(): FaultStats {
    return { requests: this.requests, injected: this.injected, byKind: { ...this.byKind }, config: this.config() };
  }
}

function syntheticBody(): Buffer {
  const list = Array.from({ length: 20 }, (_, i) => ({ id: `record-${i}`, name: `Record ${i}` }));
  return Buffer.from(JSON.stringify({ total: list.length, list, data: list }));
}

function validate(cfg: FaultConfig): void {
  if (!Array.isArray(cfg.kinds) || cfg.kinds.length === 0) {
    throw new FaultConfigError(`fault config: "kinds" must be a non-empty array of ${FAULT_KINDS.join(", ")}`);
  }
  for (const k of cfg.kinds) {
    if (!FAULT_KINDS.includes(k))
      throw new FaultConfigError(`fault config: unknown kind "${String(k)}"; expected one of ${FAULT_KINDS.join(", ")}`);
  }
  const nonNeg = (name: keyof FaultConfig) => {
    const v = cfg[name];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) {
      throw new FaultConfigError(`fault config: "${name}" must be a number >= 0`);
    }
  };
  for (const n of ["retryAfterSec", "slowMs", "seed", "afterRequests", "forRequests"] as const) nonNeg(n);
  if (cfg.rate !== undefined && (typeof cfg.rate !== "number" || !(cfg.rate >= 0 && cfg.rate <= 1))) {
    throw new FaultConfigError(`fault config: "rate" must be a number between 0 and 1`);
  }
  if (cfg.everyNth !== undefined && (typeof cfg.everyNth !== "number" || !Number.isInteger(cfg.everyNth) || cfg.everyNth < 1)) {
    throw new FaultConfigError(`fault config: "everyNth" must be an integer >= 1`);
  }
  if (cfg.methods !== undefined && (!Array.isArray(cfg.methods) || cfg.methods.some((m) => typeof m !== "string"))) {
    throw new FaultConfigError(`fault config: "methods" must be an array of HTTP method names`);
  }
  if (cfg.pathPrefix !== undefined && typeof cfg.pathPrefix !== "string") {
    throw new FaultConfigError(`fault config: "pathPrefix" must be a string`);
  }
}

/**
 * Parse the JSON body of a control request (e.g. `POST /__sandbox/faults`) into a FaultConfig.
 * `null`, `{}` or `{ "kinds": [] }` mean "no faults" and return null. Throws FaultConfigError
 * (answer it with 400 and its message) when the body is not valid.
 */
export function parseFaultConfig(input: unknown): FaultConfig | null {
  if (input === null || input === undefined) return null;
  if (typeof input !== "object" || Array.isArray(input)) throw new FaultConfigError("fault config: expected a JSON object");
  const o = input as Record<string, unknown>;
  if (o.kinds === undefined || (Array.isArray(o.kinds) && o.kinds.length === 0)) return null;
  const cfg = { ...o } as unknown as FaultConfig;
  validate(cfg);
  return cfg;
}
