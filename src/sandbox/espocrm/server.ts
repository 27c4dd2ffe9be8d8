/**
 * HTTP layer of the emulated EspoCRM: plain node:http for full control of status, headers and
 * body bytes. `/api/v1/...` is the real API (reference §0–§5); `/__sandbox/...` is the control
 * API (never faulted; needs `X-Sandbox-Token: <apiKey>`).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type FaultConfig, FaultConfigError, FaultInjector, parseFaultConfig } from "../common/faults.ts";
import { Db, formatDateTime, type Rec, randomHex32, type User } from "./db.ts";
import { ApiError, badRequest, forbidden, notFound } from "./errors.ts";
import { type EspoFieldType, entityDefsView, FIELD_TYPES, type FieldDef, fieldAttributes, scopeView } from "./metadata.ts";
import { phpJsonEncode } from "./php-json.ts";
import { type PhpValue, parsePhpQuery } from "./php-query.ts";
import { RecordService, type SearchParams } from "./records.ts";
import { type Webhook, WebhookManager } from "./webhooks.ts";

export interface EspoCrmSandboxOptions {
  port?: number;
  host?: string;
  /** X-Api-Key of the API user (32 hex chars by default, random). */
  apiKey?: string;
  /** HMAC secret key of the API user (32 hex chars by default, random). */
  hmacSecret?: string;
  /** JSON file: loaded at start if it exists, written on close() and on POST /__sandbox/save. */
  statePath?: string;
  /** Delay before queued webhook events are sent (the real cron: ~2 min). Default 120000. */
  webhookDelayMs?: number;
  /** Delay before a failed webhook batch is retried (real: 10 min). Default 600000. */
  webhookRetryMs?: number;
  /** Webhook request timeout (real: 10 s). */
  webhookTimeoutMs?: number;
  now?: () => Date;
  /** Which auth method the API user's key is accepted by. Default "any" (both). */
  authMethod?: "ApiKey" | "Hmac" | "any";
  currencyList?: string[];
  defaultCurrency?: string;
  phoneNumberInternational?: boolean;
}

export interface SandboxControl {
  seed(data: Record<string, Rec[]>): Record<string, string[]>;
  reset(opts?: { keepSchema?: boolean }): void;
  dump(entity: string, opts?: { includeDeleted?: boolean }): Rec[];
  faults(cfg: FaultConfig | null, opts?: { dropAfterApply?: boolean }): void;
  upgrade(change: Rec): void;
  setClockOffset(ms: number): void;
  flushWebhooks(): Promise<number>;
  /** Write as another user (a person): echo tests tell Accord's writes from a person's. */
  actAs(userId: string, op: "create" | "update" | "delete", entity: string, id: string | null, data: Rec): Rec | true;
  clearAuthFailures(): void;
  personUserId: string;
  adminUserId: string;
}

export interface EspoCrmSandbox {
  /** Site URL; the API is at `${url}/api/v1`. */
  url: string;
  apiUrl: string;
  apiKey: string;
  secretKey: string;
  apiUserId: string;
  db: Db;
  service: RecordService;
  webhooks: WebhookManager;
  faultInjector: FaultInjector;
  control: SandboxControl;
  stats: { requests: number; byRoute: Record<string, number> };
  close(): Promise<void>;
}

const APP_TIMESTAMP = "1732665600";
const API_PREFIX = "/api/v1";

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function sanitizeReason(s: string): string {
  // Characters outside printable ASCII / Latin-1 become spaces.
  return s.replace(/[^\x20-\x7e\xa0-\xff]/g, " ");
}

function espoHeaders(): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "X-App-Timestamp": APP_TIMESTAMP,
    Expires: "0",
    "Last-Modified": new Date().toUTCString(),
    "Cache-Control": "no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
  };
}

function ok(value: unknown, status = 200): Reply {
  return { status, headers: espoHeaders(), body: value === null ? "" : phpJsonEncode(value) };
}

function errorReply(e: ApiError): Reply {
  const headers: Record<string, string> = { ...e.headers };
  if (e.reason !== undefined && e.reason !== "") headers["X-Status-Reason"] = sanitizeReason(e.reason);
  let body = "";
  if (e.body !== undefined) {
    body = phpJsonEncode(e.body);
    headers["Content-Type"] = "application/json";
  }
  return { status: e.status, headers, body };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function isJsonType(req: IncomingMessage): boolean {
  const ct = String(req.headers["content-type"] ?? "").toLowerCase();
  return ct.startsWith("application/json");
}

/** Espo's body handling: JSON only with a JSON content type; arrays wrapped; scalars refused. */
function parseEspoBody(req: IncomingMessage, raw: Buffer): Rec {
  if (!isJsonType(req) || raw.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ApiError(500); // unmapped JsonException → 500, no reason (reference §0, inferred)
  }
  if (Array.isArray(v)) return { list: v };
  if (typeof v !== "object" || v === null) throw badRequest("Body is not a JSON object.");
  return v as Rec;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startEspoCrmSandbox(opts: EspoCrmSandboxOptions = {}): Promise<EspoCrmSandbox> {
  const db = new Db(opts.now);
  const svc = new RecordService(db, {
    currencyList: opts.currencyList ?? ["USD", "EUR", "GBP"],
    defaultCurrency: opts.defaultCurrency ?? "USD",
    phoneNumberInternational: opts.phoneNumberInternational ?? true,
  });
  const hooks = new WebhookManager(db, svc, {
    delayMs: opts.webhookDelayMs ?? 120_000,
    retryMs: opts.webhookRetryMs ?? 600_000,
    timeoutMs: opts.webhookTimeoutMs ?? 10_000,
    batchSize: 50,
    maxAttempts: 4,
    maxPerUser: 50,
  });
  svc.onEvent = (e) => hooks.handle(e);
  const injector = new FaultInjector(null);
  let dropAfterApply = false;
  const failedAuth: { ip: string; at: number }[] = [];
  const stats = { requests: 0, byRoute: {} as Record<string, number> };
  const massActions = new Map<string, { count: number; ids: string[] }>();

  // ---------------------------------------------------------------- users
  const apiKey = opts.apiKey ?? randomHex32();
  const secretKey = opts.hmacSecret ?? randomHex32();
  const adminUser: User = {
    id: "1",
    userName: "admin",
    name: "Admin",
    type: "admin",
    password: "sandbox-admin",
    isActive: true,
    acl: {},
    webhooks: true,
    tokens: new Set(),
  };
  const apiUser: User = {
    id: db.generateId(),
    userName: "accord-api",
    name: "Accord API",
    type: "api",
    authMethod: opts.authMethod ?? "any",
    apiKey,
    secretKey,
    isActive: true,
    acl: {},
    webhooks: true,
    tokens: new Set(),
  };
  const person: User = {
    id: db.generateId(),
    userName: "jane.doe",
    name: "Jane Doe",
    type: "regular",
    password: "jane-password",
    isActive: true,
    acl: {},
    webhooks: false,
    tokens: new Set(),
  };
  const systemUsers = [adminUser, apiUser, person];
  const resetUsers = () => {
    db.users.clear();
    for (const u of systemUsers) {
      u.acl = {};
      u.tokens.clear();
      db.users.set(u.id, u);
    }
  };
  resetUsers();

  // ---------------------------------------------------------------- state file
  const loadState = () => {
    if (!opts.statePath) return;
    let raw: string;
    try {
      raw = readFileSync(opts.statePath, "utf8");
    } catch {
      return;
    }
    const s = JSON.parse(raw) as {
      entityDefs: Db["entityDefs"];
      tables: Record<string, { records: Rec[]; autoincrement: number }>;
      webhooks: Webhook[];
      userIds?: { api: string; person: string };
    };
    if (s.userIds) {
      db.users.delete(apiUser.id);
      db.users.delete(person.id);
      apiUser.id = s.userIds.api;
      person.id = s.userIds.person;
      db.users.set(apiUser.id, apiUser);
      db.users.set(person.id, person);
    }
    db.entityDefs = s.entityDefs;
    db.resetTables();
    svc.invalidateMetadata();
    for (const [name, t] of Object.entries(s.tables)) {
      const table = db.table(name);
      for (const r of t.records) table.byId.set(r.id as string, r);
      table.autoincrement = t.autoincrement;
      table.version++;
    }
    for (const h of s.webhooks ?? []) hooks.hooks.set(h.id, h);
  };
  const saveState = () => {
    if (!opts.statePath) return;
    const tables: Record<string, { records: Rec[]; autoincrement: number }> = {};
    for (const [name, t] of db.tables) tables[name] = { records: [...t.byId.values()], autoincrement: t.autoincrement };
    writeFileSync(
      opts.statePath,
      JSON.stringify({
        entityDefs: db.entityDefs,
        tables,
        webhooks: [...hooks.hooks.values()],
        userIds: { api: apiUser.id, person: person.id },
      }),
    );
  };
  loadState();

  // ---------------------------------------------------------------- auth

  const clientIp = (req: IncomingMessage) => req.socket.remoteAddress ?? "unknown";
  const lockedOut = (ip: string): boolean => {
    const since = db.nowMs() - 60_000;
    while (failedAuth.length > 0 && (failedAuth[0] as { at: number }).at <= since - 60_000) failedAuth.shift();
    let n = 0;
    for (const f of failedAuth) if (f.ip === ip && f.at > since) n++;
    return n > 10;
  };
  const deny = (ip: string): ApiError => {
    failedAuth.push({ ip, at: db.nowMs() });
    return new ApiError(401);
  };

  const authenticate = (req: IncomingMessage, method: string, resourcePath: string): { user: User; token?: string } => {
    const ip = clientIp(req);
    const espoAuth = header(req, "espo-authorization");
    const apiKeyHeader = header(req, "x-api-key");
    const hmacHeader = header(req, "x-hmac-authorization");
    const basicHeader = header(req, "authorization");
    const byToken = String(header(req, "espo-authorization-by-token") ?? "").toLowerCase() === "true";

    let kind: "espo" | "apiKey" | "hmac" | "basic" | null = null;
    if (espoAuth !== undefined) kind = "espo";
    else if (apiKeyHeader !== undefined) kind = "apiKey";
    else if (hmacHeader !== undefined) kind = "hmac";
    else if (basicHeader?.toLowerCase().startsWith("basic ")) kind = "basic";
    if (!kind) {
      const headers: Record<string, string> = {};
      const xhr = header(req, "x-requested-with") === "XMLHttpRequest";
      if (!xhr && header(req, "referer") === undefined && method !== "POST") headers["WWW-Authenticate"] = 'Basic realm=""';
      throw new ApiError(401, undefined, undefined, headers);
    }
    if (!byToken && lockedOut(ip)) throw new ApiError(403);

    if (kind === "apiKey" || kind === "hmac") {
      if (byToken) throw deny(ip);
      if (kind === "apiKey") {
        const user = [...db.users.values()].find(
          (u) => u.type === "api" && u.apiKey === apiKeyHeader && (u.authMethod === "ApiKey" || u.authMethod === "any"),
        );
        if (!user?.isActive) throw deny(ip);
        return { user };
      }
      const decoded = Buffer.from(String(hmacHeader), "base64");
      const colon = decoded.indexOf(0x3a);
      if (colon <= 0) throw deny(ip);
      const key = decoded.subarray(0, colon).toString("utf8");
      const given = decoded.subarray(colon + 1);
      const user = [...db.users.values()].find(
        (u) => u.type === "api" && u.apiKey === key && (u.authMethod === "Hmac" || u.authMethod === "any"),
      );
      if (!user?.isActive) throw deny(ip);
      if (!user.secretKey) throw new ApiError(500);
      const msg = `${method} ${resourcePath}`;
      const hex = Buffer.from(createHmac("sha256", user.secretKey).update(msg).digest("hex"));
      const bin = createHmac("sha256", user.secretKey).update(msg).digest();
      if (!safeEqual(given, hex) && !safeEqual(given, bin)) throw deny(ip);
      return { user };
    }
    const encoded = kind === "espo" ? String(espoAuth) : String(basicHeader).slice(6).trim();
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw badRequest("Auth: Bad authorization string provided.");
    const userName = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    const user = [...db.users.values()].find((u) => u.userName === userName && u.type !== "api");
    if (!user?.isActive) throw deny(ip);
    if (byToken) {
      if (!user.tokens.has(secret)) throw deny(ip);
      return { user, token: secret };
    }
    if (user.password !== secret) throw deny(ip);
    return { user };
  };

  // ---------------------------------------------------------------- search params

  const parseSearchParams = (req: IncomingMessage, q: Record<string, PhpValue>): SearchParams => {
    let src: Record<string, unknown> = q;
    let fromJson = false;
    if (typeof q.searchParams === "string") {
      try {
        const v = JSON.parse(q.searchParams) as unknown;
        if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
        src = v as Record<string, unknown>;
        fromJson = true;
      } catch {
        throw badRequest("Invalid search params JSON.");
      }
    }
    let maxSize = 200;
    const ms = src.maxSize;
    if (ms !== undefined && ms !== null && ms !== "") {
      if (fromJson ? typeof ms !== "number" || !Number.isInteger(ms) : typeof ms !== "string" || !/^-?\d+$/.test(ms))
        throw badRequest("maxSize must be integer.");
      maxSize = Number(ms);
    }
    if (maxSize > 200) throw forbidden("Max size should not exceed 200. Use offset and limit.");
    if (maxSize <= 0) maxSize = 200;
    const offsetRaw = src.offset;
    let offset = 0;
    if (offsetRaw !== undefined && offsetRaw !== null && offsetRaw !== "") {
      const n = Number(offsetRaw);
      if (!Number.isInteger(n) || n < 0) throw badRequest("offset must be integer.");
      offset = n;
    }
    const orderByRaw = src.orderBy ?? src.sortBy;
    const orderBy = typeof orderByRaw === "string" && orderByRaw !== "" ? orderByRaw : undefined;
    let order: "asc" | "desc" | undefined;
    if (src.order !== undefined && src.order !== null && src.order !== "") {
      const o = String(src.order).toLowerCase();
      if (o !== "asc" && o !== "desc") throw badRequest("order value is bad.");
      order = o;
    } else if (src.asc !== undefined) {
      order = src.asc === "true" || src.asc === true ? "asc" : "desc";
    }
    let select: string[] | undefined;
    const sel = src.select ?? src.attributeSelect;
    if (sel !== undefined && sel !== null && sel !== "") {
      if (fromJson) {
        if (!Array.isArray(sel)) throw badRequest("select should be array.");
        select = sel.map(String);
      } else select = Array.isArray(sel) ? sel.map(String) : String(sel).split(",");
    }
    const whereRaw = src.where ?? src.whereGroup;
    const where = Array.isArray(whereRaw) ? (whereRaw as unknown[]).map(coerceWhere) : [];
    const text = (src.q ?? src.textFilter) as unknown;
    let noTotal = String(header(req, "x-no-total") ?? "").toLowerCase() === "true";
    if (typeof text === "string" && text !== "") {
      noTotal = noTotal || src.q !== undefined;
      where.push(textFilterItem(text));
    }
    return { maxSize, offset, orderBy, order, select, where, noTotal };
  };

  // Query-string where values are strings; PHP code compares loosely, so keep numbers numeric-ish.
  const coerceWhere = (w: unknown): unknown => {
    if (typeof w !== "object" || w === null || Array.isArray(w)) return w;
    const o = { ...(w as Record<string, unknown>) };
    if (o.type === "or" || o.type === "and") {
      if (Array.isArray(o.value)) o.value = o.value.map(coerceWhere);
      else if (typeof o.value === "object" && o.value !== null) o.value = Object.values(o.value).map(coerceWhere);
    }
    if (o.dateTime === "true") o.dateTime = true;
    if (o.dateTime === "false") o.dateTime = false;
    return o;
  };

  const textFilterItem = (text: string): Rec => {
    const pattern = text.includes("*") ? text.replace(/\*/g, "%") : `${text}`;
    return { type: "or", value: [] as unknown[], __text: pattern } as Rec;
  };

  // ---------------------------------------------------------------- API routing

  const appUser = (user: User, token?: string): Rec => {
    const acl: Rec = {};
    for (const name of Object.keys(db.entityDefs)) {
      const a = user.acl[name];
      acl[name] = {
        read: a?.read === false ? "no" : "all",
        create: a?.create === false ? "no" : "yes",
        edit: a?.edit === false ? "no" : "all",
        delete: a?.delete === false ? "no" : "all",
      };
    }
    const out: Rec = {
      user: {
        id: user.id,
        name: user.name,
        userName: user.userName,
        type: user.type,
        isActive: user.isActive,
        isAdmin: user.type === "admin",
        authMethod: user.type === "api" ? (user.authMethod === "any" ? "ApiKey" : user.authMethod) : null,
        deleted: false,
      },
      acl: { table: acl, fieldTable: {}, assignmentPermission: "all", userPermission: "all" },
      preferences: { id: user.id, timeZone: null, dateFormat: null, timeFormat: null, defaultCurrency: null },
      settings: {
        defaultCurrency: svc.opts.defaultCurrency,
        currencyList: svc.opts.currencyList,
        recordListMaxSizeLimit: 200,
        timeZone: "UTC",
      },
      appParams: { maxUploadSize: 50 },
    };
    if (token) out.token = token;
    return out;
  };

  const metadataTree = (): Rec => {
    const entityDefs: Rec = {};
    const scopes: Rec = {};
    for (const [name, def] of Object.entries(db.entityDefs)) {
      entityDefs[name] = entityDefsView(def);
      scopes[name] = scopeView(name, def);
    }
    return { entityDefs, scopes, app: { recordId: { length: 17 } } };
  };

  const routeApi = async (req: IncomingMessage, path: string, query: string, raw: Buffer): Promise<Reply> => {
    const method = (req.method ?? "GET").toUpperCase();
    const resourcePath = path.slice(API_PREFIX.length) || "/";
    if (!/^\/[\x21-\x7e]*$/.test(resourcePath) || resourcePath.includes("//")) throw badRequest("Malformed request path.");
    const { user, token } = authenticate(req, method, resourcePath);
    const parts = resourcePath.split("/").filter((p) => p !== "");
    const [controller, second, third] = parts as [string | undefined, string | undefined, string | undefined];
    if (!controller) throw notFound();
    const q = parsePhpQuery(query);
    const routeKey = `${method} ${controller}${second ? (second === "action" ? `/action/${third}` : "/:id") : ""}${third && second !== "action" ? "/:link" : ""}`;
    stats.byRoute[routeKey] = (stats.byRoute[routeKey] ?? 0) + 1;

    if (controller === "App" && second === "user" && method === "GET") {
      let t = token;
      if (!t && user.type !== "api" && header(req, "espo-authorization") !== undefined) {
        t = randomHex32();
        user.tokens.add(t);
      }
      return ok(appUser(user, t));
    }
    if (controller === "Metadata") {
      if (method !== "GET") throw notFound(`Action ${method} 'index' does not exist in controller 'Metadata'.`);
      if (second === "action" && third === "get") {
        if (user.type !== "admin") throw forbidden();
      } else if (second) throw notFound(`Action ${method} '${second}' does not exist in controller 'Metadata'.`);
      let tree: unknown = metadataTree();
      const key = q.key;
      if (typeof key === "string" && key !== "") {
        for (const k of key.split(".")) {
          if (tree && typeof tree === "object" && !Array.isArray(tree) && k in (tree as Rec)) tree = (tree as Rec)[k];
          else {
            tree = undefined;
            break;
          }
        }
        if (tree === undefined) return { status: 200, headers: espoHeaders(), body: "" };
        if (typeof tree === "string") return { status: 200, headers: espoHeaders(), body: tree };
      }
      return ok(tree);
    }
    if (controller === "MassAction") {
      if (method === "POST" && !second) {
        const body = parseEspoBody(req, raw);
        const result = svc.massAction(user, body);
        if (body.idle === true) {
          const id = db.generateId();
          massActions.set(id, result);
          return ok({ id });
        }
        return ok(result);
      }
      if (method === "GET" && second && third === "status") {
        const r = massActions.get(second);
        if (!r) throw notFound(`Record ${second} does not exist.`);
        return ok({ status: "Success", processedCount: r.count });
      }
      throw notFound(`Action ${method} '${second ?? "index"}' does not exist in controller 'MassAction'.`);
    }
    if (controller === "Webhook") {
      const body = () => parseEspoBody(req, raw);
      if (!second) {
        if (method === "GET") return ok(hooks.list(user));
        if (method === "POST") return ok(hooks.view(hooks.create(user, body())), 201);
      } else if (!third) {
        if (method === "GET") return ok(hooks.read(user, second));
        if (method === "PUT" || method === "PATCH") return ok(hooks.update(user, second, body()));
        if (method === "DELETE") return ok(hooks.remove(user, second));
      }
      throw notFound(`Action ${method} '${second ?? "index"}' does not exist in controller 'Webhook'.`);
    }
    if (!db.entityDefs[controller]) throw notFound(`Controller '${controller}' does not exist.`);
    const entity = controller;

    if (second === "action") {
      if (third === "merge" && method === "POST") return ok(svc.merge(user, entity, parseEspoBody(req, raw)));
      throw notFound(`Action ${method} '${third ?? ""}' does not exist in controller '${entity}'.`);
    }
    if (!second) {
      if (method === "GET") {
        const params = parseSearchParams(req, q);
        return { status: 200, headers: espoHeaders(), body: svc.listJson(user, entity, expandText(entity, params)) };
      }
      if (method === "POST") {
        const body = parseEspoBody(req, raw);
        const skip = String(header(req, "x-skip-duplicate-check") ?? "").toLowerCase() === "true";
        return ok(svc.create(user, entity, body, { skipDuplicateCheck: skip }));
      }
      throw notFound(`Action ${method} 'index' does not exist in controller '${entity}'.`);
    }
    if (!third) {
      if (method === "GET") return ok(svc.read(user, entity, second));
      if (method === "PUT" || method === "PATCH") {
        const body = parseEspoBody(req, raw);
        const vn = header(req, "x-version-number");
        const versionNumber = vn !== undefined && /^\d+$/.test(vn.trim()) ? Number(vn) : null;
        return ok(svc.update(user, entity, second, body, { versionNumber }));
      }
      if (method === "DELETE") return ok(svc.remove(user, entity, second));
      throw notFound(`Action ${method} 'read' does not exist in controller '${entity}'.`);
    }
    if (parts.length === 3) {
      if (method === "GET") {
        const params = parseSearchParams(req, q);
        return ok(svc.listRelated(user, entity, second, third, params));
      }
      if (method === "POST" || method === "DELETE") {
        const body = parseEspoBody(req, raw);
        const ids: string[] = typeof body.id === "string" ? [body.id] : Array.isArray(body.ids) ? body.ids.map(String) : [];
        if (ids.length === 0) throw badRequest("No ID.");
        return ok(svc.relate(user, entity, second, third, ids, method === "DELETE"));
      }
    }
    throw notFound();
  };

  /** `q`/`textFilter`: LIKE 'text%' on the text-filter fields (name, emailAddress). */
  const expandText = (entity: string, p: SearchParams): SearchParams => {
    if (!p.where) return p;
    const where = p.where.map((w) => {
      const o = w as Rec;
      if (!("__text" in o)) return w;
      const pattern = String(o.__text);
      const like = pattern.includes("%") ? pattern : `${pattern}%`;
      const attrs = svc.attributes(entity);
      const fields = ["name", "emailAddress", "firstName", "lastName", "partNumber"].filter((a) => attrs.has(a));
      return { type: "or", value: fields.map((f) => ({ type: "like", attribute: f, value: like })) };
    });
    return { ...p, where };
  };

  // ---------------------------------------------------------------- control API

  const control: SandboxControl = {
    get personUserId() {
      return person.id;
    },
    adminUserId: adminUser.id,
    seed(data) {
      const out: Record<string, string[]> = {};
      for (const [entity, records] of Object.entries(data)) {
        if (!Array.isArray(records)) throw badRequest(`Seed: ${entity} must be an array of records.`);
        svc.def(entity);
        out[entity] = records.map((r) => svc.seed(apiUser, entity, r).id as string);
      }
      return out;
    },
    reset(o = {}) {
      if (!o.keepSchema) db.entityDefs = new Db().entityDefs;
      db.resetTables();
      svc.invalidateMetadata();
      hooks.reset();
      failedAuth.length = 0;
      injector.configure(null);
      dropAfterApply = false;
      db.clockOffsetMs = 0;
      resetUsers();
    },
    dump(entity, o = {}) {
      svc.def(entity);
      const out: Rec[] = [];
      for (const r of db.table(entity).byId.values()) {
        if (r.deleted === true && !o.includeDeleted) continue;
        out.push({ ...svc.valueMap(entity, r), deleted: r.deleted === true });
      }
      return out;
    },
    faults(cfg, o = {}) {
      injector.configure(cfg);
      dropAfterApply = o.dropAfterApply === true;
    },
    upgrade(change) {
      applyUpgrade(change);
    },
    setClockOffset(ms) {
      db.clockOffsetMs = ms;
    },
    async flushWebhooks() {
      const before = hooks.deliveries.length;
      await hooks.run(true);
      return hooks.deliveries.length - before;
    },
    actAs(userId, op, entity, id, data) {
      const u = db.users.get(userId);
      if (!u) throw notFound(`User ${userId} does not exist.`);
      if (op === "create") return svc.create(u, entity, data, { skipDuplicateCheck: true });
      if (!id) throw badRequest("act: id is required for update/delete.");
      if (op === "update") return svc.update(u, entity, id, data);
      return svc.remove(u, entity, id);
    },
    clearAuthFailures() {
      failedAuth.length = 0;
    },
  };

  const applyUpgrade = (change: Rec): void => {
    const entity = String(change.entity ?? "");
    const def = db.entityDefs[entity];
    if (!def) throw badRequest(`upgrade: unknown entity '${entity}'.`);
    const table = db.table(entity);
    const renameAttrs = (from: string, to: string, f: FieldDef) => {
      const oldAttrs = fieldAttributes(from, f).map((a) => a.name);
      for (const r of table.byId.values()) {
        for (const a of oldAttrs) {
          const na = to + a.slice(from.length);
          r[na] = r[a];
          delete r[a];
        }
      }
    };
    const checkType = (t: unknown): EspoFieldType => {
      if (typeof t !== "string" || !FIELD_TYPES.includes(t as EspoFieldType))
        throw badRequest(`upgrade: unknown field type '${String(t)}'.`);
      return t as EspoFieldType;
    };
    const fieldDefFrom = (o: Rec, required: boolean): FieldDef => {
      const f: FieldDef = { type: checkType(o.type), isCustom: true };
      if (required) f.required = true;
      if (Array.isArray(o.options)) f.options = o.options.map(String);
      if (typeof o.maxLength === "number") f.maxLength = o.maxLength;
      if (o.default !== undefined) f.default = o.default;
      if (typeof o.min === "number") f.min = o.min;
      if (typeof o.max === "number") f.max = o.max;
      if (typeof o.entity === "string") f.entity = o.entity;
      return f;
    };
    const addField = (o: Rec, required: boolean) => {
      const name = String(o.name ?? "");
      if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw badRequest(`upgrade: bad field name '${name}'.`);
      if (def.fields[name]) throw badRequest(`upgrade: field '${name}' already exists on ${entity}.`);
      const f = fieldDefFrom(o, required);
      def.fields[name] = f;
      for (const r of table.byId.values())
        for (const a of fieldAttributes(name, f))
          r[a.name] = a.name === name && f.default !== undefined ? f.default : f.type === "bool" ? false : null;
    };
    let did = false;
    if (change.renameField) {
      const { from, to } = change.renameField as { from: string; to: string };
      const f = def.fields[from];
      if (!f) throw badRequest(`upgrade: no field '${from}' on ${entity}.`);
      if (def.fields[to]) throw badRequest(`upgrade: field '${to}' already exists on ${entity}.`);
      renameAttrs(from, to, f);
      // Keep the field's position.
      const fields: Record<string, FieldDef> = {};
      for (const [k, v] of Object.entries(def.fields)) fields[k === from ? to : k] = v;
      def.fields = fields;
      if (def.duplicateCheckFieldList) def.duplicateCheckFieldList = def.duplicateCheckFieldList.map((x) => (x === from ? to : x));
      if (def.collection.orderBy === from) def.collection.orderBy = to;
      did = true;
    }
    if (change.removeField) {
      const name =
        typeof change.removeField === "string"
          ? change.removeField
          : String((change.removeField as Rec).field ?? (change.removeField as Rec).name);
      const f = def.fields[name];
      if (!f) throw badRequest(`upgrade: no field '${name}' on ${entity}.`);
      for (const r of table.byId.values()) for (const a of fieldAttributes(name, f)) delete r[a.name];
      delete def.fields[name];
      if (def.duplicateCheckFieldList) def.duplicateCheckFieldList = def.duplicateCheckFieldList.filter((x) => x !== name);
      if (def.collection.orderBy === name) def.collection.orderBy = "createdAt";
      did = true;
    }
    if (change.addRequiredField) {
      addField(change.addRequiredField as Rec, true);
      did = true;
    }
    if (change.addField) {
      addField(change.addField as Rec, false);
      did = true;
    }
    if (change.changeType) {
      const { field, type } = change.changeType as { field: string; type: string };
      const f = def.fields[field];
      if (!f) throw badRequest(`upgrade: no field '${field}' on ${entity}.`);
      const nt = checkType(type);
      const simple = (t: EspoFieldType) => ["varchar", "text", "url", "enum", "int", "float", "bool", "date", "datetime"].includes(t);
      if (!simple(f.type) || !simple(nt)) throw badRequest(`upgrade: changeType supports scalar types only (${f.type} → ${nt}).`);
      for (const r of table.byId.values()) r[field] = convertValue(r[field], nt);
      f.type = nt;
      if (nt !== "enum") delete f.options;
      else if (!f.options)
        f.options = [
          "",
          ...new Set([...table.byId.values()].map((r) => r[field]).filter((v): v is string => typeof v === "string" && v !== "")),
        ];
      if (nt === "int" || nt === "float" || nt === "bool" || nt === "date" || nt === "datetime") delete f.maxLength;
      did = true;
    }
    if (change.setOptions) {
      const { field, options } = change.setOptions as { field: string; options: unknown };
      const f = def.fields[field];
      if (!f) throw badRequest(`upgrade: no field '${field}' on ${entity}.`);
      if (f.type !== "enum" && f.type !== "multiEnum") throw badRequest(`upgrade: '${field}' is ${f.type}, not an enum.`);
      if (!Array.isArray(options)) throw badRequest("upgrade: options must be an array of strings.");
      f.options = options.map(String);
      did = true;
    }
    if (change.setRequired) {
      const { field, required } = change.setRequired as { field: string; required: boolean };
      const f = def.fields[field];
      if (!f) throw badRequest(`upgrade: no field '${field}' on ${entity}.`);
      f.required = required !== false;
      did = true;
    }
    if (!did)
      throw badRequest(
        "upgrade: expected one of renameField {from,to}, removeField, addRequiredField {name,type}, addField {name,type}, changeType {field,type}, setOptions {field,options}, setRequired {field,required}.",
      );
    svc.invalidateMetadata();
    svc.reshape(entity);
  };

  const routeControl = async (req: IncomingMessage, path: string, query: string, raw: Buffer): Promise<Reply> => {
    const method = (req.method ?? "GET").toUpperCase();
    const json = (v: unknown, status = 200): Reply => ({
      status,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(v),
    });
    if (header(req, "x-sandbox-token") !== apiKey)
      return json({ error: "control API: send header X-Sandbox-Token with the sandbox apiKey" }, 401);
    let body: Rec = {};
    if (raw.length > 0) {
      try {
        const v = JSON.parse(raw.toString("utf8")) as unknown;
        body = (typeof v === "object" && v !== null ? v : {}) as Rec;
      } catch {
        return json({ error: "control API: body is not valid JSON" }, 400);
      }
    }
    const q = new URLSearchParams(query);
    const sub = path.slice("/__sandbox".length);
    const userId = (v: unknown) => (typeof v === "string" && v ? v : person.id);
    try {
      switch (`${method} ${sub}`) {
        case "GET /info":
          return json({
            url: siteUrl,
            apiKey,
            apiUserId: apiUser.id,
            personUserId: person.id,
            adminUserId: adminUser.id,
            now: db.nowString(),
            clockOffsetMs: db.clockOffsetMs,
            entities: Object.fromEntries(
              [...db.tables].map(([k, t]) => [k, [...t.byId.values()].filter((r) => r.deleted !== true).length]),
            ),
          });
        case "POST /seed":
          return json({ ids: control.seed(body as Record<string, Rec[]>) });
        case "POST /reset":
          control.reset({ keepSchema: body.keepSchema === true });
          return json({ ok: true });
        case "GET /dump": {
          const entity = q.get("entity");
          if (!entity) return json({ error: "dump: ?entity=<EntityType> is required" }, 400);
          return json({ entity, records: control.dump(entity, { includeDeleted: q.get("includeDeleted") === "1" }) });
        }
        case "GET /faults":
          return json({ ...injector.stats(), dropAfterApply });
        case "DELETE /faults":
          control.faults(null);
          return json({ ok: true });
        case "POST /faults": {
          const { dropAfterApply: daa, ...rest } = body;
          control.faults(parseFaultConfig(rest), { dropAfterApply: daa === true });
          return json({ ok: true, config: injector.config(), dropAfterApply });
        }
        case "POST /upgrade":
          control.upgrade(body);
          return json({ ok: true, entityDefs: entityDefsView(db.entityDefs[String(body.entity)] as never) });
        case "POST /fields":
          control.upgrade({ entity: body.entity, addField: body });
          return json({ ok: true });
        case "POST /clock": {
          const ms = Number(body.offsetMs);
          if (!Number.isFinite(ms)) return json({ error: "clock: offsetMs must be a number" }, 400);
          control.setClockOffset(ms);
          return json({ ok: true, now: db.nowString(), offsetMs: ms });
        }
        case "POST /webhooks/flush":
          return json({ sent: await control.flushWebhooks(), pending: hooks.pending().length });
        case "GET /webhooks":
          return json({
            webhooks: [...hooks.hooks.values()],
            pending: hooks.pending().map((p) => ({ webhookId: p.webhookId, attempts: p.attempts, data: p.data })),
            deliveries: hooks.deliveries,
          });
        case "POST /act": {
          const op = body.op;
          if (op !== "create" && op !== "update" && op !== "delete")
            return json({ error: "act: op must be create, update or delete" }, 400);
          const result = control.actAs(
            userId(body.userId),
            op,
            String(body.entity ?? ""),
            (body.id as string | undefined) ?? null,
            (body.data as Rec | undefined) ?? {},
          );
          return json({ ok: true, record: result });
        }
        case "POST /users": {
          const u: User = {
            id: (body.id as string | undefined) ?? db.generateId(),
            userName: String(body.userName ?? `user${db.users.size}`),
            name: String(body.name ?? body.userName ?? "User"),
            type: body.type === "api" || body.type === "admin" ? body.type : "regular",
            authMethod:
              body.authMethod === "Hmac" || body.authMethod === "ApiKey" ? body.authMethod : body.type === "api" ? "ApiKey" : undefined,
            apiKey: body.type === "api" ? String(body.apiKey ?? randomHex32()) : undefined,
            secretKey: body.type === "api" && body.authMethod === "Hmac" ? String(body.secretKey ?? randomHex32()) : undefined,
            password: typeof body.password === "string" ? body.password : undefined,
            isActive: body.isActive !== false,
            acl: (body.acl as User["acl"] | undefined) ?? {},
            webhooks: body.webhooks !== false,
            tokens: new Set(),
          };
          db.users.set(u.id, u);
          return json({ id: u.id, userName: u.userName, type: u.type, authMethod: u.authMethod, apiKey: u.apiKey, secretKey: u.secretKey });
        }
        case "POST /acl": {
          const uid = typeof body.userId === "string" ? body.userId : apiUser.id;
          const u = db.users.get(uid);
          if (!u) return json({ error: `acl: no user ${uid}` }, 404);
          const entity = String(body.entity ?? "");
          if (entity === "Webhook") u.webhooks = body.read !== false && body.create !== false;
          else {
            const a = { ...(u.acl[entity] ?? {}) };
            for (const k of ["read", "create", "edit", "delete"] as const) if (typeof body[k] === "boolean") a[k] = body[k] as boolean;
            u.acl[entity] = a;
          }
          return json({ ok: true, acl: u.acl, webhooks: u.webhooks });
        }
        case "POST /auth/clear":
          control.clearAuthFailures();
          return json({ ok: true });
        case "POST /save":
          saveState();
          return json({ ok: true, statePath: opts.statePath ?? null });
        case "GET /stats":
          return json(stats);
        default:
          return json({ error: `control API: no route ${method} ${path}` }, 404);
      }
    } catch (e) {
      if (e instanceof ApiError)
        return json({ error: e.reason ?? `HTTP ${e.status}`, status: e.status, body: e.body }, e.status === 404 ? 404 : 400);
      if (e instanceof FaultConfigError) return json({ error: e.message }, 400);
      throw e;
    }
  };

  // ---------------------------------------------------------------- server

  const send = (res: ServerResponse, r: Reply, headOnly = false) => {
    const buf = Buffer.from(r.body, "utf8");
    res.writeHead(r.status, { ...r.headers, "Content-Length": String(buf.length) });
    res.end(headOnly ? undefined : buf);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const url = req.url ?? "/";
    const qi = url.indexOf("?");
    const path = qi >= 0 ? url.slice(0, qi) : url;
    const query = qi >= 0 ? url.slice(qi + 1) : "";
    const raw = await readBody(req);
    if (path.startsWith("/__sandbox/") || path === "/__sandbox") {
      send(res, await routeControl(req, path, query, raw));
      return;
    }
    const fault = injector.decide(req);
    if (fault && fault.kind !== "truncate" && !(fault.kind === "drop" && dropAfterApply)) {
      if (await injector.apply(fault, req, res)) return;
    }
    let reply: Reply;
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) {
      try {
        reply = await routeApi(req, path, query, raw);
      } catch (e) {
        if (e instanceof ApiError) reply = errorReply(e);
        else reply = { status: 500, headers: {}, body: "" };
      }
    } else {
      reply = { status: 404, headers: { "Content-Type": "text/html" }, body: "<html><body>Not Found</body></html>" };
    }
    if (fault?.kind === "truncate") {
      await injector.apply(fault, req, res, Buffer.from(reply.body, "utf8"));
      return;
    }
    if (fault?.kind === "drop") {
      // The write happened; the answer is lost (the case idempotent creates must survive).
      req.socket.destroy();
      return;
    }
    send(res, reply);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, headers: {}, body: "" });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const siteUrl = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;

  return {
    url: siteUrl,
    apiUrl: `${siteUrl}${API_PREFIX}`,
    apiKey,
    secretKey,
    apiUserId: apiUser.id,
    db,
    service: svc,
    webhooks: hooks,
    faultInjector: injector,
    control,
    stats,
    async close() {
      await hooks.close();
      saveState();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function convertValue(v: unknown, t: EspoFieldType): unknown {
  if (v == null) return null;
  switch (t) {
    case "int": {
      const n = Number.parseInt(String(v), 10);
      return Number.isFinite(n) ? n : null;
    }
    case "float": {
      const n = Number.parseFloat(String(v));
      return Number.isFinite(n) ? n : null;
    }
    case "bool":
      return v === true || v === 1 || v === "1" || v === "true";
    case "date":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null;
    case "datetime":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)
        ? `${v} 00:00:00`
        : typeof v === "string" && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v)
          ? v
          : null;
    default:
      return typeof v === "object" ? JSON.stringify(v) : String(v);
  }
}

export { formatDateTime };
