/**
 * 0005 — jobs (Step 10). Two tables, both dialects:
 *  - `jobs`: the in-process queue on SQLite (src/runtime/jobs/sqlite-queue.ts) — sync runs and webhook
 *    deliveries with their state, attempts, lease (a worker that stops renewing it loses the job),
 *    and the time a retry may start (exponential backoff). `job_key` is the (integration/object) of a
 *    sync job: at most one active per key.
 *  - `job_requests`: what coalesced sync jobs carried (targeted record ids, an incremental or a
 *    reconciliation run asked for). On PostgreSQL the queue is pg-boss, which drops a job equal to
 *    one already queued; the request row stays until a run of that (integration, object) has covered
 *    it, so a webhook's ids are never lost to coalescing.
 * Times are ms since the epoch (bigint) so that leases and backoff compare as numbers.
 */
import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function jobs(dialect: StoreDialect): Migration {
  const idType = dialect === "postgres" ? "bigserial" : "integer";
  function idColumn<T extends { primaryKey(): T; autoIncrement(): T }>(c: T): T {
    return dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  }
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("jobs")
        .addColumn("id", idType, idColumn)
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("job_key", "text")
        .addColumn("dedupe_key", "text")
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("max_attempts", "integer", (c) => c.notNull())
        .addColumn("run_after", "bigint", (c) => c.notNull())
        .addColumn("lease_until", "bigint")
        .addColumn("worker", "text")
        .addColumn("error", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("finished_at", "bigint")
        .execute();
      await db.schema.createIndex("jobs_state_idx").on("jobs").columns(["state", "run_after"]).execute();
      await db.schema.createIndex("jobs_key_idx").on("jobs").columns(["job_key", "state"]).execute();
      await db.schema
        .createTable("job_requests")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("request", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("job_requests_key_idx").on("job_requests").columns(["integration", "object", "id"]).execute();
    },
    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable("job_requests").execute();
      await db.schema.dropTable("jobs").execute();
    },
  };
}
