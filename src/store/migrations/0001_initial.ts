/**
 * 0001 — the store's first schema. One migration set for SQLite and PostgreSQL: the only
 * difference is how an auto-increment primary key is spelled (see `idColumn`).
 * Conventions (see ../schema.ts): timestamps and JSON as text, booleans as `boolean`.
 */
import { type Kysely, type Migration, sql } from "kysely";
import type { StoreDialect } from "./index.ts";

// Migrations must not depend on the app's current table types: they describe the past.
// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function initial(dialect: StoreDialect): Migration {
  const idType = dialect === "postgres" ? "bigserial" : "integer";
  const refType = dialect === "postgres" ? "bigint" : "integer";

  function idColumn<T extends { primaryKey(): T; autoIncrement(): T }>(c: T): T {
    // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT (ids never reused); PostgreSQL: bigserial.
    return dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  }

  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("links")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("crm_id", "text")
        .addColumn("erp_id", "text")
        .addColumn("shared_id", "text")
        .addColumn("base", "text", (c) => c.notNull())
        .addColumn("crm_version", "text")
        .addColumn("erp_version", "text")
        .addColumn("pinned", "boolean", (c) => c.notNull().defaultTo(false))
        .addColumn("status", "text", (c) => c.notNull().defaultTo("active"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("links_crm_id_uq")
        .on("links")
        .columns(["integration", "object", "crm_id"])
        .unique()
        .where(sql.ref("crm_id"), "is not", null)
        .execute();
      await db.schema
        .createIndex("links_erp_id_uq")
        .on("links")
        .columns(["integration", "object", "erp_id"])
        .unique()
        .where(sql.ref("erp_id"), "is not", null)
        .execute();
      await db.schema.createIndex("links_shared_id_idx").on("links").columns(["integration", "object", "shared_id"]).execute();

      await db.schema
        .createTable("cursors")
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("side", "text", (c) => c.notNull())
        .addColumn("modified_at", "text", (c) => c.notNull())
        .addColumn("record_id", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("cursors_pk", ["integration", "object", "side"])
        .execute();

      await db.schema
        .createTable("runs")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addColumn("read_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("applied_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("unchanged_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("held_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("quarantined_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("error", "text")
        .execute();
      await db.schema.createIndex("runs_integration_idx").on("runs").columns(["integration", "object", "id"]).execute();
      await db.schema.createIndex("runs_status_idx").on("runs").columns(["status"]).execute();

      await db.schema
        .createTable("change_log")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("run_id", refType, (c) => c.references("runs.id").onDelete("set null"))
        .addColumn("link_id", refType, (c) => c.references("links.id").onDelete("set null"))
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("record_id", "text", (c) => c.notNull())
        .addColumn("field", "text", (c) => c.notNull())
        .addColumn("before_value", "text", (c) => c.notNull())
        .addColumn("after_value", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("rule", "text", (c) => c.notNull())
        .addColumn("at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("change_log_record_idx").on("change_log").columns(["integration", "object", "record_id"]).execute();
      await db.schema.createIndex("change_log_run_idx").on("change_log").column("run_id").execute();
      await db.schema.createIndex("change_log_link_idx").on("change_log").column("link_id").execute();

      await db.schema
        .createTable("review_items")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("link_id", refType, (c) => c.references("links.id").onDelete("set null"))
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("field", "text")
        .addColumn("base", "text", (c) => c.notNull())
        .addColumn("crm", "text", (c) => c.notNull())
        .addColumn("erp", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("detail", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("resolution", "text", (c) => c.notNull())
        .addColumn("resolved_by", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("resolved_at", "text")
        .execute();
      await db.schema.createIndex("review_items_status_idx").on("review_items").columns(["integration", "status", "object"]).execute();
      await db.schema.createIndex("review_items_link_idx").on("review_items").column("link_id").execute();

      await db.schema
        .createTable("create_intents")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("source_id", "text", (c) => c.notNull())
        .addColumn("shared_id", "text")
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("remote_id", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      // At most one create in flight per source record and target: a second pending intent
      // would be the first step towards a duplicate record (invariant 2).
      await db.schema
        .createIndex("create_intents_pending_uq")
        .on("create_intents")
        .columns(["integration", "object", "target", "source_id"])
        .unique()
        .where(sql.ref("status"), "=", "pending")
        .execute();
      await db.schema.createIndex("create_intents_status_idx").on("create_intents").columns(["integration", "status", "object"]).execute();

      await db.schema
        .createTable("quarantine")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("side", "text", (c) => c.notNull())
        .addColumn("record_id", "text", (c) => c.notNull())
        .addColumn("error_class", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      // One unresolved entry per record: quarantining it again bumps `attempts`.
      await db.schema
        .createIndex("quarantine_unresolved_uq")
        .on("quarantine")
        .columns(["integration", "object", "side", "record_id"])
        .unique()
        .where(sql.ref("status"), "<>", "resolved")
        .execute();
      await db.schema.createIndex("quarantine_status_idx").on("quarantine").columns(["integration", "status", "object"]).execute();

      await db.schema
        .createTable("pins")
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("object", "text", (c) => c.notNull())
        .addColumn("side", "text", (c) => c.notNull())
        .addColumn("record_id", "text", (c) => c.notNull())
        .addColumn("pinned_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("pins_pk", ["integration", "object", "side", "record_id"])
        .execute();

      await db.schema
        .createTable("schema_snapshots")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("side", "text", (c) => c.notNull())
        .addColumn("schema_json", "text", (c) => c.notNull())
        .addColumn("accepted_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("schema_snapshots_idx").on("schema_snapshots").columns(["integration", "side", "accepted_at"]).execute();

      await db.schema
        .createTable("spec_versions")
        .addColumn("id", idType, idColumn)
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("spec_text", "text", (c) => c.notNull())
        .addColumn("author", "text")
        .addColumn("why", "text")
        .addColumn("plan", "text", (c) => c.notNull())
        .addColumn("at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("spec_versions_idx").on("spec_versions").columns(["integration", "id"]).execute();
    },

    async down(db: AnyDb): Promise<void> {
      for (const t of [
        "spec_versions",
        "schema_snapshots",
        "pins",
        "quarantine",
        "create_intents",
        "review_items",
        "change_log",
        "runs",
        "cursors",
        "links",
      ]) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  };
}
