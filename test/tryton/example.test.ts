/**
 * examples/espocrm-tryton.yaml runs as written: the engine, the EspoCRM sandbox and the REAL
 * Tryton. The only change to the loaded file: the Tryton side of each object is limited to
 * records created during this test, of parties named with this run's prefix (the peer's database
 * keeps every other test's parties, and other Tryton tests create parties at the same time).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";
import { type PeerEnv, probePeer } from "./support.ts";

const peer = await probePeer();
const run = `x${Date.now().toString(36)}`;

(peer ? describe : describe.skip)("examples/espocrm-tryton.yaml against the EspoCRM sandbox and the real Tryton", () => {
  const env = peer as PeerEnv;
  let crm: EspoCrmSandbox;
  let opened: OpenedContext;

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const spec = await loadSpecFile("examples/espocrm-tryton.yaml");
    spec.systems.erp.options = { ...spec.systems.erp.options, database: env.db };
    // the business flows (products, quote-to-cash) run in quote-to-cash.test.ts
    spec.objects = spec.objects.filter((o) => !["product", "salesOrder"].includes(o.name));
    for (const o of spec.objects)
      o.erp.filter = [
        ...(o.erp.filter ?? []),
        { field: "create_date", op: ">=", value: since },
        { field: ["party.party", "product.product"].includes(o.erp.entity) ? "name" : "party.name", op: "like", value: `${run}%` },
      ];
    crm = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    opened = await openContext(spec, {
      env: { ESPOCRM_URL: crm.url, ESPOCRM_API_KEY: crm.apiKey, TRYTON_URL: env.url, TRYTON_USER: env.user, TRYTON_PASSWORD: env.password },
      store: await testStoreOptions(),
    });
  });
  afterAll(async () => {
    await opened?.close();
    await crm?.close();
  });

  it("an account with its billing address and a contact become a party, its invoice address and an e-mail mechanism; no echo", async () => {
    const { ctx } = opened;
    const acc = await ctx.crm.create("Account", {
      name: `${run} Example Co`,
      billingAddressStreet: "5  Elm St",
      billingAddressCity: "Springfield",
      billingAddressPostalCode: "12345",
    });
    await ctx.crm.create("Contact", { firstName: "Ann", lastName: "Lee", accountId: acc.id, emailAddress: "Ann.Lee@Example.com" });
    const r1 = await runSync(ctx);
    for (const o of r1.objects) {
      expect(o.counts.quarantined, JSON.stringify(o)).toBe(0);
      expect(o.counts.applied).toBeGreaterThanOrEqual(1);
    }
    const [a] = await ctx.crm.readByIds("Account", [acc.id]);
    const partyId = String(a.values.cAccordId);
    const [party] = await ctx.erp.readByIds("party.party", [partyId], ["name", "code", "addresses", "contact_mechanisms"]);
    expect(party.values.name).toBe(`${run} Example Co`);
    expect(party.values.addresses).toEqual([
      expect.objectContaining({ street: "5 Elm St", city: "Springfield", postal_code: "12345", invoice: true }),
    ]);
    expect(party.values.contact_mechanisms).toEqual([
      expect.objectContaining({ type: "email", value: "ann.lee@example.com", name: "Ann Lee" }),
    ]);
    const r2 = await runSync(ctx);
    for (const o of r2.objects) expect(o.counts.applied, o.object).toBe(0);
  });
});
