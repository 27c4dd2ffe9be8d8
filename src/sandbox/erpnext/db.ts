/**
 * In-memory tables of the emulated ERPNext: one Map per doctype (child rows live inside their
 * parent document, as Frappe returns them), naming-series counters, a case-insensitive name index
 * (MariaDB's default collation makes `name` lookups case-insensitive) and a per-doctype version
 * used to cache sorted lists between writes.
 */
import type { DocTypeMeta } from "./meta.ts";

export type Doc = Record<string, unknown>;

export class ErpDb {
  metas: Map<string, DocTypeMeta>;
  readonly tables = new Map<string, Map<string, Doc>>();
  readonly lower = new Map<string, Map<string, string>>();
  counters = new Map<string, number>();
  readonly versions = new Map<string, number>();
  readonly sortCache = new Map<string, { version: number; rows: Doc[]; cmp?: (a: Doc, b: Doc) => number }>();
  /** filtered + sorted rows of recent list queries (paging through a result is O(page)) */
  readonly queryCache = new Map<string, Doc[]>();
  /** serialised list rows per stored doc object (docs are replaced, never mutated, after commit) */
  rowJson = new WeakMap<Doc, { sig: string; json: string }>();
  /** decrypted values of Password fields ("doctype\0name\0field" → value), like Frappe's __Auth table */
  readonly passwords = new Map<string, string>();
  /** incremented on every write to any doctype */
  globalVersion = 0;

  constructor(metas: Map<string, DocTypeMeta>) {
    this.metas = metas;
  }

  meta(doctype: string): DocTypeMeta | undefined {
    return this.metas.get(doctype);
  }

  table(doctype: string): Map<string, Doc> {
    let t = this.tables.get(doctype);
    if (!t) {
      t = new Map();
      this.tables.set(doctype, t);
      this.lower.set(doctype, new Map());
    }
    return t;
  }

  /** Exact-or-case-insensitive lookup, like `WHERE name = %s` on MariaDB. */
  get(doctype: string, name: string): Doc | undefined {
    const t = this.table(doctype);
    const exact = t.get(name);
    if (exact) return exact;
    const real = this.lower.get(doctype)?.get(name.toLowerCase());
    return real === undefined ? undefined : t.get(real);
  }

  exists(doctype: string, name: string): boolean {
    return this.get(doctype, name) !== undefined;
  }

  put(doctype: string, doc: Doc): void {
    const name = String(doc.name);
    const t = this.table(doctype);
    const old = t.get(name);
    const before = this.version(doctype);
    t.set(name, doc);
    this.lower.get(doctype)?.set(name.toLowerCase(), name);
    this.bump(doctype);
    this.repairSorted(doctype, before, old, doc);
  }

  remove(doctype: string, name: string): boolean {
    const t = this.table(doctype);
    const doc = this.get(doctype, name);
    if (!doc) return false;
    const before = this.version(doctype);
    t.delete(String(doc.name));
    this.lower.get(doctype)?.delete(String(doc.name).toLowerCase());
    this.bump(doctype);
    this.repairSorted(doctype, before, doc, undefined);
    return true;
  }

  /**
   * Keep cached sort orders valid across a single-row write instead of re-sorting everything:
   * drop the old row object, binary-insert the new one after its equals.
   */
  private repairSorted(doctype: string, before: number, old: Doc | undefined, next: Doc | undefined): void {
    const prefix = `${doctype}|`;
    const after = this.version(doctype);
    for (const [key, entry] of this.sortCache) {
      if (!key.startsWith(prefix)) continue;
      if (entry.version !== before || !entry.cmp) {
        this.sortCache.delete(key);
        continue;
      }
      const rows = entry.rows;
      if (old) {
        const i = rows.lastIndexOf(old);
        if (i < 0) {
          this.sortCache.delete(key);
          continue;
        }
        rows.splice(i, 1);
      }
      if (next) {
        let lo = 0;
        let hi = rows.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (entry.cmp(rows[mid], next) <= 0) lo = mid + 1;
          else hi = mid;
        }
        rows.splice(lo, 0, next);
      }
      entry.version = after;
    }
  }

  /** Mark a doctype's rows changed (invalidates cached sort orders). */
  bump(doctype: string): void {
    this.globalVersion++;
    this.versions.set(doctype, (this.versions.get(doctype) ?? 0) + 1);
  }

  version(doctype: string): number {
    return this.versions.get(doctype) ?? 0;
  }

  all(doctype: string): IterableIterator<Doc> {
    return this.table(doctype).values();
  }

  clear(): void {
    this.tables.clear();
    this.lower.clear();
    this.counters.clear();
    this.passwords.clear();
    this.sortCache.clear();
    this.queryCache.clear();
    this.rowJson = new WeakMap();
    for (const k of this.versions.keys()) this.bump(k);
  }

  /**
   * `make_autoname` for a series like "SAL-ORD-.YYYY.-" or "HOOK-.####": resolves date tokens
   * from `today` ("YYYY-MM-DD") and appends a zero-padded counter kept per resolved prefix.
   */
  nextSeriesName(series: string, today: string): string {
    let pattern = series;
    if (!pattern.includes("#")) pattern = `${pattern.endsWith(".") ? pattern : `${pattern}.`}#####`;
    const parts = pattern.split(".");
    let prefix = "";
    let digits = 5;
    for (const p of parts) {
      if (/^#+$/.test(p)) {
        digits = p.length;
        continue;
      }
      switch (p) {
        case "YYYY":
          prefix += today.slice(0, 4);
          break;
        case "YY":
          prefix += today.slice(2, 4);
          break;
        case "MM":
          prefix += today.slice(5, 7);
          break;
        case "DD":
          prefix += today.slice(8, 10);
          break;
        default:
          prefix += p;
      }
    }
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}${String(n).padStart(digits, "0")}`;
  }
}
