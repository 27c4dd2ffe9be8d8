/**
 * 0003 — console users (Step 9): people who sign in to the web console (roles admin, reviewer,
 * viewer; scrypt password hashes), their sessions, and API tokens for automation. Session and API
 * tokens are kept as SHA-256 hashes only: a copy of the database does not let anyone sign in.
 * Users are not scoped by integration: one console serves every integration of the database.
 */
import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function consoleUsers(dialect: StoreDialect): Migration {
  const idType = dialect === "postgres" ? "bigserial" : "integer";
  const refType = dialect === "postgres" ? "bigint" : "integer";
  function idColumn<T extends { primaryKey(): T; autoIncrement(): T }>(c: T): T {
    return dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  }
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("users")
        .addColumn("id", idType, idColumn)
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("disabled", "boolean", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", refType, (c) => c.notNull())
        .addColumn("csrf", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_user_idx").on("sessions").column("user_id").execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", idType, idColumn)
        .addColumn("user_id", refType, (c) => c.notNull())
        .addColumn("label", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .addColumn("last_used_at", "text")
        .execute();
    },
    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable("api_tokens").execute();
      await db.schema.dropTable("sessions").execute();
      await db.schema.dropTable("users").execute();
    },
  };
}
