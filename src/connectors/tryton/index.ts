/**
 * Tryton connector (JSON-RPC, trytond 6.0 LTS). Behaviour per /work/shared/reference/tryton.md;
 * entities are Tryton model names (party.party, party.address, party.contact_mechanism,
 * sale.sale, sale.line, product.product, …), ids are Tryton ids as strings.
 *
 * The traps it handles:
 * - the body must be exactly {id, method, params} or the envelope disappears (rpc.ts);
 * - the context is the LAST param of every model call and needs `company` (else record rules
 *   refuse sales and company-dependent fields read null): taken from options.company, else
 *   from res.user.get_preferences(true) once;
 * - session login (common.db.login) with `Authorization: Session base64(login:uid:key)`; a 401
 *   on a call = expired session → one re-login; a wrong password = AuthError after exactly one
 *   call, never retried, remembered (5 failures lock the login out with HTTP 429);
 * - `write_date` is null until the first write → "modified" is COALESCE(write_date,
 *   create_date), and change reads filter ["OR", [create_date >= t], [write_date >= t]];
 * - every record of one transaction shares ONE timestamp (the transaction's start, µs), and a
 *   transaction that started before a cursor may commit after it → see readChanges below;
 *   the engine's overlap window (sync.overlap) covers late commits;
 * - Tryton cannot order by COALESCE(write_date, create_date) → readChanges lists (id,
 *   create_date, write_date) of the matching records with an id keyset (cheap rows, never
 *   skips), sorts by (modifiedAt, id) client-side, then reads full records page by page in that
 *   order; a record modified after it was listed is moved to its new place (or left to the next
 *   read's overlap when its new timestamp sorts before what was already returned); when the
 *   list is exhausted it lists again after the last record returned (catch-up), so a record
 *   changed during the walk comes once more with its new values;
 * - changing a child (party.address, party.contact_mechanism, sale.line) does not touch the
 *   parent's write_date → sync the child models as entities of their own, or read them;
 * - no tombstones → listIds (search by id keyset) for deletions by comparison; archived
 *   records (active=false) are read too (context active_test=false), archiving is a change;
 * - Decimal/date/datetime objects both ways (codec.ts); datetimes are naive UTC;
 * - x2many values are written as commands: a table given as rows replaces the whole table
 *   (rows with `id` → ["write"], without → ["create"], missing → ["delete"]); raw command lists
 *   ([["create",[…]], ["add",[ids]], …]) pass through unchanged;
 * - a many2one reads as a bare int → exposed as the id string (links compare with record ids);
 *   SQLite returns booleans as 0/1 → decoded to true/false by the field's type; rows of a table
 *   given back to update() lose their static read-only columns (server-computed);
 * - optimistic locking: Tryton's `_timestamp` is EXTRACT(EPOCH …) of the modification — whole
 *   seconds on SQLite, so two writes in one second would not conflict. `version` is therefore
 *   the raw microsecond COALESCE(write_date, create_date); update(ifVersion) compares it first,
 *   then writes with the `_timestamp` just read in the context (Tryton's own check);
 * - workflow buttons in the wrong state are silently ignored and `confirm` answers OK even when
 *   the processing after it fails (no account category, no receivable account): submit/cancel
 *   always re-read the state; a sale left `confirmed` gets `process` called, which surfaces the
 *   real error as ValidationRejected;
 * - SQLite does not enforce foreign keys: a many2one to a missing id is accepted by Tryton;
 *   options.checkLinks (default true) checks many2one targets exist before create/update;
 * - server-side create runs no on_change: a sale needs invoice_address/shipment_address, a
 *   sale line unit/unit_price, a template `products: [["create",[{}]]]` — the integration file
 *   must map them; the one exception is a new line's `unit` (sale.line, and any model with
 *   product + unit links): left out, it is the product's sale (purchase, default) unit, exactly
 *   as Tryton's on_change_product sets it, read once for all lines (options.fillUnits: false
 *   turns this off);
 * - product.product's name, list price and units are its template's, exposed as LAZY function
 *   fields that a default read leaves out: they are read by default all the same (EXTRA_COLUMNS;
 *   options.columns adds others per model). Editing only the template does not touch the
 *   variant's write_date: for product.product the template's modification counts as the
 *   variant's (MODIFIED_VIA: change reads also select variants whose template changed, and
 *   modifiedAt/version are the later of the two);
 * - organisations(): a party's address, contact mechanisms and identifiers are separate models,
 *   read in batches for all parties at once (organisations.ts);
 * - bulk creates (createMany, for the engine's bulk-creates.ts): `create` takes a list of value
 *   dicts and answers the ids in the same order, in one transaction → one RPC per batch of at most
 *   maxCreateBatch (100), all or none, then one read of the created records; each payload is encoded
 *   and checked as create() does (link targets checked per target model for the whole batch);
 * - each login hashes the password server-side (~0.25 s, more under load) → connectors of one
 *   process share the session of a login (rpc.ts) and the fields_get answers (5 min).
 *
 * Options (ConnectorConfig.options): database (else the URL's first path segment), company
 * (company.company id for the context; else the user's preferences), language, checkLinks
 * (default true), submit ({model: last button}, default {"sale.sale": "confirm"}; "quote"
 * stops at a quotation), workflows (extra models with states), columns ({model: [lazy fields
 * read by default]}), fillUnits (default true), pageSize (default 200), and the
 * common HTTP options (timeoutMs, concurrency, maxRetries, rateLimit, logger …).
 * Credentials: user, password.
 */
import { NotFound, SchemaDrift, Transient, ValidationRejected, VersionConflict } from "../../errors.ts";
import { bulkKeyOf, checkBulkPayloads } from "../bulk.ts";
import { readCommonOptions } from "../options.ts";
import type {
  Connector,
  ConnectorConfig,
  ConnectorDefinition,
  ConnectorStats,
  Cursor,
  EntityDescription,
  FieldDescription,
  FieldType,
  FilterExpr,
  OrganisationView,
  ReadChangesOptions,
  RecordPage,
  RemoteRecord,
  SchemaDescription,
} from "../types.ts";
import { decodeValue, encodeDate, encodeDecimal, encodeTime, isoToDateTime, isTrytonDateTime, rawDateTime, rawToIso } from "./codec.ts";
import { ADDRESS_COLUMNS, IDENTIFIER_COLUMNS, MECHANISM_COLUMNS, trytonPartyOrganisations } from "./organisations.ts";
import { SYSTEM, TrytonRpc } from "./rpc.ts";

export { SYSTEM };

/** One field as fields_get describes it (the keys we use). */
export interface TrytonField {
  type: string;
  string?: string;
  required?: boolean;
  readonly?: boolean;
  relation?: string;
  relation_field?: string;
  selection?: unknown;
  size?: number | null;
  loading?: string;
}
type Fields = Record<string, TrytonField>;
type Row = Record<string, unknown>;
type Domain = unknown[];

const SYSTEM_FIELDS = ["id", "create_date", "write_date", "create_uid", "write_uid", "_timestamp"];
const X2MANY = new Set(["one2many", "many2many"]);
const COMMANDS = new Set(["create", "write", "delete", "add", "remove", "copy"]);
/** Entities described when describe() is called without a list. */
const DEFAULT_MODELS = ["party.party", "party.address", "party.contact_mechanism", "product.product", "sale.sale", "sale.line"];
/** Largest id list per read (Tryton has no limit; this keeps requests small). */
const READ_CHUNK = 200;
const LIST_PAGE = 1000;
export const TRYTON_DEFAULT_PAGE = 200;

/**
 * fields_get answers shared by the connectors of one process (keyed by server, database, user
 * and model) for FIELDS_TTL_MS: a new connector does not pay one fields_get per model again.
 * describe() always asks the server (drift checks see the live schema) and refreshes this.
 */
const FIELDS_TTL_MS = 5 * 60_000;
const sharedFields = new Map<string, { at: number; fields: Fields }>();

/**
 * Lazy (function) fields read by default all the same, per model: a product.product's name, prices
 * and units are its template's, exposed as lazy function fields; without them a product read is
 * an id and a code. options.columns adds more ({model: [field, …]}).
 */
const EXTRA_COLUMNS: Record<string, string[]> = {
  "product.product": ["name", "list_price", "default_uom", "sale_uom", "salable", "type", "template"],
};

/** Workflow of a model with states: the buttons submit/cancel press, in order, and what they reach. */
export interface Workflow {
  /** Ordered states; a state later in this list counts as "at or past". */
  order: string[];
  /** Buttons for submit, each with the state it must reach. */
  submit: { button: string; reaches: string[] }[];
  /** State that means cancelled, and the button. */
  cancel: { button: string; state: string; from: string[]; resetFirst?: { button: string; from: string[] } };
  /** After the last submit step: states that mean fully processed, and the button that re-runs processing. */
  processed?: { states: string[]; button: string };
}

const SALE_WORKFLOW: Workflow = {
  order: ["draft", "quotation", "confirmed", "processing", "done"],
  submit: [
    { button: "quote", reaches: ["quotation"] },
    { button: "confirm", reaches: ["confirmed", "processing", "done"] },
  ],
  cancel: { button: "cancel", state: "cancelled", from: ["draft", "quotation"], resetFirst: { button: "draft", from: ["confirmed"] } },
  processed: { states: ["processing", "done"], button: "process" },
};

function isObj(v: unknown): v is Row {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function numId(entity: string, id: string | number, field?: string): number {
  const n = typeof id === "number" ? id : /^\d+$/.test(id.trim()) ? Number(id) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ValidationRejected(`tryton: ${JSON.stringify(id)} is not a Tryton record id${field ? ` (field ${field})` : ""}.`, {
      where: { system: SYSTEM, object: entity, field },
      hint: "Tryton ids are positive integers (as strings at Accord's interface).",
    });
  return n;
}

function cmpKey(a: { iso: string; id: number }, b: { iso: string; id: number }): number {
  return a.iso < b.iso ? -1 : a.iso > b.iso ? 1 : a.id - b.id;
}

/** A listed change: id, raw µs modification, ISO ms. */
interface Listed {
  id: number;
  raw: string;
  iso: string;
  moves: number;
}

function ownModRaw(row: Row): string | undefined {
  const w = row.write_date;
  const c = row.create_date;
  if (isTrytonDateTime(w)) return rawDateTime(w);
  if (isTrytonDateTime(c)) return rawDateTime(c);
  return undefined;
}

/**
 * A record's modification: COALESCE(write_date, create_date), or the later one of its `via`
 * record's (read as the dotted "<via>." object), when the model's values live there (MODIFIED_VIA).
 */
function modRaw(row: Row, via?: string): string | undefined {
  const own = ownModRaw(row);
  const rel = via ? row[`${via}.`] : undefined;
  const other = isObj(rel) ? ownModRaw(rel) : undefined;
  if (own === undefined) return other;
  return other !== undefined && other > own ? other : own;
}

/**
 * Models whose values live partly in a linked record, whose modification therefore counts as the
 * record's own: a product.product's name and list price are its template's, and editing the
 * template does not touch the variant's write_date. Change reads also select records whose
 * template changed, and modifiedAt/version are the later of the two.
 */
const MODIFIED_VIA: Record<string, string> = { "product.product": "template" };

export function neutralType(name: string, f: TrytonField): FieldType {
  switch (f.type) {
    case "char":
      return /(^|_)email$/.test(name) ? "email" : /(^|_)(phone|mobile|fax)$/.test(name) ? "phone" : "string";
    case "text":
      return "text";
    case "integer":
    case "biginteger":
      return "int";
    case "float":
      return "float";
    case "numeric":
      return /price|amount|total|balance|receivable|payable|cost|revenue/.test(name) ? "currency" : "float";
    case "boolean":
      return "bool";
    case "date":
      return "date";
    case "datetime":
    case "timestamp":
      return "datetime";
    case "selection":
    case "multiselection":
      return "enum";
    case "many2one":
      return "link";
    case "one2many":
      return "table";
    case "dict":
      return "json";
    default:
      return "other";
  }
}

function selectionKeys(sel: unknown): string[] | undefined {
  if (!Array.isArray(sel)) return undefined;
  const keys = sel.filter((o) => Array.isArray(o) && o.length >= 1 && o[0] !== null).map((o) => String((o as unknown[])[0]));
  return keys;
}

/** Tries of a create that loses a race for a number the server assigns from a sequence (see createRetryingSequenceRace). */
const SEQUENCE_RACE_TRIES = 10;

export class TrytonConnector implements Connector {
  readonly type = SYSTEM;
  private readonly rpc: TrytonRpc;
  private readonly login: string;
  private readonly pageSize: number;
  private readonly companyOption?: number;
  private readonly checkLinks: boolean;
  private readonly workflows: Record<string, Workflow>;
  private readonly submitPolicy: Record<string, string>;
  private readonly extraColumns: Record<string, string[]>;
  private readonly fillUnits: boolean;
  private context?: Promise<Row>;
  private readonly fieldCache = new Map<string, Promise<Fields>>();
  private readonly logins = new Map<number, string>();

  constructor(config: ConnectorConfig) {
    const o = config.options ?? {};
    const common = readCommonOptions(SYSTEM, o);
    const login = config.credentials.user ?? config.credentials.login;
    const password = config.credentials.password;
    if (!login || !password)
      throw new ValidationRejected("tryton: credentials `user` and `password` are required.", {
        where: { system: SYSTEM },
        hint: "Set systems.<name>.credentials.user and .password (from environment variables such as TRYTON_USER / TRYTON_PASSWORD).",
      });
    // The database: options.database, else the URL's first path segment (http://host:8000/<db>/).
    const url = new URL(config.url);
    const seg = url.pathname.split("/").filter(Boolean);
    const database = typeof o.database === "string" && o.database ? o.database : seg[0] ? decodeURIComponent(seg[0]) : "";
    if (!database)
      throw new ValidationRejected("tryton: no database given.", {
        where: { system: SYSTEM, field: "database" },
        hint: "Set systems.<name>.options.database, or put it in the URL (http://host:8000/<database>/).",
      });
    const baseUrl = `${url.protocol}//${url.host}`;
    this.login = login;
    this.pageSize = common.pageSize ?? TRYTON_DEFAULT_PAGE;
    if (o.company !== undefined && o.company !== null) this.companyOption = numId("company.company", String(o.company), "company");
    this.checkLinks = o.checkLinks !== false;
    this.workflows = { "sale.sale": SALE_WORKFLOW, ...(isObj(o.workflows) ? (o.workflows as Record<string, Workflow>) : {}) };
    this.submitPolicy = { "sale.sale": "confirm", ...(isObj(o.submit) ? (o.submit as Record<string, string>) : {}) };
    this.extraColumns = { ...EXTRA_COLUMNS };
    if (isObj(o.columns))
      for (const [m, list] of Object.entries(o.columns))
        if (Array.isArray(list))
          this.extraColumns[m] = [...(this.extraColumns[m] ?? []), ...list.filter((x): x is string => typeof x === "string")];
    this.fillUnits = o.fillUnits !== false;
    this.rpc = new TrytonRpc({
      baseUrl,
      database,
      login,
      password,
      language: typeof o.language === "string" ? o.language : undefined,
      common,
    });
  }

  // ---------------------------------------------------------------- plumbing

  private async ctx(extra?: Row): Promise<Row> {
    if (!this.context) {
      this.context = (async () => {
        if (this.companyOption !== undefined) return { company: this.companyOption };
        const prefs = await this.rpc.call<Row>("model.res.user.get_preferences", [true, {}], {
          idempotent: true,
          action: "read the user's preferences (context)",
        });
        const out: Row = {};
        for (const [k, v] of Object.entries(prefs ?? {})) if (!k.includes(".")) out[k] = v;
        return out;
      })();
      this.context.catch(() => {
        this.context = undefined;
      });
    }
    const base = await this.context;
    return { ...base, active_test: false, ...extra };
  }

  /** model.<entity>.<method>(...args, context). */
  private async model<T>(
    entity: string,
    method: string,
    args: unknown[],
    opts: { idempotent?: boolean; action?: string; record?: string; field?: string; ctx?: Row } = {},
  ): Promise<T> {
    const context = await this.ctx(opts.ctx);
    return this.rpc.call<T>(`model.${entity}.${method}`, [...args, context], {
      idempotent: opts.idempotent,
      model: entity,
      action: opts.action ?? `${method} ${entity}${opts.record ? ` ${opts.record}` : ""}`,
      where: { object: entity, ...(opts.record ? { record: opts.record } : {}), ...(opts.field ? { field: opts.field } : {}) },
    });
  }

  /** fields_get of a model (cached). Unknown model → SchemaDrift (describe turns it into NotFound). */
  async fields(entity: string, fresh = false): Promise<Fields> {
    const key = `${this.rpc.cfg.baseUrl}|${this.rpc.cfg.database}|${this.login}|${entity}`;
    let p = fresh ? undefined : this.fieldCache.get(entity);
    if (!p) {
      const shared = sharedFields.get(key);
      if (!fresh && shared && Date.now() - shared.at < FIELDS_TTL_MS) p = Promise.resolve(shared.fields);
      else {
        p = this.model<Fields>(entity, "fields_get", [null], { idempotent: true, action: `describe ${entity}` });
        p.then(
          (fields) => sharedFields.set(key, { at: Date.now(), fields }),
          () => this.fieldCache.delete(entity),
        );
      }
      this.fieldCache.set(entity, p);
    }
    return p;
  }

  private async field(entity: string, name: string): Promise<TrytonField> {
    // A field missing from a cached answer: ask the server again before calling it drift.
    const f = (await this.fields(entity))[name] ?? (await this.fields(entity, true))[name];
    if (!f)
      throw new SchemaDrift(`tryton: the field "${name}" does not exist on ${entity}.`, {
        where: { system: SYSTEM, object: entity, field: name },
        hint: "The field vanished or was renamed in Tryton, or the integration file names it wrong; fix the mapping.",
      });
    return f;
  }

  /**
   * Default columns: eager, non-x2many fields (cheap stored columns; lazy function fields are left
   * out), plus the model's extra default columns (EXTRA_COLUMNS, options.columns) that exist.
   */
  private defaultColumns(fields: Fields, skip?: string, model?: string): string[] {
    const cols = Object.entries(fields)
      .filter(([n, f]) => !X2MANY.has(f.type) && f.type !== "binary" && f.loading !== "lazy" && n !== skip && !SYSTEM_FIELDS.includes(n))
      .map(([n]) => n);
    const extra = model
      ? (this.extraColumns[model] ?? []).filter((n) => fields[n] && !X2MANY.has(fields[n].type) && !cols.includes(n))
      : [];
    return [...cols, ...extra];
  }

  /** The MODIFIED_VIA link of a model, when it has that many2one. */
  private via(entity: string, meta: Fields): string | undefined {
    const v = MODIFIED_VIA[entity];
    return v && meta[v]?.type === "many2one" ? v : undefined;
  }

  private viaColumns(entity: string, meta: Fields): string[] {
    const v = this.via(entity, meta);
    return v ? [`${v}.create_date`, `${v}.write_date`] : [];
  }

  /** "Changed since t": created or written since t (and its MODIFIED_VIA record the same). */
  private changedSince(entity: string, meta: Fields, t: unknown): unknown[] {
    const v = this.via(entity, meta);
    return [
      "OR",
      ["create_date", ">=", t],
      ["write_date", ">=", t],
      ...(v
        ? [
            [`${v}.create_date`, ">=", t],
            [`${v}.write_date`, ">=", t],
          ]
        : []),
    ];
  }

  /** The columns to read for `fields` (system fields always; x2many expanded to their rows' columns). */
  private async columns(entity: string, fields?: string[]): Promise<string[]> {
    const meta = await this.fields(entity);
    const cols = new Set<string>([...SYSTEM_FIELDS, ...this.viaColumns(entity, meta)]);
    const wanted = fields ?? this.defaultColumns(meta, undefined, entity);
    for (const name of wanted) {
      const [base, sub] = name.split(/\.(.*)/s, 2);
      const f = await this.field(entity, base);
      if (X2MANY.has(f.type) && f.type === "one2many" && f.relation) {
        if (sub) {
          cols.add(`${base}.${sub}`);
        } else {
          const child = await this.fields(f.relation);
          for (const c of this.defaultColumns(child, f.relation_field, f.relation)) cols.add(`${base}.${c}`);
        }
      } else {
        cols.add(sub ? `${base}.${sub}` : base);
      }
    }
    return [...cols];
  }

  private async loginOf(uid: unknown): Promise<string | undefined> {
    if (typeof uid !== "number") return undefined;
    if (uid === this.rpc.uid) return this.login;
    const known = this.logins.get(uid);
    if (known) return known;
    try {
      const rows = await this.model<Row[]>("res.user", "read", [[uid], ["login"]], { idempotent: true, action: "read user login" });
      const login = typeof rows?.[0]?.login === "string" ? (rows[0].login as string) : String(uid);
      this.logins.set(uid, login);
      return login;
    } catch {
      this.logins.set(uid, String(uid));
      return String(uid);
    }
  }

  /** Decode a read row into interface values (ids as strings, Tryton classes decoded). */
  private async decodeRow(entity: string, row: Row, top: boolean): Promise<Row> {
    const meta = await this.fields(entity);
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) {
      if (top && (k === "_timestamp" || k === "id")) continue;
      if (k.endsWith(".")) {
        const base = k.slice(0, -1);
        // the timestamps of a MODIFIED_VIA record, read for modifiedAt only: not a value
        if (
          top &&
          base === MODIFIED_VIA[entity] &&
          isObj(v) &&
          Object.keys(v).every((x) => ["id", "create_date", "write_date"].includes(x))
        )
          continue;
        const f = meta[base];
        const rel = f?.relation;
        if (Array.isArray(v))
          out[base] = await Promise.all(v.map((r) => (isObj(r) && rel ? this.decodeRow(rel, r, false) : decodeValue(r))));
        else if (isObj(v) && rel) out[base] = await this.decodeRow(rel, v, false);
        else out[base] = v === null ? null : decodeValue(v);
        continue;
      }
      if (k.includes(".") && !(k in meta)) continue;
      const f = meta[k];
      if (k === "id") out.id = String(v);
      else if (top && SYSTEM_FIELDS.includes(k)) continue;
      else if (f?.type === "boolean")
        out[k] = v === null ? null : Boolean(v); // SQLite reads 0/1
      else if (f?.type === "many2one" || (f?.type === "reference" && typeof v === "number")) out[k] = typeof v === "number" ? String(v) : v;
      else if (f && X2MANY.has(f.type) && Array.isArray(v) && v.every((x) => typeof x === "number")) out[k] = v.map(String);
      else out[k] = decodeValue(v);
    }
    return out;
  }

  private async toRecord(entity: string, row: Row): Promise<RemoteRecord> {
    const raw = modRaw(row, this.via(entity, await this.fields(entity)));
    const values = await this.decodeRow(entity, row, true);
    const rec: RemoteRecord = {
      id: String(row.id),
      modifiedAt: raw ? rawToIso(raw) : new Date(0).toISOString(),
      values,
    };
    if (isTrytonDateTime(row.create_date)) rec.createdAt = rawToIso(rawDateTime(row.create_date));
    const by = await this.loginOf(row.write_uid ?? row.create_uid);
    if (by) rec.modifiedBy = by;
    if (raw) rec.version = raw;
    if (typeof row.state === "string") rec.state = row.state;
    return rec;
  }

  /** search_read of existing ids among `ids` (missing ones absent), in chunks. */
  private async readRows(entity: string, ids: number[], cols: string[]): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < ids.length || (i === 0 && ids.length === 0); i += READ_CHUNK) {
      const chunk = ids.slice(i, i + READ_CHUNK);
      const rows = await this.model<Row[]>(entity, "search_read", [[["id", "in", chunk]], 0, null, [["id", "ASC"]], cols], {
        idempotent: true,
        action: `read ${entity}`,
      });
      out.push(...rows);
      if (ids.length === 0) break;
    }
    return out;
  }

  // ---------------------------------------------------------------- values → Tryton

  private async encodeScalar(entity: string, name: string, f: TrytonField, v: unknown): Promise<unknown> {
    if (v === null || v === undefined) return null;
    const bad = (what: string) =>
      new ValidationRejected(`tryton: ${entity}.${name} expects ${what}, got ${JSON.stringify(v)}.`, {
        where: { system: SYSTEM, object: entity, field: name },
        hint: "Fix the mapping or transform of this field.",
      });
    try {
      switch (f.type) {
        case "many2one": {
          if (typeof v !== "string" && typeof v !== "number") throw bad("a record id");
          return numId(entity, v, name);
        }
        case "numeric":
          if (typeof v !== "number" && typeof v !== "string") throw bad("a number");
          return encodeDecimal(v);
        case "integer":
        case "biginteger":
        case "float": {
          const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
          if (typeof n !== "number" || !Number.isFinite(n)) throw bad("a number");
          return n;
        }
        case "date":
          if (typeof v !== "string") throw bad("a date YYYY-MM-DD");
          return encodeDate(v);
        case "datetime":
        case "timestamp":
          if (typeof v !== "string" && typeof v !== "number") throw bad("a UTC ISO date-time");
          return isoToDateTime(v);
        case "time":
          if (typeof v !== "string") throw bad("a time HH:MM:SS");
          return encodeTime(v);
        case "binary":
          if (typeof v !== "string") throw bad("base64 text");
          return { __class__: "bytes", base64: v };
        case "boolean":
          if (v === 0 || v === 1) return v === 1;
          if (typeof v !== "boolean") throw bad("true or false");
          return v;
        case "char":
        case "text":
          if (typeof v !== "string") throw bad("text");
          return v;
        default:
          return v;
      }
    } catch (e) {
      if (e instanceof ValidationRejected && !e.where.field)
        throw new ValidationRejected(e.message.replace(/^tryton: /, `tryton: ${entity}.${name}: `), {
          where: { system: SYSTEM, object: entity, field: name },
          hint: "Fix the mapping or transform of this field.",
        });
      throw e;
    }
  }

  private isCommands(v: unknown): boolean {
    return Array.isArray(v) && v.length > 0 && v.every((c) => Array.isArray(c) && typeof c[0] === "string" && COMMANDS.has(c[0]));
  }

  /** Values (interface form) → Tryton values; x2many rows → commands (replacing the table on update). */
  private async encodeValues(entity: string, values: Row, current?: Row): Promise<Row> {
    const out: Row = {};
    for (const [name, v] of Object.entries(values)) {
      const f = await this.field(entity, name);
      if (f.type === "one2many") {
        if (this.isCommands(v)) {
          out[name] = v;
          continue;
        }
        if (!Array.isArray(v))
          throw new ValidationRejected(`tryton: ${entity}.${name} is a table: give an array of rows (or Tryton commands).`, {
            where: { system: SYSTEM, object: entity, field: name },
          });
        const rel = f.relation as string;
        const keep = new Set<number>();
        const cmds: unknown[] = [];
        const creates: Row[] = [];
        for (const row of v) {
          if (!isObj(row))
            throw new ValidationRejected(`tryton: ${entity}.${name}: each row must be an object.`, {
              where: { system: SYSTEM, object: entity, field: name },
            });
          const { id, ...rest } = row;
          // Rows come back as they were read: server-computed (static readonly) columns and the
          // back-reference cannot be written and are left out.
          const childMeta = await this.fields(rel);
          const clean = Object.fromEntries(
            Object.entries(rest).filter(([k]) => !SYSTEM_FIELDS.includes(k) && k !== f.relation_field && childMeta[k]?.readonly !== true),
          );
          if (id !== undefined && id !== null && current) {
            const cid = numId(rel, id as string, "id");
            keep.add(cid);
            if (Object.keys(clean).length) cmds.push(["write", [cid], await this.encodeValues(rel, clean)]);
          } else {
            creates.push(await this.encodeValues(rel, clean));
          }
        }
        if (current) {
          const existing = Array.isArray(current[name]) ? (current[name] as number[]) : [];
          const gone = existing.filter((id) => !keep.has(id));
          if (gone.length) cmds.push(["delete", gone]);
        }
        if (creates.length) cmds.push(["create", creates]);
        out[name] = cmds;
      } else if (f.type === "many2many") {
        if (this.isCommands(v)) {
          out[name] = v;
          continue;
        }
        if (!Array.isArray(v))
          throw new ValidationRejected(`tryton: ${entity}.${name} is a list of record ids.`, {
            where: { system: SYSTEM, object: entity, field: name },
          });
        const ids = v.map((x) => numId(f.relation ?? entity, x as string, name));
        const existing = current && Array.isArray(current[name]) ? (current[name] as number[]) : [];
        const cmds: unknown[] = [];
        const remove = existing.filter((x) => !ids.includes(x));
        const add = ids.filter((x) => !existing.includes(x));
        if (remove.length) cmds.push(["remove", remove]);
        if (add.length) cmds.push(["add", add]);
        out[name] = cmds;
      } else {
        out[name] = await this.encodeScalar(entity, name, f, v);
      }
    }
    return out;
  }

  /**
   * SQLite-backed Tryton accepts dangling many2one ids: check the targets exist first. For several
   * records (a bulk create) the ids each model is pointed at are checked together: one search per
   * target model, whatever the number of records.
   */
  private async checkTargets(entity: string, rows: Row[]): Promise<void> {
    if (!this.checkLinks) return;
    const meta = await this.fields(entity);
    const wanted = new Map<string, { ids: Set<number>; fields: Map<number, string> }>();
    for (const values of rows)
      for (const [name, v] of Object.entries(values)) {
        const f = meta[name];
        if (f?.type !== "many2one" || typeof v !== "number" || !f.relation) continue;
        let w = wanted.get(f.relation);
        if (!w) wanted.set(f.relation, (w = { ids: new Set(), fields: new Map() }));
        w.ids.add(v);
        if (!w.fields.has(v)) w.fields.set(v, name);
      }
    for (const [relation, w] of wanted) {
      const ids = [...w.ids];
      const found = new Set(
        await this.model<number[]>(relation, "search", [[["id", "in", ids]], 0, null, null], {
          idempotent: true,
          action: `check ${entity} → ${relation} ${ids.join(", ")}`,
        }),
      );
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) {
        const name = w.fields.get(missing) as string;
        throw new ValidationRejected(`tryton: ${entity}.${name} points at ${relation} ${missing}, which does not exist.`, {
          where: { system: SYSTEM, object: entity, field: name },
          hint: "Create or link the target record first (Tryton on SQLite would store the dangling reference).",
        });
      }
    }
  }

  /**
   * Server-side create runs no on_change, so a new sale line without `unit` is refused ("A value is
   * required for field Unit"). Rows being created (the record itself on create, ["create", rows] of
   * its one2many tables) of a model with `product` and `unit` links that give a product and no
   * unit get the product's unit, as Tryton's own on_change_product does: `sale_uom` for sale.*
   * models, `purchase_uom` for purchase.*, else `default_uom` — one read for all of them.
   * A unit given is never changed. options.fillUnits: false turns this off.
   */
  private async fillLineUnits(entity: string, encs: Row[], creating: boolean): Promise<void> {
    if (!this.fillUnits) return;
    const targets: { model: string; row: Row }[] = [];
    const lineModel = async (model: string) => {
      const m = await this.fields(model);
      return m.product?.type === "many2one" && m.product.relation === "product.product" && m.unit?.type === "many2one";
    };
    const meta = await this.fields(entity);
    const isLine = creating && (await lineModel(entity));
    for (const enc of encs) {
      if (isLine) targets.push({ model: entity, row: enc });
      for (const [name, v] of Object.entries(enc)) {
        const rel = meta[name]?.type === "one2many" ? meta[name].relation : undefined;
        if (!rel || !Array.isArray(v) || !(await lineModel(rel))) continue;
        for (const cmd of v)
          if (Array.isArray(cmd) && cmd[0] === "create" && Array.isArray(cmd[1]))
            for (const row of cmd[1] as unknown[]) if (isObj(row)) targets.push({ model: rel, row });
      }
    }
    const todo = targets.filter((t) => typeof t.row.product === "number" && (t.row.unit === undefined || t.row.unit === null));
    if (!todo.length) return;
    const product = await this.fields("product.product");
    const uomOf = (model: string) =>
      [model.startsWith("sale.") ? "sale_uom" : model.startsWith("purchase.") ? "purchase_uom" : "", "default_uom"].filter(
        (n) => n && product[n],
      );
    const cols = [...new Set(todo.flatMap((t) => uomOf(t.model)))];
    const ids = [...new Set(todo.map((t) => t.row.product as number))];
    const rows = await this.readRows("product.product", ids, cols);
    const byId = new Map(rows.map((r) => [r.id as number, r]));
    for (const t of todo) {
      const p = byId.get(t.row.product as number);
      const unit = p
        ? uomOf(t.model)
            .map((c) => p[c])
            .find((u) => typeof u === "number")
        : undefined;
      if (unit !== undefined) t.row.unit = unit;
    }
  }

  private async encodeFilter(entity: string, filter: FilterExpr[] | undefined): Promise<Domain> {
    const dom: Domain = [];
    for (const fx of filter ?? []) {
      const [base] = fx.field.split(".", 1);
      const f = await this.field(entity, base);
      const enc = async (v: unknown) => (fx.field.includes(".") ? v : this.encodeScalar(entity, fx.field, f, v));
      switch (fx.op) {
        case "is set":
          dom.push([fx.field, "!=", null]);
          break;
        case "is not set":
          dom.push([fx.field, "=", null]);
          break;
        case "in":
        case "not in": {
          const arr = Array.isArray(fx.value) ? fx.value : [fx.value];
          dom.push([fx.field, fx.op, await Promise.all(arr.map(enc))]);
          break;
        }
        case "like":
          dom.push([fx.field, "like", String(fx.value ?? "")]);
          break;
        default:
          dom.push([fx.field, fx.op, await enc(fx.value)]);
      }
    }
    return dom;
  }

  // ---------------------------------------------------------------- Connector

  /** The login name (what modifiedBy carries). A connection test: logs in, or checks the session with one call. */
  async whoAmI(): Promise<string> {
    if (this.rpc.hasSession)
      await this.rpc.call("model.res.user.get_preferences", [true, {}], { idempotent: true, action: "check the session" });
    else await this.rpc.ensureSession();
    return this.login;
  }

  async describe(entities?: string[]): Promise<SchemaDescription> {
    const out: SchemaDescription = { entities: {} };
    for (const entity of entities ?? DEFAULT_MODELS) {
      let meta: Fields;
      try {
        meta = await this.fields(entity, true);
      } catch (e) {
        if (e instanceof SchemaDrift && e.where.object === entity && !e.where.field)
          throw new NotFound(`tryton: the model "${entity}" does not exist on this server.`, {
            where: { system: SYSTEM, object: entity },
            hint: "Activate the Tryton module that provides it, or fix the entity name.",
            cause: e,
          });
        throw e;
      }
      const fields: Record<string, FieldDescription> = {};
      for (const [name, f] of Object.entries(meta)) {
        const d: FieldDescription = {
          name,
          type: neutralType(name, f),
          nativeType: f.type,
          required: f.required === true,
          readOnly: f.readonly === true,
        };
        if (f.string) d.label = f.string;
        const opts = f.type === "selection" || f.type === "multiselection" ? selectionKeys(f.selection) : undefined;
        if (opts) d.options = opts;
        if (typeof f.size === "number") d.maxLength = f.size;
        if (f.relation) d.target = f.relation;
        fields[name] = d;
      }
      const ed: EntityDescription = { name: entity, fields };
      if (meta.state?.type === "selection") ed.submittable = entity in this.workflows;
      out.entities[entity] = ed;
    }
    return out;
  }

  /**
   * Changes since the cursor, ordered by (modifiedAt, id) — see the file header for why it
   * lists first and reads second. Listing: ["OR", [create_date >= t], [write_date >= t]] with
   * t = cursor − overlap, id keyset (id > last, order id) — new or modified records during the
   * listing are still listed, nothing is skipped. Without overlap the walk continues strictly
   * after (cursor.modifiedAt, cursor.id) at millisecond resolution (ids compare as numbers).
   */
  async *readChanges(entity: string, opts: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
    const size = Math.max(1, opts.pageSize ?? this.pageSize);
    const cols = await this.columns(entity, opts.fields);
    const base: Domain = await this.encodeFilter(entity, opts.filter);
    const domain: Domain = [...base];
    const meta = await this.fields(entity);
    const via = this.via(entity, meta);
    let after: { iso: string; id: number } | undefined;
    if (opts.since) {
      const overlap = Math.max(0, opts.overlapMs ?? 0);
      const t = isoToDateTime(Date.parse(opts.since.modifiedAt) - overlap);
      domain.push(this.changedSince(entity, meta, t));
      if (overlap === 0) after = { iso: opts.since.modifiedAt, id: Number(opts.since.id) || 0 };
    }
    // 1. list (id, timestamps) of every matching record, id keyset
    const list = async (dom: Domain, skipThrough?: { iso: string; id: number }): Promise<Listed[]> => {
      const out: Listed[] = [];
      let lastId = 0;
      for (;;) {
        const rows = await this.model<Row[]>(
          entity,
          "search_read",
          [[...dom, ["id", ">", lastId]], 0, LIST_PAGE, [["id", "ASC"]], ["create_date", "write_date", ...this.viaColumns(entity, meta)]],
          { idempotent: true, action: `list changes of ${entity}` },
        );
        for (const r of rows) {
          const raw = modRaw(r, via);
          if (!raw) continue;
          const e: Listed = { id: r.id as number, raw, iso: rawToIso(raw), moves: 0 };
          if (skipThrough && cmpKey(e, skipThrough) <= 0) continue;
          out.push(e);
        }
        if (rows.length < LIST_PAGE) break;
        lastId = rows[rows.length - 1].id as number;
      }
      return out.sort(cmpKey);
    };
    const pending: Listed[] = await list(domain, after);
    // 2. read full records in that order, page by page; 3. when done, list again after the
    // last record returned (catch-up: records changed during the walk come once more).
    let emitted: { iso: string; id: number } | undefined = after;
    for (let pass = 0; pending.length && pass < 5; ) {
      const batch = pending.splice(0, size);
      const rows = await this.readRows(
        entity,
        batch.map((b) => b.id),
        cols,
      );
      const byId = new Map(rows.map((r) => [r.id as number, r]));
      const page: RemoteRecord[] = [];
      let moved = false;
      for (const b of batch) {
        const row = byId.get(b.id);
        if (!row) continue; // deleted since listed
        const raw = modRaw(row, via);
        if (raw && raw !== b.raw) {
          // modified after it was listed: read it again at its new place in the order
          const e: Listed = { id: b.id, raw, iso: rawToIso(raw), moves: b.moves + 1 };
          const last = page.length ? { iso: page[page.length - 1].modifiedAt, id: Number(page[page.length - 1].id) } : emitted;
          if (e.moves <= 3 && (!last || cmpKey(e, last) > 0)) {
            pending.push(e);
            moved = true;
          }
          // else: its new timestamp sorts before what was returned (a late commit): the next
          // read's overlap window returns it.
          continue;
        }
        page.push(await this.toRecord(entity, row));
      }
      if (moved) pending.sort(cmpKey);
      if (page.length) {
        const last = page[page.length - 1];
        emitted = { iso: last.modifiedAt, id: Number(last.id) };
        yield { records: page, cursor: { modifiedAt: last.modifiedAt, id: last.id } satisfies Cursor };
      }
      if (!pending.length && emitted) {
        pass++;
        const t = isoToDateTime(emitted.iso);
        const again = await list([...base, this.changedSince(entity, meta, t)], emitted);
        pending.push(...again);
      }
    }
  }

  async readByIds(entity: string, ids: string[], fields?: string[]): Promise<RemoteRecord[]> {
    const cols = await this.columns(entity, fields);
    const nums = ids.filter((id) => /^\d+$/.test(id)).map(Number);
    const rows = await this.readRows(entity, nums, cols);
    return Promise.all(rows.map((r) => this.toRecord(entity, r)));
  }

  async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
    const f = await this.field(entity, field.split(".", 1)[0]);
    const v = field.includes(".") ? value : await this.encodeScalar(entity, field, f, value);
    const cols = await this.columns(entity);
    const out: RemoteRecord[] = [];
    let lastId = 0;
    for (;;) {
      const rows = await this.model<Row[]>(
        entity,
        "search_read",
        [
          [
            [field, "=", v],
            ["id", ">", lastId],
          ],
          0,
          LIST_PAGE,
          [["id", "ASC"]],
          cols,
        ],
        { idempotent: true, action: `find ${entity} by ${field}`, field },
      );
      for (const r of rows) out.push(await this.toRecord(entity, r));
      if (rows.length < LIST_PAGE) break;
      lastId = rows[rows.length - 1].id as number;
    }
    return out;
  }

  /** Fields to read back after a write: the defaults plus the tables that were written. */
  private async writtenColumns(entity: string, values: Row): Promise<string[]> {
    const meta = await this.fields(entity);
    const extra = Object.keys(values).filter((k) => meta[k] && X2MANY.has(meta[k].type));
    return this.columns(entity, [...this.defaultColumns(meta, undefined, entity), ...extra]);
  }

  /** A client-chosen id is refused: Tryton assigns ids. */
  private refuseId(entity: string, values: Record<string, unknown>): void {
    if ("id" in values)
      throw new ValidationRejected(`tryton: create ${entity}: the client cannot choose a record id ("id" given).`, {
        where: { system: SYSTEM, object: entity, field: "id" },
        hint: "Remove `id` from the values; Tryton assigns ids and Accord stores the returned one.",
      });
  }

  async create(entity: string, values: Record<string, unknown>): Promise<RemoteRecord> {
    this.refuseId(entity, values);
    const enc = await this.encodeValues(entity, values);
    await this.checkTargets(entity, [enc]);
    await this.fillLineUnits(entity, [enc], true);
    const ids = await this.createRetryingSequenceRace(entity, [values], [enc]);
    const id = ids?.[0];
    if (typeof id !== "number")
      // the create may have happened: not "refused" (which would close the intent), but unknown
      throw new Transient(`tryton: create ${entity} returned no id.`, {
        where: { system: SYSTEM, object: entity },
        hint: "Whether it was created is unknown: Accord looks it up (createKey or content) before creating it again.",
      });
    const [rec] = await this.readByIds(
      entity,
      [String(id)],
      await this.writtenColumns(entity, values).then((c) => c.filter((x) => !SYSTEM_FIELDS.includes(x))),
    );
    if (!rec)
      throw new NotFound(`tryton: ${entity} ${id} vanished right after its create.`, {
        where: { system: SYSTEM, object: entity, record: String(id) },
      });
    return rec;
  }

  /**
   * Records per createMany call. `model.<name>.create` takes any number of value dicts in one
   * transaction, but the werkzeug development server handles a request in one thread and SQLite
   * holds its write lock for the whole transaction: 100 keeps one call well under the request
   * timeout (parties with addresses take ~10-20 ms each server-side) and keeps other writers'
   * lock waits short (trytond's `[database] retry`), while making the per-call cost (HTTP, context,
   * session check, commit) negligible. The read-back (READ_CHUNK ids per read) stays one call.
   */
  readonly maxCreateBatch = 100;

  /**
   * Bulk create: ONE `model.<entity>.create` with the list of value dicts — one transaction, all or
   * none — then ONE read of the created records. Each payload goes through what create() does
   * (encoding, link checks, line units), for all of them at once. Tryton returns the ids in the
   * order of the values, so the records are matched back by position; each one's `key` value is
   * still compared with its payload's (an error entry if they differ). Refused before any write:
   * a payload without a value in `key`, or with a value another payload has.
   */
  async createMany(
    entity: string,
    payloads: Array<Record<string, unknown>>,
    opts: { key: string; fields?: string[] },
  ): Promise<Array<RemoteRecord | Error>> {
    if (payloads.length === 0) return [];
    checkBulkPayloads(SYSTEM, entity, payloads, opts.key, this.maxCreateBatch, { noun: "records" });
    for (const p of payloads) this.refuseId(entity, p);
    const encs: Row[] = [];
    for (const p of payloads) encs.push(await this.encodeValues(entity, p));
    await this.checkTargets(entity, encs);
    await this.fillLineUnits(entity, encs, true);
    const ids = await this.createRetryingSequenceRace(entity, payloads, encs);
    if (!Array.isArray(ids) || ids.length !== payloads.length || !ids.every((id) => typeof id === "number"))
      throw new Transient(`tryton: create ${payloads.length} ${entity} records: the answer does not list ${payloads.length} ids.`, {
        where: { system: SYSTEM, object: entity },
        hint: "Whether they were created is unknown: Accord looks each one up by its key before creating it again.",
      });
    // the columns create() reads back, for every payload at once (plus the key and the asked fields)
    const meta = await this.fields(entity);
    const cols = new Set<string>();
    for (const p of payloads) for (const c of await this.writtenColumns(entity, p)) if (!SYSTEM_FIELDS.includes(c)) cols.add(c);
    for (const f of [opts.key, ...(opts.fields ?? [])]) if (f !== "id" && meta[f.split(".", 1)[0]]) cols.add(f);
    const byId = new Map((await this.readByIds(entity, ids.map(String), [...cols])).map((r) => [r.id, r]));
    return payloads.map((p, i): RemoteRecord | Error => {
      const id = String(ids[i]);
      const rec = byId.get(id);
      if (!rec)
        return new NotFound(`tryton: ${entity} ${id} vanished right after its create.`, {
          where: { system: SYSTEM, object: entity, record: id },
        });
      const want = bulkKeyOf(p[opts.key]);
      const got = bulkKeyOf(rec.values[opts.key]);
      if (got !== want)
        return new Transient(
          `tryton: create ${entity} with ${opts.key} "${want}": the record created in its place (${id}) has ${opts.key} "${got}".`,
          {
            where: { system: SYSTEM, object: entity, record: id, field: opts.key },
            hint: "Accord looks the record up by its key on the next run before creating it again; check both in Tryton.",
          },
        );
      return rec;
    });
  }

  /**
   * Tryton on SQLite can hand two concurrent creates the same number from a sequence (a party's
   * code): the second fails "The code on party must be unique." and its transaction is rolled back,
   * so nothing was created. When the unique field is not one the caller gave in any of the records
   * (the server numbered it), the create — of one record or a whole batch, one transaction — is
   * tried again, up to 10 times with a growing random pause (several writers numbering from one
   * sequence at once — other lanes, other processes, bulk creates holding many numbers — lose the race
   * more than once: 5 tries ran out once in CI); a duplicate of a value the caller gave is not.
   */
  private async createRetryingSequenceRace(entity: string, values: Array<Record<string, unknown>>, encs: Row[]): Promise<number[]> {
    const action = encs.length === 1 ? `create ${entity}` : `create ${encs.length} ${entity} records`;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.model<number[]>(entity, "create", [encs], { action });
      } catch (err) {
        const m = /The (\w[\w ]*?) on [\w .]+ must be unique/i.exec(err instanceof Error ? err.message : String(err));
        const field = m?.[1].toLowerCase().replace(/ /g, "_");
        if (!field || values.some((v) => field in v) || attempt >= SEQUENCE_RACE_TRIES) throw err;
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 120 * attempt));
      }
    }
  }

  async update(entity: string, id: string, values: Record<string, unknown>, opts: { ifVersion?: string } = {}): Promise<RemoteRecord> {
    const nid = numId(entity, id);
    if ("id" in values && String(values.id) !== id)
      throw new ValidationRejected(`tryton: update ${entity} ${id}: the id cannot be changed.`, {
        where: { system: SYSTEM, object: entity, record: id, field: "id" },
      });
    const { id: _drop, ...vals } = values;
    const meta = await this.fields(entity);
    const tables = Object.keys(vals).filter((k) => meta[k] && X2MANY.has(meta[k].type));
    const needCurrent = opts.ifVersion !== undefined || tables.length > 0;
    let current: Row | undefined;
    const context: Row = {};
    if (needCurrent) {
      const rows = await this.model<Row[]>(
        entity,
        "search_read",
        [[["id", "=", nid]], 0, 1, null, ["_timestamp", "create_date", "write_date", ...this.viaColumns(entity, meta), ...tables]],
        {
          idempotent: true,
          action: `read ${entity} ${id} before update`,
          record: id,
        },
      );
      current = rows[0];
      if (!current)
        throw new NotFound(`tryton: update ${entity} ${id}: the record does not exist (deleted in Tryton).`, {
          where: { system: SYSTEM, object: entity, record: id },
          hint: "Re-read or unlink the record.",
        });
      if (opts.ifVersion !== undefined) {
        if (modRaw(current, this.via(entity, meta)) !== opts.ifVersion)
          throw new VersionConflict(
            `tryton: update ${entity} ${id}: the record changed since version ${opts.ifVersion} (now ${modRaw(current, this.via(entity, meta))}).`,
            {
              where: { system: SYSTEM, object: entity, record: id },
              hint: "Re-read the record and plan again.",
            },
          );
        context._timestamp = { [`${entity},${nid}`]: current._timestamp };
      }
    }
    const enc = await this.encodeValues(entity, vals, current);
    await this.checkTargets(entity, [enc]);
    await this.fillLineUnits(entity, [enc], false);
    if (Object.keys(enc).length)
      await this.model<null>(entity, "write", [[nid], enc], {
        idempotent: true,
        action: `update ${entity} ${id}`,
        record: id,
        ctx: context,
      });
    const [rec] = await this.readByIds(
      entity,
      [id],
      await this.writtenColumns(entity, vals).then((c) => c.filter((x) => !SYSTEM_FIELDS.includes(x))),
    );
    if (!rec)
      throw new NotFound(`tryton: ${entity} ${id} does not exist (deleted in Tryton).`, {
        where: { system: SYSTEM, object: entity, record: id },
        hint: "Re-read or unlink the record.",
      });
    return rec;
  }

  private workflow(entity: string): Workflow {
    const wf = this.workflows[entity];
    if (!wf)
      throw new ValidationRejected(`tryton: ${entity} has no workflow known to Accord (submit/cancel).`, {
        where: { system: SYSTEM, object: entity },
        hint: "Give options.workflows for this model, or do not submit it.",
      });
    return wf;
  }

  private async stateOf(entity: string, id: string): Promise<string> {
    const rows = await this.model<Row[]>(entity, "search_read", [[["id", "=", numId(entity, id)]], 0, 1, null, ["state"]], {
      idempotent: true,
      action: `read the state of ${entity} ${id}`,
      record: id,
    });
    if (!rows.length)
      throw new NotFound(`tryton: ${entity} ${id} does not exist.`, { where: { system: SYSTEM, object: entity, record: id } });
    return String(rows[0].state);
  }

  private async button(entity: string, id: string, button: string): Promise<void> {
    await this.model<null>(entity, button, [[numId(entity, id)]], { idempotent: true, action: `${button} ${entity} ${id}`, record: id });
  }

  /**
   * Submit per the submit policy (options.submit[entity]: the last button to press, default
   * "confirm" for sale.sale; "quote" stops at a quotation). Each button is pressed only from a
   * state before what it reaches, and the state is re-read after each (Tryton silently ignores
   * a button in the wrong state). After the final step, a sale must reach processing: if it stays
   * `confirmed`, `process` is called to surface the error Tryton only logged.
   */
  async submit(entity: string, id: string): Promise<RemoteRecord> {
    const wf = this.workflow(entity);
    const upto = this.submitPolicy[entity];
    const steps = upto ? wf.submit.slice(0, wf.submit.findIndex((s) => s.button === upto) + 1 || wf.submit.length) : wf.submit;
    const rank = (s: string) => wf.order.indexOf(s);
    let state = await this.stateOf(entity, id);
    for (const step of steps) {
      if (rank(state) < 0)
        throw new ValidationRejected(`tryton: submit ${entity} ${id}: it is ${state}; it cannot be submitted.`, {
          where: { system: SYSTEM, object: entity, record: id, field: "state" },
          hint: "Reset it to draft in Tryton first (a cancelled document cannot be submitted).",
        });
      const target = Math.min(...step.reaches.map(rank));
      if (rank(state) >= target) continue;
      await this.button(entity, id, step.button);
      state = await this.stateOf(entity, id);
      if (!step.reaches.includes(state) && rank(state) < target)
        throw new ValidationRejected(`tryton: submit ${entity} ${id}: "${step.button}" was ignored; the document is still ${state}.`, {
          where: { system: SYSTEM, object: entity, record: id, field: "state" },
          hint: "Tryton ignores buttons in the wrong state; check the document in Tryton.",
        });
    }
    const last = steps[steps.length - 1];
    if (wf.processed && last === wf.submit[wf.submit.length - 1] && !wf.processed.states.includes(state)) {
      // confirm answered OK but the processing after the commit failed: make Tryton say why.
      await this.button(entity, id, wf.processed.button);
      state = await this.stateOf(entity, id);
      if (!wf.processed.states.includes(state))
        throw new ValidationRejected(`tryton: submit ${entity} ${id}: confirmed, but the processing did not run (state ${state}).`, {
          where: { system: SYSTEM, object: entity, record: id, field: "state" },
          hint: "See the Tryton server log; typically missing accounting (product account category, customer receivable account).",
        });
    }
    const [rec] = await this.readByIds(entity, [id]);
    return rec;
  }

  async cancel(entity: string, id: string): Promise<RemoteRecord> {
    const wf = this.workflow(entity);
    const c = wf.cancel;
    let state = await this.stateOf(entity, id);
    if (state !== c.state) {
      if (c.resetFirst?.from.includes(state)) {
        await this.button(entity, id, c.resetFirst.button);
        state = await this.stateOf(entity, id);
      }
      if (!c.from.includes(state))
        throw new ValidationRejected(
          `tryton: cancel ${entity} ${id}: a document in state ${state} cannot be cancelled (only ${c.from.join(", ")}).`,
          {
            where: { system: SYSTEM, object: entity, record: id, field: "state" },
            hint: "Cancel its invoices and shipments in Tryton instead.",
          },
        );
      await this.button(entity, id, c.button);
      state = await this.stateOf(entity, id);
      if (state !== c.state)
        throw new ValidationRejected(`tryton: cancel ${entity} ${id}: "${c.button}" was ignored; the document is ${state}.`, {
          where: { system: SYSTEM, object: entity, record: id, field: "state" },
        });
    }
    const [rec] = await this.readByIds(entity, [id]);
    return rec;
  }

  async delete(entity: string, id: string): Promise<void> {
    await this.model<null>(entity, "delete", [[numId(entity, id)]], { idempotent: true, action: `delete ${entity} ${id}`, record: id });
  }

  async *listIds(entity: string): AsyncIterable<string[]> {
    let lastId = 0;
    for (;;) {
      const ids = await this.model<number[]>(entity, "search", [[["id", ">", lastId]], 0, LIST_PAGE, [["id", "ASC"]]], {
        idempotent: true,
        action: `list ids of ${entity}`,
      });
      if (ids.length) yield ids.map(String);
      if (ids.length < LIST_PAGE) return;
      lastId = ids[ids.length - 1];
    }
  }

  /** Raw rows of `model` whose many2one `field` is one of `ids` (chunks of READ_CHUNK ids, id order). */
  private async rowsOf(model: string, field: string, ids: number[], cols: string[]): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      const chunk = ids.slice(i, i + READ_CHUNK);
      out.push(
        ...(await this.model<Row[]>(model, "search_read", [[[field, "in", chunk]], 0, null, [["id", "ASC"]], cols], {
          idempotent: true,
          action: `read ${model} of ${chunk.length} records`,
        })),
      );
    }
    return out;
  }

  /**
   * Parties as organisations for the matcher (organisations.ts): each with its invoice (else
   * first) address, contact mechanisms and tax identifier, read in batches — four search_reads
   * per 200 parties, never one call per party. Other entities: name only (`name`, else `rec_name`).
   */
  async organisations(
    entity: string,
    records: readonly RemoteRecord[],
    opts: { sharedIdField?: string } = {},
  ): Promise<OrganisationView[]> {
    const sharedIdField = opts.sharedIdField && opts.sharedIdField !== "id" ? opts.sharedIdField : undefined;
    if (entity !== "party.party")
      return records.map((r) => {
        const v = r.values;
        const name = typeof v.name === "string" ? v.name : typeof v.rec_name === "string" ? v.rec_name : "";
        const sid = sharedIdField ? v[sharedIdField] : undefined;
        return { id: r.id, name, ...(typeof sid === "string" || typeof sid === "number" ? { sharedId: String(sid) } : {}) };
      });
    const ids = records.map((r) => Number(r.id)).filter((n) => Number.isSafeInteger(n) && n > 0);
    const partyCols = ["tax_identifier", ...(sharedIdField && records.some((r) => !(sharedIdField in r.values)) ? [sharedIdField] : [])];
    const [addresses, mechanisms, identifiers, parties] = await Promise.all([
      this.rowsOf("party.address", "party", ids, ADDRESS_COLUMNS),
      this.rowsOf("party.contact_mechanism", "party", ids, MECHANISM_COLUMNS),
      this.rowsOf("party.identifier", "party", ids, IDENTIFIER_COLUMNS),
      this.rowsOf("party.party", "id", ids, partyCols),
    ]);
    const taxIdentifier = new Map<number, number>();
    const extra = new Map<number, Row>();
    for (const p of parties) {
      if (typeof p.tax_identifier === "number") taxIdentifier.set(p.id as number, p.tax_identifier);
      extra.set(p.id as number, p);
    }
    const docs = records.map((r) => {
      const more = sharedIdField && !(sharedIdField in r.values) ? extra.get(Number(r.id))?.[sharedIdField] : undefined;
      return { ...r.values, ...(more !== undefined ? { [sharedIdField as string]: more } : {}), id: r.id };
    });
    return trytonPartyOrganisations(docs, { addresses, mechanisms, identifiers, taxIdentifier }, { sharedIdField });
  }

  /** A raw model call (escape hatch for recipes and tests): context appended. */
  async callModel<T = unknown>(entity: string, method: string, args: unknown[], opts: { idempotent?: boolean } = {}): Promise<T> {
    return this.model<T>(entity, method, args, { idempotent: opts.idempotent });
  }

  stats(): ConnectorStats {
    return this.rpc.stats();
  }

  async close(): Promise<void> {
    await this.rpc.close();
  }
}

export const definition: ConnectorDefinition = {
  type: SYSTEM,
  title: "Tryton (JSON-RPC, session login; options: database, company)",
  credentialKeys: { required: ["user", "password"] },
  create: (config) => new TrytonConnector(config),
};
