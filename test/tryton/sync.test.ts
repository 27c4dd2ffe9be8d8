/**
 * End to end over real HTTP: the engine syncs customers both ways between the emulated EspoCRM
 * (sandbox) and the REAL Tryton (bash scripts/peers/tryton.sh start), store on SQLite :memory:.
 * The Tryton side is limited to parties created during this test (filter on create_date and the
 * run's name prefix), since the peer's database is shared by every Tryton test and keeps their
 * records, and other Tryton tests (test/tryton/crash.test.ts) create parties at the same time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { resolveReview, runSync } from "../../src/engine/index.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";
import { type PeerEnv, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const run = `s${Date.now().toString(36)}`;

const SPEC = `
version: 1
name: tryton-e2e
systems:
  crm:
    type: espocrm
    url: "\${E2E_CRM_URL}"
    credentials: { apiKey: "\${E2E_CRM_KEY}" }
  erp:
    type: tryton
    url: "\${E2E_TRYTON_URL}"
    credentials: { user: "\${E2E_TRYTON_USER}", password: "\${E2E_TRYTON_PASSWORD}" }
    options: { database: "__DB__" }
owner: { name: Test Owner, email: owner@example.com }
sync:
  overlap: 5m
  skewTolerance: 2s
  bounce: { max: 20, window: 10m }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp:
      entity: party.party
      identity: id
      filter: [ { field: create_date, op: ">=", value: "__SINCE__" }, { field: name, op: like, value: "__RUN__%" } ]
    create: both
    conflict: review
    onMasterEdit: revert
    deletes: flag
    fields:
      - { crm: name, erp: name, direction: both, conflict: review, required: true }
      - { crm: sicCode, erp: code, direction: erp->crm }
`;

function balanced(c: { read: number; applied: number; unchanged: number; held: number; quarantined: number }) {
  expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
}

(peer ? describe : describe.skip)("customers between the EspoCRM sandbox and the real Tryton", () => {
  const env = peer as PeerEnv;
  let crm: EspoCrmSandbox;
  let opened: OpenedContext;
  let clerk: RawTryton;
  let erpOnly: number[];

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    crm = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    clerk = await new RawTryton(env).open();
    const spec = loadSpec(SPEC.replace("__DB__", env.db).replace("__SINCE__", since).replace("__RUN__", run), "tryton-e2e.yaml");
    opened = await openContext(spec, {
      env: {
        E2E_CRM_URL: crm.url,
        E2E_CRM_KEY: crm.apiKey,
        E2E_TRYTON_URL: env.url,
        E2E_TRYTON_USER: env.user,
        E2E_TRYTON_PASSWORD: env.password,
      },
      store: await testStoreOptions(),
    });
    // Two customers only in the CRM, two only in Tryton (entered by a person, "clerk").
    for (const n of [1, 2]) await opened.ctx.crm.create("Account", { name: `${run} CRM customer ${n}` });
    erpOnly = (await clerk.call("model.party.party.create", [[1, 2].map((n) => ({ name: `${run} ERP customer ${n}` }))])) as number[];
  });

  afterAll(async () => {
    await opened?.close();
    await crm?.close();
  });

  it("first run creates each side's customers in the other and links them by the Tryton party id", async () => {
    const { ctx } = opened;
    const res = await runSync(ctx);
    const c = res.objects[0].counts;
    balanced(c);
    expect(c.quarantined).toBe(0);
    expect(c.applied).toBeGreaterThanOrEqual(4);
    const links = await ctx.store.listLinks("tryton-e2e", "customer");
    expect(links).toHaveLength(4);
    for (const l of links) {
      const [acc] = await ctx.crm.readByIds("Account", [l.crmId as string]);
      const [party] = await ctx.erp.readByIds("party.party", [l.erpId as string]);
      expect(acc.values.cAccordId).toBe(party.id);
      expect(acc.values.name).toBe(party.values.name);
      // erp->crm: Tryton's customer number reaches the CRM for the customers that began in Tryton
      if (erpOnly.map(String).includes(party.id)) expect(acc.values.sicCode).toBe(party.values.code);
    }
    expect(links.map((l) => l.erpId)).toEqual(expect.arrayContaining(erpOnly.map(String)));
  });

  // A value Tryton assigns on create (party.code from its sequence) to a field the ERP masters
  // reaches the CRM record Accord created the party from (the engine no longer records it as
  // already synced on create; test/engine/created-values.test.ts).
  it("a customer number Tryton assigns on create reaches the CRM account it was created from", async () => {
    const { ctx } = opened;
    await runSync(ctx);
    const links = await ctx.store.listLinks("tryton-e2e", "customer");
    for (const l of links.filter((x) => !erpOnly.map(String).includes(x.erpId as string))) {
      const [acc] = await ctx.crm.readByIds("Account", [l.crmId as string]);
      const [party] = await ctx.erp.readByIds("party.party", [l.erpId as string]);
      expect(acc.values.sicCode).toBe(party.values.code);
    }
  });

  it("a second run reads Accord's own writes back and applies nothing (no echo)", async () => {
    const res = await runSync(opened.ctx);
    const c = res.objects[0].counts;
    balanced(c);
    expect(c.applied).toBe(0);
    expect(c.held).toBe(0);
  });

  it("a one-sided edit in Tryton flows to the CRM; a rename in both is held for review, then resolved", async () => {
    const { ctx } = opened;
    const [link] = await ctx.store.listLinks("tryton-e2e", "customer", { limit: 1 });
    const crmId = link.crmId as string;
    const erpId = link.erpId as string;
    await clerk.call("model.party.party.write", [[Number(erpId)], { name: `${run} renamed by the ERP clerk` }]);
    const r1 = await runSync(ctx);
    balanced(r1.objects[0].counts);
    expect((await ctx.crm.readByIds("Account", [crmId]))[0].values.name).toBe(`${run} renamed by the ERP clerk`);

    // both systems rename the customer: policy review holds it, nothing is overwritten
    await ctx.crm.update("Account", crmId, { name: `${run} renamed in CRM` });
    await clerk.call("model.party.party.write", [[Number(erpId)], { name: `${run} renamed in Tryton` }]);
    const r2 = await runSync(ctx);
    balanced(r2.objects[0].counts);
    expect(r2.objects[0].counts.held).toBeGreaterThanOrEqual(1);
    const [item] = await ctx.store.listReviews("tryton-e2e", { status: "open" });
    expect(item).toMatchObject({ kind: "conflict", crm: `${run} renamed in CRM`, erp: `${run} renamed in Tryton` });
    expect((await ctx.erp.readByIds("party.party", [erpId]))[0].values.name).toBe(`${run} renamed in Tryton`);
    expect((await ctx.crm.readByIds("Account", [crmId]))[0].values.name).toBe(`${run} renamed in CRM`);

    await resolveReview(ctx.store, item.id, { pick: "crm" }, "tryton-e2e-test");
    await runSync(ctx);
    const [party] = await ctx.erp.readByIds("party.party", [erpId]);
    expect(party.values.name).toBe(`${run} renamed in CRM`);
    expect(party.modifiedBy).toBe(env.user);
    const r4 = await runSync(ctx);
    expect(r4.objects[0].counts.applied).toBe(0);
    for (const r of await ctx.store.listRuns("tryton-e2e")) balanced(r.counts);
  });
});
