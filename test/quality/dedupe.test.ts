import { describe, expect, it } from "vitest";
import { findDuplicates } from "../../src/quality/dedupe.ts";
import type { OrgRecord } from "../../src/quality/types.ts";

const records: OrgRecord[] = [
  { id: "1", name: "YMCA of Metropolitan Chicago - North Lawndale YMCA", street: "3449 W Arthington St", phone: "6380773" },
  { id: "2", name: "YMCA North Lawndale", street: "3449 W. Arthington", postalCode: "60624", phone: "6380773" },
  { id: "3", name: "North Lawndale YMCA", street: "3449 W. Arthington Street", postalCode: "60624" },
  { id: "4", name: "Disney Magnet", street: "3815 N. Kedvale Ave.", postalCode: "60613", phone: "5345840" },
  { id: "5", name: "Disney Magnet", street: "4140 N. Marine Dr.", postalCode: "60613", phone: "5345840" },
  { id: "6", name: "Acme GmbH", taxId: "DE111222333" },
  { id: "7", name: "ACME Deutschland", taxId: "DE 111 222 333" },
  { id: "8", name: "Unrelated Bakery", street: "1 Flour Rd" },
];

describe("findDuplicates", () => {
  const clusters = findDuplicates(records);
  it("joins records of one organisation through union-find (transitively)", () => {
    expect(clusters.find((c) => c.recordIds.includes("1"))?.recordIds).toEqual(["1", "2", "3"]);
  });
  it("keeps two sites of one organisation apart when their addresses conflict", () => {
    const c4 = clusters.find((c) => c.recordIds.includes("4"));
    expect(c4?.recordIds ?? ["4"]).not.toContain("5");
  });
  it("uses a shared tax id", () => {
    const c = clusters.find((x) => x.recordIds.includes("6"));
    expect(c?.recordIds).toEqual(["6", "7"]);
    expect(c?.pairs[0]?.step).toBe("shared-key");
  });
  it("returns only clusters of two or more, each explained by a spanning set of pairs", () => {
    for (const c of clusters) {
      expect(c.recordIds.length).toBeGreaterThan(1);
      expect(c.pairs).toHaveLength(c.recordIds.length - 1);
      expect(c.id).toBe(c.recordIds[0]);
      for (const p of c.pairs) {
        expect(p.explanation).toBeTruthy();
        expect(p.contributions.length).toBeGreaterThan(0);
      }
    }
    expect(clusters.some((c) => c.recordIds.includes("8"))).toBe(false);
  });
});
