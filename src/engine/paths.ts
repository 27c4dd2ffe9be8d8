/**
 * Field names as the engine reads and writes them: a plain name is a key of the record's values;
 * a field path (`table[column=value].field`, grammar in src/connectors/field-path.ts) names a
 * field of one row of a child table.
 *
 * - readValue: the value a record (or a payload) holds for a name; a path is present when the
 *   record carries its table, and empty when no row matches.
 * - writeValue: put a value for a name into an update or create payload. A path writes the WHOLE
 *   table (a connector's update replaces a child table wholesale): the table as read from the
 *   record (or as already built in the payload by an earlier path into the same table), with the
 *   matching row's field set — or a new row holding the selector's values and the field — or,
 *   for an empty value, without the matching row(s). Other rows and columns are kept as read.
 * - readFieldsOf: the top-level fields a set of names needs from a system (tables of paths).
 * Pure.
 */
import { type FieldPath, fieldRoot, isFieldPath, parseFieldPath, rowMatches } from "../connectors/field-path.ts";
import type { Json } from "../store/types.ts";

type JsonRow = { [k: string]: Json };

const parsed = new Map<string, FieldPath>();

/** The parsed path of a name (cached), or undefined for a plain name. Throws FieldPathError when malformed. */
export function pathOf(name: string): FieldPath | undefined {
  if (!isFieldPath(name)) return undefined;
  let p = parsed.get(name);
  if (!p) {
    p = parseFieldPath(name);
    parsed.set(name, p);
  }
  return p;
}

function json(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(json);
  if (typeof v === "object") {
    const out: JsonRow = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = json(x);
    return out;
  }
  return String(v);
}

function empty(v: unknown): boolean {
  return v === null || v === undefined || v === "";
}

/** The value `values` hold for `name` (a plain field or a path); absent when the field (a path's table) is not there. */
export function readValue(values: Record<string, unknown>, name: string): { present: boolean; value: Json } {
  const p = pathOf(name);
  if (!p) return name in values ? { present: true, value: json(values[name]) } : { present: false, value: null };
  if (!(p.table in values)) return { present: false, value: null };
  const rows = values[p.table];
  if (!Array.isArray(rows)) return { present: true, value: null };
  const row = rows.find((r) => rowMatches(r, p.where)) as Record<string, unknown> | undefined;
  return { present: true, value: row ? json(row[p.field]) : null };
}

/**
 * Set `name` to `value` in `out` (an update or create payload). For a path, `current` is the
 * record as read (its table is the starting point unless `out` already holds the table).
 */
export function writeValue(out: Record<string, Json>, current: Record<string, unknown> | undefined, name: string, value: Json): void {
  const p = pathOf(name);
  if (!p) {
    out[name] = value;
    return;
  }
  const start = Array.isArray(out[p.table]) ? out[p.table] : current && Array.isArray(current[p.table]) ? current[p.table] : [];
  let rows = (json(start) as Json[]).filter((r): r is JsonRow => !!r && typeof r === "object" && !Array.isArray(r));
  if (empty(value)) {
    rows = rows.filter((r) => !rowMatches(r, p.where));
  } else {
    const i = rows.findIndex((r) => rowMatches(r, p.where));
    if (i >= 0) rows[i] = { ...rows[i], [p.field]: value };
    else {
      const row: JsonRow = {};
      for (const w of p.where) row[w.column] = w.value;
      row[p.field] = value;
      rows.push(row);
    }
  }
  out[p.table] = rows;
}

/** The top-level fields (plain names, tables of paths) that `names` read, without duplicates, in order. */
export function readFieldsOf(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) {
    const r = fieldRoot(n);
    if (r && !out.includes(r)) out.push(r);
  }
  return out;
}
