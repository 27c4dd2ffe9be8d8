import { describe, expect, it } from "vitest";
import {
  emailDomain,
  fold,
  normaliseCountry,
  normaliseName,
  normalisePostalCode,
  normaliseStreet,
  normaliseTaxId,
  phoneDigits,
  websiteDomain,
  wordTokens,
} from "../../src/quality/normalize.ts";

const key = (s: string): string => normaliseName(s).key;

describe("fold", () => {
  it("lower-cases and strips accents (NFKD)", () => {
    expect(fold("Électricité Müller Ñandú")).toBe("electricite muller nandu");
  });
  it("maps letters NFKD does not decompose", () => {
    expect(fold("Straße Ørsted Łódź Æther")).toBe("strasse orsted lodz aether");
  });
  it("romanises Cyrillic and Greek", () => {
    expect(fold("Иванов Транс")).toBe("ivanov trans");
    expect(fold("Νικολάου")).toBe("nikolaou");
  });
  it("makes Arabic-Indic digits ASCII", () => {
    expect(fold("مبنى ٧٢")).toContain("72");
  });
});

describe("wordTokens", () => {
  it("joins dotted and spaced initials, maps & to and", () => {
    expect(wordTokens("s.a.")).toEqual(["sa"]);
    expect(wordTokens("s. a.")).toEqual(["sa"]);
    expect(wordTokens("v & j")).toEqual(["v", "and", "j"]);
    expect(wordTokens("art's deli")).toEqual(["arts", "deli"]);
  });
  it("separates Latin from CJK", () => {
    expect(wordTokens("co ltd佐藤運輸")).toEqual(["co", "ltd", "佐藤運輸"]);
  });
});

describe("normaliseName", () => {
  it.each([
    ["Acme Inc.", "Acme"],
    ["ACME, Incorporated", "acme"],
    ["Acme LLC", "Acme L.L.C."],
    ["Acme Ltd", "Acme Limited"],
    ["Acme Co., Ltd.", "ACME"],
    ["Acme Pty Ltd", "Acme"],
    ["Acme PLC", "Acme p.l.c."],
    ["Müller GmbH", "Mueller".replace("ue", "u")],
    ["Müller GmbH & Co. KG", "Muller"],
    ["Siemens AG", "Siemens Aktiengesellschaft"],
    ["Total S.A.", "TOTAL SA"],
    ["Renault SARL", "Renault S.à r.l."],
    ["Telefónica S.L.", "Telefonica SL"],
    ["Philips B.V.", "Philips BV"],
    ["Philips N.V.", "Philips NV"],
    ["Sony K.K.", "Sony KK"],
    ["Fiat S.p.A.", "FIAT SpA"],
    ["Nokia Oyj", "Nokia Oy"],
    ["Volvo AB", "Volvo"],
    ["Maersk A/S", "Maersk AS"],
    ["Иванов Транс ООД", "Ivanov Trans OOD"],
    ["株式会社山田化学", "山田化学(株)"],
    ["Yamada Kagaku Yugen Kaisha", "Yamada Kagaku Y.K."],
    ["Smith & Sons", "Smith and Sons"],
    ["Acme Intl", "ACME International"],
    ["Acme Corp", "Acme"],
    ["The Acme Company", "Acme"],
    ["St. Mary's Hospital", "Saint Marys Hospital"],
  ])("%s ≡ %s", (a, b) => {
    expect(key(a)).toBe(key(b));
  });
  it("keeps the name when it consists only of a legal form", () => {
    expect(key("AG")).toBe("ag");
    expect(key("Inc.")).toBe("inc");
  });
  it("reports the legal forms it removed", () => {
    expect(normaliseName("Acme GmbH").legalForms).toContain("gmbh");
  });
  it("does not confuse different companies", () => {
    expect(key("Acme Logistics GmbH")).not.toBe(key("Acme Systems GmbH"));
  });
  it("does not crash on RTL, CJK, emoji, empty or odd input", () => {
    for (const s of [
      'מערכות לוי בע"מ',
      "الريان للمقاولات ذ.م.م",
      "東京建設株式会社",
      "🚀 Rocket ☕ Café",
      "",
      "   ",
      "&&&",
      "'; DROP TABLE x;--",
      "a".repeat(5000),
    ]) {
      const n = normaliseName(s);
      expect(typeof n.key).toBe("string");
    }
    expect(key('מערכות לוי בע"מ')).toBe(key("מערכות לוי בעמ"));
    expect(key("الريان للمقاولات ذ.م.م")).toBe(key("الريان للمقاولات"));
  });
});

describe("normaliseStreet", () => {
  it("finds the house number and the street words, ignoring type, direction and unit", () => {
    const s = normaliseStreet("435 S. La Cienega Blvd., Suite 200");
    expect(s.number).toBe("435");
    expect(s.nameTokens).toEqual(["cienega"]); // "la" is a particle, not evidence
    expect(s.firstWord).toBe("cienega");
  });
  it("treats abbreviations of the street type alike", () => {
    expect(normaliseStreet("12 Main Street").nameTokens).toEqual(normaliseStreet("12 Main St.").nameTokens);
    expect(normaliseStreet("5 Ocean Boulevard").tokens).toEqual(normaliseStreet("5 Ocean Blv.").tokens);
  });
  it("reads ordinals as street names, not house numbers", () => {
    expect(normaliseStreet("3rd St.").number).toBe("");
    expect(normaliseStreet("8638 W. Third St.").number).toBe("8638");
    expect(normaliseStreet("8638 W. Third St.").nameTokens).toEqual(["3"]);
  });
  it("handles number-after-name and German compounds", () => {
    const s = normaliseStreet("Hauptstraße 5");
    expect(s.number).toBe("5");
    expect(s.nameTokens).toEqual(["haupt"]);
  });
  it("reads Japanese block addresses the same in both notations", () => {
    expect(normaliseStreet("栄6丁目9番4号").number).toBe(normaliseStreet("栄 6-9-4").number);
  });
  it("keeps the number after № / No.", () => {
    expect(normaliseStreet("бул. Цар Освободител № 70").number).toBe("70");
  });
});

describe("other fields", () => {
  it("postal codes", () => {
    expect(normalisePostalCode("D-80479")).toBe("80479");
    expect(normalisePostalCode("〒100-9204")).toBe(normalisePostalCode("1009204"));
    expect(normalisePostalCode("94106-5106")).toBe("94106");
    expect(normalisePostalCode("sw1a 1aa")).toBe("SW1A1AA");
  });
  it("countries", () => {
    expect(normaliseCountry("U.S.A.")).toBe("us");
    expect(normaliseCountry("United States of America")).toBe("us");
    expect(normaliseCountry("日本")).toBe("jp");
    expect(normaliseCountry("République française")).toBe("fr");
    expect(normaliseCountry("Atlantis")).toBe("");
  });
  it("phones, e-mail and web domains, tax ids", () => {
    expect(phoneDigits("+1 (555) 123-4567 ext. 89")).toBe("15551234567");
    expect(emailDomain("Jane.Doe@Acme.COM")).toBe("acme.com");
    expect(websiteDomain("https://www.Acme.co.uk/about")).toBe("acme.co.uk");
    expect(websiteDomain("Yes")).toBe("");
    expect(normaliseTaxId("DE 123.456.789")).toBe(normaliseTaxId("123456789"));
  });
});
