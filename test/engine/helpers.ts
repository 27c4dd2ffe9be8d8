/** Fixtures for engine tests: a customer + contact spec, two memory connectors, the test store (SQLite :memory:, or PostgreSQL: test/support/store.ts). */
import type { EngineContext } from "../../src/engine/index.ts";
import type { ConflictPolicy, FieldMap, IntegrationSpec, MasterEditAction, ObjectSpec } from "../../src/spec/model.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";
import { MemoryConnector, TestClock } from "./memory-connector.ts";

export function field(crm: string, erp: string, over: Partial<FieldMap> = {}): FieldMap {
  const direction = over.direction ?? "both";
  return {
    crm,
    erp,
    direction,
    master: direction === "crm->erp" ? "crm" : direction === "erp->crm" ? "erp" : undefined,
    conflict: { kind: "review" },
    onMasterEdit: "revert",
    toErp: [],
    toCrm: [],
    required: false,
    ...over,
  };
}

export interface SpecOptions {
  conflict?: ConflictPolicy;
  onMasterEdit?: MasterEditAction;
  create?: ObjectSpec["create"];
  deletes?: ObjectSpec["deletes"];
  bounce?: { maxBounces: number; windowMs: number };
  skewToleranceMs?: number;
  withContacts?: boolean;
  withBilling?: boolean;
}

export function customerObject(o: SpecOptions = {}): ObjectSpec {
  const conflict = o.conflict ?? { kind: "review" };
  const onMasterEdit = o.onMasterEdit ?? "revert";
  return {
    name: "customer",
    crm: { entity: "Account", identity: "cErpId" },
    erp: { entity: "Customer", identity: "name" },
    schedule: { tier: "hourly" },
    create: o.create ?? "both",
    conflict,
    onMasterEdit,
    deletes: o.deletes ?? "flag",
    fields: [
      field("name", "customer_name", { conflict, required: true }),
      field("website", "website", { conflict }),
      // ERP is master of the credit limit; the ERP keeps cents, the CRM dollars
      field("creditLimit", "credit_limit", { direction: "erp->crm", onMasterEdit, toCrm: [{ scale: 0.01 }], toErp: [{ scale: 100 }] }),
      // CRM is master of the industry; a value map onto ERP codes (unmapped values are an error)
      field("industry", "industry_code", {
        direction: "crm->erp",
        onMasterEdit,
        toErp: [{ map: { Tech: "TEC", Retail: "RET" }, unmapped: "error" }],
      }),
    ],
  };
}

export function contactObject(): ObjectSpec {
  return {
    name: "contact",
    crm: { entity: "Contact", identity: "cErpId" },
    erp: { entity: "Contact", identity: "name" },
    schedule: { tier: "hourly" },
    create: "both",
    conflict: { kind: "prefer", side: "crm" },
    onMasterEdit: "revert",
    deletes: "ignore",
    parent: { object: "customer", crm: "accountId", erp: "customer" },
    fields: [
      field("lastName", "last_name", { conflict: { kind: "prefer", side: "crm" } }),
      field("emailAddress", "email_id", { conflict: { kind: "prefer", side: "crm" } }),
    ],
  };
}

/** A child kept on the parent's own CRM record: the account's billing city ↔ an ERP Address of the customer. */
export function billingObject(): ObjectSpec {
  return {
    name: "billing",
    crm: { entity: "Account", identity: "cErpId" },
    erp: { entity: "Address", identity: "customer" },
    schedule: { tier: "hourly" },
    create: "crm->erp",
    conflict: { kind: "prefer", side: "erp" },
    onMasterEdit: "revert",
    deletes: "ignore",
    parent: { object: "customer", crm: "id", erp: "customer" },
    fields: [field("billingCity", "city", { conflict: { kind: "prefer", side: "erp" } })],
  };
}

export function makeSpec(o: SpecOptions = {}): IntegrationSpec {
  return {
    version: 1,
    name: "test",
    systems: {
      crm: { type: "memory", url: "mem://crm", credentials: {}, options: {} },
      erp: { type: "memory", url: "mem://erp", credentials: {}, options: {} },
    },
    owner: { name: "Owner", email: "owner@example.com" },
    objects: [customerObject(o), ...(o.withContacts ? [contactObject()] : []), ...(o.withBilling ? [billingObject()] : [])],
    sync: { overlapMs: 5000, skewToleranceMs: o.skewToleranceMs ?? 2000, bounce: o.bounce ?? { maxBounces: 50, windowMs: 60_000 } },
  };
}

export interface World {
  ctx: EngineContext;
  store: Store;
  crm: MemoryConnector;
  erp: MemoryConnector;
  clock: TestClock;
  spec: IntegrationSpec;
}

export async function makeWorld(o: SpecOptions = {}, storeOrFile: Store | string = ":memory:"): Promise<World> {
  const clock = new TestClock();
  const crm = new MemoryConnector({
    type: "memory-crm",
    user: "accord-crm",
    clock,
    idPrefix: "acc",
    schema: {
      Account: ["name", "website", "creditLimit", "industry", "cErpId", "billingCity"],
      Contact: ["lastName", "emailAddress", "accountId", "cErpId"],
    },
  });
  const erp = new MemoryConnector({
    type: "memory-erp",
    user: "accord-erp",
    clock,
    idPrefix: "CUST",
    idField: "name",
    schema: {
      Customer: ["customer_name", "website", "credit_limit", "industry_code"],
      Contact: ["last_name", "email_id", "customer"],
      Address: ["city", "customer"],
    },
  });
  // ":memory:" = the suite's test store (SQLite :memory:, or a fresh PostgreSQL schema with ACCORD_TEST_STORE=postgres)
  const store =
    typeof storeOrFile !== "string" ? storeOrFile : storeOrFile === ":memory:" ? await openTestStore() : await openStore({ file: storeOrFile });
  const spec = makeSpec(o);
  return { ctx: { spec, store, crm, erp, clock: () => clock.now() }, store, crm, erp, clock, spec };
}

/** A linked, synced pair to start from: ERP customer + CRM account created by a first sync. */
export function seedErpCustomer(w: World, values: Record<string, unknown> = {}) {
  return w.erp.add(
    "Customer",
    { customer_name: "Acme GmbH", website: "acme.example", credit_limit: 500000, industry_code: null, ...values },
    "erika",
  );
}
