/**
 * `crm: { identity: id }` with the ERP carrying the CRM id in its identity field: the shared id is the
 * CRM record's own id, so a CRM→ERP create writes it in the create itself — one API call per record,
 * nothing stamped back into the CRM. A crash between the create and its commit is recovered by that
 * identity, not by a second create; the file refuses creates into the CRM in this mode.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type EngineContext, runSync } from "../../src/engine/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { IntegrationSpec, ObjectSpec } from "../../src/spec/model.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";
import { field } from "./helpers.ts";
import { MemoryConnector, TestClock } from "./memory-connector.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function customer(): ObjectSpec {
  return {
    name: "customer",
    crm: { entity: "Account", identity: "id" },
    erp: { entity: "Customer", identity: "custom_accord_id" },
    schedule: { tier: "hourly" },
    create: "crm->erp",
    conflict: { kind: "review" },
    onMasterEdit: "revert",
    deletes: "flag",
    fields: [field("name", "customer_name", { required: true }), field("website", "website")],
  };
}

async function world() {
  const clock = new TestClock();
  const crm = new MemoryConnector({ type: "memory-crm", user: "accord-crm", clock, idPrefix: "acc", schema: { Account: ["name", "website"] } });
  const erp = new MemoryConnector({
    type: "memory-erp",
    user: "accord-erp",
    clock,
    idPrefix: "CUST",
    idField: "name",
    schema: { Customer: ["customer_name", "website", "custom_accord_id"] },
  });
  store = await openTestStore();
  const spec: IntegrationSpec = {
    version: 1,
    name: "crmid",
    systems: {
      crm: { type: "memory", url: "mem://crm", credentials: {}, options: {} },
      erp: { type: "memory", url: "mem://erp", credentials: {}, options: {} },
    },
    owner: { name: "Owner", email: "owner@example.com" },
    objects: [customer()],
    sync: { overlapMs: 5000, skewToleranceMs: 2000, bounce: { maxBounces: 50, windowMs: 60_000 } },
  };
  const ctx: EngineContext = { spec, store, crm, erp, clock: () => clock.now() };
  return { clock, crm, erp, ctx, store };
}

describe("the CRM id as the shared id", () => {
  it("a CRM→ERP create carries the CRM id in the ERP identity field: one call per record, no stamp back, linked", async () => {
    const w = await world();
    const ids = ["Acme GmbH", "Beta AG", "Gamma Oy"].map((name) => w.crm.add("Account", { name }).id);
    const r = await runSync(w.ctx, {});
    expect(r.totals.applied).toBe(3);
    expect(w.crm.writes).toEqual([]); // nothing written into the CRM
    expect(w.erp.writes.filter((x) => x.kind === "create").map((x) => x.values?.custom_accord_id)).toEqual(ids);
    expect(w.erp.writes.filter((x) => x.kind === "update")).toEqual([]);
    for (const id of ids) {
      const link = await w.store.getLink("crmid", "customer", { crmId: id });
      expect(link?.sharedId).toBe(id);
      expect(link?.erpId).toMatch(/^CUST/);
    }
    // the next run changes nothing, and a CRM edit flows to the ERP record found through the link
    const again = await runSync(w.ctx, {});
    expect(again.totals.applied).toBe(0);
    w.clock.advance(10_000);
    w.crm.edit("Account", ids[1], { website: "beta.example" }, "ana");
    await runSync(w.ctx, {});
    const link = await w.store.getLink("crmid", "customer", { crmId: ids[1] });
    expect(w.erp.get("Customer", link?.erpId as string)?.values.website).toBe("beta.example");
  });

  it("a create whose answer was lost is found again by the identity (the CRM id), not created twice", async () => {
    const w = await world();
    const id = w.crm.add("Account", { name: "Lost Answer Ltd" }).id;
    let first = true;
    w.erp.beforeWrite = (op) => {
      if (op.kind === "create" && first) {
        first = false;
        // the system applies the create, then the connection drops before the answer
        w.erp.add("Customer", { customer_name: "Lost Answer Ltd", custom_accord_id: id }, "accord-erp");
        throw new Error("socket hang up");
      }
    };
    await runSync(w.ctx, {}).catch(() => undefined);
    w.erp.beforeWrite = undefined;
    await runSync(w.ctx, {});
    const customers = [...(await w.erp.findByField("Customer", "custom_accord_id", id))];
    expect(customers).toHaveLength(1);
    expect((await w.store.getLink("crmid", "customer", { crmId: id }))?.erpId).toBe(customers[0].id);
  });

  it("the file refuses creates into the CRM in this mode, and an ERP identity that is the ERP's own id", () => {
    const text = (create: string, erpIdentity: string) => `version: 1
name: x
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
objects:
  customer:
    crm: { entity: Account, identity: id }
    erp: { entity: Customer, identity: ${erpIdentity} }
    create: ${create}
    fields:
      - { crm: name, erp: customer_name, direction: both }
`;
    expect(() => loadSpec(text("both", "custom_accord_id"), "x.yaml")).toThrow(/line 11: objects\.customer\.create: with crm: \{ identity: id \}/);
    expect(() => loadSpec(text("crm->erp", "id"), "x.yaml")).toThrow(/must carry the CRM id in a field of its own/);
    expect(loadSpec(text("crm->erp", "custom_accord_id"), "x.yaml").objects[0].crm.identity).toBe("id");
  });
});
