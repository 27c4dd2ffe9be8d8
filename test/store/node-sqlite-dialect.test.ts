/** The node:sqlite adapter behind Kysely's SqliteDialect: the shape Kysely's SqliteDriver calls. */
import { describe, expect, it } from "vitest";
import { NodeSqliteDatabase, STATEMENT_CACHE } from "../../src/store/node-sqlite-dialect.ts";

describe("NodeSqliteDatabase [sqlite adapter]", () => {
  it("marks statements that return rows as readers, including RETURNING and pragmas", () => {
    const db = new NodeSqliteDatabase(":memory:");
    try {
      const create = db.prepare("create table t (id integer primary key, b boolean, j text)");
      expect(create.reader).toBe(false);
      create.run([]);
      expect(db.prepare("select 1 as x").reader).toBe(true);
      expect(db.prepare("insert into t (b) values (?) returning id").reader).toBe(true);
      expect(db.prepare("insert into t (b) values (?)").reader).toBe(false);
      expect(db.prepare("pragma foreign_keys").reader).toBe(true);
    } finally {
      db.close();
    }
  });

  it("runs with an array of parameters, binds booleans as 0/1, reports changes and lastInsertRowid", () => {
    const db = new NodeSqliteDatabase(":memory:");
    try {
      db.prepare("create table t (id integer primary key, b boolean, j text)").run([]);
      expect(db.prepare("insert into t (b, j) values (?, ?)").run([true, '{"a":null}'])).toEqual({ changes: 1, lastInsertRowid: 1 });
      expect(db.prepare("insert into t (b, j) values (?, ?) returning id, b").all([false, null])).toEqual([{ id: 2, b: 0 }]);
      const rows = db.prepare("select id, b, j from t order by id").all([]);
      expect(rows).toEqual([
        { id: 1, b: 1, j: '{"a":null}' },
        { id: 2, b: 0, j: null },
      ]);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
      expect([...db.prepare("select id from t where id > ?").iterate([0])]).toEqual([{ id: 1 }, { id: 2 }]);
      expect(db.prepare("update t set b = ? where id > ?").run([true, 0]).changes).toBe(2);
      expect(() => db.prepare("select ?").all([{ not: "bindable" }])).toThrow(/cannot bind/);
    } finally {
      db.close();
    }
  });

  it("turns Kysely's plain `begin` into `begin immediate` and sets the pragmas", () => {
    const db = new NodeSqliteDatabase(":memory:");
    try {
      db.prepare("begin").run([]);
      // inside an immediate transaction a second begin fails: proves a transaction is open
      expect(() => db.prepare("begin").run([])).toThrow(/within a transaction/);
      db.prepare("commit").run([]);
      expect(db.prepare("pragma foreign_keys").all([])).toEqual([{ foreign_keys: 1 }]);
      expect(db.prepare("pragma busy_timeout").all([])).toEqual([{ timeout: 5000 }]);
    } finally {
      db.close();
      db.close(); // closing twice is harmless
    }
  });
  it("caches prepared statements by SQL (bounded LRU), never sharing one that is being iterated", () => {
    const db = new NodeSqliteDatabase(":memory:");
    try {
      db.prepare("create table t (id integer primary key)").run([]);
      const ins = db.prepare("insert into t (id) values (?)");
      ins.run([1]);
      ins.run([2]);
      expect(db.prepare("insert into t (id) values (?)")).toBe(ins);
      const sel = "select id from t order by id";
      const it1 = db.prepare(sel).iterate([]);
      expect(it1.next().value).toEqual({ id: 1 });
      // mid-iteration: a second user of the same SQL gets its own statement, the iteration goes on
      expect(db.prepare(sel).all([])).toEqual([{ id: 1 }, { id: 2 }]);
      expect(it1.next().value).toEqual({ id: 2 });
      expect(it1.next().done).toBe(true);
      expect(db.prepare(sel).all([])).toEqual([{ id: 1 }, { id: 2 }]);
      for (let k = 0; k < STATEMENT_CACHE + 50; k++) db.prepare(`select ${k} as x`).all([]);
      expect(db.cachedStatements).toBe(STATEMENT_CACHE);
      expect(db.prepare("insert into t (id) values (?)")).not.toBe(ins); // evicted long ago
    } finally {
      db.close();
    }
  });
});
