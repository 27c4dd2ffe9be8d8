/**
 * The document lifecycle of Frappe (reference §2.4–2.9): insert, save, submit, cancel, delete,
 * rename/merge — defaults, link / select / mandatory validation, naming, optimistic concurrency,
 * docstatus transitions, update-after-submit, and the doc events webhooks hang on.
 * Business rules per doctype live in controllers.ts and are called through `Controller` hooks.
 */
import type { Doc } from "./db.ts";
import { bold, FrappeError, frappeThrow } from "./frappe-errors.ts";
import { type DocField, type DocTypeMeta, FLOAT_TYPES, INT_TYPES, TABLE_TYPES } from "./meta.ts";
import type { Tx } from "./tx.ts";
import { canonicalDate, canonicalDatetime, cint, flt, pyDatetimeStr, randomHash, type SiteClock } from "./util.ts";

/** frappe.utils.validate_email_address (RFC-ish; the domain needs a dot). */
const EMAIL_RE =
  /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)$/i;
/** frappe.utils.validate_phone_number */
const PHONE_RE = /^([0-9 +_\-,.*#()]){1,20}$/;

export interface SiteSettings {
  company: string;
  abbr: string;
  currency: string;
  country: string;
  sellingPriceList: string;
  defaultWarehouse: string;
  receivableAccount: string;
  incomeAccount: string;
  cashAccount: string;
  costCenter: string;
}

export interface Env {
  clock: SiteClock;
  settings: SiteSettings;
}

/** Per-doctype business hooks (controllers.ts). All optional. */
export interface Controller {
  /** before link validation: fill defaults that depend on other docs */
  setDefaults?(doc: Doc, tx: Tx, env: Env, old: Doc | null): void;
  /** validate/before_save: computed values and business validations */
  validate?(doc: Doc, tx: Tx, env: Env, old: Doc | null): void;
  autoname?(doc: Doc, tx: Tx, env: Env): string;
  afterInsert?(doc: Doc, tx: Tx, env: Env): void;
  onUpdate?(doc: Doc, tx: Tx, env: Env, old: Doc | null): void;
  beforeSubmit?(doc: Doc, tx: Tx, env: Env): void;
  onSubmit?(doc: Doc, tx: Tx, env: Env): void;
  onCancel?(doc: Doc, tx: Tx, env: Env): void;
  onTrash?(doc: Doc, tx: Tx, env: Env): void;
  /** doctypes whose links to this doc are ignored by the cancel/delete link check */
  ignoreLinkedDoctypes?: string[];
}

export type ControllerMap = Map<string, Controller>;

export function cloneDoc(doc: Doc): Doc {
  const out: Doc = { ...doc };
  for (const [k, v] of Object.entries(doc)) {
    if (Array.isArray(v)) out[k] = v.map((r) => (r && typeof r === "object" ? { ...(r as Doc) } : r));
  }
  return out;
}

function coerceValue(df: DocField, v: unknown): unknown {
  if (v === undefined) return null;
  if (FLOAT_TYPES.has(df.fieldtype)) return v === null || v === "" ? 0 : flt(v);
  if (INT_TYPES.has(df.fieldtype)) return v === null || v === "" ? 0 : cint(v);
  if (v === null) return null;
  if (df.fieldtype === "Date") return v === "" ? null : (canonicalDate(String(v)) ?? String(v));
  if (df.fieldtype === "Datetime") return v === "" ? null : (canonicalDatetime(String(v)) ?? String(v));
  if (typeof v === "object") return JSON.stringify(v);
  return typeof v === "string" ? v : String(v);
}

/** Copy known fields of `body` into `target` (unknown keys ignored, as Frappe does). */
export function applyValues(
  meta: DocTypeMeta,
  target: Doc,
  body: Doc,
  childMeta: (dt: string) => DocTypeMeta | undefined,
  skipTables = false,
): void {
  for (const [k, v] of Object.entries(body)) {
    const df = meta.fieldMap.get(k);
    if (!df) continue;
    if (TABLE_TYPES.has(df.fieldtype)) {
      if (skipTables) continue;
      const cm = childMeta(String(df.options));
      if (!cm) continue;
      const oldRows = Array.isArray(target[k]) ? (target[k] as Doc[]) : [];
      const rows: Doc[] = [];
      for (const raw of Array.isArray(v) ? v : []) {
        if (!raw || typeof raw !== "object") continue;
        const r = raw as Doc;
        const existing = typeof r.name === "string" ? oldRows.find((o) => o.name === r.name) : undefined;
        const row: Doc = existing ? { ...existing } : { name: null };
        applyValues(cm, row, r, childMeta, true);
        rows.push(row);
      }
      target[k] = rows;
      continue;
    }
    target[k] = coerceValue(df, v);
  }
}

/** Frappe `_set_defaults` (new_doc): field defaults, first Select option, 0 for numbers. */
export function setFieldDefaults(meta: DocTypeMeta, doc: Doc, env: Env): void {
  for (const df of meta.valueFields) {
    const cur = doc[df.fieldname];
    if (cur !== null && cur !== undefined && cur !== "") continue;
    let def: unknown = df.default;
    if (def === "Today" || def === "today") def = env.clock.today();
    else if (def === "Now" || def === "now") def = env.clock.now();
    else if (typeof def === "string" && def.startsWith("{")) def = null; // title templates: controller fills
    if ((def === null || def === undefined) && df.fieldtype === "Select" && df.options && cur === undefined) {
      def = df.options.split("\n")[0];
    }
    if (def !== null && def !== undefined) doc[df.fieldname] = coerceValue(df, def);
    else if (cur === undefined) doc[df.fieldname] = coerceValue(df, null);
  }
  for (const tf of meta.tableFields) if (!Array.isArray(doc[tf.fieldname])) doc[tf.fieldname] = [];
}

export class DocumentService {
  readonly controllers: ControllerMap;
  readonly env: Env;
  constructor(controllers: ControllerMap, env: Env) {
    this.controllers = controllers;
    this.env = env;
  }

  meta(tx: Tx, doctype: string): DocTypeMeta {
    const m = tx.db.meta(doctype);
    if (!m) throw frappeThrow("DoesNotExistError", `DocType ${doctype} not found`, { exception: `DocType ${doctype} not found` });
    return m;
  }

  load(tx: Tx, doctype: string, name: string): Doc {
    this.meta(tx, doctype);
    const d = tx.get(doctype, name);
    if (!d) throw frappeThrow("DoesNotExistError", `${doctype} ${name} not found`);
    return d;
  }

  private childMetaFn(tx: Tx) {
    return (dt: string) => tx.db.meta(dt);
  }

  /** Prepare child rows: defaults, idx, parent pointers (names assigned at write). */
  private prepareChildren(tx: Tx, meta: DocTypeMeta, doc: Doc): void {
    for (const tf of meta.tableFields) {
      const cm = tx.db.meta(String(tf.options));
      const rows = (Array.isArray(doc[tf.fieldname]) ? doc[tf.fieldname] : []) as Doc[];
      rows.forEach((r, i) => {
        if (cm) setFieldDefaults(cm, r, this.env);
        r.idx = i + 1;
      });
      doc[tf.fieldname] = rows;
    }
  }

  /** `_validate_links`: Link and Dynamic Link values must exist (case corrected, as Frappe does). */
  validateLinks(tx: Tx, meta: DocTypeMeta, doc: Doc, old: Doc | null): void {
    const bad: string[] = [];
    const check = (m: DocTypeMeta, d: Doc, prefix: string, oldRow: Doc | null) => {
      for (const df of m.valueFields) {
        if (df.fieldtype !== "Link" && df.fieldtype !== "Dynamic Link") continue;
        const v = d[df.fieldname];
        if (v === null || v === undefined || v === "") continue;
        if (oldRow && oldRow[df.fieldname] === v) continue; // unchanged links are not re-validated
        const target = df.fieldtype === "Link" ? String(df.options) : String(d[String(df.options)] ?? "");
        if (!target) continue;
        if (target === "DocType") {
          if (!tx.db.meta(String(v))) bad.push(`${prefix}${df.label}: ${String(v)}`);
          continue;
        }
        if (!tx.db.meta(target)) continue; // doctype not emulated: accept
        const found = tx.get(target, String(v));
        if (!found) bad.push(`${prefix}${df.label}: ${String(v)}`);
        else if (found.name !== v) d[df.fieldname] = found.name;
        else if (
          found.docstatus === 2 &&
          tx.db.meta(target)?.is_submittable &&
          !["amended_from", "return_against"].includes(df.fieldname)
        ) {
          throw frappeThrow("CancelledLinkError", `Cannot link cancelled document: ${target} ${String(v)}`);
        }
      }
    };
    check(meta, doc, "", old);
    for (const tf of meta.tableFields) {
      const cm = tx.db.meta(String(tf.options));
      if (!cm) continue;
      const oldRows = old && Array.isArray(old[tf.fieldname]) ? (old[tf.fieldname] as Doc[]) : [];
      for (const r of doc[tf.fieldname] as Doc[]) {
        const oldRow = r.name ? (oldRows.find((o) => o.name === r.name) ?? null) : null;
        check(cm, r, `Row #${r.idx}: `, oldRow);
      }
    }
    if (bad.length) {
      throw new FrappeError("LinkValidationError", {
        messages: [{ message: `Could not find ${bad.join(", ")}`, title: "Message", indicator: "red", raise_exception: 1 }],
        exception: `Could not find ${bad.join(", ")}`,
      });
    }
  }

  /** `_validate_selects` + `_validate_length` + `_validate_mandatory`. */
  validateValues(tx: Tx, meta: DocTypeMeta, doc: Doc): void {
    const checkSelects = (m: DocTypeMeta, d: Doc, prefix: string) => {
      for (const df of m.valueFields) {
        const v = d[df.fieldname];
        if (df.fieldtype === "Select" && df.options && v !== null && v !== undefined && v !== "") {
          const opts = df.options.split("\n");
          if (!opts.includes(String(v))) {
            const allowed = opts.filter((o) => o !== "").map((o) => `"${o}"`);
            throw frappeThrow(
              "ValidationError",
              `${prefix}${bold(df.label)} cannot be "${String(v)}". It should be one of ${allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}` : allowed.join("")}`,
              { title: "Invalid Value" },
            );
          }
        }
        if (df.fieldtype === "Data" && typeof v === "string" && v.length > 140) {
          throw frappeThrow(
            "CharacterLengthExceededError",
            `${prefix}${bold(df.label)}: '${v.slice(0, 40)}…' (${v.length}) will get truncated, as max characters allowed is 140`,
            { title: "Value too big" },
          );
        }
        if (df.fieldtype === "Data" && typeof v === "string" && v.trim() !== "") {
          // _validate_data_fields: Data with options Email / Phone / URL
          if (df.options === "Email") {
            for (const e of v
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean)) {
              if (!EMAIL_RE.test(e.replace(/^.*<(.*)>$/, "$1"))) {
                throw frappeThrow("InvalidEmailAddressError", `${e} is not a valid Email Address`, { title: "Invalid Email Address" });
              }
            }
          } else if (df.options === "Phone" && !PHONE_RE.test(v)) {
            throw frappeThrow("InvalidPhoneNumberError", `${v} is not a valid Phone Number`, { title: "Invalid Phone Number" });
          } else if (df.options === "URL" && !/^(https?|ftp):\/\/[^\s/$.?#].[^\s]*$/i.test(v)) {
            throw frappeThrow("ValidationError", `${v} is not a valid URL`, { title: "Invalid URL" });
          }
        }
        if (df.non_negative && typeof v === "number" && v < 0) {
          throw frappeThrow("NonNegativeError", `${prefix}${bold(df.label)} cannot be negative`);
        }
      }
    };
    checkSelects(meta, doc, "");
    for (const tf of meta.tableFields) {
      const cm = tx.db.meta(String(tf.options));
      if (cm) for (const r of doc[tf.fieldname] as Doc[]) checkSelects(cm, r, `Row #${r.idx}: `);
    }

    // unique columns (other than the one the name comes from): MariaDB unique key → UniqueValidationError
    const nameField = meta.autoname.startsWith("field:") ? meta.autoname.slice(6) : null;
    for (const df of meta.valueFields) {
      if (!df.unique || df.fieldname === nameField) continue;
      const v = doc[df.fieldname];
      if (v === null || v === undefined || v === "") continue;
      const lv = String(v).toLowerCase();
      for (const other of tx.all(meta.name)) {
        if (other.name === doc.name && doc.name) continue;
        const ov = other[df.fieldname];
        if (ov !== null && ov !== undefined && String(ov).toLowerCase() === lv) {
          throw new FrappeError("UniqueValidationError", {
            messages: [{ message: `${df.label} must be unique` }],
            exception: `('${meta.name}', '${String(doc.name ?? "None")}', IntegrityError(1062, "Duplicate entry '${String(v)}' for key '${df.fieldname}'"))`,
          });
        }
      }
    }

    const missing: Array<[string, string]> = [];
    const isEmpty = (df: DocField, v: unknown) =>
      v === null || v === undefined || v === "" || (TABLE_TYPES.has(df.fieldtype) && Array.isArray(v) && v.length === 0);
    for (const df of meta.fields) {
      if (!df.reqd) continue;
      if (df.fieldtype === "Check" || FLOAT_TYPES.has(df.fieldtype) || INT_TYPES.has(df.fieldtype)) continue;
      if (isEmpty(df, doc[df.fieldname])) {
        missing.push([
          df.fieldname,
          TABLE_TYPES.has(df.fieldtype) ? `Error: Data missing in table ${df.label}` : `Error: Value missing for ${meta.name}: ${df.label}`,
        ]);
      }
    }
    for (const tf of meta.tableFields) {
      const cm = tx.db.meta(String(tf.options));
      if (!cm) continue;
      for (const r of doc[tf.fieldname] as Doc[]) {
        for (const df of cm.fields) {
          if (!df.reqd || df.fieldtype === "Check" || FLOAT_TYPES.has(df.fieldtype) || INT_TYPES.has(df.fieldtype)) continue;
          if (isEmpty(df, r[df.fieldname])) missing.push([df.fieldname, `Error: ${cm.name} Row #${r.idx}: Value missing for: ${df.label}`]);
        }
      }
    }
    if (missing.length) {
      const name = doc.name ? String(doc.name) : "None";
      throw new FrappeError("MandatoryError", {
        messages: missing.map(([, m]) => ({ message: m })),
        exception: `[${meta.name}, ${name}]: ${missing.map(([f]) => f).join(", ")}`,
      });
    }
  }

  private stampChildren(meta: DocTypeMeta, doc: Doc, user: string, now: string, fresh: boolean): void {
    for (const tf of meta.tableFields) {
      const rows = doc[tf.fieldname] as Doc[];
      rows.forEach((r, i) => {
        if (!r.name) {
          r.name = randomHash(10);
          r.owner = user;
          r.creation = now;
        }
        if (fresh) {
          r.owner = user;
          r.creation = now;
        }
        r.modified = now;
        r.modified_by = user;
        r.docstatus = doc.docstatus;
        r.idx = i + 1;
        r.parent = doc.name;
        r.parentfield = tf.fieldname;
        r.parenttype = meta.name;
        r.doctype = tf.options;
      });
    }
  }

  /** Order a doc's keys like Frappe's as_dict: standard columns, fields, then doctype. */
  private normalise(meta: DocTypeMeta, doc: Doc): Doc {
    const out: Doc = {
      name: doc.name,
      owner: doc.owner,
      creation: doc.creation,
      modified: doc.modified,
      modified_by: doc.modified_by,
      docstatus: doc.docstatus ?? 0,
      idx: doc.idx ?? 0,
    };
    for (const df of meta.fields) {
      if (df.fieldtype === "Section Break" || df.fieldtype === "Column Break") continue;
      out[df.fieldname] = doc[df.fieldname] ?? (TABLE_TYPES.has(df.fieldtype) ? [] : null);
    }
    out.doctype = meta.name;
    return out;
  }

  private autoname(tx: Tx, meta: DocTypeMeta, doc: Doc): string {
    if (meta.is_submittable && typeof doc.amended_from === "string" && doc.amended_from) {
      // amended documents: <original>-1, -2, …
      const m = /^(.*)-(\d+)$/.exec(doc.amended_from);
      const base = m && tx.exists(meta.name, m[1]) ? m[1] : doc.amended_from;
      let n = m && base === m[1] ? Number(m[2]) + 1 : 1;
      while (tx.exists(meta.name, `${base}-${n}`)) n++;
      return `${base}-${n}`;
    }
    const ctl = this.controllers.get(meta.name);
    if (ctl?.autoname) return ctl.autoname(doc, tx, this.env);
    const an = meta.autoname;
    if (an.startsWith("field:")) {
      const v = doc[an.slice(6)];
      if (v === null || v === undefined || v === "") throw frappeThrow("ValidationError", `No Name Specified for ${meta.name}`);
      return String(v).trim();
    }
    if (an === "naming_series:") {
      const series = (doc.naming_series as string) || meta.fieldMap.get("naming_series")?.options?.split("\n")[0] || `${meta.name}-`;
      return tx.nextSeriesName(series, this.env.clock.today());
    }
    if (an.includes("#")) return tx.nextSeriesName(an, this.env.clock.today());
    return randomHash(10);
  }

  /** Insert a document (POST /api/resource). `opts.seed` keeps given name/timestamps and skips validation. */
  insert(tx: Tx, doctype: string, body: Doc, opts: { keepName?: boolean; seed?: boolean; validateLinks?: boolean } = {}): Doc {
    const meta = this.meta(tx, doctype);
    if (meta.istable) throw frappeThrow("ValidationError", `Cannot insert ${doctype}: it is a child table`);
    const ctl = this.controllers.get(doctype);
    const env = this.env;
    let doc: Doc = {};
    applyValues(meta, doc, body, this.childMetaFn(tx));
    setFieldDefaults(meta, doc, env);
    this.prepareChildren(tx, meta, doc);
    const wantDocstatus = cint(body.docstatus);
    if (wantDocstatus === 2)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 0 (Draft) to 2 (Cancelled)" });
    if (wantDocstatus === 1 && !meta.is_submittable) {
      throw frappeThrow("ValidationError", `Cannot submit ${doctype}: it is not submittable`);
    }
    doc.docstatus = 0;
    if (!opts.seed && meta.is_submittable && typeof doc.amended_from === "string" && doc.amended_from) {
      const orig = tx.get(doctype, doc.amended_from);
      if (orig && cint(orig.docstatus) !== 2)
        throw frappeThrow("ValidationError", `${doctype} ${orig.name} is not cancelled; only cancelled documents can be amended`);
    }
    if (opts.seed) {
      ctl?.setDefaults?.(doc, tx, env, null);
      if (opts.validateLinks) this.validateLinks(tx, meta, doc, null);
      ctl?.validate?.(doc, tx, env, null);
    } else {
      ctl?.setDefaults?.(doc, tx, env, null);
      this.validateLinks(tx, meta, doc, null);
      ctl?.validate?.(doc, tx, env, null);
      this.validateValues(tx, meta, doc);
    }
    const now = env.clock.now();
    const user = tx.user;
    let name: string;
    if ((opts.keepName || opts.seed) && typeof body.name === "string" && body.name) {
      name = body.name;
      // Seeded data stands for documents the site made itself: its naming series continues after them.
      const m = opts.seed && (meta.autoname === "naming_series:" || meta.autoname.includes("#")) ? /^(.*?)(\d+)$/.exec(name) : null;
      if (m) tx.advanceSeries(m[1] as string, Number(m[2]));
    } else name = this.autoname(tx, meta, doc);
    doc.name = name;
    if (tx.exists(doctype, name)) {
      const existing = tx.get(doctype, name) as Doc;
      tx.messages.push({ message: `${doctype} ${bold(existing.name)} already exists`, title: "Duplicate Name", indicator: "red" });
      throw new FrappeError("DuplicateEntryError", {
        messages: [{ message: `${doctype} ${bold(existing.name)} already exists`, title: "Duplicate Name", indicator: "red" }],
        exception: `('${doctype}', '${name}', IntegrityError(1062, "Duplicate entry '${name}' for key 'PRIMARY'"))`,
      });
    }
    doc.owner = opts.seed && typeof body.owner === "string" ? body.owner : user;
    doc.creation = opts.seed && typeof body.creation === "string" ? (canonicalDatetime(body.creation) ?? now) : now;
    doc.modified = opts.seed && typeof body.modified === "string" ? (canonicalDatetime(body.modified) ?? now) : now;
    doc.modified_by = opts.seed && typeof body.modified_by === "string" ? body.modified_by : user;
    doc.idx = 0;
    if (opts.seed && (wantDocstatus === 1 || cint(body.docstatus) === 2)) doc.docstatus = cint(body.docstatus);
    this.stampChildren(meta, doc, doc.owner as string, doc.creation as string, true);
    doc = this.normalise(meta, doc);
    this.stashPasswords(tx, meta, doc);
    tx.put(doctype, doc);
    if (opts.seed) {
      if (doc.docstatus === 1) {
        // keep seeded business values: only fill what is missing
        const given = new Set(Object.keys(body));
        const snapshot = { ...doc };
        ctl?.onSubmit?.(doc, tx, env);
        for (const k of given) if (k in snapshot) doc[k] = snapshot[k];
      }
      return doc;
    }
    // hooks see the request's extra keys (Frappe sets them as attributes; they are not stored)
    Object.defineProperty(doc, "__raw", { value: body, enumerable: false });
    ctl?.afterInsert?.(doc, tx, env);
    ctl?.onUpdate?.(doc, tx, env, null);
    tx.event(doctype, name, "after_insert");
    tx.event(doctype, name, "on_update");
    if (wantDocstatus === 1) return this.submit(tx, doctype, name);
    return doc;
  }

  /** Check `modified` sent by a client against the stored one (check_if_latest). */
  checkIfLatest(stored: Doc, sent: unknown, required = false): void {
    if (!required && (sent === undefined || sent === null || sent === "")) return;
    const dbValue = pyDatetimeStr(String(stored.modified));
    if (String(sent ?? "") !== dbValue) {
      throw new FrappeError("TimestampMismatchError", {
        messages: [
          {
            message: `Error: Document has been modified after you have opened it (${dbValue}, ${String(sent)}). Please refresh to get the latest document.`,
            raise_exception: 1,
            indicator: "red",
            title: "Message",
          },
        ],
        exception: "Document has been modified after you have opened it",
      });
    }
  }

  /** PUT: partial update at the top level, child tables replaced when present. */
  update(tx: Tx, doctype: string, name: string, body: Doc, opts: { fullDoc?: boolean } = {}): Doc {
    const meta = this.meta(tx, doctype);
    if (meta.readOnlyApi) throw permissionError(doctype, "write");
    const stored = this.load(tx, doctype, name);
    this.checkIfLatest(stored, body.modified, Boolean(opts.fullDoc));
    const current = cint(stored.docstatus);
    const target = body.docstatus === undefined || body.docstatus === null ? current : cint(body.docstatus);
    if (current === 2) throw new FrappeError("ValidationError", { exception: "Cannot edit cancelled document" });
    if (current === 0 && target === 2)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 0 (Draft) to 2 (Cancelled)" });
    if (current === 1 && target === 0)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 1 (Submitted) to 0 (Draft)" });
    if (target === 1 && current === 0 && !meta.is_submittable)
      throw frappeThrow("ValidationError", `Cannot submit ${doctype}: it is not submittable`);

    let doc = cloneDoc(stored);
    if (opts.fullDoc) {
      // frappe.client.save / submit: the dict IS the document — absent fields become empty, absent tables are emptied
      const blank: Doc = {
        name: stored.name,
        owner: stored.owner,
        creation: stored.creation,
        modified: stored.modified,
        modified_by: stored.modified_by,
        docstatus: stored.docstatus,
        idx: stored.idx,
      };
      for (const tf of meta.tableFields) blank[tf.fieldname] = (stored[tf.fieldname] as Doc[]).map((r) => ({ ...r }));
      for (const tf of meta.tableFields) if (!(tf.fieldname in body)) blank[tf.fieldname] = [];
      doc = blank;
    }
    const patch = { ...body };
    delete patch.name;
    delete patch.docstatus;
    delete patch.modified;
    applyValues(meta, doc, patch, this.childMetaFn(tx));
    if (opts.fullDoc) setFieldDefaults(meta, doc, this.env);
    this.prepareChildren(tx, meta, doc);

    if (current === 1 && target === 1) return this.updateAfterSubmit(tx, meta, stored, doc);
    if (current === 1 && target === 2) return this.cancel(tx, doctype, name);
    const ctl = this.controllers.get(doctype);
    ctl?.setDefaults?.(doc, tx, this.env, stored);
    this.validateLinks(tx, meta, doc, stored);
    ctl?.validate?.(doc, tx, this.env, stored);
    this.validateValues(tx, meta, doc);
    this.stashPasswords(tx, meta, doc);
    if (target === 1) {
      tx.put(doctype, doc);
      return this.submit(tx, doctype, String(doc.name), true);
    }
    this.touch(meta, doc, tx);
    tx.put(doctype, doc);
    ctl?.onUpdate?.(doc, tx, this.env, stored);
    tx.event(doctype, String(doc.name), "on_update");
    tx.event(doctype, String(doc.name), "on_change");
    return doc;
  }

  /** Password fields: the value goes to the encrypted store (__Auth), the column keeps asterisks. */
  private stashPasswords(tx: Tx, meta: DocTypeMeta, doc: Doc): void {
    for (const df of meta.valueFields) {
      if (df.fieldtype !== "Password") continue;
      const v = doc[df.fieldname];
      if (typeof v === "string" && v !== "" && !/^\*+$/.test(v)) {
        tx.db.passwords.set(`${meta.name}\u0000${String(doc.name)}\u0000${df.fieldname}`, v);
        doc[df.fieldname] = "*".repeat(v.length);
      }
    }
  }

  touch(meta: DocTypeMeta, doc: Doc, tx: Tx): void {
    const now = this.env.clock.now();
    doc.modified = now;
    doc.modified_by = tx.user;
    this.stampChildren(meta, doc, tx.user, now, false);
  }

  private updateAfterSubmit(tx: Tx, meta: DocTypeMeta, stored: Doc, doc: Doc): Doc {
    const compare = (m: DocTypeMeta, before: Doc, after: Doc, prefix: string) => {
      for (const df of m.valueFields) {
        if (df.allow_on_submit) continue;
        const a = before[df.fieldname] ?? null;
        const b = after[df.fieldname] ?? null;
        const same = a === b || ((a === null || a === "" || a === 0) && (b === null || b === "" || b === 0) && typeof a === typeof b);
        if (!same && !(a === null && b === "") && !(a === "" && b === null)) {
          throw frappeThrow(
            "UpdateAfterSubmitError",
            `${prefix}Not allowed to change ${bold(df.label)} after submission from ${bold(a ?? "")} to ${bold(b ?? "")}`,
            { title: "Cannot Update After Submit" },
          );
        }
      }
    };
    compare(meta, stored, doc, "");
    for (const tf of meta.tableFields) {
      const cm = tx.db.meta(String(tf.options));
      if (!cm) continue;
      const before = (stored[tf.fieldname] ?? []) as Doc[];
      const after = (doc[tf.fieldname] ?? []) as Doc[];
      if (before.length !== after.length && !tf.allow_on_submit) {
        throw frappeThrow("UpdateAfterSubmitError", `Not allowed to change ${bold(tf.label)} after submission`, {
          title: "Cannot Update After Submit",
        });
      }
      after.forEach((r, i) => {
        const o = before.find((x) => x.name === r.name) ?? before[i];
        if (o) compare(cm, o, r, `Row #${i + 1}: `);
      });
    }
    this.touch(meta, doc, tx);
    tx.put(meta.name, doc);
    // on_update_after_submit is not in the webhook dispatcher's list (reference §5 caveat); on_change is
    tx.event(meta.name, String(doc.name), "on_change");
    return doc;
  }

  submit(tx: Tx, doctype: string, name: string, alreadyValidated = false, sentModified?: unknown): Doc {
    const meta = this.meta(tx, doctype);
    const stored = this.load(tx, doctype, name);
    if (sentModified !== undefined) this.checkIfLatest(stored, sentModified);
    if (!meta.is_submittable) throw frappeThrow("ValidationError", `Cannot submit ${doctype}: it is not submittable`);
    const current = cint(stored.docstatus);
    if (current === 1 && !alreadyValidated)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 1 (Submitted) to 1 (Submitted)" });
    if (current === 2) throw new FrappeError("ValidationError", { exception: "Cannot edit cancelled document" });
    const doc = alreadyValidated ? stored : cloneDoc(stored);
    const ctl = this.controllers.get(doctype);
    if (!alreadyValidated) {
      ctl?.setDefaults?.(doc, tx, this.env, stored);
      this.validateLinks(tx, meta, doc, stored);
      ctl?.validate?.(doc, tx, this.env, stored);
      this.validateValues(tx, meta, doc);
    }
    doc.docstatus = 1;
    ctl?.beforeSubmit?.(doc, tx, this.env);
    this.touch(meta, doc, tx);
    tx.put(doctype, doc);
    ctl?.onUpdate?.(doc, tx, this.env, stored);
    ctl?.onSubmit?.(doc, tx, this.env);
    tx.event(doctype, name, "on_update");
    tx.event(doctype, name, "on_submit");
    tx.event(doctype, name, "on_change");
    return doc;
  }

  cancel(tx: Tx, doctype: string, name: string): Doc {
    const meta = this.meta(tx, doctype);
    const stored = this.load(tx, doctype, name);
    const current = cint(stored.docstatus);
    if (current === 0)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 0 (Draft) to 2 (Cancelled)" });
    if (current === 2)
      throw new FrappeError("DocstatusTransitionError", { exception: "Cannot change docstatus from 2 (Cancelled) to 2 (Cancelled)" });
    const doc = cloneDoc(stored);
    doc.docstatus = 2;
    const ctl = this.controllers.get(doctype);
    this.checkNoLinks(tx, meta, stored, true);
    this.touch(meta, doc, tx);
    if (meta.fieldMap.has("status")) doc.status = "Cancelled";
    tx.put(doctype, doc);
    ctl?.onCancel?.(doc, tx, this.env);
    tx.event(doctype, name, "on_cancel");
    tx.event(doctype, name, "on_change");
    return doc;
  }

  /** Docs (not cancelled; submitted only when `submittedOnly`) that link to `target`. */
  findLinks(
    tx: Tx,
    targetDoctype: string,
    targetName: string,
    submittedOnly: boolean,
  ): Array<{ doctype: string; name: string; row?: number }> {
    const out: Array<{ doctype: string; name: string; row?: number }> = [];
    const ignore = new Set(this.controllers.get(targetDoctype)?.ignoreLinkedDoctypes ?? []);
    for (const m of tx.db.metas.values()) {
      if (m.istable || ignore.has(m.name)) continue;
      const direct = m.valueFields.filter((f) => (f.fieldtype === "Link" && f.options === targetDoctype) || f.fieldtype === "Dynamic Link");
      const childSpecs = m.tableFields
        .map((tf) => ({ tf, cm: tx.db.meta(String(tf.options)) }))
        .filter((x) => x.cm)
        .map((x) => ({
          field: x.tf.fieldname,
          links: (x.cm as DocTypeMeta).valueFields.filter(
            (f) => (f.fieldtype === "Link" && f.options === targetDoctype) || f.fieldtype === "Dynamic Link",
          ),
        }))
        .filter((x) => x.links.length);
      if (!direct.length && !childSpecs.length) continue;
      const matches = (d: Doc, f: DocField) =>
        d[f.fieldname] === targetName && (f.fieldtype === "Link" || d[String(f.options)] === targetDoctype);
      for (const d of tx.all(m.name)) {
        if (m.name === targetDoctype && d.name === targetName) continue;
        const ds = cint(d.docstatus);
        if (ds === 2) continue;
        if (submittedOnly && m.is_submittable && ds !== 1) continue;
        if (submittedOnly && !m.is_submittable) continue;
        if (direct.some((f) => f.fieldname !== "amended_from" && matches(d, f))) {
          out.push({ doctype: m.name, name: String(d.name) });
          continue;
        }
        for (const cs of childSpecs) {
          const rows = (d[cs.field] ?? []) as Doc[];
          const hit = rows.find((r) => cs.links.some((f) => matches(r, f)));
          if (hit) {
            out.push({ doctype: m.name, name: String(d.name), row: cint(hit.idx) });
            break;
          }
        }
      }
    }
    return out;
  }

  private checkNoLinks(tx: Tx, meta: DocTypeMeta, doc: Doc, forCancel: boolean): void {
    const links = this.findLinks(tx, meta.name, String(doc.name), forCancel);
    const blocking = links.filter((l) => !(meta.name === "Customer" && (l.doctype === "Contact" || l.doctype === "Address")));
    if (blocking.length) {
      const l = blocking[0];
      throw frappeThrow(
        "LinkExistsError",
        `Cannot delete or cancel because ${meta.name} ${bold(doc.name)} is linked with ${l.doctype} ${bold(l.name)}${l.row ? ` at Row: ${l.row}` : ""}`,
        { title: "Message" },
      );
    }
  }

  delete(tx: Tx, doctype: string, name: string): void {
    const meta = this.meta(tx, doctype);
    if (meta.readOnlyApi) throw permissionError(doctype, "delete");
    const doc = this.load(tx, doctype, name);
    if (cint(doc.docstatus) === 1) {
      throw frappeThrow(
        "ValidationError",
        `${doctype} ${doc.name}: Submitted Record cannot be deleted. You must ${bold("Cancel")} it first.`,
      );
    }
    this.checkNoLinks(tx, meta, doc, false);
    this.controllers.get(doctype)?.onTrash?.(doc, tx, this.env);
    tx.remove(doctype, String(doc.name));
    tx.event(doctype, String(doc.name), "on_trash", doc);
  }

  /**
   * `frappe.client.rename_doc` / `rename_doc`: rename, or with merge move every reference of the old
   * name to the existing target and delete the old record. Linked docs are updated by SQL in
   * Frappe, so their `modified` does not change — the same here.
   */
  rename(tx: Tx, doctype: string, oldName: string, newName: string, merge: boolean): string {
    const meta = this.meta(tx, doctype);
    const doc = this.load(tx, doctype, oldName);
    const old = String(doc.name);
    const target = newName.trim();
    if (!meta.allow_rename) throw frappeThrow("ValidationError", `${doctype} not allowed to be renamed`);
    if (!target) throw frappeThrow("ValidationError", "Please select a new name to rename");
    if (old === target) throw frappeThrow("ValidationError", "Please select a new name to rename");
    const existing = tx.get(doctype, target);
    if (merge && !existing) throw frappeThrow("ValidationError", `${doctype} ${bold(target)} does not exist, select a new target to merge`);
    if (!merge && existing && String(existing.name).toLowerCase() !== old.toLowerCase()) {
      throw frappeThrow("ValidationError", `Another ${doctype} with name ${bold(target)} exists, select another name`);
    }
    if (merge && existing && cint(existing.docstatus) !== cint(doc.docstatus)) {
      throw frappeThrow("ValidationError", "Merging is only possible between Group-to-Group or Leaf Node-to-Leaf Node");
    }
    const finalName = merge && existing ? String(existing.name) : target;
    // move references
    for (const m of tx.db.metas.values()) {
      if (m.istable) continue;
      const direct = m.valueFields.filter((f) => (f.fieldtype === "Link" && f.options === doctype) || f.fieldtype === "Dynamic Link");
      const tables = m.tableFields
        .map((tf) => ({ field: tf.fieldname, cm: tx.db.meta(String(tf.options)) }))
        .filter((x) => x.cm)
        .map((x) => ({
          field: x.field,
          links: (x.cm as DocTypeMeta).valueFields.filter(
            (f) => (f.fieldtype === "Link" && f.options === doctype) || f.fieldtype === "Dynamic Link",
          ),
        }))
        .filter((x) => x.links.length);
      if (!direct.length && !tables.length) continue;
      const hits = (d: Doc, f: DocField) => d[f.fieldname] === old && (f.fieldtype === "Link" || d[String(f.options)] === doctype);
      for (const d of [...tx.all(m.name)]) {
        let changed: Doc | null = null;
        for (const f of direct) {
          if (hits(d, f)) {
            changed ??= cloneDoc(d);
            changed[f.fieldname] = finalName;
          }
        }
        for (const t of tables) {
          const rows = (d[t.field] ?? []) as Doc[];
          rows.forEach((r, i) => {
            for (const f of t.links) {
              if (hits(r, f)) {
                changed ??= cloneDoc(d);
                ((changed[t.field] as Doc[])[i] as Doc)[f.fieldname] = finalName;
              }
            }
          });
        }
        if (changed) tx.put(m.name, changed);
      }
    }
    tx.remove(doctype, old);
    if (!(merge && existing)) {
      const renamed = cloneDoc(tx.get(doctype, old) ?? doc);
      renamed.name = finalName;
      for (const tf of meta.tableFields) for (const r of (renamed[tf.fieldname] ?? []) as Doc[]) r.parent = finalName;
      if (doctype === "Customer" && renamed.customer_name !== finalName) {
        renamed.customer_name = finalName;
        this.touch(meta, renamed, tx);
      }
      tx.put(doctype, renamed);
    }
    return finalName;
  }
}

export function permissionError(doctype: string, ptype: string): FrappeError {
  return new FrappeError("PermissionError", {
    exception: `No permission to ${ptype} ${doctype}`,
    errorMessage: `Insufficient Permission for ${doctype}`,
    messages: [
      {
        message: `No permission for ${bold(doctype)}`,
        title: "Not permitted",
        indicator: "red",
        raise_exception: 1,
      },
    ],
  });
}
