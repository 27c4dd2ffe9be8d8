import { describe, expect, it } from "vitest";
import { matchAcross } from "../../src/quality/match.ts";
import { DEFAULT_SETTINGS } from "../../src/quality/settings.ts";
import type { OrgRecord } from "../../src/quality/types.ts";

const crm: OrgRecord[] = [
  { id: "c-link", name: "Alpha Widgets", city: "Leeds" },
  { id: "c-shared", name: "Beta Holdings", sharedId: "CUST-0002" },
  { id: "c-tax", name: "Gamma Sarl", taxId: "FR12345678901" },
  { id: "c-approved", name: "Delta Foods", city: "Lyon" },
  { id: "c-exact", name: "Epsilon Engineering GmbH", street: "Hauptstraße 5", postalCode: "10115", city: "Berlin" },
  {
    id: "c-fuzzy",
    name: "Zeta Logistcs Inc.",
    street: "100 Harbor Blvd.",
    city: "Long Beach",
    postalCode: "90802",
    phone: "+1 562 555 0101",
  },
  { id: "c-review", name: "Eta Consulting", city: "Boston" },
  { id: "c-new", name: "Theta Pharma", street: "1 Pill Road", city: "Basel" },
];
const erp: OrgRecord[] = [
  { id: "CUST-0001", name: "Completely Different Name", city: "Oslo" },
  { id: "CUST-0002", name: "Beta Holding Company" },
  { id: "CUST-0003", name: "GAMMA", taxId: "12345678901" },
  { id: "CUST-0004", name: "Delta Food Service" },
  { id: "CUST-0005", name: "EPSILON ENGINEERING", street: "Hauptstr. 5", postalCode: "10115", city: "Berlin" },
  {
    id: "CUST-0006",
    name: "Zeta Logistics",
    street: "100 Harbor Boulevard",
    city: "Long Beach",
    postalCode: "90802-1234",
    phone: "562-555-0101",
  },
  { id: "CUST-0007", name: "Eta Consulting Group", city: "Boston" },
  { id: "CUST-0008", name: "Iota Mining", street: "7 Rock Rd", city: "Perth" },
];

describe("matchAcross — the cascade", () => {
  const r = matchAcross(crm, erp, {
    knownLinks: [{ crmId: "c-link", erpId: "CUST-0001" }],
    approved: [{ crmId: "c-approved", erpId: "CUST-0004" }],
  });
  const byCrm = new Map(r.links.map((l) => [l.crmId, l]));

  it("runs the steps in order and says which step decided", () => {
    expect(byCrm.get("c-link")).toMatchObject({ erpId: "CUST-0001", step: "link" });
    expect(byCrm.get("c-shared")).toMatchObject({ erpId: "CUST-0002", step: "shared-key" });
    expect(byCrm.get("c-tax")).toMatchObject({ erpId: "CUST-0003", step: "shared-key" });
    expect(byCrm.get("c-approved")).toMatchObject({ erpId: "CUST-0004", step: "approved" });
    expect(byCrm.get("c-exact")).toMatchObject({ erpId: "CUST-0005", step: "exact-name-address" });
    expect(byCrm.get("c-fuzzy")).toMatchObject({ erpId: "CUST-0006", step: "fuzzy" });
  });
  it("explains every decision, with per-field contributions that add up to the score", () => {
    for (const d of [...r.links, ...r.proposals]) {
      expect(d.explanation.length).toBeGreaterThan(20);
      expect(d.contributions.length).toBeGreaterThan(0);
      const sum = d.contributions.reduce((t, c) => t + c.contribution, 0);
      expect(Math.abs(sum - d.score)).toBeLessThan(0.1);
    }
    expect(byCrm.get("c-link")?.explanation).toMatch(/Already linked/);
    expect(byCrm.get("c-shared")?.explanation).toMatch(/CUST-0002/);
    expect(byCrm.get("c-tax")?.explanation).toMatch(/tax id/);
    expect(byCrm.get("c-approved")?.explanation).toMatch(/approved/);
    expect(byCrm.get("c-exact")?.explanation).toMatch(/Same normalised name "epsilon engineering"/);
    expect(byCrm.get("c-fuzzy")?.explanation).toMatch(/≥ link threshold/);
    expect(byCrm.get("c-fuzzy")?.contributions.find((c) => c.field === "phone")?.contribution).toBeGreaterThan(0);
  });
  it("an earlier step wins even when a later one would disagree", () => {
    // The known link pairs two records the fuzzy step would never pair.
    expect(byCrm.get("c-link")?.score).toBeLessThan(DEFAULT_SETTINGS.reviewThreshold);
  });
  it("thresholds: link above, proposal between, new below", () => {
    expect(r.proposals.map((p) => [p.crmId, p.erpId])).toEqual([["c-review", "CUST-0007"]]);
    const p = r.proposals[0];
    expect(p?.score).toBeGreaterThanOrEqual(DEFAULT_SETTINGS.reviewThreshold);
    expect(p?.score).toBeLessThan(DEFAULT_SETTINGS.linkThreshold);
    expect(p?.explanation).toMatch(/needs a person/);
    expect(r.crmOnly).toEqual(["c-new"]);
    expect(r.erpOnly).toEqual(["CUST-0008"]);
  });
  it("every record ends in exactly one place", () => {
    const seenCrm = [...r.links.map((l) => l.crmId), ...r.proposals.map((l) => l.crmId), ...r.crmOnly].sort();
    const seenErp = [...r.links.map((l) => l.erpId), ...r.proposals.map((l) => l.erpId), ...r.erpOnly].sort();
    expect(seenCrm).toEqual(crm.map((c) => c.id).sort());
    expect(seenErp).toEqual(erp.map((c) => c.id).sort());
  });
  it("rejected pairs are neither linked nor proposed again", () => {
    const again = matchAcross(crm, erp, {
      rejected: [
        { crmId: "c-review", erpId: "CUST-0007" },
        { crmId: "c-fuzzy", erpId: "CUST-0006" },
      ],
    });
    expect(again.proposals.find((p) => p.crmId === "c-review")).toBeUndefined();
    expect(again.links.find((p) => p.crmId === "c-fuzzy")).toBeUndefined();
  });
  it("moving the thresholds moves pairs between link, proposal and new", () => {
    const strict = matchAcross(crm, erp, { settings: { linkThreshold: 100, reviewThreshold: 99 } });
    expect(strict.links.every((l) => l.step !== "fuzzy")).toBe(true);
    expect(strict.proposals).toEqual([]);
    const loose = matchAcross(crm, erp, { settings: { linkThreshold: 4, reviewThreshold: 2 } });
    expect(loose.links.find((l) => l.crmId === "c-review")?.step).toBe("fuzzy");
  });
});

describe("matchAcross — one-to-one", () => {
  // Two ERP duplicates of one CRM company.
  const c: OrgRecord[] = [
    { id: "c1", name: "Nimbus Software Ltd", street: "10 Downing Lane", postalCode: "AB1 2CD", phone: "+44 20 7946 0001" },
  ];
  const e: OrgRecord[] = [
    { id: "e1", name: "Nimbus Software Limited", street: "10 Downing Ln", postalCode: "AB12CD", phone: "020 7946 0001" },
    { id: "e2", name: "NIMBUS SOFTWARE", street: "10 Downing Lane", postalCode: "AB1 2CD" },
  ];
  it("links each record at most once by default", () => {
    const r = matchAcross(c, e);
    expect(r.links).toHaveLength(1);
    expect(r.links[0]?.erpId).toBe("e1"); // the stronger pair
    expect(r.erpOnly.concat(r.proposals.map((p) => p.erpId))).toContain("e2");
  });
  it("without one-to-one, every pair above the link threshold is a link", () => {
    const r = matchAcross(c, e, { oneToOne: false });
    expect(r.links.map((l) => l.erpId).sort()).toEqual(["e1", "e2"]);
  });
  it("an exact name shared by several records is not linked blindly", () => {
    const r = matchAcross(
      [{ id: "c1", name: "Acme" }],
      [
        { id: "e1", name: "Acme", city: "Paris" },
        { id: "e2", name: "ACME", city: "Rome" },
      ],
    );
    expect(r.links).toEqual([]);
  });
});

describe("matchAcross — inputs that must not break it", () => {
  it("handles empty inputs", () => {
    expect(matchAcross([], [])).toEqual({ links: [], proposals: [], crmOnly: [], erpOnly: [] });
    expect(matchAcross([{ id: "a", name: "A" }], []).crmOnly).toEqual(["a"]);
  });
  it("handles RTL / CJK / emoji names", () => {
    const r = matchAcross(
      [
        { id: "1", name: 'מערכות לוי בע"מ', city: "חיפה" },
        { id: "2", name: "東京建設株式会社" },
        { id: "3", name: "🚀🚀🚀" },
      ],
      [
        { id: "a", name: "מערכות לוי בעמ", city: "חיפה" },
        { id: "b", name: "(株)東京建設" },
        { id: "c", name: "" },
      ],
    );
    expect(r.links.map((l) => [l.crmId, l.erpId]).sort()).toEqual([
      ["1", "a"],
      ["2", "b"],
    ]);
  });
});
