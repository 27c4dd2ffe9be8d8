/**
 * Aggregate sides (`aggregate: { groupBy, sum, max, min }`): a read-only view of a system in which one
 * record is a GROUP of rows of the entity — its id and `groupBy` value are the group key, its `sum`
 * fields the sums over the group's rows, its `max` / `min` fields the largest / smallest value over
 * them (numbers numerically, anything else — ISO dates — as text; empty values ignored; null when no
 * row has one), `rows` the row count, its modifiedAt the latest row's. Stock summed over warehouses,
 * a customer's payments summed with the last payment date are the typical uses.
 *
 * Changes: every row changed since the cursor names its group; each touched group is recomputed
 * from ALL its rows (one lookup by the group key), so a change in one warehouse yields the item's
 * full total. The page's cursor is the rows' cursor. An incremental read asks the system for the
 * changed rows WITHOUT the side's filter and filters here: a row that left the filter (a cancelled
 * document) still names its group. A read by id takes group keys or row ids (a webhook names the
 * changed row). Writes are refused (the view is read-only; the spec allows no field to flow into it).
 *
 * Emptied groups: a group whose rows are all gone (deleted, cancelled, filtered out) has no record
 * of its own. When the engine KNOWS the key (`known`: a link holds it), the view yields the group
 * anyway, emptied — sums 0, max/min null, rows 0 — so its values go back to 0 in the target instead
 * of keeping the last sum. Keys nobody knows yield nothing (a draft of a customer never synced is
 * not a record). `listIds` lists the keys of the groups that have rows (the deletion sweep compares
 * links with it: a linked group missing there was emptied by deletions, which no change read shows).
 */
import type { Connector, FilterExpr, ReadChangesOptions, RecordPage, RemoteRecord } from "../connectors/types.ts";
import { ValidationRejected } from "../errors.ts";
import type { ObjectSide } from "../spec/model.ts";

type Aggregate = NonNullable<ObjectSide["aggregate"]>;

function num(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
}

/** The value fields of an aggregate: summed, max and min (the group key and `rows` excluded). */
export function aggregateFields(agg: Aggregate): string[] {
  return [...agg.sum, ...(agg.max ?? []), ...(agg.min ?? [])];
}

const isBlank = (v: unknown) => v === null || v === undefined || v === "";
const NUMERIC = /^-?\d+(\.\d+)?$/;

/** A value as a number when it is one (or a numeric string), else undefined. */
function asNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && NUMERIC.test(v.trim())) return Number(v);
  return undefined;
}

/** Order of two non-empty values: numerically when both are numbers, else as text (ISO dates sort as text). */
export function compareValues(a: unknown, b: unknown): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  const s = typeof a === "string" ? a : JSON.stringify(a);
  const t = typeof b === "string" ? b : JSON.stringify(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

/** The largest (dir 1) or smallest (dir -1) non-empty value, or null. */
function extreme(values: unknown[], dir: 1 | -1): unknown {
  let best: unknown = null;
  for (const v of values) {
    if (isBlank(v)) continue;
    if (best === null || compareValues(v, best) * dir > 0) best = v;
  }
  return best;
}

/** One group record from its rows (undefined for no rows). */
export function groupRecord(agg: Aggregate, key: string, rows: RemoteRecord[]): RemoteRecord | undefined {
  if (rows.length === 0) return undefined;
  const values: Record<string, unknown> = { [agg.groupBy]: key };
  for (const f of agg.sum) {
    // sum in integer thousandths first: quantities like 0.1 + 0.2 stay exact to 3 decimals
    const total = rows.reduce((acc, r) => acc + Math.round(num(r.values[f]) * 1000), 0);
    values[f] = total / 1000;
  }
  for (const f of agg.max ?? []) values[f] = extreme(rows.map((r) => r.values[f]), 1);
  for (const f of agg.min ?? []) values[f] = extreme(rows.map((r) => r.values[f]), -1);
  values.rows = rows.length;
  const modifiedAt = rows.map((r) => r.modifiedAt).sort().at(-1) ?? new Date(0).toISOString();
  return { id: key, modifiedAt, values };
}

/**
 * A known group with no rows left: sums 0, max/min null, rows 0. `modifiedAt`: when its last row
 * changed (the row that left it), if known, else now.
 */
export function emptyGroup(agg: Aggregate, key: string, modifiedAt?: string): RemoteRecord {
  const values: Record<string, unknown> = { [agg.groupBy]: key };
  for (const f of agg.sum) values[f] = 0;
  for (const f of [...(agg.max ?? []), ...(agg.min ?? [])]) values[f] = null;
  values.rows = 0;
  return { id: key, modifiedAt: modifiedAt ?? new Date().toISOString(), values };
}

/** Whether a record of an aggregate side is an emptied group (no rows left). */
export function isEmptiedGroup(rec: RemoteRecord): boolean {
  return rec.values.rows === 0;
}

/** SQL LIKE (`%` any run, `_` one character, a backslash escapes the next), case-insensitive as the systems' default collations. */
function likeMatches(value: string, pattern: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (ch === "%") re += ".*";
    else if (ch === "_") re += ".";
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "is").test(value);
}

/** Whether a row satisfies the side's filter (conditions on fields the row lacks are left to the system). */
function inFilter(row: RemoteRecord, filter: FilterExpr[]): boolean {
  return filter.every((c) => {
    if (!(c.field in row.values)) return true;
    const v = row.values[c.field];
    const list = Array.isArray(c.value) ? c.value : [c.value];
    const eq = (a: unknown, b: unknown) => a === b || String(a ?? "") === String(b ?? "");
    switch (c.op) {
      case "=":
        return eq(v, c.value);
      case "!=":
        return !eq(v, c.value);
      case "in":
        return list.some((x) => eq(v, x));
      case "not in":
        return !list.some((x) => eq(v, x));
      case "is set":
        return v !== null && v !== undefined && v !== "";
      case "is not set":
        return v === null || v === undefined || v === "";
      case ">":
        return num(v) > num(c.value);
      case ">=":
        return num(v) >= num(c.value);
      case "<":
        return num(v) < num(c.value);
      case "<=":
        return num(v) <= num(c.value);
      case "like":
        return likeMatches(String(v ?? ""), String(c.value ?? ""));
      default:
        return true;
    }
  });
}

/** What the view needs besides the rows: the side's filter, and whether the engine knows a group key. */
export interface AggregateViewOptions {
  filter?: FilterExpr[];
  /** Whether a group key is known (linked): an emptied known group is yielded with sums 0. Absent: none is. */
  known?: (key: string) => Promise<boolean>;
}

const keyOf = (row: RemoteRecord, groupBy: string): string | undefined => {
  const k = row.values[groupBy];
  return typeof k === "string" || typeof k === "number" ? String(k) : undefined;
};

/** A read-only Connector over `base` whose records of `entity` are groups of the rows that pass the filter. */
export function aggregateView(base: Connector, agg: Aggregate, opts: AggregateViewOptions = {}): Connector {
  const filter = opts.filter ?? [];
  const fields = [...new Set([agg.groupBy, ...aggregateFields(agg), ...filter.map((c) => c.field)])];
  const known = async (key: string) => (opts.known ? opts.known(key) : false);
  const rowsOf = async (entity: string, key: string) =>
    (await base.findByField(entity, agg.groupBy, key)).filter((r) => inFilter(r, filter));
  /** The group of `key`: its rows' record, or — no rows left — an emptied group when the key is known. */
  const readGroup = async (entity: string, key: string, lastChange?: string): Promise<RemoteRecord | undefined> =>
    groupRecord(agg, key, await rowsOf(entity, key)) ?? ((await known(key)) ? emptyGroup(agg, key, lastChange) : undefined);
  const refuse = (what: string): never => {
    throw new ValidationRejected(
      `${what}: this side is a read-only aggregate (${agg.groupBy} groups of ${aggregateFields(agg).join(", ")})`,
      {
        hint: "map fields out of an aggregate only (it is computed); write to the records it sums instead",
      },
    );
  };
  return {
    type: base.type,
    whoAmI: () => base.whoAmI(),
    describe: (entities) => base.describe(entities),
    async *readChanges(entity: string, ro: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
      const { fields: _fields, filter: _filter, ...rest } = ro;
      // A first (full) read asks the system for the filtered rows only: nothing can have left the filter
      // since a read that never happened (links made otherwise are the deletion sweep's). An incremental
      // read takes every changed row, so a row that left the filter (cancelled) still names its group.
      const serverFilter = ro.since || filter.length === 0 ? {} : { filter };
      for await (const page of base.readChanges(entity, { ...rest, ...serverFilter, fields })) {
        const touched = new Map<string, { inView: boolean; lastChange: string }>();
        for (const r of page.records) {
          const k = keyOf(r, agg.groupBy);
          if (k === undefined) continue;
          const t = touched.get(k) ?? { inView: false, lastChange: r.modifiedAt };
          t.inView ||= inFilter(r, filter);
          if (r.modifiedAt > t.lastChange) t.lastChange = r.modifiedAt;
          touched.set(k, t);
        }
        const records: RemoteRecord[] = [];
        for (const [k, t] of touched) {
          // a changed row outside the filter matters only to a group the engine knows (it may have emptied it)
          if (!t.inView && !(await known(k))) continue;
          const g = await readGroup(entity, k, t.lastChange);
          if (g) records.push(g);
        }
        yield page.cursor ? { records, cursor: page.cursor } : { records };
      }
    },
    /**
     * By group key; an id that is no group key may be a ROW's id (a webhook names the row that changed):
     * its group is read instead. Each group once. A known key without rows is its emptied group.
     */
    async readByIds(entity: string, ids: string[]): Promise<RemoteRecord[]> {
      const out = new Map<string, RemoteRecord>();
      const rowIds: string[] = [];
      for (const id of new Set(ids)) {
        const g = groupRecord(agg, id, await rowsOf(entity, id));
        if (g) out.set(g.id, g);
        else rowIds.push(id);
      }
      const rowsFound = new Set<string>();
      if (rowIds.length) {
        for (const row of await base.readByIds(entity, rowIds, fields)) {
          rowsFound.add(row.id);
          const k = keyOf(row, agg.groupBy);
          if (k === undefined || out.has(k)) continue;
          const g = await readGroup(entity, k, row.modifiedAt);
          if (g) out.set(g.id, g);
        }
      }
      for (const id of rowIds) {
        if (rowsFound.has(id) || out.has(id) || !(await known(id))) continue;
        out.set(id, emptyGroup(agg, id));
      }
      return [...out.values()];
    },
    async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
      if (field !== agg.groupBy && field !== "id") return [];
      const g = await readGroup(entity, String(value));
      return g ? [g] : [];
    },
    /** The keys of the groups that have rows (every row passing the filter read once, its key only). */
    async *listIds(entity: string): AsyncIterable<string[]> {
      const seen = new Set<string>();
      const listFields = [...new Set([agg.groupBy, ...filter.map((c) => c.field)])];
      for await (const page of base.readChanges(entity, { fields: listFields, ...(filter.length ? { filter } : {}) })) {
        const fresh: string[] = [];
        for (const r of page.records) {
          const k = keyOf(r, agg.groupBy);
          if (k === undefined || seen.has(k) || !inFilter(r, filter)) continue;
          seen.add(k);
          fresh.push(k);
        }
        if (fresh.length) yield fresh;
      }
    },
    create: async () => refuse("create"),
    update: async () => refuse("update"),
    stats: () => base.stats(),
    close: async () => {},
  };
}
