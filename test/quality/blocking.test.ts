import { describe, expect, it } from "vitest";
import { blockingKeys, buildIndex, CandidateFinder } from "../../src/quality/blocking.ts";
import { prepare } from "../../src/quality/score.ts";
import type { OrgRecord } from "../../src/quality/types.ts";

function candidatesOf(left: OrgRecord[], right: OrgRecord[], maxBlock = 60, maxCand = 40): Map<string, string[]> {
  const l = left.map(prepare);
  const r = right.map(prepare);
  const lk = l.map(blockingKeys);
  const rk = r.map(blockingKeys);
  const finder = new CandidateFinder(buildIndex(lk), buildIndex(rk), r.length, maxBlock, maxCand);
  const out = new Map<string, string[]>();
  l.forEach((p, i) => {
    out.set(
      p.record.id,
      finder.candidates(lk[i] as string[]).map((j) => (r[j] as { record: OrgRecord }).record.id),
    );
  });
  return out;
}

describe("blocking", () => {
  // 2,000 filler records sharing common words, so that word blocks are larger than the cap.
  const filler: OrgRecord[] = Array.from({ length: 2000 }, (_, k) => ({
    id: `f${k}`,
    name: `Global Trading Services ${k % 7 === 0 ? "Group" : "Partners"}`,
    street: `${k + 1} Main Street`,
    city: "Springfield",
    postalCode: String(10000 + (k % 50)),
    phone: `555${String(1000000 + k).slice(1)}`,
  }));
  const obvious: Array<[OrgRecord, OrgRecord]> = [
    [
      { id: "c1", name: "Zephyrine Robotics GmbH", street: "Hauptstraße 5", city: "Berlin", postalCode: "10115" },
      { id: "e1", name: "ZEPHYRINE ROBOTICS", street: "Hauptstr. 5", city: "Berlin", postalCode: "10115" },
    ],
    [
      // Name typo in the first word: found by the phone.
      { id: "c2", name: "Qwixotic Foods", phone: "+1 (212) 555-0199" },
      { id: "e2", name: "Qwixtoic Foods Inc", phone: "212.555.0199" },
    ],
    [
      // Completely different name (a rebrand): found by street number + street word.
      { id: "c3", name: "Old Name Ltd", street: "77 Lorimer Road", postalCode: "99001" },
      { id: "e3", name: "New Brand Ltd", street: "77 Lorimer Rd", postalCode: "99001" },
    ],
    [
      { id: "c4", name: "Global Trading Services Partners", street: "9999 Unusual Lane", city: "Springfield", taxId: "GB123456789" },
      { id: "e4", name: "Global Trading Services Partners Ltd", taxId: "123456789" },
    ],
    [
      { id: "c5", name: "Kobayashi Seimitsu KK", website: "https://www.kobayashiseimitsu.co.jp" },
      { id: "e5", name: "株式会社小林精密", email: "info@kobayashiseimitsu.co.jp" },
    ],
  ];
  const left = [...obvious.map(([a]) => a), ...filler.slice(0, 1000)];
  const right = [...obvious.map(([, b]) => b), ...filler.slice(1000)];
  const cands = candidatesOf(left, right);

  it("does not lose the obvious pairs", () => {
    for (const [a, b] of obvious) expect(cands.get(a.id), `${a.id} should meet ${b.id}`).toContain(b.id);
  });
  it("keeps the work per record bounded (no n × m)", () => {
    let total = 0;
    for (const c of cands.values()) total += c.length;
    expect(total).toBeLessThan(left.length * 45);
    expect(total).toBeLessThan((left.length * right.length) / 20);
  });
  it("caps candidates per record, keeping those sharing the most keys", () => {
    const c = candidatesOf(left, right, 10_000, 3);
    for (const list of c.values()) expect(list.length).toBeLessThanOrEqual(3);
    expect(c.get("c1")).toContain("e1");
  });
});
