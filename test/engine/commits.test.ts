/**
 * Group commit (src/engine/commits.ts): store writes of records in flight share transactions, each
 * caller resumes only once its writes are committed (an intent is durable before its remote create —
 * invariant 2, seen from a second connection), and one caller's failure stays its own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { commit, commitStats } from "../../src/engine/commits.ts";
import { runSync } from "../../src/engine/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { makeWorld, type World } from "./helpers.ts";

const link = (i: number) => ({
  integration: "t",
  object: "customer",
  crmId: `acc-${i}`,
  erpId: `CUST-${i}`,
  sharedId: `CUST-${i}`,
  base: {},
  crmVersion: null,
  erpVersion: null,
  pinned: false,
  status: "active" as const,
});

describe("group commit", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  async function fileStore(): Promise<{ store: Store; file: string }> {
    const dir = mkdtempSync(join(tmpdir(), "accord-commits-"));
    const file = join(dir, "accord.db");
    const store = await openStore({ file });
    cleanup.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { store, file };
  }

  it("calls in flight together share one transaction and each gets its own result", async () => {
    const { store } = await fileStore();
    const before = commitStats(store);
    const saved = await Promise.all(Array.from({ length: 6 }, (_, i) => commit(store, (tx) => tx.saveLink(link(i)))));
    const after = commitStats(store);
    expect(saved.map((l) => l.crmId)).toEqual(["acc-0", "acc-1", "acc-2", "acc-3", "acc-4", "acc-5"]);
    expect(new Set(saved.map((l) => l.id)).size).toBe(6);
    expect(after.calls - before.calls).toBe(6);
    expect(after.commits - before.commits).toBe(1);
    expect(await store.countLinks("t", "customer")).toBe(6);
  });

  it("a failing caller is rejected alone; the others' writes are committed", async () => {
    const { store } = await fileStore();
    const results = await Promise.allSettled([
      commit(store, (tx) => tx.saveLink(link(1))),
      commit(store, async (tx) => {
        await tx.saveLink(link(2));
        throw new Error("this record's write fails");
      }),
      commit(store, (tx) => tx.saveLink(link(3))),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("this record's write fails");
    const ids = (await store.listLinks("t", "customer")).map((l) => l.crmId).sort();
    expect(ids).toEqual(["acc-1", "acc-3"]); // the failed caller's own write was rolled back, nobody else's
  });

  it("every intent is committed — visible to another connection — before its remote create (4 lanes)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-commits-"));
    const file = join(dir, "accord.db");
    const w: World = await makeWorld({ create: "crm->erp" }, file);
    const other = await openStore({ file });
    cleanup.push(async () => {
      await other.close();
      await w.store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    for (let i = 0; i < 12; i++) w.crm.add("Account", { name: `Firm ${i}`, cErpId: null });
    const seen: boolean[] = [];
    const reader = new DatabaseSync(file, { readOnly: true });
    cleanup.push(() => reader.close());
    const pendingIntents = reader.prepare("select payload from create_intents where status = 'pending'");
    w.erp.beforeWrite = (op) => {
      if (op.kind !== "create") return;
      // at the remote create, a second connection must already see this record's pending intent
      const rows = pendingIntents.all() as Array<{ payload: string }>;
      seen.push(rows.some((row) => (JSON.parse(row.payload) as Record<string, unknown>).customer_name === op.values?.customer_name));
    };
    const r = await runSync(w.ctx, { applyConcurrency: 4 });
    expect(r.objects[0].counts.applied).toBe(12);
    expect(seen).toHaveLength(12);
    expect(seen.every(Boolean)).toBe(true);
    expect(await other.pendingCreateIntents("test", "customer")).toHaveLength(0);
  });
});
