/**
 * The job queue's semantics on both backends — pg-boss on the real PostgreSQL (a fresh schema for the
 * store and one for pg-boss, dropped afterwards) and the in-process queue on SQLite:
 * retry with backoff then dead letter, at most one active job per (integration, object), coalescing
 * without losing a webhook's ids, and a job held by a dead worker retried after its lease lapses.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PgBoss } from "pg-boss";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PgBossQueue, SYNC_QUEUE } from "../../src/runtime/jobs/pgboss-queue.ts";
import { SqliteQueue } from "../../src/runtime/jobs/sqlite-queue.ts";
import type { Job, JobContext, JobQueue, SyncJob } from "../../src/runtime/jobs/types.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

const PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schemas: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
/** Queues opened by the running test: all stopped after it, so none takes the next test's jobs. */
let open: JobQueue[] = [];

afterEach(async () => {
  await Promise.all(open.map((q) => q.stop({ graceMs: 0 }).catch(() => {})));
  open = [];
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
  await client.end();
});

interface Backend {
  name: "pg-boss" | "sqlite";
  /** A queue on the backend's shared state (a second call = another worker on the same database). */
  open(): Promise<JobQueue>;
  /** A worker that claims one sync job and then dies (never renews, never finishes). Returns when it holds the job. */
  dieHolding(): Promise<void>;
  /** How long until a dead worker's job is retried. */
  lapseMs: number;
}

async function pgBackend(): Promise<Backend> {
  const tag = randomBytes(4).toString("hex");
  const storeSchema = `jobs_store_${tag}`;
  const bossSchema = `jobs_boss_${tag}`;
  schemas.push(storeSchema, bossSchema);
  const store = await openStore({ url: PG_URL, schema: storeSchema });
  cleanups.push(() => store.close());
  const make = (s: Store) =>
    new PgBossQueue({
      url: PG_URL,
      schema: bossSchema,
      store: s,
      heartbeatSeconds: 10,
      superviseSeconds: 1,
      onError: (e) => {
        if (process.env.DEBUG_JOBS) process.stderr.write(`queue error: ${e.message}\n`);
      },
      retryLimit: 2,
      retryDelaySeconds: 1,
      pollingSeconds: 0.5,
    });
  return {
    name: "pg-boss",
    async open() {
      const q = make(store);
      open.push(q);
      await q.start();
      return q;
    },
    async dieHolding() {
      const boss = new PgBoss({ connectionString: PG_URL, schema: bossSchema, supervise: false, schedule: false });
      await boss.start();
      cleanups.push(() => boss.stop({ graceful: false, close: true }));
      for (let i = 0; i < 40; i++) {
        const got = await boss.fetch(SYNC_QUEUE);
        if (got.length) return; // claimed, with a heartbeat it will never refresh
        await sleep(100);
      }
      throw new Error("the dead worker never got the job");
    },
    lapseMs: 25_000,
  };
}

async function sqliteBackend(): Promise<Backend> {
  const store = await openStore({ file: ":memory:" });
  cleanups.push(() => store.close());
  const make = (leaseMs: number) => new SqliteQueue({ store, leaseMs, maxAttempts: 3, retryDelayMs: 200, pollMs: 50 });
  return {
    name: "sqlite",
    async open() {
      const q = make(400);
      open.push(q);
      await q.start();
      return q;
    },
    async dieHolding() {
      const q = make(400);
      let got!: () => void;
      const holding = new Promise<void>((r) => {
        got = r;
      });
      await q.work(async () => {
        got();
        await new Promise(() => {}); // hangs: the process "died" holding it
      });
      await holding;
      await q.stop({ graceMs: 0 }); // no more lease renewals
    },
    lapseMs: 3000,
  };
}

function sync(object: string, extra: Partial<SyncJob> = {}): SyncJob {
  return { kind: "sync", integration: "acme", object, trigger: "poll", ...extra };
}

async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

for (const make of [sqliteBackend, pgBackend]) {
  describe.sequential(`job queue [${make === pgBackend ? "pg-boss on PostgreSQL" : "in-process on SQLite"}]`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });

    it("retries a failing job with growing delays, then dead-letters it", { timeout: 40_000 }, async () => {
      const q = await backend.open();
      const attempts: number[] = [];
      await q.work(async (job: Job, ctx: JobContext) => {
        if (job.kind === "sync" && job.object === "failing") {
          attempts.push(Date.now());
          throw new Error(`boom on attempt ${ctx.attempt}`);
        }
      });
      await q.enqueue(sync("failing"));
      await until("three attempts and a dead job", 30_000, async () => {
        const dead = (await q.listJobs({ integration: "acme" })).filter((j) => j.state === "dead");
        return attempts.length >= 3 && dead.length > 0;
      });
      await sleep(backend.name === "pg-boss" ? 3000 : 500);
      expect(attempts.length).toBe(3); // the first + 2 retries, no more
      const gaps = [attempts[1] - attempts[0], attempts[2] - attempts[1]];
      const first = backend.name === "pg-boss" ? 900 : 100;
      expect(gaps[0]).toBeGreaterThanOrEqual(first);
      expect(gaps[1]).toBeGreaterThan(gaps[0] * 0.9); // backoff: the delay grows (jitter aside)
      const dead = (await q.listJobs({ integration: "acme", state: "dead" }))[0];
      expect(dead.job).toMatchObject({ kind: "sync", object: "failing" });
      expect(dead.error ?? "").toMatch(/boom/);
      await q.stop({ graceMs: 0 });
    });

    it("runs at most one job per (integration, object) at a time; other keys run beside it", { timeout: 30_000 }, async () => {
      const q1 = await backend.open();
      const q2 = await backend.open(); // a second worker on the same database
      const spans: Array<{ object: string; start: number; end: number; records?: string[] }> = [];
      const started: string[] = [];
      const handler = async (job: Job) => {
        if (job.kind !== "sync") return;
        started.push(job.object);
        const start = Date.now();
        await sleep(600);
        spans.push({ object: job.object, start, end: Date.now(), records: job.records?.crm });
      };
      await q1.work(handler, { concurrency: 4 });
      await q2.work(handler, { concurrency: 4 });
      await q1.enqueue(sync("customer"));
      await q1.enqueue(sync("contact"));
      await until("customer started", 5000, () => started.includes("customer"));
      // while customer runs: more asks for customer (one queues, the rest coalesce into it)
      for (let i = 0; i < 5; i++) await q2.enqueue(sync("customer", { trigger: "webhook", records: { crm: [`c${i}`] } }));
      await until(
        "customer twice and contact once",
        15_000,
        () => spans.filter((s) => s.object === "customer").length >= 2 && spans.some((s) => s.object === "contact"),
      );
      await sleep(1500);
      const customer = spans.filter((s) => s.object === "customer").sort((a, b) => a.start - b.start);
      for (let i = 1; i < customer.length; i++) expect(customer[i].start).toBeGreaterThanOrEqual(customer[i - 1].end);
      expect(customer.length).toBe(2); // coalesced: the five asks made one more run
      const contact = spans.find((s) => s.object === "contact");
      expect(contact && contact.start < customer[0].end).toBe(true); // another key ran beside it
      await q1.stop({ graceMs: 0 });
      await q2.stop({ graceMs: 0 });
    });

    it("coalesces without loss: a targeted job merged into a queued one still carries its ids", { timeout: 30_000 }, async () => {
      const q = await backend.open();
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const seen: SyncJob[] = [];
      await q.work(async (job: Job) => {
        if (job.kind !== "sync" || job.object !== "deal") return;
        seen.push(job);
        if (seen.length === 1) await gate;
      });
      await q.enqueue(sync("deal", { trigger: "webhook", records: { crm: ["first"] } }));
      await until("the first run started", 5000, () => seen.length === 1);
      const ids = await Promise.all([
        q.enqueue(sync("deal", { trigger: "webhook", records: { crm: ["a"] } })),
        q.enqueue(sync("deal", { trigger: "webhook", records: { crm: ["b"], erp: ["X"] } })),
      ]);
      const third = await q.enqueue(sync("deal", { trigger: "webhook", records: { crm: ["c"] } }));
      expect(third).toBeNull(); // coalesced into the queued one
      expect(ids.filter((x) => x !== null).length).toBe(1);
      release();
      await until("the second run", 10_000, () => seen.length >= 2);
      await sleep(1000);
      expect(seen.length).toBe(2);
      expect(new Set(seen[1].records?.crm)).toEqual(new Set(["a", "b", "c"]));
      expect(seen[1].records?.erp).toEqual(["X"]);
      // an incremental ask joining targeted ones makes an incremental run (it covers the ids)
      let releaseAgain!: () => void;
      const gate2 = new Promise<void>((r) => {
        releaseAgain = r;
      });
      const more: SyncJob[] = [];
      await q.stop({ graceMs: 0 });
      const q2 = await backend.open();
      await q2.work(async (job: Job) => {
        if (job.kind !== "sync" || job.object !== "invoice") return;
        more.push(job);
        if (more.length === 1) await gate2;
      });
      await q2.enqueue(sync("invoice"));
      await until("invoice started", 5000, () => more.length === 1);
      await q2.enqueue(sync("invoice", { trigger: "webhook", records: { erp: ["INV-1"] } }));
      await q2.enqueue(sync("invoice", { trigger: "schedule" }));
      releaseAgain();
      await until("the second invoice run", 10_000, () => more.length >= 2);
      expect(more[1].records).toBeUndefined();
      expect(more[1].trigger).toBe("schedule");
    });

    it("keeps schedules per key: setSchedules replaces an integration's set and leaves the others", async () => {
      const q = await backend.open();
      const list = async () => {
        const l = await (
          q as unknown as {
            listSchedules(p?: string): Promise<Array<{ key: string; cron: string }>> | Array<{ key: string; cron: string }>;
          }
        ).listSchedules("");
        return l.map((s) => `${s.key} ${s.cron}`).sort();
      };
      await q.setSchedules("acme/", [
        { key: "acme/customer", cron: "* * * * *", job: sync("customer") },
        { key: "acme/customer/reconcile", cron: "30 * * * *", job: sync("customer", { trigger: "reconcile", reconcile: true }) },
      ]);
      await q.setSchedules("globex/", [{ key: "globex/order", cron: "0 2 * * *", job: { ...sync("order"), integration: "globex" } }]);
      await q.setSchedules("acme/", [{ key: "acme/customer", cron: "0 * * * *", job: sync("customer") }]); // again, changed
      expect(await list()).toEqual(["acme/customer 0 * * * *", "globex/order 0 2 * * *"]);
      await q.setSchedules("globex/", []);
      expect(await list()).toEqual(["acme/customer 0 * * * *"]);
    });

    it("stop(): the handler's signal aborts at once, and its job goes back to the queue for the next worker", {
      timeout: 30_000,
    }, async () => {
      const q = await backend.open();
      let started = false;
      await q.work(async (job: Job, ctx: JobContext) => {
        if (job.kind !== "sync" || job.object !== "long") return;
        started = true;
        await new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("stopped after the page"))));
      });
      await q.enqueue(sync("long", { trigger: "manual" }));
      await until("the long job to start", 10_000, () => started);
      const t = Date.now();
      await q.stop({ graceMs: 10_000 });
      expect(Date.now() - t).toBeLessThan(3000);
      const next = await backend.open();
      let ranAgain = false;
      await next.work(async (job: Job) => {
        if (job.kind === "sync" && job.object === "long") ranAgain = true;
      });
      await until("the job to run on the next worker", 15_000, () => ranAgain);
    });

    it("retries a job held by a dead worker once its lease/heartbeat lapses", { timeout: 60_000 }, async () => {
      const q = await backend.open();
      await q.enqueue(sync("orphan", { trigger: "manual" }));
      const t0 = Date.now();
      await backend.dieHolding();
      const ran: Array<{ at: number; attempt: number }> = [];
      await q.work(async (job: Job, ctx: JobContext) => {
        if (job.kind === "sync" && job.object === "orphan") ran.push({ at: Date.now(), attempt: ctx.attempt });
      });
      await until("the orphan job to run on the live worker", backend.lapseMs + 10_000, () => ran.length > 0);
      expect(ran[0].attempt).toBe(2); // the dead worker's attempt counted
      expect(ran[0].at - t0).toBeGreaterThanOrEqual(backend.name === "pg-boss" ? 9000 : 300); // not before the lapse
      const jobs = await q.listJobs({ integration: "acme" });
      await until("completed", 5000, async () =>
        (await q.listJobs({ integration: "acme" })).some((j) => (j.job as SyncJob).object === "orphan" && j.state === "completed"),
      );
      expect(jobs.length).toBeGreaterThan(0);
      await q.stop({ graceMs: 0 });
    });
  });
}
