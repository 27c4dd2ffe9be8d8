/** The test store helper: SQLite by default, a schema of its own on PostgreSQL (ACCORD_TEST_STORE=postgres), dropped on close. */
import { sql } from "kysely";
import pg from "pg";
import type { KyselyStore } from "../../src/store/index.ts";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/index.ts";
import { openTestStore, TEST_PG_URL, testStoreKind, testStoreOptions, testStoreTarget } from "./store.ts";

async function schemaExists(schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  await c.connect();
  try {
    return (await c.query("select 1 from pg_namespace where nspname = $1", [schema])).rowCount === 1;
  } finally {
    await c.end();
  }
}

describe(`test store [${testStoreKind()}]`, () => {
  it("opens a fresh, migrated store of the configured kind", async () => {
    const a = await openTestStore();
    const b = await openTestStore();
    try {
      expect(a.dialect).toBe(testStoreKind());
      await a.setCursor("i", "customers", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "1" });
      expect(await b.getCursor("i", "customers", "crm")).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.runIf(testStoreKind() === "postgres")("close() drops the store's schema", async () => {
    const s = await openTestStore();
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute((s as KyselyStore).kysely)).rows[0]?.s ?? "";
    expect(schema).toMatch(/^accord_t_/);
    expect(await schemaExists(schema)).toBe(true);
    await s.close();
    expect(await schemaExists(schema)).toBe(false);
  });

  it.runIf(testStoreKind() === "postgres")("a target's env points a child at the same schema; dispose drops it", async () => {
    const t = await testStoreTarget("/nonexistent/accord.db");
    const url = new URL(t.env.DATABASE_URL ?? "");
    expect(url.searchParams.get("options")).toBe(`-c search_path=${t.location}`);
    const viaEnv = await openStore({ url: t.env.DATABASE_URL });
    await viaEnv.setCursor("i", "customers", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "1" });
    await viaEnv.close();
    const direct = await t.open();
    expect(await direct.getCursor("i", "customers", "crm")).toBeDefined();
    await direct.close();
    expect(await schemaExists(t.location)).toBe(true);
    await t.dispose();
    expect(await schemaExists(t.location)).toBe(false);
  });

  it("testStoreOptions() opens a fresh store of the configured kind each time", async () => {
    const a = await openStore(await testStoreOptions());
    const b = await openStore(await testStoreOptions());
    try {
      expect(a.dialect).toBe(testStoreKind());
      await a.setCursor("i", "customers", "crm", { modifiedAt: "2026-01-01T00:00:00.000Z", id: "1" });
      expect(await b.getCursor("i", "customers", "crm")).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
