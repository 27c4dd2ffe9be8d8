/**
 * Values inside child tables, end to end through the engine over the memory connectors:
 * an ERP Address whose customer is a row of its `links` table (identity and parent through
 * `links[link_doctype=Customer].link_name`), ERP contacts linked the same way with their primary
 * e-mail in `email_ids[is_primary=1].email_id`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/index.ts";
import type { IntegrationSpec, ObjectSpec } from "../../src/spec/model.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";
import { customerObject, field } from "./helpers.ts";
import { MemoryConnector, TestClock } from "./memory-connector.ts";
import { balanced } from "./sync-suite.ts";

const CUSTOMER_LINK = "links[link_doctype=Customer].link_name";

function billingObject(): ObjectSpec {
  return {
    name: "billing",
    crm: { entity: "Account", identity: "cErpId" },
    erp: { entity: "Address", identity: CUSTOMER_LINK, filter: [{ field: "address_type", op: "=", value: "Billing" }] },
    schedule: { tier: "hourly" },
    create: "crm->erp",
    conflict: { kind: "prefer", side: "erp" },
    onMasterEdit: "revert",
    deletes: "ignore",
    parent: { object: "customer", crm: "id", erp: CUSTOMER_LINK },
    fields: [
      // a first link (no base yet) with differing cities: the ERP's wins
      field("billingCity", "city", { conflict: { kind: "prefer", side: "erp" } }),
      field("billingType", "address_type", { direction: "crm->erp" }),
    ],
  };
}

function contactObject(): ObjectSpec {
  return {
    name: "contact",
    crm: { entity: "Contact", identity: "cErpId" },
    erp: { entity: "Contact", identity: "name" },
    schedule: { tier: "hourly" },
    create: "crm->erp",
    conflict: { kind: "prefer", side: "crm" },
    onMasterEdit: "revert",
    deletes: "ignore",
    parent: { object: "customer", crm: "accountId", erp: CUSTOMER_LINK },
    fields: [
      field("lastName", "last_name", { direction: "crm->erp" }),
      field("emailAddress", "email_ids[is_primary=1].email_id", { direction: "crm->erp", toErp: [{ normalize: ["trim", "lower"] }] }),
    ],
  };
}

interface World {
  spec: IntegrationSpec;
  store: Store;
  crm: MemoryConnector;
  erp: MemoryConnector;
  ctx: Parameters<typeof runSync>[0];
}

let stores: Store[] = [];
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
});

async function world(): Promise<World> {
  const clock = new TestClock();
  const crm = new MemoryConnector({
    type: "memory-crm",
    user: "accord-crm",
    clock,
    idPrefix: "acc",
    schema: {
      Account: ["name", "website", "creditLimit", "industry", "cErpId", "billingCity", "billingType"],
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
      Contact: ["last_name", "links", "email_ids"],
      Address: ["city", "address_type", "links"],
    },
  });
  const store = await openTestStore();
  stores.push(store);
  const spec: IntegrationSpec = {
    version: 1,
    name: "test",
    systems: {
      crm: { type: "memory", url: "mem://crm", credentials: {}, options: {} },
      erp: { type: "memory", url: "mem://erp", credentials: {}, options: {} },
    },
    owner: { name: "Owner", email: "owner@example.com" },
    objects: [customerObject({ create: "both" }), billingObject(), contactObject()],
    sync: { overlapMs: 5000, skewToleranceMs: 2000, bounce: { maxBounces: 50, windowMs: 60_000 } },
  };
  return { spec, store, crm, erp, ctx: { spec, store, crm, erp, clock: () => clock.now() } };
}

function applied(r: Awaited<ReturnType<typeof runSync>>): number {
  for (const o of r.objects) balanced(o.counts);
  return r.totals.applied;
}

describe("field paths into child tables (memory connectors)", () => {
  it("creates rows for the parent link and the e-mail; edits keep the table's other rows; lookups and no echo", async () => {
    const w = await world();
    const cust = w.erp.add("Customer", { customer_name: "Acme GmbH", website: "acme.example", credit_limit: 100, industry_code: null }, "erika");
    await runSync(w.ctx); // the customer becomes a CRM account carrying the ERP id
    const [acc] = w.crm.all("Account");
    expect(acc.values.cErpId).toBe(cust.id);

    // the account gets a billing city and two contacts
    w.crm.edit("Account", acc.id, { billingCity: "Berlin", billingType: "Billing" });
    const c1 = w.crm.add("Contact", { lastName: "Meyer", emailAddress: " Anna.Meyer@Acme.Example ", accountId: acc.id, cErpId: null });
    const c2 = w.crm.add("Contact", { lastName: "Kurz", emailAddress: "kurz@acme.example", accountId: acc.id, cErpId: null });
    const r1 = await runSync(w.ctx);
    applied(r1);
    expect(r1.totals.quarantined).toBe(0);

    const [addr] = w.erp.all("Address");
    expect(addr.values).toMatchObject({ city: "Berlin", address_type: "Billing", links: [{ link_doctype: "Customer", link_name: cust.id }] });
    const contacts = w.erp.all("Contact");
    expect(contacts).toHaveLength(2);
    const meyer = contacts.find((c) => c.values.last_name === "Meyer");
    expect(meyer?.values.links).toEqual([{ link_doctype: "Customer", link_name: cust.id }]);
    expect(meyer?.values.email_ids).toEqual([{ is_primary: 1, email_id: "anna.meyer@acme.example" }]);
    expect(w.crm.get("Contact", c1.id)?.values.cErpId).toBe(meyer?.id);
    expect(w.crm.get("Contact", c2.id)?.values.cErpId).toBeTruthy();
    // the ERP side maps paths: its reads ask for the tables (and every other field the engine reads there)
    expect(w.erp.fieldsAsked.find((a) => a.entity === "Address")?.fields).toEqual(["city", "address_type", "links"]);
    expect(w.erp.fieldsAsked.find((a) => a.entity === "Contact")?.fields).toEqual(["last_name", "email_ids", "links", "name"]);
    expect(w.erp.fieldsAsked.find((a) => a.entity === "Customer")?.fields).toBeUndefined();
    expect(w.crm.fieldsAsked.find((a) => a.entity === "Contact")?.fields).toBeUndefined();

    // nothing changed: nothing written
    expect(applied(await runSync(w.ctx))).toBe(0);

    // a person adds a second link row to the address and a non-primary e-mail to the contact
    const addrLinks = [...(addr.values.links as object[]), { link_doctype: "Supplier", link_name: "SUP-1" }];
    w.erp.edit("Address", addr.id, { links: addrLinks }, "erika");
    const meyerId = meyer?.id as string;
    w.erp.edit("Contact", meyerId, { email_ids: [...((meyer?.values.email_ids ?? []) as object[]), { email_id: "private@anna.example", is_primary: 0 }] }, "erika");
    expect(applied(await runSync(w.ctx))).toBe(0); // the mapped values did not change

    // the ERP edits the city: it comes back to the CRM account; the address's link rows are untouched
    w.erp.edit("Address", addr.id, { city: "Hamburg" }, "erika");
    const before = w.erp.writes.length;
    applied(await runSync(w.ctx));
    expect(w.crm.get("Account", acc.id)?.values.billingCity).toBe("Hamburg");
    expect(w.erp.writes.length).toBe(before); // nothing written into the ERP
    expect(w.erp.get("Address", addr.id)?.values.links).toEqual(addrLinks);

    // the CRM edits the e-mail: the primary row changes, the other row stays
    w.crm.edit("Contact", c1.id, { emailAddress: "anna@acme.example" });
    applied(await runSync(w.ctx));
    expect(w.erp.get("Contact", meyerId)?.values.email_ids).toEqual([
      { is_primary: 1, email_id: "anna@acme.example" },
      { email_id: "private@anna.example", is_primary: 0 },
    ]);
    const write = w.erp.writes[w.erp.writes.length - 1];
    expect(write).toMatchObject({ kind: "update", entity: "Contact", id: meyerId });
    expect(Object.keys(write.values ?? {})).toEqual(["email_ids"]); // the whole table, as the connector contract asks
    expect(applied(await runSync(w.ctx))).toBe(0); // no echo

    // the CRM clears the e-mail: the primary row goes, the other stays
    w.crm.edit("Contact", c1.id, { emailAddress: "" });
    applied(await runSync(w.ctx));
    expect(w.erp.get("Contact", meyerId)?.values.email_ids).toEqual([{ email_id: "private@anna.example", is_primary: 0 }]);
    expect(applied(await runSync(w.ctx))).toBe(0);
  });

  it("an existing ERP address is found through its link row (identity lookup by path), not created again", async () => {
    const w = await world();
    const cust = w.erp.add("Customer", { customer_name: "Globex", website: null, credit_limit: 0, industry_code: null }, "erika");
    // a shipping address of the same customer must not be taken for the billing one (the object's filter)
    w.erp.add("Address", { city: "Bonn", address_type: "Shipping", links: [{ link_doctype: "Customer", link_name: cust.id }] }, "erika");
    const billing = w.erp.add(
      "Address",
      { city: "Köln", address_type: "Billing", links: [{ link_doctype: "Supplier", link_name: "S-2" }, { link_doctype: "Customer", link_name: cust.id }] },
      "erika",
    );
    // the CRM account already carries the customer's id (linked elsewhere, e.g. by go-live matching)
    const acc = w.crm.add("Account", { name: "Globex", cErpId: cust.id, billingType: "Billing", billingCity: null });
    const r = await runSync(w.ctx);
    for (const o of r.objects) balanced(o.counts);
    expect(r.totals.quarantined).toBe(0);
    expect(w.erp.all("Address")).toHaveLength(2);
    const link = await w.store.getLink("test", "billing", { erpId: billing.id });
    expect(link?.sharedId).toBe(cust.id);
    expect(w.crm.all("Account")).toHaveLength(1);
    expect(link?.crmId).toBe(acc.id);
    expect(w.crm.get("Account", acc.id)?.values.billingCity).toBe("Köln");
    expect(w.erp.writes).toEqual([]); // the ERP address is left as it is
    expect(applied(await runSync(w.ctx))).toBe(0);
  });

  it("an ERP contact moved to another customer moves the CRM contact (parent through the link row)", async () => {
    const w = await world();
    const a = w.erp.add("Customer", { customer_name: "A", website: null, credit_limit: 0, industry_code: null }, "erika");
    const b = w.erp.add("Customer", { customer_name: "B", website: null, credit_limit: 0, industry_code: null }, "erika");
    await runSync(w.ctx);
    const accA = w.crm.all("Account").find((x) => x.values.name === "A");
    const accB = w.crm.all("Account").find((x) => x.values.name === "B");
    const c = w.crm.add("Contact", { lastName: "Roth", emailAddress: null, accountId: accA?.id, cErpId: null });
    await runSync(w.ctx);
    const [ec] = w.erp.all("Contact");
    expect(ec.values.links).toEqual([{ link_doctype: "Customer", link_name: a.id }]);
    expect(ec.values.email_ids).toBeNull(); // no e-mail: no row written
    w.erp.edit("Contact", ec.id, { links: [{ link_doctype: "Customer", link_name: b.id, link_title: "B" }] }, "erika");
    applied(await runSync(w.ctx));
    expect(w.crm.get("Contact", c.id)?.values.accountId).toBe(accB?.id);
    expect(applied(await runSync(w.ctx))).toBe(0);
  });
});
