/**
 * Graceful stop of `accord run` in the middle of a run (in-memory connectors, page size 2): the page
 * in flight is finished (every record of it linked, its cursor saved), no further page is read, and
 * a restart carries on from the cursor — nothing duplicated, nothing lost.
 */
import { describe, expect, it } from "vitest";
import type { SchemaDescription } from "../../src/connectors/types.ts";
import { DEFAULT_SETTINGS } from "../../src/monitor/settings.ts";
import { Runtime } from "../../src/runtime/runtime.ts";
import type { Side } from "../../src/spec/model.ts";
import { makeWorld, seedErpCustomer, type World } from "../engine/helpers.ts";

function schemaOf(w: World, side: Side): SchemaDescription {
  const out: SchemaDescription = { entities: {} };
  for (const o of w.spec.objects) {
    const names = [o[side].identity, ...o.fields.map((m) => (side === "crm" ? m.crm : m.erp))];
    out.entities[o[side].entity] = {
      name: o[side].entity,
      fields: Object.fromEntries(
        names.map((n) => [n, { name: n, type: "string", nativeType: "varchar", required: false, readOnly: false }]),
      ),
    };
  }
  return out;
}

describe("accord run: graceful stop", () => {
  it("finishes the page in flight, reads no further page, and a restart completes the rest exactly once", async () => {
    const w = await makeWorld();
    for (let i = 0; i < 10; i++) seedErpCustomer(w, { customer_name: `Company ${i}`, website: `c${i}.example` });
    let creates = 0;
    let rt: Runtime | undefined;
    let stopped: Promise<void> | undefined;
    w.crm.beforeWrite = (op) => {
      if (op.kind === "create" && ++creates === 3 && rt) stopped = rt.stop(); // a stop arrives while page 2 is in flight
    };
    const opts = {
      ctx: w.ctx,
      settings: { ...DEFAULT_SETTINGS, objects: {} },
      http: false as const,
      pollMs: 60_000,
      describe: async (side: Side) => schemaOf(w, side),
    };
    rt = new Runtime({ ...opts, holder: "first" });
    await rt.start();
    await rt.idle();
    await stopped;
    const created = w.crm.writes.filter((x) => x.kind === "create").length;
    expect(created).toBe(4); // pages of 2: page 1 and the page in flight, not one record more
    const links = await w.store.listLinks("test", "customer");
    expect(links.filter((l) => l.crmId && l.erpId)).toHaveLength(4);
    const cursor = await w.store.getCursor("test", "customer", "erp");
    expect(cursor).toBeDefined();
    const [run] = await w.store.listRuns("test", { object: "customer" });
    expect(run).toMatchObject({ status: "abandoned", counts: { read: 4, applied: 4 } });
    expect(await w.store.acquireLock?.("test", "probe", 1000)).toBe(true); // released
    await w.store.releaseLock?.("test", "probe");

    // restart: the rest, once
    const again = new Runtime({ ...opts, holder: "second" });
    await again.start();
    await again.idle();
    await again.stop();
    expect(w.crm.writes.filter((x) => x.kind === "create")).toHaveLength(10);
    const all = await w.store.listLinks("test", "customer");
    expect(new Set(all.map((l) => l.erpId)).size).toBe(10);
    expect(all.every((l) => l.crmId && l.erpId)).toBe(true);
    await w.store.close();
  });
});
