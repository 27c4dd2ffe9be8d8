/**
 * 0002 — operations (Step 8): alert incidents (one open incident per integration + rule + object),
 * the runtime lock (one `accord run` per integration, held by a lease renewed by heartbeat).
 */
import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function operations(dialect: StoreDialect): Migration {
  const idType = dialect === "postgres" ? "bigserial" : "integer";
  function idColumn<T extends { primaryKey(): T; autoIncrement(): T }>(c: T): T {
    return dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  }
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("alerts")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("rule", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("severity", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("detail", "text", (c) => c.notNull())
        .addColumn("occurrences", "integer", (c) => c.notNull())
        .addColumn("first_at", "text", (c) => c.notNull())
        .addColumn("last_at", "text", (c) => c.notNull())
        .addColumn("notified_at", "text")
        .addColumn("escalated_at", "text")
        .addColumn("acked_by", "text")
        .addColumn("acked_at", "text")
        .addColumn("resolved_at", "text")
        .execute();
      await db.schema.createIndex("alerts_key_idx").on("alerts").columns(["integration", "rule", "object", "status"]).execute();
      await db.schema
        .createTable("runtime_locks")
        .addColumn("integration", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("acquired_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable("runtime_locks").execute();
      await db.schema.dropTable("alerts").execute();
    },
  };
}
