/**
 * F1 regression on the public Fodor's × Zagat restaurants link (../shared/datasets/er, see its README).
 * Fails if F1 drops below the target 0.95, with and without one-to-one assignment.
 */
import { describe, expect, it } from "vitest";
import { ER_DATA_DIR, erDataAvailable, loadChicago, loadRestaurants, scoreClusters, scoreLinks } from "../../bench/match/datasets.ts";
import { findDuplicates } from "../../src/quality/dedupe.ts";
import { matchAcross } from "../../src/quality/match.ts";

const available = erDataAvailable();
if (!available) {
  console.warn(`SKIPPED: labelled ER data not found at ${ER_DATA_DIR} (expected ../shared/datasets/er next to the repository).`);
}

describe.skipIf(!available)("F1 regression on public labelled data", () => {
  it.each([true, false])("restaurants Fodor's × Zagat, oneToOne=%s: F1 ≥ 0.95", (oneToOne) => {
    const { left, right } = loadRestaurants();
    expect(left).toHaveLength(112);
    expect(right).toHaveLength(752);
    const r = matchAcross(
      left.map((x) => x.record),
      right.map((x) => x.record),
      { oneToOne },
    );
    const s = scoreLinks(r.links, left, right);
    expect(s.f1, JSON.stringify(s)).toBeGreaterThanOrEqual(0.95);
    expect(s.precision).toBeGreaterThanOrEqual(0.97);
  });
  it("Chicago early-childhood deduplication: pairwise F1 ≥ 0.93", () => {
    const records = loadChicago();
    expect(records).toHaveLength(3337);
    const s = scoreClusters(findDuplicates(records.map((x) => x.record)), records);
    expect(s.f1, JSON.stringify(s)).toBeGreaterThanOrEqual(0.93);
  });
});
