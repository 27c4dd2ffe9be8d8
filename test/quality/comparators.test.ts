import { describe, expect, it } from "vitest";
import {
  exact,
  jaro,
  jaroWinkler,
  lcsLength,
  levenshtein,
  levenshteinRatio,
  phoneSimilarity,
  softTokenOverlap,
  tokenSetRatio,
} from "../../src/quality/comparators.ts";
import { fieldSimilarity, nameSimilarity, prepare, scorePair } from "../../src/quality/score.ts";
import type { Contribution } from "../../src/quality/types.ts";

describe("string comparators", () => {
  it("Levenshtein distance and ratio", () => {
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("same", "same")).toBe(0);
    expect(lcsLength("abcde", "ace")).toBe(3);
    expect(levenshteinRatio("abc", "abc")).toBe(1);
    expect(levenshteinRatio("", "")).toBe(1);
    expect(levenshteinRatio("abcd", "wxyz")).toBe(0);
  });
  it("Jaro and Jaro–Winkler match the textbook values", () => {
    expect(jaro("martha", "marhta")).toBeCloseTo(0.9444, 3);
    expect(jaroWinkler("martha", "marhta")).toBeCloseTo(0.9611, 3);
    expect(jaroWinkler("dixon", "dicksonx")).toBeCloseTo(0.8133, 3);
    expect(jaroWinkler("abc", "xyz")).toBe(0);
    expect(jaroWinkler("", "")).toBe(1);
  });
  it("token-set ratio ignores order and subsets", () => {
    expect(tokenSetRatio(["hotel", "bel", "air"], ["bel", "air", "hotel"])).toBe(1);
    expect(tokenSetRatio(["lavizzo"], ["chicago", "public", "schools", "lavizzo"])).toBe(1);
    expect(tokenSetRatio(["acme"], ["zenith"])).toBeLessThan(0.5);
    expect(tokenSetRatio([], [])).toBe(1);
  });
  it("soft token overlap accepts near-typos of long tokens", () => {
    expect(softTokenOverlap(["barker", "freight"], ["barkre", "freight"])).toBe(1);
    expect(softTokenOverlap(["a"], ["b"])).toBe(0);
  });
  it("phone: last 7–9 digits", () => {
    expect(phoneSimilarity("15551234567", "5551234567")).toBe(1);
    expect(phoneSimilarity("4415551234567", "3315551234567")).toBe(1); // last 9 agree
    expect(phoneSimilarity("2125551234", "3105551234")).toBe(0.9); // only last 7
    expect(phoneSimilarity("5551234", "5559999")).toBe(0);
    expect(phoneSimilarity("123", "5551234")).toBe(-1);
  });
  it("exact", () => {
    expect(exact("a", "a")).toBe(1);
    expect(exact("a", "b")).toBe(0);
    expect(exact("", "b")).toBe(-1);
  });
});

describe("field comparators on prepared records", () => {
  const a = prepare({
    id: "a",
    name: "Art's Deli",
    street: "12224 Ventura Blvd.",
    city: "Studio City",
    email: "info@artsdeli.com",
    phone: "(818) 762-1221",
  });
  const b = prepare({
    id: "b",
    name: "Art's Delicatessen",
    street: "12224 Ventura Blvd",
    city: "studio city",
    website: "www.artsdeli.com",
    phone: "818.762.1221",
  });
  it("name: abbreviation-aware", () => {
    expect(nameSimilarity(a, b)).toBeGreaterThan(0.9);
  });
  it("address parts, domain (e-mail vs web), phone", () => {
    expect(fieldSimilarity("streetNumber", a, b)).toBe(1);
    expect(fieldSimilarity("streetName", a, b)).toBe(1);
    expect(fieldSimilarity("city", a, b)).toBe(1);
    expect(fieldSimilarity("domain", a, b)).toBe(1);
    expect(fieldSimilarity("phone", a, b)).toBe(1);
    expect(fieldSimilarity("postalCode", a, b)).toBe(-1);
  });
  it("free-mail domains are not evidence", () => {
    const x = prepare({ id: "x", name: "X", email: "x@gmail.com" });
    const y = prepare({ id: "y", name: "Y", email: "y@gmail.com" });
    expect(fieldSimilarity("domain", x, y)).toBe(0);
    expect(fieldSimilarity("domain", x, prepare({ id: "z", name: "Z", email: "X@gmail.com" }))).toBe(1);
  });
  it("tax id exact", () => {
    const x = prepare({ id: "x", name: "X", taxId: "DE123456789" });
    expect(fieldSimilarity("taxId", x, prepare({ id: "y", name: "Y", taxId: "123 456 789" }))).toBe(1);
    expect(fieldSimilarity("taxId", x, prepare({ id: "y", name: "Y", taxId: "DE999" }))).toBe(0);
  });
  it("fields in different scripts are not compared", () => {
    const x = prepare({ id: "x", name: "株式会社小林精密", city: "福岡市博多区" });
    const y = prepare({ id: "y", name: "Kobayashi Seimitsu KK", city: "Hakata-ku, Fukuoka" });
    expect(fieldSimilarity("name", x, y)).toBe(-1);
    expect(fieldSimilarity("city", x, y)).toBe(-1);
  });
  it("the score is the sum of the returned contributions", () => {
    const out: Contribution[] = [];
    const s = scorePair(a, b, out);
    expect(out.length).toBeGreaterThan(5);
    const sum = out.reduce((t, c) => t + c.contribution, 0);
    expect(sum).toBeCloseTo(s, 1);
    for (const c of out) if (c.value < 0) expect(c.contribution).toBe(0);
  });
  it("a different number on a different street is strong evidence against", () => {
    const x = prepare({ id: "x", name: "Disney Magnet", street: "3815 N. Kedvale Ave." });
    const y = prepare({ id: "y", name: "Disney Magnet", street: "4140 N. Marine Dr." });
    const z = prepare({ id: "z", name: "Disney Magnet", street: "3900 N. Kedvale Ave." });
    expect(scorePair(x, y)).toBeLessThan(scorePair(x, z));
    expect(scorePair(x, y)).toBeLessThan(0);
  });
});
