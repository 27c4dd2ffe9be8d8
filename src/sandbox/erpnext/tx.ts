/**
 * One request = one transaction (reference §0): writes are staged here and applied to the tables
 * only when the request succeeds, so a failed request leaves no partial writes; doc events are
 * collected for the webhook dispatcher, which runs after commit.
 */
import type { Doc, ErpDb } from "./db.ts";

export interface DocEvent {
  doctype: string;
  name: string;
  event: string;
  /** state of the document when the event happened (used for on_trash, when it is gone after commit) */
  doc?: Doc;
}

export class Tx {
  readonly db: ErpDb;
  readonly user: string;
  private readonly writes = new Map<string, Map<string, Doc | null>>();
  /** lower-cased name → staged name, per doctype (case-insensitive lookups of staged rows) */
  private readonly lowerNames = new Map<string, Map<string, string>>();
  private readonly counters = new Map<string, number>();
  readonly events: DocEvent[] = [];
  /** Alerts (msgprint without raise) to return as `_server_messages` on success. */
  readonly messages: Array<{ message: string; title?: string; indicator?: string; alert?: 1 }> = [];

  constructor(db: ErpDb, user: string) {
    this.db = db;
    this.user = user;
  }

  private pending(doctype: string): Map<string, Doc | null> {
    let m = this.writes.get(doctype);
    if (!m) {
      m = new Map();
      this.writes.set(doctype, m);
    }
    return m;
  }

  get(doctype: string, name: string): Doc | undefined {
    const p = this.writes.get(doctype);
    if (p) {
      if (p.has(name)) return p.get(name) ?? undefined;
      const staged = this.lowerNames.get(doctype)?.get(name.toLowerCase());
      if (staged !== undefined) return p.get(staged) ?? undefined;
      const fromDb = this.db.get(doctype, name);
      if (fromDb && p.has(String(fromDb.name))) return p.get(String(fromDb.name)) ?? undefined;
      return fromDb;
    }
    return this.db.get(doctype, name);
  }

  private stage(doctype: string, name: string, doc: Doc | null): void {
    this.pending(doctype).set(name, doc);
    let l = this.lowerNames.get(doctype);
    if (!l) {
      l = new Map();
      this.lowerNames.set(doctype, l);
    }
    l.set(name.toLowerCase(), name);
  }

  exists(doctype: string, name: string): boolean {
    return this.get(doctype, name) !== undefined;
  }

  put(doctype: string, doc: Doc): void {
    this.stage(doctype, String(doc.name), doc);
  }

  remove(doctype: string, name: string): void {
    const real = this.db.get(doctype, name);
    this.stage(doctype, real ? String(real.name) : name, null);
  }

  /** All rows of a doctype as this transaction sees them. */
  *all(doctype: string): Generator<Doc> {
    const p = this.writes.get(doctype);
    for (const d of this.db.all(doctype)) {
      if (p?.has(String(d.name))) continue;
      yield d;
    }
    if (p) for (const d of p.values()) if (d) yield d;
  }

  event(doctype: string, name: string, event: string, doc?: Doc): void {
    this.events.push({ doctype, name, event, doc });
  }

  /** A document named `<prefix><n>` outside the counter (seeded): the series for that prefix continues after n. */
  advanceSeries(prefix: string, n: number): void {
    const cur = this.counters.get(prefix) ?? this.db.counters.get(prefix) ?? 0;
    if (n > cur) this.counters.set(prefix, n);
  }

  nextSeriesName(series: string, today: string): string {
    // use the db's algorithm against a staged copy of the counters
    const saved = this.db.counters;
    const staged = new Map(saved);
    for (const [k, v] of this.counters) staged.set(k, v);
    this.db.counters = staged;
    try {
      const name = this.db.nextSeriesName(series, today);
      for (const [k, v] of staged) if (saved.get(k) !== v) this.counters.set(k, v);
      return name;
    } finally {
      this.db.counters = saved;
    }
  }

  commit(): void {
    for (const [k, v] of this.counters) this.db.counters.set(k, v);
    for (const [dt, m] of this.writes) {
      for (const [name, doc] of m) {
        if (doc) this.db.put(dt, doc);
        else this.db.remove(dt, name);
      }
    }
    this.writes.clear();
  }
}
