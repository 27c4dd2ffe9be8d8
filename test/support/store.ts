/**
 * The store a test runs on: the same suite on SQLite and on PostgreSQL (DESIGN.md, Conventions).
 *
 *   ACCORD_TEST_STORE unset or "sqlite"  → SQLite (":memory:" by default, or the file asked for);
 *   ACCORD_TEST_STORE=postgres           → a fresh schema (unique name) on ACCORD_TEST_PG_URL
 *                                          (default postgres://postgres@127.0.0.1:5432/accord_test;
 *                                          the database is created when missing). close() drops it.
 *
 * `npm run test:postgres` runs the whole suite with ACCORD_TEST_STORE=postgres.
 *
 * Code that opens its own store from options (openContext({ store }), runSync…) gets them from
 * `testStoreOptions()`: `{ file: ":memory:" }`, or `{ url }` whose search_path is a fresh schema.
 * Every schema this module creates is also dropped after the test file (a safety net for stores
 * closed without dropping, or never closed).
 *
 * Tests whose store is shared with child processes (the `accord` CLI, crash harnesses) use
 * `testStoreTarget()`: `env` goes into the child's environment (DATABASE_URL on PostgreSQL, with
 * the schema in the URL's search_path; DATABASE_URL="" on SQLite, so the child uses its
 * ACCORD_HOME file), `open()` opens the same store in the test, `dispose()` drops the schema.
 */
import pg from "pg";
import { afterAll } from "vitest";
import { openStore, type Store } from "../../src/store/index.ts";

export type TestStoreKind = "sqlite" | "postgres";

export const TEST_PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";

/** Which store this run of the suite uses (env ACCORD_TEST_STORE); put it in test names: `sync [${testStoreKind()}]`. */
export function testStoreKind(): TestStoreKind {
  const v = (process.env.ACCORD_TEST_STORE ?? "").trim().toLowerCase();
  if (v === "" || v === "sqlite") return "sqlite";
  if (v === "postgres" || v === "postgresql" || v === "pg") return "postgres";
  throw new Error(`ACCORD_TEST_STORE=${JSON.stringify(v)} is not a store: use "sqlite" (default) or "postgres"`);
}

export interface OpenTestStoreOptions {
  /** SQLite only: this file instead of ":memory:". Ignored on PostgreSQL (each store gets its own schema). */
  file?: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

/** A fresh store for one test: SQLite (":memory:" or `file`) or, with ACCORD_TEST_STORE=postgres, a new schema dropped by close(). */
export async function openTestStore(opts: OpenTestStoreOptions = {}): Promise<Store> {
  if (testStoreKind() === "sqlite") return openStore({ file: opts.file ?? ":memory:", migrate: opts.migrate });
  const schema = await createTestSchema();
  let store: Store;
  try {
    store = await openStore({ url: TEST_PG_URL, schema, migrate: opts.migrate });
  } catch (err) {
    await dropTestSchema(schema).catch(() => {});
    throw err;
  }
  return withDropOnClose(store, schema);
}

/**
 * Store options for code that opens the store itself (openContext's `store`, runSync…): SQLite
 * `{ file: ":memory:" }` (or `file`), or on PostgreSQL `{ url }` pointing at a fresh schema (the
 * URL's search_path), dropped after the test file.
 */
export async function testStoreOptions(opts: { file?: string } = {}): Promise<{ url?: string; file?: string }> {
  if (testStoreKind() === "sqlite") return { file: opts.file ?? ":memory:" };
  return { url: urlWithSchema(await createTestSchema()) };
}

/** TEST_PG_URL with `schema` as its search_path: what a process given only a URL (DATABASE_URL) opens. */
export function urlWithSchema(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

export interface TestStoreTarget {
  kind: TestStoreKind;
  /** For a child process's environment: DATABASE_URL (PostgreSQL URL with the schema as search_path, or "" for SQLite). */
  env: Record<string, string>;
  /** PostgreSQL: the schema; SQLite: the file. */
  location: string;
  /** The same store as options for code that opens it itself (openContext's `store`, openStore). */
  options: { url?: string; file?: string };
  /** Opens the same store in this process (close it yourself). */
  open(): Promise<Store>;
  /**
   * PostgreSQL: drops the schema (call after every store on it is closed and every child has exited;
   * without a call, it is dropped after the test file). SQLite: nothing.
   */
  dispose(): Promise<void>;
}

/**
 * A store shared with child processes. `sqliteFile` is where the child keeps it on SQLite
 * (usually `${ACCORD_HOME}/accord.db`); on PostgreSQL a new schema is created now, so a child
 * opening DATABASE_URL finds it as its current schema.
 */
export async function testStoreTarget(sqliteFile: string): Promise<TestStoreTarget> {
  if (testStoreKind() === "sqlite") {
    return {
      kind: "sqlite",
      env: { DATABASE_URL: "" },
      location: sqliteFile,
      options: { file: sqliteFile },
      open: () => openStore({ file: sqliteFile }),
      dispose: async () => {},
    };
  }
  const schema = await createTestSchema();
  let disposed = false;
  return {
    kind: "postgres",
    env: { DATABASE_URL: urlWithSchema(schema) },
    location: schema,
    options: { url: urlWithSchema(schema) },
    open: () => openStore({ url: TEST_PG_URL, schema }),
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await dropTestSchema(schema);
    },
  };
}

let counter = 0;
const runTag = `${process.pid}_${Date.now().toString(36)}`;
let databaseReady: Promise<void> | undefined;
/** Schemas created by this process and not dropped yet: dropped after the test file. */
const created = new Set<string>();

if (testStoreKind() === "postgres") {
  try {
    // Registered while the importing test file is collected; vitest runs after-hooks in reverse
    // order, so this one runs after the file's own afterAll (which closes its stores).
    afterAll(async () => {
      for (const schema of [...created]) await dropTestSchema(schema).catch(() => {});
    });
  } catch {
    // imported outside a test file's collection: schemas are dropped by close()/dispose() only
  }
}

/** Creates a new, empty schema on TEST_PG_URL (creating the database first if missing) and returns its name. */
export async function createTestSchema(): Promise<string> {
  databaseReady ??= ensureDatabase();
  await databaseReady;
  const schema = `accord_t_${runTag}_${++counter}`;
  await withClient(TEST_PG_URL, (c) => c.query(`create schema "${schema}"`));
  created.add(schema);
  return schema;
}

export async function dropTestSchema(schema: string): Promise<void> {
  await withClient(TEST_PG_URL, (c) => c.query(`drop schema if exists "${schema}" cascade`));
  created.delete(schema);
}

function withDropOnClose(store: Store, schema: string): Store {
  const close = store.close.bind(store);
  let dropped: Promise<void> | undefined;
  store.close = () => {
    dropped ??= (async () => {
      await close();
      await dropTestSchema(schema);
    })();
    return dropped;
  };
  return store;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `ACCORD_TEST_STORE=postgres: cannot reach PostgreSQL at ${redacted(url)}: ${(err as Error).message}. Start it, or set ACCORD_TEST_PG_URL.`,
      { cause: err },
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Creates TEST_PG_URL's database from the `postgres` database when it does not exist yet. */
async function ensureDatabase(): Promise<void> {
  const probe = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 10_000 });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") return; // not "database does not exist": withClient reports it
  } finally {
    await probe.end().catch(() => {});
  }
  const admin = new URL(TEST_PG_URL);
  const name = decodeURIComponent(admin.pathname.replace(/^\//, ""));
  admin.pathname = "/postgres";
  await withClient(admin.toString(), async (c) => {
    try {
      await c.query(`create database "${name.replace(/"/g, '""')}"`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42P04") throw err; // created meanwhile by another process
    }
  });
}

function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
