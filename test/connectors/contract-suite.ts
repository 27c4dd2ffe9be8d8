/**
 * The contract every connector passes (docs/connectors.md § Contract tests), parameterised by
 * system: a test file calls `connectorContractSuite(name, setup)` with a harness that starts
 * the system (a sandbox, or a local server such as Tryton) and knows its entity and fields.
 * Runs over real HTTP; nothing here names a system.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector, FilterExpr, ReadChangesOptions, RemoteRecord } from "../../src/connectors/types.ts";
import { AuthError, RateLimited, SchemaDrift, Transient, ValidationRejected, VersionConflict } from "../../src/errors.ts";

export interface FaultSettings {
  rate?: number;
  everyNth?: number;
  kinds: ("429" | "500" | "502" | "503" | "slow" | "drop" | "truncate")[];
  retryAfterSec?: number;
  slowMs?: number;
  seed?: number;
  methods?: string[];
}

export interface ContractHarness {
  /** A connector with valid credentials and test-friendly options (short backoff). */
  connector: Connector;
  /** Another connector; `badCredentials` swaps in a wrong key; `options` are merged over the defaults. */
  makeConnector(opts?: { options?: Record<string, unknown>; badCredentials?: boolean; logger?: CapturedLog }): Connector;
  /** The credential values, to prove none leaks. */
  secrets: string[];
  /** The entity the suite creates and reads. */
  entity: string;
  /** A plain string field: written by newValues(label), exact-findable and updatable. */
  textField: string;
  /** Values for a valid new record whose textField is `label`. */
  newValues(label: string): Record<string, unknown>;
  /** The id attribute a client might try to choose on create ("id", "name"). */
  idAttribute: string;
  /** Create n records out-of-band (straight into the system), textField = `${prefix}-${i}`;
   *  with sameTimestamp they all share one modification timestamp. Returns their ids. */
  seed(n: number, prefix: string, opts?: { sameTimestamp?: boolean }): Promise<string[]>;
  /** Modify a record out-of-band so its modification time moves forward. */
  touch(id: string): Promise<void>;
  /** Configure (or clear with null) fault injection on the system. */
  faults(cfg: FaultSettings | null): Promise<void>;
  /** Requests the system has received so far (for "exactly one HTTP call"). */
  requestCount(): Promise<number>;
  /** Sign a webhook body as the system would; returns the request headers and URL to use. */
  signWebhook(body: Buffer, secret: string): { headers: Record<string, string>; url: string };
  /** A webhook body for one event about record `id`. */
  webhookBody(id: string): Buffer;
  /** Whether records carry an optimistic-concurrency version on this entity. */
  hasVersion: boolean;
  /** Whether the system finishes a request whose client timed out (real servers do once the body arrived). */
  slowRequestsStillComplete?: boolean;
  close(): Promise<void>;
}

export class CapturedLog {
  readonly lines: string[] = [];
  debug = (o: Record<string, unknown>, m?: string): void => {
    this.lines.push(JSON.stringify({ level: "debug", ...o, msg: m }));
  };
  warn = (o: Record<string, unknown>, m?: string): void => {
    this.lines.push(JSON.stringify({ level: "warn", ...o, msg: m }));
  };
}

/** Every page of a walk, flattened, with the page count. */
export async function walk(
  c: Connector,
  entity: string,
  opts: ReadChangesOptions = {},
): Promise<{ records: RemoteRecord[]; pages: number }> {
  const records: RemoteRecord[] = [];
  let pages = 0;
  for await (const page of c.readChanges(entity, opts)) {
    pages++;
    expect(page.records.length).toBeGreaterThan(0);
    const last = page.records[page.records.length - 1];
    expect(page.cursor).toEqual({ modifiedAt: last.modifiedAt, id: last.id });
    records.push(...page.records);
  }
  return { records, pages };
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function serialise(e: unknown): string {
  if (!(e instanceof Error)) return JSON.stringify(e);
  const plain: Record<string, unknown> = {};
  for (const k of Object.getOwnPropertyNames(e)) plain[k] = (e as unknown as Record<string, unknown>)[k];
  return `${JSON.stringify(plain)} ${JSON.stringify(e)} ${e.message} ${e.stack ?? ""} ${String((e as { cause?: unknown }).cause ?? "")}`;
}

function expectNoSecret(text: string, secrets: string[]): void {
  for (const s of secrets) {
    expect(text).not.toContain(s);
    expect(text).not.toContain(Buffer.from(s).toString("base64"));
  }
}

function counts(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

export function connectorContractSuite(name: string, setup: () => Promise<ContractHarness>): void {
  describe(`connector contract: ${name}`, () => {
    let h: ContractHarness;
    let c: Connector;
    const run = `r${Date.now().toString(36)}`;
    const byPrefix = (prefix: string): FilterExpr[] => [{ field: h.textField, op: "like", value: `${prefix}-%` }];

    beforeAll(async () => {
      h = await setup();
      c = h.connector;
    });
    afterAll(async () => {
      await h?.faults(null);
      await h?.close();
    });

    it("whoAmI answers the authenticated user", async () => {
      const me = await c.whoAmI();
      expect(typeof me).toBe("string");
      expect(me.length).toBeGreaterThan(0);
    });

    it("wrong credentials: AuthError after exactly one HTTP call, and no credential in the error or the logs", async () => {
      const log = new CapturedLog();
      const bad = h.makeConnector({ badCredentials: true, logger: log });
      const before = await h.requestCount();
      const e = await bad.whoAmI().catch((x: unknown) => x);
      const after = await h.requestCount();
      expect(e).toBeInstanceOf(AuthError);
      expect(after - before).toBe(1);
      expect(bad.stats().calls).toBe(1);
      expect(bad.stats().retries).toBe(0);
      const e2 = await bad
        .readChanges(h.entity)
        [Symbol.asyncIterator]()
        .next()
        .catch((x: unknown) => x);
      expect(e2).toBeInstanceOf(AuthError);
      expectNoSecret(serialise(e) + serialise(e2) + log.lines.join("\n"), h.secrets);
      await bad.close();
    });

    it("create → readByIds → findByField → update round trip, timestamps in UTC ISO, author = whoAmI", async () => {
      const me = await c.whoAmI();
      const label = `${run}-rt`;
      const created = await c.create(h.entity, h.newValues(label));
      expect(created.id).toBeTruthy();
      expect(created.modifiedAt).toMatch(ISO_MS);
      expect(created.createdAt).toMatch(ISO_MS);
      expect(Math.abs(Date.parse(created.modifiedAt) - Date.now())).toBeLessThan(120_000);
      expect(created.modifiedBy).toBe(me);
      expect(created.values[h.textField]).toBe(label);

      const [read] = await c.readByIds(h.entity, [created.id, "does-not-exist-0000"]);
      expect(read.id).toBe(created.id);
      expect(read.values[h.textField]).toBe(label);

      const found = await c.findByField(h.entity, h.textField, label);
      expect(found.map((r) => r.id)).toEqual([created.id]);

      const updated = await c.update(h.entity, created.id, { [h.textField]: `${label}-2` });
      expect(updated.values[h.textField]).toBe(`${label}-2`);
      expect(Date.parse(updated.modifiedAt)).toBeGreaterThanOrEqual(Date.parse(created.modifiedAt));
      expect(updated.modifiedBy).toBe(me);
    });

    it("a client-chosen id on create is refused, not silently dropped", async () => {
      const e = await c.create(h.entity, { ...h.newValues(`${run}-id`), [h.idAttribute]: "my-own-id" }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationRejected);
    });

    it("update with a stale version is a VersionConflict; the current version succeeds", async () => {
      if (!h.hasVersion) return;
      const rec = await c.create(h.entity, h.newValues(`${run}-ver`));
      expect(rec.version).toBeTruthy();
      const v1 = rec.version as string;
      await h.touch(rec.id);
      const e = await c.update(h.entity, rec.id, { [h.textField]: `${run}-ver-mine` }, { ifVersion: v1 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VersionConflict);
      const [now] = await c.readByIds(h.entity, [rec.id]);
      const ok = await c.update(h.entity, rec.id, { [h.textField]: `${run}-ver-mine` }, { ifVersion: now.version });
      expect(ok.values[h.textField]).toBe(`${run}-ver-mine`);
    });

    it("findByField: hostile values match exactly one record and never change the query", async () => {
      const hostile = [
        `${run} O'Brien "quoted"`,
        `${run} A&B=C`,
        `${run} 100% off`,
        `${run} under_score`,
        `${run} [bracket]{brace}`,
        `${run} Zürich 東京 🚀`,
        `${run} a+b c`,
        `${run} back\\slash`,
        `${run} #hash?q=1`,
      ];
      // Decoys a `like` or a broken encoding would also match.
      const decoys = [`${run} 100X off`, `${run} underXscore`, `${run} A`, `${run} O'Brien`];
      const ids = new Map<string, string>();
      for (const v of [...hostile, ...decoys]) ids.set(v, (await c.create(h.entity, h.newValues(v))).id);
      for (const v of hostile) {
        const found = await c.findByField(h.entity, h.textField, v);
        expect(
          found.map((r) => r.id),
          v,
        ).toEqual([ids.get(v)]);
      }
    });

    it("readChanges: every record exactly once, ordered by (modifiedAt, id), over many pages", async () => {
      const prefix = `${run}w`;
      const ids = await h.seed(120, prefix);
      const { records, pages } = await walk(c, h.entity, { pageSize: 25, filter: byPrefix(prefix) });
      expect(pages).toBeGreaterThanOrEqual(5);
      const got = counts(records.map((r) => r.id));
      for (const id of ids) expect(got.get(id), id).toBe(1);
      expect(records.length).toBe(ids.length);
      for (const r of records) expect(r.modifiedAt).toMatch(ISO_MS);
      for (let i = 1; i < records.length; i++) expect(records[i].modifiedAt >= records[i - 1].modifiedAt).toBe(true);
    });

    it("readChanges with fields: the named fields plus id and timestamps", async () => {
      const prefix = `${run}c`;
      const ids = await h.seed(5, prefix);
      const { records } = await walk(c, h.entity, { fields: [h.textField], filter: byPrefix(prefix) });
      expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
      for (const r of records) {
        expect(String(r.values[h.textField])).toMatch(new RegExp(`^${prefix}-\\d+$`));
        expect(r.modifiedAt).toMatch(ISO_MS);
        expect(r.createdAt).toMatch(ISO_MS);
      }
    });

    it("readChanges: records sharing one timestamp across page boundaries are neither missed nor repeated", async () => {
      const prefix = `${run}s`;
      const ids = await h.seed(53, prefix, { sameTimestamp: true });
      const { records } = await walk(c, h.entity, { pageSize: 7, filter: byPrefix(prefix) });
      expect(new Set(records.map((r) => r.modifiedAt)).size).toBe(1);
      const got = counts(records.map((r) => r.id));
      expect([...got.values()].every((n) => n === 1)).toBe(true);
      expect([...got.keys()].sort()).toEqual([...ids].sort());
    });

    it("readChanges from a cursor returns what changed after it (incremental read)", async () => {
      const prefix = `${run}i`;
      const ids = await h.seed(30, prefix);
      const first = await walk(c, h.entity, { pageSize: 10, filter: byPrefix(prefix) });
      const last = first.records[first.records.length - 1];
      const cursor = { modifiedAt: last.modifiedAt, id: last.id };
      // Let the clock pass the cursor's second (second-precision systems).
      await new Promise((r) => setTimeout(r, 1100));
      const changed = [ids[3], ids[17], ids[29]];
      for (const id of changed) await h.touch(id);
      const second = await walk(c, h.entity, { pageSize: 10, filter: byPrefix(prefix), since: cursor });
      const got = second.records.map((r) => r.id);
      for (const id of changed) expect(got).toContain(id);
      // Nothing strictly before the cursor; nothing at the cursor's own instant that sorted before it
      // (a system with sub-millisecond timestamps may re-read rows inside the cursor's millisecond).
      for (const r of second.records) {
        expect(r.modifiedAt >= cursor.modifiedAt).toBe(true);
        const untouched = !changed.includes(r.id);
        if (untouched) expect(r.modifiedAt, `${r.id} re-read`).toBe(cursor.modifiedAt);
      }
      const atCursor = first.records.filter((r) => r.modifiedAt === cursor.modifiedAt).length;
      expect(got.length).toBeLessThanOrEqual(changed.length + atCursor);
      const withOverlap = await walk(c, h.entity, { pageSize: 10, filter: byPrefix(prefix), since: cursor, overlapMs: 3_600_000 });
      expect(withOverlap.records.length).toBeGreaterThanOrEqual(ids.length);
    });

    it("readChanges: records modified during the walk do not make unread records skip", async () => {
      const prefix = `${run}m`;
      const ids = await h.seed(60, prefix);
      const seen: string[] = [];
      const touched = new Set<string>();
      let pageNo = 0;
      const shiftsBefore = (c as unknown as { shifts?: number }).shifts;
      for await (const page of c.readChanges(h.entity, { pageSize: 10, filter: byPrefix(prefix) })) {
        seen.push(...page.records.map((r) => r.id));
        if (pageNo++ === 1) {
          // Move already-read records to the end: a plain offset walk would now skip unread ones.
          for (const r of page.records.slice(0, 5)) {
            await h.touch(r.id);
            touched.add(r.id);
          }
        }
      }
      const got = counts(seen);
      for (const id of ids) {
        // A changed record comes again after its change (its timestamp moved to now); others exactly once.
        // (Connectors that count detected shifts expose `shifts`; the walk must have noticed.)
        if (touched.has(id)) expect(got.get(id), id).toBe(2);
        else expect(got.get(id), id).toBe(1);
      }
      const shiftsAfter = (c as unknown as { shifts?: number }).shifts;
      if (shiftsBefore !== undefined && shiftsAfter !== undefined) expect(shiftsAfter).toBeGreaterThan(shiftsBefore);
    });

    it("under faults on 10% of requests (429/5xx/timeouts/drops/truncation) every record is read exactly once per walk", async () => {
      const prefix = `${run}f`;
      const ids = await h.seed(200, prefix);
      const log = new CapturedLog();
      const fc = h.makeConnector({ options: { timeoutMs: 400, maxRetries: 8, baseDelayMs: 5, maxDelayMs: 40 }, logger: log });
      await h.faults({
        rate: 0.1,
        kinds: ["429", "500", "502", "503", "slow", "drop", "truncate"],
        retryAfterSec: 0,
        slowMs: 1000,
        seed: 7,
      });
      let result: Awaited<ReturnType<typeof walk>>;
      let result2: Awaited<ReturnType<typeof walk>>;
      try {
        result = await walk(fc, h.entity, { pageSize: 10, filter: byPrefix(prefix) });
        result2 = await walk(fc, h.entity, { pageSize: 7, filter: byPrefix(prefix) });
      } finally {
        await h.faults(null);
      }
      for (const r of [result, result2]) {
        const got = counts(r.records.map((x) => x.id));
        expect(r.records.length).toBe(ids.length);
        for (const id of ids) expect(got.get(id), id).toBe(1);
      }
      // 200 records, 10 a page: 20 pages, or up to 23 with the one-row overlap of verified offset paging.
      expect(result.pages).toBeGreaterThanOrEqual(20);
      expect(result.pages).toBeLessThanOrEqual(Math.ceil(200 / 9) + 1);
      const st = fc.stats();
      expect(st.retries).toBeGreaterThan(0);
      expect(Object.keys(st.errors).length).toBeGreaterThan(0);
      expectNoSecret(log.lines.join("\n"), h.secrets);
      await fc.close();
    });

    it("creates under faults are never repeated blindly: 429 is retried, an ambiguous failure is surfaced as Transient", async () => {
      const fc = h.makeConnector({ options: { timeoutMs: 300, maxRetries: 4, baseDelayMs: 5, maxDelayMs: 20 } });
      await h.faults({ everyNth: 2, kinds: ["429", "slow", "drop", "502"], methods: ["POST"], retryAfterSec: 0, slowMs: 800 });
      const outcomes: { label: string; ok: boolean; err?: unknown }[] = [];
      try {
        for (let i = 0; i < 8; i++) {
          const label = `${run}-fc-${i}`;
          try {
            await fc.create(h.entity, h.newValues(label));
            outcomes.push({ label, ok: true });
          } catch (e) {
            outcomes.push({ label, ok: false, err: e });
          }
        }
      } finally {
        await h.faults(null);
      }
      // Let the slow (timed-out) requests finish on the server.
      await new Promise((r) => setTimeout(r, 1000));
      let happenedAnyway = 0;
      for (const o of outcomes) {
        const n = (await c.findByField(h.entity, h.textField, o.label)).length;
        if (o.ok) expect(n, o.label).toBe(1);
        else {
          happenedAnyway += n;
          expect(o.err, o.label).toBeInstanceOf(Transient);
          expect(n, o.label).toBeLessThanOrEqual(1); // never a duplicate made by our own retry
        }
      }
      expect(outcomes.some((o) => !o.ok)).toBe(true);
      // A timed-out create still happened on the server: exactly why it is not retried blindly.
      if (h.slowRequestsStillComplete) expect(happenedAnyway).toBeGreaterThanOrEqual(1);
      expect(fc.stats().retries).toBeGreaterThanOrEqual(1); // the 429s
      await fc.close();
    });

    it("rate limit is honoured (measured)", async () => {
      const rc = h.makeConnector({ options: { rateLimit: { perSecond: 10, burst: 1 } } });
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 11 }, () => rc.readByIds(h.entity, ["nope-0"])));
      const elapsed = Date.now() - t0;
      expect(rc.stats().calls).toBeGreaterThanOrEqual(11);
      expect(elapsed).toBeGreaterThanOrEqual(950);
      await rc.close();
    });

    it("daily budget: RateLimited with a clear message, and no call is made past it", async () => {
      const bc = h.makeConnector({ options: { rateLimit: { dailyBudget: 2 } } });
      await bc.whoAmI();
      await bc.readByIds(h.entity, ["nope-1"]);
      const before = await h.requestCount();
      const e = await bc.findByField(h.entity, h.textField, "x").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RateLimited);
      expect((e as Error).message).toMatch(/daily API budget/);
      expect(await h.requestCount()).toBe(before);
      await bc.close();
    });

    it("a field that does not exist (renamed/removed) is SchemaDrift naming it, after one call, not retried", async () => {
      const before = c.stats();
      const e = await c.findByField(h.entity, "accordNoSuchField", "x").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SchemaDrift);
      expect((e as SchemaDrift).where.field).toBe("accordNoSuchField");
      expect(c.stats().calls - before.calls).toBe(1);
      expect(c.stats().retries).toBe(before.retries);
    });

    it("describe maps the entity's fields to neutral types", async () => {
      const s = await c.describe([h.entity]);
      const e = s.entities[h.entity];
      expect(e).toBeTruthy();
      const f = e.fields[h.textField];
      expect(f).toBeTruthy();
      expect(["string", "text"]).toContain(f.type);
      expect(f.nativeType).toBeTruthy();
    });

    it("listIds returns every id exactly once", async () => {
      if (!c.listIds) return; // optional member
      const ids = await h.seed(15, `${run}l`);
      const all: string[] = [];
      for await (const chunk of c.listIds!(h.entity)) all.push(...chunk);
      const got = counts(all);
      expect([...got.values()].every((n) => n === 1)).toBe(true);
      for (const id of ids) expect(got.get(id)).toBe(1);
    });

    it("parseWebhook accepts the system's signature and rejects a missing or forged one", async () => {
      if (!c.parseWebhook) return; // optional member
      const secret = "whsec-0123456789abcdef";
      const body = h.webhookBody("rec-1");
      const { headers, url } = h.signWebhook(body, secret);
      const events = c.parseWebhook!({ headers, rawBody: body, url }, secret);
      expect(events.length).toBeGreaterThan(0);
      expect(events[0].id).toBe("rec-1");
      const forged = Buffer.from(body.toString("utf8").replace("rec-1", "rec-2"));
      expect(() => c.parseWebhook!({ headers, rawBody: forged, url }, secret)).toThrow(AuthError);
      expect(() => c.parseWebhook!({ headers: {}, rawBody: body, url }, secret)).toThrow(AuthError);
      expect(() => c.parseWebhook!({ headers, rawBody: body, url }, `${secret}x`)).toThrow(AuthError);
    });
  });
}
