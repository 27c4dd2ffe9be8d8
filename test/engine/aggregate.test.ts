/**
 * Aggregate sides: max/min besides sum, and emptied groups.
 *
 *  - groupRecord: max/min over the rows (numbers numerically, ISO dates as text, empties ignored, null when none);
 *  - the engine over memory connectors: an object summing a customer's submitted payments onto its CRM
 *    account with the last payment date. A cancelled payment (read as a change, outside the filter)
 *    empties its known group → 0 / no date, logged with the reason, no echo; a draft of a customer
 *    nobody knows is not a record; payments deleted (never read as a change) are found by the deletion
 *    sweep, not taken for a deleted record, and not read again once the base holds the emptied values;
 *  - the spec: max/min load into the model, mistakes are reported at their line.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { EntityDescription, FieldDescription } from "../../src/connectors/types.ts";
import { aggregateView, compareValues, emptyGroup, groupRecord } from "../../src/engine/aggregate.ts";
import { type EngineContext, runSync } from "../../src/engine/index.ts";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { diffDrift, pausedSpec } from "../../src/monitor/drift.ts";
import { DEFAULT_SETTINGS, type MonitorSettings } from "../../src/monitor/settings.ts";
import { renderMappingDoc } from "../../src/spec/doc.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { IntegrationSpec, ObjectSpec } from "../../src/spec/model.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";
import { field } from "./helpers.ts";
import { MemoryConnector, TestClock } from "./memory-connector.ts";

const row = (id: string, values: Record<string, unknown>, modifiedAt = "2026-11-01T00:00:00.000Z") => ({ id, modifiedAt, values });

describe("groupRecord: max and min", () => {
  const agg = { groupBy: "party", sum: ["amount"], max: ["date"], min: ["n"] };
  it("takes the largest and smallest value: numbers numerically, ISO dates as text, empty values ignored", () => {
    const g = groupRecord({ groupBy: "party", sum: ["amount"], max: ["date", "n"] }, "C1", [
      row("1", { party: "C1", amount: 0.1, date: "2026-02-01", n: 9 }),
      row("2", { party: "C1", amount: 0.2, date: "2026-11-20", n: 10 }),
      row("3", { party: "C1", amount: "1", date: "", n: null }),
      row("4", { party: "C1", amount: null, date: "2026-01-05", n: "100" }),
    ]);
    expect(g?.values).toEqual({ party: "C1", amount: 1.3, date: "2026-11-20", n: "100", rows: 4 });
    const low = groupRecord({ groupBy: "party", sum: [], min: ["date", "n"] }, "C1", [
      row("1", { date: "2026-02-01", n: 9 }),
      row("2", { date: "2026-11-20", n: 10 }),
      row("3", { date: null, n: "" }),
    ]);
    expect(low?.values).toMatchObject({ date: "2026-02-01", n: 9 });
  });
  it("is null when no row has a value; an empty group has sums 0 and rows 0", () => {
    expect(groupRecord(agg, "C1", [row("1", { amount: 5, date: null })])?.values).toMatchObject({ amount: 5, date: null, n: null });
    expect(groupRecord(agg, "C1", [])).toBeUndefined();
    expect(emptyGroup(agg, "C1").values).toEqual({ party: "C1", amount: 0, date: null, n: null, rows: 0 });
    expect(compareValues(9, "10")).toBeLessThan(0);
    expect(compareValues("2026-11-20", "2026-02-01")).toBeGreaterThan(0);
  });
});

describe("aggregateView without a known key", () => {
  it("a group with no rows is not a record unless the engine knows its key", async () => {
    const clock = new TestClock();
    const erp = new MemoryConnector({ type: "memory-erp", user: "accord", clock, idPrefix: "PAY", idField: "name" });
    const cancelled = erp.add("Payment", { party: "C1", amount: 10, docstatus: 2 }).id;
    const agg = { groupBy: "party", sum: ["amount"] };
    const filter = [{ field: "docstatus", op: "=" as const, value: 1 }];
    const unknown = aggregateView(erp, agg, { filter });
    expect(await unknown.readByIds("Payment", ["C1"])).toEqual([]);
    expect(await unknown.findByField("Payment", "party", "C1")).toEqual([]);
    const known = aggregateView(erp, agg, { filter, known: async (k) => k === "C1" });
    expect((await known.readByIds("Payment", ["C1"]))[0]?.values).toEqual({ party: "C1", amount: 0, rows: 0 });
    expect((await known.findByField("Payment", "party", "C1"))[0]?.values.amount).toBe(0);
    // a webhook names the cancelled ROW: its group is read, emptied (known) or nothing (unknown)
    expect((await known.readByIds("Payment", [cancelled])).map((g) => [g.id, g.values.rows])).toEqual([["C1", 0]]);
    expect(await unknown.readByIds("Payment", [cancelled])).toEqual([]);
    const keys: string[] = [];
    for await (const page of known.listIds?.("Payment") ?? []) keys.push(...page);
    expect(keys).toEqual([]);
    erp.add("Payment", { party: "C2", amount: 5, docstatus: 1 });
    for await (const page of known.listIds?.("Payment") ?? []) keys.push(...page);
    expect(keys).toEqual(["C2"]);
  });
});

describe("aggregateView filters rows itself", () => {
  it("a `like` filter holds locally too (the incremental read asks the system for every changed row)", async () => {
    const clock = new TestClock();
    const erp = new MemoryConnector({ type: "memory-erp", user: "accord", clock, idPrefix: "PAY", idField: "name" });
    erp.add("Payment", { party: "C1", amount: 10, mode: "Wire Transfer" });
    erp.add("Payment", { party: "C1", amount: 5, mode: "Cash" });
    erp.add("Payment", { party: "C2", amount: 7, mode: "cash 100%" });
    const view = aggregateView(erp, { groupBy: "party", sum: ["amount"] }, { filter: [{ field: "mode", op: "like", value: "wire%" }] });
    const since = { modifiedAt: new Date(0).toISOString(), id: "" };
    const groups = [];
    for await (const page of view.readChanges("Payment", { since })) groups.push(...page.records);
    expect(groups.map((g) => [g.id, g.values.amount])).toEqual([["C1", 10]]);
    const pct = aggregateView(erp, { groupBy: "party", sum: ["amount"] }, { filter: [{ field: "mode", op: "like", value: "%_100\\%" }] });
    expect((await pct.readByIds("Payment", ["C2", "C1"])).map((g) => g.id)).toEqual(["C2"]);
  });
});

function paymentsObject(): ObjectSpec {
  return {
    name: "payments",
    crm: { entity: "Account", identity: "cAccordId" },
    erp: {
      entity: "Payment",
      identity: "party",
      filter: [{ field: "docstatus", op: "=", value: 1 }],
      aggregate: { groupBy: "party", sum: ["amount"], max: ["date"] },
    },
    schedule: { tier: "hourly" },
    create: "link-only",
    conflict: { kind: "review" },
    onMasterEdit: "revert",
    deletes: "ignore",
    fields: [field("cPaid", "amount", { direction: "erp->crm" }), field("cLastPaid", "date", { direction: "erp->crm" })],
  };
}

describe("engine: emptied groups and max over memory connectors", () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function world(obj: ObjectSpec = paymentsObject()) {
    const clock = new TestClock();
    const crm = new MemoryConnector({
      type: "memory-crm",
      user: "accord-crm",
      clock,
      idPrefix: "acc",
      schema: { Account: ["name", "cAccordId", "cPaid", "cLastPaid"] },
    });
    const erp = new MemoryConnector({
      type: "memory-erp",
      user: "accord-erp",
      clock,
      idPrefix: "PAY",
      idField: "name",
      schema: { Payment: ["party", "amount", "date", "docstatus"] },
    });
    store = await openTestStore();
    const spec: IntegrationSpec = {
      version: 1,
      name: "agg",
      systems: {
        crm: { type: "memory", url: "mem://crm", credentials: {}, options: {} },
        erp: { type: "memory", url: "mem://erp", credentials: {}, options: {} },
      },
      owner: { name: "Owner", email: "owner@example.com" },
      objects: [obj],
      sync: { overlapMs: 5000, skewToleranceMs: 2000, bounce: { maxBounces: 50, windowMs: 60_000 } },
    };
    const ctx: EngineContext = { spec, store, crm, erp, clock: () => clock.now() };
    const run = async (detectDeletes: boolean) => {
      const r = (await runSync(ctx, { detectDeletes, verbose: true })).objects[0];
      const c = r.counts;
      expect(c.read, "invariant 1").toBe(c.applied + c.unchanged + c.held + c.quarantined);
      return r;
    };
    return { clock, crm, erp, ctx, run, store };
  }

  it("a cancelled payment empties its known group (0, no date), logged with the reason; no echo; unknown groups stay out", async () => {
    const w = await world();
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    const c2 = w.crm.add("Account", { name: "Two", cAccordId: "C2" }).id;
    w.erp.add("Payment", { party: "C1", amount: 100, date: "2026-01-10", docstatus: 1 });
    w.erp.add("Payment", { party: "C1", amount: 50.5, date: "2026-03-01", docstatus: 1 });
    const p3 = w.erp.add("Payment", { party: "C2", amount: 70, date: "2026-02-02", docstatus: 1 }).id;
    await w.run(false);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 150.5, cLastPaid: "2026-03-01" });
    expect(w.crm.get("Account", c2)?.values).toMatchObject({ cPaid: 70, cLastPaid: "2026-02-02" });

    // a later payment moves the date, an earlier one does not
    w.clock.advance(10_000);
    w.erp.add("Payment", { party: "C1", amount: 1, date: "2026-04-01", docstatus: 1 });
    w.erp.add("Payment", { party: "C1", amount: 1, date: "2025-12-31", docstatus: 1 });
    await w.run(false);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 152.5, cLastPaid: "2026-04-01" });

    // C2's only payment cancelled: read as a change, outside the filter → its known group is emptied
    w.clock.advance(10_000);
    w.erp.edit("Payment", p3, { docstatus: 2 });
    // a draft of a customer nobody knows: not a record of the object
    w.erp.add("Payment", { party: "Z9", amount: 5, date: "2026-05-01", docstatus: 0 });
    const r = await w.run(false);
    expect(w.crm.get("Account", c2)?.values).toMatchObject({ cPaid: 0, cLastPaid: null });
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 152.5 });
    const erpReports = r.records.filter((x) => x.side === "erp");
    expect(erpReports.map((x) => x.recordId)).toContain("C2");
    expect(erpReports.map((x) => x.recordId)).not.toContain("Z9");
    expect(erpReports.find((x) => x.recordId === "C2")).toMatchObject({ outcome: "applied", reason: expect.stringMatching(/^group C2 of Payment emptied/) });
    const h = await w.store.history("agg", "payments", c2);
    const emptied = h.filter((x) => /emptied: no rows left/.test(x.rule));
    expect(emptied.map((x) => [x.field, x.before, x.after]).sort()).toEqual([
      ["cLastPaid", "2026-02-02", null],
      ["cPaid", 70, 0],
    ]);
    // no echo: the next runs write nothing (the overlap re-reads the cancelled row; the group is 0 already)
    for (const deletes of [false, true]) {
      const again = await w.run(deletes);
      expect(again.counts.applied).toBe(0);
    }
    expect((await w.store.history("agg", "payments", c2)).length).toBe(h.length);
    // a new payment fills the group again, the link is still active
    w.clock.advance(10_000);
    w.erp.add("Payment", { party: "C2", amount: 20, date: "2026-06-01", docstatus: 1 });
    await w.run(false);
    expect(w.crm.get("Account", c2)?.values).toMatchObject({ cPaid: 20, cLastPaid: "2026-06-01" });
  });

  it("the bounce cap does not hold totals flowing out of the aggregate side (no loop can feed them); reverts of CRM edits still count", async () => {
    const w = await world();
    w.ctx.spec.sync.bounce = { maxBounces: 2, windowMs: 3_600_000 };
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    w.erp.add("Payment", { party: "C1", amount: 1, date: "2026-01-01", docstatus: 1 });
    await w.run(false);
    for (let i = 2; i <= 6; i++) {
      w.clock.advance(10_000);
      w.erp.add("Payment", { party: "C1", amount: 1, date: `2026-01-0${i}`, docstatus: 1 });
      const r = await w.run(false);
      expect(r.counts.held, `payment ${i}`).toBe(0);
      expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: i, cLastPaid: `2026-01-0${i}` });
    }
    expect((await w.store.listReviews("agg", { status: "open" })).filter((x) => x.kind === "bounce")).toEqual([]);
    // a person (or a CRM automation) keeps overwriting the ERP-mastered total: the reverts are capped
    let held = 0;
    for (let i = 0; i < 4; i++) {
      w.clock.advance(10_000);
      w.crm.edit("Account", c1, { cPaid: 999 + i }, "ana");
      held += (await w.run(false)).counts.held;
    }
    expect(held).toBeGreaterThan(0);
    expect((await w.store.listReviews("agg", { status: "open" })).some((x) => x.kind === "bounce")).toBe(true);
  });

  it("deleted payments (never read as a change) are found by the deletion sweep: the group is emptied, the link stays", async () => {
    const w = await world();
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    const ids = [
      w.erp.add("Payment", { party: "C1", amount: 100, date: "2026-01-10", docstatus: 1 }).id,
      w.erp.add("Payment", { party: "C1", amount: 50, date: "2026-03-01", docstatus: 1 }).id,
    ];
    await w.run(true);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 150, cLastPaid: "2026-03-01" });
    w.clock.advance(10_000);
    for (const id of ids) w.erp.remove("Payment", id);
    await w.run(false);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 150 }); // a change read cannot see a deletion
    const swept = await w.run(true);
    expect(swept.deletions).toBe(0);
    expect(swept.counts.applied).toBe(1);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 0, cLastPaid: null });
    const link = await w.store.getLink("agg", "payments", { erpId: "C1" });
    expect(link?.status).toBe("active");
    // the base holds the emptied values: the sweep does not read the group again
    const next = await w.run(true);
    expect(next.records.filter((x) => x.side === "erp")).toEqual([]);
    expect(next.counts.applied).toBe(0);
  });

  it("an emptied group's null max takes the field's declared default (a transform `default`)", async () => {
    const obj = paymentsObject();
    obj.fields[1] = field("cLastPaid", "date", { direction: "erp->crm", toCrm: [{ default: "none" }] });
    const w = await world(obj);
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    const p = w.erp.add("Payment", { party: "C1", amount: 100, date: "2026-01-10", docstatus: 1 }).id;
    await w.run(false);
    w.clock.advance(10_000);
    w.erp.edit("Payment", p, { docstatus: 2 });
    await w.run(false);
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 0, cLastPaid: "none" });
  });

  it("a targeted run for a webhook naming the cancelled row empties its group", async () => {
    const w = await world();
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    const p = w.erp.add("Payment", { party: "C1", amount: 100, date: "2026-01-10", docstatus: 1 }).id;
    await w.run(false);
    w.erp.edit("Payment", p, { docstatus: 2 });
    const r = (await runSync(w.ctx, { records: { erp: [p] }, detectDeletes: false })).objects[0];
    expect(r.counts).toMatchObject({ read: 1, applied: 1 });
    expect(w.crm.get("Account", c1)?.values).toMatchObject({ cPaid: 0, cLastPaid: null });
  });

  it("a dry run plans the emptied group and writes nothing", async () => {
    const w = await world();
    const c1 = w.crm.add("Account", { name: "One", cAccordId: "C1" }).id;
    const p = w.erp.add("Payment", { party: "C1", amount: 100, date: "2026-01-10", docstatus: 1 }).id;
    await w.run(false);
    w.clock.advance(10_000);
    w.erp.edit("Payment", p, { docstatus: 2 });
    const { planSync } = await import("../../src/engine/index.ts");
    const plan = (await planSync(w.ctx, { detectDeletes: false })).objects[0];
    const rep = plan.records.find((x) => x.side === "erp" && x.recordId === "C1");
    expect(rep?.outcome).toBe("applied");
    expect(rep?.ops.find((o) => o.field === "cPaid")).toMatchObject({ before: 100, after: 0 });
    expect(w.crm.get("Account", c1)?.values.cPaid).toBe(100);
  });
});

describe("spec: max and min in an aggregate", () => {
  const HEAD = `version: 1
name: agg
systems:
  crm: { type: espocrm, url: http://crm.local, credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp: { type: erpnext, url: http://erp.local:8000, credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" } }
owner: { name: Petra, email: petra@acme.example }
objects:
  payments:
    crm: { entity: Account, identity: cAccordId }
    create: link-only
    fields:
      - { crm: cAmountPaid, erp: paid_amount, direction: erp->crm }
`;
  const issuesOf = (text: string): SpecIssue[] => {
    try {
      loadSpec(text, "t.yaml");
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      return (e as SpecError).issues;
    }
    throw new Error("expected the file to be invalid");
  };
  const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

  it("loads max and min into the model (sum may be left out)", () => {
    const spec = loadSpec(`${HEAD}    erp:\n      entity: Payment Entry\n      identity: party\n      aggregate: { groupBy: party, max: [posting_date], min: [paid_amount] }\n`, "t.yaml");
    expect(spec.objects[0].erp.aggregate).toEqual({ groupBy: "party", sum: [], max: ["posting_date"], min: ["paid_amount"] });
  });

  it("the mapping document describes sums, max and min", () => {
    const spec = loadSpec(`${HEAD}    erp:\n      entity: Payment Entry\n      identity: party\n      aggregate: { groupBy: party, sum: [paid_amount], max: [posting_date], min: [first_date] }\n`, "t.yaml");
    expect(renderMappingDoc(spec, "md")).toContain(
      "ERP Payment Entry grouped by party, sum of paid_amount, latest (max) of posting_date, earliest (min) of first_date (read-only; a linked group with no rows left reads as 0 / empty)",
    );
  });

  it("reports an aggregate that computes nothing, a field twice, the group key or rows as a value — at their lines", () => {
    const text = `${HEAD}    erp:
      entity: Payment Entry
      identity: party
      aggregate:
        groupBy: party
        sum: [paid_amount]
        max:
          - posting_date
          - paid_amount
          - party
        min:
          - rows
`;
    const msgs = issuesOf(text).map((i) => `${i.line}: ${i.message}`);
    expect(msgs).toContainEqual(`${lineOf(text, "- paid_amount")}: \`paid_amount\` is already a sum of this aggregate; a group has one value per field`);
    expect(msgs).toContainEqual(`${lineOf(text, "- party")}: \`party\` is the group key (groupBy); it cannot also be a max of the group`);
    expect(msgs).toContainEqual(expect.stringMatching(new RegExp(`^${lineOf(text, "- rows")}: \`rows\` is the group's row count`)));
    const none = `${HEAD}    erp: { entity: Payment Entry, identity: party, aggregate: { groupBy: party } }\n`;
    expect(issuesOf(none).map((i) => `${i.line}: ${i.message}`)).toContainEqual(
      `${lineOf(none, "aggregate:")}: an aggregate computes nothing: give it sum, max or min fields`,
    );
  });
});

describe("drift: an aggregate's max field is a read field like a sum", () => {
  const fd = (name: string, type: FieldDescription["type"]): FieldDescription => ({ name, type, nativeType: type, required: false, readOnly: false });
  const entity = (name: string, fields: FieldDescription[]): EntityDescription => ({ name, fields: Object.fromEntries(fields.map((f) => [f.name, f])) });
  const spec = loadSpec(
    `version: 1
name: agg
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
objects:
  payments:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Payment Entry, identity: party, aggregate: { groupBy: party, sum: [paid_amount], max: [posting_date, modified_on], min: [first_date] } }
    create: link-only
    fields:
      - { crm: cAmountPaid, erp: paid_amount, direction: erp->crm }
      - { crm: cLastPaymentDate, erp: posting_date, direction: erp->crm }
`,
    "agg.yaml",
  );
  const schemas = (erpFields: string[]) => ({
    crm: { entities: { Account: entity("Account", [fd("cAccordId", "string"), fd("cAmountPaid", "float"), fd("cLastPaymentDate", "date")]) } },
    erp: {
      entities: {
        "Payment Entry": entity("Payment Entry", [fd("party", "string"), fd("paid_amount", "float"), ...erpFields.map((f) => fd(f, "date"))]),
      },
    },
  });
  const all = ["posting_date", "modified_on", "first_date"];
  const settings: MonitorSettings = { ...DEFAULT_SETTINGS, objects: {} };

  it("a vanished mapped max field pauses its mapping and leaves the max without it; unmapped max/min fields pause just themselves", () => {
    const mapped = diffDrift(spec, schemas(["modified_on", "first_date"]), schemas(all), settings);
    expect(mapped.findings.find((f) => f.kind === "field-removed")).toMatchObject({ field: "posting_date" });
    const run1 = pausedSpec(spec, mapped.pauses).objects[0];
    expect(run1.fields.map((f) => f.crm)).toEqual(["cAmountPaid"]);
    expect(run1.erp.aggregate).toEqual({ groupBy: "party", sum: ["paid_amount"], max: ["modified_on"], min: ["first_date"] });
    const unmapped = diffDrift(spec, schemas(["posting_date"]), schemas(all), settings);
    const removed = unmapped.findings.filter((f) => f.kind === "field-removed");
    expect(removed.map((f) => [f.field, f.mapping])).toEqual(
      expect.arrayContaining([
        ["modified_on", "aggregate:erp:modified_on"],
        ["first_date", "aggregate:erp:first_date"],
      ]),
    );
    expect(removed.find((f) => f.field === "modified_on")?.message).toMatch(/max field modified_on/);
    expect(removed.find((f) => f.field === "first_date")?.message).toMatch(/min field first_date/);
    const run2 = pausedSpec(spec, unmapped.pauses).objects[0];
    expect(run2.fields).toHaveLength(2);
    expect(run2.erp.aggregate).toEqual({ groupBy: "party", sum: ["paid_amount"], max: ["posting_date"] });
  });
});
