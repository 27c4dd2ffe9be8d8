/**
 * The operations commands as a person runs them, as child processes against the sandboxes (store in
 * a temporary ACCORD_HOME): apply/changes, drift/drift accept after an upgrade, status, alerts,
 * and `accord run` — a second process refused by the lock, SIGTERM → clean exit, lock released.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { type TestStoreTarget, testStoreTarget } from "../support/store.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
let sb: Sandboxes;
let dir: string;
let file: string;
let env: Record<string, string>;

let target: TestStoreTarget;
const SPEC = (taxField: string) => `
version: 1
name: opscli
systems:
  crm:
    type: espocrm
    url: "\${CRM_URL}"
    credentials: { apiKey: "\${CRM_KEY}" }
  erp:
    type: erpnext
    url: "\${ERP_URL}"
    credentials: { apiKey: "\${ERP_KEY}", apiSecret: "\${ERP_SECRET}" }
    options: { timezone: "__TZ__" }
owner: { name: Erin Owner, email: erin@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: realtime
    create: both
    conflict: last-updated-wins
    fields:
      - { crm: name, erp: customer_name, direction: both }
      - { crm: sicCode, erp: ${taxField}, direction: erp->crm }
`;

function accord(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += String(d);
    });
    p.stderr.on("data", (d) => {
      err += String(d);
    });
    p.on("close", (code) => done({ code, out, err }));
  });
}

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 6, seed: 9, scope: "accounts" });
  dir = mkdtempSync(join(tmpdir(), "accord-ops-cli-"));
  target = await testStoreTarget(join(dir, "home", "accord.db"));
  file = join(dir, "opscli.yaml");
  writeFileSync(file, SPEC("tax_id").replace("__TZ__", sb.erp.timezone));
  env = {
    PATH: process.env.PATH ?? "",
    ACCORD_HOME: join(dir, "home"),
    CRM_URL: sb.crm.url,
    CRM_KEY: sb.crm.apiKey,
    ERP_URL: sb.erp.url,
    ERP_KEY: sb.erp.apiKey,
    ERP_SECRET: sb.erp.apiSecret,
    USER: "ana",
    ...target.env,
  };
}, 60_000);

afterAll(async () => {
  await sb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("operations commands", () => {
  it("apply records the file with author, rationale and plan; an unchanged file records nothing; changes lists them", async () => {
    const a = await accord(["apply", file, "--why", "first go-live"]);
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/Recorded version #1 of opscli by ana: first go-live/);
    expect(a.out).toMatch(/dry run: read \d+/);
    const again = await accord(["apply", file, "--why", "same"]);
    expect(again.out).toMatch(/Nothing recorded/);
    const c = await accord(["changes", file, "--json"]);
    const versions = JSON.parse(c.out) as Array<{
      author: string;
      why: string;
      plan: { summary: string[]; dryRun: { reachable: boolean } };
    }>;
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({
      author: "ana",
      why: "first go-live",
      plan: { summary: ["first recorded version"], dryRun: { reachable: true } },
    });
    const noWhy = await accord(["apply", file]);
    expect(noWhy.code).not.toBe(0);
  }, 60_000);

  it("drift: accept a baseline, an upgrade renames the mapped field → reported with the new name; accept refused until the map is fixed; the fix is logged by apply", async () => {
    expect((await accord(["drift", "accept", file])).code).toBe(0);
    const clean = await accord(["drift", file]);
    expect(clean.code, clean.err + clean.out).toBe(0);
    await fetch(`${sb.erp.url}/__sandbox/upgrade`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ doctype: "Customer", renameField: { from: "tax_id", to: "tax_id_v2" } }),
    });
    const d = await accord(["drift", file]);
    expect(d.code).toBe(4);
    expect(d.out).toMatch(/ERP Customer\.tax_id .* is gone — renamed to tax_id_v2\?/);
    expect(d.out).toMatch(/customer: mapping sicCode ↔ tax_id/);
    const refused = await accord(["drift", "accept", file]);
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(/Not accepted/);
    const st = await accord(["status", file]);
    expect(st.code).toBe(1);
    expect(st.out).toMatch(/FAILING/);
    expect(st.out).toMatch(/paused by schema drift/);
    expect(st.out).toMatch(/accord run: not running/);

    writeFileSync(file, SPEC("tax_id_v2").replace("__TZ__", sb.erp.timezone));
    const fixed = await accord(["drift", file]);
    expect(fixed.out).toMatch(/new field/); // tax_id_v2 is new since the snapshot: information only
    expect(fixed.code).toBe(0);
    expect((await accord(["drift", "accept", file])).code).toBe(0);
    const applied = await accord(["apply", file, "--why", "ERP upgrade renamed tax_id", "--author", "erin", "--no-dry-run"]);
    expect(applied.out).toMatch(/\+ customer: field sicCode ↔ tax_id_v2/);
    expect(applied.out).toMatch(/- customer: field sicCode ↔ tax_id\b/);
    const list = await accord(["changes", file]);
    expect(list.out).toMatch(/#2 .* erin/);
    expect(list.out).toMatch(/why: ERP upgrade renamed tax_id/);
  }, 90_000);

  it("alerts list and ack", async () => {
    const store = await target.open();
    try {
      await store.raiseAlert?.({
        integration: "opscli",
        rule: "freshness",
        object: "customer",
        severity: "warning",
        message: "stale",
        detail: null,
      });
    } finally {
      await store.close();
    }
    const l = await accord(["alerts", file]);
    expect(l.code).toBe(4);
    expect(l.out).toMatch(/freshness\s+customer/);
    const ack = await accord(["alerts", "ack", "1", file, "--by", "erin"]);
    expect(ack.code, ack.err).toBe(0);
    expect(ack.out).toMatch(/acknowledged by erin/);
    const bad = await accord(["alerts", "ack", "999", file]);
    expect(bad.code).toBe(2);
  }, 60_000);

  it("accord run: a taken HTTP port fails at once and gives the lock back", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (busy.address() as { port: number }).port;
      const r = await accord(["run", file, "--port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/port is already in use/);
      const store = await target.open();
      try {
        expect(await store.getLock?.("opscli")).toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  }, 60_000);

  it("accord run: syncs, a second process is refused by the lock, SIGTERM stops it cleanly and frees the lock", async () => {
    const p: ChildProcess = spawn(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", MAIN, "run", file, "--poll", "1s", "--port", "0", "--log-level", "info"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    p.stderr?.on("data", (d) => {
      err += String(d);
    });
    const end = Date.now() + 20_000;
    while (!/run ok: customer/.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(err).toMatch(/run ok: customer/);
    const live = await accord(["status", file, "--offline"]);
    expect(live.out).toMatch(/accord run: live/);
    const second = await accord(["run", file, "--port", "0"]);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(/another `accord run` holds integration opscli/);
    const exited = new Promise<number | null>((r) => p.on("close", (code) => r(code)));
    p.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(err).toMatch(/accord run stopped/);
    const store = await target.open();
    try {
      expect(await store.acquireLock?.("opscli", "after", 1000)).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);
});
