/**
 * The emulated ERPNext / Frappe v15 site over plain node:http: v1 `/api/resource` + `/api/method`
 * (also under `/api/v1`), v2 `/api/v2/document|doctype|method`, and the control API under
 * `/__sandbox/` (see README.md in this folder). In-memory, one transaction per request.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultConfigError, FaultInjector, parseFaultConfig } from "../common/faults.ts";
import { buildControllers, getBin, salesInvoiceStatus, salesOrderStatus, saveBin, services } from "./controllers.ts";
import { type Doc, ErpDb } from "./db.ts";
import { cloneDoc, DocumentService, type Env, permissionError, type SiteSettings } from "./documents.ts";
import { bold, FrappeError, frappeThrow, encodeServerMessages, v1ErrorBody, v2ErrorBody } from "./frappe-errors.ts";
import { buildMetas, type DocTypeMeta, FLOAT_TYPES, INT_TYPES, indexMeta, makeField, metaAsDoc, TABLE_TYPES } from "./meta.ts";
import { countRows, type ListParams, parseJsonParam, runList } from "./query.ts";
import { defaultSettings, masterData } from "./seed.ts";
import { Tx } from "./tx.ts";
import { canonicalDate, cint, flt, pyDatetimeStr, pyReadValue, randomHash, SiteClock } from "./util.ts";
import { WebhookDispatcher, type WebhookDelivery } from "./webhooks.ts";

export interface ErpNextSandboxOptions {
  port?: number;
  host?: string;
  apiKey?: string;
  apiSecret?: string;
  /** email of the API user (default "accord@example.com") */
  user?: string;
  /** password for POST /api/method/login of the API user (default "accord-password") */
  password?: string;
  /** site time zone (System Settings time_zone); default "Europe/Berlin" */
  timezone?: string;
  /** load state from / save state to this JSON file */
  statePath?: string;
  /** delay before a webhook is sent (after commit), ms; default 0 */
  webhookDelayMs?: number;
  /** sleeps after failed webhook attempts 1 and 2 (Frappe: 1 s, 4 s); default [1000, 4000] */
  webhookRetryDelaysMs?: number[];
  /** base clock; POST /__sandbox/clock adds an offset */
  now?: () => Date;
  /** seed the master data of a fresh site (default true) */
  seedMasterData?: boolean;
}

export interface ErpNextSandbox {
  url: string;
  apiKey: string;
  apiSecret: string;
  user: string;
  password: string;
  timezone: string;
  /** direct access for tests: tables, metadata, clock, webhook log */
  db: ErpDb;
  clock: SiteClock;
  settings: SiteSettings;
  webhooks: { log: WebhookDelivery[]; flush(): Promise<void> };
  faults: FaultInjector;
  /** insert docs as the seed endpoint does */
  seed(data: Record<string, Doc[]>): Record<string, string[]>;
  close(): Promise<void>;
}

interface Credential {
  user: string;
  secret: string;
}

interface Ctx {
  user: string;
  /** tracebacks in error bodies (System User, allow_error_traceback) */
  traceback: boolean;
  v2: boolean;
}

const JSON_HEADERS = {
  "Content-Type": "application/json",
  "Cache-Control": "no-store,no-cache,must-revalidate,max-age=0",
};

/** A body already serialised as JSON text. */
class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

class HttpReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function readBody(req: IncomingMessage, limit = 25 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new FrappeError("ValidationError", { status: 413, exception: "Request Entity Too Large" }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Frappe's form_dict: query args + form fields or JSON object body (array → `data`). */
function formDict(url: URL, contentType: string, raw: Buffer): { form: Record<string, unknown>; json: unknown; text: string } {
  const form: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) if (k !== "_") form[k] = v;
  const text = raw.toString("utf8");
  let json: unknown;
  if (text && contentType.includes("application/json")) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new FrappeError("JSONDecodeError", { status: 500, exception: "Expecting value: line 1 column 1 (char 0)" });
    }
    if (Array.isArray(json)) form.data = json;
    else if (json && typeof json === "object") Object.assign(form, json);
  } else if (text && contentType.includes("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(text)) form[k] = v;
  }
  return { form, json, text };
}

function noNulls(doc: unknown): unknown {
  if (Array.isArray(doc)) return doc.map(noNulls);
  if (!doc || typeof doc !== "object") return doc;
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc as Doc)) {
    if (v === null || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(noNulls) : v;
  }
  return out;
}

/** A stored doc as read back from the DB: datetimes through Python str(). */
function asRead(db: ErpDb, doctype: string, doc: Doc): Doc {
  const meta = db.meta(doctype);
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (Array.isArray(v)) {
      const cm = db.meta(String(meta?.fieldMap.get(k)?.options ?? ""));
      out[k] = v.map((r) => asRead(db, cm?.name ?? "", r as Doc));
    } else if (typeof v === "string" && (k === "creation" || k === "modified")) {
      out[k] = pyDatetimeStr(v);
    } else out[k] = pyReadValue(meta?.fieldMap.get(k)?.fieldtype, v);
  }
  return out;
}

const WRITE_METHODS = new Set([
  "frappe.client.insert",
  "frappe.client.insert_many",
  "frappe.client.save",
  "frappe.client.set_value",
  "frappe.client.submit",
  "frappe.client.cancel",
  "frappe.client.delete",
  "frappe.client.rename_doc",
  "frappe.client.bulk_update",
  "frappe.model.rename_doc.update_document_title",
]);

export async function startErpNextSandbox(opts: ErpNextSandboxOptions = {}): Promise<ErpNextSandbox> {
  const timezone = opts.timezone ?? "Europe/Berlin";
  const clock = new SiteClock(timezone, opts.now);
  const apiKey = opts.apiKey ?? randomHash(15);
  const apiSecret = opts.apiSecret ?? randomHash(15);
  const apiUser = opts.user ?? "accord@example.com";
  const password = opts.password ?? "accord-password";
  const settings = defaultSettings();
  const db = new ErpDb(buildMetas(clock.now()));
  const controllers = buildControllers();
  const env: Env = { clock, settings };
  const docs = new DocumentService(controllers, env);
  services.docs = { insert: (tx, dt, body) => docs.insert(tx, dt, body) };
  const dispatcher = new WebhookDispatcher(db, clock, {
    delayMs: opts.webhookDelayMs ?? 0,
    retryDelaysMs: opts.webhookRetryDelaysMs ?? [1000, 4000],
  });
  const faults = new FaultInjector();
  const credentials = new Map<string, Credential>([[apiKey, { user: apiUser, secret: apiSecret }]]);
  const passwords = new Map<string, string>([[apiUser, password]]);
  const sessions = new Map<string, string>();
  const stats = { requests: 0, byRoute: new Map<string, number>() };
  /** site config rate_limit (requests per window here) and maintenance_mode, set by the control API */
  const site = { rateLimit: null as null | { limit: number; windowSec: number }, windowStart: 0, used: 0, maintenance: false };

  // ------------------------------------------------------------------ state, seed, persistence

  function applyCustomFieldToMeta(cf: Doc): void {
    const meta = db.meta(String(cf.dt));
    if (!meta || meta.fieldMap.has(String(cf.fieldname))) return;
    const flags = `${cint(cf.reqd) ? "r" : ""}${cint(cf.read_only) ? "o" : ""}${cint(cf.allow_on_submit) ? "s" : ""}${cint(cf.unique) ? "u" : ""}${cint(cf.hidden) ? "h" : ""}`;
    const f = makeField(
      [String(cf.fieldname), String(cf.fieldtype || "Data"), (cf.options as string) || null, flags, (cf.default as string) ?? null],
      true,
    );
    if (cf.label) f.label = String(cf.label);
    f.insert_after = (cf.insert_after as string) || null;
    meta.fields.push(f);
    indexMeta(meta);
    db.bump(meta.name);
  }

  function seed(data: Record<string, Doc[]>, user = apiUser, validateLinks = false): Record<string, string[]> {
    const tx = new Tx(db, user);
    const names: Record<string, string[]> = {};
    for (const [dt, list] of Object.entries(data)) {
      if (!db.meta(dt)) throw frappeThrow("DoesNotExistError", `DocType ${dt} not found`);
      names[dt] = [];
      for (const body of list) {
        const d = docs.insert(tx, dt, body, { seed: true, validateLinks });
        names[dt].push(String(d.name));
        if (dt === "Custom Field") applyCustomFieldToMeta(d);
      }
    }
    tx.commit();
    scheduleSave();
    return names;
  }

  function seedMaster(): void {
    for (const [dt, list] of masterData(settings, apiUser)) seed({ [dt]: list }, "Administrator");
  }

  function reset(withMaster: boolean): void {
    db.metas = buildMetas(clock.now());
    db.clear();
    if (withMaster) seedMaster();
  }

  let saveTimer: NodeJS.Timeout | null = null;
  function saveState(): void {
    if (!opts.statePath) return;
    const tables: Record<string, Doc[]> = {};
    for (const [dt, t] of db.tables) tables[dt] = [...t.values()];
    const metas = [...db.metas.values()].map((m) => ({ ...m, fieldMap: undefined, tableFields: undefined, valueFields: undefined }));
    writeFileSync(
      opts.statePath,
      JSON.stringify({ version: 1, counters: [...db.counters], passwords: [...db.passwords], offsetMs: clock.offsetMs, metas, tables }),
    );
  }
  function scheduleSave(): void {
    if (!opts.statePath || saveTimer) return;
    saveTimer = setTimeout(() => {
      saveTimer = null;
      saveState();
    }, 200);
  }
  function loadState(path: string): boolean {
    let raw: string;
    try {
      raw = readFileSync(path, "utf8");
    } catch {
      return false;
    }
    const st = JSON.parse(raw) as {
      counters: Array<[string, number]>;
      passwords?: Array<[string, string]>;
      offsetMs: number;
      metas: DocTypeMeta[];
      tables: Record<string, Doc[]>;
    };
    const metas = new Map<string, DocTypeMeta>();
    for (const m of st.metas) {
      indexMeta(m);
      metas.set(m.name, m);
    }
    db.metas = metas;
    db.clear();
    db.counters = new Map(st.counters);
    for (const [k, v] of st.passwords ?? []) db.passwords.set(k, v);
    clock.offsetMs = st.offsetMs ?? 0;
    for (const [dt, list] of Object.entries(st.tables)) for (const d of list) db.put(dt, d);
    return true;
  }

  if (!(opts.statePath && loadState(opts.statePath)) && opts.seedMasterData !== false) seedMaster();

  // ------------------------------------------------------------------------------ transactions

  function inTx<T>(user: string, fn: (tx: Tx) => T): { result: T; tx: Tx } {
    const tx = new Tx(db, user);
    const result = fn(tx);
    tx.commit();
    if (tx.events.length) {
      dispatcher.afterCommit(tx.events, user);
      scheduleSave();
    } else scheduleSave();
    return { result, tx };
  }

  function meta(doctype: string): DocTypeMeta {
    const m = db.meta(doctype);
    if (!m) throw frappeThrow("DoesNotExistError", `DocType ${doctype} not found`);
    return m;
  }

  function requireUser(ctx: Ctx, doctype: string): void {
    if (ctx.user === "Guest") {
      throw new FrappeError("PermissionError", {
        messages: [
          {
            message: `User ${bold("Guest")} does not have doctype access via role permission for document ${bold(doctype)}`,
            title: "Insufficient Permission",
            indicator: "red",
          },
        ],
        exception: `No permission for ${doctype}`,
      });
    }
  }

  // ------------------------------------------------------------------------------- resources

  function docOut(ctx: Ctx, doc: Doc, fresh: boolean, doctype: string): unknown {
    const d = fresh ? doc : asRead(db, doctype, doc);
    return ctx.v2 ? d : noNulls(d);
  }

  function successMessages(tx: Tx): Record<string, unknown> {
    return tx.messages.length ? { _server_messages: encodeServerMessages(tx.messages) } : {};
  }

  function findChildRow(m: DocTypeMeta, name: string): { parent: Doc; parentType: string; field: string; row: Doc } | undefined {
    for (const pm of db.metas.values()) {
      const tables = pm.tableFields.filter((f) => f.options === m.name);
      if (!tables.length) continue;
      for (const d of db.all(pm.name)) {
        for (const tf of tables) {
          const row = ((d[tf.fieldname] ?? []) as Doc[]).find((r) => r.name === name);
          if (row) return { parent: d, parentType: pm.name, field: tf.fieldname, row };
        }
      }
    }
    return undefined;
  }

  /** Lists of a child doctype need `parent` (frappe.client.get_list → check_parent_permission). */
  function childSource(m: DocTypeMeta, form: Record<string, unknown>): Doc[] | undefined {
    if (!m.istable) return undefined;
    const parent = typeof form.parent === "string" ? form.parent : "";
    const pm = parent ? db.meta(parent) : undefined;
    const tables = pm ? pm.tableFields.filter((f) => f.options === m.name) : [];
    if (!pm || !tables.length) {
      throw frappeThrow("ValidationError", `Please specify a valid parent DocType for ${bold(m.name)}`, {
        title: "Invalid Parent DocType",
      });
    }
    const out: Doc[] = [];
    for (const d of db.all(pm.name)) for (const tf of tables) for (const r of (d[tf.fieldname] ?? []) as Doc[]) out.push(r);
    return out;
  }

  function listParams(form: Record<string, unknown>): ListParams {
    return {
      fields: form.fields,
      filters: form.filters,
      or_filters: form.or_filters,
      order_by: form.order_by,
      limit_start: form.limit_start,
      limit_page_length: form.limit_page_length,
      limit: form.limit,
      as_dict: form.as_dict,
      group_by: form.group_by,
    };
  }

  function resourceBody(form: Record<string, unknown>, json: unknown, text: string): Doc {
    if (typeof form.data === "string") {
      try {
        return JSON.parse(form.data) as Doc;
      } catch {
        throw new FrappeError("JSONDecodeError", { status: 500, exception: "Expecting value: line 1 column 1 (char 0)" });
      }
    }
    if (json && typeof json === "object" && !Array.isArray(json)) return json as Doc;
    if (text) {
      try {
        const v = JSON.parse(text);
        if (v && typeof v === "object") return v as Doc;
      } catch {
        throw new FrappeError("JSONDecodeError", { status: 500, exception: "Expecting value: line 1 column 1 (char 0)" });
      }
    }
    return {};
  }

  function runDocMethod(ctx: Ctx, doctype: string, name: string, method: string, httpMethod: string): unknown {
    meta(doctype);
    if (!["submit", "cancel"].includes(method)) {
      // load first so a missing doc is a 404
      inTx(ctx.user, (tx) => docs.load(tx, doctype, name));
      throw frappeThrow("PermissionError", "Not permitted", { exception: `Method ${method} is not whitelisted` });
    }
    if (httpMethod === "GET") throw frappeThrow("PermissionError", "Not permitted", { exception: `${method} requires POST` });
    const { result } = inTx(ctx.user, (tx) => (method === "submit" ? docs.submit(tx, doctype, name) : docs.cancel(tx, doctype, name)));
    return docOut(ctx, result, true, doctype);
  }

  function handleResource(
    ctx: Ctx,
    method: string,
    parts: string[],
    form: Record<string, unknown>,
    json: unknown,
    text: string,
  ): HttpReply {
    const doctype = parts[0];
    const name = parts.length > 1 ? parts.slice(1).join("/") : undefined;
    requireUser(ctx, doctype);
    const m = meta(doctype);
    const env = ctx.v2 ? "data" : "data";
    if (name === undefined) {
      if (method === "GET") {
        if (ctx.v2) {
          const limit = form.limit === undefined ? 20 : Math.max(0, cint(form.limit));
          const rows = runList(
            db,
            clock.today(),
            m,
            { ...listParams(form), limit_page_length: undefined, limit: undefined },
            {
              start: cint(form.start),
              limit: limit || 20,
              extraRow: true,
            },
          );
          const hasNext = rows.length > (limit || 20);
          return new HttpReply(200, { data: hasNext ? rows.slice(0, -1) : rows, has_next_page: hasNext });
        }
        const page = runList(db, clock.today(), m, listParams(form), { json: !m.istable, source: childSource(m, form) });
        return new HttpReply(200, typeof page === "string" ? new RawJson(`{"${env}":${page}}`) : { [env]: page });
      }
      if (method === "POST") {
        if (m.readOnlyApi || m.istable) throw permissionError(doctype, "create");
        const body = resourceBody(form, json, text);
        const { result, tx } = inTx(ctx.user, (t) => docs.insert(t, doctype, body, { keepName: ctx.v2 }));
        return new HttpReply(200, { data: docOut(ctx, result, true, doctype), ...successMessages(tx) });
      }
      throw frappeThrow("DoesNotExistError", "Not Found");
    }
    const runMethod = (ctx.v2 ? undefined : form.run_method) as string | undefined;
    if (m.istable && (method === "GET" || method === "PUT" || method === "PATCH")) {
      // a child row addressed directly: read it, or save it and then re-save its parent
      const found = findChildRow(m, name);
      if (!found) throw frappeThrow("DoesNotExistError", `${doctype} ${name} not found`);
      if (method === "GET") return new HttpReply(200, { data: docOut(ctx, found.row, false, doctype) });
      const body = resourceBody(form, json, text);
      const { result } = inTx(ctx.user, (t) => {
        const rows = ((found.parent[found.field] ?? []) as Doc[]).map((r) =>
          r.name === found.row.name ? { ...r, ...body, name: r.name } : r,
        );
        const saved = docs.update(t, found.parentType, String(found.parent.name), { [found.field]: rows });
        return ((saved[found.field] ?? []) as Doc[]).find((r) => r.name === found.row.name) as Doc;
      });
      return new HttpReply(200, { data: docOut(ctx, result, true, doctype) });
    }
    if (method === "GET") {
      if (runMethod) return new HttpReply(200, { data: runDocMethod(ctx, doctype, name, runMethod, "GET") });
      const d = db.get(doctype, name);
      if (!d) throw frappeThrow("DoesNotExistError", `${doctype} ${name} not found`);
      return new HttpReply(200, { data: docOut(ctx, d, false, doctype) });
    }
    if (method === "POST") {
      if (!runMethod) throw frappeThrow("DoesNotExistError", "Not Found");
      return new HttpReply(200, { data: runDocMethod(ctx, doctype, name, runMethod, "POST") });
    }
    if (method === "PUT" || (ctx.v2 && method === "PATCH")) {
      const body = resourceBody(form, json, text);
      const { result, tx } = inTx(ctx.user, (t) => docs.update(t, doctype, name, body));
      return new HttpReply(200, { data: docOut(ctx, result, true, doctype), ...successMessages(tx) });
    }
    if (method === "DELETE") {
      inTx(ctx.user, (t) => docs.delete(t, doctype, name));
      return new HttpReply(202, { data: "ok" });
    }
    throw frappeThrow("DoesNotExistError", "Not Found");
  }

  // --------------------------------------------------------------------------------- methods

  function parseDocArg(v: unknown): Doc {
    const d = parseJsonParam(v);
    if (!d || typeof d !== "object" || Array.isArray(d)) throw frappeThrow("ValidationError", "Invalid document");
    return d as Doc;
  }

  function makeSalesInvoice(tx: Tx, soName: string): Doc {
    const so = docs.load(tx, "Sales Order", soName);
    if (cint(so.docstatus) !== 1) throw frappeThrow("ValidationError", `Sales Order ${so.name} must be submitted`);
    const items = ((so.items ?? []) as Doc[])
      .filter((r) => flt(r.amount) - flt(r.billed_amt) > 0.001)
      .map((r) => {
        const remaining = flt(r.amount) - flt(r.billed_amt);
        const qty = flt(r.rate) ? flt(remaining / flt(r.rate), 6) : flt(r.qty);
        return {
          doctype: "Sales Invoice Item",
          item_code: r.item_code,
          item_name: r.item_name,
          description: r.description,
          qty,
          uom: r.uom,
          conversion_factor: r.conversion_factor,
          rate: r.rate,
          price_list_rate: r.price_list_rate,
          discount_percentage: r.discount_percentage,
          warehouse: r.warehouse,
          sales_order: so.name,
          so_detail: r.name,
        };
      });
    return {
      doctype: "Sales Invoice",
      docstatus: 0,
      __islocal: 1,
      customer: so.customer,
      customer_name: so.customer_name,
      company: so.company,
      currency: so.currency,
      selling_price_list: so.selling_price_list,
      po_no: so.po_no,
      po_date: so.po_date,
      payment_terms_template: so.payment_terms_template,
      customer_address: so.customer_address,
      contact_person: so.contact_person,
      taxes: ((so.taxes ?? []) as Doc[]).map((t) => ({
        charge_type: t.charge_type,
        account_head: t.account_head,
        description: t.description,
        rate: t.rate,
        tax_amount: t.charge_type === "Actual" ? t.tax_amount : 0,
      })),
      items,
    };
  }

  function getPaymentEntry(tx: Tx, dt: string, dn: string, amount?: number): Doc {
    const ref = docs.load(tx, dt, dn);
    if (cint(ref.docstatus) !== 1) throw frappeThrow("ValidationError", `${dt} ${dn} must be submitted`);
    const outstanding = dt === "Sales Invoice" ? flt(ref.outstanding_amount) : flt(ref.grand_total) - flt(ref.advance_paid);
    if (outstanding <= 0) throw frappeThrow("ValidationError", "Can only make payment against unbilled Sales Order", { title: "Message" });
    const paid = amount === undefined ? outstanding : amount;
    return {
      doctype: "Payment Entry",
      docstatus: 0,
      __islocal: 1,
      payment_type: "Receive",
      company: ref.company,
      posting_date: clock.today(),
      party_type: "Customer",
      party: ref.customer,
      party_name: ref.customer_name,
      paid_from: ref.debit_to ?? settings.receivableAccount,
      paid_to: settings.cashAccount,
      paid_amount: paid,
      received_amount: paid,
      source_exchange_rate: 1,
      target_exchange_rate: 1,
      references: [
        {
          doctype: "Payment Entry Reference",
          reference_doctype: dt,
          reference_name: ref.name,
          due_date: ref.due_date ?? null,
          total_amount: flt(ref.rounded_total) || flt(ref.grand_total),
          outstanding_amount: outstanding,
          allocated_amount: Math.min(paid, outstanding),
        },
      ],
    };
  }

  function handleMethod(ctx: Ctx, httpMethod: string, cmd: string, form: Record<string, unknown>): HttpReply {
    const wrap = (v: unknown, extra: Record<string, unknown> = {}) =>
      new HttpReply(200, ctx.v2 ? { data: v ?? null, ...extra } : v === undefined ? extra : { message: v, ...extra });
    switch (cmd) {
      case "ping":
      case "frappe.ping":
        return wrap("pong");
      case "frappe.auth.get_logged_user":
        return wrap(ctx.user);
      case "login":
        return login(form);
      case "logout":
        return new HttpReply(200, {}, { "Set-Cookie": "sid=Guest; Path=/; HttpOnly" });
    }
    if (ctx.user === "Guest") {
      const dt = typeof form.doctype === "string" ? form.doctype : "this resource";
      requireUser(ctx, dt);
    }
    if (WRITE_METHODS.has(cmd) && httpMethod === "GET") {
      throw frappeThrow("PermissionError", "Not permitted", { exception: `${cmd} does not allow GET` });
    }
    const doctype = typeof form.doctype === "string" ? form.doctype : "";
    switch (cmd) {
      case "frappe.client.get_list":
      case "frappe.client.get_all": {
        const m = meta(doctype);
        return wrap(runList(db, clock.today(), m, listParams(form), { source: childSource(m, form) }));
      }
      case "frappe.client.get_count": {
        const m = meta(doctype);
        return wrap(countRows(db, clock.today(), m, form.filters, form.or_filters));
      }
      case "frappe.client.get": {
        meta(doctype);
        let d: Doc | undefined;
        if (form.name) d = db.get(doctype, String(form.name));
        else if (form.filters) {
          const rows = runList(db, clock.today(), meta(doctype), { filters: form.filters, limit_page_length: 1 }) as Doc[];
          d = rows[0] ? db.get(doctype, String(rows[0].name)) : undefined;
        }
        if (!d) throw frappeThrow("DoesNotExistError", `${doctype} ${String(form.name ?? "")} not found`);
        return wrap(asRead(db, doctype, d));
      }
      case "frappe.client.get_value": {
        const m = meta(doctype);
        let fields = parseJsonParam(form.fieldname);
        const single = typeof fields === "string";
        if (typeof fields === "string") fields = [fields];
        const filters = form.filters === undefined ? undefined : parseJsonParam(form.filters);
        const f = typeof filters === "string" ? { name: filters } : filters;
        const rows = runList(db, clock.today(), m, { fields: fields as string[], filters: f, limit_page_length: 1 }) as Doc[];
        if (!rows.length) return wrap(undefined);
        if (cint(form.as_dict ?? 1) || !single) return wrap(rows[0]);
        return wrap(rows[0]);
      }
      case "frappe.client.insert": {
        const body = parseDocArg(form.doc);
        const dt = String(body.doctype ?? "");
        meta(dt);
        if (db.meta(dt)?.readOnlyApi) throw permissionError(dt, "create");
        const { result, tx } = inTx(ctx.user, (t) => docs.insert(t, dt, body));
        return wrap(asRead(db, dt, result), successMessages(tx));
      }
      case "frappe.client.insert_many": {
        const list = parseJsonParam(form.docs);
        if (!Array.isArray(list)) throw frappeThrow("ValidationError", "docs must be a list");
        if (list.length > 200) throw frappeThrow("ValidationError", "Only 200 inserts allowed in one request");
        const { result } = inTx(ctx.user, (t) =>
          (list as Doc[]).map((body) => {
            const dt = String(body.doctype ?? "");
            meta(dt);
            return String(docs.insert(t, dt, body).name);
          }),
        );
        return wrap(result);
      }
      case "frappe.client.save": {
        const body = parseDocArg(form.doc);
        const dt = String(body.doctype ?? "");
        const { result } = inTx(ctx.user, (t) => docs.update(t, dt, String(body.name ?? ""), body, { fullDoc: true }));
        return wrap(asRead(db, dt, result));
      }
      case "frappe.client.set_value": {
        let values = parseJsonParam(form.fieldname);
        if (typeof values === "string") values = { [values]: form.value };
        const v = values as Doc;
        for (const k of Object.keys(v)) {
          if (
            [
              "name",
              "owner",
              "creation",
              "modified",
              "modified_by",
              "docstatus",
              "idx",
              "doctype",
              "parent",
              "parentfield",
              "parenttype",
            ].includes(k)
          ) {
            throw frappeThrow("ValidationError", "Cannot edit standard fields");
          }
        }
        const { result } = inTx(ctx.user, (t) => docs.update(t, doctype, String(form.name ?? ""), v));
        return wrap(asRead(db, doctype, result));
      }
      case "frappe.client.submit": {
        // the dict is the full document and must carry the current `modified`
        const body = parseDocArg(form.doc);
        const dt = String(body.doctype ?? "");
        const { result } = inTx(ctx.user, (t) => {
          const stored = docs.load(t, dt, String(body.name ?? ""));
          docs.checkIfLatest(stored, body.modified, true);
          if (cint(stored.docstatus) === 0) docs.update(t, dt, String(stored.name), { ...body, docstatus: 0 }, { fullDoc: true });
          return docs.submit(t, dt, String(stored.name));
        });
        return wrap(asRead(db, dt, result));
      }
      case "frappe.client.cancel": {
        const { result } = inTx(ctx.user, (t) => docs.cancel(t, doctype, String(form.name ?? "")));
        return wrap(asRead(db, doctype, result));
      }
      case "frappe.client.delete": {
        inTx(ctx.user, (t) => docs.delete(t, doctype, String(form.name ?? "")));
        return wrap(undefined);
      }
      case "frappe.client.rename_doc": {
        const { result } = inTx(ctx.user, (t) =>
          docs.rename(
            t,
            doctype,
            String(form.old_name ?? ""),
            String(form.new_name ?? ""),
            cint(parseJsonParam(form.merge) === true ? 1 : form.merge) === 1,
          ),
        );
        return wrap(result);
      }
      case "frappe.model.rename_doc.update_document_title": {
        const docname = String(form.docname ?? "");
        const newName = form.name === undefined || form.name === null ? docname : String(form.name);
        const merge = cint(parseJsonParam(form.merge) === true ? 1 : form.merge) === 1;
        const { result } = inTx(ctx.user, (t) => {
          let current = docname;
          if (form.title !== undefined && form.title !== null) {
            const m = meta(doctype);
            if (m.title_field) docs.update(t, doctype, docname, { [m.title_field]: form.title });
          }
          if (newName && newName !== docname) current = docs.rename(t, doctype, docname, newName, merge);
          return current;
        });
        return wrap(result);
      }
      case "frappe.client.bulk_update": {
        const list = parseJsonParam(form.docs);
        if (!Array.isArray(list)) throw frappeThrow("ValidationError", "docs must be a list");
        if (list.length > 500) throw frappeThrow("ValidationError", "You can only update upto 500 documents at a time");
        const failed: Doc[] = [];
        for (const item of list as Doc[]) {
          const d = { ...item };
          const dt = String(d.doctype ?? "");
          const dn = String(d.docname ?? "");
          delete d.doctype;
          delete d.docname;
          try {
            inTx(ctx.user, (t) => docs.update(t, dt, dn, d));
          } catch (e) {
            failed.push({ doc: item, exc: e instanceof FrappeError ? e.exceptionText : String(e) });
          }
        }
        return wrap({ failed_docs: failed });
      }
      case "run_doc_method": {
        // desk RPC: docs = the document (JSON), method = whitelisted doc method
        const d = parseJsonParam(form.docs ?? form.doc) as Doc | undefined;
        const dt = String(d?.doctype ?? "");
        requireUser(ctx, dt || "DocType");
        const out = runDocMethod(ctx, dt, String(d?.name ?? ""), String(form.method ?? ""), httpMethod);
        return new HttpReply(200, { docs: [out] });
      }
      case "frappe.desk.form.load.getdoctype": {
        const m = meta(doctype);
        const out = [metaAsDoc(m, { includeCustom: true })];
        for (const tf of m.tableFields) {
          const cm = db.meta(String(tf.options));
          if (cm) out.push(metaAsDoc(cm, { includeCustom: true }));
        }
        return new HttpReply(200, { docs: out, user_settings: "{}" });
      }
      case "erpnext.selling.doctype.sales_order.sales_order.make_sales_invoice": {
        const tx = new Tx(db, ctx.user);
        return wrap(makeSalesInvoice(tx, String(form.source_name ?? "")));
      }
      case "erpnext.accounts.doctype.payment_entry.payment_entry.get_payment_entry": {
        const tx = new Tx(db, ctx.user);
        const amt = form.party_amount === undefined ? undefined : flt(form.party_amount);
        return wrap(getPaymentEntry(tx, String(form.dt ?? ""), String(form.dn ?? ""), amt));
      }
      case "erpnext.selling.doctype.sales_order.sales_order.update_status": {
        const status = String(form.status ?? "");
        const { result } = inTx(ctx.user, (t) => {
          const stored = docs.load(t, "Sales Order", String(form.name ?? ""));
          if (cint(stored.docstatus) !== 1) throw frappeThrow("ValidationError", "Only submitted orders can be updated");
          const so = cloneDoc(stored);
          so.status = ["Closed", "On Hold"].includes(status) ? status : salesOrderStatus({ ...so, status: "" });
          docs.touch(meta("Sales Order"), so, t);
          t.put("Sales Order", so);
          t.event("Sales Order", String(so.name), "on_change");
          return so;
        });
        return wrap(asRead(db, "Sales Order", result));
      }
    }
    throw frappeThrow("DoesNotExistError", `Failed to get method for command ${cmd}`, {
      exception: `Failed to get method for command ${cmd}`,
    });
  }

  function login(form: Record<string, unknown>): HttpReply {
    const usr = String(form.usr ?? "");
    const pwd = String(form.pwd ?? "");
    if (!usr || !pwd) return new HttpReply(401, { message: "Incomplete login details", exc_type: "AuthenticationError" });
    const expected = passwords.get(usr);
    if (expected === undefined || expected !== pwd) {
      return new HttpReply(401, { message: "Invalid login credentials", exc_type: "AuthenticationError" });
    }
    const sid = randomHash(56);
    sessions.set(sid, usr);
    const u = db.get("User", usr);
    const full = String(u?.full_name ?? usr);
    return new HttpReply(
      200,
      { message: "Logged In", home_page: "/app", full_name: full },
      { "Set-Cookie": `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` },
    );
  }

  // ----------------------------------------------------------------------------- control API

  async function handleControl(method: string, path: string, url: URL, _form: Record<string, unknown>, json: unknown): Promise<HttpReply> {
    const body = (json && typeof json === "object" ? json : {}) as Record<string, unknown>;
    const route = `${method} ${path}`;
    switch (route) {
      case "GET /__sandbox/health":
        return new HttpReply(200, { ok: true, site: "erpnext-sandbox", timezone, now: clock.now(), pendingWebhooks: dispatcher.pending() });
      case "POST /__sandbox/seed": {
        const data = (body.data && typeof body.data === "object" ? body.data : body) as Record<string, Doc[]>;
        return new HttpReply(200, { names: seed(data, apiUser, Boolean(body.validateLinks)) });
      }
      case "POST /__sandbox/reset": {
        dispatcher.log.length = 0;
        reset(body.seedMasterData !== false);
        return new HttpReply(200, { ok: true });
      }
      case "GET /__sandbox/dump": {
        const dt = url.searchParams.get("doctype");
        if (dt) {
          meta(dt);
          return new HttpReply(200, { doctype: dt, data: [...db.all(dt)].map((d) => asRead(db, dt, d)) });
        }
        const counts: Record<string, number> = {};
        for (const [k, t] of db.tables) if (t.size) counts[k] = t.size;
        return new HttpReply(200, { counts, counters: Object.fromEntries(db.counters) });
      }
      case "GET /__sandbox/faults":
        return new HttpReply(200, faults.stats());
      case "POST /__sandbox/faults": {
        try {
          faults.configure(parseFaultConfig(json ?? null));
        } catch (e) {
          if (e instanceof FaultConfigError) return new HttpReply(400, { error: e.message });
          throw e;
        }
        return new HttpReply(200, faults.stats());
      }
      case "POST /__sandbox/clock": {
        if (body.offsetMs !== undefined) clock.offsetMs = Number(body.offsetMs) || 0;
        if (body.advanceMs !== undefined) clock.offsetMs += Number(body.advanceMs) || 0;
        const changed = runDailyJobs();
        return new HttpReply(200, { offsetMs: clock.offsetMs, now: clock.now(), today: clock.today(), statusChanges: changed });
      }
      case "POST /__sandbox/webhooks/flush":
        await dispatcher.flush();
        return new HttpReply(200, { deliveries: dispatcher.log });
      case "GET /__sandbox/webhooks":
        return new HttpReply(200, { pending: dispatcher.pending(), deliveries: dispatcher.log });
      case "POST /__sandbox/webhooks/clear":
        dispatcher.log.length = 0;
        return new HttpReply(200, { ok: true });
      case "POST /__sandbox/events":
        return new HttpReply(200, businessEvent(body));
      case "POST /__sandbox/edit": {
        const user = String(body.user ?? "jane.doe@example.com");
        const dt = String(body.doctype ?? "");
        const dn = String(body.name ?? "");
        const values = (body.values ?? {}) as Doc;
        meta(dt);
        const { result } = inTx(user, (t) => docs.update(t, dt, dn, values));
        return new HttpReply(200, { data: noNulls(result) });
      }
      case "POST /__sandbox/users": {
        const email = String(body.email ?? "");
        if (!email) return new HttpReply(400, { error: "email is required" });
        const key = String(body.apiKey ?? randomHash(15));
        const secret = String(body.apiSecret ?? randomHash(15));
        credentials.set(key, { user: email, secret });
        if (body.password) passwords.set(email, String(body.password));
        if (!db.get("User", email))
          seed(
            { User: [{ name: email, email, first_name: email.split("@")[0], full_name: email.split("@")[0], enabled: 1 }] },
            "Administrator",
          );
        return new HttpReply(200, { user: email, apiKey: key, apiSecret: secret });
      }
      case "POST /__sandbox/upgrade":
        return new HttpReply(200, upgrade(body));
      case "POST /__sandbox/rate-limit": {
        const limit = Number(body.limit);
        site.rateLimit = limit > 0 ? { limit, windowSec: Number(body.windowSec) > 0 ? Number(body.windowSec) : 60 } : null;
        site.windowStart = 0;
        site.used = 0;
        return new HttpReply(200, { rateLimit: site.rateLimit });
      }
      case "POST /__sandbox/maintenance":
        site.maintenance = Boolean(body.on ?? body.enabled ?? true);
        return new HttpReply(200, { maintenance: site.maintenance });
      case "GET /__sandbox/stats":
        return new HttpReply(200, { requests: stats.requests, byRoute: Object.fromEntries(stats.byRoute) });
    }
    return new HttpReply(404, { error: `unknown control endpoint ${route}; see src/sandbox/erpnext/README.md` });
  }

  /** The scheduler's daily job: invoices past due become Overdue (db_set → on_change). */
  function runDailyJobs(): number {
    const today = clock.today();
    let n = 0;
    inTx("Administrator", (tx) => {
      for (const inv of [...tx.all("Sales Invoice")]) {
        if (cint(inv.docstatus) !== 1) continue;
        const st = salesInvoiceStatus(inv, today, tx);
        if (st !== inv.status) {
          const upd = cloneDoc(inv);
          upd.status = st;
          upd.modified = clock.now();
          upd.modified_by = "Administrator";
          tx.put("Sales Invoice", upd);
          tx.event("Sales Invoice", String(upd.name), "on_change");
          n++;
        }
      }
    });
    return n;
  }

  function businessEvent(body: Record<string, unknown>): Record<string, unknown> {
    const user = String(body.user ?? "jane.doe@example.com");
    switch (body.kind) {
      case "invoice-paid": {
        const { result } = inTx(user, (tx) => {
          const pe = getPaymentEntry(
            tx,
            "Sales Invoice",
            String(body.invoice ?? ""),
            body.amount === undefined ? undefined : flt(body.amount),
          );
          if (body.mode_of_payment) pe.mode_of_payment = body.mode_of_payment;
          const saved = docs.insert(tx, "Payment Entry", pe);
          return docs.submit(tx, "Payment Entry", String(saved.name));
        });
        const inv = db.get("Sales Invoice", String(body.invoice));
        return { payment_entry: result.name, invoice: inv ? noNulls(asRead(db, "Sales Invoice", inv)) : null };
      }
      case "stock-moved": {
        const qty = flt(body.qty);
        if (!qty) throw frappeThrow("ValidationError", "qty must not be 0");
        const warehouse = String(body.warehouse ?? settings.defaultWarehouse);
        const { result } = inTx(user, (tx) => {
          const se = docs.insert(tx, "Stock Entry", {
            stock_entry_type: qty > 0 ? "Material Receipt" : "Material Issue",
            items: [{ item_code: body.item, qty: Math.abs(qty), ...(qty > 0 ? { t_warehouse: warehouse } : { s_warehouse: warehouse }) }],
          });
          return docs.submit(tx, "Stock Entry", String(se.name));
        });
        const bin = [...db.all("Bin")].find((b) => b.item_code === body.item && b.warehouse === warehouse);
        return { stock_entry: result.name, bin: bin ? noNulls(asRead(db, "Bin", bin)) : null };
      }
      case "price-changed": {
        const priceList = String(body.price_list ?? settings.sellingPriceList);
        const { result } = inTx(user, (tx) => {
          const existing = [...tx.all("Item Price")].find((p) => p.item_code === body.item && p.price_list === priceList && !p.customer);
          if (existing) return docs.update(tx, "Item Price", String(existing.name), { price_list_rate: flt(body.rate) });
          return docs.insert(tx, "Item Price", { item_code: body.item, price_list: priceList, price_list_rate: flt(body.rate) });
        });
        return { item_price: noNulls(asRead(db, "Item Price", result)) };
      }
      case "order-delivered": {
        // a warehouse person delivers a submitted Sales Order completely (what a Delivery Note does)
        const { result } = inTx(user, (tx) => {
          const stored = docs.load(tx, "Sales Order", String(body.order ?? ""));
          if (cint(stored.docstatus) !== 1) throw frappeThrow("ValidationError", `Sales Order ${stored.name} must be submitted`);
          const so = cloneDoc(stored);
          for (const r of (so.items ?? []) as Doc[]) {
            const remaining = flt(r.qty) - flt(r.delivered_qty);
            if (remaining <= 0) continue;
            const item = tx.get("Item", String(r.item_code));
            if (item && cint(item.is_stock_item) && r.warehouse) {
              const bin = getBin(tx, env, String(r.item_code), String(r.warehouse));
              const stockQty = remaining * (flt(r.conversion_factor) || 1);
              if (flt(bin.actual_qty) < stockQty) {
                throw frappeThrow(
                  "NegativeStockError",
                  `${flt(stockQty - flt(bin.actual_qty), 6)} units of Item ${bold(r.item_code)} needed in Warehouse ${bold(r.warehouse)} to complete this transaction.`,
                  { title: "Insufficient Stock" },
                );
              }
              bin.actual_qty = flt(flt(bin.actual_qty) - stockQty, 6);
              bin.reserved_qty = flt(Math.max(0, flt(bin.reserved_qty) - stockQty), 6);
              saveBin(tx, env, bin);
            }
            r.delivered_qty = flt(r.qty);
          }
          so.per_delivered = 100;
          so.delivery_status = "Fully Delivered";
          so.status = salesOrderStatus(so);
          so.modified = clock.now();
          so.modified_by = tx.user;
          tx.put("Sales Order", so);
          tx.event("Sales Order", String(so.name), "on_change");
          return so;
        });
        return { sales_order: noNulls(asRead(db, "Sales Order", result)) };
      }
      case "bin-adjusted": {
        // direct Bin change without a voucher (e.g. ordered_qty from a purchase order)
        const { result } = inTx(user, (tx) => {
          const bin = getBin(tx, env, String(body.item), String(body.warehouse ?? settings.defaultWarehouse));
          for (const f of ["actual_qty", "ordered_qty", "indented_qty", "planned_qty"]) if (body[f] !== undefined) bin[f] = flt(body[f]);
          saveBin(tx, env, bin);
          return bin;
        });
        return { bin: noNulls(result) };
      }
    }
    throw frappeThrow(
      "ValidationError",
      `unknown event kind ${String(body.kind)}; expected invoice-paid, stock-moved, price-changed, order-delivered, bin-adjusted`,
    );
  }

  /** Schema drift as an ERPNext upgrade or an administrator would cause it: metadata AND data. */
  function upgrade(body: Record<string, unknown>): Record<string, unknown> {
    const dt = String(body.doctype ?? "");
    const m = meta(dt);
    const now = clock.now();
    const eachRow = (fn: (row: Doc) => void) => {
      if (m.istable) {
        for (const parentMeta of db.metas.values()) {
          const tfs = parentMeta.tableFields.filter((f) => f.options === dt);
          if (!tfs.length) continue;
          for (const d of db.all(parentMeta.name)) for (const tf of tfs) for (const r of (d[tf.fieldname] ?? []) as Doc[]) fn(r);
          db.bump(parentMeta.name);
        }
      } else for (const d of db.all(dt)) fn(d);
      db.bump(dt);
    };
    const field = (name: unknown) => {
      const f = m.fieldMap.get(String(name));
      if (!f) throw frappeThrow("ValidationError", `Field ${String(name)} not found in ${dt}`);
      return f;
    };
    const changes: string[] = [];
    if (body.renameField) {
      const { from, to } = body.renameField as { from: string; to: string };
      const f = field(from);
      if (m.fieldMap.has(to)) throw frappeThrow("ValidationError", `Field ${to} already exists in ${dt}`);
      f.fieldname = to;
      db.rowJson = new WeakMap();
      db.queryCache.clear();
      eachRow((r) => {
        r[to] = r[from] ?? null;
        delete r[from];
      });
      changes.push(`renamed ${from} → ${to}`);
    }
    if (body.removeField) {
      const name = String(body.removeField);
      field(name);
      m.fields = m.fields.filter((x) => x.fieldname !== name);
      eachRow((r) => {
        delete r[name];
      });
      changes.push(`removed ${name}`);
    }
    if (body.addRequiredField || body.addField) {
      const spec = (body.addRequiredField ?? body.addField) as {
        fieldname: string;
        fieldtype?: string;
        label?: string;
        options?: string;
        default?: string;
        reqd?: boolean;
      };
      if (m.fieldMap.has(spec.fieldname)) throw frappeThrow("ValidationError", `Field ${spec.fieldname} already exists in ${dt}`);
      const reqd = body.addRequiredField ? spec.reqd !== false : Boolean(spec.reqd);
      const f = makeField([spec.fieldname, spec.fieldtype ?? "Data", spec.options ?? null, reqd ? "r" : "", spec.default ?? null]);
      if (spec.label) f.label = spec.label;
      m.fields.push(f);
      const fill = spec.default === undefined ? (FLOAT_TYPES.has(f.fieldtype) || INT_TYPES.has(f.fieldtype) ? 0 : null) : spec.default;
      eachRow((r) => {
        if (!(spec.fieldname in r)) r[spec.fieldname] = fill;
      });
      changes.push(`added ${reqd ? "required " : ""}${spec.fieldname}`);
    }
    if (body.changeType) {
      const { fieldname, fieldtype, options } = body.changeType as { fieldname: string; fieldtype: string; options?: string };
      const f = field(fieldname);
      f.fieldtype = fieldtype;
      if (options !== undefined) f.options = options;
      eachRow((r) => {
        const v = r[fieldname];
        if (FLOAT_TYPES.has(fieldtype)) r[fieldname] = flt(v);
        else if (INT_TYPES.has(fieldtype)) r[fieldname] = cint(v);
        else if (fieldtype === "Date") r[fieldname] = v === null || v === undefined ? null : canonicalDate(String(v));
        else if (!TABLE_TYPES.has(fieldtype)) r[fieldname] = v === null || v === undefined ? null : String(v);
      });
      changes.push(`changed type of ${fieldname} to ${fieldtype}`);
    }
    if (body.setOptions) {
      const { fieldname, options, mapValues } = body.setOptions as {
        fieldname: string;
        options: string | string[];
        mapValues?: Record<string, string>;
      };
      const f = field(fieldname);
      f.options = Array.isArray(options) ? options.join("\n") : options;
      if (mapValues) {
        eachRow((r) => {
          const v = r[fieldname];
          if (typeof v === "string" && v in mapValues) r[fieldname] = mapValues[v];
        });
      }
      changes.push(`set options of ${fieldname}`);
    }
    if (body.setReqd) {
      const { fieldname, reqd } = body.setReqd as { fieldname: string; reqd: boolean };
      field(fieldname).reqd = reqd ? 1 : 0;
      changes.push(`set reqd of ${fieldname} to ${reqd ? 1 : 0}`);
    }
    if (!changes.length)
      throw frappeThrow(
        "ValidationError",
        "upgrade: nothing to do (renameField, removeField, addRequiredField, addField, changeType, setOptions, setReqd)",
      );
    indexMeta(m);
    m.modified = now;
    db.rowJson = new WeakMap();
    db.queryCache.clear();
    db.sortCache.clear();
    scheduleSave();
    return { doctype: dt, changes, meta: metaAsDoc(m, { includeCustom: true }) };
  }

  // --------------------------------------------------------------------------------- dispatch

  function authenticate(req: IncomingMessage): { user: string } | FrappeError {
    const header = req.headers.authorization;
    if (header) {
      const parts = header.split(" ");
      if (parts.length === 2) {
        const scheme = parts[0].toLowerCase();
        let pair: string | null = null;
        if (scheme === "token") pair = parts[1];
        else if (scheme === "basic") {
          const b64 = parts[1];
          if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
            return new FrappeError("InvalidAuthorizationToken", { exception: "Invalid Authorization Token" });
          }
          pair = Buffer.from(b64, "base64").toString("utf8");
        }
        if (pair !== null) {
          const i = pair.indexOf(":");
          const key = i >= 0 ? pair.slice(0, i) : pair;
          const secret = i >= 0 ? pair.slice(i + 1) : "";
          const cred = credentials.get(key);
          if (cred && cred.secret === secret) return { user: cred.user };
        }
        return new FrappeError("AuthenticationError", {});
      }
    }
    const cookie = req.headers.cookie ?? "";
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(cookie)?.[1];
    if (sid && sessions.has(sid)) return { user: sessions.get(sid) as string };
    return { user: "Guest" };
  }

  async function route(req: IncomingMessage, url: URL, raw: Buffer): Promise<HttpReply> {
    const method = (req.method ?? "GET").toUpperCase();
    let path = url.pathname.replace(/\/+$/, "") || "/";
    const { form, json, text } = formDict(url, String(req.headers["content-type"] ?? ""), raw);
    if (path.startsWith("/__sandbox/")) return handleControl(method, path, url, form, json);

    const isV2 = path.startsWith("/api/v2/");
    if (path.startsWith("/api/v1/")) path = `/api/${path.slice(8)}`;
    const auth = authenticate(req);
    if (auth instanceof FrappeError) throw auth;
    const ctx: Ctx = { user: auth.user, traceback: auth.user !== "Guest", v2: isV2 };
    const seg = path.split("/").slice(1).map(decodeURIComponent);
    // seg[0] = "api"
    if (!isV2 && seg[1] === "resource" && seg.length >= 3) return handleResource(ctx, method, seg.slice(2), form, json, text);
    if (!isV2 && seg[1] === "method" && seg.length >= 3) return handleMethod(ctx, method, seg.slice(2).join("/"), form);
    if (isV2) {
      if (seg[2] === "document" && seg.length >= 4) {
        if (seg.length >= 6 && seg[seg.length - 2] === "method") {
          requireUser(ctx, seg[3]);
          const name = seg.slice(4, -2).join("/");
          return new HttpReply(200, { data: runDocMethod(ctx, seg[3], name, seg[seg.length - 1], method) });
        }
        if (seg.length >= 6 && seg[seg.length - 1] === "copy") {
          requireUser(ctx, seg[3]);
          const d = db.get(seg[3], seg.slice(4, -1).join("/"));
          if (!d) throw frappeThrow("DoesNotExistError", `${seg[3]} ${seg.slice(4, -1).join("/")} not found`);
          const copy = asRead(db, seg[3], d);
          for (const k of ["name", "owner", "creation", "modified", "modified_by", "amended_from"]) delete copy[k];
          copy.docstatus = 0;
          return new HttpReply(200, { data: copy });
        }
        return handleResource(ctx, method, seg.slice(3), form, json, text);
      }
      if (seg[2] === "doctype" && seg.length === 5) {
        requireUser(ctx, seg[3]);
        const m = meta(seg[3]);
        if (seg[4] === "meta") return new HttpReply(200, { data: metaAsDoc(m, { includeCustom: true }) });
        if (seg[4] === "count") return new HttpReply(200, { data: countRows(db, clock.today(), m, form.filters) });
      }
      if (seg[2] === "method" && seg.length >= 4) {
        if (seg[3] === "run_doc_method") {
          const d = parseJsonParam(form.document ?? form.docs) as Doc | undefined;
          requireUser(ctx, String(d?.doctype ?? ""));
          return new HttpReply(200, {
            data: runDocMethod(ctx, String(d?.doctype ?? ""), String(d?.name ?? ""), String(form.method ?? ""), method),
          });
        }
        return handleMethod(ctx, method, seg.slice(3).join("/"), form);
      }
    }
    if (path === "/api/resource" || path === "/api/resource/") {
      requireUser(ctx, "DocType");
      return new HttpReply(200, { data: [...db.metas.values()].filter((m) => !m.istable).map((m) => ({ name: m.name })) });
    }
    throw frappeThrow("DoesNotExistError", "Not Found", { exception: `Page ${path} not found` });
  }

  // DocType records via the resource API (raw definitions without custom fields)
  const docTypeController = {
    get(name: string): Doc | undefined {
      const m = db.meta(name);
      return m ? metaAsDoc(m, { includeCustom: false }) : undefined;
    },
  };

  function send(res: ServerResponse, reply: HttpReply): void {
    const payload = Buffer.from(JSON.stringify(reply.body));
    res.writeHead(reply.status, { ...JSON_HEADERS, "Content-Length": payload.length, ...reply.headers });
    res.end(payload);
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const isControl = url.pathname.startsWith("/__sandbox");
    let fault = null;
    if (!isControl) {
      fault = faults.decide(req);
      if (fault && fault.kind !== "truncate" && (await faults.apply(fault, req, res))) return;
    }
    let reply: HttpReply;
    let v2 = url.pathname.startsWith("/api/v2/");
    let traceback = true;
    if (!isControl && site.maintenance) {
      send(
        res,
        new HttpReply(503, {
          exc_type: "SessionStopped",
          _server_messages: encodeServerMessages([{ message: "Session Stopped", title: "Message", indicator: "red", raise_exception: 1 }]),
        }),
      );
      return;
    }
    if (!isControl && site.rateLimit) {
      // frappe.rate_limiter: a budget per site per window; over it → 429 TooManyRequestsError
      const nowS = Math.floor(clock.nowMs() / 1000);
      const win = site.rateLimit.windowSec;
      if (nowS - site.windowStart >= win) {
        site.windowStart = nowS - (nowS % win);
        site.used = 0;
      }
      const reset = site.windowStart + win - nowS;
      if (site.used >= site.rateLimit.limit) {
        send(
          res,
          new HttpReply(
            429,
            {
              exc_type: "TooManyRequestsError",
              _server_messages: encodeServerMessages([
                {
                  message: "You hit the rate limit because of too many requests. Please try after sometime.",
                  title: "Message",
                  indicator: "red",
                  raise_exception: 1,
                },
              ]),
            },
            {
              "X-RateLimit-Limit": String(site.rateLimit.limit),
              "X-RateLimit-Remaining": "0",
              "X-RateLimit-Reset": String(reset),
              "Retry-After": String(reset),
            },
          ),
        );
        return;
      }
      site.used++;
      res.setHeader("X-RateLimit-Used", String(site.used));
    }
    try {
      const raw = await readBody(req);
      // DocType resource: read-only definitions
      const m = /^\/api\/(?:v1\/)?resource\/DocType(?:\/(.+))?$/.exec(url.pathname.replace(/\/+$/, ""));
      if (m && (req.method ?? "GET") === "GET") {
        const auth = authenticate(req);
        if (auth instanceof FrappeError) throw auth;
        if (auth.user === "Guest") {
          traceback = false;
          throw permissionError("DocType", "read");
        }
        if (m[1]) {
          const d = docTypeController.get(decodeURIComponent(m[1]));
          if (!d) throw frappeThrow("DoesNotExistError", `DocType ${decodeURIComponent(m[1])} not found`);
          reply = new HttpReply(200, { data: noNulls(d) });
        } else {
          reply = new HttpReply(200, {
            data: [...db.metas.keys()]
              .slice(0, cint(url.searchParams.get("limit_page_length") ?? 20) || undefined)
              .map((name) => ({ name })),
          });
        }
      } else {
        const auth = req.headers.authorization || req.headers.cookie ? authenticate(req) : { user: "Guest" };
        traceback = !(auth instanceof FrappeError) && auth.user !== "Guest";
        reply = await route(req, url, raw);
      }
      const key = `${req.method} ${url.pathname.split("/").slice(0, 4).join("/")}`;
      stats.byRoute.set(key, (stats.byRoute.get(key) ?? 0) + 1);
    } catch (e) {
      let err: FrappeError;
      if (e instanceof FrappeError) err = e;
      else {
        err = new FrappeError((e as Error)?.name === "SyntaxError" ? "JSONDecodeError" : "Exception", {
          status: 500,
          exception: String((e as Error)?.message ?? e),
        });
      }
      if (err.excType === "AuthenticationError") {
        reply = new HttpReply(
          401,
          { exc_type: "AuthenticationError" },
          { "Set-Cookie": "sid=Guest; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT" },
        );
      } else {
        if (url.pathname.startsWith("/__sandbox")) v2 = false;
        reply = new HttpReply(err.status, v2 ? v2ErrorBody(err, traceback) : v1ErrorBody(err, traceback));
      }
    }
    const payload = Buffer.from(reply.body instanceof RawJson ? reply.body.text : JSON.stringify(reply.body));
    if (fault && fault.kind === "truncate") {
      await faults.apply(fault, req, res, payload);
      return;
    }
    res.writeHead(reply.status, { ...JSON_HEADERS, "Content-Length": payload.length, ...reply.headers });
    res.end(payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = opts.host ?? "127.0.0.1";

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`,
    apiKey,
    apiSecret,
    user: apiUser,
    password,
    timezone,
    db,
    clock,
    settings,
    webhooks: { log: dispatcher.log, flush: () => dispatcher.flush() },
    faults,
    seed: (data) => seed(data),
    async close() {
      dispatcher.close();
      if (saveTimer) {
        clearTimeout(saveTimer);
        saveTimer = null;
      }
      saveState();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
