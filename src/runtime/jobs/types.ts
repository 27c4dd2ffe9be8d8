/**
 * The job interface (Step 10). Runs, webhook deliveries and their retries are jobs.
 *
 *  - with DATABASE_URL (PostgreSQL): pg-boss — leases kept alive by heartbeats, retries with
 *    exponential backoff, dead letters, cron schedules, at most one active job per singleton key;
 *  - without it: the same interface in-process on SQLite (one process: `accord worker` or embedded).
 *
 * Shared contract between the queue (src/runtime/jobs), the worker and the server: add optional
 * members only.
 */
import type { Side } from "../../spec/model.ts";

/** Why a run was asked for (mirrors the runtime's triggers). */
export type JobTrigger = "start" | "poll" | "webhook" | "schedule" | "reconcile" | "manual" | "retry";

/** A sync run of one object of one integration. At most one is active per (integration, object). */
export interface SyncJob {
  kind: "sync";
  integration: string;
  object: string;
  trigger: JobTrigger;
  /** Targeted run: only these records, read by id (webhooks). Absent = incremental from the cursors. */
  records?: Partial<Record<Side, string[]>>;
  /** Run the deletion sweep and quarantine retries (reconciliation pass). */
  reconcile?: boolean;
  /** When the change became visible (webhook received, tick), ms since epoch — for the lag metric. */
  visibleAt?: number;
}

/** A webhook delivery as received and verified by the server: turned into targeted sync jobs by a worker. */
export interface WebhookJob {
  kind: "webhook";
  integration: string;
  side: Side;
  /** Raw body (verified before enqueueing) and the query the system could not put in its body. */
  body: string;
  query?: Record<string, string>;
  receivedAt: number;
  /**
   * Optional (added by the queue/worker part): the request's signature header(s) and path+query as
   * received, so the worker can parse the body with the connector's parseWebhook (which verifies the
   * signature again with the integration's own secrets, ACCORD_WEBHOOK_SECRETS_CRM/ERP in its env).
   */
  headers?: Record<string, string>;
  url?: string;
  /** Optional: the events the server already parsed when it verified the call; the worker then uses these as they are. */
  events?: Array<{ entity?: string; id: string; kind: "create" | "update" | "delete" | "other" }>;
}

export type Job = SyncJob | WebhookJob;

export interface EnqueueOptions {
  /** Do not start before this time (ms since epoch). */
  startAfter?: number;
  /** Drop this job when an equal key is already queued (coalescing); default for sync jobs: `${integration}/${object}` + targeted ids hash. */
  dedupeKey?: string;
}

export interface JobInfo {
  id: string;
  job: Job;
  state: "queued" | "active" | "retry" | "completed" | "failed" | "dead" | "cancelled";
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The worker holding it while active. */
  worker: string | null;
  error: string | null;
}

/** What a handler gets besides the job: a signal aborted when the lease is lost or the worker stops. */
export interface JobContext {
  id: string;
  attempt: number;
  worker: string;
  signal: AbortSignal;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/** A cron schedule of sync jobs for one object (realtime tiers poll every minute). */
export interface JobSchedule {
  /** Unique per deployment, e.g. `${integration}/${object}`. */
  key: string;
  /** 5-field cron, UTC. */
  cron: string;
  job: SyncJob;
}

export interface JobQueue {
  readonly backend: "pg-boss" | "sqlite";
  start(): Promise<void>;
  /** Stop fetching; wait up to graceMs for handlers in flight, then abandon them (their lease expires). */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** Returns the job id, or null when coalesced into one already queued. */
  enqueue(job: Job, opts?: EnqueueOptions): Promise<string | null>;
  /** Start consuming: up to `concurrency` handlers at once in this process. */
  work(handler: JobHandler, opts?: { concurrency?: number }): Promise<void>;
  /** Replace the schedules whose key starts with `prefix` (an integration's) by these. */
  setSchedules(prefix: string, schedules: JobSchedule[]): Promise<void>;
  listJobs(opts?: { integration?: string; state?: JobInfo["state"]; limit?: number }): Promise<JobInfo[]>;
}
