/**
 * Payments into the CRM and the customer 360's service cases and payment history, end to end over
 * HTTP: the real EspoCRM and ERPNext connectors against the emulated servers, the objects of
 * examples/espocrm-erpnext.yaml run by the engine (store: the test store; the CLI on its own SQLite file).
 *
 *  - a payment recorded in the ERP (Payment Entry made from the invoice, with its mode and reference,
 *    submitted) reaches the CRM: the deal's amount paid (dealInvoices) and the account's amount paid
 *    (accountPayments, the customer's payments summed); a second payment adds up; another customer's
 *    payment does not count;
 *  - the customer 360 (function and `accord customer --json`) lists the customer's cases (open /
 *    closed, status, priority, subject, created) and its payments (date, amount, mode, reference,
 *    the invoice settled) — never another account's case or another customer's payment;
 *  - the console: GET /api/integrations/:i/customers/:id (real HTTP) carries the same sections, and the
 *    customer page shows them in Chromium as text (a case subject with markup stays text, no dialog).
 *    Chromium missing: that one test is skipped (fails when CI=true), as test/web/browser.test.ts.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import type { Customer360 } from "../../src/flows/customer360.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { createServer } from "../../src/server/index.ts";
import { addConsoleUser } from "../../src/server/users.ts";
import { testStoreOptions } from "../support/store.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const EXAMPLE = join(ROOT, "examples/espocrm-erpnext.yaml");
type Rec = Record<string, unknown>;

let sb: Sandboxes;
let opened: OpenedContext;
let dir: string;
const A = "Payer One GmbH";
const B = "Other Payer AG";
const acc: Record<string, string> = {};
const deal: Record<string, string> = {};
const invoice: Record<string, string> = {};
const caseIds: Record<string, string> = {};
const payments: Record<string, string> = {};
const MARKUP = "Question about <b>payment</b> terms <img src=x onerror=alert(1)>";
const PASSWORD = "a long enough passphrase";
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM && (process.env.CI === "true" || process.env.CI === "1")) throw new Error(`Chromium not found at ${CHROMIUM}`);

async function crm(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.crm.apiUrl}/${path}`, {
    method,
    headers: { "X-Api-Key": sb.crm.apiKey, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`CRM ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
const erpHeaders = () => ({ Authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}`, "Content-Type": "application/json" });
async function erp(method: string, path: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${sb.erp.url}/api/${path}`, {
    method,
    headers: erpHeaders(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`ERP ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function erpControl(path: string, body: unknown): Promise<Rec> {
  const res = await fetch(`${sb.erp.url}/__sandbox/${path}`, { method: "POST", headers: erpHeaders(), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`ERP control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
const env = () => ({
  ESPOCRM_URL: sb.crm.url,
  ESPOCRM_API_KEY: sb.crm.apiKey,
  ERPNEXT_URL: sb.erp.url,
  ERPNEXT_API_KEY: sb.erp.apiKey,
  ERPNEXT_API_SECRET: sb.erp.apiSecret,
});
const sync = (objects: string[]) => runSync(opened.ctx, { objects, detectDeletes: false });
const PAY_OBJECTS = ["dealInvoices", "accountInvoices", "accountPayments"];

/** A closed-won deal → its sales order (synced), submitted, invoiced in full, the invoice submitted. */
async function invoicedDeal(key: string, accountId: string, qty: number, rate: number): Promise<void> {
  const d = await crm("POST", "Opportunity", {
    name: `Pay deal ${key}`,
    accountId,
    stage: "Closed Won",
    closeDate: "2026-11-02",
    amount: qty * rate,
    amountCurrency: "EUR",
    itemList: [{ productId: acc.product, name: "Pay item", quantity: qty, listPrice: rate, discount: 0, unitPrice: rate }],
  });
  deal[key] = String(d.id);
  await sync(["salesOrder"]);
  const so = String((await crm("GET", `Opportunity/${deal[key]}`)).cErpOrderName);
  expect(so, `order of deal ${key}`).toMatch(/^SAL-ORD-/);
  await erp("POST", `resource/Sales Order/${encodeURIComponent(so)}`, { run_method: "submit" });
  const made = (await erp("POST", "method/erpnext.selling.doctype.sales_order.sales_order.make_sales_invoice", { source_name: so }))
    .message as Rec;
  const inv = (await erp("POST", "resource/Sales Invoice", made)).data as Rec;
  await erp("POST", `resource/Sales Invoice/${encodeURIComponent(String(inv.name))}`, { run_method: "submit" });
  invoice[key] = String(inv.name);
}

/** A payment recorded as a person does in ERPNext: Payment Entry made from the invoice, mode and reference set, submitted. */
async function pay(inv: string, amount: number, mode: string, reference: string, date: string): Promise<string> {
  const pe = (
    await erp("POST", "method/erpnext.accounts.doctype.payment_entry.payment_entry.get_payment_entry", {
      dt: "Sales Invoice",
      dn: inv,
      party_amount: amount,
    })
  ).message as Rec;
  Object.assign(pe, { mode_of_payment: mode, reference_no: reference, reference_date: date, posting_date: date });
  const saved = (await erp("POST", "resource/Payment Entry", pe)).data as Rec;
  const name = String(saved.name);
  await erp("POST", `resource/Payment Entry/${encodeURIComponent(name)}`, { run_method: "submit" });
  return name;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "accord-payments-"));
  sb = await startSandboxes({ accounts: 0, scope: "accounts", webhookDelayMs: 0 });
  await erpControl("seed", {
    Customer: [A, B].map((n) => ({ name: n, customer_name: n, customer_type: "Company" })),
    Item: [{ name: "PAY-ITEM", item_code: "PAY-ITEM", item_name: "Pay item", item_group: "Products", stock_uom: "Nos", is_stock_item: 0 }],
  });
  await erpControl("events", { kind: "price-changed", item: "PAY-ITEM", rate: 100 });
  acc.A = String((await crm("POST", "Account", { name: A, cAccordId: A })).id);
  acc.B = String((await crm("POST", "Account", { name: B, cAccordId: B })).id);
  acc.product = String((await crm("POST", "Product", { name: "Pay item", cErpItemCode: "PAY-ITEM" })).id);

  opened = await openContextFromFile(EXAMPLE, { env: env(), store: await testStoreOptions() });
  await sync(["customer", "product", "price"]);
  await invoicedDeal("A", acc.A, 4, 100); // 400
  await invoicedDeal("B", acc.B, 2, 100); // 200

  // service cases: two of A (one open, one closed), one of B
  const mk = async (key: string, body: Rec) => {
    caseIds[key] = String((await crm("POST", "Case", body)).id);
  };
  await mk("A-open", { name: "Delivery delayed", accountId: acc.A, status: "Assigned", priority: "High", type: "Incident" });
  await mk("A-closed", { name: MARKUP, accountId: acc.A, status: "Closed", priority: "Low", type: "Question" });
  await mk("B-open", { name: "Wrong item shipped", accountId: acc.B, status: "New", priority: "Urgent", type: "Problem" });
}, 90_000);

afterAll(async () => {
  await opened?.close();
  await sb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("payments reach the CRM", () => {
  it("a payment recorded in the ERP shows as the amount paid on the CRM deal and account; a second adds up; another customer's does not count", async () => {
    await sync(PAY_OBJECTS);
    let d = await crm("GET", `Opportunity/${deal.A}`);
    expect(d.cAmountPaid).toBe(0);
    expect(d.cInvoiceStatus).toBe("Unpaid");
    let a = await crm("GET", `Account/${acc.A}`);
    expect(a.cAmountPaid ?? null).toBeNull(); // no payment yet: no group, nothing written

    payments.A1 = await pay(invoice.A, 150, "Wire Transfer", "TRX-0001", "2026-11-10");
    payments.B1 = await pay(invoice.B, 200, "Cheque", "CHQ-77", "2026-11-11");
    await sync(PAY_OBJECTS);
    d = await crm("GET", `Opportunity/${deal.A}`);
    expect(d.cAmountPaid).toBe(150);
    expect(d.cOutstanding).toBe(250);
    expect(d.cInvoiceStatus).toBe("Partly Paid");
    a = await crm("GET", `Account/${acc.A}`);
    expect(a.cAmountPaid).toBe(150);
    expect(a.cLastPaymentDate).toBe("2026-11-10"); // max posting_date of the group
    expect((await crm("GET", `Account/${acc.B}`)).cAmountPaid).toBe(200);
    expect((await crm("GET", `Account/${acc.B}`)).cLastPaymentDate).toBe("2026-11-11");
    expect((await crm("GET", `Opportunity/${deal.B}`)).cAmountPaid).toBe(200);

    payments.A2 = await pay(invoice.A, 250, "Credit Card", "CC-4242", "2026-11-20");
    await sync(PAY_OBJECTS);
    d = await crm("GET", `Opportunity/${deal.A}`);
    expect(d.cAmountPaid).toBe(400);
    expect(d.cInvoiceStatus).toBe("Paid");
    a = await crm("GET", `Account/${acc.A}`);
    expect(a.cAmountPaid).toBe(400);
    expect(a.cLastPaymentDate).toBe("2026-11-20"); // the later payment moves the date
    expect(a.cOutstanding).toBe(0);
    expect((await crm("GET", `Account/${acc.B}`)).cAmountPaid).toBe(200);
    expect((await crm("GET", `Account/${acc.B}`)).cLastPaymentDate).toBe("2026-11-11");
  }, 90_000);
});

function checkView(view: Customer360): void {
  expect(view.crm.id).toBe(acc.A);
  expect(view.erp.id).toBe(A);
  // cases: A's two, open first; B's never
  expect(view.cases?.entity).toBe("Case");
  expect(view.cases?.items.map((c) => c.id)).toEqual([caseIds["A-open"], caseIds["A-closed"]]);
  expect(view.cases?.open).toBe(1);
  expect(view.cases?.closed).toBe(1);
  expect(view.cases?.items[0]).toMatchObject({
    subject: "Delivery delayed",
    status: "Assigned",
    open: true,
    priority: "High",
    type: "Incident",
  });
  expect(view.cases?.items[1]).toMatchObject({ subject: MARKUP, status: "Closed", open: false, priority: "Low" });
  expect(view.cases?.items[0].created).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  expect(view.cases?.items.some((c) => c.id === caseIds["B-open"])).toBe(false);
  // payments: A's two, newest first, with the invoice each settles; B's never
  expect(view.payments?.entity).toBe("Payment Entry");
  expect(view.payments?.items).toEqual([
    {
      id: payments.A2,
      date: "2026-11-20",
      amount: 250,
      mode: "Credit Card",
      reference: "CC-4242",
      invoices: [invoice.A],
      state: "submitted",
    },
    {
      id: payments.A1,
      date: "2026-11-10",
      amount: 150,
      mode: "Wire Transfer",
      reference: "TRX-0001",
      invoices: [invoice.A],
      state: "submitted",
    },
  ]);
  expect(view.payments?.total).toBe(400);
  // the deal shows what the invoice objects keep on it: status, outstanding, amount paid
  expect(view.related.find((r) => r.object === "salesOrder")?.records.find((r) => r.crmId === deal.A)?.values).toMatchObject({
    cInvoiceStatus: "Paid",
    cOutstanding: 0,
    cAmountPaid: 400,
  });
  // the account's synced payment total shows as a section kept on the record
  expect(view.related.find((r) => r.object === "accountPayments")?.records[0].values).toMatchObject({ cAmountPaid: 400 });
}

describe("customer 360: service cases and payment history", () => {
  it("lists the customer's cases and payments with their values, and nothing of another account", async () => {
    const { customer360, renderCustomer360 } = await import("../../src/flows/customer360.ts");
    const view = await customer360(opened.ctx, A);
    checkView(view);
    const text = renderCustomer360(view);
    expect(text).toContain("service cases (Case: 1 open, 1 closed)");
    expect(text).toContain("Delivery delayed");
    expect(text).not.toContain("Wrong item shipped");
    expect(text).toMatch(/2026-11-20\s+250\.00\s+Credit Card\s+ref CC-4242\s+settles ACC-SINV-/);
    // the other customer sees only its own
    const other = await customer360(opened.ctx, acc.B);
    expect(other.cases?.items.map((c) => c.id)).toEqual([caseIds["B-open"]]);
    expect(other.payments?.items.map((p) => p.id)).toEqual([payments.B1]);
  }, 30_000);

  it("a case read that fails is a note on the view, the payments and the rest still show", async () => {
    const { customer360 } = await import("../../src/flows/customer360.ts");
    const base = opened.ctx.crm;
    const crmNoCases: typeof base = Object.assign(Object.create(base) as typeof base, {
      findByField: async (entity: string, field: string, value: string | number) => {
        if (entity === "Case") throw new Error("403 Forbidden: no access to Case");
        return base.findByField(entity, field, value);
      },
    });
    const view = await customer360({ ...opened.ctx, crm: crmNoCases }, A);
    expect(view.cases).toBeNull();
    expect(view.activityNotes.cases).toMatch(/could not read Case records: 403 Forbidden/);
    expect(view.payments?.items).toHaveLength(2);
    expect(view.activityNotes.payments).toBeNull();
  }, 30_000);

  it("accord customer --json carries the same cases and payments (CLI, its own store)", async () => {
    const run = promisify(execFile);
    const opts = { cwd: ROOT, env: { ...process.env, ...env(), ACCORD_HOME: dir, DATABASE_URL: "" }, timeout: 90_000 };
    await run(join(ROOT, "accord"), ["sync", EXAMPLE, "-o", "customer", "accountPayments", "--no-deletes", "--json"], opts);
    const { stdout } = await run(join(ROOT, "accord"), ["customer", A, "-f", EXAMPLE, "--json"], opts);
    const view = JSON.parse(stdout) as Customer360 & { ok: boolean };
    expect(view.ok).toBe(true);
    checkView(view);
  }, 120_000);
});

describe("customer 360 in the console", () => {
  let app: Awaited<ReturnType<typeof createServer>> | undefined;
  let url = "";
  let cookie = "";
  beforeAll(async () => {
    const { ctx } = opened;
    await addConsoleUser(ctx.store, "vic", "viewer", PASSWORD);
    app = await createServer({ store: ctx.store, specs: [ctx.spec], systems: { [ctx.spec.name]: { crm: ctx.crm, erp: ctx.erp } } });
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const res = await fetch(`${url}/api/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "vic", password: PASSWORD }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
  }, 30_000);
  afterAll(async () => {
    await app?.close();
  });

  it("GET /api/integrations/:i/customers/:id carries the customer's cases and payments (real HTTP)", async () => {
    const res = await fetch(`${url}/api/integrations/${encodeURIComponent(opened.ctx.spec.name)}/customers/${encodeURIComponent(acc.A)}`, {
      headers: { cookie },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as Rec & Pick<Customer360, "cases" | "payments">;
    const fn = await (await import("../../src/flows/customer360.ts")).customer360(opened.ctx, acc.A);
    expect(body.cases).toEqual(fn.cases);
    expect(body.payments).toEqual(fn.payments);
    expect(body.cases?.items.map((c) => c.id)).toEqual([caseIds["A-open"], caseIds["A-closed"]]);
    expect(body.payments?.items.map((p) => [p.id, p.amount, p.mode, p.reference, p.invoices])).toEqual([
      [payments.A2, 250, "Credit Card", "CC-4242", [invoice.A]],
      [payments.A1, 150, "Wire Transfer", "TRX-0001", [invoice.A]],
    ]);
    expect(body.activityNotes).toEqual({ cases: null, payments: null });
  }, 30_000);

  it.skipIf(!HAVE_CHROMIUM)(
    "the customer page lists the cases and payments as text",
    async () => {
      const { chromium } = await import("playwright-core");
      const profile = mkdtempSync(join(tmpdir(), "accord-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        page.setDefaultTimeout(15_000);
        const dialogs: string[] = [];
        page.on("dialog", (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        await page.goto(url);
        await page.locator("#login-name").fill("vic");
        await page.locator("#login-password").fill(PASSWORD);
        await page.locator("#login-submit").click();
        await page.locator("#whoami").getByText("vic").waitFor();
        await page.goto(`${url}/#/customers/${encodeURIComponent(acc.A)}?object=customer`);
        const cases = page.locator("[data-testid=customer-cases]");
        await cases.waitFor();
        expect(await page.locator("[data-section=cases] h2").textContent()).toBe("Service cases (1 open, 1 closed)");
        expect(await cases.locator("tbody tr").count()).toBe(2);
        const open = cases.locator(`tr[data-case="${caseIds["A-open"]}"] td`);
        expect(await open.allTextContents()).toEqual(expect.arrayContaining(["Delivery delayed", "open", "Assigned", "High", "Incident"]));
        const closed = cases.locator(`tr[data-case="${caseIds["A-closed"]}"] td`);
        expect(await closed.nth(1).textContent()).toBe(MARKUP); // markup in data stays text
        expect(await page.locator("[data-section=cases] img, [data-section=cases] b").count()).toBe(0);
        expect(await cases.locator(`tr[data-case="${caseIds["B-open"]}"]`).count()).toBe(0);
        const pays = page.locator("[data-testid=customer-payments]");
        expect(await pays.locator("tbody tr").count()).toBe(2);
        const first = await pays.locator(`tr[data-payment="${payments.A2}"] td`).allTextContents();
        expect(first[0]).toBe("2026-11-20");
        expect(first[2]).toBe("Credit Card");
        expect(first[3]).toBe("CC-4242");
        expect(first[4]).toBe(invoice.A);
        expect(first[1]?.replace(/[^\d]/g, "")).toBe("25000");
        expect(await pays.locator(`tr[data-payment="${payments.B1}"]`).count()).toBe(0);
        await page.waitForTimeout(200);
        expect(dialogs).toEqual([]);
      } finally {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe("an emptied aggregate group (no rows left) goes back to 0", () => {
  const paymentsRun = async (detectDeletes: boolean) => {
    const r = await runSync(opened.ctx, { objects: ["accountPayments"], detectDeletes, verbose: true });
    const o = r.objects[0];
    const c = o.counts;
    expect(c.read, "invariant 1").toBe(c.applied + c.unchanged + c.held + c.quarantined);
    return o;
  };
  const historyOfB = async () =>
    (await opened.ctx.store.history(opened.ctx.spec.name, "accountPayments", acc.B)).filter((h) => /emptied/.test(h.rule));

  it("cancelling a customer's only payment brings its account's amount paid back to 0 and clears its last payment date", async () => {
    expect((await crm("GET", `Account/${acc.B}`)).cAmountPaid).toBe(200);
    await erp("POST", `resource/Payment Entry/${encodeURIComponent(payments.B1)}`, { run_method: "cancel" });
    const pe = (await erp("GET", `resource/Payment Entry/${encodeURIComponent(payments.B1)}`)).data as Rec;
    expect(pe.docstatus).toBe(2);
    await sync(["dealInvoices", "accountInvoices"]);
    // incremental read: the cancelled row is read as changed, leaves the filter, empties B's known group
    const run = await paymentsRun(false);
    expect(run.counts.applied).toBe(1);
    expect((await crm("GET", `Opportunity/${deal.B}`)).cAmountPaid).toBe(0); // per deal: from the invoice
    const b = await crm("GET", `Account/${acc.B}`);
    expect(b.cAmountPaid).toBe(0);
    expect(b.cLastPaymentDate ?? null).toBeNull();
    // logged in the account's history with the reason
    const h = await historyOfB();
    expect(h.map((x) => [x.field, x.before, x.after])).toEqual(
      expect.arrayContaining([
        ["cAmountPaid", 200, 0],
        ["cLastPaymentDate", "2026-11-11", null],
      ]),
    );
    expect(h[0].rule).toMatch(/group Other Payer AG of Payment Entry emptied: no rows left \(deleted, cancelled or outside the filter\)/);
    // A is untouched; no echo: the next run writes nothing
    expect((await crm("GET", `Account/${acc.A}`)).cAmountPaid).toBe(400);
    const again = await paymentsRun(true);
    expect(again.counts.applied).toBe(0);
    expect(await historyOfB()).toHaveLength(h.length);
  }, 30_000);

  it("payments cancelled and deleted between two syncs (never read as a change) are found by the deletion sweep", async () => {
    // (customer A: B's pair was written twice already; a third and fourth write within the bounce
    // window — sync.bounce: 3 per 10m — would be held as a possible ping-pong)
    let a = await crm("GET", `Account/${acc.A}`);
    expect(a.cAmountPaid).toBe(400);
    for (const p of [payments.A1, payments.A2]) {
      await erp("POST", `resource/Payment Entry/${encodeURIComponent(p)}`, { run_method: "cancel" });
      const del = await fetch(`${sb.erp.url}/api/resource/Payment Entry/${encodeURIComponent(p)}`, { method: "DELETE", headers: erpHeaders() });
      expect(del.ok, `delete ${p}`).toBe(true);
    }
    // a change read cannot see a deleted row: without the sweep A keeps 400
    await paymentsRun(false);
    expect((await crm("GET", `Account/${acc.A}`)).cAmountPaid).toBe(400);
    // the sweep lists the groups that have rows; A's linked group is not among them → emptied
    const swept = await paymentsRun(true);
    expect(swept.counts.applied).toBe(1);
    expect(swept.deletions).toBe(0); // an emptied group is not a deleted record: the link stays
    a = await crm("GET", `Account/${acc.A}`);
    expect(a.cAmountPaid).toBe(0);
    expect(a.cLastPaymentDate ?? null).toBeNull();
    const h = (await opened.ctx.store.history(opened.ctx.spec.name, "accountPayments", acc.A)).filter((x) => /emptied/.test(x.rule));
    expect(h.map((x) => [x.field, x.before, x.after])).toEqual(
      expect.arrayContaining([
        ["cAmountPaid", 400, 0],
        ["cLastPaymentDate", "2026-11-20", null],
      ]),
    );
    // the next sweep does not read it again (the base already holds 0 and no date), nor writes anything
    const next = await paymentsRun(true);
    expect(next.counts.applied).toBe(0);
    expect(next.records.filter((r) => r.side === "erp" && r.recordId === A)).toEqual([]);
    const link = await opened.ctx.store.getLink(opened.ctx.spec.name, "accountPayments", { erpId: A });
    expect(link?.status).toBe("active");
  }, 30_000);
});
