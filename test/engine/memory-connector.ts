/**
 * An honest in-memory Connector for engine tests: it keeps timestamps (from a shared test clock),
 * versions (optimistic concurrency), modifiedBy, chooses its own ids on create, filters
 * by field, pages its change feed by (modifiedAt, id) with overlap, lists ids, deletes.
 * People's edits go through `edit()` (modifiedBy = the person); the engine's through `update()`.
 */
import type {
  Connector,
  ConnectorStats,
  Cursor,
  ReadChangesOptions,
  RecordPage,
  RemoteRecord,
  SchemaDescription,
} from "../../src/connectors/types.ts";
import { readValue } from "../../src/engine/paths.ts";
import { NotFound, VersionConflict } from "../../src/errors.ts";

export class TestClock {
  ms: number;
  constructor(start = Math.floor(Date.now() / 1000) * 1000) {
    this.ms = start;
  }
  /** Each call moves time forward by `step` ms (distinct, increasing timestamps). */
  tick(step = 1000): string {
    this.ms += step;
    return new Date(this.ms).toISOString();
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

interface Row {
  id: string;
  createdAt: string;
  modifiedAt: string;
  modifiedBy: string;
  version: number;
  values: Record<string, unknown>;
}

export interface MemoryConnectorOptions {
  type: string;
  user: string;
  clock: TestClock;
  /** How ids are made: a prefix and a counter ("ACC-1"), or from a value (ERPNext-like naming by name). */
  idPrefix: string;
  /** Field that always mirrors the record id in values (ERPNext `name`). */
  idField?: string;
  pageSize?: number;
  /** The fields each entity has: a record returns every one of them (null when empty), as real systems do. */
  schema?: Record<string, string[]>;
}

export type WriteHook = (op: {
  kind: "create" | "update" | "delete";
  entity: string;
  id?: string;
  values?: Record<string, unknown>;
}) => void;

export class MemoryConnector implements Connector {
  readonly type: string;
  readonly user: string;
  readonly clock: TestClock;
  readonly tables = new Map<string, Map<string, Row>>();
  readonly writes: Array<{ kind: string; entity: string; id: string; values?: Record<string, unknown> }> = [];
  #seq = 0;
  #opts: MemoryConnectorOptions;
  #calls = 0;
  /** Runs before a write; throw from it to inject a rejection. */
  beforeWrite?: WriteHook;
  /** How the system normalises values Accord writes (e.g. upper-cases names), as real systems sometimes do. */
  normalizeOnWrite?: (values: Record<string, unknown>) => Record<string, unknown>;
  /** Runs after a create is stored, before it is returned (throw to simulate a crash). */
  afterCreate?: (rec: RemoteRecord) => void;
  /** Runs after an update is stored, before it is returned (throw to simulate a crash). */
  afterUpdate?: (rec: RemoteRecord) => void;
  /** The `fields` each readChanges call asked for (undefined = the default), by entity. */
  readonly fieldsAsked: Array<{ entity: string; fields?: string[] }> = [];
  /** Runs at the start of update() (e.g. to simulate a concurrent edit). */
  onUpdate?: (entity: string, id: string) => void;

  constructor(opts: MemoryConnectorOptions) {
    this.type = opts.type;
    this.user = opts.user;
    this.clock = opts.clock;
    this.#opts = opts;
  }

  #entityOf(r: Row): string {
    for (const [entity, t] of this.tables) if (t.get(r.id) === r) return entity;
    return "";
  }

  #table(entity: string): Map<string, Row> {
    let t = this.tables.get(entity);
    if (!t) {
      t = new Map();
      this.tables.set(entity, t);
    }
    return t;
  }

  #out(r: Row): RemoteRecord {
    const values: Record<string, unknown> = {};
    for (const f of this.#opts.schema?.[this.#entityOf(r)] ?? []) values[f] = null;
    Object.assign(values, structuredClone(r.values));
    if (this.#opts.idField) values[this.#opts.idField] = r.id;
    return { id: r.id, createdAt: r.createdAt, modifiedAt: r.modifiedAt, modifiedBy: r.modifiedBy, version: String(r.version), values };
  }

  /** Seed or create as a person. */
  add(entity: string, values: Record<string, unknown>, by = "alice", id?: string): RemoteRecord {
    const at = this.clock.tick();
    const rid = id ?? `${this.#opts.idPrefix}-${++this.#seq}`;
    const row: Row = { id: rid, createdAt: at, modifiedAt: at, modifiedBy: by, version: 1, values: structuredClone(values) };
    this.#table(entity).set(rid, row);
    return this.#out(row);
  }

  /** A person's edit. */
  edit(entity: string, id: string, values: Record<string, unknown>, by = "alice"): RemoteRecord {
    const row = this.#table(entity).get(id);
    if (!row) throw new Error(`no ${entity} ${id}`);
    Object.assign(row.values, structuredClone(values));
    row.modifiedAt = this.clock.tick();
    row.modifiedBy = by;
    row.version++;
    return this.#out(row);
  }

  remove(entity: string, id: string): void {
    this.#table(entity).delete(id);
  }

  get(entity: string, id: string): RemoteRecord | undefined {
    const r = this.#table(entity).get(id);
    return r ? this.#out(r) : undefined;
  }

  all(entity: string): RemoteRecord[] {
    return [...this.#table(entity).values()].map((r) => this.#out(r));
  }

  async whoAmI(): Promise<string> {
    this.#calls++;
    return this.user;
  }

  async describe(): Promise<SchemaDescription> {
    return { entities: {} };
  }

  async *readChanges(entity: string, opts: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
    this.#calls++;
    this.fieldsAsked.push({ entity, ...(opts.fields ? { fields: [...opts.fields] } : {}) });
    const size = opts.pageSize ?? this.#opts.pageSize ?? 2;
    const since = opts.since;
    const from = since ? Date.parse(since.modifiedAt) - (opts.overlapMs ?? 0) : Number.NEGATIVE_INFINITY;
    const key = (r: Row) => `${r.modifiedAt}|${r.id}`;
    const rows = [...this.#table(entity).values()]
      .filter((r) => (opts.overlapMs ? Date.parse(r.modifiedAt) >= from : since ? key(r) > `${since.modifiedAt}|${since.id}` : true))
      .filter((r) => (opts.filter ?? []).every((f) => f.op !== "=" || r.values[f.field] === f.value))
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    // keyset paging over a snapshot of the ordering
    for (let i = 0; i < rows.length; i += size) {
      const page = rows.slice(i, i + size);
      const last = page[page.length - 1];
      const cursor: Cursor = { modifiedAt: last.modifiedAt, id: last.id };
      yield { records: page.map((r) => this.#out(r)), cursor };
    }
  }

  async readByIds(entity: string, ids: string[]): Promise<RemoteRecord[]> {
    this.#calls++;
    const t = this.#table(entity);
    return ids.flatMap((id) => {
      const r = t.get(id);
      return r ? [this.#out(r)] : [];
    });
  }

  async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
    this.#calls++;
    // a child-table path (links[link_doctype=Customer].link_name) matches a row of the table, like a real system's child filter
    return [...this.#table(entity).values()].map((r) => this.#out(r)).filter((r) => readValue(r.values, field).value === value);
  }

  async create(entity: string, values: Record<string, unknown>): Promise<RemoteRecord> {
    this.#calls++;
    this.beforeWrite?.({ kind: "create", entity, values });
    const rec = this.add(entity, values, this.user);
    this.writes.push({ kind: "create", entity, id: rec.id, values });
    this.afterCreate?.(rec);
    return rec;
  }

  async update(entity: string, id: string, values: Record<string, unknown>, opts: { ifVersion?: string } = {}): Promise<RemoteRecord> {
    this.#calls++;
    this.onUpdate?.(entity, id);
    this.beforeWrite?.({ kind: "update", entity, id, values });
    const row = this.#table(entity).get(id);
    if (!row) throw new NotFound(`${entity} ${id} not found`, { where: { system: this.type, object: entity, record: id } });
    if (opts.ifVersion !== undefined && opts.ifVersion !== String(row.version)) {
      throw new VersionConflict(`${entity} ${id} changed (version ${row.version}, expected ${opts.ifVersion})`, {
        where: { system: this.type, object: entity, record: id },
      });
    }
    Object.assign(row.values, structuredClone(this.normalizeOnWrite ? this.normalizeOnWrite(values) : values));
    row.modifiedAt = this.clock.tick();
    row.modifiedBy = this.user;
    row.version++;
    this.writes.push({ kind: "update", entity, id, values });
    this.afterUpdate?.(this.#out(row));
    return this.#out(row);
  }

  async delete(entity: string, id: string): Promise<void> {
    this.#calls++;
    this.beforeWrite?.({ kind: "delete", entity, id });
    this.#table(entity).delete(id);
    this.writes.push({ kind: "delete", entity, id });
  }

  async *listIds(entity: string): AsyncIterable<string[]> {
    this.#calls++;
    yield [...this.#table(entity).keys()];
  }

  stats(): ConnectorStats {
    return { calls: this.#calls, retries: 0, errors: {} };
  }

  async close(): Promise<void> {}
}
