/**
 * Outbound webhooks as Frappe sends them (reference §5): after commit, once per (webhook, doc) per
 * transaction with the last state, body = Python `json.dumps` text (`", "`/`": "` separators,
 * ASCII escapes) in both request structures, no Content-Type unless configured, header
 * `X-Frappe-Webhook-Signature` = base64(HMAC-SHA256(secret, body)), up to 3 attempts with sleeps
 * of 1 s and 4 s after failures (immediate retry after a timeout), a Webhook Request Log per attempt.
 */
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Doc, ErpDb } from "./db.ts";
import { frappeThrow } from "./frappe-errors.ts";
import { FLOAT_TYPES } from "./meta.ts";
import type { DocEvent } from "./tx.ts";
import { cint, pyDatetimeStr, PyFloat, pyJsonDumps, randomHash, type SiteClock } from "./util.ts";

export const WEBHOOK_EVENTS = new Set([
  "after_insert",
  "on_update",
  "on_submit",
  "on_cancel",
  "on_trash",
  "on_change",
  "workflow_transition",
]);

export interface WebhookDelivery {
  webhook: string;
  doctype: string;
  name: string;
  event: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  attempts: number;
  status: number | null;
  ok: boolean;
  error: string | null;
  sentAt: string[];
}

// ------------------------------------------------------------------ Python-condition evaluation

const TOKEN =
  /\s*(?:(doc(?:\.[A-Za-z_][A-Za-z0-9_]*)+)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|(==|!=|<=|>=|<|>|\(|\)|\[|\]|,)|(and|or|not|in|True|False|None)\b)/y;

/** Translate a restricted Python condition (`doc.status == "Open" and doc.grand_total > 100`) to a predicate. */
export function compileCondition(expr: string): (doc: Doc) => boolean {
  const src = expr.trim();
  if (!src) return () => true;
  let js = "";
  let pos = 0;
  while (pos < src.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m) {
      if (/^\s+$/.test(src.slice(pos))) break;
      throw frappeThrow(
        "ValidationError",
        `Invalid Condition: unsupported expression near "${src.slice(pos, pos + 20)}" (the sandbox evaluates comparisons of doc fields joined by and/or/not)`,
      );
    }
    pos = TOKEN.lastIndex;
    if (m[1]) js += `__get(${JSON.stringify(m[1].split(".").slice(1))})`;
    else if (m[2]) js += JSON.stringify(m[2].slice(1, -1));
    else if (m[3]) js += m[3];
    else if (m[4]) js += m[4] === "==" ? "===" : m[4] === "!=" ? "!==" : m[4];
    else if (m[5]) js += { and: "&&", or: "||", not: "!", in: " in ", True: "true", False: "false", None: "null" }[m[5]];
  }
  // `x in [a, b]` → [a, b].includes(x) is not expressible by token mapping; support `in` only on lists
  if (js.includes(" in ")) js = js.replace(/(__get\([^)]*\)|"[^"]*"|-?\d+(?:\.\d+)?)\s+in\s+(\[[^\]]*\])/g, "$2.includes($1)");
  const fn = new Function("__get", `return (${js});`) as (g: (p: string[]) => unknown) => unknown;
  return (doc) => {
    try {
      return Boolean(
        fn((path) => {
          let cur: unknown = doc;
          for (const p of path) cur = cur && typeof cur === "object" ? ((cur as Doc)[p] ?? null) : null;
          return cur;
        }),
      );
    } catch {
      return false;
    }
  };
}

// ------------------------------------------------------------------------------ payload building

/** The doc as Jinja / `doc.get` sees it: datetimes as str(), floats as Python floats. */
function pyValues(db: ErpDb, doctype: string, doc: Doc): Doc {
  const meta = db.meta(doctype);
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    const df = meta?.fieldMap.get(k);
    if (Array.isArray(v)) {
      out[k] = v.map((r) => pyValues(db, String(df?.options ?? ""), r as Doc));
    } else if ((k === "creation" || k === "modified" || df?.fieldtype === "Datetime") && typeof v === "string") {
      out[k] = pyDatetimeStr(v);
    } else if (df && FLOAT_TYPES.has(df.fieldtype) && typeof v === "number") {
      out[k] = new PyFloat(v);
    } else out[k] = v;
  }
  return out;
}

function jinjaStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v instanceof PyFloat) return pyJsonDumps(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "object") return pyJsonDumps(v);
  return String(v);
}

/** Minimal Jinja: `{{ doc.field }}`, `{{ doc.field | tojson }}`, `{{ doc | tojson }}`, `{{ frappe.as_json(doc) }}`. */
export function renderTemplate(tpl: string, doc: Doc): string {
  return tpl.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, exprRaw: string) => {
    let expr = exprRaw.trim();
    let tojson = false;
    const asJson = /^frappe\.as_json\((.*)\)$/.exec(expr);
    if (asJson) {
      expr = asJson[1].trim();
      tojson = true;
    }
    const pipe = expr.split("|").map((s) => s.trim());
    expr = pipe[0];
    if (pipe.slice(1).some((f) => f === "tojson" || f === "json")) tojson = true;
    const path = expr.split(".");
    if (path[0] !== "doc") return "";
    let cur: unknown = doc;
    for (const p of path.slice(1)) cur = cur && typeof cur === "object" ? ((cur as Doc)[p] ?? null) : null;
    return tojson ? pyJsonDumps(cur) : jinjaStr(cur);
  });
}

function parsePreservingFloats(text: string): unknown {
  return JSON.parse(text, function (this: unknown, _k: string, v: unknown, ctx?: { source?: string }) {
    if (typeof v === "number" && ctx?.source && /[.eE]/.test(ctx.source)) return new PyFloat(v);
    return v;
  } as (this: unknown, k: string, v: unknown) => unknown);
}

export function webhookBody(db: ErpDb, hook: Doc, doctype: string, doc: Doc): string {
  const values = pyValues(db, doctype, doc);
  if (hook.request_structure === "JSON") {
    const tpl = typeof hook.webhook_json === "string" ? hook.webhook_json : "";
    if (!tpl.trim()) return "{}";
    return pyJsonDumps(parsePreservingFloats(renderTemplate(tpl, values)));
  }
  const data: Doc = {};
  for (const row of (hook.webhook_data ?? []) as Doc[]) {
    data[String(row.key)] = values[String(row.fieldname)] ?? null;
  }
  return pyJsonDumps(data);
}

export function webhookSignature(secret: string, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(Buffer.from(body, "utf8")).digest("base64");
}

// ---------------------------------------------------------------------------------- dispatcher

interface Job {
  delivery: WebhookDelivery;
  timeoutMs: number;
}

export class WebhookDispatcher {
  private readonly db: ErpDb;
  private readonly clock: SiteClock;
  delayMs: number;
  retryDelaysMs: number[];
  readonly log: WebhookDelivery[] = [];
  private readonly timers = new Set<{ timer: NodeJS.Timeout; job: Job }>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(db: ErpDb, clock: SiteClock, opts: { delayMs?: number; retryDelaysMs?: number[] } = {}) {
    this.db = db;
    this.clock = clock;
    this.delayMs = opts.delayMs ?? 0;
    this.retryDelaysMs = opts.retryDelaysMs ?? [1000, 4000, 7000];
  }

  /** Called after a transaction committed, with its events in order. */
  afterCommit(events: DocEvent[], user: string): void {
    if (!events.length) return;
    const hooks = [...this.db.all("Webhook")].filter((h) => cint(h.enabled) === 1);
    if (!hooks.length) return;
    // one send per (webhook, document), with the document's last state
    const chosen = new Map<string, { hook: Doc; ev: DocEvent }>();
    for (const ev of events) {
      if (!WEBHOOK_EVENTS.has(ev.event)) continue;
      for (const h of hooks) {
        if (h.webhook_doctype !== ev.doctype || h.webhook_docevent !== ev.event) continue;
        const key = `${h.name}\u0000${ev.doctype}\u0000${ev.name}`;
        if (!chosen.has(key)) chosen.set(key, { hook: h, ev });
      }
    }
    for (const { hook, ev } of chosen.values()) {
      const doc = this.db.get(ev.doctype, ev.name) ?? ev.doc;
      if (!doc) continue;
      if (typeof hook.condition === "string" && hook.condition.trim()) {
        let ok = false;
        try {
          ok = compileCondition(hook.condition)(pyValues(this.db, ev.doctype, doc));
        } catch {
          ok = false;
        }
        if (!ok) continue;
      }
      const body = webhookBody(this.db, hook, ev.doctype, doc);
      const headers: Record<string, string> = {};
      for (const h of (hook.webhook_headers ?? []) as Doc[]) if (h.key) headers[String(h.key)] = String(h.value ?? "");
      const secret = this.db.passwords.get(`Webhook\u0000${String(hook.name)}\u0000webhook_secret`) ?? hook.webhook_secret;
      if (cint(hook.enable_security) && secret) {
        headers["X-Frappe-Webhook-Signature"] = webhookSignature(String(secret), body);
      }
      const delivery: WebhookDelivery = {
        webhook: String(hook.name),
        doctype: ev.doctype,
        name: String(doc.name),
        event: ev.event,
        url: String(hook.request_url),
        method: String(hook.request_method || "POST"),
        headers,
        body,
        attempts: 0,
        status: null,
        ok: false,
        error: null,
        sentAt: [],
      };
      void user;
      this.log.push(delivery);
      const job = { delivery, timeoutMs: (cint(hook.timeout) || 5) * 1000 };
      this.schedule(job);
    }
  }

  private schedule(job: Job): void {
    if (this.closed) return;
    const entry = {
      job,
      timer: setTimeout(() => {
        this.timers.delete(entry);
        this.start(job);
      }, this.delayMs),
    };
    this.timers.add(entry);
  }

  private start(job: Job): void {
    const p = this.deliver(job).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  private async deliver(job: Job): Promise<void> {
    const d = job.delivery;
    for (let i = 0; i < 3 && !this.closed; i++) {
      d.attempts++;
      d.sentAt.push(this.clock.now());
      let timedOut = false;
      try {
        const res = await send(d, job.timeoutMs);
        d.status = res.status;
        this.writeLog(d, res.text, null);
        if (res.status < 400) {
          d.ok = true;
          d.error = null;
          return;
        }
        d.error = `HTTPError: ${res.status}`;
      } catch (e) {
        const err = e as Error;
        timedOut = err.name === "TimeoutError";
        d.error = `${err.name}: ${err.message}`;
        this.writeLog(d, null, d.error);
      }
      if (!timedOut && i < 2) await sleep(this.retryDelaysMs[i] ?? 0);
    }
  }

  private writeLog(d: WebhookDelivery, response: string | null, error: string | null): void {
    const now = this.clock.now();
    const name = randomHash(10);
    this.db.put("Webhook Request Log", {
      name,
      owner: "Administrator",
      creation: now,
      modified: now,
      modified_by: "Administrator",
      docstatus: 0,
      idx: 0,
      webhook: d.webhook,
      reference_doctype: d.doctype,
      reference_document: d.name,
      headers: pyJsonDumps(d.headers),
      data: d.body,
      user: "Administrator",
      url: d.url,
      response,
      error,
      doctype: "Webhook Request Log",
    });
  }

  /** Send everything still waiting for its delay now, and wait until all deliveries finished. */
  async flush(): Promise<void> {
    for (const e of [...this.timers]) {
      clearTimeout(e.timer);
      this.timers.delete(e);
      this.start(e.job);
    }
    while (this.running.size) await Promise.all([...this.running]);
  }

  pending(): number {
    return this.timers.size + this.running.size;
  }

  close(): void {
    this.closed = true;
    for (const e of this.timers) clearTimeout(e.timer);
    this.timers.clear();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One HTTP attempt with exactly the headers Python requests would send (no Content-Type). */
function send(d: WebhookDelivery, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(d.url);
    } catch (e) {
      reject(e);
      return;
    }
    const body = Buffer.from(d.body, "utf8");
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      {
        method: d.method,
        headers: {
          "User-Agent": "python-requests/2.31.0",
          "Accept-Encoding": "gzip, deflate",
          Accept: "*/*",
          Connection: "keep-alive",
          ...d.headers,
          "Content-Length": String(body.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => {
      const e = new Error(`Read timed out. (read timeout=${timeoutMs / 1000})`);
      e.name = "TimeoutError";
      req.destroy(e);
    });
    req.on("error", reject);
    req.end(body);
  });
}
