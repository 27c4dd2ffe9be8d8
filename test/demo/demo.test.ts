/**
 * `accord demo --accounts 60 --exit` end to end, as a user runs it: a child process with NO
 * credentials in its environment, in a temporary working directory (state in .accord/demo).
 * Checks the printed audit summary and counts (every object of the example ran, balanced), the
 * quote-to-cash line, then — with the sandboxes restarted from the demo's state (--resume keeps
 * data and keys) — that both systems carry the shared identifier for every linked customer, that
 * the orders created from deals are in the ERP with their names on the deals, that a resumed demo
 * finds nothing new to apply, and that without --exit the console comes up with the printed login.
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
const OBJECTS = ["customer", "billingAddress", "contact", "product", "price", "stock", "salesOrder", "dealInvoices", "accountInvoices", "accountPayments"];
let cwd: string;
/** deal id → ERP sales order name, as the first demo printed them. */
let created: Array<[string, string]> = [];

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
  it("audits, links existing customers, syncs every object of the example with quote-to-cash, prints the counts, exits with --exit", async () => {
    const r = await accord("demo", "--accounts", "60", "--exit");
    expect([0, 4], r.stderr.slice(-2000)).toContain(r.code);
    // progress is visible on stderr while it works
    expect(r.stderr).toContain("Starting the sandboxes");
    expect(r.stderr).toContain("go-live customer");
    expect(r.stderr).toMatch(/customer: done/);
    // the billing addresses kept on the linked accounts are linked at go-live too (ERP values win, no review storm)
    expect(r.stderr).toMatch(/go-live billingAddress: \d+ linked with their customer/);
    // the audit's ten-second summary
    expect(r.stdout).toMatch(/^Audit of acme — customer: \d+ CRM records, \d+ ERP records/m);
    expect(r.stdout).toMatch(/^Across systems: \d+ probable pairs/m);
    // the counts per object: every object of the example ran, parents first, each balanced
    const rows = [...r.stdout.matchAll(/^ {2}([A-Za-z]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/gm)];
    expect(rows.map((m) => m[1])).toEqual([...OBJECTS, "total"]);
    for (const m of rows) {
      const [read, applied, unchanged, held, quarantined] = m.slice(2, 7).map(Number);
      expect(read, m[0]).toBe(applied + unchanged + held + quarantined);
      expect(read, `${m[1]} read records`).toBeGreaterThan(0);
    }
    // prices and stock reached the CRM products
    for (const o of ["product", "price", "stock"]) expect(Number(rows.find((m) => m[1] === o)?.[3]), `${o} applied`).toBeGreaterThan(0);
    // quote-to-cash: orders created from closed-won deals, their names printed
    const q2c = /^quote-to-cash: (\d+) orders created, (\d+) deals held for price approval/m.exec(r.stdout);
    expect(q2c, r.stdout).not.toBeNull();
    expect(Number(q2c?.[1])).toBeGreaterThan(0);
    created = [...r.stdout.matchAll(/^ {2}deal ([0-9a-f]{17}) → ERP sales order (SAL-ORD-\S+)/gm)].map((m) => [m[1], m[2]]);
    expect(created.length).toBeGreaterThan(0);
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
      // the orders quote-to-cash created: in the ERP (a draft, the deal id as its PO), their names on the deals
      expect(created.length).toBeGreaterThan(0);
      const deals = new Map(
        (
          await crm.readByIds(
            "Opportunity",
            created.map(([d]) => d),
          )
        ).map((r) => [r.id, r]),
      );
      const orders = new Map(
        (
          await erp.readByIds(
            "Sales Order",
            created.map(([, o]) => o),
          )
        ).map((r) => [r.id, r]),
      );
      for (const [deal, order] of created) {
        expect(deals.get(deal)?.values.cErpOrderName, `deal ${deal}`).toBe(order);
        expect(deals.get(deal)?.values.cErpOrderStatus, `deal ${deal}`).toBe("Draft");
        expect(orders.get(order)?.values.po_no, `order ${order}`).toBe(deal);
      }
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

  it("without --exit serves the console: the printed login signs in; Ctrl-C stops everything", async () => {
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd };
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "demo", "--resume", "--port", "0"], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((res) => p.on("close", (code) => res(code)));
    try {
      const login = await new Promise<RegExpExecArray>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no console line within 90 s; stderr: ${stderr.slice(-2000)}`)), 90_000);
        p.stdout.on("data", (d) => {
          stdout += d;
          const m = /^Web console: (http:\/\/127\.0\.0\.1:\d+\/)\s+sign in as (\S+) \/ (\S+)/m.exec(stdout);
          if (m) {
            clearTimeout(timer);
            res(m);
          }
        });
        p.on("close", () => rej(new Error(`demo exited early; stderr: ${stderr.slice(-2000)}`)));
      });
      const [, url, user, password] = login;
      const ok = await fetch(`${url}api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: user, password }),
      });
      expect(ok.status).toBe(200);
      const no = await fetch(`${url}api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: user, password: `${password}x` }),
      });
      expect(no.status).toBe(401);
    } finally {
      p.kill("SIGINT");
    }
    expect(await closed).toBe(0);
  }, 120_000);
});
