/**
 * Invariant 2 when the target assigns the new record's id (Tryton party ids, ERPNext names): a create
 * interrupted after the remote call, whose new record a person edits before the restart.
 *
 * With a `createKey` on the target side (`erp: { …, createKey: custom_accord_id }`) the create writes
 * the source record's id into that field in the same call, and recovery finds the record by it —
 * exact, whatever else the person edited. Without one, recovery matches the payload's CONTENT on
 * unlinked records created since the intent: a rename defeats it and the source is created again
 * (the fallback's known limit, kept as `it.fails` below: it starts failing once the fallback heals).
 */
import { describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/index.ts";
import type { ObjectSpec } from "../../src/spec/model.ts";
import { makeWorld, type World } from "./helpers.ts";

/** Declare `createKey: custom_accord_id` on the ERP side of the customer object. */
function withCreateKey(w: World): void {
  const customer = w.spec.objects.find((o) => o.name === "customer") as ObjectSpec;
  customer.erp = { ...customer.erp, createKey: "custom_accord_id" };
}

/** One CRM account; the first run crashes right after the ERP create; the new customer is renamed. */
async function crashThenRename(w: World): Promise<string> {
  const acc = w.crm.add("Account", { name: "Hole GmbH" });
  let crashed = false;
  w.erp.afterCreate = () => {
    if (!crashed) {
      crashed = true;
      throw new Error("simulated crash right after the remote create");
    }
  };
  await expect(runSync(w.ctx)).rejects.toThrow(/simulated crash/);
  const [created] = w.erp.all("Customer");
  w.erp.edit("Customer", created.id, { customer_name: "Hole GmbH (renamed in the ERP)" }, "erika");
  w.clock.advance(1000);
  return acc.id;
}

describe("recovery of an interrupted create whose new record a person edited", () => {
  it("with a createKey: the create carries the source id, recovery finds the renamed record by it — no second create", async () => {
    const w = await makeWorld();
    withCreateKey(w);
    const accId = await crashThenRename(w);
    const [created] = w.erp.all("Customer");
    expect(created.values.custom_accord_id, "the create wrote the CRM account id into the key").toBe(accId);

    const first = await runSync(w.ctx);
    await runSync(w.ctx);
    expect(w.erp.all("Customer"), "one ERP customer").toHaveLength(1);
    expect(first.objects.find((o) => o.object === "customer")?.recovered).toBe(1);
    const link = await w.store.getLink(w.spec.name, "customer", { crmId: accId });
    expect(link?.erpId).toBe(created.id);
    expect((await w.store.pendingCreateIntents(w.spec.name, "customer")).length).toBe(0);
    // the person's rename is not overwritten (recovery bases nothing on today's values; the name's
    // `review` policy holds the pair for a person rather than picking a side)
    expect(w.erp.all("Customer")[0].values.customer_name).toBe("Hole GmbH (renamed in the ERP)");
    expect(w.crm.all("Account")[0].values.cErpId, "shared id stamped").toBe(created.id);
  });

  it("with a createKey: a create that never reached the system is made once, with the key", async () => {
    const w = await makeWorld();
    withCreateKey(w);
    const acc = w.crm.add("Account", { name: "Never GmbH" });
    let crashed = false;
    w.erp.beforeWrite = (op) => {
      if (op.kind === "create" && !crashed) {
        crashed = true;
        throw new Error("simulated crash before the remote create");
      }
    };
    await expect(runSync(w.ctx)).rejects.toThrow(/simulated crash/);
    expect(w.erp.all("Customer")).toHaveLength(0);
    await runSync(w.ctx);
    await runSync(w.ctx);
    const all = w.erp.all("Customer");
    expect(all).toHaveLength(1);
    expect(all[0].values.custom_accord_id).toBe(acc.id);
  });

  it("with a createKey: another unlinked record (same content, no key) is not adopted", async () => {
    const w = await makeWorld();
    withCreateKey(w);
    const accId = await crashThenRename(w);
    const [created] = w.erp.all("Customer");
    // a person makes a look-alike by hand: the content fallback would have picked it, the key does not
    const twin = w.erp.add("Customer", { customer_name: "Hole GmbH" }, "erika");
    await runSync(w.ctx);
    expect(w.erp.all("Customer"), "no third customer").toHaveLength(2);
    const link = await w.store.getLink(w.spec.name, "customer", { crmId: accId });
    expect(link?.erpId).toBe(created.id);
    expect(link?.erpId).not.toBe(twin.id);
  });

  it("an intent stored before the createKey was declared (its payload has no key) is recovered by content", async () => {
    const w = await makeWorld();
    const crashed = { v: false };
    w.crm.add("Account", { name: "Legacy GmbH" });
    w.erp.afterCreate = () => {
      if (!crashed.v) {
        crashed.v = true;
        throw new Error("simulated crash right after the remote create");
      }
    };
    await expect(runSync(w.ctx)).rejects.toThrow(/simulated crash/);
    withCreateKey(w); // declared after the crash (an upgrade of the integration file)
    await runSync(w.ctx);
    await runSync(w.ctx);
    expect(w.erp.all("Customer"), "one ERP customer").toHaveLength(1);
  });

  // The fallback's limit (no createKey): the renamed record matches no payload, a second one is created.
  it.fails("without a createKey, a create renamed by a person before the restart is not created twice", async () => {
    const w = await makeWorld();
    await crashThenRename(w);
    await runSync(w.ctx);
    await runSync(w.ctx);
    expect(w.erp.all("Customer"), "one ERP customer").toHaveLength(1);
  });
});
