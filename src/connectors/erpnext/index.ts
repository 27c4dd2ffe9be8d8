/**
 * ERPNext / Frappe connector (REST API v1 `/api/resource`, `token key:secret`). Behaviour per
 * /work/shared/reference/erpnext-api.md; the traps it handles:
 * - timestamps are naive site-local (System Settings time_zone) → learned once (options.timezone,
 *   else System Settings through the API) and normalised to UTC; filters are sent site-local;
 * - lists default to 20 rows and `limit_page_length=0` means "everything" → every list pages
 *   explicitly with limit_start/limit_page_length > 0;
 * - a PUT carrying a child table replaces the whole table → update() sends the complete table,
 *   rows given with an existing row `name` are merged onto the stored row first;
 * - a second Customer with an existing customer_name is silently renamed "Name - 1" → create()
 *   detects it, removes the accidental copy and throws Duplicate naming the existing one(s)
 *   (options.customerRename: "accept" keeps it instead);
 * - the client cannot choose a record's name → create() refuses a `name`;
 * - optimistic concurrency on the raw `modified` string → TimestampMismatchError → VersionConflict;
 * - filters are JSON-encoded arrays, never string-built syntax.
 */
import {
  type AccordError,
  AuthError,
  Duplicate,
  NotFound,
  SchemaDrift,
  Transient,
  ValidationRejected,
  VersionConflict,
} from "../../errors.ts";
import { bulkKeyOf, checkBulkPayloads } from "../bulk.ts";
import { fieldRoot, isFieldPath, parseFieldPath } from "../field-path.ts";
import { defaultClassify, HttpClient, type HttpFailure } from "../http.ts";
import { readCommonOptions, scalar } from "../options.ts";
import { verifiedWalk, type WalkKey } from "../paging.ts";
import { checkTimeZone, frappeCanonical, isoToLocalNaive, isZonedIso, localNaiveToIso } from "../time.ts";
import type {
  Connector,
  ConnectorConfig,
  ConnectorDefinition,
  ConnectorStats,
  EntityDescription,
  FieldDescription,
  FieldType,
  FilterExpr,
  OrganisationView,
  ReadChangesOptions,
  RecordPage,
  RemoteRecord,
  SchemaDescription,
  WebhookEvent,
  WebhookEventKind,
  WebhookRequest,
  WebhookSubscription,
} from "../types.ts";
import { header, hmacSha256, parseJsonBody, queryOf, safeEqual, signatureError } from "../webhook.ts";
import { ADDRESS_FIELDS, erpCustomerOrganisations } from "./organisations.ts";
import { erpSubscribe, erpSubscriptions, erpUnsubscribe } from "./webhook-subscriptions.ts";

const SYSTEM = "erpnext";
/** ERPNext has no maximum page; this is ours (one call per 1000 rows). */
export const ERPNEXT_DEFAULT_PAGE = 1000;
const STD_FIELDS = ["name", "modified", "creation", "modified_by", "owner", "docstatus"];
const ROW_META = new Set(["parent", "parentfield", "parenttype", "doctype", "owner", "creation", "modified", "modified_by", "docstatus"]);
const STATES = ["draft", "submitted", "cancelled"];
/** Doctypes described when describe() is called without a list (the ones the reference documents). */
const DEFAULT_DOCTYPES = [
  "Customer",
  "Contact",
  "Address",
  "Item",
  "Item Price",
  "Sales Order",
  "Sales Invoice",
  "Quotation",
  "Payment Entry",
];

type Row = Record<string, unknown>;
/** [field, op, value], or [child doctype, field, op, value] (a condition on a child table's rows). */
type FilterTuple = [string, string, unknown] | [string, string, string, unknown];

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined;
}

/** Text of Frappe's double-encoded `_server_messages`, HTML stripped. */
export function serverMessages(json: unknown): string[] {
  const raw = (json as { _server_messages?: unknown } | undefined)?._server_messages;
  if (typeof raw !== "string") return [];
  try {
    const outer = JSON.parse(raw) as unknown[];
    return outer
      .map((m) => {
        try {
          const o = typeof m === "string" ? (JSON.parse(m) as { message?: unknown }) : (m as { message?: unknown });
          return String(o?.message ?? m);
        } catch {
          return String(m);
        }
      })
      .map((t) =>
        t
          .replace(/<[^>]*>/g, "")
          .replace(/\s+/g, " ")
          .trim(),
      )
      .filter(Boolean);
  } catch {
    return [];
  }
}

function classify(f: HttpFailure): AccordError | undefined {
  const body = (f.json ?? {}) as { exc_type?: unknown; _error_message?: unknown; message?: unknown };
  const exc = str(body.exc_type) ?? "";
  const msgs = serverMessages(f.json);
  const text = msgs.join(" ") || str(body._error_message) || (typeof body.message === "string" ? body.message : "") || exc;
  const detail = text ? `: ${text.slice(0, 500)}` : "";
  const where = { system: SYSTEM, ...f.where };
  if (
    f.status === 401 ||
    exc === "AuthenticationError" ||
    exc === "SessionExpired" ||
    /^InvalidAuthorization/.test(exc) ||
    exc === "CSRFTokenError"
  )
    return new AuthError(`erpnext: ${f.action} was refused: the API key/secret is missing, wrong or disabled (HTTP ${f.status}).`, {
      where,
      status: f.status,
      hint: "Check credentials.apiKey and credentials.apiSecret (User > API Access); Accord does not retry auth failures.",
    });
  const unknownColumn = /Unknown column '([^']+)'/.exec(`${String((body as { exception?: unknown }).exception ?? "")} ${text}`);
  if (unknownColumn) {
    const field = unknownColumn[1].replace(/^.*\./, "").replace(/`/g, "");
    return new SchemaDrift(`erpnext: ${f.action}: field "${field}" does not exist on this doctype (${exc || `HTTP ${f.status}`}).`, {
      where: { ...where, field },
      status: f.status,
      hint: "The field was removed or renamed in ERPNext (Customize Form / Custom Field); update the integration file's field map.",
    });
  }
  if (f.status === 403)
    return new AuthError(`erpnext: ${f.action} was forbidden (HTTP 403)${detail}.`, {
      where,
      status: 403,
      hint: "Give the API user's roles permission on this doctype (read/write/create/submit as needed).",
    });
  if (f.status === 409 || exc === "DuplicateEntryError")
    return new Duplicate(`erpnext: ${f.action}: a record with that name already exists (HTTP ${f.status})${detail}.`, {
      where,
      status: f.status,
      hint: "Link the existing record instead of creating a new one.",
    });
  if (exc === "TimestampMismatchError")
    return new VersionConflict(`erpnext: ${f.action}: the document was modified after it was read${detail}.`, {
      where,
      status: f.status,
      hint: "Re-read the document and plan the change again.",
    });
  if (f.status === 404)
    return new NotFound(`erpnext: ${f.action}: not found (HTTP 404)${detail}.`, {
      where,
      status: 404,
      hint: "The document or doctype does not exist (deleted, renamed, or a wrong name in the integration file).",
    });
  if (f.status === 417 || f.status === 400 || f.status === 422)
    return new ValidationRejected(`erpnext: ${f.action} was rejected${exc ? ` (${exc})` : ""}${detail}.`, {
      where,
      status: f.status,
      hint: "Fix the value ERPNext refused (see the message), then retry.",
    });
  return defaultClassify(f, SYSTEM);
}

const FIELD_TYPES: Record<string, FieldType> = {
  Data: "string",
  "Small Text": "text",
  Text: "text",
  "Long Text": "text",
  "Text Editor": "text",
  "Markdown Editor": "text",
  "HTML Editor": "text",
  Code: "text",
  "Read Only": "string",
  Int: "int",
  "Long Int": "int",
  Float: "float",
  Percent: "float",
  Currency: "currency",
  Check: "bool",
  Date: "date",
  Datetime: "datetime",
  Select: "enum",
  Link: "link",
  "Dynamic Link": "link",
  Table: "table",
  "Table MultiSelect": "table",
  JSON: "json",
  Phone: "phone",
  Password: "other",
  Time: "string",
  Duration: "int",
  Rating: "float",
  Autocomplete: "string",
  Color: "string",
  Barcode: "string",
  Attach: "string",
  "Attach Image": "string",
  Signature: "string",
  Geolocation: "json",
  Icon: "string",
};
const LAYOUT = new Set(["Section Break", "Column Break", "Tab Break", "HTML", "Button", "Image", "Fold", "Heading"]);

interface DocField {
  fieldname?: string;
  fieldtype?: string;
  label?: string;
  options?: string;
  reqd?: number | boolean;
  read_only?: number | boolean;
  length?: number;
}
interface DocMeta {
  name?: string;
  is_submittable?: number | boolean;
  fields?: DocField[];
}

export function describeDoctype(name: string, meta: DocMeta): EntityDescription {
  const fields: Record<string, FieldDescription> = {};
  for (const f of meta.fields ?? []) {
    const ft = f.fieldtype ?? "Data";
    if (!f.fieldname || LAYOUT.has(ft)) continue;
    let type = FIELD_TYPES[ft] ?? "other";
    if (ft === "Data" && f.options === "Email") type = "email";
    if (ft === "Data" && f.options === "Phone") type = "phone";
    const d: FieldDescription = {
      name: f.fieldname,
      type,
      nativeType: ft,
      required: !!f.reqd,
      readOnly: !!f.read_only || ft === "Read Only",
    };
    if (f.label) d.label = f.label;
    if (ft === "Select" && f.options) d.options = f.options.split("\n").filter((o) => o !== "");
    if ((ft === "Link" || ft === "Table" || ft === "Table MultiSelect") && f.options) d.target = f.options;
    if (typeof f.length === "number" && f.length > 0) d.maxLength = f.length;
    else if (ft === "Data") d.maxLength = 140;
    fields[f.fieldname] = d;
  }
  const std: [string, FieldType, string][] = [
    ["name", "string", "Data"],
    ["owner", "link", "Link"],
    ["creation", "datetime", "Datetime"],
    ["modified", "datetime", "Datetime"],
    ["modified_by", "link", "Link"],
    ["docstatus", "int", "Int"],
  ];
  for (const [n, t, nt] of std) if (!fields[n]) fields[n] = { name: n, type: t, nativeType: nt, required: false, readOnly: true };
  const e: EntityDescription = { name, fields };
  if (meta.is_submittable) e.submittable = true;
  return e;
}

function filterTuples(filters: FilterExpr[] | undefined, entity: string, tz: string): FilterTuple[] {
  const out: FilterTuple[] = [];
  // A zoned ISO value is a timestamp: Frappe compares site-local naive values.
  const local = (v: unknown) => (isZonedIso(v) ? isoToLocalNaive(v, tz) : v);
  for (const raw of filters ?? []) {
    const f = { ...raw, value: Array.isArray(raw.value) ? raw.value.map(local) : local(raw.value) };
    switch (f.op) {
      case "is set":
        out.push([f.field, "is", "set"]);
        break;
      case "is not set":
        out.push([f.field, "is", "not set"]);
        break;
      case "in":
      case "not in":
        out.push([f.field, f.op, (Array.isArray(f.value) ? f.value : [f.value]).map(scalar)]);
        break;
      case "=":
      case "!=":
      case ">":
      case ">=":
      case "<":
      case "<=":
      case "like":
        out.push([f.field, f.op, scalar(f.value)]);
        break;
      default:
        throw new ValidationRejected(`erpnext: filter operator "${String(f.op)}" on ${entity}.${f.field} is not supported.`, {
          where: { system: SYSTEM, object: entity, field: f.field },
        });
    }
  }
  return out;
}

export class ErpNextConnector implements Connector {
  readonly type = SYSTEM;
  private readonly http: HttpClient;
  private readonly pageSize: number;
  private readonly configuredTz?: string;
  private tzPromise?: Promise<string>;
  private readonly renamePolicy: "reject" | "accept";
  private readonly metaCache = new Map<string, Promise<EntityDescription>>();
  private me?: string;
  /** Walks that detected a shift (concurrent change) and switched to keyset paging. */
  shifts = 0;
  private readonly datetimeCache = new Map<string, Promise<ReadonlySet<string>>>();
  private readonly nativeDatetimes: boolean;

  constructor(config: ConnectorConfig) {
    const key = config.credentials.apiKey;
    const secret = config.credentials.apiSecret;
    if (!key || !secret)
      throw new AuthError("erpnext: credentials.apiKey and credentials.apiSecret are both required.", {
        where: { system: SYSTEM },
        hint: "Generate them on the API user (User > Settings > API Access) and put them in the integration file's credentials.",
      });
    const o = config.options ?? {};
    const opts = readCommonOptions(SYSTEM, o);
    this.pageSize = Math.max(1, Math.floor(opts.pageSize ?? ERPNEXT_DEFAULT_PAGE));
    if (o.timezone !== undefined) {
      if (typeof o.timezone !== "string")
        throw new ValidationRejected('erpnext: option "timezone" must be an IANA zone name.', {
          where: { system: SYSTEM, field: "timezone" },
        });
      this.configuredTz = checkTimeZone(o.timezone, SYSTEM);
    }
    this.renamePolicy = o.customerRename === "accept" ? "accept" : "reject";
    this.nativeDatetimes = o.datetimeValues === "native";
    const base = config.url.replace(/\/+$/, "");
    const token = `token ${key}:${secret}`;
    this.http = new HttpClient({
      system: SYSTEM,
      baseUrl: /\/api$/.test(base) ? base : `${base}/api`,
      secrets: [key, secret, `${key}:${secret}`],
      authHeaders: () => ({ Authorization: token }),
      classify,
      timeoutMs: opts.timeoutMs,
      concurrency: opts.concurrency,
      maxRetries: opts.maxRetries,
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs,
      maxRetryAfterMs: opts.maxRetryAfterMs,
      rateLimit: opts.rateLimit,
      logger: opts.logger,
    });
  }

  private path(doctype: string, name?: string): string {
    return `/resource/${encodeURIComponent(doctype)}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
  }

  /** The site's time zone: options.timezone, else System Settings.time_zone (Frappe's fallback: Asia/Kolkata). */
  timezone(): Promise<string> {
    if (this.configuredTz) return Promise.resolve(this.configuredTz);
    if (!this.tzPromise) {
      this.tzPromise = (async () => {
        try {
          const res = await this.http.request<{ data?: { time_zone?: unknown } }>({
            method: "GET",
            path: this.path("System Settings", "System Settings"),
            action: "read the site time zone (System Settings)",
          });
          const tz = str(res.body?.data?.time_zone) ?? "Asia/Kolkata";
          return checkTimeZone(tz, SYSTEM);
        } catch (e) {
          if (e instanceof AuthError || e instanceof NotFound) {
            const err = new ValidationRejected(
              "erpnext: cannot learn the site's time zone: System Settings is not readable by the API user, so ERPNext's site-local timestamps cannot be converted to UTC.",
              {
                where: { system: SYSTEM, object: "System Settings" },
                hint: 'Set options.timezone to the site\'s time zone (System Settings > Time Zone), e.g. "Europe/Berlin".',
                cause: e,
              },
            );
            this.tzPromise = undefined;
            throw err;
          }
          this.tzPromise = undefined;
          throw e;
        }
      })();
    }
    return this.tzPromise;
  }

  /**
   * v1 single-document answers (GET, and the documents POST/PUT return) omit null fields, while
   * list rows keep them. Put the doctype's missing fields back as null, so "empty" is never read
   * as "the field is gone" (the engine never syncs a field a record does not return — an edit
   * on the other side would be skipped, and a null master value never reverted).
   */
  private async withNulls(doctype: string, doc: Row): Promise<Row> {
    const d = await this.meta(doctype).catch(() => undefined);
    if (!d) return doc;
    const out: Row = { ...doc };
    for (const [name, f] of Object.entries(d.fields)) if (!(name in out)) out[name] = f.type === "table" ? [] : null;
    return out;
  }

  /** Datetime fields of a doctype (from its meta, cached; none if the meta cannot be read, e.g. Frappe v14). */
  private datetimes(doctype: string): Promise<ReadonlySet<string>> {
    if (this.nativeDatetimes) return Promise.resolve(new Set<string>());
    let p = this.datetimeCache.get(doctype);
    if (!p) {
      p = this.meta(doctype)
        .then(
          (d) =>
            new Set(
              Object.values(d.fields)
                .filter((f) => f.type === "datetime")
                .map((f) => f.name),
            ) as ReadonlySet<string>,
        )
        .catch((e: unknown) => {
          // Meta unreadable: convert the standard timestamps only; retry later unless it is plainly absent.
          if (!(e instanceof NotFound) && !(e instanceof AuthError)) this.datetimeCache.delete(doctype);
          return new Set<string>(["creation", "modified"]);
        });
      this.datetimeCache.set(doctype, p);
    }
    return p;
  }

  /** Values going to ERPNext: zoned ISO datetimes become site-local naive (what Frappe stores). */
  private async toSystemValues(doctype: string, values: Record<string, unknown>, tz: string): Promise<Record<string, unknown>> {
    if (!Object.values(values).some(isZonedIso)) return values;
    const dt = await this.datetimes(doctype);
    const out: Record<string, unknown> = { ...values };
    for (const [k, v] of Object.entries(out)) if (isZonedIso(v) && dt.has(k)) out[k] = isoToLocalNaive(v, tz);
    return out;
  }

  private async recordsOf(doctype: string, rows: Row[], tz: string): Promise<RemoteRecord[]> {
    if (!rows.length) return [];
    const dt = await this.datetimes(doctype);
    return rows.map((r) => this.toRecord(r, doctype, tz, dt));
  }

  private toRecord(row: Row, doctype: string, tz: string, datetimes?: ReadonlySet<string>): RemoteRecord {
    const id = str(row.name);
    if (!id) throw new Transient(`erpnext: a ${doctype} row came without a name.`, { where: { system: SYSTEM, object: doctype } });
    const modifiedRaw = str(row.modified);
    const createdAt = localNaiveToIso(str(row.creation), tz);
    const modifiedAt = (modifiedRaw && localNaiveToIso(modifiedRaw, tz)) ?? createdAt ?? new Date(0).toISOString();
    const rec: RemoteRecord = { id, modifiedAt, values: row };
    if (createdAt) rec.createdAt = createdAt;
    const by = str(row.modified_by) ?? str(row.owner);
    if (by) rec.modifiedBy = by;
    if (modifiedRaw) rec.version = modifiedRaw;
    const ds = typeof row.docstatus === "number" ? row.docstatus : typeof row.docstatus === "string" ? Number(row.docstatus) : undefined;
    if (ds !== undefined && STATES[ds]) rec.state = STATES[ds];
    // Datetime values cross the interface as UTC ISO, like every timestamp; `version` keeps the raw `modified`.
    if (datetimes)
      for (const f of datetimes) {
        const v = row[f];
        if (typeof v !== "string" || v.length < 16) continue;
        const iso = f === "modified" && v === modifiedRaw ? modifiedAt : f === "creation" && createdAt ? createdAt : localNaiveToIso(v, tz);
        if (iso) row[f] = iso;
      }
    return rec;
  }

  async whoAmI(): Promise<string> {
    if (this.me) return this.me;
    const res = await this.http.request<{ message?: unknown }>({
      method: "GET",
      path: "/method/frappe.auth.get_logged_user",
      action: "read the current user (frappe.auth.get_logged_user)",
    });
    const me = str(res.body?.message);
    if (!me) throw new Transient("erpnext: get_logged_user answered without a user.", { where: { system: SYSTEM } });
    this.me = me;
    return me;
  }

  /** The doctype's meta, cached for conversions (describe() always reads it fresh). */
  private meta(doctype: string): Promise<EntityDescription> {
    let p = this.metaCache.get(doctype);
    if (!p) {
      p = this.fetchMeta(doctype);
      p.catch(() => this.metaCache.delete(doctype));
      this.metaCache.set(doctype, p);
    }
    return p;
  }

  /**
   * Merged meta (custom fields included): `/api/v2/doctype/{dt}/meta` (Frappe v15+), else the
   * desk endpoint every version has, `frappe.desk.form.load.getdoctype` (its `docs[0]`).
   */
  private async fetchMeta(doctype: string): Promise<EntityDescription> {
    let meta: DocMeta | undefined;
    try {
      const res = await this.http.request<{ data?: DocMeta }>({
        method: "GET",
        path: `/v2/doctype/${encodeURIComponent(doctype)}/meta`,
        action: `read the meta of ${doctype}`,
        where: { object: doctype },
      });
      meta = res.body?.data;
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
      const res = await this.http.request<{ docs?: DocMeta[] }>({
        method: "GET",
        path: "/method/frappe.desk.form.load.getdoctype",
        query: new URLSearchParams({ doctype }),
        action: `read the meta of ${doctype} (getdoctype)`,
        where: { object: doctype },
      });
      meta = res.body?.docs?.find((d) => d.name === doctype) ?? res.body?.docs?.[0];
    }
    if (!meta || !Array.isArray(meta.fields))
      throw new NotFound(`erpnext: doctype ${doctype} does not exist (no meta).`, {
        where: { system: SYSTEM, object: doctype },
        hint: 'Check the doctype name in the integration file (it is case- and space-sensitive, e.g. "Sales Order").',
      });
    return describeDoctype(doctype, meta);
  }

  async describe(entities?: string[]): Promise<SchemaDescription> {
    const names = entities ?? DEFAULT_DOCTYPES;
    const out: SchemaDescription = { entities: {} };
    // Fresh every time: describe() is how drift is detected. The caches follow what it saw.
    const settled = await Promise.allSettled(names.map((n) => this.fetchMeta(n)));
    settled.forEach((s, i) => {
      const name = names[i];
      if (s.status === "fulfilled") {
        out.entities[name] = s.value;
        this.metaCache.set(name, Promise.resolve(s.value));
        this.datetimeCache.delete(name);
      } else if (entities || !(s.reason instanceof NotFound)) throw s.reason;
    });
    return out;
  }

  private async list(
    doctype: string,
    q: { fields: string[]; filters?: FilterTuple[]; orFilters?: FilterTuple[]; orderBy: string; start?: number; limit: number },
    action: string,
  ): Promise<Row[]> {
    const params = new URLSearchParams();
    params.set("fields", JSON.stringify(q.fields));
    if (q.filters?.length) params.set("filters", JSON.stringify(q.filters));
    if (q.orFilters?.length) params.set("or_filters", JSON.stringify(q.orFilters));
    params.set("order_by", q.orderBy);
    params.set("limit_start", String(q.start ?? 0));
    // Always explicit and > 0: the default is 20 rows, and 0 means "no limit at all".
    params.set("limit_page_length", String(Math.max(1, q.limit)));
    const res = await this.http.request<{ data?: Row[] }>({
      method: "GET",
      path: this.path(doctype),
      query: params,
      action,
      where: { object: doctype },
    });
    const data = res.body?.data;
    if (!Array.isArray(data))
      throw new Transient(`erpnext: ${action}: the answer has no data list.`, { where: { system: SYSTEM, object: doctype } });
    return data;
  }

  /** Split requested fields into list columns and child tables (which only a document read returns). */
  private async plan(doctype: string, asked: string[] | undefined): Promise<{ columns: string[]; tables: string[] }> {
    if (!asked?.length) return { columns: ["*"], tables: [] };
    const fields = [...new Set(asked.map(fieldRoot))]; // a path into a child table reads its table
    const d = await this.meta(doctype);
    const tables = fields.filter((f) => d.fields[f]?.type === "table");
    const columns = [...new Set([...STD_FIELDS, ...fields.filter((f) => !tables.includes(f))])];
    return { columns, tables };
  }

  private async getDoc(doctype: string, name: string): Promise<Row> {
    const res = await this.http.request<{ data?: Row }>({
      method: "GET",
      path: this.path(doctype, name),
      action: `read ${doctype} ${name}`,
      where: { object: doctype, record: name },
    });
    if (!res.body?.data)
      throw new Transient(`erpnext: read ${doctype} ${name}: no data.`, { where: { system: SYSTEM, object: doctype, record: name } });
    return res.body.data;
  }

  /** Attach the child tables asked for (one document read per row; tables are not in lists). */
  private async withTables(doctype: string, rows: Row[], tables: string[]): Promise<Row[]> {
    if (!tables.length) return rows;
    return Promise.all(
      rows.map(async (r) => {
        const doc = await this.getDoc(doctype, String(r.name));
        const out = { ...r };
        for (const t of tables) out[t] = Array.isArray(doc[t]) ? doc[t] : [];
        return out;
      }),
    );
  }

  /**
   * Pages ordered by `modified asc, name asc` through the shared verified walk
   * (src/connectors/paging.ts): explicit limit_start/limit_page_length (never the 20-row
   * default, never 0 = everything), one row of overlap per page to detect shifts, and the keyset
   * `modified >= t AND (modified > t OR name > n)` (filters + or_filters, JSON) once anything
   * moved. Timestamps in filters are site-local with microseconds, as the server stores them.
   */
  async *readChanges(entity: string, opts: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
    const tz = await this.timezone();
    const size = Math.max(1, Math.floor(opts.pageSize ?? this.pageSize));
    const base = filterTuples(opts.filter, entity, tz);
    const { columns, tables } = await this.plan(entity, opts.fields);
    let skipThrough: WalkKey | undefined;
    if (opts.since) {
      const ms = Date.parse(opts.since.modifiedAt);
      if (Number.isNaN(ms))
        throw new ValidationRejected(`erpnext: cursor modifiedAt "${opts.since.modifiedAt}" is not an ISO datetime.`, {
          where: { system: SYSTEM, object: entity },
        });
      const overlap = Math.max(0, opts.overlapMs ?? 0);
      const t = isoToLocalNaive(ms - overlap, tz);
      base.unshift(["modified", ">=", t]);
      // The cursor carries milliseconds, ERPNext microseconds: continuing after (t.mmm000, id)
      // re-reads rows later inside that millisecond (harmless) and can never skip one — a row at
      // exactly t.mmm000 with a name <= id sorted before the cursor's row, so it was read.
      if (overlap === 0) skipThrough = { t, id: opts.since.id };
    }
    const walk = verifiedWalk<Row>({
      size,
      skipThrough,
      keyOf: (r) => ({ t: frappeCanonical(String(r.modified ?? "")), id: String(r.name) }),
      compare: (a, b) => {
        if (a.t !== b.t) return a.t < b.t ? -1 : 1;
        // MariaDB's default collation compares names case-insensitively.
        const x = a.id.toLowerCase();
        const y = b.id.toLowerCase();
        return x < y ? -1 : x > y ? 1 : 0;
      },
      onShift: () => this.shifts++,
      fetchPage: async (q) => {
        const filters: FilterTuple[] = [...base];
        let orFilters: FilterTuple[] | undefined;
        if (q.after) {
          filters.push(["modified", ">=", q.after.t]);
          orFilters = [
            ["modified", ">", q.after.t],
            ["name", ">", q.after.id],
          ];
        }
        const rows = await this.list(
          entity,
          { fields: columns, filters, orFilters, orderBy: "modified asc, name asc", start: q.offset, limit: q.limit },
          `list changed ${entity} documents`,
        );
        return { rows };
      },
    });
    for await (const rows of walk) {
      const full = await this.withTables(entity, rows, tables);
      const records = await this.recordsOf(entity, full, tz);
      const last = records[records.length - 1];
      yield { records, cursor: { modifiedAt: last.modifiedAt, id: last.id } };
    }
  }

  async readByIds(entity: string, ids: string[], fields?: string[]): Promise<RemoteRecord[]> {
    const tz = await this.timezone();
    const unique = [...new Set(ids)];
    if (!fields?.length) {
      // Whole documents, child tables included: one read each (bounded by the client's concurrency).
      const docs = await Promise.all(
        unique.map(async (id) => {
          try {
            return await this.withNulls(entity, await this.getDoc(entity, id));
          } catch (e) {
            if (e instanceof NotFound) return undefined;
            throw e;
          }
        }),
      );
      return this.recordsOf(
        entity,
        docs.filter((d): d is Row => !!d),
        tz,
      );
    }
    const { columns, tables } = await this.plan(entity, fields);
    const out: RemoteRecord[] = [];
    for (let i = 0; i < unique.length; i += 200) {
      const chunk = unique.slice(i, i + 200);
      const rows = await this.list(
        entity,
        { fields: columns, filters: [["name", "in", chunk]], orderBy: "name asc", limit: chunk.length },
        `read ${entity} documents by name`,
      );
      out.push(...(await this.recordsOf(entity, await this.withTables(entity, rows, tables), tz)));
    }
    return out;
  }

  async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
    const tz = await this.timezone();
    const out: RemoteRecord[] = [];
    let lastName: string | undefined;
    const size = Math.min(this.pageSize, 500);
    const wanted = isZonedIso(value) ? isoToLocalNaive(value, tz) : value;
    // A path into a child table (links[link_doctype=Customer].link_name) filters on the rows of its
    // child doctype (learned from the meta): [["Dynamic Link","link_doctype","=","Customer"],["Dynamic Link","link_name","=",v]].
    const child = isFieldPath(field) ? await this.childFilter(entity, field, wanted) : undefined;
    const seen = new Set<string>();
    for (;;) {
      // `=` (never `like`): %, _ and quotes in the value are data, not pattern or syntax.
      const filters: FilterTuple[] = child ? [...child.filters] : [[field, "=", wanted]];
      if (lastName !== undefined) filters.push(["name", ">", lastName]);
      const rows = await this.list(entity, { fields: ["*"], filters, orderBy: "name asc", limit: size }, `find ${entity} by ${field}`);
      const fresh = rows.filter((r) => !seen.has(String(r.name)) && seen.add(String(r.name)));
      // the found records carry the table the path reads (lists never return child tables)
      out.push(...(await this.recordsOf(entity, child ? await this.withTables(entity, fresh, [child.table]) : fresh, tz)));
      if (rows.length < size) return out;
      lastName = String(rows[rows.length - 1].name);
    }
  }

  /** The child-table filter of a field path, the child doctype learned from the parent's meta (cached). */
  private async childFilter(entity: string, field: string, value: unknown): Promise<{ table: string; filters: FilterTuple[] }> {
    let path: ReturnType<typeof parseFieldPath>;
    try {
      path = parseFieldPath(field);
    } catch (e) {
      throw new ValidationRejected(`erpnext: find ${entity} by "${field}": ${(e as Error).message}.`, {
        where: { system: SYSTEM, object: entity, field },
        hint: "Write a child-table path as table[column=value].field, e.g. links[link_doctype=Customer].link_name.",
      });
    }
    const d = await this.meta(entity);
    const tf = d.fields[path.table];
    if (!tf || tf.type !== "table" || !tf.target)
      throw new SchemaDrift(`erpnext: find ${entity} by "${field}": ${entity} has no child table "${path.table}".`, {
        where: { system: SYSTEM, object: entity, field: path.table },
        hint: "The table field was removed or renamed in ERPNext, or the integration file names a wrong one; check the field map.",
      });
    const dt = tf.target;
    const filters: FilterTuple[] = path.where.map((w): FilterTuple => [dt, w.column, "=", w.value]);
    filters.push([dt, path.field, "=", value]);
    return { table: path.table, filters };
  }

  /** A client-chosen name is refused: ERPNext names documents on insert (v1). */
  private refuseName(entity: string, values: Record<string, unknown>): void {
    if (values.name !== undefined)
      throw new ValidationRejected(`erpnext: create ${entity}: a document name cannot be chosen by the client (ERPNext names it).`, {
        where: { system: SYSTEM, object: entity, field: "name" },
        hint: "Leave `name` out; store the name ERPNext returns (Accord links records through its own shared identifier field).",
      });
  }

  async create(entity: string, values: Record<string, unknown>): Promise<RemoteRecord> {
    this.refuseName(entity, values);
    const tz = await this.timezone();
    const res = await this.http.request<{ data?: Row }>({
      method: "POST",
      path: this.path(entity),
      body: await this.toSystemValues(entity, values, tz),
      action: `create ${entity}`,
      where: { object: entity },
    });
    const doc = res.body?.data;
    if (!doc) throw new Transient(`erpnext: create ${entity}: no document in the answer.`, { where: { system: SYSTEM, object: entity } });
    const [rec] = await this.recordsOf(entity, [await this.withNulls(entity, doc)], tz);
    if (entity === "Customer") await this.checkCustomerRename(values, rec);
    return rec;
  }

  /** `frappe.client.insert_many` takes at most 200 documents per request. */
  readonly maxCreateBatch = 200;

  /**
   * Bulk create through `frappe.client.insert_many` (one transaction: all documents or none). Its
   * answer lists names only, and not in a documented order, so the documents are read back by name
   * (one list call) and matched to the payloads by `key`.
   */
  async createMany(
    entity: string,
    payloads: Array<Record<string, unknown>>,
    opts: { key: string; fields?: string[] },
  ): Promise<Array<RemoteRecord | Error>> {
    if (payloads.length === 0) return [];
    checkBulkPayloads(SYSTEM, entity, payloads, opts.key, this.maxCreateBatch, {
      noun: "documents",
      limitHint: "frappe.client.insert_many's limit",
    });
    for (const p of payloads) this.refuseName(entity, p);
    const tz = await this.timezone();
    const docs = await Promise.all(payloads.map(async (p) => ({ ...(await this.toSystemValues(entity, p, tz)), doctype: entity })));
    const res = await this.http.request<{ message?: unknown }>({
      method: "POST",
      path: "/method/frappe.client.insert_many",
      body: { docs },
      action: `create ${payloads.length} ${entity} documents (frappe.client.insert_many)`,
      where: { object: entity },
    });
    const names = Array.isArray(res.body?.message) ? res.body.message.map((n) => String(n)) : undefined;
    if (!names || names.length !== payloads.length)
      throw new Transient(`erpnext: create ${payloads.length} ${entity} documents: the answer does not list ${payloads.length} names.`, {
        where: { system: SYSTEM, object: entity },
        hint: "Whether they were created is unknown: Accord looks each one up by its key before creating it again.",
      });
    const fields = opts.fields ? [...new Set([...opts.fields, opts.key])] : undefined;
    const byKey = new Map<string, RemoteRecord>();
    for (const r of await this.readByIds(entity, names, fields)) byKey.set(bulkKeyOf(r.values[opts.key]), r);
    return Promise.all(
      payloads.map(async (p): Promise<RemoteRecord | Error> => {
        const rec = byKey.get(bulkKeyOf(p[opts.key]));
        if (!rec)
          return new Transient(
            `erpnext: created ${entity} with ${opts.key} "${bulkKeyOf(p[opts.key])}" cannot be found among the created documents.`,
            {
              where: { system: SYSTEM, object: entity, field: opts.key },
              hint: "Accord looks it up by its key on the next run before creating it again.",
            },
          );
        if (entity !== "Customer") return rec;
        try {
          await this.checkCustomerRename(p, rec);
          return rec;
        } catch (e) {
          return e as Error;
        }
      }),
    );
  }

  /** With naming by customer name, a taken name becomes "Name - n" silently: detect and undo it. */
  private async checkCustomerRename(values: Record<string, unknown>, rec: RemoteRecord): Promise<void> {
    const wanted = str(values.customer_name);
    if (!wanted || rec.id === wanted || !rec.id.startsWith(`${wanted} - `) || !/ - \d+$/.test(rec.id)) return;
    if (this.renamePolicy === "accept") return;
    const others = (await this.findByField("Customer", "customer_name", wanted)).map((r) => r.id).filter((id) => id !== rec.id);
    let undone = true;
    try {
      await this.http.request({
        method: "DELETE",
        path: this.path("Customer", rec.id),
        action: `delete the renamed duplicate Customer ${rec.id}`,
        where: { object: "Customer", record: rec.id },
      });
    } catch {
      undone = false;
    }
    throw new Duplicate(
      `erpnext: create Customer "${wanted}": a Customer with that name already exists (${others.join(", ") || wanted}); ERPNext silently named the new one "${rec.id}"` +
        (undone ? ", so Accord deleted it again." : ", and deleting that copy failed — remove it by hand."),
      {
        where: { system: SYSTEM, object: "Customer", record: rec.id },
        duplicates: others.length ? others : [wanted],
        hint: 'Link the existing Customer instead; if two customers really share a name, set options.customerRename: "accept".',
      },
    );
  }

  async update(entity: string, id: string, values: Record<string, unknown>, opts?: { ifVersion?: string }): Promise<RemoteRecord> {
    const tz = await this.timezone();
    const { name: _n, modified: _m, ...rest } = values;
    const body = await this.toSystemValues(entity, rest, tz);
    const tableKeys = Object.keys(body).filter(
      (k) => Array.isArray(body[k]) && (body[k] as unknown[]).some((r) => r && typeof r === "object"),
    );
    const mergesRows = tableKeys.some((k) => (body[k] as Row[]).some((r) => r && typeof r === "object" && typeof r.name === "string"));
    if (mergesRows) {
      // A PUT with a table replaces the whole table: rows that name an existing row are sent
      // complete (stored values overlaid with the given ones), so no unmapped column is lost.
      const stored = await this.getDoc(entity, id);
      if (
        opts?.ifVersion !== undefined &&
        stored.modified !== undefined &&
        frappeCanonical(String(stored.modified)) !== frappeCanonical(opts.ifVersion)
      )
        throw new VersionConflict(
          `erpnext: update ${entity} ${id}: the document was modified after it was read (now ${String(stored.modified)}).`,
          {
            where: { system: SYSTEM, object: entity, record: id },
            hint: "Re-read the document and plan the change again.",
          },
        );
      for (const k of tableKeys) {
        const old = new Map((Array.isArray(stored[k]) ? (stored[k] as Row[]) : []).map((r) => [String(r.name), r]));
        body[k] = (body[k] as Row[]).map((r) => {
          const prev = typeof r.name === "string" ? old.get(r.name) : undefined;
          if (!prev) return r;
          const base: Row = {};
          for (const [c, v] of Object.entries(prev)) if (!ROW_META.has(c)) base[c] = v;
          return { ...base, ...r };
        });
      }
    }
    if (opts?.ifVersion !== undefined) body.modified = opts.ifVersion;
    const res = await this.http.request<{ data?: Row }>({
      method: "PUT",
      path: this.path(entity, id),
      body,
      action: `update ${entity} ${id}`,
      where: { object: entity, record: id },
    });
    const doc = res.body?.data;
    if (!doc)
      throw new Transient(`erpnext: update ${entity} ${id}: no document in the answer.`, {
        where: { system: SYSTEM, object: entity, record: id },
      });
    return (await this.recordsOf(entity, [await this.withNulls(entity, doc)], tz))[0];
  }

  private async setDocstatus(entity: string, id: string, to: 1 | 2): Promise<RemoteRecord> {
    const tz = await this.timezone();
    const verb = to === 1 ? "submit" : "cancel";
    const res = await this.http.request<{ data?: Row }>({
      method: "PUT",
      path: this.path(entity, id),
      body: { docstatus: to },
      action: `${verb} ${entity} ${id}`,
      where: { object: entity, record: id },
    });
    const doc = res.body?.data;
    if (!doc)
      throw new Transient(`erpnext: ${verb} ${entity} ${id}: no document in the answer.`, {
        where: { system: SYSTEM, object: entity, record: id },
      });
    return (await this.recordsOf(entity, [doc], tz))[0];
  }

  submit(entity: string, id: string): Promise<RemoteRecord> {
    return this.setDocstatus(entity, id, 1);
  }

  cancel(entity: string, id: string): Promise<RemoteRecord> {
    return this.setDocstatus(entity, id, 2);
  }

  /**
   * Rename with merge (`frappe.client.rename_doc` with `merge: 1`), once per other document: ERPNext
   * moves every reference of the old name (addresses, contacts, orders, invoices …) to the survivor
   * and deletes the old document. Then `values` are written onto the survivor. Returns the survivor.
   */
  /**
   * Customers as organisations for the matcher (organisations.ts): each with its primary postal
   * address, read from the Address documents linked to it (one paged walk over Address). Without
   * addresses (not readable) names, tax ids, phones and websites still match.
   */
  async organisations(_entity: string, records: readonly RemoteRecord[], opts: { sharedIdField?: string } = {}): Promise<OrganisationView[]> {
    const addresses: Record<string, unknown>[] = [];
    try {
      for await (const page of this.readChanges("Address", { fields: ADDRESS_FIELDS }))
        for (const r of page.records) addresses.push({ ...r.values, name: r.id });
    } catch {
      addresses.length = 0;
    }
    const sharedIdField = opts.sharedIdField && opts.sharedIdField !== "name" ? opts.sharedIdField : undefined;
    return erpCustomerOrganisations(
      records.map((r) => ({ ...r.values, name: r.id })),
      addresses,
      { sharedIdField },
    );
  }

  /**
   * Webhook subscriptions (webhook-subscriptions.ts): a Webhook document per doctype and event,
   * signed with the secret given (it cannot be read back: to change it, unsubscribe and subscribe again).
   */
  async subscribeWebhook(entity: string, event: WebhookEventKind, url: string, opts: { secret?: string } = {}): Promise<WebhookSubscription> {
    return erpSubscribe(this.http, entity, event, url, opts.secret);
  }

  listWebhookSubscriptions(): Promise<WebhookSubscription[]> {
    return erpSubscriptions(this.http);
  }

  unsubscribeWebhook(id: string): Promise<void> {
    return erpUnsubscribe(this.http, id);
  }

  async merge(entity: string, survivorId: string, otherIds: string[], values: Record<string, unknown> = {}): Promise<RemoteRecord> {
    const others = [...new Set(otherIds)].filter((id) => id !== survivorId);
    if (others.length === 0)
      throw new ValidationRejected(`erpnext: merge ${entity} into ${survivorId}: no other document to merge.`, {
        where: { system: SYSTEM, object: entity, record: survivorId },
        hint: "Give at least one document name besides the survivor.",
      });
    for (const old of others) {
      await this.http.request({
        method: "POST",
        path: "/method/frappe.client.rename_doc",
        body: { doctype: entity, old_name: old, new_name: survivorId, merge: 1 },
        action: `merge ${entity} ${old} into ${survivorId} (rename with merge)`,
        where: { object: entity, record: old },
      });
    }
    const { name: _n, modified: _m, ...rest } = values;
    if (Object.keys(rest).length > 0) return this.update(entity, survivorId, rest);
    const [rec] = await this.readByIds(entity, [survivorId]);
    if (!rec)
      throw new NotFound(`erpnext: merge ${entity}: the survivor ${survivorId} cannot be read after the merge.`, {
        where: { system: SYSTEM, object: entity, record: survivorId },
        hint: "Look the document up in ERPNext; it may have been deleted meanwhile.",
      });
    return rec;
  }

  /** Delete a record. Idempotent: a record that is already gone counts as deleted (a retried delete finds nothing). */
  async delete(entity: string, id: string): Promise<void> {
    try {
      await this.http.request({
        method: "DELETE",
        path: this.path(entity, id),
        action: `delete ${entity} ${id}`,
        where: { object: entity, record: id },
      });
    } catch (e) {
      if (e instanceof NotFound) return;
      throw e;
    }
  }

  async *listIds(entity: string): AsyncIterable<string[]> {
    const size = Math.max(this.pageSize, 1000);
    let last: string | undefined;
    for (;;) {
      const rows = await this.list(
        entity,
        { fields: ["name"], filters: last === undefined ? [] : [["name", ">", last]], orderBy: "name asc", limit: size },
        `list ${entity} names`,
      );
      const ids = rows.map((r) => String(r.name));
      if (ids.length) yield ids;
      if (ids.length < size) return;
      last = ids[ids.length - 1];
    }
  }

  /**
   * Verifies `X-Frappe-Webhook-Signature: base64(HMAC-SHA256(rawBody, secret))`. The body is
   * whatever the webhook's template renders; the doctype and event come from the body
   * (`doctype`, `name`) or from the URL's query (`?doctype=Customer&event=on_update`).
   */
  parseWebhook(req: WebhookRequest, secret: string): WebhookEvent[] {
    const sig = header(req.headers, "x-frappe-webhook-signature");
    if (!sig) throw signatureError(SYSTEM, "the X-Frappe-Webhook-Signature header is missing");
    const given = Buffer.from(sig.trim(), "base64");
    if (!safeEqual(given, hmacSha256(secret, req.rawBody))) throw signatureError(SYSTEM, "the signature does not match the body");
    const q = queryOf(req.url);
    const body = parseJsonBody(SYSTEM, req.rawBody);
    const items = (Array.isArray(body) ? body : [body]).filter((x): x is Row => !!x && typeof x === "object");
    const event = q.get("event") ?? "";
    const kind: WebhookEvent["kind"] =
      event === "after_insert"
        ? "create"
        : event === "on_trash"
          ? "delete"
          : /^on_(update|change|submit|cancel|update_after_submit)$/.test(event)
            ? "update"
            : "other";
    return items
      .filter((it) => str(it.name) !== undefined)
      .map((it) => {
        const ev: WebhookEvent = { id: String(it.name), kind, values: it };
        const entity = str(it.doctype) ?? q.get("doctype") ?? undefined;
        if (entity) ev.entity = entity;
        return ev;
      });
  }

  stats(): ConnectorStats {
    return this.http.stats();
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

export const definition: ConnectorDefinition = {
  type: SYSTEM,
  title: "ERPNext / Frappe (REST API, token key:secret)",
  credentialKeys: { required: ["apiKey", "apiSecret"] },
  create: (config) => new ErpNextConnector(config),
};
