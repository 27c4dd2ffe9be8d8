/**
 * Bulk creates over real HTTP (src/engine/bulk-creates.ts): with a createKey and several records in
 * flight, the creates of a page share `frappe.client.insert_many` calls against the ERPNext sandbox
 * (≤ 200 documents, one transaction), matched back by the key. One invalid record refuses its whole
 * call: the others of that call are created one by one and the invalid one is quarantined with its
 * reason. A call whose answer is lost leaves the intents pending: the next run finds the customers
 * by their key, with no second create.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = (tz: string) => `
version: 1
name: bulk
systems:
  crm:
    type: espocrm
    url: "\${B_CRM_URL}"
    credentials: { apiKey: "\${B_CRM_KEY}" }
  erp:
    type: erpnext
    url: "\${B_ERP_URL}"
    credentials: { apiKey: "\${B_ERP_KEY}", apiSecret: "\${B_ERP_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Test Owner, email: owner@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name, createKey: custom_accord_id }
    create: crm->erp
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp }
`;

let sb: Sandboxes | undefined;
let opened: OpenedContext | undefined;
afterEach(async () => {
  await opened?.close();
  await sb?.close();
  opened = undefined;
  sb = undefined;
});

async function world(accounts: Array<{ name: string; website?: string }>) {
  sb = await startSandboxes({ accounts: 0, seed: 11, scope: "accounts" });
  sb.servers.crm.control.seed({ Account: accounts.map((a) => ({ type: "Customer", ...a })) });
  opened = await openContext(loadSpec(SPEC(sb.erp.timezone), "bulk.yaml"), {
    env: {
      B_CRM_URL: sb.crm.url,
      B_CRM_KEY: sb.crm.apiKey,
      B_ERP_URL: sb.erp.url,
      B_ERP_KEY: sb.erp.apiKey,
      B_ERP_SECRET: sb.erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
  return { sb, ctx: opened.ctx };
}

async function erpCustomers(s: Sandboxes): Promise<Array<{ name: string; customer_name: string; custom_accord_id: string | null }>> {
  const fields = encodeURIComponent('["name","customer_name","custom_accord_id"]');
  const res = await fetch(`${s.erp.url}/api/resource/Customer?fields=${fields}&limit_page_length=0`, {
    headers: { Authorization: `token ${s.erp.apiKey}:${s.erp.apiSecret}` },
  });
  return ((await res.json()) as { data: Array<{ name: string; customer_name: string; custom_accord_id: string | null }> }).data;
}

async function crmAccounts(s: Sandboxes): Promise<Array<{ id: string; name: string; cAccordId: string | null }>> {
  const out: Array<{ id: string; name: string; cAccordId: string | null }> = [];
  for (let offset = 0; ; offset += 200) {
    const res = await fetch(`${s.crm.url}/api/v1/Account?select=id,name,cAccordId&maxSize=200&offset=${offset}`, {
      headers: { "X-Api-Key": s.crm.apiKey },
    });
    const list = ((await res.json()) as { list: Array<{ id: string; name: string; cAccordId: string | null }> }).list;
    out.push(...list);
    if (list.length < 200) return out;
  }
}

function balanced(c: { read: number; applied: number; unchanged: number; held: number; quarantined: number }) {
  expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
}

const named = (n: number): Array<{ name: string; website?: string }> =>
  Array.from({ length: n }, (_, i) => ({ name: `Bulk ${String(i).padStart(4, "0")} Ltd`, website: `bulk-${i}.example.com` }));

describe("bulk creates into ERPNext (frappe.client.insert_many)", () => {
  it("an initial load in lanes: creates share calls, every account gets one customer, linked and stamped", async () => {
    const { sb: s, ctx } = await world(named(450));
    const before = ctx.erp.stats().calls;
    const r = await runSync(ctx, { applyConcurrency: 4 });
    const erpCalls = ctx.erp.stats().calls - before;
    expect(r.totals).toMatchObject({ applied: 450, quarantined: 0 });
    balanced(r.totals); // (the new customers may be read back as echoes in the same run: unchanged)
    // one create call per record would be ≥ 450; bulk: a few insert_many calls (and their read-backs) per page
    expect(erpCalls).toBeLessThan(60);
    const customers = await erpCustomers(s);
    const accounts = await crmAccounts(s);
    expect(customers).toHaveLength(450);
    expect(new Set(customers.map((c) => c.custom_accord_id)).size).toBe(450);
    const byName = new Map(customers.map((c) => [c.name, c]));
    for (const a of accounts) {
      const link = await ctx.store.getLink("bulk", "customer", { crmId: a.id });
      expect(link?.erpId, a.name).toBe(a.cAccordId); // stamped with the customer linked to it
      const c = byName.get(String(a.cAccordId));
      expect(c?.custom_accord_id).toBe(a.id); // matched by key, not by position
      expect(c?.customer_name).toBe(a.name);
    }
    expect(await ctx.store.pendingCreateIntents("bulk", "customer")).toHaveLength(0);
    // history: each create logged per field
    const h = await ctx.store.history("bulk", "customer", String(accounts[0].cAccordId));
    expect(h.map((e) => e.field).sort()).toEqual(["custom_accord_id", "customer_name", "website"]);
    // the next run finds nothing to do
    const again = await runSync(ctx, { applyConcurrency: 4 });
    expect(again.totals.applied).toBe(0);
    expect(await erpCustomers(s)).toHaveLength(450);
  });

  it("without a key to match created records by, creates go one call each and never more than C at once", async () => {
    const { sb: s } = await world(named(120));
    // a counting proxy in front of the ERPNext sandbox: the most creates in flight at one moment
    let inFlight = 0;
    let most = 0;
    let bulk = 0;
    const proxy = createServer((req, res) => {
      const isCreate = req.method === "POST" && req.url?.startsWith("/api/resource/Customer");
      if (req.url?.includes("insert_many")) bulk++;
      if (isCreate) most = Math.max(most, ++inFlight);
      const up = request(`${s.erp.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on("end", () => {
          if (isCreate) inFlight--;
        });
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const spec = loadSpec(SPEC(s.erp.timezone).replace(", createKey: custom_accord_id", ""), "nokey.yaml");
      const o = await openContext(spec, {
        env: { B_CRM_URL: s.crm.url, B_CRM_KEY: s.crm.apiKey, B_ERP_URL: url, B_ERP_KEY: s.erp.apiKey, B_ERP_SECRET: s.erp.apiSecret },
        store: await testStoreOptions(),
      });
      try {
        const r = await runSync(o.ctx, { applyConcurrency: 4 });
        expect(r.totals).toMatchObject({ applied: 120, quarantined: 0 });
      } finally {
        await o.close();
      }
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
    expect(bulk).toBe(0);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it("a record the ERP refuses is quarantined with its reason; the rest of its call is created one by one", async () => {
    const accounts = named(120);
    accounts[37] = { name: `Far Too Long ${"x".repeat(170)} Ltd` }; // ERPNext: max 140 characters
    const { sb: s, ctx } = await world(accounts);
    const r = await runSync(ctx, { applyConcurrency: 4 });
    expect(r.totals).toMatchObject({ applied: 119, quarantined: 1 });
    balanced(r.totals);
    const q = await ctx.store.listQuarantine("bulk", { object: "customer", status: "open" });
    expect(q).toHaveLength(1);
    expect(q[0].errorClass).toBe("ValidationRejected");
    expect(q[0].reason).toMatch(/140/);
    const customers = await erpCustomers(s);
    expect(customers).toHaveLength(119);
    expect(customers.some((c) => c.customer_name.startsWith("Far Too Long"))).toBe(false);
    expect(await ctx.store.pendingCreateIntents("bulk", "customer")).toHaveLength(0);
  });

  it("a call whose answer is lost (created, then the body cut short): the next run finds them by key, no second create", async () => {
    const { sb: s, ctx } = await world(named(150));
    const ctl = await fetch(`${s.erp.url}/__sandbox/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kinds: ["truncate"], pathPrefix: "/api/method/frappe.client.insert_many", forRequests: 1 }),
    });
    expect(ctl.status).toBe(200);
    await expect(runSync(ctx, { applyConcurrency: 4 })).rejects.toThrow();
    const pending = await ctx.store.pendingCreateIntents("bulk", "customer");
    expect(pending.length).toBeGreaterThan(0); // the lost call's records: created, not yet linked
    const created = (await erpCustomers(s)).length;
    expect(created).toBeGreaterThanOrEqual(pending.length);
    const r = await runSync(ctx, { applyConcurrency: 4 });
    expect(r.objects[0].recovered).toBe(pending.length);
    const customers = await erpCustomers(s);
    expect(customers).toHaveLength(150);
    expect(new Set(customers.map((c) => c.custom_accord_id)).size).toBe(150);
    expect(await ctx.store.pendingCreateIntents("bulk", "customer")).toHaveLength(0);
    for (const a of await crmAccounts(s)) expect((await ctx.store.getLink("bulk", "customer", { crmId: a.id }))?.erpId).toBe(a.cAccordId);
  });
});
