/**
 * Business flows as recipes, end to end over HTTP: the real EspoCRM and ERPNext connectors against
 * the emulated servers, run by the engine on the objects of examples/espocrm-erpnext.yaml
 * (store: SQLite :memory:).
 *
 *  - a deal closed with custom prices on three lines → exactly ONE Sales Order with those lines,
 *    prices, discounts, currency and terms — also when the sync crashes right after the remote
 *    create (a connector wrapper throws once the order exists) and is run again; the order's name
 *    and status come back to the deal; edits flow while the order is a draft, none once submitted;
 *  - a deal line priced far below the ERP price list is held with its reason on the deal (no order)
 *    until approved;
 *  - a price change and a stock movement in the ERP reach the CRM product;
 *  - an invoice paid in the ERP shows as paid on the deal and on the account.
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../../src/connectors/types.ts";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import type { EngineContext } from "../../src/engine/types.ts";
import { Transient } from "../../src/errors.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { testStoreOptions } from "../support/store.ts";

const EXAMPLE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");
type Rec = Record<string, unknown>;

let sb: Sandboxes;
let opened: OpenedContext;
let ctx: EngineContext;
const ACCOUNT = "Acme Flow GmbH";
let accountId = "";
const productIds: Record<string, string> = {};

async function crm(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.crm.apiUrl}/${path}`, {
    method,
    headers: { "X-Api-Key": sb.crm.apiKey, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`CRM ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function crmControl(path: string, body: unknown): Promise<Rec> {
  const res = await fetch(`${sb.crm.url}/__sandbox/${path}`, {
    method: "POST",
    headers: { "X-Sandbox-Token": sb.crm.apiKey, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`CRM control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
const erpHeaders = () => ({ Authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}`, "Content-Type": "application/json" });
async function erp(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.erp.url}/api/${path}`, { method, headers: erpHeaders(), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`ERP ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function erpControl(path: string, body: unknown): Promise<Rec> {
  const res = await fetch(`${sb.erp.url}/__sandbox/${path}`, { method: "POST", headers: erpHeaders(), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`ERP control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function erpList(doctype: string, filters: unknown[] = []): Promise<Rec[]> {
  const q = `fields=${encodeURIComponent('["name"]')}&filters=${encodeURIComponent(JSON.stringify(filters))}&limit_page_length=0`;
  const names = ((await erp("GET", `resource/${encodeURIComponent(doctype)}?${q}`)).data as Rec[]).map((r) => String(r.name));
  const out: Rec[] = [];
  for (const n of names) out.push((await erp("GET", `resource/${encodeURIComponent(doctype)}/${encodeURIComponent(n)}`)).data as Rec);
  return out;
}
const sync = (objects: string[], c: EngineContext = ctx) => runSync(c, { objects, detectDeletes: false });

async function closedWonDeal(name: string, lines: Array<[string, number, number, number, number]>, extra: Rec = {}): Promise<Rec> {
  return crm("POST", "Opportunity", {
    name,
    accountId,
    stage: "Negotiation",
    closeDate: "2026-11-20",
    amount: lines.reduce((sum, [, q, , , u]) => sum + q * u, 0),
    amountCurrency: "EUR",
    description: "Net 30; delivery free of charge",
    itemList: lines.map(([p, quantity, listPrice, discount, unitPrice]) => ({
      productId: productIds[p],
      name: p,
      quantity,
      listPrice,
      discount,
      unitPrice,
      listPriceCurrency: "EUR",
      unitPriceCurrency: "EUR",
    })),
    ...extra,
  });
}

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts", webhookDelayMs: 0 });
  // the custom fields the recipes use (cSyncError, cPriceApproved, cOutstanding, cInvoicedTotal) are sandbox defaults
  await erpControl("seed", {
    Customer: [{ name: ACCOUNT, customer_name: ACCOUNT, customer_type: "Company" }],
    Item: ["ALPHA", "BETA", "GAMMA"].map((c) => ({ name: c, item_code: c, item_name: `Item ${c}`, item_group: "Products", stock_uom: "Nos", is_stock_item: 1 })),
  });
  for (const [item, rate] of [["ALPHA", 100], ["BETA", 250], ["GAMMA", 40]] as const) await erpControl("events", { kind: "price-changed", item, rate });
  await erpControl("events", { kind: "stock-moved", item: "ALPHA", warehouse: "Stores - ADG", qty: 10 });
  await erpControl("events", { kind: "stock-moved", item: "ALPHA", warehouse: "Finished Goods - ADG", qty: 5 });

  accountId = String(
    (
      await crm("POST", "Account", {
        name: ACCOUNT,
        cAccordId: ACCOUNT,
        billingAddressStreet: "Hauptstraße 1",
        billingAddressCity: "Berlin",
        billingAddressPostalCode: "10115",
        billingAddressCountry: "Germany",
      })
    ).id,
  );
  for (const code of ["ALPHA", "BETA", "GAMMA"]) productIds[code] = String((await crm("POST", "Product", { name: `Item ${code}`, cErpItemCode: code })).id);

  opened = await openContextFromFile(EXAMPLE, {
    env: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
  ctx = opened.ctx;
  await sync(["customer", "product", "price", "stock"]);
}, 60_000);

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

describe("quote-to-cash", () => {
  it("a deal closed with custom prices on three lines yields exactly one sales order, even when the sync crashes after the create", async () => {
    const deal = await closedWonDeal("Flow deal 1", [
      ["ALPHA", 3, 100, 10, 90],
      ["BETA", 1, 250, 5, 237.5],
      ["GAMMA", 12, 40, 0, 39],
    ]);
    const id = String(deal.id);

    // not closed yet: no order
    let r = await sync(["salesOrder"]);
    expect(await erpList("Sales Order", [["po_no", "=", id]])).toHaveLength(0);
    expect(r.objects[0].records.some((x) => x.recordId === id)).toBe(false);

    await crm("PUT", `Opportunity/${id}`, { stage: "Closed Won" });

    // the ERP connector creates the order, then the "process" dies before Accord records it
    const real = ctx.erp;
    let creates = 0;
    const crashing: Connector = Object.create(real) as Connector;
    crashing.create = async (entity, values) => {
      const rec = await real.create(entity, values);
      creates++;
      throw new Transient(`simulated crash after creating ${entity} ${rec.id}`);
    };
    await expect(sync(["salesOrder"], { ...ctx, erp: crashing })).rejects.toThrow(/simulated crash/);
    expect(creates).toBe(1);
    expect(await erpList("Sales Order", [["po_no", "=", id]])).toHaveLength(1);

    // the rerun recovers the interrupted create: no second order; twice more changes nothing
    r = await sync(["salesOrder"]);
    expect(r.objects[0].recovered).toBe(1);
    await sync(["salesOrder"]);
    await sync(["salesOrder"]);
    const orders = await erpList("Sales Order", [["po_no", "=", id]]);
    expect(orders).toHaveLength(1);
    const so = orders[0];
    expect(so.customer).toBe(ACCOUNT);
    expect(so.company).toBe("Accord Demo GmbH");
    expect(so.currency).toBe("EUR");
    expect(so.terms).toBe("Net 30; delivery free of charge");
    expect(so.transaction_date).toBe("2026-11-20");
    expect(so.delivery_date).toBe("2026-12-04");
    expect(so.docstatus).toBe(0);
    const items = (so.items as Rec[]).map((i) => [i.item_code, i.qty, i.price_list_rate, i.discount_percentage, i.rate]);
    expect(items).toEqual([
      ["ALPHA", 3, 100, 10, 90],
      ["BETA", 1, 250, 5, 237.5],
      ["GAMMA", 12, 40, 0, 39],
    ]);
    expect(so.grand_total).toBe(3 * 90 + 237.5 + 12 * 39);

    // the order's name and status are on the deal
    const back = await crm("GET", `Opportunity/${id}`);
    expect(back.cErpOrderName).toBe(so.name);
    expect(back.cErpOrderStatus).toBe("Draft");
    expect(back.cSyncError ?? null).toBeNull();
  }, 60_000);

  it("a draft order follows the deal; once submitted in the ERP it is frozen and its status comes back", async () => {
    const deal = await closedWonDeal("Flow deal 2", [["ALPHA", 2, 100, 0, 100]], { stage: "Closed Won" });
    const id = String(deal.id);
    await sync(["salesOrder"]);
    const [so] = await erpList("Sales Order", [["po_no", "=", id]]);
    expect((so.items as Rec[]).map((i) => i.qty)).toEqual([2]);

    const cur = await crm("GET", `Opportunity/${id}`);
    const lines = (cur.itemList as Rec[]).map((l) => ({ ...l, quantity: 4, amount: 400 }));
    await crm("PUT", `Opportunity/${id}`, { itemList: lines });
    await sync(["salesOrder"]);
    let [now] = await erpList("Sales Order", [["po_no", "=", id]]);
    expect((now.items as Rec[]).map((i) => i.qty)).toEqual([4]);

    await erp("POST", `resource/Sales Order/${encodeURIComponent(String(so.name))}`, { run_method: "submit" });
    await crm("PUT", `Opportunity/${id}`, { itemList: lines.map((l) => ({ ...l, quantity: 9, amount: 900 })), description: "changed after submit" });
    const r = await sync(["salesOrder"]);
    [now] = await erpList("Sales Order", [["po_no", "=", id]]);
    expect((now.items as Rec[]).map((i) => i.qty)).toEqual([4]);
    expect(now.terms).toBe("Net 30; delivery free of charge");
    expect(r.objects[0].counts.quarantined).toBe(0);
    expect((await crm("GET", `Opportunity/${id}`)).cErpOrderStatus).toBe("To Deliver and Bill");
    expect(await erpList("Sales Order", [["po_no", "=", id]])).toHaveLength(1);
  }, 60_000);

  it("a line priced more than the allowed discount below the ERP price is held on the deal until approved", async () => {
    const deal = await closedWonDeal("Flow deal 3", [["BETA", 1, 250, 40, 150]], { stage: "Closed Won" });
    const id = String(deal.id);
    const r = await sync(["salesOrder"]);
    expect(r.objects[0].counts.held).toBeGreaterThanOrEqual(1);
    expect(await erpList("Sales Order", [["po_no", "=", id]])).toHaveLength(0);
    expect(String((await crm("GET", `Opportunity/${id}`)).cSyncError)).toMatch(/Needs approval/);

    await crm("PUT", `Opportunity/${id}`, { cPriceApproved: true });
    await sync(["salesOrder"]);
    expect(await erpList("Sales Order", [["po_no", "=", id]])).toHaveLength(1);
    expect((await crm("GET", `Opportunity/${id}`)).cSyncError ?? null).toBeNull();
  }, 60_000);
});

describe("prices, stock and invoices", () => {
  it("a price change and a stock movement in the ERP reach the CRM product", async () => {
    let p = await crm("GET", `Product/${productIds.ALPHA}`);
    expect(p.cErpPrice).toBe(100);
    expect(p.cStockQty).toBe(15); // 10 + 5 over two warehouses

    await erpControl("events", { kind: "price-changed", item: "ALPHA", rate: 110 });
    await erpControl("events", { kind: "stock-moved", item: "ALPHA", warehouse: "Finished Goods - ADG", qty: -3 });
    await erpControl("events", { kind: "stock-moved", item: "GAMMA", warehouse: "Stores - ADG", qty: 7 });
    await sync(["price", "stock"]);
    p = await crm("GET", `Product/${productIds.ALPHA}`);
    expect(p.cErpPrice).toBe(110);
    expect(p.cStockQty).toBe(12);
    expect((await crm("GET", `Product/${productIds.GAMMA}`)).cStockQty).toBe(7);
    expect((await crm("GET", `Product/${productIds.BETA}`)).cErpPrice).toBe(250);
  }, 60_000);

  it("an invoice paid in the ERP shows as paid on the CRM deal and account", async () => {
    const deal = await closedWonDeal("Flow deal 4", [["GAMMA", 10, 40, 0, 40]], { stage: "Closed Won" });
    const id = String(deal.id);
    await sync(["salesOrder"]);
    const [so] = await erpList("Sales Order", [["po_no", "=", id]]);
    await erp("POST", `resource/Sales Order/${encodeURIComponent(String(so.name))}`, { run_method: "submit" });
    const made = (await erp("POST", "method/erpnext.selling.doctype.sales_order.sales_order.make_sales_invoice", { source_name: so.name })).message as Rec;
    const inv = (await erp("POST", "resource/Sales Invoice", made)).data as Rec;
    await erp("POST", `resource/Sales Invoice/${encodeURIComponent(String(inv.name))}`, { run_method: "submit" });

    await sync(["dealInvoices", "accountInvoices"]);
    let d = await crm("GET", `Opportunity/${id}`);
    expect(d.cInvoiceStatus).toBe("Unpaid");
    expect(d.cOutstanding).toBe(400);
    let a = await crm("GET", `Account/${accountId}`);
    expect(a.cOutstanding).toBe(400);

    await erpControl("events", { kind: "invoice-paid", invoice: inv.name, amount: 150 });
    await sync(["dealInvoices", "accountInvoices"]);
    d = await crm("GET", `Opportunity/${id}`);
    expect(d.cInvoiceStatus).toBe("Partly Paid");
    expect(d.cOutstanding).toBe(250);

    await erpControl("events", { kind: "invoice-paid", invoice: inv.name });
    await sync(["dealInvoices", "accountInvoices"]);
    d = await crm("GET", `Opportunity/${id}`);
    expect(d.cInvoiceStatus).toBe("Paid");
    expect(d.cOutstanding).toBe(0);
    a = await crm("GET", `Account/${accountId}`);
    expect(a.cOutstanding).toBe(0);
    expect(a.cInvoicedTotal).toBe(400);
  }, 60_000);
});

describe("refresh on demand, create-only and submitted orders, related-record conditions, errors on the record", () => {
  const SPEC = `
version: 1
name: flows-b
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp:
    type: erpnext
    url: "\${ERPNEXT_URL}"
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
    options: { timezone: Europe/Berlin }
owner: { name: Test Owner, email: owner@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: crm->erp
    when: { crm: { $expr: '$count($find("Opportunity", "accountId", $id)[stage = "Closed Won"]) > 0' } }
    fields:
      - { crm: name, erp: customer_name, direction: crm->erp }
  product:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Item, identity: item_code }
    create: link-only
    fields: []
  order:
    crm: { entity: Opportunity, identity: cErpOrderName }
    erp: { entity: Sales Order, identity: name }
    create: crm->erp
    updates: never
    submit: submit
    when: { crm: { stage: [Closed Won] } }
    errors: { crm: cSyncError }
    createWith: { erp: { company: Accord Demo GmbH, selling_price_list: Standard Selling, currency: EUR } }
    fields:
      - { crm: id, erp: po_no, direction: crm->erp }
      - { crm: accountId, erp: customer, direction: crm->erp, lookup: customer }
      - { crm: closeDate, erp: transaction_date, direction: crm->erp }
      - { crm: closeDate, erp: delivery_date, direction: crm->erp }
      - crm: itemList
        erp: items
        direction: crm->erp
        lines:
          - { crm: productId, erp: item_code, lookup: product }
          - { crm: quantity, erp: qty }
          - { crm: unitPrice, erp: rate }
      - { crm: cErpOrderStatus, erp: status, direction: erp->crm }
`;
  let b: OpenedContext;
  beforeAll(async () => {
    const { loadSpec } = await import("../../src/spec/load.ts");
    const { openContext } = await import("../../src/engine/context.ts");
    b = await openContext(loadSpec(SPEC, "flows-b.yaml"), {
      env: {
        ESPOCRM_URL: sb.crm.url,
        ESPOCRM_API_KEY: sb.crm.apiKey,
        ERPNEXT_URL: sb.erp.url,
        ERPNEXT_API_KEY: sb.erp.apiKey,
        ERPNEXT_API_SECRET: sb.erp.apiSecret,
      },
      store: await testStoreOptions(),
    });
  });
  afterAll(async () => {
    await b?.close();
  });

  it("the ERP customer is created only once its account has a closed-won deal; the order is created submitted and never edited; one record refreshes on demand", async () => {
    const acc = await crm("POST", "Account", { name: "Bergmann Bau AG" });
    const accId = String(acc.id);
    const product = productIds.BETA;
    const deal = await crm("POST", "Opportunity", {
      name: "Bergmann deal",
      accountId: accId,
      stage: "Proposal",
      closeDate: "2026-11-25",
      amount: 500,
      amountCurrency: "EUR",
      itemList: [{ productId: product, name: "BETA", quantity: 2, unitPrice: 250, listPrice: 250 }],
    });
    const dealId = String(deal.id);

    await runSync(b.ctx, { detectDeletes: false });
    expect(await erpList("Customer", [["customer_name", "=", "Bergmann Bau AG"]])).toHaveLength(0);
    expect(await erpList("Sales Order", [["po_no", "=", dealId]])).toHaveLength(0);

    // closed won: the account (touched) now matches its create condition; the deal is refreshed on demand
    await crm("PUT", `Opportunity/${dealId}`, { stage: "Closed Won" });
    await crm("PUT", `Account/${accId}`, { website: "https://bergmann.example" });
    await runSync(b.ctx, { objects: ["customer", "product"], detectDeletes: false });
    expect(await erpList("Customer", [["customer_name", "=", "Bergmann Bau AG"]])).toHaveLength(1);
    const r = await runSync(b.ctx, { objects: ["order"], records: { crm: [dealId] }, detectDeletes: false });
    expect(r.objects[0].counts, JSON.stringify(r.objects[0].records)).toMatchObject({ read: 1, applied: 1 });
    const [so] = await erpList("Sales Order", [["po_no", "=", dealId]]);
    expect(so.docstatus).toBe(1);
    expect((await crm("GET", `Opportunity/${dealId}`)).cErpOrderName).toBe(so.name);

    // create-only: a later edit of the deal never reaches the order; the status still comes back
    await crm("PUT", `Opportunity/${dealId}`, { closeDate: "2026-12-24" });
    await runSync(b.ctx, { objects: ["order"], detectDeletes: false });
    const [after] = await erpList("Sales Order", [["po_no", "=", dealId]]);
    expect(after.transaction_date).toBe("2026-11-25");
    expect(after.modified).toBe(so.modified);
    expect((await crm("GET", `Opportunity/${dealId}`)).cErpOrderStatus).toBe("To Deliver and Bill");
    expect(await erpList("Sales Order", [["po_no", "=", dealId]])).toHaveLength(1);
  }, 60_000);

  it("a deal that cannot become an order shows why on the deal, and the message clears once it syncs", async () => {
    const stray = String((await crm("POST", "Product", { name: "Not in the ERP", cErpItemCode: "NOPE" })).id);
    const deal = await crm("POST", "Opportunity", {
      name: "Stray product deal",
      accountId,
      stage: "Closed Won",
      closeDate: "2026-11-25",
      amount: 10,
      amountCurrency: "EUR",
      itemList: [{ productId: stray, name: "NOPE", quantity: 1, unitPrice: 10, listPrice: 10 }],
    });
    const dealId = String(deal.id);
    await runSync(b.ctx, { objects: ["customer", "product", "order"], detectDeletes: false });
    const shown = String((await crm("GET", `Opportunity/${dealId}`)).cSyncError);
    expect(shown).toMatch(/LookupNotLinked/);
    expect(shown).toContain(stray);
    expect(await erpList("Sales Order", [["po_no", "=", dealId]])).toHaveLength(0);

    // the rep picks a product the ERP knows: the order is created and the message cleared
    const cur = await crm("GET", `Opportunity/${dealId}`);
    await crm("PUT", `Opportunity/${dealId}`, { itemList: (cur.itemList as Rec[]).map((l) => ({ ...l, productId: productIds.GAMMA })) });
    await runSync(b.ctx, { objects: ["customer", "product", "order"], detectDeletes: false });
    expect(await erpList("Sales Order", [["po_no", "=", dealId]])).toHaveLength(1);
    expect((await crm("GET", `Opportunity/${dealId}`)).cSyncError ?? null).toBeNull();
  }, 60_000);
});

describe("aggregates in a targeted run", () => {
  it("a webhook naming the changed Bin row refreshes its item's total over all warehouses", async () => {
    const moved = await erpControl("events", { kind: "stock-moved", item: "BETA", warehouse: "Finished Goods - ADG", qty: 4 });
    await erpControl("events", { kind: "stock-moved", item: "BETA", warehouse: "Stores - ADG", qty: 6 });
    const binName = String((moved.bin as Rec).name);
    const r = await runSync(ctx, { objects: ["stock"], records: { erp: [binName] }, detectDeletes: false });
    expect(r.objects[0].counts).toMatchObject({ read: 1, applied: 1 });
    expect((await crm("GET", `Product/${productIds.BETA}`)).cStockQty).toBe(10);
  }, 30_000);
});

describe("customer 360", () => {
  it("shows the customer from both systems with its deals, their orders and statuses, and its invoice totals", async () => {
    const { customer360, renderCustomer360 } = await import("../../src/flows/customer360.ts");
    const view = await customer360(ctx, ACCOUNT);
    expect(view.crm.id).toBe(accountId);
    expect(view.erp.id).toBe(ACCOUNT);
    expect(view.link?.status).toBe("active");
    expect(view.fields[0]).toMatchObject({ crm: "name", erp: "customer_name", crmValue: ACCOUNT, erpValue: ACCOUNT });
    const deals = view.related.find((r) => r.object === "salesOrder");
    const orders = await erpList("Sales Order", [["customer", "=", ACCOUNT]]);
    const linked = deals?.records.filter((r) => r.erpId) ?? [];
    expect(linked).toHaveLength(4); // the four deals this integration turned into orders (above)
    for (const d of linked) expect(orders.find((o) => o.name === d.erpId)?.po_no).toBe(d.crmId);
    for (const d of deals?.records ?? []) if (d.erpId) expect(d.values.cErpOrderStatus).toBeTruthy();
    const totals = view.related.find((r) => r.object === "accountInvoices");
    expect(totals?.records[0].values).toMatchObject({ cOutstanding: 0, cInvoicedTotal: 400 });
    expect(renderCustomer360(view)).toContain(ACCOUNT);
    // by the ERP id too
    expect((await customer360(ctx, ACCOUNT)).crm.id).toBe(accountId);
    await expect(customer360(ctx, "No Such Company")).rejects.toThrow(/no customer "No Such Company"/);
  }, 30_000);
});

describe("dry run of the flows", () => {
  it("accord plan's planner runs every flow object, balances its counts and writes nothing", async () => {
    const { planSync } = await import("../../src/engine/index.ts");
    const deal = await closedWonDeal("Planned only", [["ALPHA", 1, 100, 0, 100]], { stage: "Closed Won" });
    const before = await erpList("Sales Order");
    const r = await planSync(ctx, { detectDeletes: false });
    for (const o of r.objects) expect(o.counts.read, o.object).toBe(o.counts.applied + o.counts.unchanged + o.counts.held + o.counts.quarantined);
    const planned = r.objects.find((o) => o.object === "salesOrder")?.records.find((x) => x.recordId === deal.id);
    expect(planned?.ops.some((op) => op.kind === "create" && op.field === "items")).toBe(true);
    expect(await erpList("Sales Order")).toHaveLength(before.length);
  }, 60_000);
});
