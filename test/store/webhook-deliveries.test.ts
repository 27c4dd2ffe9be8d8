/**
 * The store's shared webhook replay guard (`firstDelivery`, migration 0006): a delivery key is first
 * once within the window, again after it, and of two calls racing on one key exactly one is first.
 * Runs on SQLite, and on PostgreSQL with ACCORD_TEST_STORE=postgres.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/index.ts";
import { openTestStore, testStoreKind, testStoreTarget } from "../support/store.ts";

const WINDOW = 10 * 60_000;

describe(`webhook deliveries [${testStoreKind()}]`, () => {
  let store: Store;
  let first: NonNullable<Store["firstDelivery"]>;
  beforeAll(async () => {
    store = await openTestStore();
    if (!store.firstDelivery) throw new Error("the store keeps no webhook deliveries");
    first = store.firstDelivery.bind(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("a key is first once within the window, another key is first too, and the key is first again after the window", async () => {
    const t0 = new Date("2026-11-27T09:00:00.000Z");
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await first("k-a", WINDOW, t0)).toBe(true);
    expect(await first("k-a", WINDOW, at(1))).toBe(false);
    expect(await first("k-b", WINDOW, at(2))).toBe(true);
    expect(await first("k-a", WINDOW, at(WINDOW))).toBe(false); // at the edge: still seen
    expect(await first("k-a", WINDOW, at(WINDOW + 1))).toBe(true); // expired: first again
    expect(await first("k-a", WINDOW, at(WINDOW + 2))).toBe(false); // …and now seen from there
    expect(await first("k-b", WINDOW, at(WINDOW + 3))).toBe(true);
  });

  it("two calls racing on one key: exactly one is first (and many at once: still one)", async () => {
    const now = new Date("2026-11-27T10:00:00.000Z");
    const pair = await Promise.all([first("race-1", WINDOW, now), first("race-1", WINDOW, now)]);
    expect(pair.filter(Boolean)).toHaveLength(1);
    const many = await Promise.all(Array.from({ length: 8 }, () => first("race-2", WINDOW, now)));
    expect(many.filter(Boolean)).toHaveLength(1);
  });

  it("two stores opened on one database (as two processes do) share the keys: one first between them, racing or not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-deliveries-"));
    const target = await testStoreTarget(join(dir, "accord.db"));
    const a = await target.open();
    const b = await target.open();
    try {
      const now = new Date("2026-11-27T11:00:00.000Z");
      expect(await a.firstDelivery?.("shared-1", WINDOW, now)).toBe(true);
      expect(await b.firstDelivery?.("shared-1", WINDOW, now)).toBe(false);
      const raced = await Promise.all([a.firstDelivery?.("shared-2", WINDOW, now), b.firstDelivery?.("shared-2", WINDOW, now)]);
      expect(raced.filter(Boolean)).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await target.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prunes expired keys now and then: a delivery long after the window clears the old rows", async () => {
    const kysely = (
      store as unknown as {
        kysely: { selectFrom(t: string): { select(c: string): { execute(): Promise<Array<{ delivery_key: string }>> } } };
      }
    ).kysely;
    const keys = async () =>
      (await kysely.selectFrom("webhook_deliveries").select("delivery_key").execute()).map((r) => r.delivery_key).sort();
    const later = new Date("2026-11-28T12:00:00.000Z"); // a day after the rows above: all expired
    expect((await keys()).length).toBeGreaterThan(0);
    expect(await first("k-late", WINDOW, later)).toBe(true);
    expect(await keys()).toEqual(["k-late"]);
  });
});
