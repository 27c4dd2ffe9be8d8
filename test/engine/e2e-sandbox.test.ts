/**
 * End to end over real HTTP: the real EspoCRM and ERPNext connectors against the emulated
 * servers, customers synced both ways by the engine, store on SQLite :memory:.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { planSync, resolveReview, runSync } from "../../src/engine/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = `
version: 1
name: e2e
systems:
  crm:
    type: espocrm
    url: "\${E2E_CRM_URL}"
    credentials: { apiKey: "\${E2E_CRM_KEY}" }
  erp:
    type: erpnext
    url: "\${E2E_ERP_URL}"
    credentials: { apiKey: "\${E2E_ERP_KEY}", apiSecret: "\${E2E_ERP_SECRET}" }
    options: { timezone: "__TZ__" }
owner: { name: Test Owner, email: owner@example.com }
sync:
  overlap: 5m
  skewTolerance: 2s
  bounce: { max: 20, window: 10m }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    conflict: review
    onMasterEdit: revert
    deletes: flag
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp, toErp: [ { normalize: [trim, lower] } ] }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`;

let sb: Sandboxes;
let opened: OpenedContext;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 12, seed: 3, scope: "accounts" });
  const spec = loadSpec(SPEC.replace("__TZ__", sb.erp.timezone), "e2e.yaml");
  opened = await openContext(spec, {
    env: {
      E2E_CRM_URL: sb.crm.url,
      E2E_CRM_KEY: sb.crm.apiKey,
      E2E_ERP_URL: sb.erp.url,
      E2E_ERP_KEY: sb.erp.apiKey,
      E2E_ERP_SECRET: sb.erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
});

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

function balanced(c: { read: number; applied: number; unchanged: number; held: number; quarantined: number }) {
  expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
}

describe("customers between the EspoCRM and ERPNext sandboxes", () => {
  it("plans without writing, then syncs both ways, stamping the ERP name into every CRM account", async () => {
    const { ctx } = opened;
    const plan = await planSync(ctx);
    expect(plan.totals.read).toBeGreaterThan(0);
    expect(await ctx.store.countLinks("e2e", "customer")).toBe(0);
    expect(await ctx.store.listRuns("e2e")).toHaveLength(0);

    const res = await runSync(ctx);
    const c = res.objects[0].counts;
    balanced(c);
    expect(c.applied).toBeGreaterThan(0);
    // the seeded systems hold the same companies unlinked (matching is the quality step's job): creating
    // them again is refused as a duplicate by the target system — quarantined with the reason, never skipped
    const q = await ctx.store.listQuarantine("e2e", { status: "open" });
    expect(q).toHaveLength(c.quarantined);
    for (const e of q) expect(e.errorClass).toBe("Duplicate");
    const links = await ctx.store.listLinks("e2e", "customer");
    expect(links.length).toBeGreaterThan(0);
    // every link: the CRM account carries the ERP customer's name
    for (const l of links.slice(0, 10)) {
      const [acc] = await ctx.crm.readByIds("Account", [l.crmId as string]);
      const [cust] = await ctx.erp.readByIds("Customer", [l.erpId as string]);
      expect(acc.values.cAccordId).toBe(cust.id);
      expect(l.sharedId).toBe(cust.id);
      expect(acc.values.name).toBe(cust.values.customer_name);
    }
  });

  it("a second run reads Accord's own writes back and applies nothing (no echo over HTTP)", async () => {
    const { ctx } = opened;
    const res = await runSync(ctx);
    const c = res.objects[0].counts;
    balanced(c);
    expect(c.applied).toBe(0);
  });

  it("one-sided edits flow both ways; a true conflict is held and resolved on the next run", async () => {
    const { ctx } = opened;
    const [link] = await ctx.store.listLinks("e2e", "customer", { limit: 1 });
    const crmId = link.crmId as string;
    const erpId = link.erpId as string;
    const [acc] = await ctx.crm.readByIds("Account", [crmId]);
    await ctx.crm.update("Account", crmId, { website: "https://Renamed.Example" }, { ifVersion: acc.version });
    const [cust] = await ctx.erp.readByIds("Customer", [erpId]);
    await ctx.erp.update("Customer", erpId, { tax_id: "DE123456789" }, { ifVersion: cust.version });
    const r1 = await runSync(ctx);
    balanced(r1.objects[0].counts);
    expect((await ctx.erp.readByIds("Customer", [erpId]))[0].values.website).toBe("https://renamed.example"); // toErp: lower
    expect((await ctx.crm.readByIds("Account", [crmId]))[0].values.sicCode).toBe("DE123456789");

    // both systems rename the customer: conflict policy review
    await ctx.crm.update("Account", crmId, { name: "Renamed in CRM" });
    await ctx.erp.update("Customer", erpId, { customer_name: "Renamed in ERP" });
    const r2 = await runSync(ctx);
    expect(r2.objects[0].counts.held).toBeGreaterThanOrEqual(1);
    const [item] = await ctx.store.listReviews("e2e", { status: "open" });
    expect(item).toMatchObject({ kind: "conflict", crm: "Renamed in CRM", erp: "Renamed in ERP" });
    await resolveReview(ctx.store, item.id, { pick: "crm" }, "e2e-test");
    await runSync(ctx);
    expect((await ctx.erp.readByIds("Customer", [erpId]))[0].values.customer_name).toBe("Renamed in CRM");
    const r4 = await runSync(ctx);
    expect(r4.objects[0].counts.applied).toBe(0);
    const runs = await ctx.store.listRuns("e2e");
    for (const run of runs) balanced(run.counts);
  });
});
