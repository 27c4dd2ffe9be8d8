/**
 * Revenue reconciliation: bookings (sales) against ordered, invoiced and paid (finance), per period,
 * with the exceptions that break the bridge between them. Everything it reads is named by the
 * integration file's `reports.revenue` section and the objects it points at — never by knowledge of
 * a particular system:
 *
 *  - deals: the CRM records of `deals.object` (its entity and filter); booked = matches `deals.won`
 *    (default the object's trigger), by `deals.date`, for `deals.amount`;
 *  - orders: the ERP records of the same object, counted in `orders.states` by `orders.date`;
 *    a deal and its order(s) are paired by the object's store links, by the deal's identity field
 *    holding the order's identity, and by the order field holding the deal id (`orders.deal`);
 *  - invoices / payments: `invoices.entity` / `payments.entity`, counted in their states by their
 *    posting dates; `paid` is the payments' amounts by the payments' own dates (not the invoices'
 *    paid amounts), so a payment counts in the period the money came in;
 *  - prices: the CRM product's identity → the ERP price records of `prices.object`, the one in effect
 *    at the deal's close date (validFrom / validUpto) when the file names them, else the current one.
 *
 * Reads are whole-entity reads through the connectors (`readChanges` from the beginning), so the
 * unified model also feeds `exportDuckDb` (customers, deals, deal lines, orders, invoices, payments,
 * links, plus the report's periods and exceptions) for BI tools.
 */
import jsonata from "jsonata";
import { fieldRoot, isFieldPath } from "../connectors/field-path.ts";
import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import { readValue } from "../engine/paths.ts";
import type { EngineContext } from "../engine/types.ts";
import { SpecError, ValidationRejected } from "../errors.ts";
import type { DocState, ObjectSpec, RecordCondition, RevenueReportSpec } from "../spec/model.ts";

export type Granularity = "day" | "month" | "quarter";

export interface CustomerRow {
  crmId: string | null;
  erpId: string | null;
  name: string | null;
  sharedId: string | null;
}
export interface DealRow {
  id: string;
  customerId: string | null;
  amount: number;
  date: string | null;
  won: boolean;
  /** ERP ids of the orders paired with the deal (any state). */
  orderIds: string[];
}
export interface DealLineRow {
  dealId: string;
  line: number;
  productId: string | null;
  /** The product's identity value in the ERP (through the prices object), when known. */
  erpProduct: string | null;
  quantity: number | null;
  listPrice: number | null;
  unitPrice: number | null;
  /** The ERP price in effect at the deal's date; null when none is known. */
  erpPrice: number | null;
}
export interface OrderRow {
  id: string;
  customerId: string | null;
  date: string | null;
  total: number;
  state: string | null;
  counted: boolean;
  dealId: string | null;
}
export interface InvoiceRow {
  id: string;
  customerId: string | null;
  date: string | null;
  amount: number;
  outstanding: number | null;
  state: string | null;
  counted: boolean;
  orderIds: string[];
  dealId: string | null;
}
export interface PaymentRow {
  id: string;
  customerId: string | null;
  date: string | null;
  amount: number;
  state: string | null;
  counted: boolean;
  invoiceIds: string[];
}
export interface LinkRow {
  object: string;
  crmId: string | null;
  erpId: string | null;
  sharedId: string | null;
  status: string;
}

/** Both systems' revenue-relevant records, joined: what the report is computed from and what --duckdb exports. */
export interface RevenueModel {
  customers: CustomerRow[];
  deals: DealRow[];
  dealLines: DealLineRow[];
  orders: OrderRow[];
  invoices: InvoiceRow[];
  payments: PaymentRow[];
  links: LinkRow[];
}

export interface PeriodRow {
  period: string;
  bookings: number;
  bookedDeals: number;
  ordered: number;
  orders: number;
  invoiced: number;
  invoices: number;
  paid: number;
  payments: number;
}

export type ExceptionKind = "deal-without-order" | "order-amount-mismatch" | "invoice-without-order-or-deal" | "stale-price";

export interface RevenueException {
  kind: ExceptionKind;
  /** The record concerned: a CRM deal id, or an ERP invoice id. */
  record: string;
  date: string | null;
  /** The amount concerned (deal amount, order total, invoice amount, line unit price). */
  amount: number | null;
  /** The figure it was compared with (order total, deal amount, ERP price), where there is one. */
  expected: number | null;
  detail: string;
}

export interface RevenueReport {
  integration: string;
  from: string;
  to: string;
  by: Granularity;
  /** How each figure is counted (which states, which dates). */
  basis: { bookings: string; ordered: string; invoiced: string; paid: string };
  periods: PeriodRow[];
  totals: Omit<PeriodRow, "period">;
  exceptions: RevenueException[];
  counts: Record<ExceptionKind, number>;
}

// ---------------------------------------------------------------- reading values

const round2 = (n: number) => Math.round(n * 100) / 100;

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

function str(v: unknown): string | null {
  if (v === null || v === undefined || v === "") return null;
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
}

/** `table.column` (not a `[…]` path): the column over every row of a table. */
function rowsColumn(name: string): { table: string; column: string } | undefined {
  if (isFieldPath(name)) return undefined;
  const i = name.indexOf(".");
  return i > 0 ? { table: name.slice(0, i), column: name.slice(i + 1) } : undefined;
}

/** One value of a record: a plain field, a path `table[column=value].field`, or the first of `table.column`. */
function fieldValue(rec: RemoteRecord, name: string): unknown {
  const rc = rowsColumn(name);
  if (rc) return valuesOf(rec, name)[0] ?? null;
  if (isFieldPath(name)) return readValue(rec.values, name).value;
  return rec.values[name];
}

/** Every distinct non-empty value a reference field holds (`table.column` gives one per row). */
function valuesOf(rec: RemoteRecord, name: string): string[] {
  const rc = rowsColumn(name);
  if (!rc) {
    const v = str(isFieldPath(name) ? readValue(rec.values, name).value : rec.values[name]);
    return v === null ? [] : [v];
  }
  const rows = rec.values[rc.table];
  if (!Array.isArray(rows)) return [];
  const out = new Set<string>();
  for (const r of rows) {
    const v = r && typeof r === "object" ? str((r as Record<string, unknown>)[rc.column]) : null;
    if (v !== null) out.add(v);
  }
  return [...out];
}

/** The top-level field a report field reads (the table of a path or of `table.column`). */
function rootOf(name: string): string {
  return rowsColumn(name)?.table ?? fieldRoot(name);
}

const day = (v: unknown): string | null => {
  const s = str(v);
  return s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : null;
};

async function readAll(conn: Connector, entity: string, fields: Array<string | undefined>, filter?: FilterExpr[]): Promise<RemoteRecord[]> {
  const wanted = [...new Set(fields.filter((f): f is string => Boolean(f)).map(rootOf))];
  const byId = new Map<string, RemoteRecord>();
  for await (const page of conn.readChanges(entity, { fields: wanted, ...(filter?.length ? { filter } : {}) })) {
    for (const r of page.records) byId.set(r.id, r);
  }
  return [...byId.values()];
}

async function matchesCondition(rec: RemoteRecord, cond: RecordCondition | undefined): Promise<boolean> {
  if (!cond) return true;
  for (const e of cond.equals) {
    const v = e.field === "$state" ? (rec.state ?? null) : fieldValue(rec, e.field);
    if (!e.values.some((w) => w === v || (w !== null && v !== null && v !== undefined && String(w) === String(v)))) return false;
  }
  if (cond.expr) {
    const out = await jsonata(cond.expr).evaluate(rec.values, { state: rec.state ?? null, id: rec.id });
    if (!out) return false;
  }
  return true;
}

const counted = (rec: RemoteRecord, states: DocState[]) => rec.state === undefined || states.includes(rec.state as DocState);

function conditionFields(cond: RecordCondition | undefined): string[] {
  return cond ? cond.equals.map((e) => e.field).filter((f) => f !== "$state") : [];
}

// ---------------------------------------------------------------- the unified model

function reportSpecOf(ctx: EngineContext): { r: RevenueReportSpec; deals: ObjectSpec; prices?: ObjectSpec; customers?: ObjectSpec } {
  const { spec } = ctx;
  const r = spec.reports?.revenue;
  const file = spec.source?.file ?? spec.name;
  if (!r) {
    throw new SpecError(`${file}: no \`reports.revenue\` section — the report does not know where deals, orders and invoices are.`, [
      {
        file,
        line: 0,
        column: 0,
        path: "reports.revenue",
        message: "missing `reports.revenue`",
        expected:
          "a reports: { revenue: { deals: { object, amount, date }, orders: { total, date }, … } } section (see examples/espocrm-erpnext.yaml)",
      },
    ]);
  }
  const find = (name: string | undefined) => (name ? spec.objects.find((o) => o.name === name) : undefined);
  const deals = find(r.deals.object);
  if (!deals)
    throw new ValidationRejected(`reports.revenue.deals.object \`${r.deals.object}\` is not an object of ${file}`, {
      hint: "name an object of the file",
    });
  return { r, deals, prices: find(r.prices?.object), customers: find(r.customers) };
}

/** Read both systems (and the store's links) into the unified model. */
export async function loadRevenueModel(ctx: EngineContext): Promise<RevenueModel> {
  const { r, deals: dObj, prices: pObj, customers: cObj } = reportSpecOf(ctx);
  const { store, spec } = ctx;

  // links of every object the report touches (deals ↔ orders pairing; exported)
  const links: LinkRow[] = [];
  for (const o of spec.objects) {
    let afterId: number | undefined;
    for (;;) {
      const page = await store.listLinks(spec.name, o.name, { ...(afterId !== undefined ? { afterId } : {}), limit: 1000 });
      for (const l of page) links.push({ object: o.name, crmId: l.crmId, erpId: l.erpId, sharedId: l.sharedId, status: l.status });
      if (page.length < 1000) break;
      afterId = page[page.length - 1].id;
    }
  }

  // deals (CRM) and orders (ERP)
  const lines = r.deals.lines;
  const dealRecs = await readAll(
    ctx.crm,
    dObj.crm.entity,
    [r.deals.amount, r.deals.date, r.deals.customer, dObj.crm.identity, lines?.table, ...conditionFields(r.deals.won)],
    dObj.crm.filter as FilterExpr[] | undefined,
  );
  const orderRecs = await readAll(
    ctx.erp,
    dObj.erp.entity,
    [r.orders.total, r.orders.date, r.orders.deal, r.orders.customer, dObj.erp.identity],
    dObj.erp.filter as FilterExpr[] | undefined,
  );
  const dealIds = new Set(dealRecs.map((d) => d.id));
  const orderByIdentity = new Map<string, RemoteRecord>();
  for (const o of orderRecs) orderByIdentity.set(str(fieldValue(o, dObj.erp.identity)) ?? o.id, o);
  const pairs = new Map<string, Set<string>>(); // deal id → order ids
  const pair = (dealId: string, orderId: string) => {
    if (!dealIds.has(dealId)) return;
    let s = pairs.get(dealId);
    if (!s) pairs.set(dealId, (s = new Set()));
    s.add(orderId);
  };
  const orderIds = new Set(orderRecs.map((o) => o.id));
  for (const l of links)
    if (l.object === dObj.name && l.crmId && l.erpId && orderIds.has(l.erpId) && l.status === "active") pair(l.crmId, l.erpId);
  if (dObj.crm.identity !== "id") {
    for (const d of dealRecs) {
      const key = str(fieldValue(d, dObj.crm.identity));
      const o = key ? orderByIdentity.get(key) : undefined;
      if (o) pair(d.id, o.id);
    }
  }
  const orderDeal = new Map<string, string>();
  for (const o of orderRecs) {
    const dealId = r.orders.deal ? str(fieldValue(o, r.orders.deal)) : null;
    if (dealId && dealIds.has(dealId)) pair(dealId, o.id);
  }
  for (const [d, os] of pairs) for (const o of os) orderDeal.set(o, d);

  // prices: CRM product id → its identity; ERP price records by identity
  const priceRows = new Map<string, Array<{ rate: number; from: string | null; upto: string | null }>>();
  const productKey = new Map<string, string>();
  if (r.prices && pObj && lines) {
    for (const p of await readAll(ctx.crm, pObj.crm.entity, [pObj.crm.identity], pObj.crm.filter as FilterExpr[] | undefined)) {
      const k = str(fieldValue(p, pObj.crm.identity));
      if (k) productKey.set(p.id, k);
    }
    for (const p of await readAll(
      ctx.erp,
      pObj.erp.entity,
      [pObj.erp.identity, r.prices.rate, r.prices.validFrom, r.prices.validUpto],
      pObj.erp.filter as FilterExpr[] | undefined,
    )) {
      const k = str(fieldValue(p, pObj.erp.identity));
      const rate = num(fieldValue(p, r.prices.rate));
      if (!k || rate === null) continue;
      const list = priceRows.get(k) ?? [];
      list.push({
        rate,
        from: r.prices.validFrom ? day(fieldValue(p, r.prices.validFrom)) : null,
        upto: r.prices.validUpto ? day(fieldValue(p, r.prices.validUpto)) : null,
      });
      priceRows.set(k, list);
    }
  }
  const priceAt = (key: string | null, date: string | null): number | null => {
    const list = key ? priceRows.get(key) : undefined;
    if (!list?.length) return null;
    const when = date ?? "9999-12-31";
    const valid = list.filter((p) => (!p.from || p.from <= when) && (!p.upto || p.upto >= when));
    if (!valid.length) return null;
    valid.sort((a, b) => (a.from ?? "").localeCompare(b.from ?? ""));
    return valid[valid.length - 1].rate;
  };

  const deals: DealRow[] = [];
  const dealLines: DealLineRow[] = [];
  for (const d of dealRecs) {
    const date = day(fieldValue(d, r.deals.date));
    deals.push({
      id: d.id,
      customerId: r.deals.customer ? str(fieldValue(d, r.deals.customer)) : null,
      amount: num(fieldValue(d, r.deals.amount)) ?? 0,
      date,
      won: await matchesCondition(d, r.deals.won),
      orderIds: [...(pairs.get(d.id) ?? [])],
    });
    if (!lines) continue;
    const rows = d.values[lines.table];
    if (!Array.isArray(rows)) continue;
    rows.forEach((row, i) => {
      if (!row || typeof row !== "object") return;
      const rw = row as Record<string, unknown>;
      const productId = str(rw[lines.product]);
      const erpProduct = productId ? (productKey.get(productId) ?? null) : null;
      dealLines.push({
        dealId: d.id,
        line: i + 1,
        productId,
        erpProduct,
        quantity: lines.quantity ? num(rw[lines.quantity]) : null,
        listPrice: lines.listPrice ? num(rw[lines.listPrice]) : null,
        unitPrice: num(rw[lines.unitPrice]),
        erpPrice: priceAt(erpProduct, date),
      });
    });
  }

  const orders: OrderRow[] = orderRecs.map((o) => ({
    id: o.id,
    customerId: r.orders.customer ? str(fieldValue(o, r.orders.customer)) : null,
    date: day(fieldValue(o, r.orders.date)),
    total: num(fieldValue(o, r.orders.total)) ?? 0,
    state: o.state ?? null,
    counted: counted(o, r.orders.states),
    dealId: orderDeal.get(o.id) ?? null,
  }));

  const invoices: InvoiceRow[] = [];
  if (r.invoices) {
    const inv = r.invoices;
    for (const i of await readAll(ctx.erp, inv.entity, [inv.amount, inv.date, inv.outstanding, inv.order, inv.deal, inv.customer])) {
      const refs = inv.order ? valuesOf(i, inv.order) : [];
      const dealRef = inv.deal ? str(fieldValue(i, inv.deal)) : null;
      const viaOrder = refs.map((o) => orderDeal.get(o)).find(Boolean) ?? null;
      invoices.push({
        id: i.id,
        customerId: inv.customer ? str(fieldValue(i, inv.customer)) : null,
        date: day(fieldValue(i, inv.date)),
        amount: num(fieldValue(i, inv.amount)) ?? 0,
        outstanding: inv.outstanding ? num(fieldValue(i, inv.outstanding)) : null,
        state: i.state ?? null,
        counted: counted(i, inv.states),
        orderIds: refs,
        dealId: dealRef && dealIds.has(dealRef) ? dealRef : viaOrder,
      });
    }
  }

  const payments: PaymentRow[] = [];
  if (r.payments) {
    const pay = r.payments;
    for (const p of await readAll(
      ctx.erp,
      pay.entity,
      [pay.amount, pay.date, pay.invoice, pay.customer],
      pay.filter as FilterExpr[] | undefined,
    )) {
      payments.push({
        id: p.id,
        customerId: pay.customer ? str(fieldValue(p, pay.customer)) : null,
        date: day(fieldValue(p, pay.date)),
        amount: num(fieldValue(p, pay.amount)) ?? 0,
        state: p.state ?? null,
        counted: counted(p, pay.states),
        invoiceIds: pay.invoice ? valuesOf(p, pay.invoice) : [],
      });
    }
  }

  // customers: both sides of the customer object, joined by its links (or by the shared identity)
  const customers: CustomerRow[] = [];
  if (cObj) {
    const nameMap = cObj.fields[0];
    const crmRecs = await readAll(ctx.crm, cObj.crm.entity, [cObj.crm.identity, nameMap?.crm], cObj.crm.filter as FilterExpr[] | undefined);
    const erpRecs = await readAll(ctx.erp, cObj.erp.entity, [cObj.erp.identity, nameMap?.erp], cObj.erp.filter as FilterExpr[] | undefined);
    const erpById = new Map(erpRecs.map((e) => [e.id, e]));
    const erpByIdentity = new Map(erpRecs.map((e) => [str(fieldValue(e, cObj.erp.identity)) ?? e.id, e]));
    const linkOf = new Map(links.filter((l) => l.object === cObj.name && l.crmId).map((l) => [l.crmId as string, l]));
    const used = new Set<string>();
    for (const c of crmRecs) {
      const l = linkOf.get(c.id);
      const e =
        (l?.erpId ? erpById.get(l.erpId) : undefined) ??
        (() => {
          const k = str(fieldValue(c, cObj.crm.identity));
          return k ? erpByIdentity.get(k) : undefined;
        })();
      if (e) used.add(e.id);
      customers.push({
        crmId: c.id,
        erpId: e?.id ?? null,
        name: nameMap ? str(fieldValue(c, nameMap.crm)) : null,
        sharedId: l?.sharedId ?? (e ? str(fieldValue(e, cObj.erp.identity)) : null),
      });
    }
    for (const e of erpRecs) {
      if (!used.has(e.id))
        customers.push({
          crmId: null,
          erpId: e.id,
          name: nameMap ? str(fieldValue(e, nameMap.erp)) : null,
          sharedId: str(fieldValue(e, cObj.erp.identity)),
        });
    }
  }

  return { customers, deals, dealLines, orders, invoices, payments, links };
}

// ---------------------------------------------------------------- the report

/** The period a date falls in: `2026-11-20` (day), `2026-11` (month), `2026-Q4` (quarter). */
export function periodOf(date: string, by: Granularity): string {
  if (by === "day") return date.slice(0, 10);
  if (by === "month") return date.slice(0, 7);
  return `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
}

/** Every period from `from` to `to` (inclusive), in order, empty ones included. */
export function periodsBetween(from: string, to: string, by: Granularity): string[] {
  const out: string[] = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (d <= end) {
    const p = periodOf(d.toISOString().slice(0, 10), by);
    if (out[out.length - 1] !== p) out.push(p);
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Compute the report from the model for [from, to] (dates inclusive). */
export function revenueReport(
  ctx: EngineContext,
  model: RevenueModel,
  opts: { from: string; to: string; by?: Granularity },
): RevenueReport {
  const { r, deals: dObj } = reportSpecOf(ctx);
  const by = opts.by ?? "month";
  for (const [k, v] of [
    ["--from", opts.from],
    ["--to", opts.to],
  ] as const) {
    if (!DATE_RE.test(v) || Number.isNaN(Date.parse(v)))
      throw new ValidationRejected(`${k} ${v} is not a date`, { hint: "give dates as YYYY-MM-DD" });
  }
  if (opts.from > opts.to)
    throw new ValidationRejected(`--from ${opts.from} is after --to ${opts.to}`, { hint: "give --from before --to" });
  const inRange = (d: string | null): d is string => d !== null && d >= opts.from && d <= opts.to;
  const periods = new Map<string, PeriodRow>();
  for (const p of periodsBetween(opts.from, opts.to, by)) {
    periods.set(p, { period: p, bookings: 0, bookedDeals: 0, ordered: 0, orders: 0, invoiced: 0, invoices: 0, paid: 0, payments: 0 });
  }
  const at = (d: string) => periods.get(periodOf(d, by)) as PeriodRow;
  const tol = r.tolerance;
  const exceptions: RevenueException[] = [];

  const orderById = new Map(model.orders.map((o) => [o.id, o]));
  const dealIds = new Set(model.deals.map((d) => d.id));
  for (const d of model.deals) {
    if (!d.won || !inRange(d.date)) continue;
    const p = at(d.date);
    p.bookings += d.amount;
    p.bookedDeals++;
    const os = d.orderIds.map((id) => orderById.get(id)).filter((o): o is OrderRow => Boolean(o?.counted));
    if (os.length === 0) {
      exceptions.push({
        kind: "deal-without-order",
        record: d.id,
        date: d.date,
        amount: d.amount,
        expected: null,
        detail: `won deal has no order (${r.orders.states.join("/")})`,
      });
    } else {
      const total = round2(os.reduce((s, o) => s + o.total, 0));
      if (Math.abs(total - d.amount) > tol) {
        exceptions.push({
          kind: "order-amount-mismatch",
          record: d.id,
          date: d.date,
          amount: d.amount,
          expected: total,
          detail: `deal amount ${d.amount} ≠ order total ${total} (${os.map((o) => o.id).join(", ")}; difference ${round2(total - d.amount)})`,
        });
      }
    }
  }
  if (r.prices) {
    const allowed = r.prices.allowedDiscount;
    const won = new Map(model.deals.filter((d) => d.won && inRange(d.date)).map((d) => [d.id, d]));
    for (const l of model.dealLines) {
      const d = won.get(l.dealId);
      if (!d || l.unitPrice === null || l.erpPrice === null) continue;
      const floor = round2(l.erpPrice * (1 - allowed / 100));
      if (l.unitPrice < floor - tol) {
        exceptions.push({
          kind: "stale-price",
          record: d.id,
          date: d.date,
          amount: l.unitPrice,
          expected: l.erpPrice,
          detail: `line ${l.line} (${l.erpProduct ?? l.productId}): unit price ${l.unitPrice}${l.listPrice !== null ? `, list price ${l.listPrice}` : ""} vs ERP price ${l.erpPrice} on ${d.date}; more than ${allowed}% below (floor ${floor})`,
        });
      }
    }
  }
  for (const o of model.orders) {
    if (!o.counted || !inRange(o.date)) continue;
    const p = at(o.date);
    p.ordered += o.total;
    p.orders++;
  }
  for (const i of model.invoices) {
    if (!i.counted || !inRange(i.date)) continue;
    const p = at(i.date);
    p.invoiced += i.amount;
    p.invoices++;
    const hasOrder = i.orderIds.some((o) => orderById.has(o));
    const hasDeal = i.dealId !== null && dealIds.has(i.dealId);
    if (!hasOrder && !hasDeal) {
      exceptions.push({
        kind: "invoice-without-order-or-deal",
        record: i.id,
        date: i.date,
        amount: i.amount,
        expected: null,
        detail: i.orderIds.length ? `refers to unknown order(s) ${i.orderIds.join(", ")} and no deal` : "no order and no deal",
      });
    }
  }
  for (const pm of model.payments) {
    if (!pm.counted || !inRange(pm.date)) continue;
    const p = at(pm.date);
    p.paid += pm.amount;
    p.payments++;
  }
  const rows = [...periods.values()].map((p) => ({
    ...p,
    bookings: round2(p.bookings),
    ordered: round2(p.ordered),
    invoiced: round2(p.invoiced),
    paid: round2(p.paid),
  }));
  const sum = (k: keyof Omit<PeriodRow, "period">) => round2(rows.reduce((s, p) => s + p[k], 0));
  const counts: Record<ExceptionKind, number> = {
    "deal-without-order": 0,
    "order-amount-mismatch": 0,
    "invoice-without-order-or-deal": 0,
    "stale-price": 0,
  };
  for (const e of exceptions) counts[e.kind]++;
  exceptions.sort((a, b) => a.kind.localeCompare(b.kind) || (a.date ?? "").localeCompare(b.date ?? "") || a.record.localeCompare(b.record));
  const won = r.deals.won ? describeCondition(r.deals.won) : "every deal";
  return {
    integration: ctx.spec.name,
    from: opts.from,
    to: opts.to,
    by,
    basis: {
      bookings: `${dObj.crm.entity} where ${won}: ${r.deals.amount} by ${r.deals.date}`,
      ordered: `${dObj.erp.entity} (${r.orders.states.join(", ")}): ${r.orders.total} by ${r.orders.date}`,
      invoiced: r.invoices
        ? `${r.invoices.entity} (${r.invoices.states.join(", ")}): ${r.invoices.amount} by ${r.invoices.date}`
        : "not configured",
      paid: r.payments
        ? `${r.payments.entity} (${r.payments.states.join(", ")}): ${r.payments.amount} by ${r.payments.date} (payments, not invoice paid amounts)`
        : "not configured",
    },
    periods: rows,
    totals: {
      bookings: sum("bookings"),
      bookedDeals: sum("bookedDeals"),
      ordered: sum("ordered"),
      orders: sum("orders"),
      invoiced: sum("invoiced"),
      invoices: sum("invoices"),
      paid: sum("paid"),
      payments: sum("payments"),
    },
    exceptions,
    counts,
  };
}

function describeCondition(c: RecordCondition): string {
  const parts = c.equals.map((e) => `${e.field} = ${e.values.map(String).join(" | ")}`);
  if (c.expr) parts.push(c.expr);
  return parts.join(" and ") || "every deal";
}

// ---------------------------------------------------------------- rendering

const money = (n: number) => n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r, j) => {
      const line = r
        .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd();
      return j === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

/** Text rendering for the terminal: periods, totals, then the exceptions. */
export function renderRevenue(rep: RevenueReport, opts: { maxExceptions?: number } = {}): string {
  const head = ["period", "bookings", "deals", "ordered", "orders", "invoiced", "invoices", "paid", "payments"];
  const line = (label: string, p: Omit<PeriodRow, "period">) => [
    label,
    money(p.bookings),
    String(p.bookedDeals),
    money(p.ordered),
    String(p.orders),
    money(p.invoiced),
    String(p.invoices),
    money(p.paid),
    String(p.payments),
  ];
  const rows = [head, ...rep.periods.map((p) => line(p.period, p)), line("total", rep.totals)];
  const out: string[] = [];
  out.push(`Revenue ${rep.from} … ${rep.to} by ${rep.by} (${rep.integration})`);
  out.push(`  bookings: ${rep.basis.bookings}`);
  out.push(`  ordered:  ${rep.basis.ordered}`);
  out.push(`  invoiced: ${rep.basis.invoiced}`);
  out.push(`  paid:     ${rep.basis.paid}`, "");
  out.push(
    table(
      rows,
      head.map((_, i) => i > 0),
    ),
    "",
  );
  const n = rep.exceptions.length;
  out.push(
    `Exceptions: ${n}${
      n
        ? ` (${Object.entries(rep.counts)
            .filter(([, c]) => c > 0)
            .map(([k, c]) => `${k} ${c}`)
            .join(", ")})`
        : ""
    }`,
  );
  const max = opts.maxExceptions ?? 50;
  for (const e of rep.exceptions.slice(0, max)) out.push(`  ${e.kind.padEnd(30)} ${e.record.padEnd(20)} ${e.date ?? "—"}  ${e.detail}`);
  if (n > max) out.push(`  … ${n - max} more (--json or --csv list them all)`);
  return out.join("\n");
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV: one row per period (then a total row); `exceptions` gives the exceptions as CSV instead. */
export function revenueCsv(rep: RevenueReport, what: "periods" | "exceptions" = "periods"): string {
  if (what === "exceptions") {
    const cols = ["kind", "record", "date", "amount", "expected", "detail"] as const;
    return [cols.join(","), ...rep.exceptions.map((e) => cols.map((c) => csvCell(e[c])).join(","))].join("\n") + "\n";
  }
  const cols = ["period", "bookings", "bookedDeals", "ordered", "orders", "invoiced", "invoices", "paid", "payments"] as const;
  const rows = [...rep.periods, { period: "total", ...rep.totals }];
  return [cols.join(","), ...rows.map((p) => cols.map((c) => csvCell(p[c])).join(","))].join("\n") + "\n";
}

// ---------------------------------------------------------------- DuckDB export

type ColType = "VARCHAR" | "DOUBLE" | "INTEGER" | "BOOLEAN" | "DATE";
interface TableDef {
  name: string;
  columns: Array<[string, ColType]>;
  rows: unknown[][];
}

export function modelTables(model: RevenueModel, rep?: RevenueReport): TableDef[] {
  const t: TableDef[] = [
    {
      name: "customers",
      columns: [
        ["crm_id", "VARCHAR"],
        ["erp_id", "VARCHAR"],
        ["name", "VARCHAR"],
        ["shared_id", "VARCHAR"],
      ],
      rows: model.customers.map((c) => [c.crmId, c.erpId, c.name, c.sharedId]),
    },
    {
      name: "deals",
      columns: [
        ["id", "VARCHAR"],
        ["customer_id", "VARCHAR"],
        ["amount", "DOUBLE"],
        ["close_date", "DATE"],
        ["won", "BOOLEAN"],
        ["order_id", "VARCHAR"],
        ["order_count", "INTEGER"],
      ],
      rows: model.deals.map((d) => [d.id, d.customerId, d.amount, d.date, d.won, d.orderIds[0] ?? null, d.orderIds.length]),
    },
    {
      name: "deal_lines",
      columns: [
        ["deal_id", "VARCHAR"],
        ["line", "INTEGER"],
        ["product_id", "VARCHAR"],
        ["erp_product", "VARCHAR"],
        ["quantity", "DOUBLE"],
        ["list_price", "DOUBLE"],
        ["unit_price", "DOUBLE"],
        ["erp_price", "DOUBLE"],
      ],
      rows: model.dealLines.map((l) => [l.dealId, l.line, l.productId, l.erpProduct, l.quantity, l.listPrice, l.unitPrice, l.erpPrice]),
    },
    {
      name: "orders",
      columns: [
        ["id", "VARCHAR"],
        ["customer_id", "VARCHAR"],
        ["order_date", "DATE"],
        ["total", "DOUBLE"],
        ["state", "VARCHAR"],
        ["counted", "BOOLEAN"],
        ["deal_id", "VARCHAR"],
      ],
      rows: model.orders.map((o) => [o.id, o.customerId, o.date, o.total, o.state, o.counted, o.dealId]),
    },
    {
      name: "invoices",
      columns: [
        ["id", "VARCHAR"],
        ["customer_id", "VARCHAR"],
        ["posting_date", "DATE"],
        ["amount", "DOUBLE"],
        ["outstanding", "DOUBLE"],
        ["state", "VARCHAR"],
        ["counted", "BOOLEAN"],
        ["order_id", "VARCHAR"],
        ["deal_id", "VARCHAR"],
      ],
      rows: model.invoices.map((i) => [
        i.id,
        i.customerId,
        i.date,
        i.amount,
        i.outstanding,
        i.state,
        i.counted,
        i.orderIds[0] ?? null,
        i.dealId,
      ]),
    },
    {
      name: "payments",
      columns: [
        ["id", "VARCHAR"],
        ["customer_id", "VARCHAR"],
        ["posting_date", "DATE"],
        ["amount", "DOUBLE"],
        ["state", "VARCHAR"],
        ["counted", "BOOLEAN"],
        ["invoice_id", "VARCHAR"],
      ],
      rows: model.payments.map((p) => [p.id, p.customerId, p.date, p.amount, p.state, p.counted, p.invoiceIds[0] ?? null]),
    },
    {
      name: "links",
      columns: [
        ["object", "VARCHAR"],
        ["crm_id", "VARCHAR"],
        ["erp_id", "VARCHAR"],
        ["shared_id", "VARCHAR"],
        ["status", "VARCHAR"],
      ],
      rows: model.links.map((l) => [l.object, l.crmId, l.erpId, l.sharedId, l.status]),
    },
  ];
  if (rep) {
    t.push({
      name: "revenue_periods",
      columns: [
        ["period", "VARCHAR"],
        ["bookings", "DOUBLE"],
        ["booked_deals", "INTEGER"],
        ["ordered", "DOUBLE"],
        ["orders", "INTEGER"],
        ["invoiced", "DOUBLE"],
        ["invoices", "INTEGER"],
        ["paid", "DOUBLE"],
        ["payments", "INTEGER"],
      ],
      rows: rep.periods.map((p) => [p.period, p.bookings, p.bookedDeals, p.ordered, p.orders, p.invoiced, p.invoices, p.paid, p.payments]),
    });
    t.push({
      name: "revenue_exceptions",
      columns: [
        ["kind", "VARCHAR"],
        ["record", "VARCHAR"],
        ["date", "DATE"],
        ["amount", "DOUBLE"],
        ["expected", "DOUBLE"],
        ["detail", "VARCHAR"],
      ],
      rows: rep.exceptions.map((e) => [e.kind, e.record, e.date, e.amount, e.expected, e.detail]),
    });
  }
  return t;
}

/**
 * Write the unified model (and the report's periods and exceptions) into a DuckDB database file, one
 * table each, replacing tables of the same name. Metabase and other BI tools open it directly.
 * Returns the tables written with their row counts.
 */
export async function exportDuckDb(file: string, model: RevenueModel, rep?: RevenueReport): Promise<Record<string, number>> {
  const { DuckDBInstance, DuckDBDateValue } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  const written: Record<string, number> = {};
  try {
    for (const t of modelTables(model, rep)) {
      await conn.run(`CREATE OR REPLACE TABLE ${t.name} (${t.columns.map(([c, ty]) => `"${c}" ${ty}`).join(", ")})`);
      const app = await conn.createAppender(t.name);
      for (const row of t.rows) {
        t.columns.forEach(([, ty], i) => {
          const v = row[i];
          if (v === null || v === undefined) app.appendNull();
          else if (ty === "VARCHAR") app.appendVarchar(String(v));
          else if (ty === "DOUBLE") app.appendDouble(Number(v));
          else if (ty === "INTEGER") app.appendInteger(Number(v));
          else if (ty === "BOOLEAN") app.appendBoolean(Boolean(v));
          else {
            const [y, m, dd] = String(v).split("-").map(Number);
            app.appendDate(DuckDBDateValue.fromParts({ year: y, month: m, day: dd }));
          }
        });
        app.endRow();
      }
      app.flushSync();
      app.closeSync();
      written[t.name] = t.rows.length;
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return written;
}
