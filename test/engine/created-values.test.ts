/**
 * Values the target system assigns on create, to fields it masters (Tryton's party code, an
 * ERPNext-assigned number or status), must reach the record the create came from; and a value the
 * source held in such a field (a legacy number) is replaced by the master's. Before the fix, the
 * base snapshot of a create recorded both sides as "already synced", so neither ever moved.
 * Also after a crash between the remote create and its link (the create is recovered).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { RemoteRecord } from "../../src/connectors/types.ts";
import { runSync } from "../../src/engine/index.ts";
import { field, makeWorld, type World } from "./helpers.ts";

let w: World;
let number = 0;

beforeEach(async () => {
  w = await makeWorld();
  number = 0;
  // the ERP's customer number: erp->crm, assigned by the ERP on create (like a sequence)
  w.spec.objects[0].fields.push(field("accountNumber", "customer_number", { direction: "erp->crm" }));
  // the ERP assigns a number and a default credit limit (cents) to every new customer
  const erpCreate = w.erp.create.bind(w.erp);
  w.erp.create = (entity: string, values: Record<string, unknown>): Promise<RemoteRecord> =>
    erpCreate(
      entity,
      entity === "Customer" ? { credit_limit: 250000, ...values, customer_number: `C-${String(++number).padStart(5, "0")}` } : values,
    );
  // the CRM files every new account under an industry (a CRM-mastered field, crm->erp)
  const crmCreate = w.crm.create.bind(w.crm);
  w.crm.create = (entity: string, values: Record<string, unknown>): Promise<RemoteRecord> =>
    crmCreate(entity, entity === "Account" ? { industry: "Retail", ...values } : values);
});

/** Run until nothing is applied (at most `max` runs); returns how many runs it took. */
async function converge(max = 3): Promise<number> {
  for (let i = 1; i <= max; i++) {
    const r = await runSync(w.ctx);
    for (const o of r.objects) expect(o.counts.read).toBe(o.counts.applied + o.counts.unchanged + o.counts.held + o.counts.quarantined);
    if (r.totals.applied === 0) return i;
    w.clock.advance(1000);
  }
  throw new Error(`not converged after ${max} runs`);
}

describe("values a system assigns on create, in fields it masters", () => {
  it("reach the CRM account an ERP customer was created from, replacing a legacy value there", async () => {
    const acc = w.crm.add("Account", { name: "Numbered GmbH", accountNumber: "LEGACY-7", creditLimit: 99 });
    await converge();
    const [cust] = w.erp.all("Customer");
    expect(cust.values.customer_number).toBe("C-00001");
    const after = w.crm.get("Account", acc.id);
    expect(after?.values.accountNumber).toBe("C-00001");
    expect(after?.values.creditLimit).toBe(2500); // 250000 cents, through the field's toCrm scale
    expect(w.erp.all("Customer")).toHaveLength(1);
    // the ERP master moves on: the change flows as any other
    w.erp.edit("Customer", cust.id, { customer_number: "C-99999" }, "erika");
    await converge();
    expect(w.crm.get("Account", acc.id)?.values.accountNumber).toBe("C-99999");
  });

  it("reach the ERP customer a CRM account was created from (the other direction)", async () => {
    const cust = w.erp.add("Customer", { customer_name: "Other Way AG", industry_code: "OLD" }, "erika");
    await converge();
    const [acc] = w.crm.all("Account");
    expect(acc.values.industry).toBe("Retail");
    expect(w.erp.get("Customer", cust.id)?.values.industry_code).toBe("RET");
  });

  it("also after a crash between the remote create and its link (recovered create)", async () => {
    const acc = w.crm.add("Account", { name: "Crashed Create Ltd", accountNumber: "LEGACY-9" });
    let crashed = false;
    w.erp.afterCreate = () => {
      if (!crashed) {
        crashed = true;
        throw new Error("simulated crash right after the remote create");
      }
    };
    await expect(runSync(w.ctx)).rejects.toThrow(/simulated crash/);
    expect(await w.store.pendingCreateIntents("test")).toHaveLength(1);
    w.clock.advance(1000);
    const runs = await converge();
    expect(runs).toBeLessThanOrEqual(3);
    const customers = w.erp.all("Customer");
    expect(customers, "recovered, not created twice").toHaveLength(1);
    expect(w.crm.get("Account", acc.id)?.values.accountNumber).toBe(customers[0].values.customer_number);
    expect(w.crm.get("Account", acc.id)?.values.creditLimit).toBe(2500);
  });

  it("reach the source even when the run dies between the create and the write into the source (onMasterEdit: ignore)", async () => {
    // with `ignore`, an edit of the master's field in the source is accepted as it is: a base that
    // already claimed the value was written would take the old value for such an edit, for good
    const f = w.spec.objects[0].fields.find((x) => x.crm === "accountNumber");
    if (f) f.onMasterEdit = "ignore";
    const acc = w.crm.add("Account", { name: "Half Done AG", accountNumber: "LEGACY-3" });
    let crashed = false;
    w.crm.beforeWrite = (op) => {
      if (op.kind === "update" && !crashed) {
        crashed = true;
        throw new Error("simulated crash before the write into the source");
      }
    };
    await expect(runSync(w.ctx)).rejects.toThrow(/simulated crash/);
    w.clock.advance(1000);
    await converge();
    expect(w.erp.all("Customer")).toHaveLength(1);
    expect(w.crm.get("Account", acc.id)?.values.accountNumber).toBe("C-00001");
  });

  it("a value the source cannot take is quarantined with the reason, not recorded as synced", async () => {
    // the ERP files new customers under an industry code the CRM's value map does not know
    w.spec.objects[0].fields.push(
      field("segment", "segment_code", { direction: "erp->crm", toCrm: [{ map: { SMB: "Small business" }, unmapped: "error" }] }),
    );
    const erpCreate = w.erp.create.bind(w.erp);
    w.erp.create = (entity: string, values: Record<string, unknown>) => erpCreate(entity, { ...values, segment_code: "XXL" });
    w.crm.add("Account", { name: "Unmapped Segment SE", segment: null });
    await runSync(w.ctx);
    w.clock.advance(1000);
    await runSync(w.ctx);
    const q = await w.store.listQuarantine("test", { status: "open" });
    expect(q.map((x) => x.reason).join("; ")).toMatch(/XXL/);
  });
});
