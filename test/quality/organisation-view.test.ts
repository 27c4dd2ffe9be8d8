/**
 * Quality names no system: it matches through the connector's organisation view
 * (Connector.organisations). A connector without one is not matched (audit says so, go-live
 * refuses with what to do); give the same connector a view and go-live links its records.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { OrganisationView, RemoteRecord } from "../../src/connectors/types.ts";
import { ValidationRejected } from "../../src/errors.ts";
import { auditIntegration } from "../../src/quality/audit.ts";
import { goLive } from "../../src/quality/golive.ts";
import { makeWorld, type World } from "../engine/helpers.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.store.close();
  world = undefined;
});

function byName(field: string, sharedIdField?: string) {
  return async (_entity: string, records: readonly RemoteRecord[]): Promise<OrganisationView[]> =>
    records.map((r) => ({
      id: r.id,
      name: String(r.values[field] ?? ""),
      ...(sharedIdField && typeof r.values[sharedIdField] === "string" ? { sharedId: r.values[sharedIdField] as string } : {}),
    }));
}

describe("matching through the connector's organisation view", () => {
  it("without a view: audit reports the records but does not match them; go-live refuses and says what to do", async () => {
    world = await makeWorld();
    world.crm.add("Account", { name: "Acme GmbH" }, "ana");
    world.erp.add("Customer", { customer_name: "Acme GmbH" }, "erika");
    const report = await auditIntegration(world.ctx, { object: "customer" });
    expect(report.summary.cross.matchable).toBe(false);
    expect(report.read.crm.customer ?? report.read.crm.Account).toBeGreaterThan(0);
    const err = await goLive(world.ctx, { object: "customer" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationRejected);
    expect(String((err as Error).message)).toMatch(/cannot read Account records as organisations/);
    expect((await world.store.listLinks(world.spec.name, "customer")).length).toBe(0);
  });

  it("with a view on any connector type: go-live pairs the same organisation and stamps the shared id", async () => {
    world = await makeWorld();
    const acc = world.crm.add("Account", { name: "Acme GmbH" }, "ana");
    const cust = world.erp.add("Customer", { customer_name: "ACME GmbH" }, "erika");
    world.crm.add("Account", { name: "Zebra Logistics Ltd" }, "ana");
    Object.assign(world.crm, { organisations: byName("name", "cErpId") });
    Object.assign(world.erp, { organisations: byName("customer_name") });
    const report = await auditIntegration(world.ctx, { object: "customer" });
    expect(report.summary.cross.matchable).toBe(true);
    const result = await goLive(world.ctx, { object: "customer" });
    expect(result.linked).toEqual([expect.objectContaining({ crmId: acc.id, erpId: cust.id })]);
    expect(result.crmOnly).toBe(1);
    const link = await world.store.getLink(world.spec.name, "customer", { crmId: acc.id });
    expect(link?.erpId).toBe(cust.id);
  });

  it("go-live reads only the records the object syncs (its filter), so it links nothing the sync would never touch", async () => {
    world = await makeWorld();
    const acme = world.crm.add("Account", { name: "Acme GmbH", industry: "Tech" }, "ana");
    world.crm.add("Account", { name: "Zeta AG", industry: "Retail" }, "ana");
    world.erp.add("Customer", { customer_name: "Acme GmbH" }, "erika");
    world.erp.add("Customer", { customer_name: "Zeta AG" }, "erika");
    Object.assign(world.crm, { organisations: byName("name", "cErpId") });
    Object.assign(world.erp, { organisations: byName("customer_name") });
    world.ctx.spec.objects[0].crm.filter = [{ field: "industry", op: "=", value: "Tech" }];
    const result = await goLive(world.ctx, { object: "customer" });
    expect(result.read.crm).toBe(1);
    expect(result.linked.map((p) => p.crmId)).toEqual([acme.id]);
  });
});
