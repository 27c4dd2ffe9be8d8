/**
 * The demo's console (src/server/demo-console.ts): started on the demo's integration file, store and
 * sandboxes, it signs in with the printed login, reads both systems live, and a second start on the
 * same state folder (--resume) keeps the same login; a port in use falls back to a free one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createNetServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_FILE, demoEnv } from "../../src/demo/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { startDemoConsole } from "../../src/server/demo-console.ts";

let sb: Sandboxes;
let dir: string;
let blocker: Server;
let blockedPort: number;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 4, seed: 2, scope: "accounts" });
  dir = await mkdtemp(join(tmpdir(), "accord-demo-console-"));
  blocker = createNetServer();
  await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", () => res()));
  blockedPort = (blocker.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((res) => blocker?.close(() => res()));
  await sb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function signIn(url: string, user: string, password: string): Promise<number> {
  const r = await fetch(`${url}api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: user, password }),
  });
  return r.status;
}

describe("the demo's console", () => {
  it("serves with a generated admin login that a resumed demo keeps; a taken port falls back to a free one", async () => {
    const opts = { file: DEMO_FILE, env: demoEnv(sb), storeFile: join(dir, "accord.db"), stateDir: dir, port: blockedPort };
    const first = await startDemoConsole(opts);
    let password: string;
    try {
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(first.url).not.toContain(`:${blockedPort}/`);
      expect(await signIn(first.url, first.user, first.password)).toBe(200);
      expect(await signIn(first.url, first.user, "wrong")).toBe(401);
      password = first.password;
    } finally {
      await first.close();
    }
    const again = await startDemoConsole(opts);
    try {
      expect(again.password).toBe(password);
      expect(await signIn(again.url, again.user, password)).toBe(200);
      const login = await fetch(`${again.url}api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: again.user, password }),
      });
      const cookie = (login.headers.getSetCookie() ?? []).map((c) => c.split(";")[0]).join("; ");
      const list = (await (await fetch(`${again.url}api/integrations`, { headers: { cookie } })).json()) as {
        integrations: Array<{ live: boolean }>;
      };
      expect(list.integrations[0].live).toBe(true);
    } finally {
      await again.close();
    }
  });
});
