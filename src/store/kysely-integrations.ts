/**
 * Registered integrations (Step 10, migration 0004) on Kysely, for both dialects: the
 * `integrations` table and the `tenant` column of `users`. Kept apart from kysely-store.ts (which
 * delegates here) so the registry's storage can grow without touching the rest of the store.
 */
import type { ColumnType, Kysely, Selectable } from "kysely";
import { NotFound } from "../errors.ts";
import type { StoreDatabase } from "./schema.ts";
import type { IntegrationRecord } from "./types.ts";

type Bool = ColumnType<number | boolean, boolean, boolean>;

export interface IntegrationsTable {
  name: string;
  tenant: string;
  spec_text: string;
  spec_hash: string;
  secrets: string;
  enabled: Bool;
  created_at: string;
  updated_at: string;
}

interface UserTenantTable {
  id: number;
  tenant: string | null;
  updated_at: string;
}

interface IntegrationsDatabase {
  integrations: IntegrationsTable;
  users: UserTenantTable;
}

// The store's Kysely instance, seen with the tables of migration 0004.
function db4(db: Kysely<StoreDatabase>): Kysely<IntegrationsDatabase> {
  return db as unknown as Kysely<IntegrationsDatabase>;
}

function rowToIntegration(r: Selectable<IntegrationsTable>): IntegrationRecord {
  return {
    name: r.name,
    tenant: r.tenant,
    specText: r.spec_text,
    specHash: r.spec_hash,
    secrets: r.secrets,
    enabled: Boolean(r.enabled),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The user row's tenant (migration 0004; null before it or for platform users). */
export function userTenantOf(row: object): string | null {
  const t = (row as { tenant?: unknown }).tenant;
  return typeof t === "string" ? t : null;
}

export async function saveIntegration(
  db: Kysely<StoreDatabase>,
  r: Omit<IntegrationRecord, "createdAt" | "updatedAt">,
): Promise<IntegrationRecord> {
  const at = new Date().toISOString();
  const values = {
    name: r.name,
    tenant: r.tenant,
    spec_text: r.specText,
    spec_hash: r.specHash,
    secrets: r.secrets,
    enabled: r.enabled,
    created_at: at,
    updated_at: at,
  };
  const row = await db4(db)
    .insertInto("integrations")
    .values(values)
    .onConflict((oc) =>
      oc.column("name").doUpdateSet({
        tenant: values.tenant,
        spec_text: values.spec_text,
        spec_hash: values.spec_hash,
        secrets: values.secrets,
        enabled: values.enabled,
        updated_at: at,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToIntegration(row);
}

export async function getIntegrationRecord(db: Kysely<StoreDatabase>, name: string): Promise<IntegrationRecord | undefined> {
  const row = await db4(db).selectFrom("integrations").selectAll().where("name", "=", name).executeTakeFirst();
  return row ? rowToIntegration(row) : undefined;
}

export async function listIntegrationRecords(db: Kysely<StoreDatabase>, opts: { tenant?: string } = {}): Promise<IntegrationRecord[]> {
  let q = db4(db).selectFrom("integrations").selectAll();
  if (opts.tenant !== undefined) q = q.where("tenant", "=", opts.tenant);
  return (await q.orderBy("name").execute()).map(rowToIntegration);
}

export async function deleteIntegration(db: Kysely<StoreDatabase>, name: string): Promise<boolean> {
  const r = await db4(db).deleteFrom("integrations").where("name", "=", name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function setUserTenant(db: Kysely<StoreDatabase>, userId: number, tenant: string | null): Promise<void> {
  const r = await db4(db)
    .updateTable("users")
    .set({ tenant, updated_at: new Date().toISOString() })
    .where("id", "=", userId)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0)
    throw new NotFound(`user ${userId} does not exist in the store`, {
      where: { record: String(userId) },
      hint: "List the users with `accord user list` first.",
    });
}
