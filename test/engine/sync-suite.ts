/**
 * The engine's sync behaviour over the in-memory connectors, as a suite run on each store dialect
 * (sync.test.ts: SQLite; sync.postgres.test.ts: PostgreSQL).
 */
import { afterEach, describe, expect, it } from "vitest";
import { planSync, resolveReview, runSync } from "../../src/engine/index.ts";
import { ValidationRejected } from "../../src/errors.ts";
import type { Store } from "../../src/store/types.ts";
import { makeWorld, type SpecOptions, seedErpCustomer, type World } from "./helpers.ts";

export function balanced(c: { read: number; applied: number; unchanged: number; held: number; quarantined: number }) {
  expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
}

/** ERP customer → CRM account, linked and synced. */
export async function linkedPair(w: World, values: Record<string, unknown> = {}) {
  const erp = seedErpCustomer(w, values);
  await runSync(w.ctx);
  const link = await w.store.getLink("test", "customer", { erpId: erp.id });
  if (!link?.crmId) throw new Error("not linked");
  return { erpId: erp.id, crmId: link.crmId, link };
}

export function defineSyncSuite(label: string, openFreshStore: () => Promise<Store>): void {
  describe(label, () => {
    let worlds: World[] = [];
    async function world(o: SpecOptions = {}): Promise<World> {
      const w = await makeWorld(o, await openFreshStore());
      worlds.push(w);
      return w;
    }
    afterEach(async () => {
      for (const w of worlds) await w.store.close();
      worlds = [];
    });

    describe("creates and the shared identifier", () => {
      it("an ERP-only customer is created in the CRM carrying the ERP id; a second run applies nothing (no echo)", async () => {
        const w = await world();
        const erp = seedErpCustomer(w);
        const r1 = await runSync(w.ctx);
        expect(r1.objects[0].counts).toMatchObject({ read: 1, applied: 1 });
        const accounts = w.crm.all("Account");
        expect(accounts).toHaveLength(1);
        expect(accounts[0].values).toMatchObject({ name: "Acme GmbH", website: "acme.example", creditLimit: 5000, cErpId: erp.id });
        const link = await w.store.getLink("test", "customer", { erpId: erp.id });
        expect(link).toMatchObject({ crmId: accounts[0].id, sharedId: erp.id, status: "active" });
        expect(link?.base["creditLimit|credit_limit"]).toEqual({ crm: 5000, erp: 500000 });

        const crmWrites = w.crm.writes.length;
        const erpWrites = w.erp.writes.length;
        const r2 = await runSync(w.ctx);
        // the CRM record Accord created is read back: recognised as an echo by content
        expect(r2.objects[0].counts.applied).toBe(0);
        expect(r2.objects[0].counts.read).toBeGreaterThanOrEqual(1);
        expect(r2.objects[0].echoes).toBeGreaterThanOrEqual(1);
        expect(w.crm.writes.length).toBe(crmWrites);
        expect(w.erp.writes.length).toBe(erpWrites);
        balanced(r2.objects[0].counts);
      });

      it("a CRM-only account is created in the ERP first, then the ERP id is stamped into the CRM", async () => {
        const w = await world();
        const acc = w.crm.add("Account", { name: "Beta Ltd", website: "beta.example", creditLimit: null, industry: "Tech", cErpId: null });
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.applied).toBe(1);
        const customers = w.erp.all("Customer");
        expect(customers).toHaveLength(1);
        expect(customers[0].values).toMatchObject({ customer_name: "Beta Ltd", industry_code: "TEC" });
        // never writes the ERP-mastered credit limit into the ERP on create
        expect(w.erp.writes.some((x) => x.values && "credit_limit" in x.values)).toBe(false);
        expect(w.crm.get("Account", acc.id)?.values.cErpId).toBe(customers[0].id);
        const before = [w.crm.writes.length, w.erp.writes.length];
        const r2 = await runSync(w.ctx);
        expect(r2.objects[0].counts.applied).toBe(0);
        expect([w.crm.writes.length, w.erp.writes.length]).toEqual(before);
      });

      it("records already carrying the shared id are linked, not created", async () => {
        const w = await world();
        const erp = seedErpCustomer(w);
        w.crm.add("Account", { name: "Acme GmbH", website: "acme.example", creditLimit: 5000, industry: null, cErpId: erp.id });
        const r = await runSync(w.ctx);
        expect(w.crm.all("Account")).toHaveLength(1);
        expect(w.erp.all("Customer")).toHaveLength(1);
        expect(await w.store.countLinks("test", "customer")).toBe(1);
        balanced(r.objects[0].counts);
      });

      it("create: erp->crm does not create ERP records (counted unchanged, with a reason)", async () => {
        const w = await world({ create: "erp->crm" });
        w.crm.add("Account", { name: "Only CRM", cErpId: null });
        const r = await runSync(w.ctx);
        expect(w.erp.all("Customer")).toHaveLength(0);
        expect(r.objects[0].counts).toMatchObject({ read: 1, unchanged: 1 });
      });
    });

    describe("one-sided changes and echo", () => {
      it("propagates a CRM edit to the ERP and an ERP edit to the CRM; then nothing", async () => {
        const w = await world();
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme Group" });
        w.erp.edit("Customer", p.erpId, { website: "acme.example/de" }, "erika");
        const r = await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme Group");
        expect(w.crm.get("Account", p.crmId)?.values.website).toBe("acme.example/de");
        balanced(r.objects[0].counts);
        const writes = [w.crm.writes.length, w.erp.writes.length];
        const r2 = await runSync(w.ctx);
        expect(r2.objects[0].counts.applied).toBe(0);
        expect([w.crm.writes.length, w.erp.writes.length]).toEqual(writes);
      });

      it("a lossy transform never causes a false change (base kept per side, in each side's representation)", async () => {
        const w = await world();
        const p = await linkedPair(w);
        // industry → ERP code: "Tech" → "TEC"; the reverse would not give "Tech" back
        w.crm.edit("Account", p.crmId, { industry: "Tech" });
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.industry_code).toBe("TEC");
        const writes = [w.crm.writes.length, w.erp.writes.length];
        for (let i = 0; i < 3; i++) {
          const r = await runSync(w.ctx);
          expect(r.objects[0].counts.applied).toBe(0);
        }
        expect([w.crm.writes.length, w.erp.writes.length]).toEqual(writes);
      });

      it("a system that normalises what Accord writes does not start a ping-pong", async () => {
        const w = await world();
        const p = await linkedPair(w);
        w.erp.normalizeOnWrite = (v) => ("customer_name" in v ? { ...v, customer_name: String(v.customer_name).toUpperCase() } : v);
        w.crm.edit("Account", p.crmId, { name: "Acme Co" });
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("ACME CO");
        const writes = [w.crm.writes.length, w.erp.writes.length];
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.applied).toBe(0);
        expect(r.objects[0].echoes).toBeGreaterThanOrEqual(1);
        expect([w.crm.writes.length, w.erp.writes.length]).toEqual(writes);
        // the CRM keeps its own spelling; neither side is rewritten
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme Co");
      });

      it("history records before, after, source, rule and run per field", async () => {
        const w = await world();
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme Group" });
        const r = await runSync(w.ctx);
        const h = await w.store.history("test", "customer", p.erpId);
        const e = h.find((x) => x.field === "customer_name" && x.after === "Acme Group");
        expect(e).toMatchObject({ target: "erp", before: "Acme GmbH", source: "crm", rule: "one-sided change", runId: r.objects[0].runId });
      });
    });

    describe("conflict policies on the linked pair", () => {
      it("review: the field is held with base/crm/erp, other fields keep syncing; a resolution is applied on the next run", async () => {
        const w = await world({ conflict: { kind: "review" } });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme CRM", website: "new.example" });
        w.erp.edit("Customer", p.erpId, { customer_name: "Acme ERP" }, "erika");
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.held).toBeGreaterThanOrEqual(1);
        balanced(r.objects[0].counts);
        expect(w.erp.get("Customer", p.erpId)?.values.website).toBe("new.example"); // other field synced
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme ERP"); // held
        const open = await w.store.listReviews("test", { status: "open" });
        expect(open).toHaveLength(1);
        expect(open[0]).toMatchObject({
          kind: "conflict",
          field: "name|customer_name",
          crm: "Acme CRM",
          erp: "Acme ERP",
          base: { crm: "Acme GmbH", erp: "Acme GmbH" },
        });

        // while open, further runs neither write nor duplicate the review
        await runSync(w.ctx);
        expect(await w.store.listReviews("test", { status: "open" })).toHaveLength(1);
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme CRM");

        await resolveReview(w.store, open[0].id, { pick: "erp" }, "ana");
        const r3 = await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme ERP");
        expect(r3.objects[0].counts.applied).toBeGreaterThanOrEqual(1);
        const h = await w.store.history("test", "customer", p.crmId);
        expect(h.some((x) => x.rule === `review #${open[0].id} resolved by ana` && x.after === "Acme ERP")).toBe(true);
        // applied once only
        const writes = w.crm.writes.length;
        await runSync(w.ctx);
        expect(w.crm.writes.length).toBe(writes);
      });

      it("review resolved with a value writes it to both systems", async () => {
        const w = await world({ conflict: { kind: "review" } });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme CRM" });
        w.erp.edit("Customer", p.erpId, { customer_name: "Acme ERP" }, "erika");
        await runSync(w.ctx);
        const [item] = await w.store.listReviews("test", { status: "open" });
        await resolveReview(w.store, item.id, { value: "Acme Holding" }, "ana");
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme Holding");
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme Holding");
      });

      it("prefer: crm", async () => {
        const w = await world({ conflict: { kind: "prefer", side: "crm" } });
        const p = await linkedPair(w);
        w.erp.edit("Customer", p.erpId, { customer_name: "Acme ERP" }, "erika");
        w.crm.edit("Account", p.crmId, { name: "Acme CRM" });
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme CRM");
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme CRM");
      });

      it("first-created-wins: the ERP record (created first) wins, whatever the edit order", async () => {
        const w = await world({ conflict: { kind: "first-created-wins" } });
        const p = await linkedPair(w); // ERP customer created before the CRM account
        w.erp.edit("Customer", p.erpId, { customer_name: "Acme ERP" }, "erika");
        w.crm.edit("Account", p.crmId, { name: "Acme CRM" }); // later edit: timing must not decide
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.name).toBe("Acme ERP");
      });

      it("last-updated-wins: the later edit wins; edits closer than the skew tolerance go to review", async () => {
        const w = await world({ conflict: { kind: "last-updated-wins", skewToleranceMs: 1500 } });
        const p = await linkedPair(w);
        w.erp.edit("Customer", p.erpId, { customer_name: "Acme ERP" }, "erika");
        w.clock.advance(10_000);
        w.crm.edit("Account", p.crmId, { name: "Acme CRM" });
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme CRM");

        w.crm.edit("Account", p.crmId, { name: "C2" });
        w.erp.edit("Customer", p.erpId, { customer_name: "E2" }, "erika"); // 1 s later (clock tick)
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.held).toBeGreaterThanOrEqual(1);
        const open = await w.store.listReviews("test", { status: "open" });
        expect(open[0].reason).toContain("skew tolerance");
      });
    });

    describe("masters (invariant 4)", () => {
      it("revert: a CRM edit of the ERP-mastered credit limit is written back; the ERP is never written", async () => {
        const w = await world({ onMasterEdit: "revert" });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { creditLimit: 99999 });
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.creditLimit).toBe(5000);
        expect(w.erp.get("Customer", p.erpId)?.values.credit_limit).toBe(500000);
        expect(w.erp.writes.some((x) => x.values && "credit_limit" in x.values)).toBe(false);
        const h = await w.store.history("test", "customer", p.crmId);
        expect(h.some((x) => x.field === "creditLimit" && x.rule.includes("reverted") && x.after === 5000)).toBe(true);
      });

      it("ignore: the edit stays, is logged, and a later master change still flows", async () => {
        const w = await world({ onMasterEdit: "ignore" });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { creditLimit: 99999 });
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.creditLimit).toBe(99999);
        expect(w.erp.get("Customer", p.erpId)?.values.credit_limit).toBe(500000);
        const h = await w.store.history("test", "customer", p.crmId);
        expect(h.some((x) => x.field === "creditLimit" && x.rule.includes("ignored") && x.after === 99999)).toBe(true);
        w.erp.edit("Customer", p.erpId, { credit_limit: 700000 }, "erika");
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.creditLimit).toBe(7000);
      });

      it("review: the edit is held; resolving with the master reverts it", async () => {
        const w = await world({ onMasterEdit: "review" });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { creditLimit: 99999, name: "Acme New" });
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.held).toBe(1);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme New");
        const [item] = await w.store.listReviews("test", { status: "open" });
        expect(item.kind).toBe("master-edit");
        await resolveReview(w.store, item.id, { pick: "erp" }, "ana");
        await runSync(w.ctx);
        expect(w.crm.get("Account", p.crmId)?.values.creditLimit).toBe(5000);
        expect(w.erp.writes.some((x) => x.values && "credit_limit" in x.values)).toBe(false);
      });

      it("the CRM-mastered industry never flows into the CRM from the ERP", async () => {
        const w = await world({ onMasterEdit: "revert" });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { industry: "Retail" });
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.industry_code).toBe("RET");
        w.erp.edit("Customer", p.erpId, { industry_code: "TEC" }, "erika");
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.industry_code).toBe("RET");
        expect(w.crm.writes.some((x) => x.values && "industry" in x.values)).toBe(false);
      });
    });

    describe("no silent skip (invariant 1)", () => {
      it("a transform failure quarantines the record with class and reason; it is retried and released once fixed", async () => {
        const w = await world();
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { industry: "Mining", name: "Acme Mining" }); // no ERP code for Mining
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.quarantined).toBe(1);
        balanced(r.objects[0].counts);
        const [q] = await w.store.listQuarantine("test", { status: "open" });
        expect(q).toMatchObject({ side: "crm", recordId: p.crmId });
        expect(q.reason).toContain("industry");
        // the next run retries it even though it did not change again
        const r2 = await runSync(w.ctx);
        expect(r2.objects[0].counts.quarantined).toBe(1);
        expect((await w.store.listQuarantine("test", { status: "open" }))[0].attempts).toBe(2);
        w.crm.edit("Account", p.crmId, { industry: "Tech" });
        const r3 = await runSync(w.ctx);
        expect(r3.objects[0].counts.quarantined).toBe(0);
        expect(await w.store.listQuarantine("test", { status: "open" })).toHaveLength(0);
        expect(w.erp.get("Customer", p.erpId)?.values).toMatchObject({ industry_code: "TEC", customer_name: "Acme Mining" });
      });

      it("a target rejection quarantines; the run goes on with other records", async () => {
        const w = await world();
        const a = w.crm.add("Account", { name: "Bad Co", cErpId: null });
        w.crm.add("Account", { name: "Good Co", cErpId: null });
        w.erp.beforeWrite = (op) => {
          if (op.values?.customer_name === "Bad Co")
            throw new ValidationRejected("customer_group is mandatory", { where: { system: "erp", object: "Customer" } });
        };
        const r = await runSync(w.ctx);
        // read 2: both CRM accounts (the ERP customer Accord created is read by the next run, as an echo)
        expect(r.objects[0].counts).toMatchObject({ read: 2, applied: 1, unchanged: 0, quarantined: 1 });
        const [q] = await w.store.listQuarantine("test", { status: "open" });
        expect(q).toMatchObject({ recordId: a.id, errorClass: "ValidationRejected" });
        // the failed create left no pending intent behind
        expect(await w.store.pendingCreateIntents("test")).toHaveLength(0);
        w.erp.beforeWrite = undefined;
        await runSync(w.ctx);
        expect(
          w.erp
            .all("Customer")
            .map((c) => c.values.customer_name)
            .sort(),
        ).toEqual(["Bad Co", "Good Co"]);
      });

      it("each run stores counts that balance", async () => {
        const w = await world();
        seedErpCustomer(w);
        seedErpCustomer(w, { customer_name: "Second" });
        w.crm.add("Account", { name: "Third", cErpId: null, industry: "Mining" });
        await runSync(w.ctx);
        await runSync(w.ctx);
        const runs = await w.store.listRuns("test");
        expect(runs.length).toBe(2);
        for (const run of runs) {
          expect(run.status).toBe("ok");
          balanced(run.counts);
        }
        expect(runs.some((r) => r.counts.quarantined > 0)).toBe(true);
      });

      it("a pinned record is counted as held, not synced", async () => {
        const w = await world();
        const p = await linkedPair(w);
        await w.store.setPinned("test", "customer", "crm", p.crmId, true);
        w.crm.edit("Account", p.crmId, { name: "Pinned Change" });
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts).toMatchObject({ held: 1 });
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Acme GmbH");
      });
    });

    describe("dry run", () => {
      it("plans through the same planner and writes nothing anywhere", async () => {
        const w = await world();
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme Planned" });
        w.erp.add("Customer", { customer_name: "New ERP" }, "erika");
        const dump = async () =>
          JSON.stringify({
            links: await w.store.listLinks("test", "customer"),
            cursors: [await w.store.getCursor("test", "customer", "crm"), await w.store.getCursor("test", "customer", "erp")],
            runs: await w.store.listRuns("test"),
            reviews: await w.store.listReviews("test"),
            q: await w.store.listQuarantine("test"),
            intents: await w.store.pendingCreateIntents("test"),
            h: [await w.store.history("test", "customer", p.crmId), await w.store.history("test", "customer", p.erpId)],
          });
        const before = await dump();
        const writes = [w.crm.writes.length, w.erp.writes.length];
        const plan = await planSync(w.ctx);
        expect(await dump()).toBe(before);
        expect([w.crm.writes.length, w.erp.writes.length]).toEqual(writes);
        const recs = plan.objects[0].records;
        const upd = recs.flatMap((r) => r.ops).find((o) => o.kind === "update" && o.field === "customer_name");
        expect(upd).toMatchObject({ target: "erp", before: "Acme GmbH", after: "Acme Planned", rule: "one-sided change" });
        expect(recs.some((r) => r.ops.some((o) => o.kind === "create" && o.target === "crm"))).toBe(true);
        balanced(plan.objects[0].counts);
        // and the real run then does what was planned
        const real = await runSync(w.ctx);
        expect(real.objects[0].counts.applied).toBe(plan.objects[0].counts.applied);
      });
    });

    describe("exactly-once creates (invariant 2)", () => {
      it("a crash after the remote CRM create: the next run finds the record by identity and does not duplicate it", async () => {
        const w = await world();
        seedErpCustomer(w);
        w.crm.afterCreate = () => {
          w.crm.afterCreate = undefined;
          throw new Error("process killed");
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        expect(w.crm.all("Account")).toHaveLength(1);
        expect(await w.store.pendingCreateIntents("test")).toHaveLength(1);
        expect(await w.store.countLinks("test", "customer")).toBe(0);
        const r = await runSync(w.ctx);
        expect(r.objects[0].recovered).toBe(1);
        expect(w.crm.all("Account")).toHaveLength(1);
        expect(await w.store.countLinks("test", "customer")).toBe(1);
        expect(await w.store.pendingCreateIntents("test")).toHaveLength(0);
        balanced(r.objects[0].counts);
      });

      it("a crash after the remote ERP create (ERP-assigned id): recovered by content, no duplicate, id stamped", async () => {
        const w = await world();
        const acc = w.crm.add("Account", { name: "Gamma AG", website: "gamma.example", cErpId: null });
        w.erp.afterCreate = () => {
          w.erp.afterCreate = undefined;
          throw new Error("process killed");
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        expect(w.erp.all("Customer")).toHaveLength(1);
        await runSync(w.ctx);
        const customers = w.erp.all("Customer");
        expect(customers).toHaveLength(1);
        expect(w.crm.get("Account", acc.id)?.values.cErpId).toBe(customers[0].id);
        expect(await w.store.pendingCreateIntents("test")).toHaveLength(0);
      });

      it("a crash after a remote update, before the base is saved: the next run sees agreement, not a conflict", async () => {
        const w = await world({ conflict: { kind: "review" } });
        const p = await linkedPair(w);
        w.crm.edit("Account", p.crmId, { name: "Acme Crash", industry: "Retail" });
        w.erp.afterUpdate = () => {
          w.erp.afterUpdate = undefined;
          throw new Error("process killed");
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        expect(w.erp.get("Customer", p.erpId)?.values).toMatchObject({ customer_name: "Acme Crash", industry_code: "RET" });
        const r = await runSync(w.ctx);
        balanced(r.objects[0].counts);
        expect(r.objects[0].counts.held).toBe(0);
        expect(await w.store.listReviews("test", { status: "open" })).toHaveLength(0);
        const writes = w.erp.writes.length;
        await runSync(w.ctx);
        expect(w.erp.writes.length).toBe(writes);
        const runs = await w.store.listRuns("test");
        expect(runs.some((x) => x.status === "failed")).toBe(true);
      });

      it("a crash after the link is committed but before the shared id is stamped: the next run stamps it", async () => {
        const w = await world();
        const acc = w.crm.add("Account", { name: "Delta SA", cErpId: null });
        w.crm.beforeWrite = (op) => {
          if (op.kind === "update" && op.values && "cErpId" in op.values) {
            w.crm.beforeWrite = undefined;
            throw new Error("process killed");
          }
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        expect(await w.store.countLinks("test", "customer")).toBe(1);
        expect(w.crm.get("Account", acc.id)?.values.cErpId).toBeNull();
        await runSync(w.ctx);
        const [cust] = w.erp.all("Customer");
        expect(w.erp.all("Customer")).toHaveLength(1);
        expect(w.crm.get("Account", acc.id)?.values.cErpId).toBe(cust.id);
      });

      it("a crash before the remote create: the intent fails over to a normal create, once", async () => {
        const w = await world();
        seedErpCustomer(w);
        w.crm.beforeWrite = () => {
          w.crm.beforeWrite = undefined;
          throw new Error("process killed");
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        expect(w.crm.all("Account")).toHaveLength(0);
        await runSync(w.ctx);
        expect(w.crm.all("Account")).toHaveLength(1);
        await runSync(w.ctx);
        expect(w.crm.all("Account")).toHaveLength(1);
      });
    });

    describe("cursors (invariant 6)", () => {
      it("the cursor moves only after a page is processed; a crash re-reads the page harmlessly", async () => {
        const w = await world();
        for (let i = 0; i < 5; i++) w.erp.add("Customer", { customer_name: `C${i}` }, "erika");
        let creates = 0;
        w.crm.beforeWrite = (op) => {
          if (op.kind === "create" && ++creates === 3) throw new Error("process killed"); // first record of page 2
        };
        await expect(runSync(w.ctx)).rejects.toThrow("process killed");
        const c = await w.store.getCursor("test", "customer", "erp");
        const erpAll = w.erp.all("Customer").sort((a, b) => a.modifiedAt.localeCompare(b.modifiedAt));
        expect(c).toEqual({ modifiedAt: erpAll[1].modifiedAt, id: erpAll[1].id }); // after page 1 (2 records)
        w.crm.beforeWrite = undefined;
        await runSync(w.ctx);
        expect(w.crm.all("Account")).toHaveLength(5);
        expect(await w.store.countLinks("test", "customer")).toBe(5);
      });
    });

    describe("optimistic concurrency", () => {
      it("a concurrent edit between read and write: the write is refused, the record re-read and re-planned, nothing lost", async () => {
        const w = await world(); // conflict: review
        const p = await linkedPair(w);
        w.erp.edit("Customer", p.erpId, { website: "erp.example" }, "erika");
        let once = true;
        w.crm.onUpdate = (_entity, id) => {
          if (once && id === p.crmId) {
            once = false;
            // bob edits the very field Accord is about to write
            w.crm.edit("Account", p.crmId, { website: "bob.example", name: "Bob's Name" }, "bob");
          }
        };
        const r = await runSync(w.ctx);
        balanced(r.objects[0].counts);
        // bob's edit survived (no lost update); re-planned, it is now a true conflict → review
        expect(w.crm.get("Account", p.crmId)?.values).toMatchObject({ website: "bob.example", name: "Bob's Name" });
        const open = await w.store.listReviews("test", { status: "open" });
        expect(open.map((i) => i.field)).toEqual(["website|website"]);
        // and bob's one-sided name change flowed on
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("Bob's Name");
      });
    });

    describe("bounce cap", () => {
      it("more writes than maxBounces within the window raise a bounce review and hold the pair", async () => {
        const w = await world({ bounce: { maxBounces: 2, windowMs: 3_600_000 } });
        const p = await linkedPair(w); // the create counts as one write
        w.crm.edit("Account", p.crmId, { name: "N1" });
        await runSync(w.ctx); // second write
        w.crm.edit("Account", p.crmId, { name: "N2" });
        const r = await runSync(w.ctx);
        expect(r.objects[0].counts.held).toBe(1);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("N1");
        const [item] = await w.store.listReviews("test", { status: "open" });
        expect(item.kind).toBe("bounce");
        await resolveReview(w.store, item.id, { accept: true }, "ana");
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)?.values.customer_name).toBe("N2");
      });
    });

    describe("deletions", () => {
      it("deletes: ignore — a deleted ERP customer is never re-created from the CRM", async () => {
        const w = await world({ deletes: "ignore" });
        const p = await linkedPair(w);
        w.erp.remove("Customer", p.erpId);
        const r = await runSync(w.ctx);
        expect(r.objects[0].deletions).toBe(1);
        expect((await w.store.getLink("test", "customer", { crmId: p.crmId }))?.status).toBe("deleted-erp");
        w.crm.edit("Account", p.crmId, { name: "Still here" });
        await runSync(w.ctx);
        expect(w.erp.all("Customer")).toHaveLength(0);
      });

      it("deletes: propagate — the counterpart is deleted; flag — the link is flagged and the record held", async () => {
        const w = await world({ deletes: "propagate" });
        const p = await linkedPair(w);
        w.crm.remove("Account", p.crmId);
        await runSync(w.ctx);
        expect(w.erp.get("Customer", p.erpId)).toBeUndefined();

        const v = await world({ deletes: "flag" });
        const q = await linkedPair(v);
        v.erp.remove("Customer", q.erpId);
        v.crm.edit("Account", q.crmId, { name: "Edited after delete" });
        const r = await runSync(v.ctx, { detectDeletes: false }); // detected while reading the pair
        expect(r.objects[0].counts.held).toBe(1);
        expect((await v.store.getLink("test", "customer", { crmId: q.crmId }))?.status).toBe("flagged");
        expect(v.erp.all("Customer")).toHaveLength(0);
      });
    });

    describe("parents before children", () => {
      it("a contact syncs with its parent translated through the links; an unlinked parent quarantines until linked", async () => {
        const w = await world({ withContacts: true });
        const p = await linkedPair(w);
        const orphanAcc = w.crm.add("Account", { name: "Orphan Inc", cErpId: null, industry: "Mining" }); // quarantined: no industry code
        w.crm.add("Contact", { lastName: "Meyer", emailAddress: "m@acme.example", accountId: p.crmId, cErpId: null });
        const c2 = w.crm.add("Contact", { lastName: "Orphan", emailAddress: "o@x.example", accountId: orphanAcc.id, cErpId: null });
        const r = await runSync(w.ctx);
        const contacts = r.objects.find((o) => o.object === "contact");
        expect(contacts?.counts).toMatchObject({ applied: 1, quarantined: 1 });
        const erpContacts = w.erp.all("Contact");
        expect(erpContacts).toHaveLength(1);
        expect(erpContacts[0].values).toMatchObject({ last_name: "Meyer", customer: p.erpId });
        const q = await w.store.listQuarantine("test", { object: "contact" });
        expect(q[0]).toMatchObject({ recordId: c2.id, errorClass: "ParentNotLinked" });
        expect(q[0].reason).toContain("parent not linked yet");
        w.crm.edit("Account", orphanAcc.id, { industry: "Retail" });
        await runSync(w.ctx);
        const orphanErp = (await w.store.getLink("test", "customer", { crmId: orphanAcc.id }))?.erpId;
        expect(w.erp.all("Contact").find((c) => c.values.last_name === "Orphan")?.values.customer).toBe(orphanErp);
      });
    });

    describe("a child on the parent's own CRM record", () => {
      it("an account's billing city ↔ an ERP Address of its customer: created, linked by the parent's id, synced both ways", async () => {
        const w = await world({ withBilling: true });
        const erp = seedErpCustomer(w);
        await runSync(w.ctx); // customer → account created (with cErpId), then billing: account → Address created
        const [acc] = w.crm.all("Account");
        expect(acc.values.cErpId).toBe(erp.id);
        w.crm.edit("Account", acc.id, { billingCity: "Berlin" });
        const r = await runSync(w.ctx);
        const billing = r.objects.find((o) => o.object === "billing");
        balanced(billing?.counts ?? { read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 });
        const addresses = w.erp.all("Address");
        expect(addresses).toHaveLength(1);
        expect(addresses[0].values).toMatchObject({ city: "Berlin", customer: erp.id });
        w.erp.edit("Address", addresses[0].id, { city: "Hamburg" }, "erika");
        await runSync(w.ctx);
        expect(w.crm.get("Account", acc.id)?.values.billingCity).toBe("Hamburg");
        // the record id is never written; the parent reference is mastered by the side holding it in its id
        expect(w.crm.writes.some((x) => x.values && "id" in x.values)).toBe(false);
        w.erp.edit("Address", addresses[0].id, { customer: "SOMEONE-ELSE" }, "erika");
        await runSync(w.ctx);
        expect(w.erp.get("Address", addresses[0].id)?.values.customer).toBe(erp.id);
        expect(w.erp.all("Address")).toHaveLength(1);
      });
    });
  });
}
