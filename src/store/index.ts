/**
 * Opening the store: SQLite by default (`${ACCORD_HOME:-.accord}/accord.db`, through
 * node:sqlite), PostgreSQL when a postgres:// URL is given (option or DATABASE_URL).
 * Migrations run on open; they are idempotent and safe when two processes open at once.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type DatabaseIntrospector, type DatabaseMetadata, Kysely, Migrator, PostgresDialect, type SchemaMetadata, sql, type TableMetadata } from "kysely";
import pg from "pg";
import { Transient } from "../errors.ts";
import { KyselyStore, type StoreOwner } from "./kysely-store.ts";
import { migrationProvider, type StoreDialect } from "./migrations/index.ts";
import { nodeSqliteDialect } from "./node-sqlite-dialect.ts";
import type { StoreDatabase } from "./schema.ts";
import type { Store } from "./types.ts";

export { KyselyStore } from "./kysely-store.ts";
export type { StoreDialect } from "./migrations/index.ts";
export type * from "./types.ts";

export interface OpenStoreOptions {
  /** postgres://… or postgresql://… → PostgreSQL; sqlite:PATH, file:PATH or :memory: → SQLite. Default: env DATABASE_URL. */
  url?: string;
  /** SQLite file (or ":memory:"). Default: defaultStorePath(). Wins over env DATABASE_URL (not over `url`). */
  file?: string;
  /** PostgreSQL only: schema to keep the tables in (created if missing); default: the URL's search_path (usually public). */
  schema?: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

/** `${ACCORD_HOME:-.accord}/accord.db`, as an absolute path. */
export function defaultStorePath(): string {
  return resolve(process.env.ACCORD_HOME || ".accord", "accord.db");
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const envUrl = process.env.DATABASE_URL?.trim() || undefined;
  const url = opts.url?.trim() || (opts.file === undefined ? envUrl : undefined);
  const store = url && isPostgresUrl(url) ? await openPostgres(url, opts.schema) : await openSqlite(sqliteFile(url, opts.file));
  if (opts.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }
  return store;
}

function sqliteFile(url: string | undefined, file: string | undefined): string {
  if (url === undefined) return file ?? defaultStorePath();
  if (url === ":memory:") return url;
  const m = /^(?:sqlite|file):(?:\/\/)?(.+)$/i.exec(url);
  if (m) return m[1];
  throw new Error(
    `unsupported database URL ${redactUrl(url)}: use postgres://USER@HOST:PORT/DB for PostgreSQL, or sqlite:PATH (or leave DATABASE_URL unset) for SQLite`,
  );
}

/**
 * One Kysely (one connection) per SQLite file per process, shared by every store opened on
 * it and closed with the last one. node:sqlite is synchronous: a second connection in the
 * same thread waiting on the first one's lock would block the very thread that must release it.
 */
const sharedSqlite = new Map<string, { db: Kysely<StoreDatabase>; refs: number }>();

async function openSqlite(file: string): Promise<Store> {
  const memory = file === ":memory:" || /mode=memory/.test(file);
  const key = memory ? undefined : file.startsWith("file:") ? file : resolve(file);
  if (key && !key.startsWith("file:")) mkdirSync(dirname(key), { recursive: true });
  let entry = key ? sharedSqlite.get(key) : undefined;
  if (!entry) {
    entry = { db: new Kysely<StoreDatabase>({ dialect: nodeSqliteDialect(key ?? file) }), refs: 0 };
    if (key) sharedSqlite.set(key, entry);
  }
  entry.refs++;
  const shared = entry;
  let closed = false;
  const owner: StoreOwner = {
    migrate: () => runMigrations(shared.db, "sqlite", undefined),
    destroy: async () => {
      if (closed) return;
      closed = true;
      if (--shared.refs > 0) return;
      if (key) sharedSqlite.delete(key);
      await shared.db.destroy();
    },
  };
  return new KyselyStore(shared.db, "sqlite", owner);
}

/** int8 (count(*), bigserial ids) as JS numbers; refuses values a number cannot hold exactly. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL int8 value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

// Lower case only: search_path folds unquoted names to lower case, `create schema` quotes them.
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

async function openPostgres(url: string, schema: string | undefined): Promise<Store> {
  if (schema !== undefined && !SCHEMA_RE.test(schema)) {
    throw new Error(
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (max 63), starting with a letter or _`,
    );
  }
  const types = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === pg.types.builtins.INT8 && format !== "binary"
        ? parseInt8
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client losing its connection (server restart) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  const db = new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) });
  // The migrator looks tables up through the dialect's introspector. Kysely's default one
  // scans every schema of the database (with has_schema_privilege per schema), which fails
  // when another tenant drops a schema at the same moment; ours looks only at our schema.
  const migrationDb = new Kysely<StoreDatabase>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw new Transient(`cannot reach PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`, {
      where: { system: "store" },
      hint: "Check that the server runs and that DATABASE_URL (host, port, database, user) is right; unset DATABASE_URL to use SQLite.",
      cause: err,
    });
  }
  let closed = false;
  const owner: StoreOwner = {
    migrate: () => runMigrations(migrationDb, "postgres", schema),
    destroy: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
  return new KyselyStore(db, "postgres", owner);
}

async function runMigrations(db: Kysely<StoreDatabase>, dialect: StoreDialect, schema: string | undefined): Promise<void> {
  const migrate = async (tableSchema: string | undefined) => {
    const migrator = new Migrator({ db, provider: migrationProvider(dialect), migrationTableSchema: tableSchema });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "(setup)";
      throw new Error(`store migration ${failed} failed on ${dialect}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  };
  if (dialect === "sqlite") {
    // Our dialect lets Kysely's migrator run in one `begin immediate` transaction, so a
    // second process waits (busy_timeout) and then finds the migrations already applied.
    await migrate(undefined);
    return;
  }
  // PostgreSQL: hold a session advisory lock (keyed on the schema) on one pooled connection
  // while the migrator works on others, so concurrent openers take turns.
  await db.connection().execute(async (conn) => {
    const named = schema ?? (await sql<{ s: string | null }>`select current_schema() as s`.execute(conn)).rows[0]?.s;
    if (!named)
      throw new Error("PostgreSQL has no current schema to create the store's tables in: set search_path in the URL or pass a schema");
    const key = `accord.store.migrate:${named}`;
    await sql`select pg_advisory_lock(hashtext(${key}))`.execute(conn);
    try {
      if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
      await migrate(named);
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${key}))`.execute(conn);
    }
  });
}

/** Where tables live: exported for tools that print it (`accord doctor`). */
export function describeStoreLocation(opts: OpenStoreOptions = {}): { dialect: StoreDialect; location: string } {
  const envUrl = process.env.DATABASE_URL?.trim() || undefined;
  const url = opts.url?.trim() || (opts.file === undefined ? envUrl : undefined);
  if (url && isPostgresUrl(url)) return { dialect: "postgres", location: redactUrl(url) + (opts.schema ? ` (schema ${opts.schema})` : "") };
  return { dialect: "sqlite", location: sqliteFile(url, opts.file) };
}

/**
 * PostgresDialect whose introspector sees only the current schema (search_path). Enough for
 * Kysely's Migrator (does the schema / the migration tables exist?) and immune to schemas
 * of other tenants being created or dropped concurrently.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return {
      async getSchemas(): Promise<SchemaMetadata[]> {
        const r = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = current_schema()`.execute(db);
        return r.rows.map((x) => ({ name: x.name }));
      },
      async getTables(): Promise<TableMetadata[]> {
        const r = await sql<{ name: string; schema: string; kind: string }>`
          select c.relname as name, n.nspname as schema, c.relkind as kind
          from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relkind in ('r', 'v', 'p')`.execute(db);
        return r.rows.map((x) => ({ name: x.name, schema: x.schema, isView: x.kind === "v", columns: [] }));
      },
      async getMetadata(): Promise<DatabaseMetadata> {
        return { tables: await this.getTables() };
      },
    };
  }
}
