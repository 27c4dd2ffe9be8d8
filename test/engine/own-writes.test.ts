/**
 * A page of changes holding only records Accord itself wrote in this run (the ERP customers it just
 * created, the CRM accounts it just stamped) ends that side's read for the run: those records are
 * read by the next run (as echoes), their cursor is not passed, and nothing anyone else changed is
 * skipped — a page with any other record is processed as usual.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/index.ts";
import { makeWorld, type World } from "./helpers.ts";

describe("own writes of the run end the read", () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.store.close();
    w = undefined;
  });

  it("the ERP customers a run created are read by the next run as echoes; an edit of one is not lost", async () => {
    w = await makeWorld({ create: "crm->erp" });
    for (let i = 0; i < 5; i++) w.crm.add("Account", { name: `Firm ${i}`, website: `f${i}.example`, cErpId: null });
    const r1 = await runSync(w.ctx);
    // 5 CRM accounts read and created; the 5 new ERP customers (pages of 2, all Accord's) not read now
    expect(r1.objects[0].counts).toMatchObject({ read: 5, applied: 5, unchanged: 0 });
    expect(w.erp.all("Customer")).toHaveLength(5);
    // the ERP cursor did not move past them
    expect(await w.store.getCursor("test", "customer", "erp")).toBeUndefined();

    // a person edits one of the created customers before the next run: it flows (not skipped)
    const c = w.erp.all("Customer")[2];
    w.erp.edit("Customer", c.id, { website: "edited.example" }, "erika");
    const writesBefore = w.crm.writes.length + w.erp.writes.length;
    const r2 = await runSync(w.ctx);
    const counts = r2.objects[0].counts;
    expect(counts.read).toBe(counts.applied + counts.unchanged + counts.held + counts.quarantined);
    expect(counts.applied).toBe(1);
    // every ERP customer was read this time (4 echoes + the edit), and the CRM accounts stamped in run 1
    expect(counts.read).toBe(10);
    const acc = w.crm.all("Account").find((a) => a.values.cErpId === c.id);
    expect(acc?.values.website).toBe("edited.example");
    expect(w.crm.writes.length + w.erp.writes.length - writesBefore).toBe(1); // the edit only: echoes write nothing
    // and a third run finds nothing to do
    const r3 = await runSync(w.ctx);
    expect(r3.objects[0].counts.applied).toBe(0);
  });

  it("own writes not later than the run's start (coarse or skewed system clock) do not end the read", async () => {
    w = await makeWorld({ create: "crm->erp" });
    for (let i = 0; i < 5; i++) w.crm.add("Account", { name: `Firm ${i}`, cErpId: null });
    // Accord's clock an hour ahead of the systems': their timestamps of Accord's writes are "before" the run
    const clock = w.clock;
    w.ctx.clock = () => new Date(clock.ms + 3_600_000);
    const r1 = await runSync(w.ctx);
    // nothing proves those pages hold only what followed the run's start: they are read (echoes)
    expect(r1.objects[0].counts).toMatchObject({ read: 10, applied: 5, unchanged: 5 });
  });

  it("a page mixing own writes with someone else's change is processed in the same run", async () => {
    w = await makeWorld({ create: "both" });
    const other = w.erp.add("Customer", { customer_name: "Other AG", website: "other.example" }, "erika");
    w.crm.add("Account", { name: "Alpha", website: "alpha.example", cErpId: null });
    w.crm.add("Account", { name: "Beta", website: "beta.example", cErpId: null });
    let edited = false;
    w.erp.afterCreate = () => {
      if (edited) return;
      edited = true;
      // someone edits an ERP customer while Accord creates: it sorts between Accord's two creates
      w?.erp.edit("Customer", other.id, { website: "other-edited.example" }, "erika");
    };
    const r1 = await runSync(w.ctx);
    const c = r1.objects[0].counts;
    expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
    // the ERP page [Alpha's customer, Other AG] is processed: Other AG is created in the CRM in this run
    expect(w.crm.all("Account").map((a) => a.values.name)).toContain("Other AG");
    expect(c.applied).toBe(3);
  });
});
