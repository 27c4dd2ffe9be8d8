/**
 * The store's migrations, listed statically (no file globbing: works from any working
 * directory and in a bundled build). Names sort in order of application; never rename or
 * edit a migration that has shipped — add a new one.
 */
import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001_initial.ts";
import { operations } from "./0002_operations.ts";
import { consoleUsers } from "./0003_console_users.ts";
import { integrations } from "./0004_integrations.ts";
import { jobs } from "./0005_jobs.ts";
import { webhookDeliveries } from "./0006_webhook_deliveries.ts";

export type StoreDialect = "sqlite" | "postgres";

export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "0001_initial": initial(dialect),
    "0002_operations": operations(dialect),
    "0003_console_users": consoleUsers(dialect),
    "0004_integrations": integrations(dialect),
    "0005_jobs": jobs(dialect),
    "0006_webhook_deliveries": webhookDeliveries(dialect),
  };
}

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => storeMigrations(dialect) };
}
