/**
 * Record service of the emulated EspoCRM: list/read/create/update/delete/merge with the real
 * order of checks (ACL → validation → link checks → duplicates → save), optimistic concurrency,
 * computed attributes, and the events that feed webhooks.
 */
import { type Db, formatDateTime, type Rec, type User } from "./db.ts";
import { ApiError, badRequest, forbidden, notFound, validationFailure } from "./errors.ts";
import { ADDRESS_PARTS, type EntityDef, type FieldDef, fieldAttributes, OPPORTUNITY_PROBABILITY } from "./metadata.ts";
import { phpJsonEncode } from "./php-json.ts";
import { type AttrInfo, compileWhere, type WhereContext } from "./where.ts";

export interface AttrMeta {
  name: string;
  field: string;
  def: FieldDef;
  readOnly: boolean;
  kind: AttrInfo["kind"];
}

export interface SearchParams {
  maxSize: number;
  offset: number;
  orderBy?: string;
  order?: "asc" | "desc";
  select?: string[];
  where?: unknown[];
  noTotal?: boolean;
  /** Extra filter (related lists). */
  extra?: (r: Rec) => boolean;
}

export interface RecordEvent {
  entityType: string;
  action: "create" | "update" | "delete";
  id: string;
  /** create: full value map; update: {id, ...changed}; delete: {id}. */
  data: Rec;
  /** update: attributes that changed, with the after-values (for fieldUpdate events). */
  after?: Rec;
  changed?: string[];
  userId: string;
}

const SYSTEM_INPUT = new Set([
  "id",
  "deleted",
  "createdAt",
  "createdById",
  "createdByName",
  "modifiedAt",
  "modifiedById",
  "modifiedByName",
  "versionNumber",
]);
const UPDATE_EVENT_EXCLUDED = new Set([
  "modifiedAt",
  "versionNumber",
  "streamUpdatedAt",
  "isFollowed",
  "isStarred",
  "followersIds",
  "followersNames",
]);
const EMAIL_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/;

function kindOf(def: FieldDef, attr: string, field: string): AttrInfo["kind"] {
  switch (def.type) {
    case "int":
    case "float":
    case "autoincrement":
      return "number";
    case "currency":
      return attr === field || attr === `${field}Converted` ? "number" : "string";
    case "bool":
      return "bool";
    case "date":
      return "date";
    case "datetime":
      return "datetime";
    case "multiEnum":
    case "linkMultiple":
    case "jsonArray":
      return attr.endsWith("Ids") || def.type !== "linkMultiple" ? "array" : "other";
    case "email":
    case "phone":
      return attr.endsWith("Data") ? "array" : attr.endsWith("IsOptedOut") || attr.endsWith("IsInvalid") ? "bool" : "string";
    default:
      return "string";
  }
}

function validDate(s: string): boolean {
  const [y, m, d] = s.split("-").map(Number) as [number, number, number];
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  if (typeof a === "object" || typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

export interface ServiceOptions {
  currencyList: string[];
  defaultCurrency: string;
  phoneNumberInternational: boolean;
}

export class RecordService {
  readonly db: Db;
  readonly opts: ServiceOptions;
  /** Called after every save/delete; webhooks subscribe here. */
  onEvent: (e: RecordEvent) => void = () => {};
  private attrCache = new Map<string, Map<string, AttrMeta>>();
  private getterCache = new Map<string, Map<string, (rec: Rec) => unknown>>();
  private factoryCache = new Map<string, () => Rec>();
  private rowJson = new Map<string, Map<string, WeakMap<Rec, string>>>();
  private validationPlan = new Map<string, { field: string; f: FieldDef; attrs: string[] }[]>();
  private dupIndex = new Map<string, { keys: Map<string, Set<string>>; byId: Map<string, string[]> }>();
  private listAttrCache = new Map<string, string[]>();

  constructor(db: Db, opts: ServiceOptions) {
    this.db = db;
    this.opts = opts;
  }

  /** Call after metadata changes. */
  invalidateMetadata(): void {
    this.attrCache.clear();
    this.getterCache.clear();
    this.factoryCache.clear();
    this.validationPlan.clear();
    this.rowJson.clear();
    this.listAttrCache.clear();
    this.dupIndex.clear();
    for (const t of this.db.tables.values()) {
      t.sorted.clear();
      t.version++;
    }
  }

  def(entityType: string): EntityDef {
    const d = this.db.entityDefs[entityType];
    if (!d) throw notFound(`Controller '${entityType}' does not exist.`);
    return d;
  }

  attributes(entityType: string): Map<string, AttrMeta> {
    let m = this.attrCache.get(entityType);
    if (m) return m;
    const def = this.def(entityType);
    m = new Map();
    m.set("id", { name: "id", field: "id", def: { type: "varchar", readOnly: true }, readOnly: true, kind: "string" });
    if (def.fields.name)
      for (const a of fieldAttributes("name", def.fields.name))
        m.set(a.name, {
          name: a.name,
          field: "name",
          def: def.fields.name,
          readOnly: a.readOnly,
          kind: kindOf(def.fields.name, a.name, "name"),
        });
    m.set("deleted", { name: "deleted", field: "deleted", def: { type: "bool", readOnly: true }, readOnly: true, kind: "bool" });
    for (const [field, f] of Object.entries(def.fields)) {
      if (field === "name") continue;
      for (const a of fieldAttributes(field, f)) {
        m.set(a.name, { name: a.name, field, def: f, readOnly: a.readOnly, kind: kindOf(f, a.name, field) });
      }
    }
    if (def.optimisticConcurrencyControl)
      m.set("versionNumber", {
        name: "versionNumber",
        field: "versionNumber",
        def: { type: "int", readOnly: true },
        readOnly: true,
        kind: "number",
      });
    this.attrCache.set(entityType, m);
    return m;
  }

  /**
   * A record with every attribute of the entity, made by an object literal so that all records of
   * a type share one V8 shape (objects grown key by key fall into slow dictionary mode, which made
   * list scans ~10× slower).
   */
  newRecord(entityType: string): Rec {
    let make = this.factoryCache.get(entityType);
    if (!make) {
      const attrs = [...this.attributes(entityType).values()];
      const body = attrs.map((a) => `${JSON.stringify(a.name)}: ${JSON.stringify(defaultEmpty(a))}`).join(",\n");
      make = new Function(`return {\n${body}\n};`) as () => Rec;
      this.factoryCache.set(entityType, make);
    }
    return make();
  }

  /** Re-create every stored record of a type with the current shape (after a metadata change). */
  reshape(entityType: string): void {
    const t = this.db.table(entityType);
    const next = new Map<string, Rec>();
    for (const [id, r] of t.byId) {
      const n = this.newRecord(entityType);
      for (const k of Object.keys(r)) n[k] = r[k];
      next.set(id, n);
    }
    t.byId = next;
    t.sorted.clear();
    t.version++;
    this.dupIndex.delete(entityType);
  }

  /** Attributes of a list row when no `select` is given. */
  private listAttributes(entityType: string): string[] {
    let l = this.listAttrCache.get(entityType);
    if (l) return l;
    l = [];
    for (const a of this.attributes(entityType).values()) {
      const t = a.def.type;
      if ((t === "email" || t === "phone") && a.name === `${a.field}Data`) continue;
      if (t === "linkMultiple" || t === "jsonArray") continue;
      l.push(a.name);
    }
    this.listAttrCache.set(entityType, l);
    return l;
  }

  // ---------------------------------------------------------------- access

  private acl(user: User, entityType: string, action: "read" | "create" | "edit" | "delete"): boolean {
    if (user.type === "admin") return true;
    const a = user.acl[entityType];
    if (!a) return true;
    return a[action] !== false;
  }

  checkRead(user: User, entityType: string): void {
    this.def(entityType);
    if (!this.acl(user, entityType, "read")) throw forbidden("No read access.");
  }

  private getLive(entityType: string, id: string): Rec | undefined {
    const r = this.db.table(entityType).byId.get(id);
    return r && r.deleted !== true ? r : undefined;
  }

  // ---------------------------------------------------------------- values

  /** Value of an attribute for output, computing link names. */
  value(entityType: string, rec: Rec, attr: string): unknown {
    const g = this.getters(entityType).get(attr);
    return g ? g(rec) : (rec[attr] ?? null);
  }

  /** Per-entity compiled attribute readers (computed names, defaults for missing values). */
  getters(entityType: string): Map<string, (rec: Rec) => unknown> {
    let m = this.getterCache.get(entityType);
    if (m) return m;
    m = new Map();
    for (const meta of this.attributes(entityType).values()) {
      const attr = meta.name;
      const empty = defaultEmpty(meta);
      const field = meta.field;
      if (meta.def.type === "link" && attr === `${field}Name`) {
        const target = meta.def.entity;
        const idAttr = `${field}Id`;
        m.set(attr, (rec) => this.nameOf(target, rec[idAttr]));
      } else if (meta.def.type === "linkMultiple" && attr === `${field}Names`) {
        const target = meta.def.entity;
        const idsAttr = `${field}Ids`;
        m.set(attr, (rec) => {
          const o: Record<string, unknown> = {};
          for (const id of (rec[idsAttr] as string[] | undefined) ?? []) o[id] = this.nameOf(target, id);
          return o;
        });
      } else if (meta.def.type === "currency" && attr === `${field}Converted`) {
        m.set(attr, (rec) => rec[field] ?? null);
      } else if (empty === null) {
        m.set(attr, (rec) => rec[attr] ?? null);
      } else {
        m.set(attr, (rec) => {
          const v = rec[attr];
          return v === undefined || v === null ? empty : v;
        });
      }
    }
    this.getterCache.set(entityType, m);
    return m;
  }

  private nameOf(entity: string | undefined, id: unknown): unknown {
    if (typeof id !== "string" || !entity) return null;
    if (entity === "User") return this.db.users.get(id)?.name ?? null;
    const t = this.db.tables.get(entity);
    const r = t?.byId.get(id);
    return r ? (r.name ?? null) : null;
  }

  /** The full attribute map (read / create / update responses, webhook create payloads). */
  valueMap(entityType: string, rec: Rec): Rec {
    const out: Rec = {};
    for (const [attr, g] of this.getters(entityType)) out[attr] = g(rec);
    return out;
  }

  private rowBuilder(entityType: string, select: string[] | undefined): (rec: Rec) => Rec {
    const attrs = select ?? this.listAttributes(entityType);
    const getters = this.getters(entityType);
    const pairs = attrs.map((a) => [a, getters.get(a) ?? ((r: Rec) => r[a] ?? null)] as const);
    return (rec) => {
      const out: Rec = {};
      for (const [a, g] of pairs) out[a] = g(rec);
      return out;
    };
  }

  // ---------------------------------------------------------------- list

  private whereContext(entityType: string): WhereContext {
    const attrs = this.attributes(entityType);
    const def = this.def(entityType);
    const getters = this.getters(entityType);
    return {
      entityType,
      attribute: (name) => {
        const a = attrs.get(name);
        return a ? { kind: a.kind } : undefined;
      },
      getter: (name) => {
        const dot = name.indexOf(".");
        if (dot < 0) return getters.get(name) ?? ((rec: Rec) => rec[name] ?? null);
        const link = name.slice(0, dot);
        const f = def.fields[link];
        if (f?.type !== "link" || !f.entity) return () => null;
        const targetType = f.entity;
        const sub = name.slice(dot + 1);
        const idAttr = `${link}Id`;
        return (rec: Rec) => {
          const target = this.db.tables.get(targetType)?.byId.get(rec[idAttr] as string);
          return target ? this.value(targetType, target, sub) : null;
        };
      },
      pathAttribute: (path) => {
        const [link, attr] = path.split(".", 2) as [string, string];
        const f = def.fields[link];
        if (f?.type !== "link" || !f.entity || !this.db.entityDefs[f.entity]) return undefined;
        const a = this.attributes(f.entity).get(attr);
        return a ? { kind: a.kind } : undefined;
      },
      linkIds: (rec, link) => {
        const f = def.fields[link];
        if (f?.type === "link") return rec[`${link}Id`] ? [rec[`${link}Id`] as string] : [];
        if (f?.type === "linkMultiple") return (rec[`${link}Ids`] as string[] | undefined) ?? [];
        const l = def.links[link];
        if (l?.foreignKey) {
          if (!rec.id) return [];
          const out: string[] = [];
          for (const c of this.db.table(l.entity).byId.values())
            if (c.deleted !== true && c[l.foreignKey] === rec.id) out.push(c.id as string);
          return out;
        }
        return undefined;
      },
      nowMs: () => this.db.nowMs(),
    };
  }

  private sortKey(entityType: string, orderBy: string): { attr: string; computed: boolean } {
    const attrs = this.attributes(entityType);
    const def = this.def(entityType);
    if (attrs.has(orderBy)) {
      const meta = attrs.get(orderBy) as AttrMeta;
      const computed = meta.def.type === "link" && orderBy.endsWith("Name");
      return { attr: orderBy, computed };
    }
    const f = def.fields[orderBy];
    if (f?.type === "link") return { attr: `${orderBy}Name`, computed: true };
    if (f?.type === "address") return { attr: `${orderBy}Street`, computed: false };
    throw badRequest(`Order by non-existing field '${orderBy}'.`);
  }

  /**
   * Live rows sorted ascending by (attr, id), cached per attribute. Descending lists read the
   * same array from the end, so creates (newest timestamps, growing ids) append in O(1) to the
   * caches of both `createdAt desc` and `modifiedAt asc`.
   */
  private sortedAsc(entityType: string, attr: string, computed: boolean): Rec[] {
    const t = this.db.table(entityType);
    const cached = computed ? undefined : t.sorted.get(attr);
    if (cached && cached.version === t.version) return cached.rows;
    const rows: Rec[] = [];
    for (const r of t.byId.values()) if (r.deleted !== true) rows.push(r);
    rows.sort(this.comparator(entityType, attr, "asc"));
    if (!computed) t.sorted.set(attr, { version: t.version, rows });
    return rows;
  }

  /** Insert into an ascending cache: append when it sorts last (the usual case), else bisect. */
  private sortedInsert(rows: Rec[], rec: Rec, cmp: (a: Rec, b: Rec) => number): void {
    const n = rows.length;
    if (n === 0 || cmp(rows[n - 1] as Rec, rec) <= 0) {
      rows.push(rec);
      return;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(rows[mid] as Rec, rec) <= 0) lo = mid + 1;
      else hi = mid;
    }
    rows.splice(lo, 0, rec);
  }

  private comparator(entityType: string, attr: string, order: "asc" | "desc"): (a: Rec, b: Rec) => number {
    const dir = order === "asc" ? 1 : -1;
    const get = this.getters(entityType).get(attr) ?? ((r: Rec) => r[attr] ?? null);
    return (a, b) => {
      const c = compareSql(get(a), get(b));
      if (c !== 0) return c * dir;
      const ia = a.id as string;
      const ib = b.id as string;
      return (ia < ib ? -1 : ia > ib ? 1 : 0) * dir;
    };
  }

  list(user: User, entityType: string, p: SearchParams): { total: number; list: Rec[] } {
    const { total, rows, select } = this.listRows(user, entityType, p);
    const build = this.rowBuilder(entityType, select);
    return { total, list: rows.map(build) };
  }

  /**
   * The list response as PHP-JSON text. Rows without `select` are encoded once and cached per
   * record until the record (or any record name) changes — the hot path of full syncs.
   */
  listJson(user: User, entityType: string, p: SearchParams): string {
    const { total, rows, select } = this.listRows(user, entityType, p);
    const build = this.rowBuilder(entityType, select);
    let bySelect = this.rowJson.get(entityType);
    if (!bySelect) {
      bySelect = new Map();
      this.rowJson.set(entityType, bySelect);
    }
    const key = select ? select.join(",") : "";
    let cache = bySelect.get(key);
    if (!cache) {
      if (bySelect.size >= 32) bySelect.clear();
      cache = new WeakMap();
      bySelect.set(key, cache);
    }
    const parts: string[] = [];
    for (const r of rows) {
      let j = cache.get(r);
      if (j === undefined) {
        j = phpJsonEncode(build(r));
        cache.set(r, j);
      }
      parts.push(j);
    }
    return `{"total":${total},"list":[${parts.join(",")}]}`;
  }

  /** Forget cached row JSON of one record, or of every record (a name changed, metadata changed). */
  private dropRowJson(entityType: string | null, rec?: Rec): void {
    if (entityType === null) this.rowJson.clear();
    else if (rec) for (const c of this.rowJson.get(entityType)?.values() ?? []) c.delete(rec);
    else this.rowJson.delete(entityType);
  }

  private listRows(user: User, entityType: string, p: SearchParams): { total: number; rows: Rec[]; select: string[] | undefined } {
    this.checkRead(user, entityType);
    const def = this.def(entityType);
    const orderBy = p.orderBy ?? def.collection.orderBy;
    const order = p.order ?? (p.orderBy ? "asc" : def.collection.order);
    const { attr, computed } = this.sortKey(entityType, orderBy);
    const pred = compileWhere(p.where, this.whereContext(entityType));
    let select: string[] | undefined;
    if (p.select) {
      const attrs = this.attributes(entityType);
      const set = new Set<string>(["id"]);
      for (const s of p.select) if (attrs.has(s)) set.add(s);
      if (attrs.has("assignedUserId")) set.add("assignedUserId");
      if (attrs.has("createdById")) set.add("createdById");
      if (attrs.has(attr)) set.add(attr);
      select = [...set];
    }
    const asc = this.sortedAsc(entityType, attr, computed);
    const len = asc.length;
    const at = order === "asc" ? (i: number) => asc[i] as Rec : (i: number) => asc[len - 1 - i] as Rec;
    let filter = pred && p.extra ? (r: Rec) => pred(r) && (p.extra as (r: Rec) => boolean)(r) : (pred ?? p.extra);
    // The rows to consider: positions [lo, hi) in list order.
    let lo = 0;
    let hi = len;
    // Incremental-sync fast path. Over rows sorted by (attr, id) in one direction, some where
    // items are monotone: `attr >= t` / `attr > t`, and the keyset
    // `attr > t OR (attr = t AND id > x)`; others merely imply `attr >= t`. Each narrows the rows
    // to a contiguous run (suffix for asc, prefix for desc) found by bisection; the full filter
    // then runs inside the run only — or not at all when every item was monotone.
    const sortKind = this.attributes(entityType).get(attr)?.kind;
    if (pred && !computed && !p.extra && p.where && p.where.length > 0 && (sortKind === "datetime" || sortKind === "date")) {
      const ctx = this.whereContext(entityType);
      let allMonotone = true;
      for (const item of p.where) {
        let mono: ((r: Rec) => boolean) | null = null;
        if (isMonotone(item, attr)) mono = compileWhere([item], ctx);
        else {
          allMonotone = false;
          const b = lowerBound([item], attr);
          if (b) mono = compileWhere([{ type: "greaterThanOrEquals", attribute: attr, value: b.value }], ctx);
        }
        if (!mono) continue;
        let a = 0;
        let z = len;
        if (order === "asc") {
          while (a < z) {
            const mid = (a + z) >>> 1;
            if (mono(at(mid))) z = mid;
            else a = mid + 1;
          }
          lo = Math.max(lo, a);
        } else {
          while (a < z) {
            const mid = (a + z) >>> 1;
            if (mono(at(mid))) a = mid + 1;
            else z = mid;
          }
          hi = Math.min(hi, a);
        }
      }
      if (hi < lo) hi = lo;
      if (allMonotone) filter = undefined;
    }
    const page: Rec[] = [];
    let total: number;
    const end = p.offset + p.maxSize;
    if (!filter) {
      total = hi - lo;
      for (let i = lo + p.offset; i < Math.min(lo + end, hi); i++) page.push(at(i));
      if (p.noTotal) total = hi - lo > end ? -1 : -2;
    } else if (p.noTotal) {
      let n = 0;
      total = -2;
      for (let i = lo; i < hi; i++) {
        const r = at(i);
        if (!filter(r)) continue;
        if (n >= end) {
          total = -1;
          break;
        }
        if (n >= p.offset) page.push(r);
        n++;
      }
    } else {
      let n = 0;
      for (let i = lo; i < hi; i++) {
        const r = at(i);
        if (!filter(r)) continue;
        if (n >= p.offset && n < end) page.push(r);
        n++;
      }
      total = n;
    }
    return { total, rows: page, select };
  }

  // ---------------------------------------------------------------- read

  read(user: User, entityType: string, id: string): Rec {
    this.def(entityType);
    const rec = this.getLive(entityType, id);
    if (!rec) throw notFound(`Record ${id} does not exist.`);
    if (!this.acl(user, entityType, "read")) throw forbidden("No read access.");
    return this.valueMap(entityType, rec);
  }

  // ---------------------------------------------------------------- input

  /** Drop system, unknown and read-only attributes, like Espo's input filtering. */
  private filterInput(entityType: string, input: Rec, isCreate: boolean): Rec {
    const attrs = this.attributes(entityType);
    const out: Rec = {};
    for (const [k, v] of Object.entries(input)) {
      if (SYSTEM_INPUT.has(k)) continue;
      const meta = attrs.get(k);
      if (!meta || meta.readOnly) continue;
      if (!isCreate && meta.def.readOnlyAfterCreate) continue;
      out[k] = v;
    }
    return out;
  }

  /**
   * Validate and coerce the written attributes. `current` is the stored record on update.
   * On create every field is checked; on update only fields with an attribute in the input.
   */
  private validate(entityType: string, data: Rec, isCreate: boolean): void {
    const def = this.def(entityType);
    const fail = (field: string, type: string) => validationFailure(entityType, field, type);
    let plan = this.validationPlan.get(entityType);
    if (!plan) {
      plan = [];
      for (const [field, f] of Object.entries(def.fields)) {
        if (f.readOnly || f.type === "personName" || f.type === "autoincrement") continue;
        plan.push({ field, f, attrs: fieldAttributes(field, f).map((a) => a.name) });
      }
      this.validationPlan.set(entityType, plan);
    }
    for (const { field, f, attrs } of plan) {
      if (!isCreate && !attrs.some((a) => a in data)) continue;
      const isEmpty = (v: unknown) => v === undefined || v === null || v === "";
      switch (f.type) {
        case "varchar":
        case "text":
        case "url": {
          let v = data[field];
          if (typeof v === "number" || typeof v === "boolean") {
            v = String(v);
            data[field] = v;
          }
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (v != null && typeof v !== "string") throw fail(field, "valid");
          const max = f.maxLength ?? (f.type === "text" ? undefined : 255);
          if (typeof v === "string" && max !== undefined && [...v].length > max) throw fail(field, "maxLength");
          if (f.type === "url" && typeof v === "string" && v !== "" && /\s/.test(v)) throw fail(field, "valid");
          break;
        }
        case "enum": {
          const v = data[field];
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (!isEmpty(v) && (typeof v !== "string" || !(f.options ?? []).includes(v))) throw fail(field, "valid");
          break;
        }
        case "multiEnum": {
          const v = data[field];
          if (f.required && (!Array.isArray(v) || v.length === 0)) throw fail(field, "required");
          if (v != null && (!Array.isArray(v) || v.some((x) => !(f.options ?? []).includes(String(x))))) throw fail(field, "valid");
          break;
        }
        case "int":
        case "float":
        case "currency": {
          let v = data[field];
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (v === "") v = null;
          if (v != null) {
            if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) v = Number(v);
            if (typeof v !== "number" || !Number.isFinite(v)) throw fail(field, "valid");
            if (f.type === "int" && !Number.isInteger(v)) throw fail(field, "valid");
            if (f.min !== undefined && v < f.min) throw fail(field, "min");
            if (f.max !== undefined && v > f.max) throw fail(field, "max");
          }
          if (field in data) data[field] = v ?? null;
          if (f.type === "currency") {
            const cur = data[`${field}Currency`];
            if (cur != null && cur !== "" && !this.opts.currencyList.includes(String(cur))) throw fail(field, "validCurrency");
          }
          break;
        }
        case "bool": {
          if (field in data) data[field] = data[field] === true || data[field] === 1 || data[field] === "true" || data[field] === "1";
          break;
        }
        case "date": {
          const v = data[field];
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (!isEmpty(v) && (typeof v !== "string" || !DATE_RE.test(v) || !validDate(v))) throw fail(field, "valid");
          if (v === "") data[field] = null;
          break;
        }
        case "datetime": {
          const v = data[field];
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (!isEmpty(v)) {
            if (typeof v !== "string" || !DATETIME_RE.test(v) || !validDate(v.slice(0, 10))) throw fail(field, "valid");
            if (v.length === 16) data[field] = `${v}:00`;
          } else if (v === "") data[field] = null;
          break;
        }
        case "email": {
          const v = data[field];
          const list = data[`${field}Data`];
          if (f.required && isEmpty(v) && !(Array.isArray(list) && list.length > 0)) throw fail(field, "required");
          if (!isEmpty(v) && (typeof v !== "string" || !EMAIL_RE.test(v))) throw fail(field, "emailAddress");
          if (list != null) {
            if (!Array.isArray(list)) throw fail(field, "valid");
            if (list.length > 10) throw fail(field, "maxCount");
            for (const it of list) {
              const e = (it as Rec | null)?.emailAddress;
              if (typeof e !== "string" || !EMAIL_RE.test(e)) throw fail(field, "emailAddress");
            }
          }
          break;
        }
        case "phone": {
          const v = data[field];
          const list = data[`${field}Data`];
          if (f.required && isEmpty(v) && !(Array.isArray(list) && list.length > 0)) throw fail(field, "required");
          const check = (p: unknown) => {
            if (typeof p !== "string") throw fail(field, "valid");
            if (p.length > 36) throw fail(field, "maxLength");
            const n = this.normalizePhone(p);
            if (n === null) throw fail(field, "valid");
            return n;
          };
          if (!isEmpty(v)) data[field] = check(v);
          if (list != null) {
            if (!Array.isArray(list)) throw fail(field, "valid");
            if (list.length > 10) throw fail(field, "maxCount");
            for (const it of list as Rec[]) {
              it.phoneNumber = check(it?.phoneNumber);
              if (it.type != null && !(f.typeList ?? []).includes(String(it.type))) throw fail(field, "valid");
            }
          }
          break;
        }
        case "link": {
          const v = data[`${field}Id`];
          if (f.required && isEmpty(v)) throw fail(field, "required");
          if (v != null && typeof v !== "string") throw fail(field, "valid");
          if (v === "") data[`${field}Id`] = null;
          break;
        }
        case "linkMultiple": {
          const v = data[`${field}Ids`];
          if (f.required && (!Array.isArray(v) || v.length === 0)) throw fail(field, "required");
          if (v != null && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) throw fail(field, "valid");
          break;
        }
        case "address": {
          for (const [part, max] of Object.entries(ADDRESS_PARTS)) {
            const v = data[`${field}${part}`];
            if (v != null && typeof v !== "string") throw fail(field, "valid");
            if (typeof v === "string" && v.length > max) throw fail(field, "maxLength");
          }
          if (f.required && isEmpty(data[`${field}Street`]) && isEmpty(data[`${field}City`])) throw fail(field, "required");
          break;
        }
        case "jsonArray": {
          const v = data[field];
          if (f.required && (!Array.isArray(v) || v.length === 0)) throw fail(field, "required");
          if (v != null && (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null || Array.isArray(x))))
            throw fail(field, "valid");
          break;
        }
        default:
          break;
      }
    }
  }

  private normalizePhone(p: string): string | null {
    if (this.opts.phoneNumberInternational) {
      const t = p.trim();
      if (!t.startsWith("+")) return null;
      const digits = t.slice(1).replace(/[\s().-]/g, "");
      if (!/^\d{4,15}$/.test(digits)) return null;
      return `+${digits}`;
    }
    return /^[0-9A-Za-z_@:#+()\-. ]+$/.test(p) ? p : null;
  }

  /** Links must point at live records (403 like Espo's link check). */
  private checkLinks(entityType: string, data: Rec): void {
    const def = this.def(entityType);
    for (const [field, f] of Object.entries(def.fields)) {
      if (!f.entity || !this.db.entityDefs[f.entity]) continue;
      const ids: unknown[] =
        f.type === "link" ? [data[`${field}Id`]] : f.type === "linkMultiple" ? ((data[`${field}Ids`] as unknown[]) ?? []) : [];
      for (const id of ids) {
        if (id == null) continue;
        if (!this.getLive(f.entity, String(id)))
          throw forbidden(`Can't relate with non-existing record. entityType: ${f.entity}, id: ${String(id)}.`);
      }
    }
  }

  /** Duplicate-check keys of a record: name (or first|last for persons) and email addresses, lower-cased. */
  private dupKeys(entityType: string, rec: Rec): string[] {
    const def = this.def(entityType);
    const fields = def.duplicateCheckFieldList;
    if (!fields || rec.deleted === true) return [];
    const keys: string[] = [];
    const lc = (v: unknown) => String(v ?? "").toLowerCase();
    if (fields.includes("name")) {
      if (def.fields.name?.type === "personName") {
        if (rec.lastName != null && rec.lastName !== "") keys.push(`n:${lc(rec.firstName)}|${lc(rec.lastName)}`);
      } else if (rec.name != null && rec.name !== "") keys.push(`n:${lc(rec.name)}`);
    }
    if (fields.includes("emailAddress"))
      for (const e of (rec.emailAddressData as Rec[] | undefined) ?? []) keys.push(`e:${lc(e.emailAddress)}`);
    return keys;
  }

  private dupIndexOf(entityType: string): { keys: Map<string, Set<string>>; byId: Map<string, string[]> } {
    let ix = this.dupIndex.get(entityType);
    if (ix) return ix;
    ix = { keys: new Map(), byId: new Map() };
    this.dupIndex.set(entityType, ix);
    for (const r of this.db.table(entityType).byId.values()) this.reindex(entityType, r);
    return ix;
  }

  /** Keep the duplicate index in step with a record (call after every write). */
  private reindex(entityType: string, rec: Rec): void {
    const ix = this.dupIndex.get(entityType);
    if (!ix) return;
    const id = rec.id as string;
    for (const k of ix.byId.get(id) ?? []) ix.keys.get(k)?.delete(id);
    const keys = this.dupKeys(entityType, rec);
    ix.byId.set(id, keys);
    for (const k of keys) {
      let set = ix.keys.get(k);
      if (!set) {
        set = new Set();
        ix.keys.set(k, set);
      }
      set.add(id);
    }
  }

  private findDuplicates(entityType: string, rec: Rec): Rec[] {
    const keys = this.dupKeys(entityType, rec);
    if (keys.length === 0) return [];
    const ix = this.dupIndexOf(entityType);
    const table = this.db.table(entityType);
    const ids = new Set<string>();
    for (const k of keys) for (const id of ix.keys.get(k) ?? []) if (id !== rec.id) ids.add(id);
    const out: Rec[] = [];
    for (const id of ids) {
      const r = table.byId.get(id);
      if (!r || r.deleted === true) continue;
      out.push(this.valueMap(entityType, r));
      if (out.length >= 5) break;
    }
    return out;
  }

  // ---------------------------------------------------------------- writes

  /** Apply written attributes to a stored record (in place), keeping derived attributes in step. */
  private apply(entityType: string, rec: Rec, data: Rec, isCreate: boolean): void {
    const def = this.def(entityType);
    for (const [k, v] of Object.entries(data)) rec[k] = v;
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type === "email") this.applyEmail(field, rec, data);
      else if (f.type === "phone") this.applyPhone(field, f, rec, data);
      else if (f.type === "currency") {
        if (rec[field] != null && (rec[`${field}Currency`] == null || rec[`${field}Currency`] === ""))
          rec[`${field}Currency`] = this.opts.defaultCurrency;
      } else if (f.type === "personName") {
        const parts = [rec.firstName, rec.lastName].filter((x) => typeof x === "string" && x !== "");
        rec[field] = parts.length ? parts.join(" ") : null;
      } else if (f.type === "jsonArray" && field === "itemList" && field in data) {
        this.applyItems(rec);
      }
    }
    if (entityType === "Contact" && "accountId" in data) {
      const ids = ((rec.accountsIds as string[] | undefined) ?? []).slice();
      if (typeof rec.accountId === "string" && !ids.includes(rec.accountId)) ids.unshift(rec.accountId);
      rec.accountsIds = ids;
    }
    if (entityType === "Opportunity") {
      if (isCreate ? rec.probability == null : !(data.probability != null)) {
        const p = OPPORTUNITY_PROBABILITY[String(rec.stage)];
        if (p !== undefined) rec.probability = p;
      }
      if (rec.stage !== "Closed Lost" && (isCreate || "stage" in data)) rec.lastStage = rec.stage;
    }
  }

  private applyEmail(field: string, rec: Rec, data: Rec): void {
    const dataKey = `${field}Data`;
    if (dataKey in data) {
      const list = ((data[dataKey] as Rec[] | null) ?? []).map((it, i) => ({
        emailAddress: String(it.emailAddress),
        lower: String(it.emailAddress).toLowerCase(),
        primary: it.primary === true || (i === 0 && !(data[dataKey] as Rec[]).some((x) => x.primary === true)),
        optOut: it.optOut === true,
        invalid: it.invalid === true,
      }));
      rec[dataKey] = list;
    } else if (field in data) {
      const v = data[field];
      const list = ((rec[dataKey] as Rec[] | undefined) ?? []).filter((x) => x.primary !== true);
      if (typeof v === "string" && v !== "") {
        const rest = list.filter((x) => x.lower !== v.toLowerCase());
        rec[dataKey] = [{ emailAddress: v, lower: v.toLowerCase(), primary: true, optOut: false, invalid: false }, ...rest];
      } else {
        if (list[0]) list[0] = { ...list[0], primary: true };
        rec[dataKey] = list;
      }
    }
    const list = (rec[dataKey] as Rec[] | undefined) ?? [];
    rec[dataKey] = list;
    const primary = list.find((x) => x.primary === true);
    rec[field] = primary ? primary.emailAddress : null;
    rec[`${field}IsOptedOut`] = primary ? primary.optOut === true : false;
    rec[`${field}IsInvalid`] = primary ? primary.invalid === true : false;
  }

  private applyPhone(field: string, f: FieldDef, rec: Rec, data: Rec): void {
    const dataKey = `${field}Data`;
    const defType = f.defaultType ?? "Office";
    if (dataKey in data) {
      const src = (data[dataKey] as Rec[] | null) ?? [];
      rec[dataKey] = src.map((it, i) => ({
        phoneNumber: String(it.phoneNumber),
        type: it.type ?? defType,
        primary: it.primary === true || (i === 0 && !src.some((x) => x.primary === true)),
        optOut: it.optOut === true,
        invalid: it.invalid === true,
      }));
    } else if (field in data) {
      const v = data[field];
      const list = ((rec[dataKey] as Rec[] | undefined) ?? []).filter((x) => x.primary !== true);
      if (typeof v === "string" && v !== "") {
        const rest = list.filter((x) => x.phoneNumber !== v);
        rec[dataKey] = [{ phoneNumber: v, type: defType, primary: true, optOut: false, invalid: false }, ...rest];
      } else rec[dataKey] = list;
    }
    const list = (rec[dataKey] as Rec[] | undefined) ?? [];
    rec[dataKey] = list;
    const primary = list.find((x) => x.primary === true);
    rec[field] = primary ? primary.phoneNumber : null;
    rec[`${field}IsOptedOut`] = primary ? primary.optOut === true : false;
    rec[`${field}IsInvalid`] = primary ? primary.invalid === true : false;
    rec[`${field}Numeric`] = primary ? String(primary.phoneNumber).replace(/\D/g, "") : null;
  }

  /** Opportunity items (Sales Pack style `itemList`): ids, names, amounts; amount = sum of items. */
  private applyItems(rec: Rec): void {
    const items = (rec.itemList as Rec[] | null) ?? [];
    let sum = 0;
    rec.itemList = items.map((it, i) => {
      const quantity = it.quantity == null ? 1 : Number(it.quantity);
      const unitPrice = it.unitPrice == null ? (it.listPrice == null ? 0 : Number(it.listPrice)) : Number(it.unitPrice);
      const amount = it.amount == null ? Math.round(quantity * unitPrice * 100) / 100 : Number(it.amount);
      sum += amount;
      const productId = (it.productId as string | undefined) ?? null;
      const product = productId ? this.getLive("Product", productId) : undefined;
      return {
        id: typeof it.id === "string" && it.id ? it.id : this.db.generateId(),
        name: it.name ?? product?.name ?? null,
        productId,
        productName: product?.name ?? (it.productName as string | undefined) ?? null,
        quantity,
        listPrice: it.listPrice == null ? (product?.listPrice ?? null) : Number(it.listPrice),
        listPriceCurrency: it.listPriceCurrency ?? rec.amountCurrency ?? this.opts.defaultCurrency,
        unitPrice,
        unitPriceCurrency: it.unitPriceCurrency ?? rec.amountCurrency ?? this.opts.defaultCurrency,
        discount: it.discount == null ? null : Number(it.discount),
        amount,
        amountCurrency: it.amountCurrency ?? rec.amountCurrency ?? this.opts.defaultCurrency,
        order: it.order == null ? i + 1 : Number(it.order),
        description: it.description ?? null,
      };
    });
    if (items.length > 0) {
      rec.amount = Math.round(sum * 100) / 100;
      if (rec.amountCurrency == null) rec.amountCurrency = this.opts.defaultCurrency;
    }
  }

  private applyDefaults(entityType: string, data: Rec): void {
    const def = this.def(entityType);
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.default !== undefined && !(field in data)) data[field] = f.default;
      if (f.type === "bool" && !(field in data)) data[field] = false;
    }
  }

  create(user: User, entityType: string, input: Rec, opts: { skipDuplicateCheck?: boolean; keep?: Rec } = {}): Rec {
    const def = this.def(entityType);
    if (!this.acl(user, entityType, "create")) throw forbidden("No create access.");
    const skipDup = opts.skipDuplicateCheck === true || input._skipDuplicateCheck === true;
    const data = this.filterInput(entityType, input, true);
    this.applyDefaults(entityType, data);
    this.validate(entityType, data, true);
    this.checkLinks(entityType, data);
    const now = this.db.nowString();
    const rec = this.newRecord(entityType);
    rec.id = opts.keep?.id ?? this.db.generateId();
    rec.deleted = false;
    this.apply(entityType, rec, data, true);
    if (!skipDup && def.duplicateCheckFieldList) {
      const dups = this.findDuplicates(entityType, rec);
      if (dups.length > 0) throw new ApiError(409, "duplicate", dups);
    }
    rec.createdAt = (opts.keep?.createdAt as string | undefined) ?? now;
    rec.modifiedAt = (opts.keep?.modifiedAt as string | undefined) ?? rec.createdAt;
    rec.createdById = (opts.keep?.createdById as string | undefined) ?? user.id;
    rec.modifiedById = (opts.keep?.modifiedById as string | undefined) ?? user.id;
    if (def.optimisticConcurrencyControl) rec.versionNumber = (opts.keep?.versionNumber as number | undefined) ?? 1;
    const t = this.db.table(entityType);
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type === "autoincrement") {
        const given = opts.keep?.[field];
        if (typeof given === "number") {
          rec[field] = given;
          t.autoincrement = Math.max(t.autoincrement, given);
        } else rec[field] = ++t.autoincrement;
      }
    }
    this.insert(entityType, rec);
    const map = this.valueMap(entityType, rec);
    this.onEvent({ entityType, action: "create", id: rec.id as string, data: map, userId: user.id });
    return map;
  }

  private insert(entityType: string, rec: Rec): void {
    const t = this.db.table(entityType);
    t.byId.set(rec.id as string, rec);
    this.reindex(entityType, rec);
    // Keep sorted caches valid: insert instead of invalidating.
    const next = t.version + 1;
    for (const [attr, c] of t.sorted) {
      if (c.version !== t.version) {
        t.sorted.delete(attr);
        continue;
      }
      this.sortedInsert(c.rows, rec, this.comparator(entityType, attr, "asc"));
      c.version = next;
    }
    t.version = next;
  }

  /**
   * After an in-place change of `changed` attributes: caches not sorted by them stay valid; with
   * the record at hand, caches sorted by a changed attribute are repaired (remove + binary insert)
   * instead of dropped, so update-then-list by modifiedAt stays cheap.
   */
  private touched(entityType: string, changed: Iterable<string>, rec?: Rec): void {
    const t = this.db.table(entityType);
    const ch = new Set(changed);
    const next = t.version + 1;
    for (const [attr, c] of t.sorted) {
      if (c.version !== t.version) {
        t.sorted.delete(attr);
        continue;
      }
      if (!ch.has(attr) && !ch.has("deleted")) {
        c.version = next;
        continue;
      }
      if (!rec) {
        t.sorted.delete(attr);
        continue;
      }
      const pos = c.rows.indexOf(rec);
      if (pos >= 0) c.rows.splice(pos, 1);
      if (rec.deleted !== true) this.sortedInsert(c.rows, rec, this.comparator(entityType, attr, "asc"));
      c.version = next;
    }
    t.version = next;
  }

  update(user: User, entityType: string, id: string, input: Rec, opts: { versionNumber?: number | null } = {}): Rec {
    const def = this.def(entityType);
    const rec = this.getLive(entityType, id);
    if (!rec) throw notFound(`Record ${id} not found.`);
    if (!this.acl(user, entityType, "edit")) throw forbidden("No edit access.");
    const data = this.filterInput(entityType, input, false);
    if (def.optimisticConcurrencyControl && opts.versionNumber != null && opts.versionNumber !== rec.versionNumber) {
      const values: Rec = {};
      const attrs = this.attributes(entityType);
      const conflictFields = new Set<string>();
      for (const [k, v] of Object.entries(data)) {
        if (!sameValue(rec[k], v)) conflictFields.add((attrs.get(k) as AttrMeta).field);
      }
      if (conflictFields.size > 0) {
        for (const f of conflictFields) {
          const fd = def.fields[f];
          if (!fd) continue;
          for (const a of fieldAttributes(f, fd)) values[a.name] = this.value(entityType, rec, a.name);
        }
        throw new ApiError(409, "modified", { values, versionNumber: rec.versionNumber });
      }
    }
    this.validate(entityType, data, false);
    this.checkLinks(entityType, data);
    return this.save(user, entityType, rec, data);
  }

  /** Save written attributes into a live record; emits the update event. */
  private save(user: User, entityType: string, rec: Rec, data: Rec, silentChildren = false): Rec {
    const def = this.def(entityType);
    const before = this.valueMap(entityType, rec);
    this.apply(entityType, rec, data, false);
    rec.modifiedAt = this.db.nowString();
    rec.modifiedById = user.id;
    if (def.optimisticConcurrencyControl) rec.versionNumber = ((rec.versionNumber as number | null) ?? 0) + 1;
    this.reindex(entityType, rec);
    const after = this.valueMap(entityType, rec);
    const changed: string[] = [];
    for (const k of Object.keys(after)) if (!sameValue(before[k], after[k])) changed.push(k);
    this.dropRowJson(entityType, rec);
    if (changed.includes("name")) this.dropRowJson(null);
    this.touched(entityType, [...changed, "modifiedAt", "modifiedById", "versionNumber"], rec);
    const eventChanged = changed.filter((k) => !UPDATE_EVENT_EXCLUDED.has(k));
    if (eventChanged.length > 0 && !silentChildren) {
      const payload: Rec = { id: rec.id };
      for (const k of eventChanged) payload[k] = after[k];
      this.onEvent({ entityType, action: "update", id: rec.id as string, data: payload, after, changed: eventChanged, userId: user.id });
    }
    return after;
  }

  remove(user: User, entityType: string, id: string): true {
    this.def(entityType);
    const rec = this.getLive(entityType, id);
    if (!rec) throw notFound(`Record ${id} not found.`);
    if (!this.acl(user, entityType, "delete")) throw forbidden("No delete access.");
    this.softDelete(user, entityType, rec);
    return true;
  }

  private softDelete(user: User, entityType: string, rec: Rec): void {
    rec.deleted = true;
    rec.modifiedById = user.id;
    this.dropRowJson(entityType, rec);
    this.reindex(entityType, rec);
    this.touched(entityType, ["deleted"], rec);
    this.onEvent({ entityType, action: "delete", id: rec.id as string, data: { id: rec.id }, userId: user.id });
  }

  // ---------------------------------------------------------------- related

  link(entityType: string, link: string): { entity: string; foreignKey?: string; multi?: string } {
    const def = this.def(entityType);
    const l = def.links[link];
    if (l?.foreignKey) return { entity: l.entity, foreignKey: l.foreignKey };
    const f = def.fields[link];
    if (f?.type === "linkMultiple" && f.entity && this.db.entityDefs[f.entity]) return { entity: f.entity, multi: `${link}Ids` };
    throw notFound("Link does not exist.");
  }

  listRelated(user: User, entityType: string, id: string, link: string, p: SearchParams): { total: number; list: Rec[] } {
    this.def(entityType);
    const parent = this.getLive(entityType, id);
    if (!parent) throw notFound(`Record ${id} does not exist.`);
    if (!this.acl(user, entityType, "read")) throw forbidden("No read access.");
    const l = this.link(entityType, link);
    let extra: (r: Rec) => boolean;
    if (l.foreignKey) {
      const fk = l.foreignKey;
      const multi = entityType === "Account" && l.entity === "Contact" ? "accountsIds" : undefined;
      extra = (r) => r[fk] === id || (multi !== undefined && ((r[multi] as string[] | null) ?? []).includes(id));
    } else {
      const ids = new Set((parent[l.multi as string] as string[] | null) ?? []);
      extra = (r) => ids.has(r.id as string);
    }
    return this.list(user, l.entity, { ...p, extra });
  }

  relate(user: User, entityType: string, id: string, link: string, ids: string[], unrelate: boolean): true {
    this.def(entityType);
    const parent = this.getLive(entityType, id);
    if (!parent) throw notFound(`Record ${id} does not exist.`);
    if (!this.acl(user, entityType, "edit")) throw forbidden("No edit access.");
    const l = this.link(entityType, link);
    for (const cid of ids) {
      const child = this.getLive(l.entity, cid);
      if (!child) throw notFound(`Record ${cid} does not exist.`);
      this.dropRowJson(l.entity, child);
      this.dropRowJson(entityType, parent);
      if (l.foreignKey) {
        if (unrelate) {
          if (child[l.foreignKey] === id) child[l.foreignKey] = null;
        } else child[l.foreignKey] = id;
        this.touched(l.entity, [l.foreignKey]);
      } else {
        const key = l.multi as string;
        const cur = ((parent[key] as string[] | null) ?? []).filter((x) => x !== cid);
        if (!unrelate) cur.push(cid);
        parent[key] = cur;
        this.touched(entityType, [key]);
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- merge

  /**
   * `POST /{Entity}/action/merge` {targetId, sourceIds, attributes}: relink every child of the
   * sources to the target (a relation update, no save hooks, so no webhook events for children),
   * merge email addresses / phone numbers, save the target with `attributes`, delete the sources.
   */
  merge(user: User, entityType: string, body: Rec): true {
    this.def(entityType);
    const targetId = body.targetId;
    const sourceIds = body.sourceIds;
    const attributes = body.attributes;
    if (
      typeof targetId !== "string" ||
      !targetId ||
      !Array.isArray(sourceIds) ||
      sourceIds.length === 0 ||
      typeof attributes !== "object" ||
      attributes === null ||
      Array.isArray(attributes)
    )
      throw badRequest();
    const target = this.getLive(entityType, targetId);
    if (!target) throw notFound(`Record ${targetId} not found.`);
    if (!this.acl(user, entityType, "edit")) throw forbidden("No edit access.");
    const sources: Rec[] = [];
    for (const sid of sourceIds) {
      const s = this.getLive(entityType, String(sid));
      if (!s) throw notFound(`Record ${String(sid)} not found.`);
      if (!this.acl(user, entityType, "delete")) throw forbidden("No delete access.");
      if (s.id !== targetId) sources.push(s);
    }
    const data = this.filterInput(entityType, attributes as Rec, false);
    this.validate(entityType, data, false);
    const def = this.def(entityType);
    // Relink children.
    for (const [otherType, otherDef] of Object.entries(this.db.entityDefs)) {
      const t = this.db.table(otherType);
      const keys: string[] = [];
      const multis: string[] = [];
      for (const [field, f] of Object.entries(otherDef.fields)) {
        if (f.entity !== entityType) continue;
        if (f.type === "link") keys.push(`${field}Id`);
        if (f.type === "linkMultiple") multis.push(`${field}Ids`);
      }
      if (keys.length === 0 && multis.length === 0) continue;
      const srcSet = new Set(sources.map((s) => s.id as string));
      const changed = new Set<string>();
      for (const r of t.byId.values()) {
        for (const k of keys)
          if (srcSet.has(r[k] as string)) {
            r[k] = targetId;
            changed.add(k);
          }
        for (const k of multis) {
          const ids = r[k] as string[] | null;
          if (ids?.some((x) => srcSet.has(x))) {
            const next: string[] = [];
            for (const x of ids) {
              const y = srcSet.has(x) ? targetId : x;
              if (!next.includes(y)) next.push(y);
            }
            r[k] = next;
            changed.add(k);
          }
        }
      }
      if (changed.size) {
        this.touched(otherType, changed);
        this.dropRowJson(otherType);
      }
    }
    // Merge email addresses / phone numbers into the target.
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type !== "email" && f.type !== "phone") continue;
      const key = `${field}Data`;
      if (key in data) continue;
      const list = [...((target[key] as Rec[] | null) ?? [])];
      const valueKey = f.type === "email" ? "emailAddress" : "phoneNumber";
      const seen = new Set(list.map((x) => String(x[valueKey]).toLowerCase()));
      for (const s of sources)
        for (const it of (s[key] as Rec[] | null) ?? []) {
          const v = String(it[valueKey]).toLowerCase();
          if (seen.has(v)) continue;
          seen.add(v);
          list.push({ ...it, primary: false });
        }
      if (list.length !== ((target[key] as Rec[] | null) ?? []).length) data[key] = list;
    }
    this.save(user, entityType, target, data);
    for (const s of sources) this.softDelete(user, entityType, s);
    return true;
  }

  /**
   * `POST /MassAction` {entityType, action: "update"|"delete", params: {ids}|{where}, data}: applies
   * the action record by record with the caller's rights; records that fail (ACL, validation) are
   * skipped, as Espo's mass action does. Returns {count, ids} of the records actually processed.
   */
  massAction(user: User, body: Rec): { count: number; ids: string[] } {
    const entityType = body.entityType;
    const action = body.action;
    const params = body.params as Rec | undefined;
    if (typeof entityType !== "string" || typeof action !== "string" || typeof params !== "object" || params === null) throw badRequest();
    this.def(entityType);
    if (action !== "update" && action !== "delete") throw notFound(`Mass action '${action}' does not exist.`);
    if (!this.acl(user, entityType, action === "update" ? "edit" : "delete")) throw forbidden();
    let ids: string[];
    if (Array.isArray(params.ids)) ids = params.ids.map(String);
    else if (Array.isArray(params.where)) {
      const pred = compileWhere(params.where, this.whereContext(entityType)) ?? (() => true);
      ids = [];
      for (const r of this.db.table(entityType).byId.values()) if (r.deleted !== true && pred(r)) ids.push(r.id as string);
    } else throw badRequest();
    const done: string[] = [];
    for (const id of ids) {
      try {
        if (action === "update") this.update(user, entityType, id, (body.data as Rec | undefined) ?? {});
        else this.remove(user, entityType, id);
        done.push(id);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
    return { count: done.length, ids: done };
  }

  /** Seed: insert records keeping given ids/timestamps, skipping duplicate checks and events. */
  seed(user: User, entityType: string, input: Rec): Rec {
    const def = this.def(entityType);
    const existing = typeof input.id === "string" ? this.db.table(entityType).byId.get(input.id) : undefined;
    if (existing) throw badRequest(`Seed: ${entityType} ${String(input.id)} already exists.`);
    const handler = this.onEvent;
    this.onEvent = () => {};
    try {
      const map = this.create(user, entityType, input, { skipDuplicateCheck: true, keep: input });
      const rec = this.db.table(entityType).byId.get(map.id as string) as Rec;
      // Seeded data may carry attributes Espo keeps but the API would filter (e.g. modifiedById).
      for (const k of ["createdAt", "modifiedAt", "createdById", "modifiedById"]) if (typeof input[k] === "string") rec[k] = input[k];
      if (def.optimisticConcurrencyControl && typeof input.versionNumber === "number") rec.versionNumber = input.versionNumber;
      return this.valueMap(entityType, rec);
    } finally {
      this.onEvent = handler;
    }
  }

  formatNow(): string {
    return formatDateTime(this.db.nowMs());
  }
}

function defaultEmpty(meta: AttrMeta | undefined): unknown {
  if (!meta) return null;
  const t = meta.def.type;
  if (t === "bool") return false;
  if (meta.kind === "bool") return false;
  if (t === "linkMultiple" && meta.name.endsWith("Ids")) return [];
  if (t === "linkMultiple" && meta.name.endsWith("Names")) return {};
  if ((t === "email" || t === "phone") && meta.name.endsWith("Data")) return [];
  if (t === "multiEnum" || t === "jsonArray") return t === "multiEnum" ? [] : null;
  return null;
}

const LOWER_BOUND_TYPES = new Set(["greaterThan", "after", "greaterThanOrEquals"]);

/**
 * Whether one where item is monotone over rows sorted by (attr, id) in either direction:
 * a plain lower bound on `attr`, or the keyset `attr > t OR (attr = t AND id > x)`.
 */
function isMonotone(raw: unknown, attr: string): boolean {
  if (typeof raw !== "object" || raw === null) return false;
  const it = raw as Rec;
  const plain = (x: Rec) => x.dateTime === undefined || x.dateTime === false;
  const attrOf = (x: Rec) => x.attribute ?? x.field;
  if (LOWER_BOUND_TYPES.has(String(it.type))) return plain(it) && attrOf(it) === attr && typeof it.value === "string";
  if (it.type !== "or" || !Array.isArray(it.value) || it.value.length !== 2) return false;
  const [g, a] = it.value as [Rec, Rec];
  if (typeof g !== "object" || g === null || typeof a !== "object" || a === null) return false;
  if (!(g.type === "greaterThan" || g.type === "after") || attrOf(g) !== attr || !plain(g)) return false;
  if (a.type !== "and" || !Array.isArray(a.value) || a.value.length !== 2) return false;
  const [e, i] = a.value as [Rec, Rec];
  if (typeof e !== "object" || e === null || typeof i !== "object" || i === null) return false;
  return (
    e.type === "equals" &&
    attrOf(e) === attr &&
    plain(e) &&
    e.value === g.value &&
    i.type === "greaterThan" &&
    attrOf(i) === "id" &&
    typeof i.value === "string"
  );
}

/**
 * A lower bound on `attr` implied by a list of ANDed where items: `{value}` such that every
 * matching row has `attr >= value`; `exact` when the items are exactly `attr >= value`.
 * Only plain (non-`dateTime`) items are considered; anything else yields undefined.
 */
function lowerBound(items: unknown[], attr: string): { value: string; exact: boolean } | undefined {
  const of = (raw: unknown): string | undefined => {
    if (typeof raw !== "object" || raw === null) return undefined;
    const it = raw as Rec;
    if (it.dateTime !== undefined && it.dateTime !== false) return undefined;
    const a = it.attribute ?? it.field;
    if (a === attr && (LOWER_BOUND_TYPES.has(String(it.type)) || it.type === "equals") && typeof it.value === "string") return it.value;
    if (it.type === "and" && Array.isArray(it.value)) {
      for (const x of it.value) {
        const v = of(x);
        if (v !== undefined) return v;
      }
      return undefined;
    }
    if (it.type === "or" && Array.isArray(it.value) && it.value.length > 0) {
      let min: string | undefined;
      for (const x of it.value) {
        const v = of(x);
        if (v === undefined) return undefined;
        if (min === undefined || v < min) min = v;
      }
      return min;
    }
    return undefined;
  };
  let best: string | undefined;
  for (const it of items) {
    const v = of(it);
    if (v !== undefined && (best === undefined || v > best)) best = v;
  }
  if (best === undefined) return undefined;
  const only = items.length === 1 ? (items[0] as Rec) : undefined;
  const exact = !!only && (only.attribute ?? only.field) === attr && LOWER_BOUND_TYPES.has(String(only.type));
  return { value: best, exact };
}

/** MySQL ordering: NULL first ascending, numbers numerically, strings case-insensitively. */
export function compareSql(a: unknown, b: unknown): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : -1) : 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" || typeof b === "boolean") return Number(a) - Number(b);
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
