import { describe, expect, it } from "vitest";
import { bounceCapReached, classifyEcho, withWriteRecorded } from "../../src/engine/echo.ts";
import { engineFields } from "../../src/engine/fields.ts";
import { changedSides, type FieldInput, neededTranslations, type RecordTimes, reconcileField } from "../../src/engine/reconcile.ts";
import { holdsValue, needsIdentityStamp, sameValue, sharedIdOf } from "../../src/engine/values.ts";
import type { ConflictPolicy } from "../../src/spec/model.ts";
import { customerObject, field } from "./helpers.ts";

const opts = { skewToleranceMs: 2000 };
const times = (o: Partial<{ cc: string; ec: string; cm: string; em: string }> = {}): RecordTimes => ({
  crm: { createdAt: o.cc ?? "2026-01-01T00:00:00.000Z", modifiedAt: o.cm ?? "2026-01-02T00:00:00.000Z" },
  erp: { createdAt: o.ec ?? "2026-01-01T00:00:00.000Z", modifiedAt: o.em ?? "2026-01-02T00:00:00.000Z" },
});

function both(conflict: ConflictPolicy, base: { crm: string; erp: string } | undefined, crm: string, erp: string): FieldInput {
  return {
    key: "name|customer_name",
    map: field("name", "customer_name", { conflict }),
    base,
    crm: { present: true, value: crm },
    erp: { present: true, value: erp },
    asErp: crm,
    asCrm: erp,
  };
}

describe("values", () => {
  it("treats empties alike and compares content, not types", () => {
    expect(sameValue(null, "")).toBe(true);
    expect(sameValue(undefined, null)).toBe(true);
    expect(sameValue("1", 1)).toBe(false);
    expect(sameValue({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
  });
  it("a target holds a translated value when it has every key the translation produced (child rows)", () => {
    const rows = [{ name: "row-1", idx: 1, parent: "C-1", email_id: "a@x.example", is_primary: 1 }];
    expect(holdsValue(rows, [{ email_id: "a@x.example", is_primary: 1 }])).toBe(true);
    expect(holdsValue(rows, [{ email_id: "b@x.example", is_primary: 1 }])).toBe(false);
    expect(holdsValue(rows, [])).toBe(false);
    expect(holdsValue([], null)).toBe(true);
    expect(holdsValue("a", "a")).toBe(true);
    expect(holdsValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
  it("the shared id is the ERP identity value, falling back to the record id", () => {
    const obj = customerObject();
    expect(sharedIdOf(obj, { id: "CUST-1", modifiedAt: "", values: { name: "CUST-1" } })).toBe("CUST-1");
    expect(sharedIdOf(obj, { id: "CUST-1", modifiedAt: "", values: {} })).toBe("CUST-1");
    expect(needsIdentityStamp(obj, "crm", { id: "a", modifiedAt: "", values: { cErpId: null } }, "CUST-1")).toBe(true);
    expect(needsIdentityStamp(obj, "crm", { id: "a", modifiedAt: "", values: { cErpId: "CUST-1" } }, "CUST-1")).toBe(false);
    // a field the record does not return is never written
    expect(needsIdentityStamp(obj, "crm", { id: "a", modifiedAt: "", values: {} }, "CUST-1")).toBe(false);
  });
});

describe("three-way merge", () => {
  const base = { crm: "Acme", erp: "ACME" };
  it("nothing changed → none (per-side base: a lossy transform never looks like a change)", () => {
    const d = reconcileField(both({ kind: "review" }, base, "Acme", "ACME"), times(), opts);
    expect(d.action).toBe("none");
    expect(changedSides(both({ kind: "review" }, base, "Acme", "ACME"))).toEqual({ crm: false, erp: false });
  });
  it("one-sided change in crm propagates to erp whatever the policy", () => {
    for (const p of [{ kind: "review" }, { kind: "prefer", side: "erp" }, { kind: "first-created-wins" }] as ConflictPolicy[]) {
      const d = reconcileField(both(p, base, "Acme Corp", "ACME"), times(), opts);
      expect(d.action).toBe("write");
      expect(d.writes).toEqual([{ target: "erp", value: "Acme Corp", before: "ACME" }]);
      expect(d.rule).toBe("one-sided change");
      expect(d.base).toEqual({ crm: "Acme Corp", erp: "Acme Corp" });
    }
  });
  it("one-sided change in erp propagates to crm", () => {
    const d = reconcileField(both({ kind: "prefer", side: "crm" }, base, "Acme", "Acme AG"), times(), opts);
    expect(d.writes).toEqual([{ target: "crm", value: "Acme AG", before: "Acme" }]);
  });
  it("a one-sided change whose translation already equals the other side only moves the base", () => {
    const d = reconcileField(both({ kind: "review" }, base, "X", "ACME"), times(), opts);
    expect(d.action).toBe("write");
    const i = both({ kind: "review" }, base, "X", "ACME");
    i.asErp = "ACME"; // e.g. an upper-casing transform
    const d2 = reconcileField(i, times(), opts);
    expect(d2.action).toBe("rebase");
    expect(d2.base).toEqual({ crm: "X", erp: "ACME" });
  });
  it("both changed to the same value → converged, no write", () => {
    const d = reconcileField(both({ kind: "review" }, base, "Same", "Same"), times(), opts);
    expect(d.action).toBe("rebase");
  });
  it("true conflict, review → hold with base/crm/erp", () => {
    const d = reconcileField(both({ kind: "review" }, base, "C", "E"), times(), opts);
    expect(d.action).toBe("hold");
    expect(d.review).toMatchObject({ kind: "conflict", base: { crm: "Acme", erp: "ACME" }, crm: "C", erp: "E" });
    expect(d.writes).toEqual([]);
  });
  it("true conflict, prefer erp → erp wins", () => {
    const d = reconcileField(both({ kind: "prefer", side: "erp" }, base, "C", "E"), times(), opts);
    expect(d.writes).toEqual([{ target: "crm", value: "E", before: "C" }]);
    expect(d.rule).toBe("policy prefer:erp");
  });
  it("true conflict, first-created-wins → the older record wins; unknown creation → review", () => {
    const older = times({ cc: "2025-01-01T00:00:00.000Z", ec: "2025-06-01T00:00:00.000Z" });
    expect(reconcileField(both({ kind: "first-created-wins" }, base, "C", "E"), older, opts).writes[0].target).toBe("erp");
    const erpOlder = times({ cc: "2025-06-01T00:00:00.000Z", ec: "2025-01-01T00:00:00.000Z" });
    expect(reconcileField(both({ kind: "first-created-wins" }, base, "C", "E"), erpOlder, opts).writes[0].target).toBe("crm");
    const unknown: RecordTimes = { crm: { modifiedAt: "2026-01-01T00:00:00.000Z" }, erp: { createdAt: "2025-01-01T00:00:00.000Z" } };
    expect(reconcileField(both({ kind: "first-created-wins" }, base, "C", "E"), unknown, opts).action).toBe("hold");
  });
  it("true conflict, last-updated-wins → the later update wins; within the skew tolerance → review", () => {
    const lw = { kind: "last-updated-wins", skewToleranceMs: 1000 } as const;
    const crmLater = times({ cm: "2026-01-02T00:00:10.000Z", em: "2026-01-02T00:00:00.000Z" });
    expect(reconcileField(both(lw, base, "C", "E"), crmLater, opts).writes[0]).toMatchObject({ target: "erp", value: "C" });
    const erpLater = times({ cm: "2026-01-02T00:00:00.000Z", em: "2026-01-02T00:00:10.000Z" });
    expect(reconcileField(both(lw, base, "C", "E"), erpLater, opts).writes[0]).toMatchObject({ target: "crm", value: "E" });
    const close = times({ cm: "2026-01-02T00:00:00.000Z", em: "2026-01-02T00:00:00.900Z" });
    const d = reconcileField(both(lw, base, "C", "E"), close, opts);
    expect(d.action).toBe("hold");
    expect(d.reason).toContain("skew tolerance");
  });
  it("first sync of a pair (no base): equal → rebase; different → policy", () => {
    expect(reconcileField(both({ kind: "review" }, undefined, "A", "A"), times(), opts).action).toBe("rebase");
    expect(reconcileField(both({ kind: "prefer", side: "crm" }, undefined, "A", "B"), times(), opts).writes[0].target).toBe("erp");
  });
  it("an absent field is skipped, never written as null", () => {
    const i = both({ kind: "prefer", side: "crm" }, base, "C", "E");
    i.crm = { present: false, value: null };
    const d = reconcileField(i, times(), opts);
    expect(d.action).toBe("skip");
    expect(d.writes).toEqual([]);
  });
  it("an open review holds the field", () => {
    const i = both({ kind: "prefer", side: "crm" }, base, "C", "E");
    i.openReviewId = 7;
    expect(reconcileField(i, times(), opts).action).toBe("held");
  });
  it("a resolution picks a side or sets a value", () => {
    const i = both({ kind: "review" }, base, "C", "E");
    i.resolution = { reviewId: 3, kind: "conflict", by: "ana", pick: "erp" };
    const d = reconcileField(i, times(), opts);
    expect(d.writes).toEqual([{ target: "crm", value: "E", before: "C" }]);
    expect(d.appliesReviewId).toBe(3);
    expect(d.rule).toBe("review #3 resolved by ana");
    const j = both({ kind: "review" }, base, "C", "E");
    j.resolution = { reviewId: 4, kind: "conflict", by: "ana", value: { crm: "V", erp: "v" } };
    expect(reconcileField(j, times(), opts).writes).toEqual([
      { target: "crm", value: "V", before: "C" },
      { target: "erp", value: "v", before: "E" },
    ]);
  });
});

describe("masters (invariant 4)", () => {
  const credit = (
    onMasterEdit: "revert" | "ignore" | "review",
    base: { crm: number; erp: number } | undefined,
    crm: number,
    erp: number,
  ): FieldInput => ({
    key: "creditLimit|credit_limit",
    map: field("creditLimit", "credit_limit", { direction: "erp->crm", master: "erp", onMasterEdit }),
    base,
    crm: { present: true, value: crm },
    erp: { present: true, value: erp },
    asCrm: erp / 100,
  });
  const b = { crm: 5000, erp: 500000 };
  it("the master's change flows to the other system", () => {
    const d = reconcileField(credit("revert", b, 5000, 600000), times(), opts);
    expect(d.writes).toEqual([{ target: "crm", value: 6000, before: 5000 }]);
    expect(d.rule).toBe("master erp");
  });
  it("an edit in the non-master system is reverted", () => {
    const d = reconcileField(credit("revert", b, 9999, 500000), times(), opts);
    expect(d.writes).toEqual([{ target: "crm", value: 5000, before: 9999 }]);
    expect(d.rule).toContain("reverted");
  });
  it("… or ignored (base moves, history logged, nothing written)", () => {
    const d = reconcileField(credit("ignore", b, 9999, 500000), times(), opts);
    expect(d.action).toBe("rebase");
    expect(d.writes).toEqual([]);
    expect(d.base).toEqual({ crm: 9999, erp: 500000 });
    expect(d.log).toEqual({ target: "crm", before: 5000, after: 9999, source: "crm" });
  });
  it("… or held for review", () => {
    const d = reconcileField(credit("review", b, 9999, 500000), times(), opts);
    expect(d.action).toBe("hold");
    expect(d.review?.kind).toBe("master-edit");
  });
  it("never writes into the master, whatever the input", () => {
    for (const action of ["revert", "ignore", "review"] as const) {
      for (const [c, e] of [
        [9999, 500000],
        [9999, 600000],
        [5000, 600000],
      ]) {
        for (const base of [b, undefined]) {
          const d = reconcileField(credit(action, base, c, e), times(), opts);
          expect(d.writes.every((w) => w.target === "crm")).toBe(true);
        }
      }
    }
    // even a person's resolution value is not written into the master
    const i = credit("review", b, 9999, 500000);
    i.resolution = { reviewId: 1, kind: "master-edit", by: "ana", value: { crm: 1, erp: 100 } };
    expect(reconcileField(i, times(), opts).writes).toEqual([{ target: "crm", value: 1, before: 9999 }]);
    const k = credit("review", b, 9999, 500000);
    k.resolution = { reviewId: 1, kind: "master-edit", by: "ana", pick: "crm" };
    const dk = reconcileField(k, times(), opts);
    expect(dk.writes).toEqual([]);
    expect(dk.action).toBe("rebase");
  });
  it("a reconcile that would write into the master throws (guard)", () => {
    const i = credit("revert", b, 5000, 500000);
    // corrupt input: a conflict resolution on a mastered field picking the non-master value
    i.resolution = { reviewId: 1, kind: "conflict", by: "x", pick: "crm" };
    i.asErp = 999;
    expect(() => reconcileField(i, times(), opts)).toThrow(/invariant 4/);
  });
  it("asks only for the translations it needs", () => {
    expect(neededTranslations(credit("revert", b, 5000, 500000))).toEqual({ asErp: false, asCrm: false });
    expect(neededTranslations(credit("revert", b, 9999, 500000))).toEqual({ asErp: false, asCrm: true });
    expect(neededTranslations(both({ kind: "review" }, { crm: "a", erp: "a" }, "b", "a"))).toEqual({ asErp: true, asCrm: false });
  });
});

describe("echo layers", () => {
  const obj = customerObject();
  const fields = engineFields(obj);
  const base = {
    "name|customer_name": { crm: "Acme", erp: "Acme" },
    "website|website": { crm: null, erp: null },
    "creditLimit|credit_limit": { crm: 5000, erp: 500000 },
    "industry|industry_code": { crm: null, erp: null },
  };
  const rec = (values: Record<string, unknown>, by: string) => ({
    id: "CUST-1",
    modifiedAt: "2026-01-01T00:00:00.000Z",
    modifiedBy: by,
    values,
  });
  it("content equal + own author → echo; content equal + a person → unchanged", () => {
    expect(
      classifyEcho(
        "erp",
        rec({ name: "CUST-1", customer_name: "Acme", website: "", credit_limit: 500000, industry_code: null }, "accord"),
        fields,
        base,
        "accord",
      ),
    ).toBe("echo");
    expect(
      classifyEcho(
        "erp",
        rec({ customer_name: "Acme", website: null, credit_limit: 500000, industry_code: null }, "erika"),
        fields,
        base,
        "accord",
      ),
    ).toBe("unchanged");
  });
  it("own author but different content is a change (authorship never drops a change)", () => {
    expect(classifyEcho("erp", rec({ customer_name: "Acme AG", credit_limit: 500000 }, "accord"), fields, base, "accord")).toBe("changed");
  });
  it("the bounce cap counts Accord's writes within the window", () => {
    let b: Record<string, import("../../src/store/types.ts").Json> = {};
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 3; i++) b = withWriteRecorded(b, t0 + i * 1000, 10_000);
    expect(bounceCapReached(b, t0 + 3000, { maxBounces: 3, windowMs: 10_000 })).toBe(true);
    expect(bounceCapReached(b, t0 + 3000, { maxBounces: 4, windowMs: 10_000 })).toBe(false);
    expect(bounceCapReached(b, t0 + 60_000, { maxBounces: 3, windowMs: 10_000 })).toBe(false);
  });
});
