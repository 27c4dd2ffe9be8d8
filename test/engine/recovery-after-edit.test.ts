/**
 * Engine gap (reported, invariant 2): a create interrupted after the remote call is recovered by
 * CONTENT when the target assigns the identity (Tryton party ids, ERPNext names): the payload's
 * values on an unlinked record created since the intent. If a person edits that record between the
 * crash and the restart (renames the new party), nothing matches, the intent is marked failed and
 * the source is created again — a duplicate. Recovery would need something a person cannot edit:
 * the creating user (a `createdBy` on RemoteRecord, e.g. Tryton's create_uid) or a marker written
 * with the create. Marked `it.fails` until then: it starts failing (and must be flipped) once fixed.
 */
import { expect, it } from "vitest";
import { runSync } from "../../src/engine/index.ts";
import { makeWorld } from "./helpers.ts";

it.fails("a create interrupted after the remote call, then renamed by a person before the restart, is not created twice", async () => {
  const w = await makeWorld();
  w.crm.add("Account", { name: "Hole GmbH" });
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
  await runSync(w.ctx);
  await runSync(w.ctx);
  expect(w.erp.all("Customer"), "one ERP customer").toHaveLength(1);
});
