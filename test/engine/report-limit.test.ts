/**
 * Per-record reports of a real run are a bounded sample (memory flat in the records synced), while
 * counts cover every record and `onRecord` streams every report; a dry run keeps every report.
 */
import { afterEach, describe, expect, it } from "vitest";
import { planSync, runSync } from "../../src/engine/index.ts";
import type { RecordReport } from "../../src/engine/types.ts";
import { makeWorld, seedErpCustomer, type World } from "./helpers.ts";

describe("report limit", () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.store.close();
    w = undefined;
  });

  it("a real run keeps at most reportLimit reports, counts the rest in unlisted, streams all to onRecord; a plan keeps all", async () => {
    w = await makeWorld({ create: "erp->crm" });
    for (let i = 0; i < 7; i++) seedErpCustomer(w, { customer_name: `Firm ${i}` });
    const plan = await planSync(w.ctx, { reportLimit: undefined });
    expect(plan.objects[0].records.filter((r) => r.outcome === "applied")).toHaveLength(7);
    expect(plan.objects[0].unlisted).toBeUndefined();

    const streamed: RecordReport[] = [];
    const res = await runSync(w.ctx, { reportLimit: 3, onRecord: (r) => streamed.push(r), applyConcurrency: 2 });
    const o = res.objects[0];
    expect(o.counts.applied).toBe(7);
    expect(o.records).toHaveLength(3);
    expect(o.unlisted).toBe(4);
    expect(streamed.filter((r) => r.outcome === "applied")).toHaveLength(7);
    expect(await w.store.countLinks("test", "customer")).toBe(7);
  });

  it("held and quarantined reports have their own budget, so they are not crowded out by applied ones", async () => {
    w = await makeWorld({ create: "erp->crm" });
    for (let i = 0; i < 4; i++) seedErpCustomer(w, { customer_name: `Firm ${i}` });
    for (let i = 0; i < 3; i++) {
      const pinned = seedErpCustomer(w, { customer_name: `Pinned ${i}` });
      await w.store.setPinned("test", "customer", "erp", pinned.id, true); // held by a person
    }
    const res = await runSync(w.ctx, { reportLimit: 2 });
    const o = res.objects[0];
    expect(o.counts).toMatchObject({ read: 7, applied: 4, held: 3 });
    expect(o.records.filter((r) => r.outcome === "held")).toHaveLength(2);
    expect(o.records.filter((r) => r.outcome === "applied")).toHaveLength(2);
    expect(o.unlisted).toBe(3);
  });
});
