/**
 * The job queue on PostgreSQL: pg-boss (see README.md for why), in its own schema (default `pgboss`)
 * of the DATABASE_URL database.
 *
 * Queues:
 *  - `accord-sync`: policy `stately` with singletonKey `${integration}/${object}` — at most ONE job
 *    active and one queued per (integration, object), enforced by pg-boss's unique index (not by us);
 *    a request equal to a queued one is dropped by pg-boss (`send` returns null): coalescing.
 *  - `accord-webhook`: deliveries as received by the server, turned into targeted sync jobs by a worker.
 *  - `accord-dead`: the dead letter queue of both (a job that failed all its retries); kept for people.
 *
 * No loss by coalescing: every sync request is first written to the store's `job_requests` table
 * (migration 0005); the job that runs reads every request of its key at start and merges them
 * (coalesce.ts: an incremental run covers targeted ids), and deletes those rows only when it
 * succeeds. A failed, retried, killed or dead-lettered run leaves them for the next run of the key.
 *
 * Heartbeats: a job's worker touches it every heartbeatSeconds/2; pg-boss's supervisor (every
 * `superviseSeconds`) moves a job whose heartbeat lapsed back to retry — a SIGKILLed worker's job
 * runs elsewhere after about heartbeatSeconds + superviseSeconds. Retries back off exponentially
 * (retryDelay · 2^n, jittered, capped at retryDelayMax).
 */
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { PgBoss } from "pg-boss";
import type { KyselyStore } from "../../store/kysely-store.ts";
import type { Store } from "../../store/types.ts";
import { isTargeted, mergeSyncJobs, syncKey } from "./coalesce.ts";
import type { EnqueueOptions, Job, JobContext, JobHandler, JobInfo, JobQueue, JobSchedule, SyncJob } from "./types.ts";

export const SYNC_QUEUE = "accord-sync";
export const WEBHOOK_QUEUE = "accord-webhook";
export const DEAD_QUEUE = "accord-dead";

export interface PgBossQueueOptions {
  /** postgres:// URL (DATABASE_URL). */
  url: string;
  /** Schema pg-boss keeps its tables in (created if missing). Default `pgboss` (env ACCORD_PGBOSS_SCHEMA in the CLI). */
  schema?: string;
  /** The store (for `job_requests`): a Kysely store on the same database. */
  store: Store;
  /** A job whose worker stopped touching it for this long is retried elsewhere (min 10, default 15). */
  heartbeatSeconds?: number;
  /** How often pg-boss looks for lapsed heartbeats (default 5 s). */
  superviseSeconds?: number;
  /** Retries after the first attempt (default 5); then the job goes to the dead letter queue. */
  retryLimit?: number;
  /** First retry delay, seconds (default 5); doubled each retry, with jitter. */
  retryDelaySeconds?: number;
  /** Longest retry delay, seconds (default 600). */
  retryDelayMaxSeconds?: number;
  /** A job active longer than this fails even with live heartbeats (default 4 h). */
  expireInSeconds?: number;
  /** How often an idle worker polls for jobs (default 1 s). */
  pollingSeconds?: number;
  /** This worker's name in job listings. */
  worker?: string;
  /**
   * TESTS ONLY: false = a `standard` sync queue without the one-active-per-key policy (to show that
   * the scale test fails without it). Never in production.
   */
  keyGuard?: boolean;
  /** Errors pg-boss reports in the background (lost connection…). */
  onError?: (err: Error) => void;
}

interface RequestRow {
  id: number | string;
  request: string;
}

export class PgBossQueue implements JobQueue {
  readonly backend = "pg-boss" as const;
  readonly boss: PgBoss;
  readonly worker: string;
  readonly #opts: PgBossQueueOptions;
  // biome-ignore lint/suspicious/noExplicitAny: job_requests is not part of the store's typed schema
  readonly #db: Kysely<any>;
  #started = false;
  readonly #stop = new AbortController();
  readonly #active = new Set<Promise<unknown>>();

  constructor(opts: PgBossQueueOptions) {
    this.#opts = opts;
    const db = (opts.store as Partial<KyselyStore>).kysely;
    if (!db || opts.store.dialect !== "postgres")
      throw new Error("the pg-boss queue needs the PostgreSQL store (DATABASE_URL) for its job_requests table");
    this.#db = db;
    this.worker = opts.worker ?? `${hostname()}:${process.pid}`;
    const supervise = Math.max(1, opts.superviseSeconds ?? 5);
    this.boss = new PgBoss({
      connectionString: opts.url,
      schema: opts.schema ?? "pgboss",
      application_name: "accord-worker",
      max: 10,
      superviseIntervalSeconds: supervise,
      monitorIntervalSeconds: supervise,
      cronWorkerIntervalSeconds: 5,
    });
    this.boss.on("error", (err: Error) => opts.onError?.(err));
  }

  get #heartbeat(): number {
    return Math.max(10, this.#opts.heartbeatSeconds ?? 15);
  }

  async start(): Promise<void> {
    if (this.#started) return;
    await this.boss.start();
    this.#started = true;
    const retry = {
      retryLimit: this.#opts.retryLimit ?? 5,
      retryDelay: this.#opts.retryDelaySeconds ?? 5,
      retryBackoff: true,
      retryDelayMax: this.#opts.retryDelayMaxSeconds ?? 600,
      expireInSeconds: this.#opts.expireInSeconds ?? 4 * 3600,
      heartbeatSeconds: this.#heartbeat,
      deadLetter: DEAD_QUEUE,
    };
    if (!(await this.boss.getQueue(DEAD_QUEUE))) await this.boss.createQueue(DEAD_QUEUE, { policy: "standard" });
    if (!(await this.boss.getQueue(SYNC_QUEUE)))
      await this.boss.createQueue(SYNC_QUEUE, { policy: this.#opts.keyGuard === false ? "standard" : "stately", ...retry });
    if (!(await this.boss.getQueue(WEBHOOK_QUEUE))) await this.boss.createQueue(WEBHOOK_QUEUE, { policy: "standard", ...retry });
  }

  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (!this.#started) return;
    this.#stop.abort(new Error("the worker is stopping"));
    const grace = opts.graceMs ?? 30_000;
    await Promise.race([Promise.allSettled([...this.#active]), new Promise((r) => setTimeout(r, grace).unref())]);
    // Jobs still running after the grace are left active: their heartbeat lapses and they are retried elsewhere.
    await this.boss.stop({ graceful: true, timeout: 1000, close: true }).catch(() => {});
    this.#started = false;
  }

  async enqueue(job: Job, opts: EnqueueOptions = {}): Promise<string | null> {
    const startAfter = opts.startAfter ? new Date(opts.startAfter) : undefined;
    if (job.kind === "webhook") {
      return this.boss.send(WEBHOOK_QUEUE, job, { ...(startAfter ? { startAfter } : {}) });
    }
    const sync = normalise(job);
    // The request first: whatever pg-boss does with the job below, the next run of this key covers it.
    await this.#db
      .insertInto("job_requests")
      .values({ integration: sync.integration, object: sync.object, request: JSON.stringify(sync), created_at: Date.now() })
      .execute();
    return this.boss.send(SYNC_QUEUE, sync, {
      singletonKey: syncKey(sync.integration, sync.object),
      ...(startAfter ? { startAfter } : {}),
    });
  }

  async work(handler: JobHandler, opts: { concurrency?: number } = {}): Promise<void> {
    const concurrency = Math.max(1, opts.concurrency ?? 1);
    const common = {
      pollingIntervalSeconds: Math.max(0.5, this.#opts.pollingSeconds ?? 1),
      batchSize: 1,
      includeMetadata: true as const,
    };
    await this.boss.work<Job>(SYNC_QUEUE, { ...common, localConcurrency: concurrency }, async (jobs) => {
      for (const j of jobs) await this.#track(this.#runSync(handler, j.id, j.retryCount, j.data as SyncJob, j.signal));
    });
    await this.boss.work<Job>(WEBHOOK_QUEUE, { ...common, localConcurrency: Math.max(1, Math.ceil(concurrency / 2)) }, async (jobs) => {
      for (const j of jobs) await this.#track(handler(j.data, this.#ctx(j.id, j.retryCount, j.signal)));
    });
  }

  #ctx(id: string, retryCount: number, jobSignal: AbortSignal): JobContext {
    return { id, attempt: retryCount + 1, worker: this.worker, signal: AbortSignal.any([jobSignal, this.#stop.signal]) };
  }

  async #track<T>(p: Promise<T>): Promise<T> {
    this.#active.add(p);
    try {
      return await p;
    } finally {
      this.#active.delete(p);
    }
  }

  /** Merge every request of the key into the job, run it, and drop the requests it covered once it succeeded. */
  async #runSync(handler: JobHandler, id: string, retryCount: number, data: SyncJob, signal: AbortSignal): Promise<void> {
    const rows = (await this.#db
      .selectFrom("job_requests")
      .select(["id", "request"])
      .where("integration", "=", data.integration)
      .where("object", "=", data.object)
      .orderBy("id")
      .execute()) as RequestRow[];
    let job = normalise(data);
    for (const r of rows) job = mergeSyncJobs(job, normalise(JSON.parse(r.request) as SyncJob));
    await handler(job, this.#ctx(id, retryCount, signal));
    const maxId = rows.length ? Math.max(...rows.map((r) => Number(r.id))) : 0;
    if (maxId > 0)
      await this.#db
        .deleteFrom("job_requests")
        .where("integration", "=", data.integration)
        .where("object", "=", data.object)
        .where("id", "<=", maxId)
        .execute();
  }

  async setSchedules(prefix: string, schedules: JobSchedule[]): Promise<void> {
    const existing = await this.boss.getSchedules(SYNC_QUEUE);
    const keep = new Set(schedules.map((s) => s.key));
    for (const s of existing) if (s.key.startsWith(prefix) && !keep.has(s.key)) await this.boss.unschedule(SYNC_QUEUE, s.key);
    for (const s of schedules) {
      const job = normalise(s.job);
      await this.boss.schedule(SYNC_QUEUE, s.cron, job, {
        key: s.key,
        tz: "UTC",
        singletonKey: syncKey(job.integration, job.object),
      });
    }
  }

  /** Schedules registered under a prefix (tests, `accord worker --json`). */
  async listSchedules(prefix = ""): Promise<Array<{ key: string; cron: string }>> {
    return (await this.boss.getSchedules(SYNC_QUEUE)).filter((s) => s.key.startsWith(prefix)).map((s) => ({ key: s.key, cron: s.cron }));
  }

  async listJobs(opts: { integration?: string; state?: JobInfo["state"]; limit?: number } = {}): Promise<JobInfo[]> {
    const out: JobInfo[] = [];
    const filter = opts.integration ? { data: { integration: opts.integration } } : {};
    for (const name of [SYNC_QUEUE, WEBHOOK_QUEUE, DEAD_QUEUE]) {
      const jobs = await this.boss.findJobs<Job>(name, { ...filter, limit: opts.limit ?? 1000 });
      for (const j of jobs) {
        const state: JobInfo["state"] =
          name === DEAD_QUEUE
            ? "dead"
            : j.state === "created"
              ? "queued"
              : j.state === "failed" && j.deadLetter
                ? "dead"
                : (j.state as JobInfo["state"]);
        if (opts.state && state !== opts.state) continue;
        const output = j.output as { message?: string } | null;
        out.push({
          id: j.id,
          job: j.data,
          state,
          attempts: (name === DEAD_QUEUE ? (j.sourceRetryCount ?? 0) : j.retryCount) + (j.startedOn ? 1 : 0),
          createdAt: new Date(j.createdOn).toISOString(),
          startedAt: j.startedOn ? new Date(j.startedOn).toISOString() : null,
          finishedAt: j.completedOn ? new Date(j.completedOn).toISOString() : null,
          worker: null,
          error: output && typeof output === "object" && "message" in output ? String(output.message) : null,
        });
      }
    }
    out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return opts.limit ? out.slice(-opts.limit) : out;
  }
}

/** A targeted job without ids is an incremental one. */
function normalise(job: SyncJob): SyncJob {
  if (job.records && !isTargeted(job)) {
    const { records: _r, ...rest } = job;
    return rest;
  }
  return job;
}
