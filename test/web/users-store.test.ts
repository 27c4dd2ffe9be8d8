/**
 * Console users, sessions and API tokens in the store (migration 0003), on SQLite and — when one
 * is reachable (ACCORD_TEST_PG_URL or postgres://postgres@127.0.0.1:5432/accord_test) — on PostgreSQL.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/index.ts";

const PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const schema = `web_users_${process.pid}_${Date.now()}`;
const opened: Store[] = [];

afterAll(async () => {
  for (const s of opened) await s.close();
  if (await pgReachable()) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  }
});

function suite(name: string, open: () => Promise<Store | undefined>) {
  describe(`console users on ${name}`, () => {
    it("adds users (names unique), sessions with expiry, API tokens by hash", async () => {
      const store = await open();
      if (!store) {
        console.warn(`PostgreSQL not reachable at ${PG_URL}: users-store test skipped on PostgreSQL`);
        return;
      }
      opened.push(store);
      const ana = await store.addUser?.({ name: "ana", role: "admin", passwordHash: "h1" });
      expect(ana).toMatchObject({ name: "ana", role: "admin", disabled: false });
      await expect(store.addUser?.({ name: "ana", role: "viewer", passwordHash: "h2" })).rejects.toThrow(/already exists/);
      const bob = await store.addUser?.({ name: "bob", role: "viewer", passwordHash: "h3" });
      expect((await store.listUsers?.())?.map((u) => u.name)).toEqual(["ana", "bob"]);
      await store.updateUser?.(bob?.id as number, { role: "reviewer", disabled: true });
      expect(await store.getUser?.({ name: "bob" })).toMatchObject({ role: "reviewer", disabled: true });
      expect(await store.getUser?.({ name: "nobody" })).toBeUndefined();

      await store.createSession?.({ tokenHash: "s1", userId: ana?.id as number, csrf: "c1", expiresAt: "2000-01-01T00:00:00.000Z" });
      await store.createSession?.({ tokenHash: "s2", userId: ana?.id as number, csrf: "c2", expiresAt: "2999-01-01T00:00:00.000Z" });
      expect(await store.getSession?.("s2")).toMatchObject({ userId: ana?.id, csrf: "c2" });
      expect(await store.deleteSessions?.({ expiredBefore: new Date().toISOString() })).toBe(1);
      expect(await store.getSession?.("s1")).toBeUndefined();
      expect(await store.deleteSessions?.({ userId: ana?.id as number })).toBe(1);

      const t = await store.addApiToken?.({ userId: ana?.id as number, label: "ci", tokenHash: "t1", expiresAt: null });
      expect(await store.getApiToken?.("t1")).toMatchObject({ id: t?.id, label: "ci", lastUsedAt: null });
      await store.touchApiToken?.(t?.id as number, "2026-01-01T00:00:00.000Z");
      expect((await store.listApiTokens?.(ana?.id))?.[0].lastUsedAt).toBe("2026-01-01T00:00:00.000Z");
      expect(await store.revokeApiToken?.(t?.id as number)).toBe(true);
      expect(await store.revokeApiToken?.(t?.id as number)).toBe(false);
      expect(await store.getApiToken?.("t1")).toBeUndefined();
    });
  });
}

suite("SQLite", () => openStore({ file: ":memory:" }));
suite("PostgreSQL", async () => ((await pgReachable()) ? openStore({ url: PG_URL, schema }) : undefined));
