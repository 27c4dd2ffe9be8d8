/**
 * EspoCRM connector (REST API v1, API key or HMAC). Behaviour per
 * /work/shared/reference/espocrm-api.md; the traps it handles:
 * - maxSize above 200 is a 403 → pages are clamped to 200;
 * - datetimes are UTC "YYYY-MM-DD HH:mm:ss" (ISO with T/Z is rejected) → cursors are formatted so;
 * - create answers 409 `duplicate` with the existing records in the body → Duplicate(ids);
 * - update with X-Version-Number answers 409 `modified` → VersionConflict;
 * - repeated auth failures lock the address out with a reason-less 403 → AuthError, never retried;
 * - the client cannot choose a record id (the server drops it) → create refuses an `id`.
 */
import { createHmac } from "node:crypto";
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
import { defaultClassify, HttpClient, type HttpFailure } from "../http.ts";
import { espoOrganisations } from "./organisations.ts";
import { espoSubscribe, espoSubscriptions, espoUnsubscribe } from "./webhook-subscriptions.ts";
import { readCommonOptions } from "../options.ts";
import { verifiedWalk, type WalkKey } from "../paging.ts";
import { isoToUtcNaive, isZonedIso, utcNaiveToIso } from "../time.ts";
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
import { listQuery, toWhere, type WhereItem } from "./query.ts";

const SYSTEM = "espocrm";
/** EspoCRM's recordListMaxSizeLimit: a larger maxSize is refused with 403. */
export const ESPO_MAX_PAGE = 200;
const SYSTEM_ATTRS = ["id", "modifiedAt", "createdAt", "modifiedById", "createdById"];

type Row = Record<string, unknown>;

interface ListBody {
  total: number;
  list: Row[];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined;
}

export function toRecord(row: Row, entity: string, datetimes?: ReadonlySet<string>): RemoteRecord {
  const id = str(row.id);
  if (!id) throw new Transient(`espocrm: a ${entity} row came without an id.`, { where: { system: SYSTEM, object: entity } });
  const modifiedAt = utcNaiveToIso(str(row.modifiedAt)) ?? utcNaiveToIso(str(row.createdAt)) ?? new Date(0).toISOString();
  const rec: RemoteRecord = { id, modifiedAt, values: row };
  const createdAt = utcNaiveToIso(str(row.createdAt));
  if (createdAt) rec.createdAt = createdAt;
  const by = str(row.modifiedById) ?? str(row.createdById);
  if (by) rec.modifiedBy = by;
  if (row.versionNumber !== undefined && row.versionNumber !== null) rec.version = String(row.versionNumber);
  // Datetime values cross the interface as UTC ISO, like every timestamp (date-only values stay dates).
  if (datetimes)
    for (const f of datetimes) {
      const v = row[f];
      if (typeof v === "string" && v.length >= 16) {
        const iso = utcNaiveToIso(v);
        if (iso) row[f] = iso;
      }
    }
  return rec;
}

function classify(f: HttpFailure): AccordError | undefined {
  const reason = f.headers.get("x-status-reason") ?? "";
  const where = { system: SYSTEM, ...f.where };
  if (f.status === 403 && reason === "") {
    return new AuthError(
      `espocrm: ${f.action} was forbidden with no reason given (HTTP 403): EspoCRM answers so when this address is locked out after repeated failed logins.`,
      {
        where,
        status: 403,
        hint: "Fix the API key first (Accord never retries auth failures), then wait about a minute for EspoCRM's failed-login window to pass.",
      },
    );
  }
  if (f.status === 403 && /max size/i.test(reason)) {
    return new ValidationRejected(`espocrm: ${f.action}: ${reason} (HTTP 403).`, {
      where,
      status: 403,
      hint: `Page size must be at most ${ESPO_MAX_PAGE}.`,
    });
  }
  if (f.status === 409) {
    if (/duplicate/i.test(reason) || Array.isArray(f.json)) {
      const ids = Array.isArray(f.json) ? (f.json as Row[]).map((r) => str(r?.id)).filter((x): x is string => !!x) : [];
      return new Duplicate(
        `espocrm: ${f.action} was refused as a suspected duplicate of ${ids.length ? ids.join(", ") : "an existing record"} (HTTP 409).`,
        { where, status: 409, duplicates: ids, hint: "Link the existing record (its id is listed) instead of creating a new one." },
      );
    }
    if (/modified/i.test(reason)) {
      const body = (f.json ?? {}) as { versionNumber?: unknown; values?: Record<string, unknown> };
      const fields = body.values ? Object.keys(body.values).join(", ") : "";
      return new VersionConflict(
        `espocrm: ${f.action}: the record was changed since it was read (now at version ${String(body.versionNumber ?? "?")}${fields ? `; conflicting: ${fields}` : ""}).`,
        { where, status: 409, hint: "Re-read the record and plan the change again." },
      );
    }
    return new VersionConflict(`espocrm: ${f.action} conflicts with the record's current state (HTTP 409${reason ? `: ${reason}` : ""}).`, {
      where,
      status: 409,
      hint: "The record may be locked or changed; re-read it and retry.",
    });
  }
  const missing = f.status === 400 ? /(?:Not existing attribute|non-existing field) '([^']+)'/i.exec(reason) : null;
  if (missing) {
    return new SchemaDrift(`espocrm: ${f.action}: field "${missing[1]}" does not exist on this entity (HTTP 400: ${reason}).`, {
      where: { ...where, field: missing[1] },
      status: 400,
      hint: "The field was removed or renamed in EspoCRM (Entity Manager); update the integration file's field map.",
    });
  }
  if (f.status === 400) {
    const data = (f.json as { messageTranslation?: { data?: { field?: unknown; type?: unknown } } } | undefined)?.messageTranslation?.data;
    const field = str(data?.field);
    return new ValidationRejected(`espocrm: ${f.action} was rejected: ${reason || "bad request"} (HTTP 400).`, {
      where: field ? { ...where, field } : where,
      status: 400,
      hint: field ? `Fix the value of ${field} (${String(data?.type ?? "invalid")}).` : "Fix the request values, then retry.",
    });
  }
  return defaultClassify(f, SYSTEM);
}

function mapFieldType(t: string): FieldType {
  switch (t) {
    case "varchar":
    case "url":
    case "personName":
    case "password":
    case "foreign":
      return "string";
    case "text":
    case "wysiwyg":
    case "address":
      return "text";
    case "enum":
      return "enum";
    case "multiEnum":
    case "array":
    case "checklist":
    case "jsonObject":
    case "jsonArray":
    case "linkMultiple":
    case "attachmentMultiple":
      return "json";
    case "int":
    case "autoincrement":
      return "int";
    case "float":
      return "float";
    case "currency":
      return "currency";
    case "bool":
      return "bool";
    case "date":
      return "date";
    case "datetime":
    case "datetimeOptional":
      return "datetime";
    case "email":
      return "email";
    case "phone":
      return "phone";
    case "link":
    case "linkOne":
    case "linkParent":
    case "file":
    case "image":
      return "link";
    default:
      return "other";
  }
}

interface EspoFieldDef {
  type?: string;
  required?: boolean;
  readOnly?: boolean;
  notStorable?: boolean;
  options?: unknown[];
  maxLength?: number;
  label?: string;
  entity?: string;
}

/** entityDefs.X → FieldDescriptions keyed by the API attribute a value is written under. */
export function describeEntity(
  name: string,
  defs: { fields?: Record<string, EspoFieldDef>; links?: Record<string, { entity?: string }> },
): EntityDescription {
  const fields: Record<string, FieldDescription> = {};
  const add = (attr: string, d: Partial<FieldDescription> & { type: FieldType; nativeType: string }) => {
    fields[attr] = { name: attr, required: false, readOnly: false, ...d };
  };
  const RO_SYSTEM = new Set(["id", "createdAt", "modifiedAt", "createdBy", "modifiedBy", "versionNumber", "deleted", "streamUpdatedAt"]);
  for (const [fname, f] of Object.entries(defs.fields ?? {})) {
    const t = f.type ?? "varchar";
    const readOnly = !!f.readOnly || RO_SYSTEM.has(fname);
    const required = !!f.required;
    const options = Array.isArray(f.options) ? f.options.map((o) => String(o)) : undefined;
    const linkTarget = defs.links?.[fname]?.entity ?? f.entity;
    switch (t) {
      case "link":
      case "linkOne":
      case "file":
      case "image":
        add(`${fname}Id`, { type: "link", nativeType: t, required, readOnly: readOnly || t === "linkOne", target: linkTarget });
        break;
      case "linkParent":
        add(`${fname}Id`, { type: "link", nativeType: t, required, readOnly });
        add(`${fname}Type`, { type: "string", nativeType: t, required, readOnly });
        break;
      case "linkMultiple":
      case "attachmentMultiple":
        add(`${fname}Ids`, { type: "json", nativeType: t, required, readOnly, target: linkTarget });
        break;
      case "address":
        for (const part of ["Street", "City", "State", "Country", "PostalCode"])
          add(`${fname}${part}`, { type: part === "Street" ? "text" : "string", nativeType: "address", readOnly });
        break;
      case "personName":
        // The parts are fields of their own (firstName/lastName…); the computed name is read-only.
        add(fname, { type: "string", nativeType: t, readOnly: true });
        break;
      case "currency":
        add(fname, { type: "currency", nativeType: t, required, readOnly });
        add(`${fname}Currency`, { type: "string", nativeType: "currency", required: false, readOnly, maxLength: 3 });
        break;
      default:
        add(fname, {
          type: mapFieldType(t),
          nativeType: t,
          required,
          readOnly,
          ...(options ? { options } : {}),
          ...(typeof f.maxLength === "number" ? { maxLength: f.maxLength } : t === "varchar" ? { maxLength: 255 } : {}),
          ...(typeof f.label === "string" ? { label: f.label } : {}),
        });
    }
  }
  for (const a of ["id", "createdAt", "modifiedAt", "createdById", "modifiedById"]) {
    if (!fields[a]) add(a, { type: a.endsWith("At") ? "datetime" : a === "id" ? "string" : "link", nativeType: "system", readOnly: true });
  }
  return { name, fields };
}

const NONE: ReadonlySet<string> = new Set();

function datetimeSet(d: EntityDescription): ReadonlySet<string> {
  return new Set(
    Object.values(d.fields)
      .filter((f) => f.type === "datetime")
      .map((f) => f.name),
  );
}

export class EspoCrmConnector implements Connector {
  readonly type = SYSTEM;
  private readonly http: HttpClient;
  private readonly pageSize: number;
  private me?: string;
  /** Walks that detected a shift (concurrent change) and switched to keyset paging. */
  shifts = 0;
  private readonly datetimeCache = new Map<string, Promise<ReadonlySet<string>>>();
  private readonly nativeDatetimes: boolean;

  constructor(config: ConnectorConfig) {
    const apiKey = config.credentials.apiKey;
    const secretKey = config.credentials.secretKey;
    if (!apiKey)
      throw new AuthError("espocrm: no API key configured.", {
        where: { system: SYSTEM },
        hint: "Set credentials.apiKey (an API user's key from Administration > API Users).",
      });
    const opts = readCommonOptions(SYSTEM, config.options);
    this.nativeDatetimes = config.options?.datetimeValues === "native";
    this.pageSize = Math.min(ESPO_MAX_PAGE, Math.max(1, Math.floor(opts.pageSize ?? ESPO_MAX_PAGE)));
    const base = config.url.replace(/\/+$/, "");
    const apiBase = /\/api\/v1$/.test(base) ? base : `${base}/api/v1`;
    this.http = new HttpClient({
      system: SYSTEM,
      baseUrl: apiBase,
      secrets: [apiKey, ...(secretKey ? [secretKey] : [])],
      authHeaders: (method, path): Record<string, string> => {
        if (!secretKey) return { "X-Api-Key": apiKey };
        const digest = createHmac("sha256", secretKey).update(`${method} ${path}`).digest("hex");
        return { "X-Hmac-Authorization": Buffer.from(`${apiKey}:${digest}`).toString("base64") };
      },
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

  private path(entity: string, id?: string): string {
    return `/${encodeURIComponent(entity)}${id === undefined ? "" : `/${encodeURIComponent(id)}`}`;
  }

  async whoAmI(): Promise<string> {
    if (this.me) return this.me;
    const res = await this.http.request<{ user?: { id?: string; userName?: string } }>({
      method: "GET",
      path: "/App/user",
      action: "read the current user (App/user)",
    });
    const id = str(res.body?.user?.id);
    if (!id) throw new Transient("espocrm: App/user answered without a user id.", { where: { system: SYSTEM } });
    this.me = id;
    return id;
  }

  async describe(entities?: string[]): Promise<SchemaDescription> {
    let names = entities;
    if (!names) {
      const res = await this.http.request<Record<string, { entity?: boolean; object?: boolean }> | null>({
        method: "GET",
        path: "/Metadata",
        query: new URLSearchParams({ key: "scopes" }),
        action: "read metadata scopes",
      });
      names = Object.entries(res.body ?? {})
        .filter(([, s]) => s?.entity && s?.object)
        .map(([n]) => n);
    }
    const out: SchemaDescription = { entities: {} };
    await Promise.all(
      names.map(async (name) => {
        out.entities[name] = await this.entityDefs(name);
      }),
    );
    return out;
  }

  /** entityDefs of one entity, fresh (describe() is how drift is detected, so it is never cached). */
  private async entityDefs(name: string): Promise<EntityDescription> {
    const res = await this.http.request<{ fields?: Record<string, EspoFieldDef>; links?: Record<string, { entity?: string }> } | null>({
      method: "GET",
      path: "/Metadata",
      query: new URLSearchParams({ key: `entityDefs.${name}` }),
      action: `read metadata of ${name}`,
      where: { object: name },
    });
    if (!res.body || typeof res.body !== "object" || !res.body.fields)
      throw new NotFound(`espocrm: entity type ${name} does not exist (or the API user's role cannot read it).`, {
        where: { system: SYSTEM, object: name },
        hint: "Check the entity name in the integration file (custom entities carry a C prefix) and the role's scope access.",
      });
    const d = describeEntity(name, res.body);
    this.datetimeCache.set(name, Promise.resolve(datetimeSet(d)));
    return d;
  }

  /** Datetime attributes of an entity (learned once from Metadata; system ones if it cannot be read). */
  private datetimes(entity: string): Promise<ReadonlySet<string>> {
    if (this.nativeDatetimes) return Promise.resolve(NONE);
    let p = this.datetimeCache.get(entity);
    if (!p) {
      p = this.entityDefs(entity)
        .then(datetimeSet)
        .catch((e: unknown) => {
          // Metadata unreadable: convert the system timestamps only; retry later unless it is plainly absent.
          if (!(e instanceof NotFound) && !(e instanceof AuthError)) this.datetimeCache.delete(entity);
          return new Set(["createdAt", "modifiedAt"]);
        });
      this.datetimeCache.set(entity, p);
    }
    return p;
  }

  private async records(entity: string, rows: Row[]): Promise<RemoteRecord[]> {
    if (!rows.length) return [];
    const dt = await this.datetimes(entity);
    return rows.map((r) => toRecord(r, entity, dt));
  }

  /** Values going to EspoCRM: zoned ISO datetimes become "YYYY-MM-DD HH:mm:ss" UTC (Espo rejects T/Z). */
  private async toSystemValues(entity: string, values: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!Object.values(values).some(isZonedIso)) return values;
    const dt = await this.datetimes(entity);
    const out: Record<string, unknown> = { ...values };
    for (const [k, v] of Object.entries(out)) if (isZonedIso(v) && (dt.has(k) || dt.size === 0)) out[k] = isoToUtcNaive(v);
    return out;
  }

  private async systemFilters(filters: FilterExpr[] | undefined): Promise<FilterExpr[] | undefined> {
    if (!filters?.some((f) => isZonedIso(f.value) || (Array.isArray(f.value) && f.value.some(isZonedIso)))) return filters;
    const conv = (v: unknown) => (isZonedIso(v) ? isoToUtcNaive(v) : v);
    return filters.map((f) => ({ ...f, value: Array.isArray(f.value) ? f.value.map(conv) : conv(f.value) }));
  }

  private select(fields: string[] | undefined): string[] | undefined {
    if (!fields?.length) return undefined;
    return [...new Set([...SYSTEM_ATTRS, "versionNumber", ...fields])];
  }

  private async list(entity: string, params: Parameters<typeof listQuery>[0], action: string): Promise<ListBody> {
    const res = await this.http.request<ListBody>({
      method: "GET",
      path: this.path(entity),
      query: listQuery(params),
      headers: { "X-No-Total": "true" },
      action,
      where: { object: entity },
    });
    const body = res.body;
    if (!body || !Array.isArray(body.list))
      throw new Transient(`espocrm: ${action}: the answer has no list.`, { where: { system: SYSTEM, object: entity } });
    return body;
  }

  /**
   * Pages ordered by modifiedAt asc, id asc (Espo appends the id tie-breaker), 200 rows a call,
   * through the shared verified walk (src/connectors/paging.ts): offset pages that overlap by one
   * row to detect shifts, and the keyset `modifiedAt > t OR (modifiedAt = t AND id > lastId)`
   * once anything moved. Datetimes in filters are "YYYY-MM-DD HH:mm:ss" UTC (Espo rejects T/Z).
   */
  async *readChanges(entity: string, opts: ReadChangesOptions = {}): AsyncIterable<RecordPage> {
    const size = Math.min(ESPO_MAX_PAGE, Math.max(1, Math.floor(opts.pageSize ?? this.pageSize)));
    const base = toWhere(await this.systemFilters(opts.filter), entity);
    const select = this.select(opts.fields);
    let skipThrough: WalkKey | undefined;
    if (opts.since) {
      const sinceMs = Date.parse(opts.since.modifiedAt);
      if (Number.isNaN(sinceMs))
        throw new ValidationRejected(`espocrm: cursor modifiedAt "${opts.since.modifiedAt}" is not an ISO datetime.`, {
          where: { system: SYSTEM, object: entity },
        });
      const overlap = Math.max(0, opts.overlapMs ?? 0);
      const t = isoToUtcNaive(sinceMs - overlap);
      base.unshift({ type: "greaterThanOrEquals", attribute: "modifiedAt", value: t });
      // Without overlap, continue exactly after the cursor (second precision: same-second rows with a smaller id were read).
      if (overlap === 0) skipThrough = { t, id: opts.since.id };
    }
    const walk = verifiedWalk<Row>({
      size,
      skipThrough,
      keyOf: (r) => ({ t: str(r.modifiedAt) ?? "", id: String(r.id) }),
      compare: (a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      onShift: () => this.shifts++,
      fetchPage: async (q) => {
        const where: WhereItem[] = [...base];
        if (q.after)
          where.push({
            type: "or",
            value: [
              { type: "greaterThan", attribute: "modifiedAt", value: q.after.t },
              {
                type: "and",
                value: [
                  { type: "equals", attribute: "modifiedAt", value: q.after.t },
                  { type: "greaterThan", attribute: "id", value: q.after.id },
                ],
              },
            ],
          });
        const body = await this.list(
          entity,
          { where, maxSize: q.limit, offset: q.offset, orderBy: "modifiedAt", order: "asc", select },
          `list changed ${entity} records`,
        );
        // X-No-Total: total −1 = more pages, −2 = this is the last one.
        return { rows: body.list, more: body.total === -2 ? false : body.total === -1 ? true : undefined };
      },
    });
    for await (const rows of walk) {
      const records = await this.records(entity, rows);
      const last = records[records.length - 1];
      yield { records, cursor: { modifiedAt: last.modifiedAt, id: last.id } };
    }
  }

  async readByIds(entity: string, ids: string[], fields?: string[]): Promise<RemoteRecord[]> {
    const out: RemoteRecord[] = [];
    const unique = [...new Set(ids)];
    const select = this.select(fields);
    for (let i = 0; i < unique.length; i += 100) {
      const chunk = unique.slice(i, i + 100);
      const body = await this.list(
        entity,
        { where: [{ type: "in", attribute: "id", value: chunk }], maxSize: ESPO_MAX_PAGE, orderBy: "id", order: "asc", select },
        `read ${entity} records by id`,
      );
      out.push(...(await this.records(entity, body.list)));
    }
    return out;
  }

  async findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]> {
    const out: RemoteRecord[] = [];
    let lastId: string | undefined;
    for (;;) {
      const where: WhereItem[] = [{ type: "equals", attribute: field, value: isZonedIso(value) ? isoToUtcNaive(value) : value }];
      if (lastId) where.push({ type: "greaterThan", attribute: "id", value: lastId });
      const body = await this.list(entity, { where, maxSize: ESPO_MAX_PAGE, orderBy: "id", order: "asc" }, `find ${entity} by ${field}`);
      out.push(...(await this.records(entity, body.list)));
      if (body.list.length < ESPO_MAX_PAGE || body.total === -2) return out;
      lastId = String(body.list[body.list.length - 1].id);
    }
  }

  async create(entity: string, values: Record<string, unknown>): Promise<RemoteRecord> {
    if (values.id !== undefined)
      throw new ValidationRejected(`espocrm: create ${entity}: a record id cannot be chosen by the client (EspoCRM drops it).`, {
        where: { system: SYSTEM, object: entity, field: "id" },
        hint: "Leave `id` out; store the id EspoCRM returns (Accord links records through its own shared identifier field).",
      });
    const res = await this.http.request<Row>({
      method: "POST",
      path: this.path(entity),
      body: await this.toSystemValues(entity, values),
      action: `create ${entity}`,
      where: { object: entity },
    });
    return (await this.records(entity, [res.body ?? {}]))[0];
  }

  async update(entity: string, id: string, values: Record<string, unknown>, opts?: { ifVersion?: string }): Promise<RemoteRecord> {
    const headers: Record<string, string> = {};
    if (opts?.ifVersion !== undefined) headers["X-Version-Number"] = opts.ifVersion;
    const { id: _drop, ...rest } = values;
    const body = await this.toSystemValues(entity, rest);
    const res = await this.http.request<Row>({
      method: "PUT",
      path: this.path(entity, id),
      body,
      headers,
      action: `update ${entity} ${id}`,
      where: { object: entity, record: id },
    });
    return (await this.records(entity, [res.body ?? {}]))[0];
  }

  /**
   * `POST /{Entity}/action/merge` {targetId, sourceIds, attributes}: EspoCRM relinks every related
   * record of the sources to the target, merges their e-mail addresses and phone numbers, saves the
   * target with `attributes` and deletes the sources. Returns the target as read afterwards.
   */
  /** Accounts (and account-like entities) as organisations for the matcher: see organisations.ts. */
  organisations(entity: string, records: readonly RemoteRecord[], opts?: { sharedIdField?: string }): Promise<OrganisationView[]> {
    return espoOrganisations(entity, records, opts);
  }

  /** Webhook subscriptions (webhook-subscriptions.ts): skipOwn, one secret per subscription. */
  subscribeWebhook(entity: string, event: WebhookEventKind, url: string): Promise<WebhookSubscription> {
    return espoSubscribe(this.http, entity, event, url);
  }

  listWebhookSubscriptions(): Promise<WebhookSubscription[]> {
    return espoSubscriptions(this.http);
  }

  unsubscribeWebhook(id: string): Promise<void> {
    return espoUnsubscribe(this.http, id);
  }

  async merge(entity: string, survivorId: string, otherIds: string[], values: Record<string, unknown> = {}): Promise<RemoteRecord> {
    const sourceIds = [...new Set(otherIds)].filter((id) => id !== survivorId);
    if (sourceIds.length === 0)
      throw new ValidationRejected(`espocrm: merge ${entity} into ${survivorId}: no other record to merge.`, {
        where: { system: SYSTEM, object: entity, record: survivorId },
        hint: "Give at least one record id besides the survivor.",
      });
    const { id: _drop, ...rest } = values;
    await this.http.request({
      method: "POST",
      path: `${this.path(entity)}/action/merge`,
      body: { targetId: survivorId, sourceIds, attributes: await this.toSystemValues(entity, rest) },
      action: `merge ${entity} ${sourceIds.join(", ")} into ${survivorId}`,
      where: { object: entity, record: survivorId },
    });
    const [rec] = await this.readByIds(entity, [survivorId]);
    if (!rec)
      throw new NotFound(`espocrm: merge ${entity}: the survivor ${survivorId} cannot be read after the merge.`, {
        where: { system: SYSTEM, object: entity, record: survivorId },
        hint: "Look the record up in EspoCRM; it may have been deleted meanwhile.",
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
    let lastId: string | undefined;
    for (;;) {
      const where: WhereItem[] = lastId ? [{ type: "greaterThan", attribute: "id", value: lastId }] : [];
      const body = await this.list(
        entity,
        { where, maxSize: ESPO_MAX_PAGE, orderBy: "id", order: "asc", select: ["id"] },
        `list ${entity} ids`,
      );
      const ids = body.list.map((r) => String(r.id));
      if (ids.length) yield ids;
      if (ids.length < ESPO_MAX_PAGE || body.total === -2) return;
      lastId = ids[ids.length - 1];
    }
  }

  /**
   * Verifies `Signature: base64(webhookId + ":" + hex HMAC-SHA256(rawBody, secret))`.
   * The payload carries no event name or entity: subscribe each event with its own URL and
   * put them in the query, e.g. `?event=Account.update` (or `?entity=Account&kind=update`).
   */
  parseWebhook(req: WebhookRequest, secret: string): WebhookEvent[] {
    const sig = header(req.headers, "signature");
    if (!sig) throw signatureError(SYSTEM, "the Signature header is missing");
    const decoded = Buffer.from(sig, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw signatureError(SYSTEM, "the Signature header is malformed");
    const given = Buffer.from(decoded.slice(colon + 1), "utf8");
    const expected = Buffer.from(hmacSha256(secret, req.rawBody).toString("hex"), "utf8");
    if (!safeEqual(given, expected)) throw signatureError(SYSTEM, "the signature does not match the body");
    const q = queryOf(req.url);
    const event = q.get("event") ?? "";
    const entity = q.get("entity") ?? (event.includes(".") ? event.slice(0, event.indexOf(".")) : undefined);
    const action = q.get("kind") ?? (event.includes(".") ? event.slice(event.indexOf(".") + 1) : "");
    const kind: WebhookEvent["kind"] = action === "create" || action === "update" || action === "delete" ? action : "other";
    const body = parseJsonBody(SYSTEM, req.rawBody);
    const items = Array.isArray(body) ? body : [body];
    return items
      .filter((it): it is Row => !!it && typeof it === "object" && typeof (it as Row).id === "string")
      .map((it) => {
        const ev: WebhookEvent = { id: String(it.id), kind, values: it };
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
  title: "EspoCRM (REST API v1, API key or HMAC)",
  credentialKeys: { required: ["apiKey"], optional: ["secretKey"] },
  create: (config) => new EspoCrmConnector(config),
};
