/**
 * The shared store suite on a real PostgreSQL (default postgres://postgres@127.0.0.1:5432/accord_test,
 * or env ACCORD_TEST_PG_URL). The database is created if missing; each run works in its own
 * schema (dropped at the end), so concurrent runs do not collide.
 * PostgreSQL unreachable: this file FAILS when CI=true, and is skipped with a message otherwise.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Transient } from "../../src/errors.ts";
import { type KyselyStore, openStore, type Store } from "../../src/store/index.ts";
import { storeMigrations } from "../../src/store/migrations/index.ts";
import { defineStoreSuite } from "./store-suite.ts";

/** Migrations applied to a fresh store (0001_initial, 0002_operations, …). */
const MIGRATIONS = Object.keys(storeMigrations("sqlite")).length;

const PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";
const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/** Connects to PG_URL, creating its database (from the `postgres` database) when missing. Returns why it failed, or undefined. */
async function preparePostgres(): Promise<string | undefined> {
  const tryConnect = async (url: string) => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await c.connect();
    return c;
  };
  try {
    const c = await tryConnect(PG_URL);
    await c.end();
    return undefined;
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") return (err as Error).message; // not "database does not exist"
  }
  const admin = new URL(PG_URL);
  const dbName = decodeURIComponent(admin.pathname.replace(/^\//, ""));
  admin.pathname = "/postgres";
  try {
    const c = await tryConnect(admin.toString());
    try {
      await c.query(`create database "${dbName.replace(/"/g, '""')}"`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42P04") throw err; // created meanwhile by another run
    } finally {
      await c.end();
    }
    return undefined;
  } catch (err) {
    return `could not create database ${dbName}: ${(err as Error).message}`;
  }
}

const unavailable = await preparePostgres();
const where = PG_URL.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");

if (unavailable !== undefined) {
  if (IN_CI) {
    describe("store [postgres]", () => {
      it(`PostgreSQL must be reachable in CI at ${where}`, () => {
        throw new Error(
          `PostgreSQL unreachable at ${where}: ${unavailable}. Start it (pg_ctlcluster … main start) or set ACCORD_TEST_PG_URL.`,
        );
      });
    });
  } else {
    process.stderr.write(
      `\n[store [postgres]] SKIPPED: PostgreSQL unreachable at ${where}: ${unavailable}\n  (set ACCORD_TEST_PG_URL, or start PostgreSQL; with CI=true this fails instead)\n\n`,
    );
    describe.skip(`store [postgres] (skipped: PostgreSQL unreachable at ${where})`, () => {
      it("needs PostgreSQL", () => {});
    });
  }
} else {
  const runTag = `${process.pid}_${Date.now().toString(36)}`;
  const schemas = new Set<string>();
  let schemaN = 0;
  const newSchema = () => {
    const s = `accord_t_${runTag}_${++schemaN}`;
    schemas.add(s);
    return s;
  };
  const opened: Store[] = [];
  const track = async (p: Promise<Store>) => {
    const s = await p;
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {});
  });
  afterAll(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    } finally {
      await c.end();
    }
  });

  const suiteSchema = newSchema();
  const TABLES = [
    "alerts",
    "runtime_locks",
    "change_log",
    "review_items",
    "create_intents",
    "quarantine",
    "pins",
    "schema_snapshots",
    "spec_versions",
    "cursors",
    "runs",
    "links",
  ];

  defineStoreSuite("store [postgres]", {
    dialect: "postgres",
    fresh: async () => {
      const s = await track(openStore({ url: PG_URL, schema: suiteSchema }));
      await sql`truncate table ${sql.join(TABLES.map((t) => sql.id(t)))} restart identity cascade`.execute((s as KyselyStore).kysely);
      return s;
    },
    reopen: () => openStore({ url: PG_URL, schema: suiteSchema }),
  });

  describe("store [postgres] specifics", () => {
    it("several processes opening a NEW schema at once all migrate safely (advisory lock)", async () => {
      const schema = newSchema();
      const stores = await Promise.all([1, 2, 3, 4].map(() => track(openStore({ url: PG_URL, schema }))));
      await stores[0].saveLink({
        integration: "i",
        object: "o",
        crmId: "c",
        erpId: null,
        sharedId: null,
        base: {},
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      });
      for (const s of stores) expect(await s.countLinks("i", "o")).toBe(1);
      const r = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute((stores[3] as KyselyStore).kysely);
      expect(Number(r.rows[0].n)).toBe(MIGRATIONS);
    });

    it("keeps tables in the requested schema, JSON and timestamps as text, booleans as boolean, ids as numbers", async () => {
      const schema = newSchema();
      const s = await track(openStore({ url: PG_URL, schema }));
      const db = (s as KyselyStore).kysely;
      const cols = await sql<{ table_name: string; column_name: string; data_type: string }>`
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = ${schema} and table_name = 'links' order by ordinal_position`.execute(db);
      const types = Object.fromEntries(cols.rows.map((c) => [c.column_name, c.data_type]));
      expect(types).toMatchObject({ id: "bigint", base: "text", pinned: "boolean", created_at: "text" });
      const l = await s.saveLink({
        integration: "i",
        object: "o",
        crmId: "c",
        erpId: null,
        sharedId: null,
        base: { k: "ü\u0000" },
        crmVersion: null,
        erpVersion: null,
        pinned: true,
        status: "active",
      });
      expect(typeof l.id).toBe("number");
      const raw = await sql<{
        id: unknown;
        pinned: unknown;
        base: unknown;
        n: unknown;
      }>`select id, pinned, base, count(*) over () as n from links`.execute(db);
      expect(raw.rows[0]).toEqual({ id: l.id, pinned: true, base: '{"k":"ü\\u0000"}', n: 1 });
    });

    it("DATABASE_URL selects PostgreSQL when no option is given", async () => {
      const saved = process.env.DATABASE_URL;
      process.env.DATABASE_URL = PG_URL;
      try {
        const s = await track(openStore({ schema: newSchema() }));
        expect(s.dialect).toBe("postgres");
        // an explicit SQLite file wins over DATABASE_URL
        const f = await track(openStore({ file: ":memory:" }));
        expect(f.dialect).toBe("sqlite");
      } finally {
        if (saved === undefined) delete process.env.DATABASE_URL;
        else process.env.DATABASE_URL = saved;
      }
    });

    it("an unreachable server is a Transient error that names the place, not the password", async () => {
      const err = await openStore({ url: "postgres://ana:s3cret-pw@127.0.0.1:1/nodb" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Transient);
      expect((err as Transient).message).toContain("127.0.0.1:1");
      expect((err as Transient).message).not.toContain("s3cret-pw");
      expect((err as Transient).hint).toMatch(/DATABASE_URL/);
    });

    it("refuses a schema name that is not a plain identifier", async () => {
      await expect(openStore({ url: PG_URL, schema: 'x"; drop table links; --' })).rejects.toThrow(/invalid PostgreSQL schema name/);
    });
  });
}
