/**
 * Synthetic organisation pairs for the scale run: n companies, each written once "as the CRM
 * has it" and once "as the ERP has it" (for `overlap` of them), with the variation seen between
 * independently kept systems: case, legal-form spellings, abbreviations, typos, word order,
 * street-type abbreviations, phone formats, missing fields. Deterministic for a seed.
 */

import type { OrgRecord } from "../../src/quality/types.ts";
import { Prng } from "../../src/sandbox/common/prng.ts";

const SYL = [
  "al",
  "be",
  "cor",
  "dan",
  "el",
  "fo",
  "gra",
  "hel",
  "ix",
  "jo",
  "ka",
  "lu",
  "mar",
  "no",
  "or",
  "pe",
  "qui",
  "ra",
  "sol",
  "ta",
  "ul",
  "ve",
  "wen",
  "xa",
  "yor",
  "zu",
  "ber",
  "cas",
  "dor",
  "fen",
  "gal",
  "hon",
  "lin",
  "mon",
  "nor",
  "pra",
  "ros",
  "sten",
  "tor",
  "vin",
];
const NOUNS = [
  "Systems",
  "Logistics",
  "Foods",
  "Engineering",
  "Consulting",
  "Trading",
  "Software",
  "Metals",
  "Textiles",
  "Pharma",
  "Energy",
  "Media",
  "Partners",
  "Holdings",
  "Industries",
  "Solutions",
  "Analytics",
  "Robotics",
  "Farms",
  "Motors",
  "Dental",
  "Legal",
  "Design",
  "Print",
  "Brewing",
  "Bakery",
  "Optics",
  "Marine",
  "Aviation",
  "Packaging",
  "Chemicals",
  "Plastics",
  "Furniture",
  "Electric",
  "Security",
  "Travel",
  "Health",
  "Labs",
  "Studios",
  "Capital",
];
const ADJ = [
  "Northern",
  "Global",
  "United",
  "Pacific",
  "Royal",
  "Modern",
  "Advanced",
  "First",
  "Prime",
  "Green",
  "Blue",
  "Golden",
  "Silver",
  "National",
  "International",
  "Central",
  "Eastern",
  "Western",
  "Atlantic",
  "Alpine",
];
const SUFFIX: Array<[string, string[]]> = [
  ["Inc.", ["Inc", "Incorporated", "INC."]],
  ["LLC", ["L.L.C.", "llc"]],
  ["Ltd", ["Limited", "Ltd."]],
  ["GmbH", ["G.m.b.H.", "gmbh"]],
  ["S.A.", ["SA", "S. A."]],
  ["B.V.", ["BV", "b.v."]],
  ["Corp.", ["Corporation", "Corp"]],
  ["AG", ["A.G."]],
  ["", [""]],
];
const STREETS = [
  "Main",
  "Oak",
  "Maple",
  "Cedar",
  "Pine",
  "Elm",
  "Washington",
  "Lake",
  "Hill",
  "Park",
  "River",
  "Church",
  "Market",
  "Mill",
  "Bridge",
  "Station",
  "Victoria",
  "King",
  "Queen",
  "High",
  "Meadow",
  "Forest",
  "Harbor",
  "Sunset",
  "Lincoln",
  "Jefferson",
  "Franklin",
  "Madison",
  "Adams",
  "Jackson",
];
const TYPES: Array<[string, string]> = [
  ["Street", "St."],
  ["Avenue", "Ave"],
  ["Road", "Rd."],
  ["Boulevard", "Blvd"],
  ["Drive", "Dr."],
  ["Lane", "Ln"],
];
const FREE = ["gmail.com", "yahoo.com", "outlook.com"];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function typo(p: Prng, s: string): string {
  if (s.length < 4) return s;
  const i = p.int(1, s.length - 2);
  switch (p.int(0, 2)) {
    case 0:
      return s.slice(0, i) + s.slice(i + 1); // deletion
    case 1:
      return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // transposition
    default:
      return s.slice(0, i) + String.fromCharCode(97 + p.int(0, 25)) + s.slice(i + 1); // substitution
  }
}

interface Company {
  core: string;
  noun: string;
  adj: string;
  suffix: [string, string[]];
  num: number;
  street: string;
  type: [string, string];
  city: number;
  phone: string;
  domain: string;
  taxId: string;
}

export interface SyntheticSet {
  crm: OrgRecord[];
  erp: OrgRecord[];
  /** record id → company index (the ground truth). */
  entityOf: Map<string, number>;
}

/**
 * @param n number of companies (CRM has n records)
 * @param overlap share of companies that also exist in the ERP (the ERP is topped up with ERP-only companies to n records)
 */
export function syntheticPairs(n: number, seed = 7, overlap = 0.8): SyntheticSet {
  const p = new Prng(seed);
  const companies: Company[] = [];
  const total = n + Math.round(n * (1 - overlap));
  for (let k = 0; k < total; k++) {
    const core = cap(p.pick(SYL) + p.pick(SYL) + (p.chance(0.5) ? p.pick(SYL) : ""));
    companies.push({
      core,
      noun: p.pick(NOUNS),
      adj: p.chance(0.3) ? p.pick(ADJ) : "",
      suffix: p.pick(SUFFIX),
      num: p.int(1, 9999),
      street: p.pick(STREETS),
      type: p.pick(TYPES),
      city: p.int(0, 999),
      phone: p.digits(10),
      domain: `${core.toLowerCase()}${p.int(1, 99)}.com`,
      taxId: p.chance(0.3) ? `TX${p.digits(9)}` : "",
    });
  }
  const cityName = (c: number): string => `${cap(SYL[c % SYL.length] as string)}${SYL[Math.floor(c / SYL.length) % SYL.length]}ville`;
  const postal = (c: Company): string => String(10000 + c.city * 73 + (c.num % 7)).padStart(5, "0");

  const crmView = (c: Company, id: string): OrgRecord => ({
    id,
    name: [c.adj, c.core, c.noun, c.suffix[0]].filter(Boolean).join(" "),
    street: `${c.num} ${c.street} ${c.type[0]}`,
    city: cityName(c.city),
    postalCode: postal(c),
    country: "US",
    phone: `+1 (${c.phone.slice(0, 3)}) ${c.phone.slice(3, 6)}-${c.phone.slice(6)}`,
    email: `info@${c.domain}`,
    website: `https://www.${c.domain}`,
    ...(c.taxId ? { taxId: c.taxId } : {}),
  });
  const erpView = (c: Company, id: string): OrgRecord => {
    let core = c.core;
    if (p.chance(0.15)) core = typo(p, core);
    let noun = c.noun;
    if (p.chance(0.1)) noun = typo(p, noun);
    const words = [c.adj, core, noun];
    if (c.adj && p.chance(0.3)) words[0] = c.adj === "International" ? "Intl" : "";
    if (p.chance(0.2)) words.splice(2, 1);
    let name = [...words.filter(Boolean), p.pick(c.suffix[1])].filter(Boolean).join(" ");
    if (p.chance(0.3)) name = name.toUpperCase();
    const r: OrgRecord = { id, name };
    if (p.chance(0.9)) r.street = `${c.num} ${c.street} ${p.chance(0.5) ? c.type[1] : c.type[0]}${p.chance(0.1) ? ", Suite 100" : ""}`;
    if (p.chance(0.95)) r.city = p.chance(0.2) ? cityName(c.city).toUpperCase() : cityName(c.city);
    if (p.chance(0.9)) r.postalCode = postal(c);
    if (p.chance(0.5)) r.country = p.chance(0.5) ? "United States" : "USA";
    if (p.chance(0.7)) r.phone = p.chance(0.5) ? c.phone : `${c.phone.slice(3, 6)}.${c.phone.slice(6)}`;
    if (p.chance(0.5)) r.email = p.chance(0.8) ? `accounts@${c.domain}` : `${c.core.toLowerCase()}@${p.pick(FREE)}`;
    if (p.chance(0.3)) r.website = c.domain;
    if (c.taxId && p.chance(0.5)) r.taxId = c.taxId.slice(2);
    return r;
  };

  const crm: OrgRecord[] = [];
  const erp: OrgRecord[] = [];
  const entityOf = new Map<string, number>();
  const shared = Math.round(n * overlap);
  for (let k = 0; k < n; k++) {
    const id = `C${k}`;
    crm.push(crmView(companies[k] as Company, id));
    entityOf.set(id, k);
  }
  // ERP: the shared companies (k < shared) plus ERP-only ones (k ≥ n), shuffled.
  const erpCompanies: number[] = [];
  for (let k = 0; k < shared; k++) erpCompanies.push(k);
  for (let k = n; k < total; k++) erpCompanies.push(k);
  p.shuffle(erpCompanies);
  erpCompanies.forEach((k, j) => {
    const id = `E${j}`;
    erp.push(erpView(companies[k] as Company, id));
    entityOf.set(id, k);
  });
  return { crm, erp, entityOf };
}
