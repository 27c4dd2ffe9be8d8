/**
 * The job queue without PostgreSQL: the same interface in-process, on the store's `jobs` table
 * (migration 0005; works on both dialects, used for SQLite). One process (`accord worker` or embedded).
 *
 *  - one active per key: a sync job is claimed only while no other job of its (integration, object)
 *    holds a live lease;
 *  - coalescing without loss: a sync job asked for while another of its key is queued (or waiting to
 *    retry) is merged into it (coalesce.ts: an incremental run covers targeted ids; targeted ids unite);
 *  - leases: a claimed job carries `lease_until`, renewed every third of `leaseMs` while its handler
 *    runs; a lease that lapses (the process died or hung) puts the job back for another attempt, and
 *    the handler that lost it sees its signal aborted;
 *  - retries with exponential backoff (retryDelayMs · 2^(attempt-1), jittered, capped), then `dead`;
 *  - cron schedules in this process (croner, UTC).
 */
import { hostname } from "node:os";
import { Cron } from "croner";
import type { Kysely } from "kysely";
import type { KyselyStore } from "../../store/kysely-store.ts";
import type { Store } from "../../store/types.ts";
import { isTargeted, mergeSyncJobs, syncKey } from "./coalesce.ts";
import type { EnqueueOptions, Job, JobHandler, JobInfo, JobQueue, JobSchedule, SyncJob } from "./types.ts";

export interface SqliteQueueOptions {
  store: Store;
  /** Lease of a claimed job (default 30 s), renewed every third of it. */
  leaseMs?: number;
  /** Attempts in all (default 6: the first and 5 retries); then the job is dead. */
  maxAttempts?: number;
  /** First retry delay (default 5 s), doubled each attempt, with jitter. */
  retryDelayMs?: number;
  /** Longest retry delay (default 10 min). */
  retryDelayMaxMs?: number;
  /** Idle poll (default 250 ms; an enqueue in this process wakes the loop at once). */
  pollMs?: number;
  worker?: string;
  /** TESTS ONLY: false = no one-active-per-key rule. */
  keyGuard?: boolean;
  now?: () => number;
}

interface JobRow {
  id: number;
  kind: string;
  integration: string;
  job_key: string | null;
  dedupe_key: string | null;
  data: string;
  state: string;
  attempts: number;
  max_attempts: number;
  run_after: number;
  lease_until: number | null;
  worker: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export class SqliteQueue implements JobQueue {
  readonly backend = "sqlite" as const;
  readonly worker: string;
  // biome-ignore lint/suspicious/noExplicitAny: the jobs table is not part of the store's typed schema
  readonly #db: Kysely<any>;
  readonly #opts: SqliteQueueOptions;
  readonly #crons = new Map<string, Cron>();
  readonly #active = new Map<number, { controller: AbortController; done: Promise<void>; renew: ReturnType<typeof setInterval> }>();
  #handler?: JobHandler;
  #concurrency = 1;
  #running = false;
  #loop?: Promise<void>;
  #wake?: () => void;

  constructor(opts: SqliteQueueOptions) {
    const db = (opts.store as Partial<KyselyStore>).kysely;
    if (!db) throw new Error("the in-process queue needs the Kysely store (openStore) for its jobs table");
    this.#db = db;
    this.#opts = opts;
    this.worker = opts.worker ?? `${hostname()}:${process.pid}`;
  }

  get #now(): number {
    return (this.#opts.now ?? Date.now)();
  }
  get #leaseMs(): number {
    return Math.max(100, this.#opts.leaseMs ?? 30_000);
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.#running = false;
    for (const c of this.#crons.values()) c.stop();
    this.#crons.clear();
    this.#wake?.();
    await this.#loop;
    const grace = opts.graceMs ?? 30_000;
    const all = [...this.#active.values()];
    // Runs in flight stop after their page (the worker's connectors watch the signal); their jobs go back to the queue.
    for (const a of all) a.controller.abort(new Error("the worker is stopping"));
    await Promise.race([Promise.allSettled(all.map((a) => a.done)), new Promise((r) => setTimeout(r, grace).unref())]);
    // Still running after the grace: abandoned. Their leases are no longer renewed and lapse.
    for (const a of this.#active.values()) clearInterval(a.renew);
  }

  async enqueue(job: Job, opts: EnqueueOptions = {}): Promise<string | null> {
    const now = this.#now;
    const runAfter = Math.max(now, opts.startAfter ?? now);
    const id = await this.#db.transaction().execute(async (tx) => {
      if (job.kind === "sync") {
        const sync = normalise(job);
        const key = syncKey(sync.integration, sync.object);
        const waiting = (await tx
          .selectFrom("jobs")
          .selectAll()
          .where("job_key", "=", key)
          .where("state", "in", ["queued", "retry"])
          .orderBy("id")
          .executeTakeFirst()) as JobRow | undefined;
        if (waiting && this.#opts.keyGuard !== false) {
          const merged = mergeSyncJobs(JSON.parse(waiting.data) as SyncJob, sync);
          await tx
            .updateTable("jobs")
            .set({ data: JSON.stringify(merged), run_after: Math.min(Number(waiting.run_after), runAfter) })
            .where("id", "=", waiting.id)
            .execute();
          return null;
        }
        return this.#insert(tx, sync, key, opts.dedupeKey ?? null, runAfter, now);
      }
      if (opts.dedupeKey) {
        const dup = await tx
          .selectFrom("jobs")
          .select("id")
          .where("dedupe_key", "=", opts.dedupeKey)
          .where("state", "in", ["queued", "retry"])
          .executeTakeFirst();
        if (dup) return null;
      }
      return this.#insert(tx, job, null, opts.dedupeKey ?? null, runAfter, now);
    });
    this.#wake?.();
    return id === null ? null : String(id);
  }

  // biome-ignore lint/suspicious/noExplicitAny: see #db
  async #insert(tx: Kysely<any>, job: Job, key: string | null, dedupe: string | null, runAfter: number, now: number): Promise<number> {
    const r = await tx
      .insertInto("jobs")
      .values({
        kind: job.kind,
        integration: job.integration,
        job_key: key,
        dedupe_key: dedupe,
        data: JSON.stringify(job),
        state: "queued",
        attempts: 0,
        max_attempts: Math.max(1, this.#opts.maxAttempts ?? 6),
        run_after: runAfter,
        created_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async work(handler: JobHandler, opts: { concurrency?: number } = {}): Promise<void> {
    this.#handler = handler;
    this.#concurrency = Math.max(1, opts.concurrency ?? 1);
    this.#running = true;
    this.#loop ??= this.#poll();
  }

  async #poll(): Promise<void> {
    while (this.#running) {
      let claimed = false;
      try {
        await this.#expireLeases();
        if (this.#active.size < this.#concurrency) {
          const row = await this.#claim();
          if (row) {
            claimed = true;
            this.#launch(row);
          }
        }
      } catch {
        // a busy database or a transient error: try again on the next tick
      }
      if (claimed && this.#active.size < this.#concurrency) continue;
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, this.#opts.pollMs ?? 250);
      });
      this.#wake = undefined;
    }
  }

  /** Active jobs whose lease lapsed (their worker died or hung) go back for another attempt, or die. */
  async #expireLeases(): Promise<void> {
    const now = this.#now;
    const lapsed = (await this.#db
      .selectFrom("jobs")
      .selectAll()
      .where("state", "=", "active")
      .where("lease_until", "<", now)
      .execute()) as JobRow[];
    for (const j of lapsed) {
      const dead = j.attempts >= j.max_attempts;
      await this.#db
        .updateTable("jobs")
        .set({
          state: dead ? "dead" : "retry",
          run_after: now,
          lease_until: null,
          worker: null,
          error: `lease lapsed (worker ${j.worker} stopped renewing it)`,
          ...(dead ? { finished_at: now } : {}),
        })
        .where("id", "=", j.id)
        .where("state", "=", "active")
        .where("lease_until", "<", now)
        .execute();
    }
  }

  async #claim(): Promise<JobRow | undefined> {
    const now = this.#now;
    const candidates = (await this.#db
      .selectFrom("jobs")
      .selectAll()
      .where("state", "in", ["queued", "retry"])
      .where("run_after", "<=", now)
      .orderBy("run_after")
      .orderBy("id")
      .limit(50)
      .execute()) as JobRow[];
    for (const c of candidates) {
      if (c.job_key && this.#opts.keyGuard !== false) {
        const busy = await this.#db
          .selectFrom("jobs")
          .select("id")
          .where("job_key", "=", c.job_key)
          .where("state", "=", "active")
          .executeTakeFirst();
        if (busy) continue;
      }
      const upd = await this.#db
        .updateTable("jobs")
        .set({ state: "active", attempts: c.attempts + 1, worker: this.worker, lease_until: now + this.#leaseMs, started_at: now })
        .where("id", "=", c.id)
        .where("state", "=", c.state)
        .where("attempts", "=", c.attempts)
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) === 1) return { ...c, state: "active", attempts: c.attempts + 1 };
    }
    return undefined;
  }

  #launch(row: JobRow): void {
    const controller = new AbortController();
    const handler = this.#handler;
    if (!handler) return;
    const id = Number(row.id);
    const renew = setInterval(
      () => {
        void this.#db
          .updateTable("jobs")
          .set({ lease_until: this.#now + this.#leaseMs })
          .where("id", "=", id)
          .where("state", "=", "active")
          .where("worker", "=", this.worker)
          .executeTakeFirst()
          .then((r) => {
            if (Number(r.numUpdatedRows) === 0) controller.abort(new Error("lost the job's lease (it lapsed and was taken over)"));
          })
          .catch(() => {});
      },
      Math.max(30, Math.floor(this.#leaseMs / 3)),
    );
    const done = (async () => {
      let error: string | null = null;
      try {
        await handler(JSON.parse(row.data) as Job, {
          id: String(id),
          attempt: row.attempts,
          worker: this.worker,
          signal: controller.signal,
        });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      } finally {
        clearInterval(renew);
      }
      if (error !== null && !this.#running) {
        // cut short by stop(): back to the queue at once (the attempt counts), not a failure to back off from
        await this.#db
          .updateTable("jobs")
          .set({ state: "retry", run_after: this.#now, lease_until: null, worker: null, error: `stopped: ${error}`.slice(0, 2000) })
          .where("id", "=", id)
          .where("state", "=", "active")
          .where("worker", "=", this.worker)
          .execute()
          .catch(() => {});
        return;
      }
      await this.#settle(id, row, error).catch(() => {});
    })().finally(() => {
      this.#active.delete(id);
      this.#wake?.();
    });
    this.#active.set(id, { controller, done, renew });
  }

  async #settle(id: number, row: JobRow, error: string | null): Promise<void> {
    const now = this.#now;
    if (error === null) {
      await this.#db
        .updateTable("jobs")
        .set({ state: "completed", finished_at: now, lease_until: null, error: null })
        .where("id", "=", id)
        .where("state", "=", "active")
        .where("worker", "=", this.worker)
        .where("attempts", "=", row.attempts)
        .execute();
      return;
    }
    const dead = row.attempts >= row.max_attempts;
    const base = this.#opts.retryDelayMs ?? 5000;
    const cap = this.#opts.retryDelayMaxMs ?? 600_000;
    const delay = Math.min(cap, base * 2 ** (row.attempts - 1) * (0.75 + Math.random() * 0.5));
    await this.#db
      .updateTable("jobs")
      .set({
        state: dead ? "dead" : "retry",
        run_after: dead ? now : now + Math.round(delay),
        lease_until: null,
        worker: null,
        error: error.slice(0, 2000),
        ...(dead ? { finished_at: now } : {}),
      })
      .where("id", "=", id)
      .where("state", "=", "active")
      .where("worker", "=", this.worker)
      .execute();
  }

  async setSchedules(prefix: string, schedules: JobSchedule[]): Promise<void> {
    for (const [key, c] of this.#crons)
      if (key.startsWith(prefix)) {
        c.stop();
        this.#crons.delete(key);
      }
    for (const s of schedules) {
      this.#crons.get(s.key)?.stop();
      this.#crons.set(
        s.key,
        new Cron(s.cron, { timezone: "UTC" }, () => {
          if (this.#running) void this.enqueue({ ...s.job, visibleAt: Date.now() }).catch(() => {});
        }),
      );
    }
  }

  /** Schedules registered under a prefix, with their next run (tests, `accord worker`). */
  listSchedules(prefix = ""): Array<{ key: string; cron: string; next: string | null }> {
    return [...this.#crons]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, c]) => ({ key, cron: c.getPattern() ?? "", next: c.nextRun()?.toISOString() ?? null }));
  }

  async listJobs(opts: { integration?: string; state?: JobInfo["state"]; limit?: number } = {}): Promise<JobInfo[]> {
    let q = this.#db
      .selectFrom("jobs")
      .selectAll()
      .orderBy("id", "desc")
      .limit(opts.limit ?? 1000);
    if (opts.integration) q = q.where("integration", "=", opts.integration);
    if (opts.state) q = q.where("state", "=", opts.state);
    const rows = (await q.execute()) as JobRow[];
    const iso = (v: number | null) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
    return rows.reverse().map((r) => ({
      id: String(r.id),
      job: JSON.parse(r.data) as Job,
      state: r.state as JobInfo["state"],
      attempts: Number(r.attempts),
      createdAt: new Date(Number(r.created_at)).toISOString(),
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
      worker: r.worker,
      error: r.error,
    }));
  }
}

function normalise(job: SyncJob): SyncJob {
  if (job.records && !isTargeted(job)) {
    const { records: _r, ...rest } = job;
    return rest;
  }
  return job;
}
