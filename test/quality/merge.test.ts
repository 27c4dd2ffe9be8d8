/**
 * Merging duplicates within a system (`accord merge`) against the emulated systems over HTTP:
 * the connectors' merge (EspoCRM's merge action relinks contacts; ERPNext's rename-with-merge
 * moves addresses), the plan's survivor and best values, links following the survivor, a
 * rejected cluster left alone, and the hand-merge list for a system without a merge.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector } from "../../src/connectors/types.ts";
import type { QualityContext } from "../../src/quality/audit.ts";
import { applyMerges, planMerges } from "../../src/quality/merge.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";

const SPEC = `
version: 1
name: mergetest
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}", apiSecret: "\${S}" } }
owner: { name: Ops, email: ops@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
      - { crm: website, erp: website, direction: crm->erp }
      - { crm: cTaxId, erp: tax_id, direction: erp->crm }
  billing:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Address, identity: links.Customer }
    parent: { object: customer, crm: id, erp: links.Customer }
    fields:
      - { crm: billingAddressCity, erp: city, direction: both }
`;

let sb: Sandboxes;
let dir: string;
let crm: Connector;
let erp: Connector;
let store: Store;
let ctx: QualityContext;
const spec = loadSpec(SPEC, "mergetest.yaml");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "accord-merge-"));
  sb = await startSandboxes({ accounts: 0 });
  crm = await createConnector("espocrm", { url: sb.crm.url, credentials: { apiKey: sb.crm.apiKey } });
  erp = await createConnector("erpnext", {
    url: sb.erp.url,
    credentials: { apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret },
    options: { timezone: sb.erp.timezone },
  });
  store = await openTestStore({ file: join(dir, "accord.db") });
  ctx = { spec, store, crm, erp };
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([crm?.close(), erp?.close(), store?.close()]);
  await sb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function clearCrm(): Promise<void> {
  for await (const ids of crm.listIds?.("Account") ?? []) for (const id of ids) await crm.delete?.("Account", id);
}

describe("connector merge", () => {
  it("EspoCRM: the merge action moves the contacts to the survivor, writes the values, removes the other", async () => {
    const a = await crm.create("Account", { name: "Merge Probe A", website: "probe.example" });
    const b = await crm.create("Account", { name: "Merge Probe A (old)", phoneNumber: "+49301234567" });
    const contact = await crm.create("Contact", { lastName: "Kline", accountId: b.id });
    const merged = await crm.merge?.("Account", a.id, [b.id], { sicCode: "4813" });
    expect(merged?.id).toBe(a.id);
    expect(merged?.values.sicCode).toBe("4813");
    expect(merged?.values.phoneNumber).toBe("+49301234567"); // phone numbers are merged by EspoCRM
    expect(await crm.readByIds("Account", [b.id])).toEqual([]);
    expect((await crm.readByIds("Contact", [contact.id]))[0]?.values.accountId).toBe(a.id);
    await expect(crm.merge?.("Account", a.id, [a.id])).rejects.toThrow(/no other record/);
  });

  it("ERPNext: rename-with-merge moves the addresses to the survivor and removes the other", async () => {
    const x = await erp.create("Customer", {
      customer_name: "Merge Probe X",
      customer_group: "Commercial",
      territory: "All Territories",
      customer_type: "Company",
    });
    const y = await erp.create("Customer", {
      customer_name: "Merge Probe Y",
      customer_group: "Commercial",
      territory: "All Territories",
      customer_type: "Company",
    });
    const addr = await erp.create("Address", {
      address_title: "Y",
      address_type: "Billing",
      address_line1: "Main St 1",
      city: "Berlin",
      country: "Germany",
      links: [{ link_doctype: "Customer", link_name: y.id }],
    });
    const merged = await erp.merge?.("Customer", x.id, [y.id], { tax_id: "DE999" });
    expect(merged?.id).toBe(x.id);
    expect(merged?.values.tax_id).toBe("DE999");
    expect(await erp.readByIds("Customer", [y.id])).toEqual([]);
    const links = (await erp.readByIds("Address", [addr.id]))[0]?.values.links as Array<{ link_name: string }>;
    expect(links.map((l) => l.link_name)).toEqual([x.id]);
  });
});

describe("planMerges / applyMerges", () => {
  beforeEach(async () => {
    await clearCrm();
  });

  it("keeps the linked record, fills its gaps from the others, and moves nothing it does not have to", async () => {
    const old = await crm.create("Account", {
      name: "Granite Freight Ltd",
      billingAddressStreet: "12 Dock Road",
      billingAddressCity: "Leeds",
      billingAddressPostalCode: "LS1 6AA",
      billingAddressCountry: "United Kingdom",
      website: "granitefreight.co.uk",
    });
    const linked = await crm.create("Account", {
      name: "GRANITE FREIGHT LIMITED",
      billingAddressStreet: "12 Dock Rd",
      billingAddressCity: "Leeds",
      billingAddressPostalCode: "LS16AA",
      billingAddressCountry: "UK",
    });
    await crm.create("Account", { name: "Unrelated Bakery GmbH", billingAddressCity: "Köln", billingAddressCountry: "Germany" });
    const link = await store.saveLink({
      integration: "mergetest",
      object: "customer",
      crmId: linked.id,
      erpId: "Granite Freight Ltd",
      sharedId: "Granite Freight Ltd",
      base: {},
      crmVersion: null,
      erpVersion: null,
      pinned: false,
      status: "active",
    });
    await store.setPinned("mergetest", "customer", "crm", old.id, true);

    const plan = await planMerges(ctx, { side: "crm" });
    expect(plan.groups).toHaveLength(1);
    const g = plan.groups[0];
    expect(g?.survivorId).toBe(linked.id);
    expect(g?.survivorReason).toMatch(/linked/);
    expect(g?.otherIds).toEqual([old.id]);
    expect(g?.how).toBe("api");
    expect(g?.takes).toEqual([{ field: "website", from: old.id, value: "granitefreight.co.uk" }]);
    expect(g?.why[0]).toBeTruthy();

    const res = await applyMerges(ctx, plan);
    expect(res.failed).toEqual([]);
    expect(res.merged).toEqual([{ system: "crm", survivorId: linked.id, otherIds: [old.id] }]);
    expect(await crm.readByIds("Account", [old.id])).toEqual([]);
    expect((await crm.readByIds("Account", [linked.id]))[0]?.values.website).toBe("granitefreight.co.uk");
    expect((await store.getLink("mergetest", "customer", { id: link.id }))?.crmId).toBe(linked.id);
    expect(await store.isPinned("mergetest", "customer", "crm", old.id)).toBe(false);
    expect((await store.history("mergetest", "customer", linked.id)).map((h) => h.field)).toEqual(["website"]);
    // nothing left to merge
    expect((await planMerges(ctx, { side: "crm" })).groups).toEqual([]);
  });

  it("keeps the linked record when only one is linked, and flags the other's link when both are", async () => {
    const a = await crm.create("Account", {
      name: "Pelican Labs Inc.",
      website: "pelicanlabs.example",
      billingAddressCity: "Boston",
      billingAddressCountry: "US",
    });
    const b = await crm.create("Account", {
      name: "Pelican Labs Incorporated",
      website: "pelicanlabs.example",
      billingAddressCity: "Boston",
      billingAddressCountry: "USA",
      phoneNumber: "+16175550100",
    });
    const link = (crmId: string, erpId: string) =>
      store.saveLink({
        integration: "mergetest",
        object: "customer",
        crmId,
        erpId,
        sharedId: erpId,
        base: {},
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      });
    const la = await link(a.id, "Pelican Labs");
    // b is the more complete record, but a is linked: a survives
    let plan = await planMerges(ctx, { side: "crm" });
    expect(plan.groups.map((g) => g.survivorId)).toEqual([a.id]);
    expect(plan.groups[0]?.takes.map((t) => t.field)).toEqual([]);
    // both linked (to two ERP customers): the survivor keeps its link, the other's is flagged for a person
    const lb = await link(b.id, "Pelican Labs - 1");
    plan = await planMerges(ctx, { side: "crm" });
    expect(plan.groups[0]?.links.flag.map((f) => f.linkId)).toEqual([plan.groups[0]?.survivorId === a.id ? lb.id : la.id]);
    const res = await applyMerges(ctx, plan);
    expect(res.linksFlagged).toBe(1);
    const survivor = plan.groups[0]?.survivorId as string;
    const gone = survivor === a.id ? b.id : a.id;
    expect(await crm.readByIds("Account", [gone])).toEqual([]);
    expect((await store.getLink("mergetest", "customer", { id: survivor === a.id ? la.id : lb.id }))?.status).toBe("active");
    expect((await store.getLink("mergetest", "customer", { id: survivor === a.id ? lb.id : la.id }))?.status).toBe("flagged");
  });

  it("moves a merged-away record's link to the survivor when the survivor has none for that object", async () => {
    const a = await crm.create("Account", {
      name: "Osprey Marine Ltd",
      website: "ospreymarine.example",
      billingAddressStreet: "4 Quay St",
      billingAddressCity: "Bristol",
      billingAddressCountry: "United Kingdom",
    });
    const b = await crm.create("Account", {
      name: "Osprey Marine Limited",
      website: "ospreymarine.example",
      billingAddressCity: "Bristol",
      billingAddressCountry: "UK",
    });
    const base = { base: {}, crmVersion: null, erpVersion: null, pinned: false, status: "active" as const, integration: "mergetest" };
    const la = await store.saveLink({
      ...base,
      object: "customer",
      crmId: a.id,
      erpId: "Osprey Marine Ltd",
      sharedId: "Osprey Marine Ltd",
    });
    const lb = await store.saveLink({
      ...base,
      object: "billing",
      crmId: b.id,
      erpId: "Osprey Marine Ltd-Billing",
      sharedId: "Osprey Marine Ltd",
    });
    const plan = await planMerges(ctx, { side: "crm" });
    expect(plan.groups.map((g) => g.survivorId)).toEqual([a.id]); // both linked; a is the more complete
    expect(plan.groups[0]?.links).toEqual({ repoint: [{ linkId: lb.id, object: "billing", from: b.id }], flag: [] });
    const res = await applyMerges(ctx, plan);
    expect(res.linksRepointed).toBe(1);
    expect((await store.getLink("mergetest", "billing", { id: lb.id }))?.crmId).toBe(a.id);
    expect((await store.getLink("mergetest", "customer", { id: la.id }))?.crmId).toBe(a.id);
  });

  it("leaves a cluster a person rejected, and lists a system without a merge for a person", async () => {
    const a = await crm.create("Account", {
      name: "Twin Peaks Coffee LLC",
      billingAddressCity: "Seattle",
      billingAddressCountry: "US",
      website: "twinpeakscoffee.example",
    });
    const b = await crm.create("Account", {
      name: "Twin Peaks Coffee L.L.C.",
      billingAddressCity: "Seattle",
      billingAddressCountry: "US",
      website: "twinpeakscoffee.example",
    });
    const before = await planMerges(ctx, { side: "crm" });
    expect(before.groups.map((g) => [g.survivorId, ...g.otherIds].sort())).toEqual([[a.id, b.id].sort()]);

    // without a merge in the connector: the plan says "by hand"
    const noMerge = new Proxy(crm, { get: (t, p) => (p === "merge" ? undefined : Reflect.get(t, p, t)) });
    const manual = await planMerges({ ...ctx, crm: noMerge }, { side: "crm" });
    expect(manual.groups.map((g) => g.how)).toEqual(["manual"]);
    const res = await applyMerges({ ...ctx, crm: noMerge }, manual);
    expect(res.merged).toEqual([]);
    expect(res.manual).toHaveLength(1);
    expect((await crm.readByIds("Account", [a.id, b.id])).length).toBe(2);

    // a person says they are two organisations
    const item = await store.addReview({
      integration: "mergetest",
      object: "customer",
      linkId: null,
      kind: "match",
      field: null,
      base: null,
      crm: b.id,
      erp: null,
      reason: "looks like a duplicate",
      detail: { duplicateOf: [a.id] },
    });
    await store.closeReview(item.id, "dismissed");
    const after = await planMerges(ctx, { side: "crm" });
    expect(after.groups).toEqual([]);
    expect(after.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/different organisations/)]);
  });
});
