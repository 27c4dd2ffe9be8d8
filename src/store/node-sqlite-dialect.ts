/**
 * Kysely's SqliteDialect on Node's built-in `node:sqlite` (no native addon to build).
 *
 * Kysely's SqliteDriver expects a better-sqlite3-like database: `prepare(sql)` returning a
 * statement with `reader`, `all(params)`, `run(params)` and `iterate(params)` (parameters
 * passed as ONE array), and `close()`. This file adapts `DatabaseSync`/`StatementSync` to
 * exactly that shape (see node_modules/kysely/dist/esm/dialect/sqlite/sqlite-driver.js).
 *
 * Also:
 * - booleans are bound as 1/0 (SQLite has no boolean type; readers map them back);
 * - Kysely opens transactions with a plain `begin`; we issue `begin immediate` instead,
 *   so a transaction takes the write lock up front and waits (busy_timeout) for another
 *   process instead of failing with SQLITE_BUSY when it upgrades from reader to writer;
 * - migrations run in one transaction: Kysely's SqliteAdapter says SQLite lacks
 *   transactional DDL (it has it) and takes no migration lock, so two processes migrating a
 *   new file at once would both create the tables. With transactional DDL the migrator reads
 *   the applied migrations inside `begin immediate`: the second process waits, then finds
 *   nothing to do;
 * - pragmas: busy_timeout=5000 (first, so the others wait too), journal_mode=WAL,
 *   foreign_keys=ON, synchronous=NORMAL, wal_autocheckpoint=10000 pages (~40 MB);
 * - prepared statements are cached per connection (LRU keyed by the SQL text, STATEMENT_CACHE
 *   entries): Kysely prepares every query it runs, and the same few statements run for every
 *   record a sync touches (preparing one costs about as much as running it). A statement being
 *   iterated (a streaming query) is never handed out twice: a second user gets a fresh one.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type DialectAdapter, SqliteAdapter, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";

/** Convert a Kysely parameter into a value node:sqlite can bind. */
function bindable(v: unknown): SQLInputValue {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "string") return v;
  if (v instanceof Uint8Array) return v;
  if (v instanceof Date) return v.toISOString();
  throw new TypeError(`node:sqlite cannot bind a value of type ${typeof v}; serialise it (JSON text) before the query`);
}

function bindAll(params: ReadonlyArray<unknown>): SQLInputValue[] {
  return params.map(bindable);
}

/** Statements that return rows, when StatementSync.columns() is not available (Node < 22.16). */
const READER_RE = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

/** Prepared statements kept per connection (least recently used evicted first). */
export const STATEMENT_CACHE = 256;

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  /** Iterations in progress: while > 0 the statement must not be reset by another query. */
  iterating = 0;
  constructor(stmt: StatementSync, sql: string) {
    this.#stmt = stmt;
    const withColumns = stmt as StatementSync & { columns?: () => unknown[] };
    this.reader = typeof withColumns.columns === "function" ? withColumns.columns().length > 0 : READER_RE.test(sql);
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    // node:sqlite returns null-prototype objects; give callers ordinary ones.
    return this.#stmt.all(...bindAll(parameters)).map((row) => ({ ...row }));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    const r = this.#stmt.run(...bindAll(parameters));
    return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
  }
  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    this.iterating++;
    try {
      for (const row of this.#stmt.iterate(...bindAll(parameters))) yield { ...(row as object) };
    } finally {
      this.iterating--;
    }
  }
}

/** A better-sqlite3-shaped wrapper around one `node:sqlite` DatabaseSync. */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  /** SQL text → prepared statement; Map order is recency (re-inserted on use). */
  readonly #cache = new Map<string, NodeSqliteStatement>();
  #open = true;
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA busy_timeout = 5000");
    this.#db.exec("PRAGMA journal_mode = WAL"); // ":memory:" stays "memory", which is fine
    this.#db.exec("PRAGMA foreign_keys = ON");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    // checkpoint the WAL every ~40 MB instead of every ~4 MB: a checkpoint syncs the database file,
    // and during an initial load it took more time per record than the engine's whole CPU (bench/sync)
    this.#db.exec("PRAGMA wal_autocheckpoint = 10000");
  }
  prepare(sql: string): SqliteStatement {
    const hit = this.#cache.get(sql);
    if (hit && hit.iterating === 0) {
      this.#cache.delete(sql);
      this.#cache.set(sql, hit);
      return hit;
    }
    const text = /^\s*begin\s*;?\s*$/i.test(sql) ? "begin immediate" : sql;
    const stmt = new NodeSqliteStatement(this.#db.prepare(text), text);
    if (hit) return stmt; // the cached one is mid-iteration: this one is used once
    this.#cache.set(sql, stmt);
    if (this.#cache.size > STATEMENT_CACHE) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return stmt;
  }
  /** Statements currently cached (for tests). */
  get cachedStatements(): number {
    return this.#cache.size;
  }
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#cache.clear();
    this.#db.close();
  }
}

/** SQLite's DDL is transactional; let Kysely's migrator use one transaction (see above). */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** Kysely dialect for a SQLite file (or ":memory:") through node:sqlite. */
export function nodeSqliteDialect(path: string): SqliteDialect {
  return new NodeSqliteDialect({ database: async () => new NodeSqliteDatabase(path) });
}
