/**
 * Aggregate sides (`aggregate: { groupBy, sum }`): a read-only view of a system in which one record
 * is a GROUP of rows of the entity — its id and `groupBy` value are the group key, its `sum` fields
 * the sums over the group's rows, its modifiedAt the latest row's. Stock summed over warehouses is
 * the typical use (rows per item and warehouse → one record per item).
 *
 * Changes: every row changed since the cursor names its group; each touched group is recomputed
 * from ALL its rows (one lookup by the group key), so a change in one warehouse yields the item's
 * full total. The page's cursor is the rows' cursor. A read by id takes group keys or row ids (a webhook
 * names the changed row). Writes are refused (the view is read-only;
 * the spec allows no field to flow into it).
 */
import type { Connector, FilterExpr, ReadChangesOptions, RecordPage, RemoteRecord } from "../connectors/types.ts";
import { ValidationRejected } from "../errors.ts";
import type { ObjectSide } from "../spec/model.ts";

type Aggregate = NonNullable<ObjectSide["aggregate"]>;

function num(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
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
  values.rows = rows.length;
  const modifiedAt = rows.map((r) => r.modifiedAt).sort().at(-1) ?? new Date(0).toISOString();
  return { id: key, modifiedAt, values };
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
      default:
        return true;
    }
  });
}

/** A read-only Connector over `base` whose records of `entity` are groups of the rows that pass `filter`. */
export function aggregateView(base: Connector, agg: Aggregate, filter: FilterExpr[] = []): Connector {
  const fields = [agg.groupBy, ...agg.sum, ...filter.map((c) => c.field)];
  const readGroup = async (entity: string, key: string): Promise<RemoteRecord | undefined> =>
    groupRecord(
      agg,
      key,
      (await base.findByField(entity, agg.groupBy, key)).filter((r) => inFilter(r, filter)),
    );
  const refuse = (what: string): never => {
    throw new ValidationRejected(`${what}: this side is a read-only aggregate (${agg.groupBy} groups, sums of ${agg.sum.join(", ")})`, {
      hint: "map fields out of an aggregate only (it is computed); write to the records it sums instead",
    });
  };
  return {
    type: base.type,
    whoAmI: () => base.whoAmI(),
    describe: (entities) => base.describe(entities),
    async *readChanges(entity: string, opts: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
      const { fields: _ignored, ...rest } = opts;
      for await (const page of base.readChanges(entity, { ...rest, fields })) {
        const keys = [...new Set(page.records.map((r) => r.values[agg.groupBy]).filter((k) => typeof k === "string" || typeof k === "number"))];
        const records: RemoteRecord[] = [];
        for (const k of keys) {
          const g = await readGroup(entity, String(k));
          if (g) records.push(g);
        }
        yield page.cursor ? { records, cursor: page.cursor } : { records };
      }
    },
    /**
     * By group key; an id that is no group key may be a ROW's id (a webhook names the row that changed):
     * its group is read instead. Each group once.
     */
    async readByIds(entity: string, ids: string[]): Promise<RemoteRecord[]> {
      const out = new Map<string, RemoteRecord>();
      const rowIds: string[] = [];
      for (const id of new Set(ids)) {
        const g = await readGroup(entity, id);
        if (g) out.set(g.id, g);
        else rowIds.push(id);
      }
      if (rowIds.length) {
        for (const row of await base.readByIds(entity, rowIds, fields)) {
          const k = row.values[agg.groupBy];
          if ((typeof k !== "string" && typeof k !== "number") || out.has(String(k))) continue;
          const g = await readGroup(entity, String(k));
          if (g) out.set(g.id, g);
        }
      }
      return [...out.values()];
    },
    async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
      if (field !== agg.groupBy && field !== "id") return [];
      const g = await readGroup(entity, String(value));
      return g ? [g] : [];
    },
    create: async () => refuse("create"),
    update: async () => refuse("update"),
    stats: () => base.stats(),
    close: async () => {},
  };
}
