/**
 * ERPNext business rules of the emulated doctypes (reference §6): naming, derived fields, totals,
 * statuses, stock reservation, invoice outstanding, payments.
 */
import type { Doc } from "./db.ts";
import { type Controller, type ControllerMap, cloneDoc, type Env, setFieldDefaults } from "./documents.ts";
import { bold, frappeThrow } from "./frappe-errors.ts";
import { indexMeta, makeField } from "./meta.ts";
import type { Tx } from "./tx.ts";
import { cint, flt, randomHash } from "./util.ts";

const rows = (doc: Doc, field: string): Doc[] => (Array.isArray(doc[field]) ? (doc[field] as Doc[]) : []);
const str = (v: unknown): string => (v === null || v === undefined ? "" : String(v));
const money = (n: number) => flt(n, 2);

/** `append_number_if_name_exists` with "-" separator. */
function appendNumberIfExists(tx: Tx, doctype: string, name: string): string {
  if (!tx.exists(doctype, name)) return name;
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)$`, "i");
  let max = 0;
  for (const d of tx.all(doctype)) {
    const m = re.exec(String(d.name));
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `${name}-${max + 1}`;
}

// ---------------------------------------------------------------------------------------- stock

export function binKey(item: string, warehouse: string): string {
  return `${item}\u0000${warehouse}`;
}

/** The Bin of item+warehouse (created on first use, as erpnext's get_bin does). */
export function getBin(tx: Tx, env: Env, item: string, warehouse: string): Doc {
  for (const b of tx.all("Bin")) {
    if (b.item_code === item && b.warehouse === warehouse) return cloneDoc(b);
  }
  const meta = tx.db.meta("Bin");
  const now = env.clock.now();
  const bin: Doc = {
    name: randomHash(10),
    owner: tx.user,
    creation: now,
    modified: now,
    modified_by: tx.user,
    docstatus: 0,
    idx: 0,
  };
  if (meta) setFieldDefaults(meta, bin, env);
  bin.item_code = item;
  bin.warehouse = warehouse;
  bin.stock_uom = str(tx.get("Item", item)?.stock_uom) || null;
  bin.doctype = "Bin";
  return bin;
}

export function saveBin(tx: Tx, env: Env, bin: Doc): void {
  bin.projected_qty = flt(
    flt(bin.actual_qty) +
      flt(bin.ordered_qty) +
      flt(bin.indented_qty) +
      flt(bin.planned_qty) -
      flt(bin.reserved_qty) -
      flt(bin.reserved_qty_for_production) -
      flt(bin.reserved_qty_for_sub_contract),
    6,
  );
  bin.stock_value = flt(flt(bin.actual_qty) * flt(bin.valuation_rate), 2);
  bin.modified = env.clock.now();
  bin.modified_by = tx.user;
  tx.put("Bin", bin);
  // erpnext updates bins with db_set / set_value: on_change, never on_update (reference §5)
  tx.event("Bin", String(bin.name), "on_change");
}

function isStockItem(tx: Tx, item: string): boolean {
  return cint(tx.get("Item", item)?.is_stock_item) === 1;
}

// ------------------------------------------------------------------------------------- selling

function fillSellingHeader(doc: Doc, tx: Tx, env: Env): void {
  const s = env.settings;
  if (!doc.company) doc.company = s.company;
  const company = tx.get("Company", str(doc.company));
  const companyCurrency = str(company?.default_currency) || s.currency;
  const customer = doc.customer ? tx.get("Customer", str(doc.customer)) : undefined;
  if (customer && cint(doc.docstatus) === 0) {
    if (cint(customer.disabled))
      throw frappeThrow("ValidationError", `Customer ${bold(customer.name)} is disabled`, { title: "Party Disabled" });
    if (cint(customer.is_frozen))
      throw frappeThrow("ValidationError", `Customer ${bold(customer.name)} is frozen`, { title: "Party Frozen" });
  }
  if (customer) {
    doc.customer_name = customer.customer_name;
    if (!doc.customer_group) doc.customer_group = customer.customer_group ?? null;
    if (!doc.territory) doc.territory = customer.territory ?? null;
    if (!doc.tax_id) doc.tax_id = customer.tax_id ?? null;
    if (!doc.customer_address && customer.customer_primary_address) doc.customer_address = customer.customer_primary_address;
    if (!doc.contact_person && customer.customer_primary_contact) doc.contact_person = customer.customer_primary_contact;
    if (!doc.payment_terms_template && customer.payment_terms) doc.payment_terms_template = customer.payment_terms;
  }
  if (!doc.title) doc.title = doc.customer_name ?? doc.customer ?? null;
  if (!doc.currency) doc.currency = str(customer?.default_currency) || companyCurrency;
  if (!doc.selling_price_list) doc.selling_price_list = str(customer?.default_price_list) || s.sellingPriceList;
  const pl = tx.get("Price List", str(doc.selling_price_list));
  if (!doc.price_list_currency) doc.price_list_currency = str(pl?.currency) || doc.currency;
  if (!flt(doc.conversion_rate)) doc.conversion_rate = doc.currency === companyCurrency ? 1 : 1;
  if (!flt(doc.plc_conversion_rate)) doc.plc_conversion_rate = 1;
}

function priceFor(tx: Tx, item: string, priceList: string, uom: string | null, customer: string | null, date: string): number | null {
  let best: Doc | null = null;
  for (const p of tx.all("Item Price")) {
    if (p.item_code !== item || p.price_list !== priceList) continue;
    if (p.uom && uom && p.uom !== uom) continue;
    if (p.customer && p.customer !== customer) continue;
    if (p.valid_from && str(p.valid_from) > date) continue;
    if (p.valid_upto && str(p.valid_upto) < date) continue;
    if (!best || (p.customer && !best.customer)) best = p;
  }
  return best ? flt(best.price_list_rate) : null;
}

function fillSellingItems(doc: Doc, tx: Tx, env: Env, dateField: string): void {
  const date = str(doc[dateField]) || env.clock.today();
  for (const r of rows(doc, "items")) {
    const item = r.item_code ? tx.get("Item", str(r.item_code)) : undefined;
    if (item) {
      if (!r.item_name) r.item_name = item.item_name ?? item.item_code;
      if (!r.description) r.description = item.description ?? item.item_name ?? null;
      r.item_group = item.item_group ?? null;
      r.brand = item.brand ?? null;
      r.stock_uom = item.stock_uom ?? null;
      if (!r.uom) r.uom = item.sales_uom ?? item.stock_uom ?? null;
      r.weight_per_unit = flt(item.weight_per_unit);
      if (!r.warehouse && cint(item.is_stock_item)) {
        const def = rows(item, "item_defaults").find((d) => d.company === doc.company);
        r.warehouse = doc.set_warehouse || def?.default_warehouse || env.settings.defaultWarehouse;
      }
    }
    if (!flt(r.conversion_factor)) r.conversion_factor = 1;
    r.stock_qty = flt(flt(r.qty) * flt(r.conversion_factor), 6);
    if (!flt(r.price_list_rate) && r.item_code) {
      const p = priceFor(tx, str(r.item_code), str(doc.selling_price_list), str(r.uom) || null, str(doc.customer) || null, date);
      if (p !== null) r.price_list_rate = p;
    }
    if ((r.rate === null || r.rate === undefined || flt(r.rate) === 0) && flt(r.price_list_rate)) {
      const pct = flt(r.discount_percentage);
      r.rate = money(flt(r.price_list_rate) * (1 - pct / 100) - (pct ? 0 : flt(r.discount_amount)));
    }
    if (flt(r.price_list_rate) && flt(r.rate) && !flt(r.discount_percentage)) {
      r.discount_amount = money(Math.max(0, flt(r.price_list_rate) - flt(r.rate)));
    }
    r.rate = money(flt(r.rate));
    r.amount = money(flt(r.qty) * flt(r.rate));
    r.net_rate = r.rate;
    r.net_amount = r.amount;
    const cr = flt(doc.conversion_rate) || 1;
    r.base_price_list_rate = money(flt(r.price_list_rate) * cr);
    r.base_rate = money(flt(r.rate) * cr);
    r.base_amount = money(flt(r.amount) * cr);
    r.base_net_rate = r.base_rate;
    r.base_net_amount = r.base_amount;
    r.stock_uom_rate = flt(r.conversion_factor) ? money(flt(r.rate) / flt(r.conversion_factor)) : r.rate;
    r.total_weight = flt(flt(r.weight_per_unit) * flt(r.stock_qty), 6);
    if (r.warehouse && r.item_code) {
      const b = [...tx.all("Bin")].find((x) => x.item_code === r.item_code && x.warehouse === r.warehouse);
      r.actual_qty = flt(b?.actual_qty);
      r.projected_qty = flt(b?.projected_qty);
    }
  }
}

function computeTotals(doc: Doc): void {
  const items = rows(doc, "items");
  const cr = flt(doc.conversion_rate) || 1;
  doc.total_qty = flt(
    items.reduce((s, r) => s + flt(r.qty), 0),
    6,
  );
  const total = money(items.reduce((s, r) => s + flt(r.amount), 0));
  doc.total = total;
  doc.base_total = money(total * cr);
  // additional discount on net total
  let discount = flt(doc.discount_amount);
  if (flt(doc.additional_discount_percentage)) discount = money((total * flt(doc.additional_discount_percentage)) / 100);
  doc.discount_amount = discount;
  doc.base_discount_amount = money(discount * cr);
  const net = money(total - (doc.apply_discount_on === "Net Total" ? discount : 0));
  doc.net_total = net;
  doc.base_net_total = money(net * cr);
  let running = net;
  let taxTotal = 0;
  let prevAmount = 0;
  for (const t of rows(doc, "taxes")) {
    let amt: number;
    switch (t.charge_type) {
      case "Actual":
        amt = flt(t.tax_amount);
        break;
      case "On Net Total":
        amt = money((net * flt(t.rate)) / 100);
        break;
      case "On Previous Row Amount":
        amt = money((prevAmount * flt(t.rate)) / 100);
        break;
      case "On Previous Row Total":
        amt = money((running * flt(t.rate)) / 100);
        break;
      case "On Item Quantity":
        amt = money(flt(doc.total_qty) * flt(t.rate));
        break;
      default:
        amt = 0;
    }
    t.tax_amount = amt;
    t.base_tax_amount = money(amt * cr);
    running = money(running + amt);
    t.total = running;
    t.base_total = money(running * cr);
    taxTotal += amt;
    prevAmount = amt;
  }
  doc.total_taxes_and_charges = money(taxTotal);
  doc.base_total_taxes_and_charges = money(taxTotal * cr);
  const grand = money(net + taxTotal - (doc.apply_discount_on === "Net Total" ? 0 : discount));
  doc.grand_total = grand;
  doc.base_grand_total = money(grand * cr);
  // EUR/USD have a smallest fraction of 0.01, so rounding changes nothing unless disabled
  doc.rounded_total = cint(doc.disable_rounded_total) ? 0 : grand;
  doc.base_rounded_total = cint(doc.disable_rounded_total) ? 0 : money(grand * cr);
  doc.rounding_adjustment = 0;
  doc.base_rounding_adjustment = 0;
  doc.in_words = inWords(grand, str(doc.currency));
  doc.base_in_words = inWords(money(grand * cr), str(doc.currency));
}

const ONES = [
  "",
  "One",
  "Two",
  "Three",
  "Four",
  "Five",
  "Six",
  "Seven",
  "Eight",
  "Nine",
  "Ten",
  "Eleven",
  "Twelve",
  "Thirteen",
  "Fourteen",
  "Fifteen",
  "Sixteen",
  "Seventeen",
  "Eighteen",
  "Nineteen",
];
const TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"];
function words(n: number): string {
  if (n < 20) return ONES[n];
  if (n < 100) return `${TENS[Math.floor(n / 10)]}${n % 10 ? `-${ONES[n % 10]}` : ""}`;
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} Hundred${n % 100 ? ` and ${words(n % 100)}` : ""}`;
  for (const [v, w] of [
    [1e9, "Billion"],
    [1e6, "Million"],
    [1e3, "Thousand"],
  ] as Array<[number, string]>) {
    if (n >= v) return `${words(Math.floor(n / v))} ${w}${n % v ? ` ${words(n % v)}` : ""}`;
  }
  return String(n);
}
function inWords(amount: number, currency: string): string {
  const whole = Math.floor(Math.abs(amount));
  const cents = Math.round((Math.abs(amount) - whole) * 100);
  const main = whole === 0 ? "Zero" : words(whole);
  const frac = currency === "USD" ? "Cent" : currency === "EUR" ? "Cent" : "Cent";
  return `${currency} ${main}${cents ? ` and ${words(cents)} ${frac}` : ""} only.`;
}

function checkCreditLimit(doc: Doc, tx: Tx, extra: number): void {
  const customer = tx.get("Customer", str(doc.customer));
  if (!customer) return;
  const row = rows(customer, "credit_limits").find((r) => r.company === doc.company);
  const limit = flt(row?.credit_limit);
  if (!limit || cint(row?.bypass_credit_limit_check)) return;
  let outstanding = 0;
  for (const inv of tx.all("Sales Invoice")) {
    if (inv.customer === doc.customer && cint(inv.docstatus) === 1 && inv.company === doc.company)
      outstanding += flt(inv.outstanding_amount);
  }
  for (const so of tx.all("Sales Order")) {
    if (
      so.customer === doc.customer &&
      cint(so.docstatus) === 1 &&
      so.company === doc.company &&
      so.name !== doc.name &&
      !["Closed", "Completed"].includes(str(so.status))
    ) {
      outstanding += flt(so.grand_total) * (1 - flt(so.per_billed) / 100);
    }
  }
  const total = money(outstanding + extra);
  if (total > limit) {
    throw frappeThrow("ValidationError", `Credit limit has been crossed for customer ${doc.customer} (${total}/${limit})`, {
      title: "Credit Limit Crossed",
    });
  }
}

/** Sales Order status rules after submit (reference §6 Sales Order). */
export function salesOrderStatus(so: Doc): string {
  const ds = cint(so.docstatus);
  if (ds === 0) return "Draft";
  if (ds === 2) return "Cancelled";
  if (so.status === "Closed" || so.status === "On Hold") return str(so.status);
  const delivered = cint(so.skip_delivery_note) === 1 || flt(so.per_delivered) >= 100;
  const billed = flt(so.per_billed) >= 100;
  if (!delivered && !billed) return "To Deliver and Bill";
  if (delivered && !billed) return "To Bill";
  if (!delivered && billed) return "To Deliver";
  return "Completed";
}

function reserveStock(so: Doc, tx: Tx, env: Env, sign: 1 | -1): void {
  const perBin = new Map<string, number>();
  for (const r of rows(so, "items")) {
    if (!r.warehouse || !r.item_code || !isStockItem(tx, str(r.item_code))) continue;
    const remaining = Math.max(0, flt(r.stock_qty) - flt(r.delivered_qty) * flt(r.conversion_factor || 1));
    const k = binKey(str(r.item_code), str(r.warehouse));
    perBin.set(k, (perBin.get(k) ?? 0) + remaining);
  }
  for (const [k, q] of perBin) {
    const [item, wh] = k.split("\u0000");
    const bin = getBin(tx, env, item, wh);
    bin.reserved_qty = flt(flt(bin.reserved_qty) + sign * q, 6);
    saveBin(tx, env, bin);
  }
}

const salesOrder: Controller = {
  setDefaults(doc, tx, env) {
    fillSellingHeader(doc, tx, env);
    if (!doc.transaction_date) doc.transaction_date = env.clock.today();
  },
  validate(doc, tx, env) {
    if (!rows(doc, "items").length) return; // mandatory check reports the empty table
    fillSellingItems(doc, tx, env, "transaction_date");
    for (const r of rows(doc, "items")) r.transaction_date = doc.transaction_date;
    if (doc.order_type === "Sales" && !cint(doc.skip_delivery_note)) {
      const dates = rows(doc, "items")
        .map((r) => str(r.delivery_date))
        .filter(Boolean)
        .sort();
      const max = dates[dates.length - 1];
      if (max && doc.delivery_date !== max) doc.delivery_date = max;
      if (doc.delivery_date) {
        for (const r of rows(doc, "items")) {
          if (!r.delivery_date) r.delivery_date = doc.delivery_date;
          if (str(doc.transaction_date) > str(r.delivery_date)) {
            throw frappeThrow("ValidationError", "Expected Delivery Date should be after Sales Order Date", {
              title: "Invalid Delivery Date",
            });
          }
        }
      } else {
        throw frappeThrow("ValidationError", "Please enter Delivery Date");
      }
    }
    for (const r of rows(doc, "items")) {
      if (r.item_code && isStockItem(tx, str(r.item_code)) && !r.warehouse) {
        throw frappeThrow("ValidationError", `Delivery warehouse required for stock item ${bold(r.item_code)}`);
      }
    }
    if (doc.po_no && doc.customer) {
      for (const other of tx.all("Sales Order")) {
        if (other.name !== doc.name && other.po_no === doc.po_no && other.customer === doc.customer && cint(other.docstatus) < 2) {
          throw frappeThrow(
            "ValidationError",
            `Sales Order ${bold(other.name)} already exists against Customer's Purchase Order ${bold(doc.po_no)}. To allow multiple Sales Orders, Enable ${bold("Allow Multiple Sales Orders Against a Customer's Purchase Order")} in ${bold("Selling Settings")}`,
          );
        }
      }
    }
    computeTotals(doc);
    doc.status = "Draft";
    if (!doc.billing_status) doc.billing_status = "Not Billed";
    if (!doc.delivery_status) doc.delivery_status = "Not Delivered";
    if (!doc.advance_payment_status) doc.advance_payment_status = "Not Requested";
  },
  beforeSubmit(doc, tx) {
    checkCreditLimit(doc, tx, flt(doc.grand_total));
  },
  onSubmit(doc, tx, env) {
    doc.status = salesOrderStatus(doc);
    if (cint(doc.skip_delivery_note)) doc.delivery_status = "Not Applicable";
    reserveStock(doc, tx, env, 1);
  },
  onCancel(doc, tx, env) {
    doc.status = "Cancelled";
    reserveStock(doc, tx, env, -1);
  },
  ignoreLinkedDoctypes: [],
};

/** Sales Invoice status rule v15 (reference §6). */
export function salesInvoiceStatus(inv: Doc, today: string, tx?: Tx): string {
  const ds = cint(inv.docstatus);
  if (ds === 0) return "Draft";
  if (ds === 2) return "Cancelled";
  const outstanding = flt(inv.outstanding_amount);
  const total = flt(inv.rounded_total) || flt(inv.grand_total);
  if (cint(inv.is_internal_customer)) return "Internal Transfer";
  if (outstanding > 0 && str(inv.due_date) && str(inv.due_date) < today) return "Overdue";
  if (outstanding > 0 && outstanding < total) return "Partly Paid";
  if (outstanding > 0 && str(inv.due_date) >= today) return "Unpaid";
  if (!cint(inv.is_return) && tx) {
    for (const r of tx.all("Sales Invoice")) if (r.return_against === inv.name && cint(r.docstatus) === 1) return "Credit Note Issued";
  }
  if (cint(inv.is_return)) return "Return";
  if (outstanding <= 0) return "Paid";
  return "Submitted";
}

function updateOrderBilling(inv: Doc, tx: Tx, env: Env, sign: 1 | -1): void {
  const byOrder = new Map<string, Map<string, number>>();
  for (const r of rows(inv, "items")) {
    if (!r.sales_order) continue;
    const m = byOrder.get(str(r.sales_order)) ?? new Map<string, number>();
    m.set(str(r.so_detail), (m.get(str(r.so_detail)) ?? 0) + flt(r.amount));
    byOrder.set(str(r.sales_order), m);
  }
  for (const [soName, amounts] of byOrder) {
    const stored = tx.get("Sales Order", soName);
    if (!stored || cint(stored.docstatus) !== 1) continue;
    const so = cloneDoc(stored);
    const items = rows(so, "items");
    for (const [detail, amt] of amounts) {
      const row = items.find((r) => r.name === detail) ?? (detail ? undefined : items[0]);
      if (row) row.billed_amt = money(flt(row.billed_amt) + sign * amt);
    }
    const total = items.reduce((s, r) => s + flt(r.amount), 0);
    const billed = items.reduce((s, r) => s + Math.min(flt(r.billed_amt), flt(r.amount)), 0);
    const perBilled = total ? flt((billed / total) * 100, 6) : 0;
    so.per_billed = perBilled;
    so.billing_status = perBilled >= 100 ? "Fully Billed" : perBilled > 0 ? "Partly Billed" : "Not Billed";
    so.status = salesOrderStatus(so);
    so.modified = env.clock.now();
    so.modified_by = tx.user;
    tx.put("Sales Order", so);
    tx.event("Sales Order", soName, "on_change");
  }
}

const salesInvoice: Controller = {
  setDefaults(doc, tx, env) {
    fillSellingHeader(doc, tx, env);
    if (!doc.posting_date) doc.posting_date = env.clock.today();
    if (!doc.posting_time) doc.posting_time = env.clock.nowTime();
    if (!doc.due_date) doc.due_date = doc.posting_date;
    if (!doc.debit_to) {
      const company = tx.get("Company", str(doc.company));
      doc.debit_to = str(company?.default_receivable_account) || env.settings.receivableAccount;
    }
    for (const r of rows(doc, "items")) {
      if (!r.income_account) r.income_account = env.settings.incomeAccount;
      if (!r.cost_center) r.cost_center = env.settings.costCenter;
      if (r.sales_order && !r.so_detail) {
        const so = tx.get("Sales Order", str(r.sales_order));
        const match = so ? rows(so, "items").find((x) => x.item_code === r.item_code) : undefined;
        if (match) r.so_detail = match.name;
      }
    }
  },
  validate(doc, tx, env) {
    if (!rows(doc, "items").length) return;
    fillSellingItems(doc, tx, env, "posting_date");
    if (str(doc.due_date) < str(doc.posting_date)) {
      throw frappeThrow("ValidationError", "Due Date cannot be before Posting Date", { title: "Invalid Due Date" });
    }
    if (cint(doc.is_return)) doc.naming_series = "ACC-SINV-RET-.YYYY.-";
    computeTotals(doc);
    doc.party_account_currency = doc.currency;
    doc.against_income_account = [...new Set(rows(doc, "items").map((r) => str(r.income_account)))].join(",");
    doc.outstanding_amount = doc.docstatus === 1 ? doc.outstanding_amount : flt(doc.rounded_total) || flt(doc.grand_total);
    doc.status = "Draft";
  },
  beforeSubmit(doc, _tx, env) {
    if (!cint(doc.set_posting_time)) {
      doc.posting_date = env.clock.today();
      doc.posting_time = env.clock.nowTime();
      if (str(doc.due_date) < str(doc.posting_date)) doc.due_date = doc.posting_date;
    }
  },
  onSubmit(doc, tx, env) {
    doc.outstanding_amount = flt(doc.rounded_total) || flt(doc.grand_total);
    doc.status = salesInvoiceStatus(doc, env.clock.today(), tx);
    updateOrderBilling(doc, tx, env, 1);
    if (cint(doc.update_stock)) moveStockForInvoice(doc, tx, env, -1);
  },
  onCancel(doc, tx, env) {
    doc.status = "Cancelled";
    updateOrderBilling(doc, tx, env, -1);
    if (cint(doc.update_stock)) moveStockForInvoice(doc, tx, env, 1);
  },
};

function moveStockForInvoice(inv: Doc, tx: Tx, env: Env, sign: 1 | -1): void {
  for (const r of rows(inv, "items")) {
    if (!r.warehouse || !isStockItem(tx, str(r.item_code))) continue;
    applyStockMove(tx, env, str(r.item_code), str(r.warehouse), sign * flt(r.stock_qty || r.qty), inv);
  }
}

/** Change actual_qty of a bin; refuses negative stock like erpnext (NegativeStockError). */
export function applyStockMove(tx: Tx, env: Env, item: string, warehouse: string, qty: number, voucher: Doc): void {
  const bin = getBin(tx, env, item, warehouse);
  const next = flt(flt(bin.actual_qty) + qty, 6);
  if (next < 0) {
    throw frappeThrow(
      "NegativeStockError",
      `${flt(-next, 6)} units of Item ${bold(item)} needed in Warehouse ${bold(warehouse)} on ${env.clock.today()} for ${voucher.doctype ?? ""} ${voucher.name ?? ""} to complete this transaction.`,
      { title: "Insufficient Stock" },
    );
  }
  bin.actual_qty = next;
  const item_ = tx.get("Item", item);
  if (!flt(bin.valuation_rate)) bin.valuation_rate = flt(item_?.valuation_rate) || flt(item_?.standard_rate);
  saveBin(tx, env, bin);
}

// ------------------------------------------------------------------------------------- payment

const paymentEntry: Controller = {
  setDefaults(doc, tx, env) {
    if (!doc.company) doc.company = env.settings.company;
    if (!doc.posting_date) doc.posting_date = env.clock.today();
    if (!doc.party_type && doc.payment_type === "Receive") doc.party_type = "Customer";
    if (doc.party_type === "Customer" && doc.party) {
      const c = tx.get("Customer", str(doc.party));
      if (c && !doc.party_name) doc.party_name = c.customer_name;
    }
    const company = tx.get("Company", str(doc.company));
    const cur = str(company?.default_currency) || env.settings.currency;
    if (doc.payment_type === "Receive") {
      if (!doc.paid_from) doc.paid_from = str(company?.default_receivable_account) || env.settings.receivableAccount;
      if (!doc.paid_to) doc.paid_to = str(company?.default_cash_account) || env.settings.cashAccount;
    }
    if (!doc.paid_from_account_currency) doc.paid_from_account_currency = cur;
    if (!doc.paid_to_account_currency) doc.paid_to_account_currency = cur;
    if (!flt(doc.source_exchange_rate)) doc.source_exchange_rate = 1;
    if (!flt(doc.target_exchange_rate)) doc.target_exchange_rate = 1;
    if (!flt(doc.received_amount) && flt(doc.paid_amount)) doc.received_amount = doc.paid_amount;
    if (!flt(doc.paid_amount) && flt(doc.received_amount)) doc.paid_amount = doc.received_amount;
  },
  validate(doc, tx) {
    let allocated = 0;
    for (const r of rows(doc, "references")) {
      const ref = r.reference_doctype && r.reference_name ? tx.get(str(r.reference_doctype), str(r.reference_name)) : undefined;
      if (ref) {
        if (cint(ref.docstatus) !== 1) {
          throw frappeThrow("ValidationError", `${r.reference_doctype} ${r.reference_name} must be submitted`);
        }
        if (doc.party && ref.customer && ref.customer !== doc.party) {
          throw frappeThrow(
            "ValidationError",
            `Row #${r.idx}: ${r.reference_doctype} ${r.reference_name} does not belong to Customer ${doc.party}`,
          );
        }
        r.total_amount = flt(ref.rounded_total) || flt(ref.grand_total);
        r.outstanding_amount =
          r.reference_doctype === "Sales Invoice" ? flt(ref.outstanding_amount) : money(flt(ref.grand_total) - flt(ref.advance_paid));
        r.due_date = ref.due_date ?? ref.delivery_date ?? null;
        r.exchange_rate = 1;
        if (doc.docstatus !== 1 && flt(r.allocated_amount) > flt(r.outstanding_amount) + 0.001) {
          throw frappeThrow("ValidationError", `Row #${r.idx}: Allocated Amount cannot be greater than outstanding amount.`);
        }
      }
      allocated += flt(r.allocated_amount);
    }
    allocated = money(allocated);
    if (allocated > flt(doc.paid_amount) + 0.001) {
      throw frappeThrow("ValidationError", "Total Allocated Amount cannot be greater than Paid Amount", { title: "Message" });
    }
    doc.total_allocated_amount = allocated;
    doc.base_total_allocated_amount = allocated;
    doc.unallocated_amount = money(flt(doc.paid_amount) - allocated);
    doc.base_paid_amount = money(flt(doc.paid_amount) * flt(doc.source_exchange_rate || 1));
    doc.base_received_amount = money(flt(doc.received_amount) * flt(doc.target_exchange_rate || 1));
    doc.paid_amount_after_tax = doc.paid_amount;
    doc.received_amount_after_tax = doc.received_amount;
    doc.difference_amount = 0;
    doc.title = doc.party_name || doc.party || null;
    doc.status = "Draft";
  },
  onSubmit(doc, tx, env) {
    doc.status = "Submitted";
    allocate(doc, tx, env, 1);
  },
  onCancel(doc, tx, env) {
    doc.status = "Cancelled";
    allocate(doc, tx, env, -1);
  },
};

/** Apply (or revert) a payment's allocations to invoices / orders; their modified changes (db_set). */
function allocate(pe: Doc, tx: Tx, env: Env, sign: 1 | -1): void {
  const dir = pe.payment_type === "Pay" ? -sign : sign;
  for (const r of rows(pe, "references")) {
    const dt = str(r.reference_doctype);
    const stored = tx.get(dt, str(r.reference_name));
    if (!stored) continue;
    const ref = cloneDoc(stored);
    if (dt === "Sales Invoice") {
      ref.outstanding_amount = money(flt(ref.outstanding_amount) - dir * flt(r.allocated_amount));
      ref.status = salesInvoiceStatus(ref, env.clock.today(), tx);
    } else if (dt === "Sales Order") {
      ref.advance_paid = money(flt(ref.advance_paid) + dir * flt(r.allocated_amount));
      const gt = flt(ref.rounded_total) || flt(ref.grand_total);
      ref.advance_payment_status =
        flt(ref.advance_paid) <= 0 ? "Not Requested" : flt(ref.advance_paid) >= gt ? "Fully Paid" : "Partially Paid";
    } else continue;
    ref.modified = env.clock.now();
    ref.modified_by = tx.user;
    tx.put(dt, ref);
    tx.event(dt, String(ref.name), "on_change");
  }
}

// ------------------------------------------------------------------------------------ stock entry

const stockEntry: Controller = {
  setDefaults(doc, tx, env) {
    if (!doc.company) doc.company = env.settings.company;
    if (!doc.posting_date) doc.posting_date = env.clock.today();
    if (!doc.posting_time) doc.posting_time = env.clock.nowTime();
    doc.purpose = doc.stock_entry_type;
    for (const r of rows(doc, "items")) {
      if (!r.s_warehouse && doc.from_warehouse && doc.stock_entry_type !== "Material Receipt") r.s_warehouse = doc.from_warehouse;
      if (!r.t_warehouse && doc.to_warehouse && doc.stock_entry_type !== "Material Issue") r.t_warehouse = doc.to_warehouse;
      const item = tx.get("Item", str(r.item_code));
      if (item) {
        r.item_name = item.item_name;
        r.stock_uom = item.stock_uom;
        if (!r.uom) r.uom = item.stock_uom;
        if (!flt(r.basic_rate)) r.basic_rate = flt(item.valuation_rate) || flt(item.standard_rate);
      }
      if (!flt(r.conversion_factor)) r.conversion_factor = 1;
    }
  },
  validate(doc) {
    let inVal = 0;
    let outVal = 0;
    for (const r of rows(doc, "items")) {
      if (flt(r.qty) <= 0) throw frappeThrow("ValidationError", `Row ${r.idx}: Qty must be greater than 0.`);
      r.transfer_qty = flt(flt(r.qty) * flt(r.conversion_factor), 6);
      r.basic_amount = money(flt(r.transfer_qty) * flt(r.basic_rate));
      r.amount = r.basic_amount;
      if (doc.stock_entry_type !== "Material Receipt" && !r.s_warehouse)
        throw frappeThrow("ValidationError", `Row ${r.idx}: Source Warehouse is mandatory`);
      if (doc.stock_entry_type !== "Material Issue" && !r.t_warehouse)
        throw frappeThrow("ValidationError", `Row ${r.idx}: Target Warehouse is mandatory`);
      if (r.s_warehouse) outVal += flt(r.amount);
      if (r.t_warehouse) inVal += flt(r.amount);
    }
    doc.total_incoming_value = money(inVal);
    doc.total_outgoing_value = money(outVal);
    doc.value_difference = money(inVal - outVal);
  },
  onSubmit(doc, tx, env) {
    for (const r of rows(doc, "items")) {
      if (r.s_warehouse) applyStockMove(tx, env, str(r.item_code), str(r.s_warehouse), -flt(r.transfer_qty), doc);
      if (r.t_warehouse) applyStockMove(tx, env, str(r.item_code), str(r.t_warehouse), flt(r.transfer_qty), doc);
    }
  },
  onCancel(doc, tx, env) {
    for (const r of rows(doc, "items")) {
      if (r.t_warehouse) applyStockMove(tx, env, str(r.item_code), str(r.t_warehouse), -flt(r.transfer_qty), doc);
      if (r.s_warehouse) applyStockMove(tx, env, str(r.item_code), str(r.s_warehouse), flt(r.transfer_qty), doc);
    }
  },
};

// ------------------------------------------------------------------------------------- parties

function contactFullName(doc: Doc): string {
  const parts = [doc.first_name, doc.middle_name, doc.last_name]
    .map(str)
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.length ? parts.join(" ") : str(doc.company_name).trim();
}

const contact: Controller = {
  autoname(doc, tx) {
    let name = contactFullName(doc);
    const links = rows(doc, "links");
    if (links.length && links[0].link_name) name = `${name}-${str(links[0].link_name).trim()}`;
    if (!name) throw frappeThrow("ValidationError", "No Name Specified for Contact");
    return appendNumberIfExists(tx, "Contact", name);
  },
  validate(doc, tx) {
    doc.full_name = contactFullName(doc) || null;
    const emails = rows(doc, "email_ids");
    if (emails.length === 1 && !cint(emails[0].is_primary)) emails[0].is_primary = 1;
    if (emails.filter((e) => cint(e.is_primary)).length > 1) {
      throw frappeThrow("ValidationError", `Only one ${bold("Email ID")} can be set as primary.`);
    }
    doc.email_id = str(emails.find((e) => cint(e.is_primary))?.email_id).trim();
    const phones = rows(doc, "phone_nos");
    if (phones.length === 1 && !cint(phones[0].is_primary_phone) && !cint(phones[0].is_primary_mobile_no)) phones[0].is_primary_phone = 1;
    for (const [flag, field, label] of [
      ["is_primary_phone", "phone", "Phone"],
      ["is_primary_mobile_no", "mobile_no", "Mobile No"],
    ] as const) {
      if (phones.filter((p) => cint(p[flag])).length > 1)
        throw frappeThrow("ValidationError", `Only one ${bold(label)} can be set as primary.`);
      doc[field] = str(phones.find((p) => cint(p[flag]))?.phone);
    }
    for (const l of rows(doc, "links")) {
      const target = l.link_doctype && l.link_name ? tx.get(str(l.link_doctype), str(l.link_name)) : undefined;
      if (target) {
        const meta = tx.db.meta(str(l.link_doctype));
        l.link_title = (meta?.title_field ? target[meta.title_field] : null) ?? target.name;
      }
    }
  },
  onUpdate(doc, tx, env) {
    // a primary contact of a customer refreshes the customer's read-only mobile_no / email_id
    for (const l of rows(doc, "links")) {
      if (l.link_doctype !== "Customer") continue;
      const c = tx.get("Customer", str(l.link_name));
      if (c && c.customer_primary_contact === doc.name && (c.email_id !== doc.email_id || c.mobile_no !== doc.mobile_no)) {
        const upd = cloneDoc(c);
        upd.email_id = doc.email_id || null;
        upd.mobile_no = doc.mobile_no || null;
        upd.first_name = doc.first_name ?? null;
        upd.last_name = doc.last_name ?? null;
        upd.modified = env.clock.now();
        upd.modified_by = tx.user;
        tx.put("Customer", upd);
      }
    }
  },
};

const address: Controller = {
  autoname(doc, tx) {
    const title = str(doc.address_title).trim();
    if (!title) throw frappeThrow("ValidationError", "Address Title is mandatory.");
    return appendNumberIfExists(tx, "Address", `${title}-${str(doc.address_type).trim()}`);
  },
  setDefaults(doc) {
    const links = rows(doc, "links");
    if (!doc.address_title && links.length && links[0].link_name) doc.address_title = links[0].link_name;
  },
  validate(doc, tx) {
    for (const l of rows(doc, "links")) {
      const target = l.link_doctype && l.link_name ? tx.get(str(l.link_doctype), str(l.link_name)) : undefined;
      if (target) {
        const meta = tx.db.meta(str(l.link_doctype));
        l.link_title = (meta?.title_field ? target[meta.title_field] : null) ?? target.name;
      }
    }
  },
  onUpdate(doc, tx, env) {
    // setting is_primary / is_shipping clears the flag on other addresses of the same party
    for (const [flag] of [["is_primary_address"], ["is_shipping_address"]] as const) {
      if (!cint(doc[flag])) continue;
      for (const l of rows(doc, "links")) {
        for (const other of [...tx.all("Address")]) {
          if (other.name === doc.name || !cint(other[flag])) continue;
          if (rows(other, "links").some((x) => x.link_doctype === l.link_doctype && x.link_name === l.link_name)) {
            const upd = cloneDoc(other);
            upd[flag] = 0;
            upd.modified = env.clock.now();
            upd.modified_by = tx.user;
            tx.put("Address", upd);
          }
        }
      }
    }
  },
};

const customer: Controller = {
  autoname(doc, tx) {
    const cname = str(doc.customer_name).trim();
    if (!cname) throw frappeThrow("ValidationError", "No Name Specified for Customer");
    if (tx.exists("Customer Group", cname)) {
      throw frappeThrow("NameError", `A Customer Group exists with same name please change the Customer name or rename the Customer Group`);
    }
    if (!tx.exists("Customer", cname)) return cname;
    const re = new RegExp(`^${cname.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} - (\\d+)$`, "i");
    let max = 0;
    for (const d of tx.all("Customer")) {
      const m = re.exec(String(d.name));
      if (m) max = Math.max(max, Number(m[1]));
    }
    const name = `${cname} - ${max + 1}`;
    tx.messages.push({ message: `Changed customer name to '${name}' as '${cname}' already exists.`, title: "Note", indicator: "yellow" });
    return name;
  },
  validate(doc, tx) {
    const seen = new Set<string>();
    for (const r of rows(doc, "credit_limits")) {
      const company = str(r.company);
      if (seen.has(company)) throw frappeThrow("ValidationError", `Credit limit is already defined for the Company ${company}`);
      seen.add(company);
      if (flt(r.credit_limit) < 0) throw frappeThrow("ValidationError", "Credit Limit cannot be negative");
    }
    if (doc.customer_primary_contact) {
      const c = tx.get("Contact", str(doc.customer_primary_contact));
      if (c) {
        doc.email_id = c.email_id || null;
        doc.mobile_no = c.mobile_no || null;
      }
    }
    if (doc.customer_primary_address) {
      const a = tx.get("Address", str(doc.customer_primary_address));
      if (a)
        doc.primary_address = [a.address_line1, a.address_line2, [a.pincode, a.city].filter(Boolean).join(" "), a.country]
          .filter(Boolean)
          .join("<br>\n");
    }
  },
  afterInsert(doc, tx, env) {
    // reference §6: flat contact/address fields on insert create linked Contact/Address
    if (!doc.customer_primary_contact && (doc.email_id || doc.mobile_no)) {
      const c = services.docs?.insert(tx, "Contact", {
        first_name: doc.customer_name,
        is_primary_contact: 1,
        email_ids: doc.email_id ? [{ email_id: doc.email_id, is_primary: 1 }] : [],
        phone_nos: doc.mobile_no ? [{ phone: doc.mobile_no, is_primary_mobile_no: 1 }] : [],
        links: [{ link_doctype: "Customer", link_name: doc.name }],
      });
      if (c) doc.customer_primary_contact = c.name;
    }
    const raw = ((doc as { __raw?: Doc }).__raw ?? {}) as Doc;
    if (raw.address_line1) {
      // create_primary_address (quick entry): needs city and country
      const missing = [raw.city ? null : "City", raw.country ? null : "Country"].filter(Boolean);
      if (missing.length)
        throw frappeThrow("ValidationError", `Following fields are mandatory to create address: ${missing.join(", ")}`, {
          title: "Missing Values Required",
        });
      const a = services.docs?.insert(tx, "Address", {
        address_title: doc.customer_name,
        address_line1: raw.address_line1,
        address_line2: raw.address_line2 ?? null,
        city: raw.city,
        state: raw.state ?? null,
        pincode: raw.pincode ?? null,
        country: raw.country,
        is_primary_address: 1,
        is_shipping_address: 1,
        links: [{ link_doctype: "Customer", link_name: doc.name }],
      });
      if (a) {
        doc.customer_primary_address = a.name;
        doc.primary_address = [a.address_line1, a.address_line2, [a.pincode, a.city].filter(Boolean).join(" "), a.country]
          .filter(Boolean)
          .join("<br>\n");
      }
    }
    void env;
  },
  onTrash(doc, tx) {
    // delete_contact_and_address: contacts/addresses linked only to this customer are deleted, others unlinked
    for (const dt of ["Contact", "Address"]) {
      for (const d of [...tx.all(dt)]) {
        const links = rows(d, "links");
        if (!links.some((l) => l.link_doctype === "Customer" && l.link_name === doc.name)) continue;
        if (links.length === 1) tx.remove(dt, String(d.name));
        else {
          const upd = cloneDoc(d);
          upd.links = links.filter((l) => !(l.link_doctype === "Customer" && l.link_name === doc.name)).map((l) => ({ ...l }));
          tx.put(dt, upd);
        }
      }
    }
  },
};

const item: Controller = {
  ignoreLinkedDoctypes: ["Item Price", "Bin"],
  onTrash(doc, tx) {
    // erpnext Item.on_trash deletes its prices and bins
    for (const dt of ["Item Price", "Bin"]) for (const d of [...tx.all(dt)]) if (d.item_code === doc.name) tx.remove(dt, String(d.name));
  },
  setDefaults(doc, tx, env) {
    if (!doc.item_name) doc.item_name = doc.item_code ?? null;
    if (!doc.description) doc.description = doc.item_name ?? null;
    if (!rows(doc, "item_defaults").length && cint(doc.is_stock_item)) {
      doc.item_defaults = [{ company: env.settings.company, default_warehouse: env.settings.defaultWarehouse, name: null, idx: 1 }];
      const meta = tx.db.meta("Item Default");
      if (meta) setFieldDefaults(meta, (doc.item_defaults as Doc[])[0], env);
    }
    if (!rows(doc, "uoms").length && doc.stock_uom) {
      doc.uoms = [{ uom: doc.stock_uom, conversion_factor: 1, name: null, idx: 1 }];
    }
  },
  validate(doc) {
    if (doc.item_code) doc.item_code = str(doc.item_code).trim();
  },
  afterInsert(doc, tx, env) {
    if (flt(doc.standard_rate)) {
      services.docs?.insert(tx, "Item Price", {
        item_code: doc.name,
        price_list: env.settings.sellingPriceList,
        price_list_rate: doc.standard_rate,
        uom: doc.stock_uom,
      });
    }
    if (flt(doc.opening_stock) && cint(doc.is_stock_item)) {
      const wh = str(rows(doc, "item_defaults")[0]?.default_warehouse) || env.settings.defaultWarehouse;
      applyStockMove(tx, env, String(doc.name), wh, flt(doc.opening_stock), { doctype: "Stock Entry", name: "Opening Stock" });
    }
  },
};

const itemPrice: Controller = {
  setDefaults(doc, tx) {
    const it = doc.item_code ? tx.get("Item", str(doc.item_code)) : undefined;
    if (it) {
      doc.item_name = it.item_name ?? null;
      doc.item_description = it.description ?? null;
      doc.brand = it.brand ?? null;
      if (!doc.uom) doc.uom = it.stock_uom ?? null;
    }
    const pl = doc.price_list ? tx.get("Price List", str(doc.price_list)) : undefined;
    if (pl) {
      doc.currency = pl.currency ?? null;
      doc.selling = cint(pl.selling);
      doc.buying = cint(pl.buying);
    }
  },
  validate(doc, tx) {
    if (doc.item_code && !tx.exists("Item", str(doc.item_code))) throw frappeThrow("ValidationError", `Item ${doc.item_code} not found.`);
    const pl = doc.price_list ? tx.get("Price List", str(doc.price_list)) : undefined;
    if (pl && !cint(pl.enabled)) throw frappeThrow("ValidationError", `Price List ${doc.price_list} is disabled`);
    if (doc.valid_from && doc.valid_upto && str(doc.valid_upto) < str(doc.valid_from)) {
      throw frappeThrow("ValidationError", "Valid From Date must be lesser than Valid Upto Date.");
    }
    for (const p of tx.all("Item Price")) {
      if (p.name === doc.name) continue;
      if (p.item_code !== doc.item_code || p.price_list !== doc.price_list) continue;
      if (
        str(p.uom) !== str(doc.uom) ||
        str(p.customer) !== str(doc.customer) ||
        str(p.supplier) !== str(doc.supplier) ||
        str(p.batch_no) !== str(doc.batch_no)
      )
        continue;
      const aFrom = str(p.valid_from) || "0001-01-01";
      const aTo = str(p.valid_upto) || "9999-12-31";
      const bFrom = str(doc.valid_from) || "0001-01-01";
      const bTo = str(doc.valid_upto) || "9999-12-31";
      if (aFrom <= bTo && bFrom <= aTo) {
        throw frappeThrow(
          "ItemPriceDuplicateItem",
          "Item Price appears multiple times based on Price List, Supplier/Customer, Currency, Item, Batch, UOM, Qty, and Dates.",
          { title: "Duplicate Item Price" },
        );
      }
    }
  },
};

const warehouse: Controller = {
  setDefaults(doc, _tx, env) {
    if (!doc.company) doc.company = env.settings.company;
  },
  autoname(doc, tx) {
    const company = tx.get("Company", str(doc.company));
    const abbr = str(company?.abbr);
    const base = str(doc.warehouse_name).trim();
    return abbr && !base.endsWith(` - ${abbr}`) ? `${base} - ${abbr}` : base;
  },
};

const customField: Controller = {
  afterInsert(doc, tx) {
    const meta = tx.db.meta(str(doc.dt));
    if (!meta) return;
    const f = makeField(
      [
        str(doc.fieldname),
        str(doc.fieldtype) || "Data",
        (doc.options as string) || null,
        `${cint(doc.reqd) ? "r" : ""}${cint(doc.read_only) ? "o" : ""}${cint(doc.allow_on_submit) ? "s" : ""}${cint(doc.unique) ? "u" : ""}${cint(doc.hidden) ? "h" : ""}${cint(doc.in_list_view) ? "l" : ""}`,
        (doc.default as string) ?? null,
      ],
      true,
    );
    if (doc.label) f.label = str(doc.label);
    f.insert_after = (doc.insert_after as string) || null;
    const at = f.insert_after ? meta.fields.findIndex((x) => x.fieldname === f.insert_after) : -1;
    if (at >= 0) meta.fields.splice(at + 1, 0, f);
    else meta.fields.push(f);
    indexMeta(meta);
    meta.modified = String(doc.modified);
    tx.db.bump(meta.name);
  },
  onTrash(doc, tx) {
    const meta = tx.db.meta(str(doc.dt));
    if (!meta) return;
    meta.fields = meta.fields.filter((x) => !(x.is_custom_field && x.fieldname === doc.fieldname));
    indexMeta(meta);
    tx.db.bump(meta.name);
  },
  setDefaults(doc) {
    if (!doc.fieldname && doc.label) {
      doc.fieldname = `custom_${str(doc.label)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "_")
        .replace(/^_|_$/g, "")}`;
    }
  },
  autoname(doc) {
    return `${doc.dt}-${doc.fieldname}`;
  },
  validate(doc, tx) {
    const meta = tx.db.meta(str(doc.dt));
    if (!meta) return;
    const existing = meta.fieldMap.get(str(doc.fieldname));
    if (existing && !existing.is_custom_field) {
      throw frappeThrow("ValidationError", `Fieldname ${bold(doc.fieldname)} already exists in ${doc.dt}`);
    }
  },
};

const webhook: Controller = {
  validate(doc, tx) {
    const dt = str(doc.webhook_doctype);
    const ev = str(doc.webhook_docevent);
    const meta = tx.db.meta(dt);
    if (meta && ["on_submit", "on_cancel", "on_update_after_submit"].includes(ev) && !meta.is_submittable) {
      throw frappeThrow("ValidationError", "DocType must be Submittable for the selected Doc Event");
    }
    try {
      const u = new URL(str(doc.request_url));
      if (!u.host) throw new Error("no host");
    } catch {
      throw frappeThrow("ValidationError", "Check Request URL");
    }
    if (doc.request_structure === "JSON" && doc.webhook_json) {
      // frappe checks the template renders valid JSON with a sample doc; we only check braces balance
    }
    if (cint(doc.enable_security) && !doc.webhook_secret)
      throw frappeThrow("ValidationError", "Webhook Secret is mandatory when security is enabled");
  },
};

/** Late-bound access to the document service (controllers create linked docs). */
export const services: { docs?: { insert(tx: Tx, doctype: string, body: Doc): Doc } } = {};

export function buildControllers(): ControllerMap {
  return new Map<string, Controller>([
    ["Customer", customer],
    ["Contact", contact],
    ["Address", address],
    ["Item", item],
    ["Item Price", itemPrice],
    ["Sales Order", salesOrder],
    ["Sales Invoice", salesInvoice],
    ["Payment Entry", paymentEntry],
    ["Stock Entry", stockEntry],
    ["Warehouse", warehouse],
    ["Custom Field", customField],
    ["Webhook", webhook],
  ]);
}
