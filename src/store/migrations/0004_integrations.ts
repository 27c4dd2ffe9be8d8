/**
 * 0004 — registered integrations (Step 10): many tenants' integrations in one deployment. Each row
 * holds the integration file's text (and its hash), its owner (tenant), and its credentials as ONE
 * encrypted envelope (AES-256-GCM, see src/registry/crypto.ts) — never plaintext. Console users get
 * a nullable `tenant`: null = a platform user (an admin of the platform sees every integration),
 * otherwise the user sees only the integrations of that tenant.
 */
import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function integrations(_dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("integrations")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("spec_text", "text", (c) => c.notNull())
        .addColumn("spec_hash", "text", (c) => c.notNull())
        .addColumn("secrets", "text", (c) => c.notNull())
        .addColumn("enabled", "boolean", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("integrations_tenant_idx").on("integrations").column("tenant").execute();
      await db.schema.alterTable("users").addColumn("tenant", "text").execute();
    },
    async down(db: AnyDb): Promise<void> {
      await db.schema.alterTable("users").dropColumn("tenant").execute();
      await db.schema.dropTable("integrations").execute();
    },
  };
}
