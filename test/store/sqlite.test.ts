/**
 * The shared store suite on SQLite (node:sqlite): in memory and in a file, plus what is
 * particular to SQLite (the default path, WAL, concurrent first open of a new file).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { defaultStorePath, describeStoreLocation, type KyselyStore, openStore, type Store } from "../../src/store/index.ts";
import { storeMigrations } from "../../src/store/migrations/index.ts";
import { defineStoreSuite } from "./store-suite.ts";

/** Migrations applied to a fresh store (0001_initial, 0002_operations, …). */
const MIGRATIONS = Object.keys(storeMigrations("sqlite")).length;

const tmp = mkdtempSync(join(tmpdir(), "accord-store-"));
const opened: Store[] = [];
async function track(p: Promise<Store>): Promise<Store> {
  const s = await p;
  opened.push(s);
  return s;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => {});
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

defineStoreSuite("store [sqlite :memory:]", {
  dialect: "sqlite",
  fresh: () => track(openStore({ file: ":memory:" })),
});

let n = 0;
let current = "";
defineStoreSuite("store [sqlite file]", {
  dialect: "sqlite",
  fresh: () => {
    current = join(tmp, `suite-${++n}`, "accord.db"); // the folder is created by openStore
    return track(openStore({ file: current }));
  },
  reopen: () => openStore({ file: current }),
});

describe("store [sqlite] specifics", () => {
  it("uses $ACCORD_HOME/accord.db (default .accord/accord.db) and creates the folder", async () => {
    const saved = { home: process.env.ACCORD_HOME, url: process.env.DATABASE_URL };
    try {
      delete process.env.DATABASE_URL;
      delete process.env.ACCORD_HOME;
      expect(defaultStorePath()).toBe(join(process.cwd(), ".accord", "accord.db"));
      process.env.ACCORD_HOME = join(tmp, "home", "nested");
      expect(defaultStorePath()).toBe(join(tmp, "home", "nested", "accord.db"));
      const s = await track(openStore());
      expect(s.dialect).toBe("sqlite");
      expect(statSync(join(tmp, "home", "nested", "accord.db")).isFile()).toBe(true);
      expect(describeStoreLocation()).toEqual({ dialect: "sqlite", location: join(tmp, "home", "nested", "accord.db") });
    } finally {
      if (saved.home === undefined) delete process.env.ACCORD_HOME;
      else process.env.ACCORD_HOME = saved.home;
      if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
    }
  });

  it("accepts sqlite: URLs and refuses unknown schemes without echoing a password", async () => {
    const s = await track(openStore({ url: `sqlite:${join(tmp, "url", "a.db")}` }));
    expect(s.dialect).toBe("sqlite");
    expect(statSync(join(tmp, "url", "a.db")).isFile()).toBe(true);
    const err = (await openStore({ url: "mysql://root:hunter2@127.0.0.1/db" }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/unsupported database URL/);
    expect(err.message).not.toContain("hunter2");
  });

  it("sets WAL, foreign keys, busy timeout and synchronous=NORMAL on a file", async () => {
    const s = await track(openStore({ file: join(tmp, "pragmas", "a.db") }));
    const db = (s as KyselyStore).kysely;
    const one = async (p: string) => Object.values((await sql.raw(`pragma ${p}`).execute(db)).rows[0] as object)[0];
    expect(String(await one("journal_mode")).toLowerCase()).toBe("wal");
    expect(Number(await one("foreign_keys"))).toBe(1);
    expect(Number(await one("busy_timeout"))).toBe(5000);
    expect(Number(await one("synchronous"))).toBe(1); // NORMAL
  });

  it("keeps booleans as 0/1 and JSON as text on disk, and enforces foreign keys", async () => {
    const s = await track(openStore({ file: ":memory:" }));
    const db = (s as KyselyStore).kysely;
    const l = await s.saveLink({
      integration: "i",
      object: "o",
      crmId: "c",
      erpId: null,
      sharedId: null,
      base: { "a|b": [1, "ü"] },
      crmVersion: null,
      erpVersion: null,
      pinned: true,
      status: "active",
    });
    const raw = (await sql<{ pinned: unknown; base: unknown }>`select pinned, base from links where id = ${l.id}`.execute(db)).rows[0];
    expect(raw).toEqual({ pinned: 1, base: '{"a|b":[1,"ü"]}' });
    await expect(
      s.logChanges([
        {
          integration: "i",
          object: "o",
          runId: 4242,
          linkId: null,
          target: "erp",
          recordId: "r",
          field: "f",
          before: null,
          after: 1,
          source: "crm",
          rule: "x",
        },
      ]),
    ).rejects.toThrow(/FOREIGN KEY/);
  });

  it("stores opened on the same file in one process share one connection (no self-deadlock)", async () => {
    const file = join(tmp, "shared", "a.db");
    const stores = await Promise.all([1, 2, 3].map(() => track(openStore({ file }))));
    const link = (crmId: string) => ({
      integration: "i",
      object: "o",
      crmId,
      erpId: null,
      sharedId: null,
      base: {},
      crmVersion: null,
      erpVersion: null,
      pinned: false,
      status: "active" as const,
    });
    await Promise.all(
      stores.map((s, i) =>
        s.transaction(async (tx) => {
          await tx.saveLink(link(`a${i}`));
          await new Promise((r) => setTimeout(r, 5));
          await tx.saveLink(link(`b${i}`));
        }),
      ),
    );
    expect(await stores[0].countLinks("i", "o")).toBe(6);
    await stores[0].close();
    expect(await stores[1].countLinks("i", "o")).toBe(6); // still open for the others
    const r = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute((stores[2] as KyselyStore).kysely);
    expect(Number(r.rows[0].n)).toBe(MIGRATIONS);
  });

  it("separate processes opening a NEW file at once all migrate safely and write", async () => {
    const file = join(tmp, "race", "a.db");
    const script = `
      const { openStore } = await import(${JSON.stringify(new URL("../../src/store/index.ts", import.meta.url).href)});
      const s = await openStore({ file: process.argv[1] });
      await s.saveLink({ integration: "i", object: "o", crmId: process.argv[2], erpId: null, sharedId: null, base: {}, crmVersion: null, erpVersion: null, pinned: false, status: "active" });
      await s.close();`;
    const run = (id: string) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, file, id], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => {
          stderr += String(d);
        });
        child.on("close", (code) => done({ code, stderr }));
      });
    const results = await Promise.all(["p1", "p2", "p3", "p4"].map(run));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const s = await track(openStore({ file }));
    expect((await s.listLinks("i", "o")).map((l) => l.crmId).sort()).toEqual(["p1", "p2", "p3", "p4"]);
    const r = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute((s as KyselyStore).kysely);
    expect(Number(r.rows[0].n)).toBe(MIGRATIONS);
  });
});
