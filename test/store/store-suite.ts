/**
 * The store's behaviour, as one suite run against every dialect (sqlite :memory:, sqlite
 * file, postgres). Each dialect file supplies a harness; nothing here names a dialect.
 */
import { sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { Duplicate, NotFound, VersionConflict } from "../../src/errors.ts";
import type { KyselyStore } from "../../src/store/index.ts";
import { storeMigrations } from "../../src/store/migrations/index.ts";
import type { ChangeLogEntry, Json, Link, Store } from "../../src/store/types.ts";

/** Migrations applied to a fresh store (0001_initial, 0002_operations, …). */
const MIGRATIONS = Object.keys(storeMigrations("sqlite")).length;

export interface StoreHarness {
  dialect: "sqlite" | "postgres";
  /** An empty, migrated store (closed by the harness, or by the test when it says so). */
  fresh(): Promise<Store>;
  /** Open another store on the same database as the last fresh() one (a second process, in effect); absent for :memory:. */
  reopen?: () => Promise<Store>;
}

/** Rows in Kysely's migration bookkeeping table, read through the store's own connection. */
async function migrationCount(s: Store): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from kysely_migration`.execute((s as KyselyStore).kysely);
  return Number(r.rows[0]?.n);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function newLink(over: Partial<Link> = {}): Omit<Link, "id" | "createdAt" | "updatedAt"> {
  return {
    integration: "acme",
    object: "customer",
    crmId: null,
    erpId: null,
    sharedId: null,
    base: {},
    crmVersion: null,
    erpVersion: null,
    pinned: false,
    status: "active",
    ...over,
  };
}

function change(over: Partial<ChangeLogEntry> = {}): ChangeLogEntry {
  return {
    integration: "acme",
    object: "customer",
    runId: null,
    linkId: null,
    target: "erp",
    recordId: "CUST-1",
    field: "customer_name",
    before: "Old",
    after: "New",
    source: "crm",
    rule: "one-sided change",
    ...over,
  };
}

/** Nested JSON that must survive storage exactly: unicode, nulls, NUL chars, numbers, key order. */
const NASTY: Record<string, Json> = {
  "name|customer_name": "Zoë Ångström — 東京 🚀",
  "address|primary_address": { street: "Rua São João, 12", lines: ["a", null, "", "ü"], geo: { lat: -23.55052, lng: 0 } },
  "empty|empty": null,
  "flags|flags": [true, false, null],
  "nul|nul": "a\u0000b",
  "quote|quote": 'it\'s "quoted" \\ back\nslash\ttab',
  "big|big": 9007199254740991,
  "float|float": 1.5e-7,
  "z|z": 1,
  "a|a": 2,
  "deep|deep": { a: { b: { c: { d: [[[{}]]] } } } },
};

export function defineStoreSuite(title: string, h: StoreHarness): void {
  describe(title, () => {
    let store: Store;
    beforeEach(async () => {
      store = await h.fresh();
    });

    it("reports its dialect", () => {
      expect(store.dialect).toBe(h.dialect);
    });

    describe("migrations", () => {
      it("are idempotent: migrating again changes nothing", async () => {
        const link = await store.saveLink(newLink({ crmId: "A1" }));
        await store.migrate();
        await store.migrate();
        expect(await store.getLink("acme", "customer", { id: link.id })).toEqual(link);
        expect(await migrationCount(store)).toBe(MIGRATIONS);
      });

      // Only where a second connection can reach the same database (not :memory:).
      const reopen = h.reopen;
      if (reopen) {
        it("a second store opened on the same database migrates nothing and sees the data", async () => {
          const link = await store.saveLink(newLink({ crmId: "A1" }));
          const second = await reopen();
          try {
            expect(await second.getLink("acme", "customer", { crmId: "A1" })).toEqual(link);
          } finally {
            await second.close();
          }
          expect(await migrationCount(store)).toBe(MIGRATIONS);
        });

        it("two openers at once both succeed (locking around migrate)", async () => {
          const [a, b] = await Promise.all([reopen(), reopen()]);
          try {
            await Promise.all([a.migrate(), b.migrate()]);
            await a.saveLink(newLink({ crmId: "X" }));
            expect(await b.countLinks("acme", "customer")).toBe(1);
          } finally {
            await a.close();
            await b.close();
          }
          expect(await migrationCount(store)).toBe(MIGRATIONS);
        });
      }
    });

    describe("links", () => {
      it("inserts, then finds by id, crmId, erpId and sharedId; scoped by integration and object", async () => {
        const l = await store.saveLink(
          newLink({ crmId: "c1", erpId: "E1", sharedId: "S1", crmVersion: "3", erpVersion: "2026-01-01 00:00:00.000001" }),
        );
        expect(l.id).toEqual(expect.any(Number));
        expect(l.createdAt).toMatch(ISO);
        expect(l.updatedAt).toBe(l.createdAt);
        expect(l).toMatchObject({
          crmId: "c1",
          erpId: "E1",
          sharedId: "S1",
          crmVersion: "3",
          erpVersion: "2026-01-01 00:00:00.000001",
          pinned: false,
          status: "active",
        });
        for (const by of [{ id: l.id }, { crmId: "c1" }, { erpId: "E1" }, { sharedId: "S1" }, { crmId: "c1", erpId: "E1" }]) {
          expect(await store.getLink("acme", "customer", by)).toEqual(l);
        }
        expect(await store.getLink("acme", "customer", { crmId: "c1", erpId: "other" })).toBeUndefined();
        expect(await store.getLink("acme", "contact", { crmId: "c1" })).toBeUndefined();
        expect(await store.getLink("other", "customer", { id: l.id })).toBeUndefined();
        expect(await store.getLink("acme", "customer", { crmId: "nope" })).toBeUndefined();
        await expect(store.getLink("acme", "customer", {})).rejects.toThrow(/needs one of/);
      });

      it("updates by id: keeps createdAt, moves updatedAt, stores every field", async () => {
        const l = await store.saveLink(newLink({ crmId: "c1" }));
        await new Promise((r) => setTimeout(r, 5));
        const u = await store.saveLink({
          ...l,
          erpId: "E9",
          sharedId: "S9",
          base: { "a|b": 1 },
          pinned: true,
          status: "deleted-erp",
          crmVersion: "7",
        });
        expect(u.id).toBe(l.id);
        expect(u.createdAt).toBe(l.createdAt);
        expect(u.updatedAt > l.updatedAt).toBe(true);
        expect(u).toMatchObject({ erpId: "E9", sharedId: "S9", base: { "a|b": 1 }, pinned: true, status: "deleted-erp", crmVersion: "7" });
        expect(await store.getLink("acme", "customer", { id: l.id })).toEqual(u);
        expect(await store.countLinks("acme", "customer")).toBe(1);
      });

      it("refuses a second link for the same crm id or erp id (Duplicate), allows many nulls and other scopes", async () => {
        await store.saveLink(newLink({ crmId: "c1", erpId: "E1" }));
        const dupCrm = await store.saveLink(newLink({ crmId: "c1" })).catch((e: unknown) => e);
        expect(dupCrm).toBeInstanceOf(Duplicate);
        expect((dupCrm as Duplicate).where).toMatchObject({ system: "crm", record: "c1" });
        const dupErp = await store.saveLink(newLink({ crmId: "c2", erpId: "E1" })).catch((e: unknown) => e);
        expect(dupErp).toBeInstanceOf(Duplicate);
        expect((dupErp as Duplicate).where).toMatchObject({ system: "erp", record: "E1" });
        // an update that would collide is refused too
        const other = await store.saveLink(newLink({ crmId: "c3" }));
        await expect(store.saveLink({ ...other, crmId: "c1" })).rejects.toBeInstanceOf(Duplicate);
        // nulls do not collide; other objects and integrations do not collide
        await store.saveLink(newLink({ erpId: "E2" }));
        await store.saveLink(newLink({ erpId: "E3" }));
        await store.saveLink(newLink({ crmId: "c1", object: "contact" }));
        await store.saveLink(newLink({ crmId: "c1", integration: "other" }));
        // shared ids are indexed, not unique
        await store.saveLink(newLink({ crmId: "s1", sharedId: "S" }));
        await store.saveLink(newLink({ crmId: "s2", sharedId: "S" }));
        expect((await store.getLink("acme", "customer", { sharedId: "S" }))?.crmId).toBe("s1");
        expect(await store.countLinks("acme", "customer")).toBe(6);
      });

      it("refuses to update a link that does not exist (NotFound)", async () => {
        await expect(store.saveLink({ ...newLink({ crmId: "x" }), id: 424242 })).rejects.toBeInstanceOf(NotFound);
        expect(await store.countLinks("acme", "customer")).toBe(0);
      });

      it("round-trips a nested base snapshot exactly (unicode, nulls, NUL, key order)", async () => {
        const l = await store.saveLink(newLink({ crmId: "u1", base: NASTY }));
        const got = await store.getLink("acme", "customer", { id: l.id });
        expect(got?.base).toEqual(NASTY);
        expect(JSON.stringify(got?.base)).toBe(JSON.stringify(NASTY));
        expect(l.base).toEqual(NASTY);
      });

      it("lists by id with afterId / limit paging, and counts", async () => {
        const ids: number[] = [];
        for (let i = 0; i < 7; i++) ids.push((await store.saveLink(newLink({ crmId: `c${i}` }))).id);
        await store.saveLink(newLink({ crmId: "elsewhere", object: "contact" }));
        expect((await store.listLinks("acme", "customer")).map((l) => l.id)).toEqual(ids);
        const page1 = await store.listLinks("acme", "customer", { limit: 3 });
        const page2 = await store.listLinks("acme", "customer", { afterId: page1[2].id, limit: 3 });
        const page3 = await store.listLinks("acme", "customer", { afterId: page2[2].id, limit: 3 });
        expect([...page1, ...page2, ...page3].map((l) => l.crmId)).toEqual(["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
        expect(await store.countLinks("acme", "customer")).toBe(7);
        expect(await store.countLinks("acme", "contact")).toBe(1);
        expect(await store.countLinks("acme", "nothing")).toBe(0);
      });
    });

    describe("cursors", () => {
      it("upserts per (integration, object, side)", async () => {
        expect(await store.getCursor("acme", "customer", "crm")).toBeUndefined();
        await store.setCursor("acme", "customer", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "a" });
        await store.setCursor("acme", "customer", "erp", { modifiedAt: "2026-02-01T00:00:00.000Z", id: "E" });
        await store.setCursor("acme", "customer", "crm", { modifiedAt: "2026-01-02T00:00:00.000Z", id: "b" });
        expect(await store.getCursor("acme", "customer", "crm")).toEqual({ modifiedAt: "2026-01-02T00:00:00.000Z", id: "b" });
        expect(await store.getCursor("acme", "customer", "erp")).toEqual({ modifiedAt: "2026-02-01T00:00:00.000Z", id: "E" });
        expect(await store.getCursor("acme", "contact", "crm")).toBeUndefined();
        expect(await store.getCursor("other", "customer", "crm")).toBeUndefined();
      });
    });

    describe("runs", () => {
      it("start, finish with counts and error, list newest first with filters", async () => {
        const r1 = await store.startRun("acme", "customer", "sync");
        expect(r1).toMatchObject({
          integration: "acme",
          object: "customer",
          kind: "sync",
          status: "running",
          finishedAt: null,
          error: null,
        });
        expect(r1.counts).toEqual({ read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 });
        expect(r1.startedAt).toMatch(ISO);
        const r2 = await store.startRun("acme", "contact", "plan");
        const r3 = await store.startRun("acme", "customer", "link");
        await store.finishRun(r1.id, "ok", { read: 10, applied: 4, unchanged: 3, held: 2, quarantined: 1 });
        await store.finishRun(r3.id, "failed", { read: 1, applied: 0, unchanged: 0, held: 0, quarantined: 0 }, "AuthError: key revoked");
        const all = await store.listRuns("acme");
        expect(all.map((r) => r.id)).toEqual([r3.id, r2.id, r1.id]);
        const done = all.find((r) => r.id === r1.id);
        expect(done).toMatchObject({ status: "ok", error: null, counts: { read: 10, applied: 4, unchanged: 3, held: 2, quarantined: 1 } });
        expect(done?.finishedAt).toMatch(ISO);
        expect(all.find((r) => r.id === r3.id)).toMatchObject({ status: "failed", error: "AuthError: key revoked" });
        expect(all.find((r) => r.id === r2.id)?.status).toBe("running");
        expect((await store.listRuns("acme", { object: "customer" })).map((r) => r.id)).toEqual([r3.id, r1.id]);
        expect((await store.listRuns("acme", { limit: 1 })).map((r) => r.id)).toEqual([r3.id]);
        expect(await store.listRuns("other")).toEqual([]);
        await expect(store.finishRun(987654, "ok", r1.counts)).rejects.toBeInstanceOf(NotFound);
      });
    });

    describe("change log", () => {
      it("keeps every field and returns a record's history in time order", async () => {
        const run = await store.startRun("acme", "customer", "sync");
        const link = await store.saveLink(newLink({ crmId: "c1", erpId: "CUST-1" }));
        await store.logChanges([
          change({
            runId: run.id,
            linkId: link.id,
            field: "b",
            at: "2026-03-01T00:00:02.000Z",
            before: null,
            after: { street: "Rua 1", n: [1, null] },
          }),
          change({
            runId: run.id,
            linkId: link.id,
            field: "a",
            at: "2026-03-01T00:00:01.000Z",
            source: "person",
            rule: "review resolved by ana",
          }),
          change({ field: "c", at: "2026-03-01T00:00:02.000Z", before: 1.5, after: false }),
          change({ recordId: "CUST-2" }),
          change({ object: "contact" }),
        ]);
        await store.logChanges([]);
        const h = await store.history("acme", "customer", "CUST-1");
        expect(h.map((e) => e.field)).toEqual(["a", "b", "c"]);
        expect(h[0]).toMatchObject({
          source: "person",
          rule: "review resolved by ana",
          runId: run.id,
          linkId: link.id,
          target: "erp",
          before: "Old",
          after: "New",
        });
        expect(h[1]).toMatchObject({ before: null, after: { street: "Rua 1", n: [1, null] } });
        expect(h[2]).toMatchObject({ runId: null, linkId: null, before: 1.5, after: false });
        for (const e of h) {
          expect(e.id).toEqual(expect.any(Number));
          expect(e.at).toMatch(ISO);
        }
        expect(h[1].id).toBeLessThan(h[2].id as number);
        expect(await store.history("acme", "customer", "nope")).toEqual([]);
      });

      it("stamps `at` when absent and logs large batches", async () => {
        const before = new Date().toISOString();
        const many = Array.from({ length: 1234 }, (_, i) => change({ field: `f${i}`, after: i }));
        await store.logChanges(many);
        const h = await store.history("acme", "customer", "CUST-1");
        expect(h).toHaveLength(1234);
        expect(h.map((e) => e.after)).toEqual(many.map((_, i) => i));
        expect((h[0].at as string) >= before).toBe(true);
      });
    });

    describe("review queue", () => {
      const item = {
        integration: "acme",
        object: "customer",
        linkId: null,
        kind: "conflict" as const,
        field: "phone|phone",
        base: "+1 555",
        crm: "+1 556",
        erp: { v: "+1 557", note: null },
        reason: "both sides changed phone since the last sync",
        detail: { policy: "review" },
      };

      it("open → resolved by a person; a second decision is refused", async () => {
        const link = await store.saveLink(newLink({ crmId: "c1" }));
        const r = await store.addReview({ ...item, linkId: link.id });
        expect(r).toMatchObject({ ...item, linkId: link.id, status: "open", resolution: null, resolvedBy: null, resolvedAt: null });
        expect(r.createdAt).toMatch(ISO);
        expect(await store.getReview(r.id)).toEqual(r);
        await store.resolveReview(r.id, { pick: "erp" }, "ana");
        const done = await store.getReview(r.id);
        expect(done).toMatchObject({ status: "resolved", resolution: { pick: "erp" }, resolvedBy: "ana" });
        expect(done?.resolvedAt).toMatch(ISO);
        await expect(store.resolveReview(r.id, { pick: "crm" }, "bo")).rejects.toBeInstanceOf(VersionConflict);
        expect((await store.getReview(r.id))?.resolution).toEqual({ pick: "erp" });
        await expect(store.resolveReview(999999, { pick: "crm" }, "bo")).rejects.toBeInstanceOf(NotFound);
        expect(await store.getReview(999999)).toBeUndefined();
      });

      it("lists by status, object and link; close dismisses or resolves", async () => {
        const link = await store.saveLink(newLink({ crmId: "c1" }));
        const a = await store.addReview(item);
        const b = await store.addReview({ ...item, object: "contact", kind: "match", field: null, base: null, crm: null, erp: null });
        const c = await store.addReview({ ...item, linkId: link.id, kind: "master-edit" });
        await store.closeReview(a.id, "dismissed");
        const dismissed = await store.getReview(a.id);
        expect(dismissed).toMatchObject({ status: "dismissed", resolution: null });
        expect(dismissed?.resolvedAt).toMatch(ISO);
        expect((await store.listReviews("acme")).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
        expect((await store.listReviews("acme", { status: "open" })).map((r) => r.id)).toEqual([b.id, c.id]);
        expect((await store.listReviews("acme", { object: "contact" })).map((r) => r.id)).toEqual([b.id]);
        expect((await store.listReviews("acme", { linkId: link.id })).map((r) => r.id)).toEqual([c.id]);
        expect((await store.listReviews("acme", { status: "dismissed", object: "customer" })).map((r) => r.id)).toEqual([a.id]);
        expect(await store.listReviews("other")).toEqual([]);
        await store.resolveReview(c.id, { value: "+1 999" }, "ana");
        const resolvedAt = (await store.getReview(c.id))?.resolvedAt;
        await store.closeReview(c.id, "resolved");
        expect(await store.getReview(c.id)).toMatchObject({ status: "resolved", resolution: { value: "+1 999" }, resolvedAt });
        await expect(store.closeReview(999999, "dismissed")).rejects.toBeInstanceOf(NotFound);
      });
    });

    describe("create intents", () => {
      const intent = {
        integration: "acme",
        object: "customer",
        target: "erp" as const,
        sourceId: "c1",
        sharedId: "S-1",
        payload: { customer_name: "Zoë", lines: [{ qty: 1 }] },
      };

      it("pending → done / failed; one pending create per source record", async () => {
        const i1 = await store.addCreateIntent(intent);
        expect(i1).toMatchObject({ ...intent, status: "pending", remoteId: null });
        expect(i1.createdAt).toMatch(ISO);
        await expect(store.addCreateIntent(intent)).rejects.toBeInstanceOf(Duplicate);
        const i2 = await store.addCreateIntent({ ...intent, sourceId: "c2", sharedId: null });
        const i3 = await store.addCreateIntent({ ...intent, object: "contact" });
        const i4 = await store.addCreateIntent({ ...intent, target: "crm" });
        expect((await store.pendingCreateIntents("acme")).map((i) => i.id)).toEqual([i1.id, i2.id, i3.id, i4.id]);
        expect((await store.pendingCreateIntents("acme", "contact")).map((i) => i.id)).toEqual([i3.id]);
        await store.completeCreateIntent(i1.id, "CUST-0001");
        await store.failCreateIntent(i2.id);
        expect((await store.pendingCreateIntents("acme", "customer")).map((i) => i.id)).toEqual([i4.id]);
        // once done, a new create for the same source may be recorded
        const again = await store.addCreateIntent(intent);
        expect(again.id).not.toBe(i1.id);
        expect(await store.pendingCreateIntents("other")).toEqual([]);
        await expect(store.completeCreateIntent(999999, "x")).rejects.toBeInstanceOf(NotFound);
        await expect(store.failCreateIntent(999999)).rejects.toBeInstanceOf(NotFound);
      });

      it("done and failed intents leave the pending list (also as read inside a transaction)", async () => {
        const i1 = await store.addCreateIntent(intent);
        await store.completeCreateIntent(i1.id, "CUST-0001");
        // read back through a transaction-bound store to also prove tx reads see committed rows
        const rows = await store.transaction(async (tx) => tx.pendingCreateIntents("acme"));
        expect(rows).toEqual([]);
        const failed = await store.addCreateIntent({ ...intent, sourceId: "c9" });
        await store.failCreateIntent(failed.id);
        expect(await store.pendingCreateIntents("acme")).toEqual([]);
      });
    });

    describe("quarantine", () => {
      const entry = {
        integration: "acme",
        object: "customer",
        side: "crm" as const,
        recordId: "c1",
        errorClass: "ValidationRejected",
        reason: "tax id missing",
        payload: { name: "Zoë", taxId: null },
      };

      it("open → edited and released → quarantined again (attempts grow) → resolved", async () => {
        const q1 = await store.quarantine(entry);
        expect(q1).toMatchObject({ ...entry, attempts: 1, status: "open" });
        expect(q1.createdAt).toMatch(ISO);
        const q2 = await store.quarantine({ ...entry, reason: "tax id still missing" });
        expect(q2).toMatchObject({ id: q1.id, attempts: 2, reason: "tax id still missing", status: "open" });
        await store.updateQuarantine(q1.id, { payload: { name: "Zoë", taxId: "PT123" }, status: "released" });
        let [cur] = await store.listQuarantine("acme");
        expect(cur).toMatchObject({ id: q1.id, status: "released", payload: { name: "Zoë", taxId: "PT123" }, attempts: 2 });
        expect(cur.updatedAt >= q1.updatedAt).toBe(true);
        const q3 = await store.quarantine({ ...entry, errorClass: "Transient", reason: "timeout" });
        expect(q3).toMatchObject({ id: q1.id, attempts: 3, status: "open", errorClass: "Transient" });
        await store.updateQuarantine(q1.id, { status: "resolved", reason: "fixed by hand", errorClass: "none" });
        [cur] = await store.listQuarantine("acme", { status: "resolved" });
        expect(cur).toMatchObject({ id: q1.id, status: "resolved", reason: "fixed by hand", errorClass: "none" });
        // a resolved entry is history: the next failure opens a new one
        const q4 = await store.quarantine(entry);
        expect(q4.id).not.toBe(q1.id);
        expect(q4.attempts).toBe(1);
        await expect(store.updateQuarantine(999999, { status: "released" })).rejects.toBeInstanceOf(NotFound);
      });

      it("lists by object and status, scoped by integration", async () => {
        const a = await store.quarantine(entry);
        const b = await store.quarantine({ ...entry, side: "erp" });
        const c = await store.quarantine({ ...entry, object: "contact" });
        await store.updateQuarantine(b.id, { status: "released" });
        expect((await store.listQuarantine("acme")).map((q) => q.id)).toEqual([a.id, b.id, c.id]);
        expect((await store.listQuarantine("acme", { object: "customer" })).map((q) => q.id)).toEqual([a.id, b.id]);
        expect((await store.listQuarantine("acme", { status: "open" })).map((q) => q.id)).toEqual([a.id, c.id]);
        expect((await store.listQuarantine("acme", { object: "customer", status: "released" })).map((q) => q.id)).toEqual([b.id]);
        expect(await store.listQuarantine("other")).toEqual([]);
      });
    });

    describe("pins", () => {
      it("pins and unpins per side and record, idempotently", async () => {
        expect(await store.isPinned("acme", "customer", "crm", "c1")).toBe(false);
        await store.setPinned("acme", "customer", "crm", "c1", true);
        await store.setPinned("acme", "customer", "crm", "c1", true);
        expect(await store.isPinned("acme", "customer", "crm", "c1")).toBe(true);
        expect(await store.isPinned("acme", "customer", "erp", "c1")).toBe(false);
        expect(await store.isPinned("acme", "contact", "crm", "c1")).toBe(false);
        expect(await store.isPinned("other", "customer", "crm", "c1")).toBe(false);
        await store.setPinned("acme", "customer", "crm", "c1", false);
        await store.setPinned("acme", "customer", "crm", "c1", false);
        expect(await store.isPinned("acme", "customer", "crm", "c1")).toBe(false);
      });
    });

    describe("schema snapshots and spec versions", () => {
      it("returns the latest accepted schema per side", async () => {
        expect(await store.latestSchemaSnapshot("acme", "crm")).toBeUndefined();
        const s2 = {
          integration: "acme",
          side: "crm" as const,
          schema: { Account: { fields: { name: { type: "varchar" } } } },
          acceptedAt: "2026-02-01T00:00:00.000Z",
        };
        const s1 = { ...s2, schema: { Account: { fields: {} } }, acceptedAt: "2026-01-01T00:00:00.000Z" };
        await store.saveSchemaSnapshot(s2);
        await store.saveSchemaSnapshot(s1); // saved later, accepted earlier
        await store.saveSchemaSnapshot({ ...s2, side: "erp", schema: ["erp"], acceptedAt: "2026-03-01T00:00:00.000Z" });
        expect(await store.latestSchemaSnapshot("acme", "crm")).toEqual(s2);
        expect((await store.latestSchemaSnapshot("acme", "erp"))?.schema).toEqual(["erp"]);
        expect(await store.latestSchemaSnapshot("other", "crm")).toBeUndefined();
      });

      it("keeps spec versions, newest first", async () => {
        expect(await store.listSpecVersions("acme")).toEqual([]);
        const v1 = await store.saveSpecVersion({
          integration: "acme",
          hash: "h1",
          text: "name: acme\n# ü\n",
          author: "ana",
          why: "first",
          plan: null,
        });
        const v2 = await store.saveSpecVersion({
          integration: "acme",
          hash: "h2",
          text: "name: acme\nobjects: {}\n",
          author: null,
          why: null,
          plan: { ops: [{ kind: "pause", field: "phone" }] },
        });
        await store.saveSpecVersion({ integration: "other", hash: "h1", text: "x", author: null, why: null, plan: null });
        expect(v1.at).toMatch(ISO);
        expect(v1).toMatchObject({ integration: "acme", hash: "h1", text: "name: acme\n# ü\n", author: "ana", why: "first", plan: null });
        expect(await store.listSpecVersions("acme")).toEqual([v2, v1]);
      });
    });

    describe("transactions", () => {
      it("commit: a link and its history are written together", async () => {
        const result = await store.transaction(async (tx) => {
          const link = await tx.saveLink(newLink({ crmId: "c1", erpId: "E1", base: { "a|b": "x" } }));
          await tx.logChanges([change({ linkId: link.id, recordId: "E1" })]);
          await tx.setCursor("acme", "customer", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "c1" });
          expect(await tx.getLink("acme", "customer", { id: link.id })).toEqual(link);
          return link.id;
        });
        expect((await store.getLink("acme", "customer", { id: result }))?.base).toEqual({ "a|b": "x" });
        expect(await store.history("acme", "customer", "E1")).toHaveLength(1);
        expect(await store.getCursor("acme", "customer", "crm")).toBeDefined();
      });

      it("rollback on throw: nothing is written and the error reaches the caller", async () => {
        const boom = new Error("crash between writes");
        await expect(
          store.transaction(async (tx) => {
            const link = await tx.saveLink(newLink({ crmId: "c1", base: NASTY }));
            await tx.logChanges([change({ linkId: link.id })]);
            await tx.setCursor("acme", "customer", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "c1" });
            await tx.startRun("acme", "customer", "sync");
            await tx.addCreateIntent({
              integration: "acme",
              object: "customer",
              target: "erp",
              sourceId: "c1",
              sharedId: null,
              payload: {},
            });
            await tx.setPinned("acme", "customer", "crm", "c1", true);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store.countLinks("acme", "customer")).toBe(0);
        expect(await store.history("acme", "customer", "CUST-1")).toEqual([]);
        expect(await store.getCursor("acme", "customer", "crm")).toBeUndefined();
        expect(await store.listRuns("acme")).toEqual([]);
        expect(await store.pendingCreateIntents("acme")).toEqual([]);
        expect(await store.isPinned("acme", "customer", "crm", "c1")).toBe(false);
        // and the store still works afterwards
        await store.saveLink(newLink({ crmId: "c1" }));
        expect(await store.countLinks("acme", "customer")).toBe(1);
      });

      it("rolls back the whole transaction when a statement fails (duplicate link)", async () => {
        await store.saveLink(newLink({ crmId: "c1" }));
        await expect(
          store.transaction(async (tx) => {
            await tx.saveLink(newLink({ crmId: "c2" }));
            await tx.saveLink(newLink({ crmId: "c1" }));
          }),
        ).rejects.toBeInstanceOf(Duplicate);
        expect((await store.listLinks("acme", "customer")).map((l) => l.crmId)).toEqual(["c1"]);
      });

      it("nested transaction = savepoint: an inner failure undoes only the inner writes", async () => {
        await store.transaction(async (tx) => {
          await tx.saveLink(newLink({ crmId: "outer" }));
          await expect(
            tx.transaction(async (inner) => {
              await inner.saveLink(newLink({ crmId: "inner" }));
              throw new Error("inner fails");
            }),
          ).rejects.toThrow("inner fails");
          await tx.transaction(async (inner) => {
            await inner.saveLink(newLink({ crmId: "inner-ok" }));
          });
        });
        expect((await store.listLinks("acme", "customer")).map((l) => l.crmId)).toEqual(["outer", "inner-ok"]);
      });

      it("a transaction-bound store cannot migrate or close the connection", async () => {
        await store.transaction(async (tx) => {
          expect(tx.dialect).toBe(h.dialect);
          await expect(tx.migrate()).rejects.toThrow(/inside a transaction/);
          await expect(tx.close()).rejects.toThrow(/transaction-bound/);
        });
      });
    });

    describe("operations (alerts, runtime lock, field activity)", () => {
      const alert = (over: Record<string, unknown> = {}) => ({
        integration: "acme",
        rule: "error-rate",
        object: "customer",
        severity: "warning" as const,
        message: "3% of 100 records failed",
        detail: { rate: 0.03 },
        ...over,
      });

      it("one incident per integration+rule+object: a repeat counts an occurrence, not a new alert", async () => {
        const a = await store.raiseAlert!(alert());
        expect(a.opened).toBe(true);
        expect(a.alert).toMatchObject({ status: "open", occurrences: 1, object: "customer", detail: { rate: 0.03 } });
        expect(a.alert.firstAt).toMatch(ISO);
        const b = await store.raiseAlert!(alert({ message: "4%", detail: { rate: 0.04 } }));
        expect(b.opened).toBe(false);
        expect(b.alert).toMatchObject({ id: a.alert.id, occurrences: 2, message: "4%", detail: { rate: 0.04 } });
        const other = await store.raiseAlert!(alert({ object: "contact" }));
        expect(other.opened).toBe(true);
        expect((await store.listAlerts!("acme")).map((x) => x.object)).toEqual(["contact", "customer"]);
        expect(await store.listAlerts!("other")).toEqual([]);
      });

      it("acknowledge, notify marks, resolve; a resolved incident lets the rule open a new one", async () => {
        const { alert: a } = await store.raiseAlert!(alert({ rule: "auth", object: "", severity: "critical" }));
        await store.markAlertSent!(a.id, "notified");
        expect((await store.getAlert!(a.id))?.notifiedAt).toMatch(ISO);
        const acked = await store.ackAlert!(a.id, "ana");
        expect(acked).toMatchObject({ status: "acknowledged", ackedBy: "ana" });
        expect((await store.raiseAlert!(alert({ rule: "auth", object: "" }))).opened).toBe(false); // still the same incident
        expect((await store.listAlerts!("acme", { status: "active" })).map((x) => x.id)).toEqual([a.id]);
        await store.resolveAlert!(a.id);
        expect((await store.getAlert!(a.id))?.status).toBe("resolved");
        expect(await store.listAlerts!("acme", { status: "active" })).toEqual([]);
        const again = await store.raiseAlert!(alert({ rule: "auth", object: "" }));
        expect(again.opened).toBe(true);
        expect(again.alert.id).not.toBe(a.id);
        await expect(store.ackAlert!(999999, "ana")).rejects.toBeInstanceOf(NotFound);
      });

      it("the runtime lock has one holder at a time; renewals keep it; an expired lease can be taken over", async () => {
        expect(await store.getLock!("acme")).toBeUndefined();
        expect(await store.acquireLock!("acme", "p1", 60_000)).toBe(true);
        expect(await store.getLock!("acme")).toMatchObject({
          holder: "p1",
          acquiredAt: expect.stringMatching(ISO),
          expiresAt: expect.stringMatching(ISO),
        });
        expect(await store.acquireLock!("acme", "p2", 60_000)).toBe(false);
        expect(await store.acquireLock!("acme", "p1", 60_000)).toBe(true); // renewal
        expect(await store.acquireLock!("other", "p2", 60_000)).toBe(true); // per integration
        await store.releaseLock!("acme", "p2"); // not the holder: no effect
        expect(await store.acquireLock!("acme", "p2", 60_000)).toBe(false);
        await store.releaseLock!("acme", "p1");
        expect(await store.acquireLock!("acme", "p2", 1)).toBe(true);
        await new Promise((r) => setTimeout(r, 10));
        expect(await store.acquireLock!("acme", "p3", 60_000)).toBe(true); // p2's lease ran out
        expect(await store.acquireLock!("acme", "p2", 60_000)).toBe(false);
      });

      it("field activity: changes of one field since a time, and the latest ever", async () => {
        expect(await store.fieldChanges!("acme", "customer", "customer_name", "2000-01-01T00:00:00.000Z")).toEqual({
          count: 0,
          lastAt: null,
        });
        await store.logChanges([
          change({ at: "2026-01-01T00:00:00.000Z" }),
          change({ at: "2026-01-02T00:00:00.000Z" }),
          change({ field: "tax_id", at: "2026-01-03T00:00:00.000Z" }),
        ]);
        expect(await store.fieldChanges!("acme", "customer", "customer_name", "2026-01-02T00:00:00.000Z")).toEqual({
          count: 1,
          lastAt: "2026-01-02T00:00:00.000Z",
        });
        expect((await store.fieldChanges!("acme", "customer", "tax_id", "2027-01-01T00:00:00.000Z")).count).toBe(0);
      });
    });
  });
}
