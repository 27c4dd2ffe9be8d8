/**
 * Pipelined identity stamps: in a page processed in several lanes, the stamp of the shared id into the
 * source record runs while its lane creates the next record — never more stamps in flight than lanes,
 * all landed before the run (and the page's cursor) moves on; a refused stamp quarantines the source
 * record, and the next run stamps it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/index.ts";
import { ValidationRejected } from "../../src/errors.ts";
import { makeWorld, type World } from "./helpers.ts";

describe("identity stamps behind the creates", () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.store.close();
    w = undefined;
  });

  function slowStamps(world: World, refuse?: (id: string) => boolean) {
    /** stamps in flight; remote calls (creates + stamps) in flight — without pipelining at most one per lane */
    const seen = { inFlight: 0, maxInFlight: 0, calls: 0, maxCalls: 0 };
    const update = world.crm.update.bind(world.crm);
    world.crm.update = async (entity, id, values, opts) => {
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      seen.maxCalls = Math.max(seen.maxCalls, ++seen.calls);
      try {
        await sleep(5);
        if (refuse?.(id)) throw new ValidationRejected("cErpId is read-only for this account", { where: { system: "crm", record: id } });
        return await update(entity, id, values, opts);
      } finally {
        seen.inFlight--;
        seen.calls--;
      }
    };
    const create = world.erp.create.bind(world.erp);
    world.erp.create = async (entity, values) => {
      seen.maxCalls = Math.max(seen.maxCalls, ++seen.calls);
      try {
        await sleep(5);
        return await create(entity, values);
      } finally {
        seen.calls--;
      }
    };
    return seen;
  }

  it("stamps overlap the next creates, at most one per lane, and all land before the run ends", async () => {
    w = await makeWorld({ create: "crm->erp" });
    const ids = Array.from({ length: 24 }, (_, i) => w?.crm.add("Account", { name: `Firm ${i}`, cErpId: null }).id ?? "");
    const seen = slowStamps(w);
    // one page of all 24 (a targeted run), 2 lanes of ~12 records each
    const r = await runSync(w.ctx, { applyConcurrency: 2, records: { crm: ids } });
    expect(r.objects[0].counts).toMatchObject({ applied: 24, quarantined: 0 });
    // more remote calls at once than lanes: a lane's stamp ran while it created its next record
    expect(seen.maxCalls).toBeGreaterThan(2);
    expect(seen.maxCalls).toBeLessThanOrEqual(4);
    expect(seen.maxInFlight).toBeLessThanOrEqual(2);
    expect(seen.inFlight).toBe(0);
    // every account carries its customer's name, and every link its CRM version after the stamp
    const accounts = w.crm.all("Account");
    expect(accounts.every((a) => typeof a.values.cErpId === "string")).toBe(true);
    for (const a of accounts) {
      const link = await w.store.getLink("test", "customer", { crmId: a.id });
      expect(link?.erpId).toBe(a.values.cErpId);
      expect(link?.crmVersion).toBe(a.version);
      // the stamp is in the record's history
      expect((await w.store.history("test", "customer", a.id)).filter((c) => c.rule === "stamp shared id")).toHaveLength(1);
    }
    const r2 = await runSync(w.ctx, { applyConcurrency: 4 });
    expect(r2.objects[0].counts.applied).toBe(0);
  });

  it("a refused stamp quarantines the source record; the next run stamps it", async () => {
    w = await makeWorld({ create: "crm->erp" });
    const ids = Array.from({ length: 8 }, (_, i) => w?.crm.add("Account", { name: `Firm ${i}`, cErpId: null }).id ?? "");
    let refusing = true;
    slowStamps(w, (id) => refusing && id === ids[5]);
    const r = await runSync(w.ctx, { applyConcurrency: 4, records: { crm: ids } });
    expect(r.objects[0].counts.applied).toBe(8); // created and linked
    const [q] = await w.store.listQuarantine("test", { status: "open" });
    expect(q).toMatchObject({ side: "crm", recordId: ids[5], errorClass: "ValidationRejected" });
    expect(w.crm.get("Account", ids[5])?.values.cErpId).toBeNull();
    expect(w.erp.all("Customer")).toHaveLength(8);

    refusing = false;
    await runSync(w.ctx, { applyConcurrency: 4 });
    const link = await w.store.getLink("test", "customer", { crmId: ids[5] });
    expect(w.crm.get("Account", ids[5])?.values.cErpId).toBe(link?.erpId);
    expect(await w.store.listQuarantine("test", { status: "open" })).toHaveLength(0);
    expect(w.erp.all("Customer")).toHaveLength(8); // no second create
  });
});
