/**
 * Open the job queue a deployment uses: pg-boss when the store is PostgreSQL (DATABASE_URL), else the
 * in-process queue on the SQLite store. Producers (the server enqueuing webhook deliveries, `accord`
 * commands asking for a run) call `start()` and `enqueue()` and never `work()`; `accord worker` also
 * calls `work()`. On SQLite a producer in another process works too: its jobs are rows in the `jobs`
 * table that the worker polls.
 */
import type { Store } from "../../store/types.ts";
import { PgBossQueue } from "./pgboss-queue.ts";
import { SqliteQueue } from "./sqlite-queue.ts";
import type { JobQueue } from "./types.ts";

export type { EnqueueOptions, Job, JobContext, JobHandler, JobInfo, JobQueue, JobSchedule, SyncJob, WebhookJob } from "./types.ts";
export { PgBossQueue, SqliteQueue };

export interface OpenJobQueueOptions {
  store: Store;
  /** Default process.env: DATABASE_URL, ACCORD_PGBOSS_SCHEMA, ACCORD_JOB_* (see `accord worker --help`). */
  env?: Record<string, string | undefined>;
  /** Heartbeat (pg-boss) / lease (SQLite), seconds; default env ACCORD_JOB_HEARTBEAT_SECONDS or 15. */
  heartbeatSeconds?: number;
  onError?: (err: Error) => void;
}

export function openJobQueue(opts: OpenJobQueueOptions): JobQueue {
  const env = opts.env ?? process.env;
  const num = (v: string | undefined, d: number) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
  const heartbeat = opts.heartbeatSeconds ?? num(env.ACCORD_JOB_HEARTBEAT_SECONDS, 15);
  // TESTS ONLY (test/scale): without the queue's one-job-per-(integration, object) guard ("1": both guards off, "queue": this one).
  const off = env.ACCORD_TEST_UNSAFE_NO_KEY_GUARD;
  const keyGuard = off !== "1" && off !== "queue";
  const url = env.DATABASE_URL?.trim();
  if (opts.store.dialect === "postgres") {
    if (!url) throw new Error("the PostgreSQL store was opened without DATABASE_URL: the job queue needs the URL too (set DATABASE_URL)");
    return new PgBossQueue({
      url,
      store: opts.store,
      schema: env.ACCORD_PGBOSS_SCHEMA || "pgboss",
      heartbeatSeconds: heartbeat,
      superviseSeconds: num(env.ACCORD_JOB_SUPERVISE_SECONDS, 5),
      retryLimit: num(env.ACCORD_JOB_RETRY_LIMIT, 5),
      retryDelaySeconds: num(env.ACCORD_JOB_RETRY_DELAY_SECONDS, 5),
      keyGuard,
      onError: opts.onError,
    });
  }
  return new SqliteQueue({
    store: opts.store,
    leaseMs: heartbeat * 1000,
    maxAttempts: num(env.ACCORD_JOB_RETRY_LIMIT, 5) + 1,
    retryDelayMs: num(env.ACCORD_JOB_RETRY_DELAY_SECONDS, 5) * 1000,
    keyGuard,
  });
}
