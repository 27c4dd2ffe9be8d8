/**
 * End to end over real HTTP, with the shipped example file (examples/espocrm-erpnext.yaml): values
 * inside ERPNext child tables. A new CRM account with a billing address and two contacts becomes an
 * ERPNext Customer, an Address linked to it through its Dynamic Link row
 * (`links[link_doctype=Customer].link_name`) and two Contacts linked the same way, with their primary
 * e-mail and mobile rows; an ERP edit of the address's city comes back to the account; no echo.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync, type SyncResult } from "../../src/engine/index.ts";
import { type ErpNextSandbox, startErpNextSandbox } from "../../src/sandbox/erpnext/index.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const CUSTOMER_LINK = "links[link_doctype=Customer].link_name";

let crm: EspoCrmSandbox;
let erp: ErpNextSandbox;
let opened: OpenedContext;

beforeAll(async () => {
  crm = await startEspoCrmSandbox({ port: 0, host: "127.0.0.1" });
  erp = await startErpNextSandbox({ port: 0, host: "127.0.0.1" });
  const spec = await loadSpecFile("examples/espocrm-erpnext.yaml");
  spec.systems.crm.options = { ...spec.systems.crm.options, rateLimit: { perSecond: 0 } };
  spec.systems.erp.options = { ...spec.systems.erp.options, timezone: erp.timezone };
  opened = await openContext(spec, {
    env: {
      ESPOCRM_URL: crm.url,
      ESPOCRM_API_KEY: crm.apiKey,
      ERPNEXT_URL: erp.url,
      ERPNEXT_API_KEY: erp.apiKey,
      ERPNEXT_API_SECRET: erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
});

afterAll(async () => {
  await opened?.close();
  await Promise.allSettled([crm?.close(), erp?.close()]);
});

function check(r: SyncResult): void {
  for (const o of r.objects) expect(o.counts.read, o.object).toBe(o.counts.applied + o.counts.unchanged + o.counts.held + o.counts.quarantined);
}

type Row = Record<string, unknown>;
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);

describe("child tables between the EspoCRM and ERPNext sandboxes (examples/espocrm-erpnext.yaml)", () => {
  let accountId = "";
  let customer = "";
  let addressName = "";
  const contactIds: string[] = [];

  it("a new CRM account with a billing address and two contacts: Customer, Address and Contacts linked to it", async () => {
    const { ctx } = opened;
    const acc = await ctx.crm.create("Account", {
      name: "Nordwind Logistik GmbH",
      type: "Customer",
      website: "https://Nordwind.example",
      billingAddressStreet: "Hafenstraße 12",
      billingAddressCity: "Bremen",
      billingAddressPostalCode: "28195",
      billingAddressCountry: "DE",
    });
    accountId = acc.id;
    for (const [first, last, email, phone] of [
      ["Anna", "Meyer", "Anna.Meyer@Nordwind.Example", "+49 421 555 0101"],
      ["Jonas", "Brandt", "jonas.brandt@nordwind.example", "+49 421 555 0102"],
    ]) {
      const c = await ctx.crm.create("Contact", { firstName: first, lastName: last, emailAddress: email, phoneNumber: phone, accountId });
      contactIds.push(c.id);
    }

    const r = await runSync(ctx);
    check(r);
    const q = await ctx.store.listQuarantine(ctx.spec.name, { status: "open" });
    expect(q.map((x) => `${x.object} ${x.errorClass}: ${x.reason}`)).toEqual([]);

    // the customer, its id stamped into the account
    const [account] = await ctx.crm.readByIds("Account", [accountId]);
    customer = String(account.values.cAccordId);
    const [cust] = await ctx.erp.readByIds("Customer", [customer]);
    expect(cust.values.customer_name).toBe("Nordwind Logistik GmbH");

    // the billing address, linked to the customer through its Dynamic Link row
    const addresses = await ctx.erp.findByField("Address", CUSTOMER_LINK, customer);
    expect(addresses).toHaveLength(1);
    addressName = addresses[0].id;
    const [addr] = await ctx.erp.readByIds("Address", [addressName]);
    expect(addr.values).toMatchObject({ address_line1: "Hafenstraße 12", city: "Bremen", pincode: "28195", country: "Germany", address_type: "Billing" });
    expect(rows(addr.values.links).map((l) => [l.link_doctype, l.link_name])).toEqual([["Customer", customer]]);
    const billingLink = await ctx.store.getLink(ctx.spec.name, "billingAddress", { erpId: addressName });
    expect(billingLink).toMatchObject({ crmId: accountId, sharedId: customer, status: "active" });

    // the two contacts, linked to the customer, with their primary e-mail and mobile rows
    const contacts = await ctx.erp.findByField("Contact", CUSTOMER_LINK, customer);
    expect(contacts).toHaveLength(2);
    const byLast = new Map<string, Row>();
    for (const c of await ctx.erp.readByIds("Contact", contacts.map((c) => c.id))) byLast.set(String(c.values.last_name), c.values);
    const meyer = byLast.get("Meyer");
    expect(meyer).toMatchObject({ first_name: "Anna", email_id: "anna.meyer@nordwind.example" });
    expect(rows(meyer?.links).map((l) => [l.link_doctype, l.link_name])).toEqual([["Customer", customer]]);
    expect(rows(meyer?.email_ids).map((e) => [e.email_id, e.is_primary])).toEqual([["anna.meyer@nordwind.example", 1]]);
    expect(rows(meyer?.phone_nos).map((p) => [p.phone, p.is_primary_mobile_no])).toEqual([["+494215550101", 1]]); // as EspoCRM stores it (E.164)
    expect(rows(byLast.get("Brandt")?.links).map((l) => l.link_name)).toEqual([customer]);
    // each CRM contact carries its ERP contact's name
    for (const id of contactIds) {
      const [c] = await ctx.crm.readByIds("Contact", [id]);
      expect(contacts.map((x) => x.id)).toContain(c.values.cAccordId);
    }
  });

  it("the next run writes nothing (no echo)", async () => {
    const r = await runSync(opened.ctx);
    check(r);
    // (the example's business-flow objects have their own tests: test/flows)
    const masterData = r.objects.filter((o) => ["customer", "billingAddress", "contact"].includes(o.object));
    expect(masterData.map((o) => [o.object, o.counts.applied, o.counts.quarantined, o.counts.held])).toEqual([
      ["customer", 0, 0, 0],
      ["billingAddress", 0, 0, 0],
      ["contact", 0, 0, 0],
    ]);
  });

  it("an ERP edit of the address's city comes back to the CRM account; its link row is kept; then no echo", async () => {
    const { ctx } = opened;
    const [addr] = await ctx.erp.readByIds("Address", [addressName]);
    await ctx.erp.update("Address", addressName, { city: "Hamburg" }, { ifVersion: addr.version });
    const r = await runSync(ctx);
    check(r);
    const [account] = await ctx.crm.readByIds("Account", [accountId]);
    expect(account.values.billingAddressCity).toBe("Hamburg");
    const [after] = await ctx.erp.readByIds("Address", [addressName]);
    expect(rows(after.values.links).map((l) => [l.link_doctype, l.link_name])).toEqual([["Customer", customer]]);
    const again = await runSync(ctx);
    check(again);
    expect(again.totals.applied).toBe(0);
  });

  it("a CRM edit of a contact's e-mail rewrites the primary row only; then no echo", async () => {
    const { ctx } = opened;
    const [c] = await ctx.crm.readByIds("Contact", [contactIds[0]]);
    const erpName = String(c.values.cAccordId);
    // a person adds a private, non-primary address in the ERP
    const [before] = await ctx.erp.readByIds("Contact", [erpName]);
    await ctx.erp.update("Contact", erpName, {
      email_ids: [...rows(before.values.email_ids).map((e) => ({ name: e.name, email_id: e.email_id, is_primary: e.is_primary })), { email_id: "anna@private.example", is_primary: 0 }],
    });
    await ctx.crm.update("Contact", contactIds[0], { emailAddress: "anna.meyer@nordwind-logistik.example" });
    const r = await runSync(ctx);
    check(r);
    const [after] = await ctx.erp.readByIds("Contact", [erpName]);
    expect(rows(after.values.email_ids).map((e) => [e.email_id, e.is_primary])).toEqual([
      ["anna.meyer@nordwind-logistik.example", 1],
      ["anna@private.example", 0],
    ]);
    expect(after.values.email_id).toBe("anna.meyer@nordwind-logistik.example");
    expect(rows(after.values.links).map((l) => l.link_name)).toEqual([customer]);
    const again = await runSync(ctx);
    check(again);
    expect(again.totals.applied).toBe(0);
  });
});
