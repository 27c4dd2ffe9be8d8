/**
 * Revenue reconciliation end to end over HTTP: the real connectors against the emulated systems,
 * seeded with generated data (deals, re-keyed orders, invoices, payments) plus one seeded case per
 * exception kind, through examples/espocrm-erpnext.yaml's `reports.revenue`.
 *
 *  - the report's totals (and per-month figures) equal sums computed independently from the
 *    sandboxes' control API dumps;
 *  - each exception kind is detected in its seeded case, and a clean deal raises none;
 *  - the stale-price check uses the ERP price in effect at the close date, not today's;
 *  - --duckdb writes a file that opens, with the expected row counts per table;
 *  - the CLI prints the table, CSV and JSON.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import {
  exportDuckDb,
  loadRevenueModel,
  periodOf,
  type RevenueModel,
  type RevenueReport,
  renderRevenue,
  revenueCsv,
  revenueReport,
} from "../../src/flows/revenue.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { testStoreOptions, testStoreTarget } from "../support/store.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const EXAMPLE = join(ROOT, "examples/espocrm-erpnext.yaml");
type Rec = Record<string, unknown>;

let sb: Sandboxes;
let opened: OpenedContext;
let model: RevenueModel;
let dir: string;
const ids: Record<string, string> = {};
const FROM = "2000-01-01";
const TO = "2030-12-31";

async function crmControl(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.crm.url}/__sandbox/${path}`, {
    method,
    headers: { "X-Sandbox-Token": sb.crm.apiKey, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`CRM control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function erpControl(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.erp.url}/__sandbox/${path}`, {
    method,
    headers: { Authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`ERP control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
const crmDump = async (entity: string) => (await crmControl("GET", `dump?entity=${encodeURIComponent(entity)}`)).records as Rec[];
const erpDump = async (doctype: string) => (await erpControl("GET", `dump?doctype=${encodeURIComponent(doctype)}`)).data as Rec[];
const r2 = (n: number) => Math.round(n * 100) / 100;
const env = () => ({
  ESPOCRM_URL: sb.crm.url,
  ESPOCRM_API_KEY: sb.crm.apiKey,
  ERPNEXT_URL: sb.erp.url,
  ERPNEXT_API_KEY: sb.erp.apiKey,
  ERPNEXT_API_SECRET: sb.erp.apiSecret,
});

const line = (productId: string, quantity: number, unitPrice: number, listPrice = unitPrice) => ({
  productId,
  name: "RV item",
  quantity,
  unitPrice,
  listPrice,
  amount: quantity * unitPrice,
});
const soItem = (qty: number, rate: number) => ({
  item_code: "RV-ITEM",
  item_name: "RV item",
  qty,
  rate,
  amount: qty * rate,
  price_list_rate: rate,
  uom: "Nos",
  conversion_factor: 1,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "accord-revenue-"));
  sb = await startSandboxes({ accounts: 60, webhookDelayMs: 0 });
  const CUST = "Revenue Test GmbH";
  await erpControl("POST", "seed", {
    Customer: [{ name: CUST, customer_name: CUST, customer_type: "Company" }],
    Item: [{ name: "RV-ITEM", item_code: "RV-ITEM", item_name: "RV item", item_group: "Products", stock_uom: "Nos" }],
    // the price went from 100 to 200 on 2026-06-01: deals closed before are priced off 100
    "Item Price": [
      { item_code: "RV-ITEM", price_list: "Standard Selling", price_list_rate: 100, valid_from: "2026-01-01", valid_upto: "2026-05-31" },
      { item_code: "RV-ITEM", price_list: "Standard Selling", price_list_rate: 200, valid_from: "2026-06-01" },
    ],
  });
  const crmSeed = (await crmControl("POST", "seed", {
    Account: [{ name: CUST, cAccordId: CUST }],
    Product: [{ name: "RV item", cErpItemCode: "RV-ITEM" }],
  })) as { ids: Record<string, string[]> };
  const accountId = crmSeed.ids.Account[0];
  const productId = crmSeed.ids.Product[0];
  const deal = (name: string, stage: string, closeDate: string, lines: Rec[], extra: Rec = {}) => ({
    name,
    accountId,
    stage,
    closeDate,
    amountCurrency: "EUR",
    amount: lines.reduce((s, l) => s + Number(l.amount), 0),
    itemList: lines,
    ...extra,
  });
  const seeded = (await crmControl("POST", "seed", {
    Opportunity: [
      deal("RV clean (old price)", "Closed Won", "2026-03-10", [line(productId, 3, 100)]), // A: order, invoice, payment; 100 was the price then
      deal("RV stale price", "Closed Won", "2026-07-10", [line(productId, 1, 150, 150)]), // B: 150 < 200 × 0.85
      deal("RV no order", "Closed Won", "2026-07-11", [line(productId, 5, 200)]), // C
      deal("RV amount mismatch", "Closed Won", "2026-07-12", [line(productId, 5, 200)], { cErpOrderName: "SAL-ORD-RV-D" }), // D: order total 900 ≠ 1000
      deal("RV lost", "Closed Lost", "2026-07-13", [line(productId, 1, 200)]), // not booked
    ],
  })) as { ids: Record<string, string[]> };
  [ids.A, ids.B, ids.C, ids.D, ids.lost] = seeded.ids.Opportunity;

  const so = (name: string, po: string | null, date: string, items: Rec[], docstatus = 1) => ({
    name,
    customer: CUST,
    customer_name: CUST,
    company: "Accord Demo GmbH",
    transaction_date: date,
    delivery_date: date,
    po_no: po,
    currency: "EUR",
    selling_price_list: "Standard Selling",
    items,
    total: items.reduce((s, i) => s + Number(i.amount), 0),
    grand_total: items.reduce((s, i) => s + Number(i.amount), 0),
    docstatus,
  });
  await erpControl("POST", "seed", {
    "Sales Order": [
      so("SAL-ORD-RV-A", ids.A, "2026-03-11", [soItem(3, 100)]), // paired through po_no = the deal id
      so("SAL-ORD-RV-B", ids.B, "2026-07-10", [soItem(1, 150)]),
      so("SAL-ORD-RV-D", null, "2026-07-12", [soItem(9, 100)]), // paired through the deal's cErpOrderName
      so("SAL-ORD-RV-X", ids.C, "2026-07-11", [soItem(5, 200)]), // cancelled below: C still has no order
    ],
  });
  const cancel = await fetch(`${sb.erp.url}/api/resource/Sales%20Order/SAL-ORD-RV-X`, {
    method: "POST",
    headers: { Authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}`, "Content-Type": "application/json" },
    body: JSON.stringify({ run_method: "cancel" }),
  });
  expect(cancel.ok, await cancel.text()).toBe(true);
  const inv = (name: string, date: string, amount: number, salesOrder: string | null, po: string | null) => ({
    name,
    customer: CUST,
    customer_name: CUST,
    company: "Accord Demo GmbH",
    posting_date: date,
    due_date: date,
    currency: "EUR",
    po_no: po,
    debit_to: "Debtors - ADG",
    items: [
      { item_code: "RV-ITEM", item_name: "RV item", qty: 1, rate: amount, amount, sales_order: salesOrder, income_account: "Sales - ADG" },
    ],
    total: amount,
    grand_total: amount,
    outstanding_amount: amount,
    docstatus: 1,
  });
  await erpControl("POST", "seed", {
    "Sales Invoice": [
      inv("ACC-SINV-RV-A", "2026-03-20", 300, "SAL-ORD-RV-A", ids.A),
      inv("ACC-SINV-RV-E", "2026-07-15", 480, null, null), // E: bills no order and no deal
    ],
  });
  await erpControl("POST", "events", { kind: "invoice-paid", invoice: "ACC-SINV-RV-A", amount: 120 }); // a person records a payment today

  opened = await openContextFromFile(EXAMPLE, { env: env(), store: await testStoreOptions() });
  model = await loadRevenueModel(opened.ctx);
}, 120_000);

afterAll(async () => {
  await opened?.close();
  await sb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The figures computed from the dumps, independently of the connectors and the report. */
async function expected(from: string, to: string) {
  const inRange = (d: unknown) => typeof d === "string" && d.slice(0, 10) >= from && d.slice(0, 10) <= to;
  const per: Record<string, { bookings: number; ordered: number; invoiced: number; paid: number }> = {};
  const add = (d: string, k: "bookings" | "ordered" | "invoiced" | "paid", v: number) => {
    const p = periodOf(d, "month");
    per[p] ??= { bookings: 0, ordered: 0, invoiced: 0, paid: 0 };
    per[p][k] = r2(per[p][k] + v);
  };
  const won = (await crmDump("Opportunity")).filter((d) => d.stage === "Closed Won" && inRange(d.closeDate));
  for (const d of won) add(String(d.closeDate), "bookings", Number(d.amount ?? 0));
  const orders = (await erpDump("Sales Order")).filter((o) => (o.docstatus === 0 || o.docstatus === 1) && inRange(o.transaction_date));
  for (const o of orders) add(String(o.transaction_date), "ordered", Number(o.grand_total));
  const invoices = (await erpDump("Sales Invoice")).filter((i) => i.docstatus === 1 && inRange(i.posting_date));
  for (const i of invoices) add(String(i.posting_date), "invoiced", Number(i.grand_total));
  const payments = (await erpDump("Payment Entry")).filter(
    (p) => p.docstatus === 1 && p.payment_type === "Receive" && inRange(p.posting_date),
  );
  for (const p of payments) add(String(p.posting_date), "paid", Number(p.paid_amount));
  const sum = (xs: Rec[], k: string) => r2(xs.reduce((s, x) => s + Number(x[k] ?? 0), 0));
  return {
    totals: {
      bookings: sum(won, "amount"),
      bookedDeals: won.length,
      ordered: sum(orders, "grand_total"),
      orders: orders.length,
      invoiced: sum(invoices, "grand_total"),
      invoices: invoices.length,
      paid: sum(payments, "paid_amount"),
      payments: payments.length,
    },
    per,
  };
}

describe("revenue report", () => {
  let rep: RevenueReport;
  beforeAll(() => {
    rep = revenueReport(opened.ctx, model, { from: FROM, to: TO, by: "month" });
  });

  it("has generated and seeded data to reconcile", () => {
    expect(rep.totals.bookedDeals).toBeGreaterThan(10);
    expect(rep.totals.orders).toBeGreaterThan(5);
    expect(rep.totals.invoices).toBeGreaterThan(3);
    expect(rep.totals.payments).toBeGreaterThan(1);
  });

  it("totals and per-month figures equal sums computed from the sandboxes' dumps", async () => {
    const want = await expected(FROM, TO);
    expect(rep.totals).toEqual(want.totals);
    for (const p of rep.periods) {
      const w = want.per[p.period] ?? { bookings: 0, ordered: 0, invoiced: 0, paid: 0 };
      expect({ period: p.period, bookings: p.bookings, ordered: p.ordered, invoiced: p.invoiced, paid: p.paid }).toEqual({
        period: p.period,
        ...w,
      });
    }
    // a narrower window, by quarter and by day, counts only what falls inside it
    const q = revenueReport(opened.ctx, model, { from: "2026-07-01", to: "2026-09-30", by: "quarter" });
    expect(q.periods.map((p) => p.period)).toEqual(["2026-Q3"]);
    expect(q.totals).toEqual((await expected("2026-07-01", "2026-09-30")).totals);
    const d = revenueReport(opened.ctx, model, { from: "2026-07-10", to: "2026-07-12", by: "day" });
    expect(d.periods.map((p) => p.period)).toEqual(["2026-07-10", "2026-07-11", "2026-07-12"]);
    expect(d.totals).toEqual((await expected("2026-07-10", "2026-07-12")).totals);
  });

  it("detects each exception kind in its seeded case, and none for the clean deal", () => {
    const of = (record: string) => rep.exceptions.filter((e) => e.record === record).map((e) => e.kind);
    expect(of(ids.A)).toEqual([]); // ordered, invoiced, priced at the price of its day (100, not today's 200)
    expect(of(ids.B)).toEqual(["stale-price"]);
    expect(of(ids.C)).toEqual(["deal-without-order"]); // its only order is cancelled
    expect(of(ids.D)).toEqual(["order-amount-mismatch"]);
    expect(of(ids.lost)).toEqual([]);
    expect(of("ACC-SINV-RV-E")).toEqual(["invoice-without-order-or-deal"]);
    expect(of("ACC-SINV-RV-A")).toEqual([]);
    const d = rep.exceptions.find((e) => e.record === ids.D);
    expect(d).toMatchObject({ amount: 1000, expected: 900 });
    const b = rep.exceptions.find((e) => e.record === ids.B);
    expect(b).toMatchObject({ amount: 150, expected: 200 });
    for (const k of Object.keys(rep.counts) as Array<keyof RevenueReport["counts"]>)
      expect(rep.counts[k]).toBe(rep.exceptions.filter((e) => e.kind === k).length);
  });

  it("every won deal without a counted order is an exception; every invoice tied to nothing is one", async () => {
    const wonNoOrder = model.deals.filter((d) => d.won && d.date && !d.orderIds.some((o) => model.orders.find((x) => x.id === o)?.counted));
    expect(rep.counts["deal-without-order"]).toBe(wonNoOrder.length);
    const orderNames = new Set((await erpDump("Sales Order")).map((o) => String(o.name)));
    const dealIds = new Set((await crmDump("Opportunity")).map((o) => String(o.id)));
    const loose = (await erpDump("Sales Invoice")).filter(
      (i) => i.docstatus === 1 && !(i.items as Rec[]).some((r) => orderNames.has(String(r.sales_order))) && !dealIds.has(String(i.po_no)),
    );
    expect(rep.counts["invoice-without-order-or-deal"]).toBe(loose.length);
  });

  it("renders a table, CSV and exceptions CSV", () => {
    const text = renderRevenue(rep);
    expect(text).toContain("bookings");
    expect(text).toMatch(/total\s+[\d,]+\.\d\d/);
    const csv = revenueCsv(rep).trim().split("\n");
    expect(csv[0]).toBe("period,bookings,bookedDeals,ordered,orders,invoiced,invoices,paid,payments");
    expect(csv).toHaveLength(rep.periods.length + 2);
    expect(revenueCsv(rep, "exceptions").trim().split("\n")).toHaveLength(rep.exceptions.length + 1);
  });

  it("rejects bad dates", () => {
    expect(() => revenueReport(opened.ctx, model, { from: "2026-13-01", to: "2026-12-31" })).toThrow(/not a date/);
    expect(() => revenueReport(opened.ctx, model, { from: "2026-12-31", to: "2026-01-01" })).toThrow(/after/);
  });
});

describe("duckdb export", () => {
  it("writes the unified model as tables that open with the expected row counts", async () => {
    const file = join(dir, "acme.duckdb");
    const rep = revenueReport(opened.ctx, model, { from: FROM, to: TO, by: "quarter" });
    const written = await exportDuckDb(file, model, rep);
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(file);
    const conn = await db.connect();
    try {
      const count = async (t: string) => Number((await conn.runAndReadAll(`select count(*) as n from ${t}`)).getRowObjects()[0].n);
      const want = {
        deals: (await crmDump("Opportunity")).length,
        orders: (await erpDump("Sales Order")).length,
        invoices: (await erpDump("Sales Invoice")).length,
        payments: (await erpDump("Payment Entry")).filter((p) => p.payment_type === "Receive").length,
        customers: model.customers.length,
        deal_lines: model.dealLines.length,
        links: model.links.length,
        revenue_periods: rep.periods.length,
        revenue_exceptions: rep.exceptions.length,
      };
      for (const [t, n] of Object.entries(want)) {
        expect(await count(t), t).toBe(n);
        expect(written[t], t).toBe(n);
      }
      expect(want.customers).toBeGreaterThanOrEqual((await crmDump("Account")).length);
      // BI-style query: bookings by quarter from the deals table equal the report's
      const rows = (
        await conn.runAndReadAll(
          "select year(close_date) || '-Q' || quarter(close_date) as p, round(sum(amount), 2) as s from deals where won and close_date between DATE '2000-01-01' and DATE '2030-12-31' group by 1 order by 1",
        )
      ).getRowObjects();
      for (const r of rows) expect(rep.periods.find((p) => p.period === r.p)?.bookings).toBeCloseTo(Number(r.s), 2);
      const d = (await conn.runAndReadAll(`select order_id, amount from deals where id = '${ids.D}'`)).getRowObjects()[0];
      expect(d).toEqual({ order_id: "SAL-ORD-RV-D", amount: 1000 });
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }, 60_000);
});

describe("accord report revenue (CLI)", () => {
  let storeEnv: Record<string, string> = { DATABASE_URL: "" };
  beforeAll(async () => {
    storeEnv = (await testStoreTarget(join(dir, "accord.db"))).env;
  });
  const run = async (args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", join(ROOT, "src/cli/main.ts"), ...args],
        {
          env: { ...process.env, ...env(), ACCORD_HOME: dir, ...storeEnv },
          cwd: dir,
        },
      );
      return { code: 0, stdout };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it("prints the table (exit 4: exceptions), JSON, CSV and the DuckDB summary", async () => {
    const t = await run([
      "report",
      "revenue",
      EXAMPLE,
      "--from",
      "2026-07-01",
      "--to",
      "2026-07-31",
      "--by",
      "day",
      "--duckdb",
      join(dir, "cli.duckdb"),
    ]);
    expect(t.code, t.stderr).toBe(4);
    expect(t.stdout).toContain("2026-07-10");
    expect(t.stdout).toContain("stale-price");
    expect(t.stdout).toMatch(/DuckDB .*cli\.duckdb: customers \d+, deals \d+/);
    const j = await run(["report", "revenue", EXAMPLE, "--from", "2026-07-01", "--to", "2026-07-31", "--json"]);
    const rep = JSON.parse(j.stdout) as RevenueReport;
    expect(rep.totals).toEqual((await expected("2026-07-01", "2026-07-31")).totals);
    const c = await run(["report", "revenue", EXAMPLE, "--from", "2026-07-01", "--to", "2026-07-31", "--csv", join(dir, "r.csv")]);
    expect(c.code).toBe(4);
    expect(readFileSync(join(dir, "r.csv"), "utf8").split("\n")[0]).toContain("period,bookings");
    const bad = await run(["report", "revenue", EXAMPLE, "--from", "2026-07-01", "--to", "2026-07-31", "--by", "week"]);
    expect(bad.code).toBe(1);
  }, 90_000);
});
