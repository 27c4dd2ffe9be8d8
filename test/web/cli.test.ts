/**
 * `accord user`, `accord token` and `accord server` as a person runs them (child processes, a
 * temporary ACCORD_HOME): the first admin from stdin, an API token, the console served offline,
 * the API answering the token and refusing without it, Ctrl-C (SIGTERM) stopping it cleanly.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStoreTarget } from "../support/store.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const FILE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");
let home: string;
let server: ChildProcess | undefined;
let storeEnv: Record<string, string> = {};

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: home, ACCORD_HOME: home, ...storeEnv };
}

function accord(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
      env: env(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin ?? "");
  });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "accord-web-cli-"));
  storeEnv = (await testStoreTarget(join(home, "accord.db"))).env;
});

afterAll(async () => {
  if (server && server.exitCode === null) server.kill("SIGKILL");
  await rm(home, { recursive: true, force: true });
});

describe("accord user / token / server", () => {
  it("adds the first admin from stdin, refuses a short password and a bad role, creates a token, serves the console", async () => {
    const short = await accord(["user", "add", "ana", "--role", "admin", "--password-stdin"], "short\n");
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/too short/);
    const badRole = await accord(["user", "add", "ana", "--role", "boss", "--password-stdin"], "long enough password\n");
    expect(badRole.code).toBe(2);
    const add = await accord(["user", "add", "ana", "--role", "admin", "--password-stdin"], "long enough password\n");
    expect(add.code, add.stderr).toBe(0);
    const list = await accord(["user", "list", "--json"]);
    expect(JSON.parse(list.stdout).users).toMatchObject([{ name: "ana", role: "admin" }]);
    expect(list.stdout).not.toMatch(/scrypt/);
    const tok = await accord(["token", "create", "--user", "ana", "--label", "test", "--json"]);
    expect(tok.code, tok.stderr).toBe(0);
    const token = JSON.parse(tok.stdout).token as string;
    expect(token).toMatch(/^acc_/);

    server = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "server", FILE, "--port", "0", "--offline"], {
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((res, rej) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => rej(new Error(`no URL printed; stderr: ${err}`)), 20_000);
      server?.stdout?.on("data", (d) => {
        out += d;
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      });
      server?.stderr?.on("data", (d) => (err += d));
    });
    expect((await fetch(`${url}/api/integrations`)).status).toBe(401);
    const r = await fetch(`${url}/api/integrations`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { integrations: Array<{ name: string; live: boolean }> };
    expect(body.integrations[0]).toMatchObject({ live: false });
    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const exited = new Promise<number | null>((res) => server?.on("exit", (code) => res(code)));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);

    const revoke = await accord(["token", "revoke", String(JSON.parse(tok.stdout).id)]);
    expect(revoke.code).toBe(0);
  });
});
