/**
 * `accord demo --accounts 60 --exit` end to end, as a user runs it: a child process with NO
 * credentials in its environment, in a temporary working directory (state in .accord/demo).
 * Checks the printed counts, then — with the sandboxes restarted from the demo's state
 * (--resume keeps data and keys) — that both systems carry the shared identifier for every
 * linked customer, and that a resumed demo finds nothing new to apply.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import { startSandboxes } from "../../src/sandbox/index.ts";
import { openStore } from "../../src/store/index.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
let cwd: string;

function accord(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    // no ESPOCRM_* / ERPNEXT_* / DATABASE_URL / ACCORD_HOME: the demo needs nothing set
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd };
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "accord-demo-"));
});

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

interface Counts {
  read: number;
  applied: number;
  unchanged: number;
  held: number;
  quarantined: number;
}

interface DemoJson {
  resumed: boolean;
  goLive: { linked: number; alreadyLinked: number };
  objects: Array<{ object: string; counts: Counts }>;
}

describe("accord demo", () => {
  it("starts the sandboxes, links existing customers, syncs customers and contacts, prints the counts, exits with --exit", async () => {
    const r = await accord("demo", "--accounts", "60", "--exit");
    expect([0, 4], r.stderr.slice(-2000)).toContain(r.code);
    // progress is visible on stderr while it works
    expect(r.stderr).toContain("Starting the sandboxes");
    expect(r.stderr).toContain("go-live customer");
    expect(r.stderr).toMatch(/customer: done/);
    // the counts per object, balanced
    const rows = [...r.stdout.matchAll(/^ {2}(customer|contact|total)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/gm)];
    expect(rows.map((m) => m[1])).toEqual(["customer", "contact", "total"]);
    for (const m of rows) {
      const [read, applied, unchanged, held, quarantined] = m.slice(2, 7).map(Number);
      expect(read, m[0]).toBe(applied + unchanged + held + quarantined);
    }
    const customer = rows[0].slice(2, 7).map(Number);
    expect(customer[1], "customers were applied (linked, stamped, created)").toBeGreaterThan(0);
    const linked = Number(/→ (\d+) pairs linked now/.exec(r.stdout)?.[1]);
    expect(linked).toBeGreaterThan(20);
    // where to look next, and the systems
    expect(r.stdout).toMatch(/EspoCRM \(emulated\)\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/ERPNext \(emulated\)\s+http:\/\/127\.0\.0\.1:\d+/);
    for (const next of ["accord review list", "accord history", "accord plan"]) expect(r.stdout).toContain(next);

    // a resumed demo: the same data and keys, the links kept; the go-live links only what it newly
    // finds (e.g. a customer whose twin the first sync refused to create), the sync applies only that
    const again = await accord("demo", "--resume", "--exit", "--json");
    expect([0, 4], again.stderr.slice(-2000)).toContain(again.code);
    const j = JSON.parse(again.stdout) as DemoJson;
    expect(j.resumed).toBe(true);
    expect(j.goLive.alreadyLinked).toBeGreaterThanOrEqual(linked);
    expect(j.goLive.linked).toBeLessThanOrEqual(3);
    for (const o of j.objects) expect(o.counts.read).toBe(o.counts.applied + o.counts.unchanged + o.counts.held + o.counts.quarantined);

    // and once more: converged — nothing linked, nothing applied (no echo of Accord's own writes, no second create)
    const third = await accord("demo", "--resume", "--exit", "--json");
    const k = JSON.parse(third.stdout) as DemoJson;
    expect(k.goLive.linked).toBe(0);
    for (const o of k.objects) {
      expect(o.counts.read).toBe(o.counts.applied + o.counts.unchanged + o.counts.held + o.counts.quarantined);
      expect(o.counts.applied, `${o.object}: a resumed demo with no edits applies nothing`).toBe(0);
    }
  }, 180_000);

  it("leaves the shared identifier in both systems for every linked customer", async () => {
    const state = join(cwd, ".accord", "demo");
    // the demo's sandboxes, restarted from its state folder (same data, same keys)
    const sb = await startSandboxes({ statePath: join(state, "sandbox") });
    const store = await openStore({ file: join(state, "accord.db") });
    const crm = await createConnector("espocrm", { url: sb.crm.url, credentials: { apiKey: sb.crm.apiKey } });
    const erp = await createConnector("erpnext", {
      url: sb.erp.url,
      credentials: { apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret },
      options: { timezone: sb.erp.timezone },
    });
    try {
      const links = await store.listLinks("acme", "customer", { limit: 10_000 });
      expect(links.length).toBeGreaterThan(20);
      const active = links.filter((l) => l.status === "active" && l.crmId && l.erpId);
      const accounts = new Map(
        (
          await crm.readByIds(
            "Account",
            active.map((l) => l.crmId as string),
          )
        ).map((r) => [r.id, r]),
      );
      const customers = new Map(
        (
          await erp.readByIds(
            "Customer",
            active.map((l) => l.erpId as string),
          )
        ).map((r) => [r.id, r]),
      );
      const quarantined = new Set((await store.listQuarantine("acme", { object: "customer", status: "open" })).map((q) => q.recordId));
      let checked = 0;
      for (const l of active) {
        const acc = accounts.get(l.crmId as string);
        const cust = customers.get(l.erpId as string);
        expect(cust, `ERP customer ${l.erpId}`).toBeDefined();
        expect(acc, `CRM account ${l.crmId}`).toBeDefined();
        expect(l.sharedId).toBe(cust?.id); // the shared id is the ERP customer's name …
        if (quarantined.has(l.crmId as string)) continue; // … e.g. a name longer than the CRM field: quarantined with the reason
        expect(acc?.values.cAccordId, `CRM account ${l.crmId} carries the ERP name`).toBe(l.sharedId);
        checked++;
      }
      expect(checked).toBeGreaterThan(20);
    } finally {
      await Promise.allSettled([crm.close(), erp.close()]);
      await store.close();
      await sb.close();
    }
  }, 60_000);
});
