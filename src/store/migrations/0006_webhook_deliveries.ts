/**
 * 0006 — webhook deliveries seen (replay guard shared by every process on the store). Several
 * `accord server` processes behind a load balancer each verify webhooks; a captured delivery
 * replayed to another process must be refused there too, so the keys of recent deliveries are kept
 * here rather than in each process's memory.
 *  - `delivery_key`: the replay key `verifyWebhook` derives — a SHA-256 over side, URL, signature
 *    and body (never a secret, never the raw signature) — primary key, so two processes racing on
 *    one delivery get exactly one first sighting.
 *  - `seen_at`: when it was (last) accepted, ms since the epoch (bigint), compared as a number;
 *    rows older than the replay window are pruned now and then (index on it).
 */
import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: schema builder on an untyped database
type AnyDb = Kysely<any>;

export function webhookDeliveries(_dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("delivery_key", "text", (c) => c.primaryKey())
        .addColumn("seen_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("webhook_deliveries_seen_idx").on("webhook_deliveries").column("seen_at").execute();
    },
    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable("webhook_deliveries").execute();
    },
  };
}
