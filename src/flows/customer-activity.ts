/**
 * A customer's activity outside the synced objects, for the customer 360: its SERVICE CASES (CRM) and
 * its PAYMENT HISTORY (ERP). Neither is synced; both are read live, found through the customer's link:
 * cases by the CRM record's id (the case's account reference), payments by the ERP record's id (the
 * payment's party) — the same pair of ids the other sections use.
 *
 * Where they live is the integration file's `reports.customer360` (cases: entity, customer reference,
 * subject, status, closed statuses …; payments: what `reports.revenue.payments` does not say, such as
 * the mode and reference columns).
 */
import { fieldRoot, isFieldPath } from "../connectors/field-path.ts";
import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import { readValue } from "../engine/paths.ts";
import type { DocState, IntegrationSpec } from "../spec/model.ts";
import type { Json } from "../store/types.ts";

/** Where a CRM keeps service cases and which of their fields the 360 shows. */
export interface CaseSource {
  entity: string;
  /** The case's reference to the customer's CRM record (its id). */
  customer: string;
  subject: string;
  status: string;
  /** Statuses that mean the case is closed (anything else is open). */
  closed: string[];
  priority?: string;
  type?: string;
  number?: string;
}

/** Where an ERP keeps payments received and which of their fields the 360 shows. */
export interface PaymentSource {
  entity: string;
  /** The payment's reference to the customer's ERP record (its id). */
  customer: string;
  amount: string;
  date: string;
  /** Document states shown (records without a state always show). */
  states: DocState[];
  /** The invoice(s) it settles: a field, a path, or `table.column` (one per row). */
  invoice?: string;
  mode?: string;
  reference?: string;
  filter?: FilterExpr[];
}

export interface ServiceCase {
  id: string;
  number: Json;
  subject: string | null;
  status: string | null;
  open: boolean;
  priority: string | null;
  type: string | null;
  created: string | null;
}

export interface PaymentRecord {
  id: string;
  date: string | null;
  amount: number;
  mode: string | null;
  reference: string | null;
  /** The invoices it settles. */
  invoices: string[];
  state: string | null;
}

/**
 * The case and payment sources of an integration, from its file's `reports.customer360` (payments:
 * what that section leaves out comes from `reports.revenue.payments`, merged when the file loads).
 * Nothing here names a system: without the section, the 360 says how to add it.
 */
export function activitySources(spec: IntegrationSpec): { cases?: CaseSource; payments?: PaymentSource } {
  const c = spec.reports?.customer360;
  const cases: CaseSource | undefined = c?.cases ? { ...c.cases } : undefined;
  const p = c?.payments;
  const payments: PaymentSource | undefined = p
    ? {
        entity: p.entity,
        customer: p.customer,
        amount: p.amount,
        date: p.date,
        states: p.states,
        ...(p.invoice ? { invoice: p.invoice } : {}),
        ...(p.mode ? { mode: p.mode } : {}),
        ...(p.reference ? { reference: p.reference } : {}),
        ...(p.filter ? { filter: p.filter as FilterExpr[] } : {}),
      }
    : undefined;
  return { ...(cases ? { cases } : {}), ...(payments ? { payments } : {}) };
}

function str(v: unknown): string | null {
  if (v === null || v === undefined || v === "") return null;
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
}

function num(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
}

/** `table.column` (not a `[…]` path): the column over every row of a table. */
function rowsColumn(name: string): { table: string; column: string } | undefined {
  if (isFieldPath(name)) return undefined;
  const i = name.indexOf(".");
  return i > 0 ? { table: name.slice(0, i), column: name.slice(i + 1) } : undefined;
}

function fieldOf(rec: RemoteRecord, name: string): unknown {
  return isFieldPath(name) ? readValue(rec.values, name).value : rec.values[name];
}

function valuesOf(rec: RemoteRecord, name: string): string[] {
  const rc = rowsColumn(name);
  if (!rc) {
    const v = str(fieldOf(rec, name));
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

const rootOf = (name: string): string => rowsColumn(name)?.table ?? fieldRoot(name);

/** Whether a record passes the filter (conditions on fields it lacks are left to the system). */
function passes(rec: RemoteRecord, filter: FilterExpr[]): boolean {
  return filter.every((c) => {
    if (!(c.field in rec.values)) return true;
    const v = String(rec.values[c.field] ?? "");
    const list = (Array.isArray(c.value) ? c.value : [c.value]).map((x) => String(x ?? ""));
    switch (c.op) {
      case "=":
        return v === String(c.value ?? "");
      case "!=":
        return v !== String(c.value ?? "");
      case "in":
        return list.includes(v);
      case "not in":
        return !list.includes(v);
      default:
        return true;
    }
  });
}

const day = (v: unknown): string | null => {
  const s = str(v);
  return s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
};

/** The customer's service cases (by its CRM record id), newest first. */
export async function serviceCases(crm: Connector, src: CaseSource, crmCustomerId: string): Promise<ServiceCase[]> {
  const found = await crm.findByField(src.entity, src.customer, crmCustomerId);
  const out = found
    .filter((r) => str(fieldOf(r, src.customer)) === crmCustomerId || !(src.customer in r.values))
    .map((r): ServiceCase => {
      const status = str(fieldOf(r, src.status));
      return {
        id: r.id,
        number: src.number ? ((fieldOf(r, src.number) ?? null) as Json) : null,
        subject: str(fieldOf(r, src.subject)),
        status,
        open: status === null || !src.closed.includes(status),
        priority: src.priority ? str(fieldOf(r, src.priority)) : null,
        type: src.type ? str(fieldOf(r, src.type)) : null,
        created: r.createdAt ?? null,
      };
    });
  return out.sort((a, b) => (b.created ?? "").localeCompare(a.created ?? "") || b.id.localeCompare(a.id));
}

/** The customer's payments (by its ERP record id), in the shown states and passing the filter; newest first. */
export async function paymentHistory(erp: Connector, src: PaymentSource, erpCustomerId: string): Promise<PaymentRecord[]> {
  const found = await erp.findByField(src.entity, src.customer, erpCustomerId);
  const inState = (r: RemoteRecord) => r.state === undefined || src.states.includes(r.state as DocState);
  const ids = found.filter((r) => inState(r) && passes(r, src.filter ?? [])).map((r) => r.id);
  if (!ids.length) return [];
  const fields = [src.customer, src.amount, src.date, src.invoice, src.mode, src.reference, ...(src.filter ?? []).map((f) => f.field)];
  const wanted = [...new Set(fields.filter((f): f is string => Boolean(f)).map(rootOf))];
  const records = await erp.readByIds(src.entity, ids, wanted);
  return records
    .filter((r) => inState(r) && passes(r, src.filter ?? []) && str(fieldOf(r, src.customer)) === erpCustomerId)
    .map(
      (r): PaymentRecord => ({
        id: r.id,
        date: day(fieldOf(r, src.date)),
        amount: Math.round(num(fieldOf(r, src.amount)) * 100) / 100,
        mode: src.mode ? str(fieldOf(r, src.mode)) : null,
        reference: src.reference ? str(fieldOf(r, src.reference)) : null,
        invoices: src.invoice ? valuesOf(r, src.invoice) : [],
        state: r.state ?? null,
      }),
    )
    .sort((a, b) => (b.date ?? "").localeCompare(a.date ?? "") || b.id.localeCompare(a.id));
}

export interface CustomerActivity {
  cases: { entity: string; open: number; closed: number; items: ServiceCase[] } | null;
  payments: { entity: string; total: number; items: PaymentRecord[] } | null;
  /** Why a section is null (no known source, no record in that system, no connection, a failed read). */
  notes: { cases: string | null; payments: string | null };
}

/**
 * Cases and payments of one customer, by its CRM and ERP record ids. With `lenient`, a failed read
 * becomes a note (the console shows the rest of the 360); otherwise it throws.
 */
export async function customerActivity(
  spec: IntegrationSpec,
  systems: { crm?: Connector; erp?: Connector } | undefined,
  ids: { crmId: string | null; erpId: string | null },
  opts: { lenient?: boolean } = {},
): Promise<CustomerActivity> {
  const sources = activitySources(spec);
  const out: CustomerActivity = { cases: null, payments: null, notes: { cases: null, payments: null } };
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | string> => {
    try {
      return await fn();
    } catch (err) {
      if (!opts.lenient) throw err;
      return `could not read ${what}: ${(err as Error).message}`;
    }
  };
  if (!sources.cases) out.notes.cases = "the integration file has no reports.customer360.cases (where the CRM keeps service cases)";
  else if (!systems?.crm) out.notes.cases = "the server was started without the CRM's credentials";
  else if (!ids.crmId) out.notes.cases = "the customer has no CRM record";
  else {
    const src = sources.cases;
    const crm = systems.crm;
    const crmId = ids.crmId;
    const items = await attempt(`${src.entity} records`, () => serviceCases(crm, src, crmId));
    if (typeof items === "string") out.notes.cases = items;
    else {
      items.sort((a, b) => Number(b.open) - Number(a.open));
      const open = items.filter((c) => c.open).length;
      out.cases = { entity: src.entity, open, closed: items.length - open, items };
    }
  }
  if (!sources.payments) out.notes.payments = "the integration file has no reports.customer360.payments (where the ERP keeps payments received)";
  else if (!systems?.erp) out.notes.payments = "the server was started without the ERP's credentials";
  else if (!ids.erpId) out.notes.payments = "the customer has no ERP record";
  else {
    const src = sources.payments;
    const erp = systems.erp;
    const erpId = ids.erpId;
    const items = await attempt(`${src.entity} records`, () => paymentHistory(erp, src, erpId));
    if (typeof items === "string") out.notes.payments = items;
    else out.payments = { entity: src.entity, total: Math.round(items.reduce((s, p) => s + p.amount * 100, 0)) / 100, items };
  }
  return out;
}
