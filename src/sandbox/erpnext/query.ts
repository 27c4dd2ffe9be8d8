/**
 * `frappe.client.get_list` over the in-memory tables: fields, filters / or_filters (dict, 3- and
 * 4-tuples, child-table filters), every operator of reference §2.2 with MariaDB semantics (IFNULL
 * fallbacks, case-insensitive text collation), order_by (validated), paging.
 */
import type { Doc, ErpDb } from "./db.ts";
import { FrappeError, frappeThrow } from "./frappe-errors.ts";
import { CHILD_STANDARD_FIELDS, type DocTypeMeta, OPTIONAL_COLUMNS, STANDARD_FIELDS, VALUE_NUMERIC } from "./meta.ts";
import { addDays, addMonths, canonicalDate, canonicalDatetime, flt, pyDatetimeStr, pyTimeStr } from "./util.ts";

export const OPERATORS = [
  "=",
  "!=",
  ">",
  "<",
  ">=",
  "<=",
  "like",
  "not like",
  "in",
  "not in",
  "is",
  "between",
  "timespan",
  "previous",
  "next",
  "descendants of",
  "descendants of (inclusive)",
  "not descendants of",
  "ancestors of",
  "not ancestors of",
];
const OPERATOR_SET = new Set(OPERATORS);

export interface ListParams {
  fields?: unknown;
  filters?: unknown;
  or_filters?: unknown;
  order_by?: unknown;
  limit_start?: unknown;
  limit_page_length?: unknown;
  limit?: unknown;
  as_dict?: unknown;
  group_by?: unknown;
}

interface Cond {
  /** doctype the column belongs to (the listed doctype or one of its child doctypes) */
  dt: string;
  field: string;
  test: (row: Doc) => boolean;
}

export function parseJsonParam(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const s = v.trim();
  if (s === "") return undefined;
  if (s[0] === "[" || s[0] === "{" || s[0] === '"') {
    try {
      return JSON.parse(s);
    } catch {
      throw frappeThrow("ValidationError", `Invalid JSON: ${s.slice(0, 100)}`);
    }
  }
  return s;
}

function unknownColumn(field: string, where: string): FrappeError {
  return new FrappeError("OperationalError", {
    exception: `(1054, "Unknown column '${field}' in '${where}'")`,
  });
}

/** Type of a column on a doctype (standard columns included), or undefined. */
export function columnType(meta: DocTypeMeta, field: string): string | undefined {
  const df = meta.fieldMap.get(field);
  if (df) return df.fieldtype === "Read Only" ? "Data" : df.fieldtype;
  if (field in STANDARD_FIELDS) return STANDARD_FIELDS[field];
  if (meta.istable && field in CHILD_STANDARD_FIELDS) return "Data";
  if (OPTIONAL_COLUMNS.includes(field)) return "Text";
  return undefined;
}

function stripColumn(raw: string): { table?: string; field: string } {
  const s = raw.trim().replace(/`/g, "");
  const dot = s.lastIndexOf(".");
  if (dot > 0) {
    const t = s.slice(0, dot);
    return { table: t.startsWith("tab") ? t.slice(3) : t, field: s.slice(dot + 1) };
  }
  return { field: s };
}

/** The table fields of `meta` whose rows are of doctype `child`. */
function childTables(meta: DocTypeMeta, child: string): string[] {
  return meta.tableFields.filter((f) => f.options === child).map((f) => f.fieldname);
}

function sqlLikeRegex(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`, "i");
}

type Kind = "num" | "date" | "datetime" | "text";
function kindOf(ftype: string): Kind {
  if (VALUE_NUMERIC.has(ftype)) return "num";
  if (ftype === "Date") return "date";
  if (ftype === "Datetime") return "datetime";
  return "text";
}

function fallback(kind: Kind): string | number {
  return kind === "num" ? 0 : kind === "date" ? "0001-01-01" : kind === "datetime" ? "0001-01-01 00:00:00.000000" : "";
}

/** Convert a filter value to the comparable form of the column kind. */
function coerce(kind: Kind, v: unknown): string | number {
  if (kind === "num") return flt(v);
  if (v === null || v === undefined) return "";
  if (kind === "datetime") return canonicalDatetime(String(v)) ?? String(v);
  if (kind === "date") return canonicalDate(String(v)) ?? String(v);
  return String(v).toLowerCase();
}

function rowValue(kind: Kind, v: unknown): string | number {
  if (v === null || v === undefined) return fallback(kind);
  if (kind === "num") return typeof v === "number" ? v : flt(v);
  if (kind === "text") return String(v).toLowerCase();
  return String(v);
}

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstDayOfWeek(d: string): string {
  const wd = new Date(`${d}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(d, -((wd + 6) % 7));
}
function quarterStart(d: string): string {
  const m = Number(d.slice(5, 7));
  return `${d.slice(0, 4)}-${String(Math.floor((m - 1) / 3) * 3 + 1).padStart(2, "0")}-01`;
}
const monthEnd = (d: string) => addDays(addMonths(`${d.slice(0, 7)}-01`, 1), -1);

/** `get_timespan_date_range` (weeks start on Monday). */
export function timespanRange(value: string, today: string): [string, string] {
  const v = value.toLowerCase().trim();
  const m0 = `${today.slice(0, 7)}-01`;
  const y0 = `${today.slice(0, 4)}-01-01`;
  switch (v) {
    case "today":
      return [today, today];
    case "yesterday":
      return [addDays(today, -1), addDays(today, -1)];
    case "tomorrow":
      return [addDays(today, 1), addDays(today, 1)];
    case "this week":
      return [firstDayOfWeek(today), addDays(firstDayOfWeek(today), 6)];
    case "last week":
      return [firstDayOfWeek(addDays(today, -7)), addDays(firstDayOfWeek(addDays(today, -7)), 6)];
    case "next week":
      return [firstDayOfWeek(addDays(today, 7)), addDays(firstDayOfWeek(addDays(today, 7)), 6)];
    case "this month":
      return [m0, monthEnd(m0)];
    case "last month":
      return [addMonths(m0, -1), monthEnd(addMonths(m0, -1))];
    case "next month":
      return [addMonths(m0, 1), monthEnd(addMonths(m0, 1))];
    case "this quarter":
      return [quarterStart(today), monthEnd(addMonths(quarterStart(today), 2))];
    case "last quarter":
      return [addMonths(quarterStart(today), -3), monthEnd(addMonths(quarterStart(today), -1))];
    case "next quarter":
      return [addMonths(quarterStart(today), 3), monthEnd(addMonths(quarterStart(today), 5))];
    case "last 6 months":
      return [addMonths(quarterStart(today), -6), monthEnd(addMonths(quarterStart(today), -1))];
    case "next 6 months":
      return [addMonths(quarterStart(today), 3), monthEnd(addMonths(quarterStart(today), 8))];
    case "this year":
      return [y0, `${today.slice(0, 4)}-12-31`];
    case "last year":
      return [addMonths(y0, -12), `${Number(today.slice(0, 4)) - 1}-12-31`];
    case "next year":
      return [addMonths(y0, 12), `${Number(today.slice(0, 4)) + 1}-12-31`];
    default:
      throw frappeThrow("ValidationError", `Invalid timespan: ${value}`);
  }
}

function intervalRange(value: string, today: string, previous: boolean): [string, string] {
  const m = /^\s*(\d+)\s*(day|week|month|quarter|year)s?\s*$/i.exec(value);
  if (!m) throw frappeThrow("ValidationError", `Invalid interval: ${value}`);
  const n = Number(m[1]) * (previous ? -1 : 1);
  const unit = m[2].toLowerCase();
  const other =
    unit === "day"
      ? addDays(today, n)
      : unit === "week"
        ? addDays(today, 7 * n)
        : addMonths(today, n * (unit === "quarter" ? 3 : unit === "year" ? 12 : 1));
  return previous ? [other, today] : [today, other];
}

function treeNodes(db: ErpDb, treeDoctype: string, start: string, mode: "descendants" | "ancestors"): Set<string> {
  const meta = db.meta(treeDoctype);
  const out = new Set<string>();
  const parentField = meta?.nsm_parent_field;
  if (!meta || !parentField) return out;
  if (mode === "ancestors") {
    let cur = db.get(treeDoctype, start);
    const guard = new Set<string>();
    while (cur && typeof cur[parentField] === "string" && cur[parentField] && !guard.has(String(cur.name))) {
      guard.add(String(cur.name));
      const p = String(cur[parentField]);
      out.add(p.toLowerCase());
      cur = db.get(treeDoctype, p);
    }
    return out;
  }
  const children = new Map<string, string[]>();
  for (const d of db.all(treeDoctype)) {
    const p = d[parentField];
    if (typeof p === "string" && p) {
      const k = p.toLowerCase();
      const arr = children.get(k) ?? [];
      arr.push(String(d.name));
      children.set(k, arr);
    }
  }
  const stack = [start.toLowerCase()];
  while (stack.length) {
    const k = stack.pop() as string;
    for (const c of children.get(k) ?? []) {
      const lc = c.toLowerCase();
      if (!out.has(lc)) {
        out.add(lc);
        stack.push(lc);
      }
    }
  }
  return out;
}

/** Build the predicate for one condition on one column. */
function makeTest(db: ErpDb, today: string, meta: DocTypeMeta, field: string, opIn: unknown, value: unknown): (row: Doc) => boolean {
  const op = String(opIn ?? "=")
    .toLowerCase()
    .trim();
  if (!OPERATOR_SET.has(op)) {
    throw frappeThrow("ValidationError", `Operator must be one of ${OPERATORS.join(", ")}`);
  }
  const ftype = columnType(meta, field) ?? "Data";
  const kind = kindOf(ftype);
  const get = (row: Doc) => row[field];

  switch (op) {
    case "=":
    case "!=":
    case ">":
    case "<":
    case ">=":
    case "<=": {
      const v = coerce(kind, value);
      const nullNeverMatches = op === "=" && value !== "" && value !== null && value !== undefined && value !== 0;
      return (row) => {
        const raw = get(row);
        if ((raw === null || raw === undefined) && nullNeverMatches && kind !== "num") return false;
        const c = cmp(rowValue(kind, raw), v);
        switch (op) {
          case "=":
            return c === 0;
          case "!=":
            return c !== 0;
          case ">":
            return c > 0;
          case "<":
            return c < 0;
          case ">=":
            return c >= 0;
          default:
            return c <= 0;
        }
      };
    }
    case "like":
    case "not like": {
      const pattern = String(value ?? "");
      const re = sqlLikeRegex(pattern);
      if (op === "like") {
        const ifnull = pattern === "";
        return (row) => {
          const raw = get(row);
          if (raw === null || raw === undefined) return ifnull ? re.test("") : false;
          return re.test(String(raw));
        };
      }
      return (row) => {
        const raw = get(row);
        return !re.test(raw === null || raw === undefined ? "" : String(raw));
      };
    }
    case "in":
    case "not in": {
      let list: unknown[];
      if (Array.isArray(value)) list = value;
      else if (value === null || value === undefined || value === "") list = [];
      else
        list = String(value)
          .split(",")
          .map((s) => s.trim());
      if (list.length === 0) list = [""];
      const set = new Set(list.map((x) => coerce(kind, x)));
      const negate = op === "not in";
      return (row) => set.has(rowValue(kind, get(row))) !== negate;
    }
    case "is": {
      const v = String(value ?? "").toLowerCase();
      if (v !== "set" && v !== "not set") throw frappeThrow("ValidationError", `Invalid value for is: ${String(value)}`);
      const wantSet = v === "set";
      return (row) => {
        const raw = get(row);
        const isSet = kind === "num" ? flt(raw) !== 0 : !(raw === null || raw === undefined || raw === "");
        return isSet === wantSet;
      };
    }
    case "between":
    case "timespan":
    case "previous":
    case "next": {
      let from: unknown;
      let to: unknown;
      if (op === "between") {
        const arr = Array.isArray(value) ? value : typeof value === "string" ? value.split(",").map((s) => s.trim()) : [value];
        from = arr[0] ?? today;
        to = arr[1] ?? today;
      } else if (op === "timespan") [from, to] = timespanRange(String(value ?? ""), today);
      else [from, to] = intervalRange(String(value ?? ""), today, op === "previous");
      let lo: string | number;
      let hi: string | number;
      if (kind === "datetime") {
        lo = canonicalDatetime(String(from)) ?? String(from);
        const toS = String(to);
        hi = /^\d{4}-\d{1,2}-\d{1,2}$/.test(toS.trim()) ? `${canonicalDate(toS)} 23:59:59.999999` : (canonicalDatetime(toS) ?? toS);
      } else {
        lo = coerce(kind, from);
        hi = coerce(kind, to);
      }
      return (row) => {
        const raw = get(row);
        if (raw === null || raw === undefined) return false;
        const x = rowValue(kind, raw);
        return x >= lo && x <= hi;
      };
    }
    default: {
      // tree operators
      const df = meta.fieldMap.get(field);
      const treeDt = field === "name" ? meta.name : df?.fieldtype === "Link" ? String(df.options) : meta.name;
      const mode = op.includes("ancestors") ? "ancestors" : "descendants";
      const set = treeNodes(db, treeDt, String(value ?? ""), mode);
      if (op === "descendants of (inclusive)") set.add(String(value ?? "").toLowerCase());
      const negate = op.startsWith("not ");
      return (row) => {
        const raw = get(row);
        const v = raw === null || raw === undefined ? "" : String(raw).toLowerCase();
        return set.has(v) !== negate;
      };
    }
  }
}

/** Normalise the filters param into [doctype|undefined, field, op, value] tuples. */
function normaliseFilters(input: unknown): Array<[string | undefined, string, unknown, unknown]> {
  const f = parseJsonParam(input);
  if (f === undefined || f === null || f === "") return [];
  const out: Array<[string | undefined, string, unknown, unknown]> = [];
  const fromEntry = (key: string, v: unknown) => {
    if (Array.isArray(v)) out.push([undefined, key, v[0], v[1]]);
    else out.push([undefined, key, "=", v]);
  };
  if (Array.isArray(f)) {
    for (const item of f) {
      if (Array.isArray(item)) {
        if (item.length === 4) out.push([String(item[0]), String(item[1]), item[2], item[3]]);
        else if (item.length === 3) out.push([undefined, String(item[0]), item[1], item[2]]);
        else if (item.length === 2) out.push([undefined, String(item[0]), "=", item[1]]);
        else throw frappeThrow("ValidationError", `Invalid filter: ${JSON.stringify(item)}`);
      } else if (item && typeof item === "object") {
        for (const [k, v] of Object.entries(item as Record<string, unknown>)) fromEntry(k, v);
      } else throw frappeThrow("ValidationError", `Invalid filter: ${JSON.stringify(item)}`);
    }
  } else if (typeof f === "object") {
    for (const [k, v] of Object.entries(f as Record<string, unknown>)) fromEntry(k, v);
  } else {
    throw frappeThrow("ValidationError", `Invalid filters: ${String(f).slice(0, 100)}`);
  }
  return out;
}

function buildConds(db: ErpDb, today: string, meta: DocTypeMeta, input: unknown): Cond[] {
  const conds: Cond[] = [];
  for (const [dtIn, fieldIn, op, value] of normaliseFilters(input)) {
    const col = stripColumn(fieldIn);
    let dt = dtIn ?? col.table ?? meta.name;
    let field = col.field;
    if (dt === meta.name && !columnType(meta, field)) {
      // not on the parent: search child tables for it
      for (const tf of meta.tableFields) {
        const cm = db.meta(String(tf.options));
        if (cm?.fieldMap.has(field)) {
          dt = cm.name;
          break;
        }
      }
    }
    const targetMeta = dt === meta.name ? meta : db.meta(dt);
    if (!targetMeta || (dt !== meta.name && childTables(meta, dt).length === 0)) {
      throw unknownColumn(`tab${dt}.${field}`, "where clause");
    }
    if (!columnType(targetMeta, field)) throw unknownColumn(`tab${dt}.${field}`, "where clause");
    if (field === "name" && targetMeta !== meta) field = "name";
    conds.push({ dt, field, test: makeTest(db, today, targetMeta, field, op, value) });
  }
  return conds;
}

/** A parent-level predicate from AND-ed conditions (child conditions of one doctype must hold on the same row). */
function andPredicate(meta: DocTypeMeta, conds: Cond[]): ((doc: Doc) => boolean) | null {
  if (!conds.length) return null;
  const parentTests = conds.filter((c) => c.dt === meta.name).map((c) => c.test);
  const byChild = new Map<string, Array<(r: Doc) => boolean>>();
  for (const c of conds) {
    if (c.dt === meta.name) continue;
    const arr = byChild.get(c.dt) ?? [];
    arr.push(c.test);
    byChild.set(c.dt, arr);
  }
  const childChecks = [...byChild.entries()].map(([dt, tests]) => {
    const tables = childTables(meta, dt);
    return (doc: Doc) => {
      for (const t of tables) {
        const rows = doc[t];
        if (!Array.isArray(rows)) continue;
        for (const r of rows as Doc[]) if (tests.every((fn) => fn(r))) return true;
      }
      return false;
    };
  });
  return (doc) => {
    for (const t of parentTests) if (!t(doc)) return false;
    for (const c of childChecks) if (!c(doc)) return false;
    return true;
  };
}

function orPredicate(meta: DocTypeMeta, conds: Cond[]): ((doc: Doc) => boolean) | null {
  if (!conds.length) return null;
  const preds = conds.map((c) => andPredicate(meta, [c]) as (doc: Doc) => boolean);
  return (doc) => preds.some((p) => p(doc));
}

interface SortKey {
  field: string;
  desc: boolean;
  kind: Kind;
}

const ORDER_TERM = /^\s*(`?tab[A-Za-z0-9 _-]+`?\.)?`?([A-Za-z0-9_]+)`?\s*(asc|desc)?\s*$/i;

function parseOrderBy(meta: DocTypeMeta, orderBy: unknown): SortKey[] {
  let s = typeof orderBy === "string" ? orderBy.trim() : "";
  if (!s) s = `${meta.sort_field} ${meta.sort_order.toLowerCase()}`;
  const keys: SortKey[] = [];
  for (const term of s.split(",")) {
    const m = ORDER_TERM.exec(term);
    if (!m) {
      throw frappeThrow("DataError", "Cannot use sub-query or function in order by", { title: "Message" });
    }
    const table = m[1] ? m[1].replace(/[`.]/g, "").replace(/^tab/, "") : meta.name;
    const field = m[2];
    const ftype = table === meta.name ? columnType(meta, field) : undefined;
    if (!ftype) throw unknownColumn(`tab${table}.${field}`, "order clause");
    keys.push({ field, desc: (m[3] ?? "asc").toLowerCase() === "desc", kind: kindOf(ftype) });
  }
  return keys;
}

function sortedRows(db: ErpDb, meta: DocTypeMeta, keys: SortKey[]): Doc[] {
  const cacheKey = `${meta.name}|${keys.map((k) => `${k.field}:${k.desc ? "d" : "a"}`).join(",")}`;
  const version = db.version(meta.name);
  const hit = db.sortCache.get(cacheKey);
  if (hit && hit.version === version) return hit.rows;
  const rows = sortArray([...db.all(meta.name)], keys);
  db.sortCache.set(cacheKey, { version, rows, cmp: docComparator(keys) });
  return rows;
}

/** Comparator on stored docs with the same semantics as sortArray (for cache repair). */
function docComparator(keys: SortKey[]): (a: Doc, b: Doc) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = sortValue(k.kind, a[k.field]);
      const y = sortValue(k.kind, b[k.field]);
      if (x === y) continue;
      let c: number;
      if (x === null) c = -1;
      else if (y === null) c = 1;
      else c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}

function sortArray(docs: Doc[], keys: SortKey[]): Doc[] {
  const decorated = docs.map((d) => ({ d, k: keys.map((k) => sortValue(k.kind, d[k.field])) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const x = a.k[i];
      const y = b.k[i];
      if (x === y) continue;
      // NULL sorts first ascending (MariaDB)
      let c: number;
      if (x === null) c = -1;
      else if (y === null) c = 1;
      else c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return keys[i].desc ? -c : c;
    }
    return 0;
  });
  return decorated.map((x) => x.d);
}

function sortValue(kind: Kind, v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (kind === "num") return typeof v === "number" ? v : flt(v);
  if (kind === "text") return String(v).toLowerCase();
  return String(v);
}

interface Column {
  /** output key */
  key: string;
  /** listed doctype or a child doctype */
  dt: string;
  field: string;
  /** 1 = Datetime (Python str), 2 = Time (timedelta str), 0 = as stored */
  fmt: 0 | 1 | 2;
}

function fmtOf(ftype: string | undefined): 0 | 1 | 2 {
  return ftype === "Datetime" ? 1 : ftype === "Time" ? 2 : 0;
}

function fmtValue(fmt: 0 | 1 | 2, v: unknown): unknown {
  if (v === undefined) return null;
  if (fmt === 0 || typeof v !== "string") return v;
  return fmt === 1 ? pyDatetimeStr(v) : pyTimeStr(v);
}

function parseFields(db: ErpDb, meta: DocTypeMeta, input: unknown): Column[] {
  let f = parseJsonParam(input);
  if (f === undefined || f === null || f === "") f = ["name"];
  if (typeof f === "string") f = f.split(",");
  if (!Array.isArray(f)) throw frappeThrow("DataError", "Invalid fields");
  const cols: Column[] = [];
  for (const item of f) {
    let raw = String(item).trim();
    if (!raw) continue;
    let alias: string | undefined;
    const as = /^(.*?)\s+as\s+`?([A-Za-z0-9_]+)`?$/i.exec(raw);
    if (as) {
      raw = as[1];
      alias = as[2];
    }
    if (/[()]|;|\s(select|union|from|where)\s/i.test(raw) || /--|\/\*/.test(raw)) {
      throw frappeThrow("DataError", `SQL functions are not allowed as strings in SELECT: ${raw}`);
    }
    const col = stripColumn(raw);
    const dt = col.table ?? meta.name;
    if (col.field === "*") {
      const m = dt === meta.name ? meta : db.meta(dt);
      if (!m || (dt !== meta.name && childTables(meta, dt).length === 0)) throw unknownColumn(raw, "field list");
      for (const name of starColumns(m)) {
        cols.push({ key: name, dt, field: name, fmt: fmtOf(columnType(m, name)) });
      }
      continue;
    }
    const m = dt === meta.name ? meta : db.meta(dt);
    if (!m || (dt !== meta.name && childTables(meta, dt).length === 0)) throw unknownColumn(raw, "field list");
    const ftype = columnType(m, col.field);
    if (!ftype || ftype === "Table" || ftype === "Table MultiSelect") throw unknownColumn(raw, "field list");
    cols.push({ key: alias ?? col.field, dt, field: col.field, fmt: fmtOf(ftype) });
  }
  return cols;
}

export function starColumns(meta: DocTypeMeta): string[] {
  const cols = [
    ...Object.keys(STANDARD_FIELDS),
    ...(meta.istable ? Object.keys(CHILD_STANDARD_FIELDS) : []),
    ...meta.valueFields.map((f) => f.fieldname),
    ...(meta.istable ? [] : OPTIONAL_COLUMNS),
  ];
  return cols;
}

function outValue(c: Column, v: unknown): unknown {
  return fmtValue(c.fmt, v);
}

export interface ListResult {
  rows: unknown[];
}

export function filterPredicate(
  db: ErpDb,
  today: string,
  meta: DocTypeMeta,
  filters: unknown,
  orFilters: unknown,
): { pred: ((doc: Doc) => boolean) | null; childConds: Cond[] } {
  const andConds = buildConds(db, today, meta, filters);
  const orConds = buildConds(db, today, meta, orFilters);
  const a = andPredicate(meta, andConds);
  const o = orPredicate(meta, orConds);
  const pred = a && o ? (d: Doc) => a(d) && o(d) : (a ?? o);
  return { pred, childConds: andConds.filter((c) => c.dt !== meta.name) };
}

function intParam(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw frappeThrow("ValidationError", `Invalid limit: ${String(v)}`);
  return Math.max(0, Math.trunc(n));
}

/**
 * Run a list query. `defaultLimit` 20 (v1/v2). For v1, `limit_page_length=0` means all rows.
 * `extraRow` fetches one more row (v2 has_next_page).
 */
export function runList(
  db: ErpDb,
  today: string,
  meta: DocTypeMeta,
  p: ListParams,
  opts: { start?: number; limit?: number; extraRow?: boolean; json?: boolean; source?: Doc[] } = {},
): unknown[] | string {
  const cols = parseFields(db, meta, p.fields);
  const keys = parseOrderBy(meta, p.order_by);
  const { pred, childConds } = filterPredicate(db, today, meta, p.filters, p.or_filters);
  const start = opts.start ?? intParam(p.limit_start) ?? 0;
  let limit = opts.limit;
  if (limit === undefined) {
    const lim = intParam(p.limit) ?? intParam(p.limit_page_length);
    limit = lim === undefined ? 20 : lim;
  }
  if (opts.extraRow && limit > 0) limit += 1;
  const asDict = !(p.as_dict === false || p.as_dict === "false" || p.as_dict === 0 || p.as_dict === "0");

  const childDts = [...new Set(cols.filter((c) => c.dt !== meta.name).map((c) => c.dt))];
  const sorted = opts.source ? sortArray(opts.source, keys) : sortedRows(db, meta, keys);
  let rows: Doc[] = sorted;
  if (pred && opts.source) rows = sorted.filter(pred);
  else if (pred) {
    const filterText = JSON.stringify([p.filters ?? null, p.or_filters ?? null]);
    const treeOps = /descendants|ancestors|timespan|previous|next/i.test(filterText);
    const cacheKey = `${meta.name}|${db.version(meta.name)}|${treeOps ? `${db.globalVersion}|${today}` : ""}|${keys.map((k) => `${k.field}:${k.desc ? "d" : "a"}`).join(",")}|${filterText}`;
    const hit = db.queryCache.get(cacheKey);
    if (hit) rows = hit;
    else {
      rows = sorted.filter(pred);
      db.queryCache.set(cacheKey, rows);
      if (db.queryCache.size > 16) db.queryCache.delete(db.queryCache.keys().next().value as string);
    }
  }
  const out: unknown[] = [];
  let skipped = 0;
  const emit = (row: Record<string, unknown>) => {
    if (skipped < start) {
      skipped++;
      return false;
    }
    out.push(asDict ? row : cols.map((c) => row[c.key]));
    return limit > 0 && out.length >= limit;
  };
  if (!childDts.length && opts.json && asDict) {
    // JSON text of the page, reusing each row's serialisation while the stored doc is unchanged
    const end = limit > 0 ? Math.min(rows.length, start + limit) : rows.length;
    const sig = cols.map((c) => `${c.key}=${c.field}`).join(",");
    const parts: string[] = [];
    const cache = db.rowJson;
    for (let i = start; i < end; i++) {
      const doc = rows[i];
      const hit = cache.get(doc);
      if (hit && hit.sig === sig) {
        parts.push(hit.json);
        continue;
      }
      const row: Record<string, unknown> = {};
      for (const c of cols) {
        const v = doc[c.field];
        row[c.key] = v === undefined ? null : c.fmt && typeof v === "string" ? fmtValue(c.fmt, v) : v;
      }
      const json = JSON.stringify(row);
      cache.set(doc, { sig, json });
      parts.push(json);
    }
    return `[${parts.join(",")}]`;
  }
  if (!childDts.length) {
    const end = limit > 0 ? Math.min(rows.length, start + limit) : rows.length;
    const n = cols.length;
    for (let i = start; i < end; i++) {
      const doc = rows[i];
      const row: Record<string, unknown> = {};
      for (let j = 0; j < n; j++) {
        const c = cols[j];
        const v = doc[c.field];
        row[c.key] = v === undefined ? null : c.fmt && typeof v === "string" ? fmtValue(c.fmt, v) : v;
      }
      out.push(asDict ? row : cols.map((c) => row[c.key]));
    }
    return out;
  }
  for (const doc of rows) {
    // left join child rows (one output row per combination); child filters restrict joined rows
    let combos: Array<Record<string, Doc | null>> = [{}];
    for (const dt of childDts) {
      const tests = childConds.filter((c) => c.dt === dt).map((c) => c.test);
      const childRows: Doc[] = [];
      for (const t of childTables(meta, dt)) {
        const arr = doc[t];
        if (Array.isArray(arr)) for (const r of arr as Doc[]) if (tests.every((fn) => fn(r))) childRows.push(r);
      }
      const next: Array<Record<string, Doc | null>> = [];
      for (const combo of combos) {
        if (!childRows.length) next.push({ ...combo, [dt]: null });
        for (const r of childRows) next.push({ ...combo, [dt]: r });
      }
      combos = next;
    }
    let full = false;
    for (const combo of combos) {
      const row: Record<string, unknown> = {};
      for (const c of cols) {
        const src = c.dt === meta.name ? doc : combo[c.dt];
        row[c.key] = src ? outValue(c, src[c.field]) : null;
      }
      if (emit(row)) {
        full = true;
        break;
      }
    }
    if (full) break;
  }
  return out;
}

export function countRows(db: ErpDb, today: string, meta: DocTypeMeta, filters: unknown, orFilters?: unknown): number {
  const { pred } = filterPredicate(db, today, meta, filters, orFilters);
  if (!pred) return db.table(meta.name).size;
  let n = 0;
  for (const d of db.all(meta.name)) if (pred(d)) n++;
  return n;
}
