/**
 * Deterministic generator of production-like CRM and ERP data with labelled ground truth.
 *
 * Model: N real-world companies. Each exists in both systems (80%), only in the CRM (10%) or
 * only in the ERP (10%); ~5% of the records of each system get a duplicate record in the same
 * system. The same company is spelled differently across systems (case, punctuation,
 * abbreviations, legal-suffix variants, address formats, postal-code spacing, phone formats,
 * transliteration), and a fixed set of edge cases is always present (see EDGE_CASE_KINDS).
 */
import { Prng } from "../common/prng.ts";
import { ABBREVIATIONS, ADJECTIVES, type City, INDUSTRIES, type LegalSuffix, LOCALES, type Locale, type Word } from "./locales.ts";
import {
  type CrmRecord,
  EDGE_CASE_KINDS,
  type EdgeCaseKind,
  type ErpDoc,
  type GeneratedCrm,
  type GeneratedData,
  type GeneratedErp,
  type GenerateOptions,
  type TruthEntry,
} from "./types.ts";

const DAY = 86_400_000;
/** Matches the ERPNext sandbox's setup-wizard company by default. */
export const DEFAULT_ERP_COMPANY = { name: "Accord Demo GmbH", abbr: "ADG", currency: "EUR" } as const;

type Presence = "both" | "crm" | "erp";

interface Company {
  idx: number;
  loc: Locale;
  /** Name without legal suffix, native script and Latin. */
  base: Word;
  suffix: LegalSuffix;
  /** A company in a non-Latin country whose own name is in Latin script. */
  latinName: boolean;
  /** JP: 株式会社 before the name. */
  suffixFirst: boolean;
  city: City;
  street: Word;
  streetType?: readonly [string, string];
  houseNo: number;
  postal: string;
  phone: string;
  taxId: string;
  domain: string;
  industry: string;
  presence: Presence;
  dupCrm: boolean;
  dupErp: boolean;
  edge?: EdgeCaseKind;
  createdMs: number;
  truth: TruthEntry;
  /** Filled while rendering. */
  crmIds: string[];
  erpNames: string[];
  erpNamesForOrders: string[];
  crmContactIds: string[];
  erpContactNames: string[];
}

interface ProductDef {
  code: string;
  name: string;
  group: string;
  uom: string;
  stock: boolean;
  price: number;
  cost: number;
  weight: number;
  description: string;
  inCrm: boolean;
  inErp: boolean;
  crmId?: string;
  crmPrice: number;
  truth: TruthEntry;
}

const SIC_BY_INDUSTRY: Record<string, string> = {
  Manufacturing: "3599",
  Software: "7372",
  Technology: "7373",
  Retail: "5399",
  Wholesale: "5099",
  Construction: "1542",
  Transportation: "4213",
  Shipping: "4412",
  Healthcare: "8062",
  Banking: "6021",
  Consulting: "8742",
  "Food & Beverage": "2099",
  Electronics: "3679",
  Automotive: "3714",
  Chemical: "2899",
  Energy: "4911",
  Telecommunications: "4813",
};

const TITLES = [
  "CEO",
  "CFO",
  "Purchasing Manager",
  "Head of Procurement",
  "Accounts Payable",
  "Sales Director",
  "IT Manager",
  "Operations Manager",
  "Buyer",
  "Office Manager",
  "",
];

const PRODUCT_FAMILIES: ReadonlyArray<readonly [string, string, string, boolean, number]> = [
  // [family, group, uom, stock item, base price]
  ["Industrial Sensor", "Products", "Nos", true, 120],
  ["Control Valve", "Products", "Nos", true, 340],
  ["Centrifugal Pump", "Products", "Nos", true, 1450],
  ["Shielded Cable", "Raw Material", "Meter", true, 4.5],
  ["PLC Controller", "Products", "Nos", true, 890],
  ["Steel Bracket", "Raw Material", "Box", true, 38],
  ["Hydraulic Hose", "Consumable", "Meter", true, 12],
  ["Filter Cartridge", "Consumable", "Nos", true, 27],
  ["Software License", "Services", "Unit", false, 600],
  ["Support Plan", "Services", "Unit", false, 1200],
  ["Installation Service", "Services", "Hour", false, 95],
  ["Consulting", "Services", "Hour", false, 150],
];
/** Discounts sales gives on a deal line (%), and the share of the ERP list price below which a line needs approval. */
const DISCOUNTS = [2.5, 5, 7.5, 10, 12, 15];
const MIN_PRICE_SHARE = 0.85;
const MODEL_LETTERS = ["X", "S", "Pro ", "M", "HD-", "Lite ", "Max ", "E"];

// ─────────────────────────────────────────────────────────── small helpers

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
const dayCache = new Map<number, string>();
/** "YYYY-MM-DD" of a UTC day number, cached (a data set spans ~1,500 days; toISOString is slow at scale). */
function dayString(day: number): string {
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY).toISOString().slice(0, 10);
    dayCache.set(day, s);
  }
  return s;
}
const two = (n: number) => (n < 10 ? `0${n}` : String(n));
function crmDateTime(ms: number): string {
  const day = Math.floor(ms / DAY);
  const sec = Math.floor((ms - day * DAY) / 1000);
  return `${dayString(day)} ${two(Math.floor(sec / 3600))}:${two(Math.floor(sec / 60) % 60)}:${two(sec % 60)}`;
}
function erpDateTime(ms: number, p: Prng): string {
  return `${crmDateTime(ms)}.${String(Math.floor(p.next() * 1_000_000)).padStart(6, "0")}`;
}
function isoDate(ms: number): string {
  return dayString(Math.floor(ms / DAY));
}
/**
 * A phone as typed into EspoCRM: instances since v8.1 accept only international input ("+…",
 * normalised to E.164), so CRM phones use a "+" rendering; the ERP keeps free-text formats.
 */
function crmPhone(p: Prng, loc: Locale, national: string): string {
  const s = erpPhone(p, loc, national);
  return s.startsWith("+") && !s.includes("ext") ? s : `+${loc.dial} ${national}`;
}
function erpPhone(p: Prng, loc: Locale, national: string): string {
  return (p.pick(loc.phoneFormats) as (n: string, d: string) => string)(national, loc.dial);
}

const ASCII = /^[\x00-\x7f]*$/;
const slugCache = new Map<string, string>();
function slug(s: string): string {
  let v = slugCache.get(s);
  if (v === undefined) {
    v = slugUncached(s);
    if (slugCache.size < 100_000) slugCache.set(s, v);
  }
  return v;
}
function slugUncached(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ß/g, "ss")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "");
}
function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s\-/(])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());
}

/** EspoCRM-style id: 13 hex of uniqid (time) + 4 random hex; unique by a running counter. */
class CrmIds {
  private counter = 0;
  private readonly p: Prng;
  constructor(p: Prng) {
    this.p = p;
  }
  next(ms: number): string {
    const secs = Math.floor(ms / 1000) >>> 0;
    const usec = this.counter++ % 0x100000;
    return secs.toString(16).padStart(8, "0") + usec.toString(16).padStart(5, "0") + this.p.hex(4);
  }
}

/** ERPNext names: unique per doctype with the suffix rule of the doctype. */
class ErpNames {
  /** Names are unique the way MariaDB's utf8mb4_unicode_ci compares them: case, accents and trailing spaces ignored. */
  private static key(s: string): string {
    if (ASCII.test(s)) return s.toLowerCase().trimEnd();
    return s
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .trimEnd();
  }
  private readonly used = new Map<string, Set<string>>();
  private readonly series = new Map<string, number>();
  private set(doctype: string): Set<string> {
    let s = this.used.get(doctype);
    if (!s) {
      s = new Set();
      this.used.set(doctype, s);
    }
    return s;
  }
  /** Customer: name = customer_name; a taken name becomes "name - 1", "name - 2", … */
  customer(customerName: string): string {
    const s = this.set("Customer");
    let name = customerName;
    for (let n = 1; s.has(ErpNames.key(name)); n++) name = `${customerName} - ${n}`;
    s.add(ErpNames.key(name));
    return name;
  }
  /** Contact/Address: base, then base-1, base-2, … */
  dashed(doctype: string, base: string): string {
    const s = this.set(doctype);
    let name = base;
    for (let n = 1; s.has(ErpNames.key(name)); n++) name = `${base}-${n}`;
    s.add(ErpNames.key(name));
    return name;
  }
  /** Naming series PREFIX-YYYY-#####, counter per resolved prefix. */
  seriesName(prefix: string, year: string): string {
    const key = `${prefix}${year}-`;
    const n = (this.series.get(key) ?? 0) + 1;
    this.series.set(key, n);
    return `${key}${pad(n, 5)}`;
  }
}

// ─────────────────────────────────────────────────────────── name rendering

const LATIN_LITERAL: Record<string, string | null> = { شركة: null, مجموعة: "Group", את: "&", и: "&" };

const ONSETS = [
  "B",
  "C",
  "D",
  "F",
  "G",
  "K",
  "L",
  "M",
  "N",
  "P",
  "R",
  "S",
  "T",
  "V",
  "Z",
  "Br",
  "Cr",
  "Dr",
  "Gr",
  "Kr",
  "Pr",
  "Tr",
  "St",
  "Qu",
  "Th",
  "Sk",
  "Fl",
  "Gl",
  "Pl",
  "Sw",
];
const VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "io", "y"];
const CODAS = ["n", "r", "x", "s", "l", "m", "tt", "ck", "v", "", "", "", "nt", "rd"];
/** A coined, pronounceable brand such as "Kravon" or "Zentix" (Latin): ~10^6 combinations. */
function brand(p: Prng): string {
  const a = p.pick(ONSETS) + p.pick(VOWELS);
  const b = p.pick(ONSETS).toLowerCase() + p.pick(VOWELS) + p.pick(CODAS);
  const c = p.chance(0.25) ? p.pick(["a", "ia", "on", "us", "ex", "is", "o"]) : "";
  return a + b + c;
}
const KANA: ReadonlyArray<readonly [string, string]> = [
  ["ア", "a"],
  ["カ", "ka"],
  ["サ", "sa"],
  ["タ", "ta"],
  ["ナ", "na"],
  ["マ", "ma"],
  ["ラ", "ra"],
  ["ミ", "mi"],
  ["リ", "ri"],
  ["キ", "ki"],
  ["ト", "to"],
  ["ノ", "no"],
  ["ロ", "ro"],
  ["ス", "su"],
  ["ク", "ku"],
  ["テ", "te"],
  ["ネ", "ne"],
  ["セ", "se"],
  ["ル", "ru"],
  ["コ", "ko"],
];
/** A coined brand in katakana with its romanisation, e.g. ["アクシス", "Akushisu"]. */
function kanaBrand(p: Prng): Word {
  const n = p.int(2, 4);
  let native = "";
  let latin = "";
  for (let i = 0; i < n; i++) {
    const [k, r] = p.pick(KANA);
    native += k;
    latin += r;
  }
  if (p.chance(0.3)) {
    native += "ン";
    latin += "n";
  }
  return [native, latin.charAt(0).toUpperCase() + latin.slice(1)];
}

/** A company's name without legal form, in its own script and in Latin; `latinName` when the company itself uses a Latin name. */
function buildBase(p: Prng, loc: Locale, city: City, forceNative: boolean): { base: Word; latinName: boolean } {
  let tpl = p.pick(loc.templates);
  if (forceNative && tpl.startsWith("~ ")) tpl = loc.templates[0] as string;
  const latinName = tpl.startsWith("~ ");
  if (latinName) tpl = tpl.slice(2);
  const s1 = p.pick(loc.surnames);
  let s2 = p.pick(loc.surnames);
  if (s2 === s1) s2 = loc.surnames[(loc.surnames.indexOf(s1) + 1) % loc.surnames.length] as Word;
  const noun = p.pick(loc.nouns);
  let noun2 = p.pick(loc.nouns);
  if (noun2 === noun) noun2 = loc.nouns[(loc.nouns.indexOf(noun) + 1) % loc.nouns.length] as Word;
  const adj = p.pick(ADJECTIVES);
  const cityWord: Word = [city.city[0].split(/[,、]/)[0] as string, (city.city[1].split(",").pop() as string).trim()];
  const native: string[] = [];
  const latin: string[] = [];
  const both = (w: Word) => {
    native.push(latinName ? w[1] : w[0]);
    latin.push(w[1]);
  };
  for (const tok of tpl.split(" ")) {
    switch (tok) {
      case "S":
        both(s1);
        break;
      case "S2":
        both(s2);
        break;
      case "N":
        both(noun);
        break;
      case "A":
        both([adj, adj]);
        break;
      case "C":
        both(cityWord);
        break;
      case "B": {
        const b = brand(p);
        both([b, b]);
        break;
      }
      case "K":
        both(kanaBrand(p));
        break;
      case "SN":
        native.push(s1[0] + noun[0]);
        latin.push(`${s1[1]} ${noun[1]}`);
        break;
      case "SNN":
        native.push(s1[0] + noun[0] + noun2[0]);
        latin.push(`${s1[1]} ${noun[1]} ${noun2[1]}`);
        break;
      case "KN": {
        const k = kanaBrand(p);
        native.push(k[0] + noun[0]);
        latin.push(`${k[1]} ${noun[1]}`);
        break;
      }
      case "CN":
        native.push(cityWord[0].replace(/(都|市).*$/, "") + noun[0]);
        latin.push(`${cityWord[1]} ${noun[1]}`);
        break;
      default: {
        const l = tok in LATIN_LITERAL ? LATIN_LITERAL[tok] : tok;
        if (!latinName) native.push(tok);
        else if (l) native.push(l);
        if (l) latin.push(l);
      }
    }
  }
  return { base: [native.join(" "), latin.join(" ")], latinName };
}

interface NameStyle {
  latin: boolean;
  /** -1 canonical, -2 dropped, ≥0 index into variants. */
  suffix: number;
  abbreviate: boolean;
  expand: boolean;
  caseMode: 0 | 1 | 2 | 3; // as is, UPPER, lower, Title
  stripPunct: boolean;
  andSwap: boolean;
  extraSpace: boolean;
  typo: boolean;
}

const PLAIN: NameStyle = {
  latin: false,
  suffix: -1,
  abbreviate: false,
  expand: false,
  caseMode: 0,
  stripPunct: false,
  andSwap: false,
  extraSpace: false,
  typo: false,
};

function nameStyle(p: Prng, c: Company, variation: number): NameStyle {
  const st: NameStyle = { ...PLAIN };
  if (p.next() >= variation) return st;
  // 1–3 differences
  const k = p.weighted([1, 2, 3], [55, 35, 10]);
  for (let i = 0; i < k; i++) {
    const kind = p.weighted(
      ["suffix", "drop", "abbr", "expand", "case", "punct", "and", "space", "typo", "script"],
      [24, 8, 16, 6, 12, 12, 8, 6, 4, c.loc.script === "latin" || c.latinName ? 0 : 10],
    );
    if (kind === "suffix") st.suffix = p.int(0, c.suffix.variants.length - 1);
    else if (kind === "drop") st.suffix = -2;
    else if (kind === "abbr") st.abbreviate = true;
    else if (kind === "expand") st.expand = true;
    else if (kind === "case") st.caseMode = p.pick([1, 2, 3] as const);
    else if (kind === "punct") st.stripPunct = true;
    else if (kind === "and") st.andSwap = true;
    else if (kind === "space") st.extraSpace = true;
    else if (kind === "typo") st.typo = true;
    else st.latin = true;
  }
  return st;
}

const ABBR_RE: ReadonlyArray<readonly [RegExp, string]> = ABBREVIATIONS.map(
  ([long, short]) => [new RegExp(`\\b${long}\\b`), short] as const,
);

function renderName(c: Company, st: NameStyle, p: Prng): string {
  if (c.edge === "xss") return c.base[0]; // literally this, in both systems
  const latin = st.latin || c.loc.script === "latin" || c.latinName;
  let base = latin ? c.base[1] : c.base[0];
  let suffix =
    st.suffix === -2
      ? ""
      : st.suffix >= 0
        ? (c.suffix.variants[st.suffix] as string)
        : latin
          ? c.suffix.canonical[1]
          : c.suffix.canonical[0];
  if (st.abbreviate) for (const [re, short] of ABBR_RE) base = base.replace(re, short);
  if (st.expand) {
    for (const [long, short] of ABBREVIATIONS) base = base.split(short).join(long);
    if (suffix === "Ltd") suffix = "Limited";
    else if (suffix === "Inc." || suffix === "Inc") suffix = "Incorporated";
    else if (suffix === "Corp.") suffix = "Corporation";
  }
  if (st.andSwap) base = base.includes(" & ") ? base.replace(" & ", " and ") : base.replace(" and ", " & ");
  let name: string;
  if (!suffix) name = base;
  else if (suffix.startsWith(",")) name = base + suffix;
  else if (c.loc.script === "cjk" && !latin) name = c.suffixFirst ? suffix + base : base + suffix;
  else name = `${base} ${suffix}`;
  if (st.stripPunct) name = name.replace(/[.,]/g, "").replace(/\s+/g, " ").trim();
  if (st.caseMode === 1) name = name.toUpperCase();
  else if (st.caseMode === 2) name = name.toLowerCase();
  else if (st.caseMode === 3) name = titleCase(name);
  if (st.typo && name.length > 6) {
    const i = p.int(2, name.length - 3);
    const a = name[i] ?? "";
    const b = name[i + 1] ?? "";
    if (/\p{Ll}/u.test(a) && /\p{Ll}/u.test(b)) name = name.slice(0, i) + b + a + name.slice(i + 2);
  }
  if (st.extraSpace) name = p.chance(0.5) ? name.replace(" ", "  ") : `${name} `;
  return name;
}

// ─────────────────────────────────────────────────────────── the generator

export function generate(opts: GenerateOptions = {}): GeneratedData {
  const n = Math.max(0, Math.floor(opts.companies ?? 500));
  const seed = Math.floor(opts.seed ?? 1) >>> 0;
  const productCount = Math.max(1, Math.floor(opts.products ?? 50));
  const warehouseCount = Math.min(3, Math.max(2, Math.floor(opts.warehouses ?? 3)));
  const asOf = opts.asOf ?? "2026-11-01";
  const co = { ...DEFAULT_ERP_COMPANY, ...opts.erpCompany };
  const cur = co.currency;
  const asOfMs = Date.parse(`${asOf}T00:00:00Z`);
  if (!Number.isFinite(asOfMs)) throw new Error(`generate: asOf "${asOf}" is not a date (expected YYYY-MM-DD)`);

  const root = new Prng(seed);
  const pCompanies = root.fork(1);
  const pRender = root.fork(2);
  const pProducts = root.fork(3);
  const pDeals = root.fork(4);
  const pIds = root.fork(5);
  const pTime = root.fork(6);
  const crmIds = new CrmIds(pIds);
  const erpNames = new ErpNames();

  const crm: GeneratedCrm = { Account: [], Contact: [], Opportunity: [], Product: [], Case: [] };
  const erp: GeneratedErp = {
    Company: [],
    Country: [],
    "Customer Group": [],
    Territory: [],
    UOM: [],
    "Item Group": [],
    Warehouse: [],
    "Price List": [],
    Customer: [],
    Contact: [],
    Address: [],
    Item: [],
    "Item Price": [],
    Bin: [],
    "Sales Order": [],
    "Sales Invoice": [],
    "Payment Entry": [],
  };
  const truth: TruthEntry[] = [];
  const edgeCases = Object.fromEntries(
    EDGE_CASE_KINDS.map((k) => [k, { crm: [] as string[], erp: [] as string[] }]),
  ) as GeneratedData["edgeCases"];

  const erpMeta = (msIn: number, extra: Record<string, unknown> = {}) => {
    const ms = Math.min(msIn, asOfMs - 1000);
    const t = erpDateTime(ms, pTime);
    const m = erpDateTime(Math.min(asOfMs - 1000, ms + pTime.int(0, 200) * DAY), pTime);
    const owner = pTime.chance(0.7) ? "Administrator" : "jane.doe@example.com";
    // same second: the random microseconds could put `modified` before `creation` (strings, not numbers)
    // biome-ignore lint/complexity/useMathMinMax: comparing datetime strings
    const modified = m < t ? t : m;
    return { owner, creation: t, modified, modified_by: owner, docstatus: 0, ...extra };
  };
  /** A moment after `from` and before asOf, uniformly (so nothing piles up at a clamp). */
  const later = (p: Prng, from: number) => from + Math.floor(p.next() * Math.max(0, asOfMs - DAY - from));
  const crmMeta = (msIn: number) => {
    const ms = Math.min(msIn, asOfMs - 1000);
    const created = crmDateTime(ms);
    const modified = crmDateTime(Math.min(asOfMs - 1000, ms + pTime.int(0, 200) * DAY + pTime.int(0, 86_399) * 1000));
    return { createdAt: created, modifiedAt: modified }; // modified >= created by construction
  };
  // Child rows carry their own name (so_detail etc. refer to it) and idx; parent/parenttype/
  // parentfield/doctype are the server's to fill when seeding, as Frappe does on insert.
  const child = (
    _parent: string,
    _parenttype: string,
    _parentfield: string,
    _doctype: string,
    idx: number,
    row: Record<string, unknown>,
  ) => ({
    name: pIds.hex(10),
    idx,
    ...row,
  });

  // ── ERP masters
  const masterMs = asOfMs - 4 * 365 * DAY;
  erp.Company.push({
    name: co.name,
    company_name: co.name,
    abbr: co.abbr,
    default_currency: co.currency,
    country: "Germany",
    ...erpMeta(masterMs),
  });
  const groups = ["Commercial", "Government", "Non Profit", "Individual"];
  erp["Customer Group"].push({
    name: "All Customer Groups",
    customer_group_name: "All Customer Groups",
    is_group: 1,
    parent_customer_group: "",
    ...erpMeta(masterMs),
  });
  for (const g of groups)
    erp["Customer Group"].push({
      name: g,
      customer_group_name: g,
      is_group: 0,
      parent_customer_group: "All Customer Groups",
      ...erpMeta(masterMs),
    });
  for (const l of LOCALES) {
    erp.Country.push({
      name: l.country,
      country_name: l.country,
      code: l.code === "UK" ? "gb" : l.code.toLowerCase(),
      ...erpMeta(masterMs),
    });
  }
  erp.Territory.push({
    name: "All Territories",
    territory_name: "All Territories",
    is_group: 1,
    parent_territory: "",
    ...erpMeta(masterMs),
  });
  for (const l of LOCALES)
    erp.Territory.push({
      name: l.country,
      territory_name: l.country,
      is_group: 0,
      parent_territory: "All Territories",
      ...erpMeta(masterMs),
    });
  for (const u of ["Nos", "Unit", "Hour", "Kg", "Meter", "Box"])
    erp.UOM.push({ name: u, uom_name: u, must_be_whole_number: u === "Nos" || u === "Box" ? 1 : 0, ...erpMeta(masterMs) });
  erp["Item Group"].push({
    name: "All Item Groups",
    item_group_name: "All Item Groups",
    is_group: 1,
    parent_item_group: "",
    ...erpMeta(masterMs),
  });
  for (const g of ["Products", "Services", "Raw Material", "Consumable"]) {
    erp["Item Group"].push({ name: g, item_group_name: g, is_group: 0, parent_item_group: "All Item Groups", ...erpMeta(masterMs) });
  }
  const whNames = ["Stores", "Finished Goods", "Work In Progress"].slice(0, warehouseCount).map((w) => `${w} - ${co.abbr}`);
  for (const wh of whNames) {
    erp.Warehouse.push({ name: wh, warehouse_name: wh.split(" - ")[0], company: co.name, is_group: 0, ...erpMeta(masterMs) });
  }
  erp["Price List"].push({
    name: "Standard Selling",
    price_list_name: "Standard Selling",
    currency: cur,
    selling: 1,
    buying: 0,
    enabled: 1,
    ...erpMeta(masterMs),
  });
  erp["Price List"].push({
    name: "Standard Buying",
    price_list_name: "Standard Buying",
    currency: cur,
    selling: 0,
    buying: 1,
    enabled: 1,
    ...erpMeta(masterMs),
  });

  // ── products
  const products: ProductDef[] = [];
  const erpOnlyProducts = Math.max(productCount >= 10 ? 1 : 0, Math.round(productCount * 0.1));
  const crmOnlyProducts = productCount >= 20 ? Math.max(1, Math.round(productCount * 0.04)) : 0;
  for (let i = 0; i < productCount; i++) {
    const fam = PRODUCT_FAMILIES[i % PRODUCT_FAMILIES.length] as (typeof PRODUCT_FAMILIES)[number];
    const [family, group, uom, stock, basePrice] = fam;
    const model = `${pProducts.pick(MODEL_LETTERS)}${pProducts.int(1, 99) * 10}`;
    let name = `${family} ${model}`;
    let description = `${family}, model ${model}. ${stock ? "Stocked item." : "Service item."}`;
    if (i === 3) name = `Shielded Cable 3/4" (19 mm) – "Heavy Duty" & Flexible`;
    if (i === 5) description = `${"Long specification text. ".repeat(400)}End.`;
    const price = round2(basePrice * (0.7 + pProducts.next() * 0.8));
    const inErp = i >= crmOnlyProducts;
    const inCrm = i < productCount - erpOnlyProducts;
    const t: TruthEntry = { id: `product-${pad(i + 1, 4)}`, entity: "product", crm: [], erp: [] };
    truth.push(t);
    products.push({
      code: `${family.split(" ")[0]?.slice(0, 3).toUpperCase()}-${pad(1000 + i, 5)}`,
      name,
      group,
      uom,
      stock,
      price,
      cost: round2(price * (0.45 + pProducts.next() * 0.25)),
      weight: stock ? round2(0.1 + pProducts.next() * 40) : 0,
      description,
      inCrm,
      inErp,
      // a stale CRM list price: 3–13% under the ERP's (within the 15% the price-approval rule allows)
      crmPrice: pProducts.chance(0.2) ? round2(price * (0.87 + pProducts.next() * 0.1)) : price,
      truth: t,
    });
  }
  for (const pr of products) {
    const ms = masterMs + pProducts.int(0, 700) * DAY;
    if (pr.inCrm) {
      const id = crmIds.next(ms);
      pr.crmId = id;
      pr.truth.crm.push(id);
      crm.Product.push({
        id,
        name: pr.name,
        partNumber: pProducts.chance(0.1) ? pr.code.toLowerCase() : pr.code,
        // the ERP item code, kept by sales in the custom field the integration links products by
        cErpItemCode: pr.inErp ? pr.code : null,
        status: "Active",
        listPrice: pr.crmPrice,
        listPriceCurrency: cur,
        unitPrice: pr.crmPrice,
        unitPriceCurrency: cur,
        costPrice: pr.cost,
        costPriceCurrency: cur,
        weight: pr.weight || null,
        description: pr.description,
        ...crmMeta(ms),
      });
    }
    if (pr.inErp) {
      pr.truth.erp.push(pr.code);
      erp.Item.push({
        name: pr.code,
        item_code: pr.code,
        item_name: pr.name.slice(0, 140),
        item_group: pr.group,
        stock_uom: pr.uom,
        description: pr.description,
        is_stock_item: pr.stock ? 1 : 0,
        is_sales_item: 1,
        is_purchase_item: pr.stock ? 1 : 0,
        disabled: 0,
        standard_rate: pr.price,
        valuation_rate: pr.cost,
        weight_per_unit: pr.weight,
        weight_uom: pr.stock ? "Kg" : null,
        ...erpMeta(ms),
      });
      erp["Item Price"].push({
        name: pIds.hex(10),
        item_code: pr.code,
        item_name: pr.name.slice(0, 140),
        price_list: "Standard Selling",
        price_list_rate: pr.price,
        currency: cur,
        uom: pr.uom,
        selling: 1,
        buying: 0,
        ...erpMeta(ms),
      });
      erp["Item Price"].push({
        name: pIds.hex(10),
        item_code: pr.code,
        item_name: pr.name.slice(0, 140),
        price_list: "Standard Buying",
        price_list_rate: pr.cost,
        currency: cur,
        uom: pr.uom,
        selling: 0,
        buying: 1,
        ...erpMeta(ms),
      });
      if (pr.stock) {
        for (const wh of whNames) {
          const actual = pProducts.chance(0.08) ? 0 : pProducts.int(0, 2500);
          const reserved = Math.min(actual, pProducts.int(0, 200));
          const ordered = pProducts.chance(0.3) ? pProducts.int(10, 500) : 0;
          erp.Bin.push({
            name: pIds.hex(10),
            item_code: pr.code,
            warehouse: wh,
            stock_uom: pr.uom,
            actual_qty: actual,
            reserved_qty: reserved,
            ordered_qty: ordered,
            indented_qty: 0,
            planned_qty: 0,
            reserved_qty_for_production: 0,
            reserved_qty_for_sub_contract: 0,
            projected_qty: actual + ordered - reserved,
            valuation_rate: pr.cost,
            stock_value: round2(actual * pr.cost),
            ...erpMeta(asOfMs - pProducts.int(1, 30) * DAY),
          });
        }
      }
    }
  }
  const crmProducts = products.filter((pr) => pr.inCrm);

  // ── companies: presence and duplicates with exact proportions
  const order = pCompanies.shuffle(Array.from({ length: n }, (_, i) => i));
  const crmOnlyN = Math.round(n * 0.1);
  const erpOnlyN = Math.round(n * 0.1);
  const presence: Presence[] = new Array(n);
  order.forEach((ci, k) => {
    presence[ci] = k < crmOnlyN ? "crm" : k < crmOnlyN + erpOnlyN ? "erp" : "both";
  });
  const inCrm = order.filter((i) => presence[i] !== "erp");
  const inErp = order.filter((i) => presence[i] !== "crm");
  const dupCrm = new Set(pCompanies.shuffle([...inCrm]).slice(0, Math.round(inCrm.length * 0.05)));
  const dupErp = new Set(pCompanies.shuffle([...inErp]).slice(0, Math.round(inErp.length * 0.05)));
  const bothList = order.filter((i) => presence[i] === "both");
  const edgeAt = new Map<number, EdgeCaseKind>();
  EDGE_CASE_KINDS.forEach((k, j) => {
    const ci = bothList[j];
    if (ci !== undefined) edgeAt.set(ci, k);
  });

  const weights = LOCALES.map((l) => l.weight);
  const byLoc = (code: Locale["code"]) => LOCALES.find((l) => l.code === code) as Locale;
  const companies: Company[] = new Array(n);
  let sameNameSource: Company | undefined;
  for (let i = 0; i < n; i++) {
    const edge = edgeAt.get(i);
    let loc = pCompanies.weighted(LOCALES, weights);
    if (edge === "rtl") loc = byLoc(pCompanies.chance(0.5) ? "AE" : "IL");
    else if (edge === "greek") loc = byLoc("GR");
    else if (edge === "cyrillic") loc = byLoc("BG");
    else if (edge === "cjk" || edge === "transliterated") loc = byLoc("JP");
    else if (edge === "accents") loc = byLoc("FR");
    else if (edge && ["xss", "ampersand", "quotes", "lessThan", "emoji", "sqlLike", "longName", "truncatedInErp"].includes(edge))
      loc = byLoc("US");
    const city = pCompanies.pick(loc.cities);
    const built = buildBase(pCompanies, loc, city, edge !== undefined);
    let base = built.base;
    const suffix = pCompanies.pick(loc.suffixes);
    const street = pCompanies.pick(loc.streets);
    const streetType = loc.streetTypes.length ? pCompanies.pick(loc.streetTypes) : undefined;
    if (edge === "xss") base = ["<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"];
    else if (edge === "ampersand")
      base = [
        `${loc.surnames[0]?.[1]} & ${loc.surnames[1]?.[1]} Tools & Dies`,
        `${loc.surnames[0]?.[1]} & ${loc.surnames[1]?.[1]} Tools & Dies`,
      ];
    else if (edge === "quotes") base = [`O'Brien's "Best" Bakery`, `O'Brien's "Best" Bakery`];
    else if (edge === "lessThan") base = ["Less<More Design & <Build>", "Less<More Design & <Build>"];
    else if (edge === "emoji") base = ["Rocket 🚀 Coffee ☕ Roasters", "Rocket 🚀 Coffee ☕ Roasters"];
    else if (edge === "accents")
      base = ["Société Générale d'Électricité Française — Œuvres & Cie", "Société Générale d'Électricité Française — Œuvres & Cie"];
    else if (edge === "sqlLike") base = ["Robert'); DROP TABLE Students;-- Holdings", "Robert'); DROP TABLE Students;-- Holdings"];
    else if (edge === "longName" || edge === "truncatedInErp") {
      const long = `The ${base[1]} International Consolidated Industrial Manufacturing, Engineering, Logistics and Distribution Services Holding Company of the Greater ${(city.city[1].split(",").pop() as string).trim()} Metropolitan Area and Surrounding Regions`;
      const fit = (long + " Group Worldwide Operations and Affiliates").slice(0, 249 - suffix.canonical[1].length - 1).trimEnd();
      base = [fit, fit];
    } else if (edge === "sameNameDifferentCompany" && sameNameSource) base = sameNameSource.base;
    const domain = `${slug(base[1]).slice(0, 40) || `company${i}`}.${loc.tld}`;
    const createdMs = asOfMs - pCompanies.int(30, 3 * 365) * DAY - pCompanies.int(0, 86_399) * 1000;
    const c: Company = {
      idx: i,
      loc,
      base,
      latinName: edge === "sameNameDifferentCompany" && sameNameSource ? sameNameSource.latinName : built.latinName,
      suffix: edge === "sameNameDifferentCompany" && sameNameSource ? sameNameSource.suffix : suffix,
      suffixFirst: pCompanies.chance(0.5),
      city: edge === "sameNameDifferentCompany" && sameNameSource ? (loc.cities.find((x) => x !== sameNameSource?.city) ?? city) : city,
      street,
      streetType,
      houseNo: pCompanies.int(1, 250),
      postal: "",
      phone: loc.nationalNumber(pCompanies),
      taxId: loc.taxId(pCompanies),
      domain,
      industry: pCompanies.pick(INDUSTRIES),
      presence: presence[i] as Presence,
      dupCrm: dupCrm.has(i),
      dupErp: dupErp.has(i),
      edge,
      createdMs,
      truth: { id: `company-${pad(i + 1, 6)}`, entity: "company", crm: [], erp: [] },
      crmIds: [],
      erpNames: [],
      erpNamesForOrders: [],
      crmContactIds: [],
      erpContactNames: [],
    };
    c.postal = loc.postal(pCompanies, c.city);
    if (edge === "sameNameDifferentCompany" && sameNameSource) c.loc = sameNameSource.loc;
    if (!sameNameSource && presence[i] === "both" && !edge) sameNameSource = c;
    companies[i] = c;
    truth.push(c.truth);
  }

  // ── render companies into both systems
  const customerByName = new Map<string, ErpDoc>();
  const mark = (kind: EdgeCaseKind | undefined, side: "crm" | "erp", id: string) => {
    if (kind) edgeCases[kind][side].push(id);
  };
  for (const c of companies) {
    const p = pRender;
    const loc = c.loc;
    const edge = c.edge;
    const missing = edge === "missingFields" || p.chance(0.08);
    // CRM account(s)
    if (c.presence !== "erp") {
      const copies = c.dupCrm ? 2 : 1;
      for (let k = 0; k < copies; k++) {
        const ms = k === 0 ? c.createdMs : later(p, c.createdMs);
        const id = crmIds.next(Math.min(ms, asOfMs - DAY));
        const st = k === 0 ? nameStyle(p, c, 0.15) : nameStyle(p, c, 0.9);
        if (edge === "transliterated") st.latin = false;
        let name = renderName(c, st, p);
        if (edge === "whitespace") name = `  ${name}   `;
        if (edge === "xss" || edge === "quotes" || edge === "lessThan" || edge === "emoji" || edge === "sqlLike")
          name = renderName(c, PLAIN, p);
        const short = p.chance(0.5);
        let street = loc.streetLine(
          loc.script === "latin" ? c.street[0] : short ? c.street[1] : c.street[0],
          c.streetType,
          c.houseNo,
          short,
        );
        if (edge === "longStreet")
          street = `${street}, ${"Industrial Estate Unit 7, Building C, Loading Dock Entrance Rear, ".repeat(4)}`.slice(0, 255);
        if (edge === "multilineStreet") street = `${street}\nBuilding B, 3rd Floor\nAttn: Accounts Payable`;
        const postalVariants = loc.postalVariants(c.postal);
        const rec: CrmRecord = {
          id,
          name: name.slice(0, 249),
          type: missing && p.chance(0.5) ? "" : p.weighted(["Customer", "Partner", "Reseller", ""], [80, 6, 6, 8]),
          industry: missing ? "" : c.industry,
          sicCode: missing ? null : (SIC_BY_INDUSTRY[c.industry] ?? null),
          website: missing ? null : p.pick([`https://www.${c.domain}`, `www.${c.domain}`, `http://${c.domain}/`, c.domain]),
          emailAddress: missing
            ? null
            : p.pick(["info", "sales", "contact", "office", "accounts"]) + `@${p.chance(0.1) ? c.domain.toUpperCase() : c.domain}`,
          phoneNumber: missing && p.chance(0.7) ? null : crmPhone(p, loc, c.phone),
          billingAddressStreet: missing ? null : street,
          billingAddressCity: missing ? null : loc.script === "latin" ? c.city.city[0] : short ? c.city.city[1] : c.city.city[0],
          billingAddressState: missing ? null : (c.city.state ?? null),
          billingAddressPostalCode: missing ? null : p.pick(postalVariants) || null,
          billingAddressCountry: missing && p.chance(0.5) ? null : p.pick(loc.countryVariants),
          description:
            edge === "longDescription"
              ? `Key account notes. ${"Customer prefers quarterly invoicing and consolidated shipments; escalate to the regional manager. ".repeat(120)}`
              : null,
          assignedUserId: null,
          ...crmMeta(ms),
        };
        if (p.chance(0.2) && !missing) {
          rec.shippingAddressStreet = loc.streetLine(loc.script === "latin" ? c.street[0] : c.street[1], c.streetType, c.houseNo + 2, true);
          rec.shippingAddressCity = loc.script === "latin" ? c.city.city[0] : c.city.city[1];
          rec.shippingAddressPostalCode = c.postal;
          rec.shippingAddressCountry = loc.country;
        }
        crm.Account.push(rec);
        c.crmIds.push(id);
        c.truth.crm.push(id);
        mark(edge, "crm", id);
        if (missing && edge !== "missingFields") edgeCases.missingFields.crm.push(id);
        if (loc.script === "arabic" || loc.script === "hebrew") edgeCases.rtl.crm.push(id);
      }
    }
    // ERP customer(s)
    if (c.presence !== "crm") {
      const copies = c.dupErp ? 2 : 1;
      for (let k = 0; k < copies; k++) {
        const ms = k === 0 ? Math.min(c.createdMs + p.int(-200, 200) * DAY, later(p, c.createdMs)) : later(p, c.createdMs);
        const tMs = Math.min(ms, asOfMs - DAY);
        const st = nameStyle(p, c, k === 0 ? 0.6 : 0.9);
        if (edge === "transliterated") st.latin = true;
        let customerName = renderName(c, st, p);
        if (edge === "xss" || edge === "quotes" || edge === "lessThan" || edge === "emoji" || edge === "sqlLike")
          customerName = renderName(c, PLAIN, p);
        if (edge === "whitespace") customerName = customerName.trim();
        customerName = customerName.slice(0, 140).trimEnd(); // Data fields are varchar(140)
        const name = erpNames.customer(customerName);
        const group = missing ? null : p.weighted(groups, [88, 5, 5, 2]);
        const cust: ErpDoc = {
          name,
          customer_name: customerName,
          customer_type: group === "Individual" ? "Individual" : "Company",
          customer_group: group,
          territory: missing && p.chance(0.5) ? null : loc.country,
          tax_id:
            missing || p.chance(0.15)
              ? null
              : p.chance(0.2)
                ? c.taxId
                    .replace(/^([A-Z]{2})/, "$1 ")
                    .replace(/(\d{3})(?=\d)/g, "$1 ")
                    .trim()
                : c.taxId,
          website: missing || p.chance(0.3) ? null : p.pick([`https://${c.domain}`, `www.${c.domain}`, `https://www.${c.domain}/`]),
          industry: missing || p.chance(0.4) ? null : c.industry,
          default_currency: null,
          disabled: 0,
          is_frozen: 0,
          ...erpMeta(tMs),
        };
        erp.Customer.push(cust);
        customerByName.set(name, cust);
        c.erpNames.push(name);
        c.truth.erp.push(name);
        mark(edge, "erp", name);
        if (edge === "longName") edgeCases.truncatedInErp.erp.push(name);
        if (missing && edge !== "missingFields") edgeCases.missingFields.erp.push(name);
        if (loc.script === "arabic" || loc.script === "hebrew") edgeCases.rtl.erp.push(name);
        // address
        if (!missing || p.chance(0.3)) {
          const short = p.chance(0.6);
          let line1 = loc.streetLine(loc.script === "latin" || !st.latin ? c.street[0] : c.street[1], c.streetType, c.houseNo, short);
          let line2: string | null = null;
          if (edge === "longStreet") {
            const full = `${line1}, ${"Industrial Estate Unit 7, Building C, Loading Dock Entrance Rear, ".repeat(4)}`;
            line1 = full.slice(0, 140);
            line2 = full.slice(140, 280);
          }
          if (edge === "multilineStreet") line2 = "Building B, 3rd Floor";
          const addrName = erpNames.dashed("Address", `${customerName}-Billing`);
          erp.Address.push({
            name: addrName,
            address_title: customerName,
            address_type: "Billing",
            address_line1: line1,
            address_line2: line2,
            city: loc.script === "latin" || !st.latin ? c.city.city[0] : c.city.city[1],
            state: c.city.state ?? null,
            pincode: p.pick(loc.postalVariants(c.postal)) || null,
            country: loc.country,
            email_id: null,
            phone: p.chance(0.5) ? erpPhone(p, loc, c.phone) : null,
            is_primary_address: 1,
            is_shipping_address: 0,
            disabled: 0,
            links: [
              child(addrName, "Address", "links", "Dynamic Link", 1, {
                link_doctype: "Customer",
                link_name: name,
                link_title: customerName,
              }),
            ],
            ...erpMeta(tMs),
          });
          cust.customer_primary_address = addrName;
          cust.primary_address = [line1, line2, c.city.city[0], c.postal, loc.country].filter(Boolean).join("\n");
          if (p.chance(0.15)) {
            const shipName = erpNames.dashed("Address", `${customerName}-Shipping`);
            erp.Address.push({
              name: shipName,
              address_title: customerName,
              address_type: "Shipping",
              address_line1: loc.streetLine(c.street[0], c.streetType, c.houseNo + 2, false),
              city: c.city.city[0],
              pincode: c.postal,
              country: loc.country,
              is_primary_address: 0,
              is_shipping_address: 1,
              disabled: 0,
              links: [
                child(shipName, "Address", "links", "Dynamic Link", 1, {
                  link_doctype: "Customer",
                  link_name: name,
                  link_title: customerName,
                }),
              ],
              ...erpMeta(tMs),
            });
          }
        }
      }
      c.erpNamesForOrders = c.erpNames;
    }
  }

  // ── contacts
  let contactSeq = 0;
  for (const c of companies) {
    const p = pRender;
    const loc = c.loc;
    const k = p.weighted([1, 2, 3, 4], [35, 30, 20, 15]);
    for (let j = 0; j < k; j++) {
      const first = p.pick(loc.firstNames);
      const last = p.pick(loc.surnames);
      const latinEmail = `${slug(first[1])}.${slug(last[1])}`;
      const t: TruthEntry = { id: `contact-${pad(++contactSeq, 7)}`, entity: "contact", crm: [], erp: [] };
      truth.push(t);
      const where: Presence = c.presence === "both" ? p.weighted(["both", "crm", "erp"] as Presence[], [70, 25, 5]) : c.presence;
      const noEmail = (c.edge === "missingFields" && j === 0) || p.chance(0.06);
      const email = noEmail
        ? null
        : `${c.edge === "longEmail" && j === 0 ? `${latinEmail}.accounts-payable.department.invoices`.slice(0, 64) : latinEmail}@${c.domain}`;
      const mobile = loc.nationalNumber(p);
      const title = p.pick(TITLES);
      const ms = later(p, c.createdMs);
      if (where !== "erp" && c.crmIds.length) {
        const copies = c.dupCrm && j === 0 && p.chance(0.5) ? 2 : 1;
        for (let d = 0; d < copies; d++) {
          const id = crmIds.next(Math.min(ms, asOfMs - DAY));
          const accountId = c.crmIds[Math.min(d, c.crmIds.length - 1)] as string;
          crm.Contact.push({
            id,
            salutationName: p.pick(loc.salutations),
            firstName: c.edge === "missingFields" && j === 0 ? null : first[0],
            lastName: last[0],
            title: title || null,
            accountId,
            emailAddress: email && d === 1 ? email.toUpperCase() : email,
            phoneNumber: p.chance(0.8) ? crmPhone(p, loc, mobile) : null,
            doNotCall: p.chance(0.03),
            addressCountry: p.chance(0.3) ? loc.country : null,
            ...crmMeta(Math.min(ms, asOfMs - DAY)),
          });
          t.crm.push(id);
          c.crmContactIds.push(id);
        }
      }
      if (where !== "crm" && c.erpNames.length) {
        const customer = c.erpNames[0] as string;
        const useLatin = loc.script !== "latin" && p.chance(0.2);
        const fn = useLatin ? first[1] : first[0];
        const ln = useLatin ? last[1] : last[0];
        const cname = erpNames.dashed("Contact", `${fn} ${ln}-${customer}`);
        const erpEmail = email && p.chance(0.2) ? email.replace(/^./, (x) => x.toUpperCase()) : email;
        const phone = p.chance(0.7) ? erpPhone(p, loc, mobile) : null;
        erp.Contact.push({
          name: cname,
          first_name: fn,
          last_name: ln,
          full_name: `${fn} ${ln}`,
          salutation: null,
          designation: title || null,
          company_name: null,
          status: "Passive",
          is_primary_contact: c.erpContactNames.length === 0 ? 1 : 0,
          email_id: erpEmail,
          phone: null,
          mobile_no: phone,
          unsubscribed: 0,
          email_ids: erpEmail ? [child(cname, "Contact", "email_ids", "Contact Email", 1, { email_id: erpEmail, is_primary: 1 })] : [],
          phone_nos: phone
            ? [child(cname, "Contact", "phone_nos", "Contact Phone", 1, { phone, is_primary_phone: 0, is_primary_mobile_no: 1 })]
            : [],
          links: [
            child(cname, "Contact", "links", "Dynamic Link", 1, { link_doctype: "Customer", link_name: customer, link_title: customer }),
          ],
          ...erpMeta(Math.min(ms + p.int(-50, 50) * DAY, asOfMs - DAY)),
        });
        t.erp.push(cname);
        if (c.erpContactNames.length === 0) {
          const cust = customerByName.get(customer);
          if (cust) {
            cust.customer_primary_contact = cname;
            cust.email_id = erpEmail;
            cust.mobile_no = phone;
          }
        }
        c.erpContactNames.push(cname);
      }
      if (!t.crm.length && !t.erp.length) truth.pop();
    }
  }

  // ── deals, cases, orders, invoices, payments
  const stages = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"];
  const stageW = [14, 13, 14, 11, 32, 16];
  const prob: Record<string, number> = {
    Prospecting: 10,
    Qualification: 20,
    Proposal: 50,
    Negotiation: 80,
    "Closed Won": 100,
    "Closed Lost": 0,
  };
  const leadSources = ["", "Call", "Email", "Existing Customer", "Partner", "Public Relations", "Web Site", "Campaign", "Other"];
  interface OrderDraft {
    ms: number;
    customer: string;
    customerName: string;
    territory: unknown;
    oppId: string;
    deal: CrmRecord;
    /** A deal line is priced below the approval floor: the deal was approved before the order. */
    approved: boolean;
    lines: Array<{ pr: ProductDef; qty: number; rate: number; discount: number }>;
    truth: TruthEntry;
  }
  const drafts: OrderDraft[] = [];
  let dealSeq = 0;
  let caseNo = 0;

  for (const c of companies) {
    if (!c.crmIds.length) continue;
    const p = pDeals;
    const deals = p.weighted([0, 1, 2, 3], [25, 38, 25, 12]);
    for (let j = 0; j < deals; j++) {
      const stage = p.weighted(stages, stageW);
      const closed = stage.startsWith("Closed");
      const createdMs = c.createdMs + Math.floor(p.next() * Math.max(0, asOfMs - 20 * DAY - c.createdMs));
      const closeMs = closed ? Math.min(createdMs + p.int(10, 120) * DAY, asOfMs - DAY) : asOfMs + p.int(5, 180) * DAY;
      const nLines = p.weighted([1, 2, 3, 4, 5], [20, 30, 25, 15, 10]);
      const itemList: Array<Record<string, unknown>> = [];
      const lines: OrderDraft["lines"] = [];
      let amount = 0;
      const used = new Set<number>();
      // Sales may give up to 15% off the ERP list price; more needs approval (the example's salesOrder
      // hold rule). A few deals have a line priced below that floor; the others stay within it.
      const belowFloor = p.chance(0.07);
      for (let l = 0; l < nLines; l++) {
        let pi = p.int(0, crmProducts.length - 1);
        // a product not (yet) in the ERP is seldom quoted
        if (!crmProducts[pi]?.inErp && p.chance(0.8)) pi = (pi + 1) % crmProducts.length;
        if (used.has(pi)) pi = (pi + 1) % crmProducts.length;
        if (used.has(pi)) continue;
        used.add(pi);
        const pr = crmProducts[pi] as ProductDef;
        const qty = pr.uom === "Meter" ? p.int(10, 500) : pr.uom === "Hour" ? p.int(4, 80) : p.int(1, 40);
        let discount = p.chance(0.55) ? p.pick(DISCOUNTS) : 0;
        if (belowFloor && l === 0) discount = p.pick([25, 30, 35]);
        else
          while (discount > 0 && round2(pr.crmPrice * (1 - discount / 100)) < pr.price * MIN_PRICE_SHARE)
            discount = DISCOUNTS[DISCOUNTS.indexOf(discount) - 1] ?? 0;
        const unitPrice = round2(pr.crmPrice * (1 - discount / 100));
        const lineAmount = round2(unitPrice * qty);
        amount = round2(amount + lineAmount);
        itemList.push({
          id: crmIds.next(createdMs),
          productId: pr.crmId,
          productName: pr.name,
          name: pr.name,
          quantity: qty,
          listPrice: pr.crmPrice,
          unitPrice,
          discount,
          amount: lineAmount,
          order: l + 1,
        });
        lines.push({ pr, qty, rate: unitPrice, discount });
      }
      if (c.edge === "missingFields" && j === 0) amount = 0;
      const accountId = c.crmIds[j % c.crmIds.length] as string;
      const id = crmIds.next(createdMs);
      const contactId = c.crmContactIds.length ? (p.pick(c.crmContactIds) as string) : null;
      const family = (lines[0]?.pr.name ?? "Services").split(" ").slice(0, 2).join(" ");
      const deal: CrmRecord = {
        id,
        name: `${(c.base[1] || "Deal").slice(0, 60)} – ${family} ${new Date(createdMs).getUTCFullYear()}${j ? ` #${j + 1}` : ""}`,
        accountId,
        contactId,
        contactsIds: contactId ? [contactId] : [],
        stage,
        lastStage: stage === "Closed Lost" ? p.pick(["Proposal", "Negotiation"]) : stage,
        probability: prob[stage],
        amount,
        amountCurrency: cur,
        closeDate: isoDate(closeMs),
        leadSource: p.pick(leadSources),
        description: p.chance(0.3) ? `Quoted with ${lines.length} line(s); payment terms Net 30.` : null,
        itemList: c.edge === "missingFields" && j === 0 ? [] : itemList,
        ...crmMeta(createdMs),
        modifiedAt: crmDateTime(closed ? closeMs + p.int(0, 86_399) * 1000 : Math.min(createdMs + p.int(0, 20) * DAY, asOfMs - 1000)),
      };
      crm.Opportunity.push(deal);
      const t: TruthEntry = { id: `deal-${pad(++dealSeq, 7)}`, entity: "deal", crm: [id], erp: [] };
      truth.push(t);
      if (stage === "Closed Won" && c.erpNamesForOrders.length && lines.length && p.chance(0.65)) {
        const customer = (c.erpNamesForOrders.length > 1 && p.chance(0.3) ? c.erpNamesForOrders[1] : c.erpNamesForOrders[0]) as string;
        const cust = customerByName.get(customer) as ErpDoc;
        // Re-keyed by hand: some orders lose the custom price or a line, or get a different quantity.
        const rekeyed = lines
          .filter((ln) => ln.pr.inErp)
          .map((ln) => {
            const r = p.next();
            if (r < 0.06) return { ...ln, rate: ln.pr.price, discount: 0 };
            if (r < 0.09) return { ...ln, qty: ln.qty + 1 };
            return ln;
          });
        if (rekeyed.length > 1 && p.chance(0.04)) rekeyed.pop();
        if (rekeyed.length) {
          drafts.push({
            ms: Math.min(closeMs + p.int(0, 5) * DAY, asOfMs - DAY),
            customer,
            customerName: cust.customer_name as string,
            territory: cust.territory ?? null,
            oppId: id,
            deal,
            approved: lines.some((ln) => ln.rate < ln.pr.price * MIN_PRICE_SHARE),
            lines: rekeyed,
            truth: t,
          });
        }
      }
    }
    if (p.chance(0.25)) {
      const nCases = p.int(1, 3);
      for (let j = 0; j < nCases; j++) {
        const ms = later(p, c.createdMs);
        const contactId = c.crmContactIds.length ? (p.pick(c.crmContactIds) as string) : null;
        crm.Case.push({
          id: crmIds.next(ms),
          name: p.pick([
            "Invoice amount does not match quote",
            "Delivery delayed",
            "Damaged goods on arrival",
            "Request for updated price list",
            "Login problem on customer portal",
            "Wrong item shipped",
            "Question about payment terms",
          ]),
          number: ++caseNo,
          status: p.weighted(["New", "Assigned", "Pending", "Closed", "Rejected", "Duplicate"], [15, 15, 10, 50, 5, 5]),
          priority: p.weighted(["Low", "Normal", "High", "Urgent"], [20, 55, 20, 5]),
          type: p.pick(["", "Question", "Incident", "Problem"]),
          accountId: c.crmIds[0],
          contactId,
          contactsIds: contactId ? [contactId] : [],
          description: p.chance(0.5) ? "Customer called; see email thread." : null,
          isInternal: false,
          ...crmMeta(ms),
        });
      }
    }
  }

  // Sales Orders: named by naming series in creation order, as ERPNext would have.
  drafts.sort((a, b) => a.ms - b.ms);
  const pOrd = pDeals.fork(7);
  interface InvoiceDraft {
    ms: number;
    so: ErpDoc;
    amount: number;
  }
  const invoiceDrafts: InvoiceDraft[] = [];
  for (const d of drafts) {
    const year = new Date(d.ms).getUTCFullYear().toString();
    const name = erpNames.seriesName("SAL-ORD-", year);
    const delivery = d.ms + pOrd.int(7, 30) * DAY;
    let total = 0;
    let totalQty = 0;
    const items = d.lines.map((ln, i) => {
      const amount = round2(ln.rate * ln.qty);
      total = round2(total + amount);
      totalQty += ln.qty;
      return child(name, "Sales Order", "items", "Sales Order Item", i + 1, {
        item_code: ln.pr.code,
        item_name: ln.pr.name.slice(0, 140),
        description: ln.pr.name,
        qty: ln.qty,
        stock_qty: ln.qty,
        uom: ln.pr.uom,
        stock_uom: ln.pr.uom,
        conversion_factor: 1,
        price_list_rate: ln.pr.price,
        discount_percentage: ln.rate < ln.pr.price ? round2((1 - ln.rate / ln.pr.price) * 100) : 0,
        rate: ln.rate,
        amount,
        net_rate: ln.rate,
        net_amount: amount,
        base_rate: ln.rate,
        base_amount: amount,
        delivery_date: isoDate(delivery),
        warehouse: ln.pr.stock ? whNames[0] : null,
        delivered_qty: 0,
        billed_amt: 0,
      });
    });
    const invoiced = d.ms < asOfMs - 10 * DAY && pOrd.chance(0.75);
    const so: ErpDoc = {
      name,
      naming_series: "SAL-ORD-.YYYY.-",
      customer: d.customer,
      customer_name: d.customerName,
      territory: d.territory,
      company: co.name,
      order_type: "Sales",
      transaction_date: isoDate(d.ms),
      delivery_date: isoDate(delivery),
      // the deal id as the customer's PO (the example's salesOrder recipe; invoices copy it)
      po_no: d.oppId,
      currency: cur,
      conversion_rate: 1,
      selling_price_list: "Standard Selling",
      price_list_currency: cur,
      plc_conversion_rate: 1,
      set_warehouse: whNames[0],
      total_qty: totalQty,
      total,
      net_total: total,
      base_total: total,
      base_net_total: total,
      total_taxes_and_charges: 0,
      discount_amount: 0,
      grand_total: total,
      base_grand_total: total,
      rounded_total: Math.round(total),
      rounding_adjustment: round2(Math.round(total) - total),
      advance_paid: 0,
      per_delivered: invoiced ? 100 : 0,
      per_billed: invoiced ? 100 : 0,
      billing_status: invoiced ? "Fully Billed" : "Not Billed",
      delivery_status: invoiced ? "Fully Delivered" : "Not Delivered",
      status: invoiced ? "Completed" : "To Deliver and Bill",
      items,
      ...erpMeta(d.ms, { docstatus: 1 }),
    };
    if (invoiced) {
      for (const it of items as Array<Record<string, unknown>>) {
        it.delivered_qty = it.qty;
        it.billed_amt = it.amount;
      }
    }
    erp["Sales Order"].push(so);
    d.truth.erp.push(name);
    // Sales noted the order's name on the deal (the recipe's identity field); a deal priced below the
    // floor was approved before the order was keyed.
    d.deal.cErpOrderName = name;
    if (d.approved) d.deal.cPriceApproved = true;
    if (invoiced) invoiceDrafts.push({ ms: Math.min(d.ms + pOrd.int(1, 10) * DAY, asOfMs - DAY), so, amount: total });
  }

  invoiceDrafts.sort((a, b) => a.ms - b.ms);
  interface PaymentDraft {
    ms: number;
    inv: ErpDoc;
    amount: number;
  }
  const paymentDrafts: PaymentDraft[] = [];
  for (const d of invoiceDrafts) {
    const year = new Date(d.ms).getUTCFullYear().toString();
    const name = erpNames.seriesName("ACC-SINV-", year);
    const due = d.ms + 30 * DAY;
    const r = pOrd.next();
    const paid = r < 0.6 ? d.amount : r < 0.72 ? round2(d.amount * pOrd.pick([0.25, 0.5, 0.75])) : 0;
    const outstanding = round2(d.amount - paid);
    const status = outstanding <= 0 ? "Paid" : due < asOfMs ? "Overdue" : paid > 0 ? "Partly Paid" : "Unpaid";
    const soItems = d.so.items as Array<Record<string, unknown>>;
    const inv: ErpDoc = {
      name,
      naming_series: "ACC-SINV-.YYYY.-",
      customer: d.so.customer,
      customer_name: d.so.customer_name,
      company: co.name,
      posting_date: isoDate(d.ms),
      posting_time: "10:00:00",
      set_posting_time: 1,
      due_date: isoDate(due),
      currency: cur,
      conversion_rate: 1,
      selling_price_list: "Standard Selling",
      price_list_currency: cur,
      plc_conversion_rate: 1,
      debit_to: `Debtors - ${co.abbr}`,
      is_return: 0,
      is_pos: 0,
      update_stock: 0,
      po_no: d.so.po_no,
      total_qty: d.so.total_qty,
      total: d.amount,
      net_total: d.amount,
      grand_total: d.amount,
      base_grand_total: d.amount,
      rounded_total: d.so.rounded_total,
      outstanding_amount: outstanding,
      paid_amount: 0,
      write_off_amount: 0,
      status,
      items: soItems.map((it, i) =>
        child(name, "Sales Invoice", "items", "Sales Invoice Item", i + 1, {
          item_code: it.item_code,
          item_name: it.item_name,
          qty: it.qty,
          uom: it.uom,
          rate: it.rate,
          amount: it.amount,
          price_list_rate: it.price_list_rate,
          discount_percentage: it.discount_percentage,
          income_account: `Sales - ${co.abbr}`,
          cost_center: `Main - ${co.abbr}`,
          warehouse: it.warehouse,
          sales_order: d.so.name,
          so_detail: it.name,
        }),
      ),
      ...erpMeta(d.ms, { docstatus: 1 }),
    };
    erp["Sales Invoice"].push(inv);
    if (paid > 0) paymentDrafts.push({ ms: Math.min(d.ms + pOrd.int(3, 45) * DAY, asOfMs - DAY), inv, amount: paid });
  }

  paymentDrafts.sort((a, b) => a.ms - b.ms);
  for (const d of paymentDrafts) {
    const year = new Date(d.ms).getUTCFullYear().toString();
    const name = erpNames.seriesName("ACC-PAY-", year);
    const total = d.inv.grand_total as number;
    erp["Payment Entry"].push({
      name,
      naming_series: "ACC-PAY-.YYYY.-",
      payment_type: "Receive",
      posting_date: isoDate(d.ms),
      company: co.name,
      mode_of_payment: pOrd.pick(["Wire Transfer", "Bank Draft", "Credit Card", "Cheque"]),
      party_type: "Customer",
      party: d.inv.customer,
      party_name: d.inv.customer_name,
      paid_from: `Debtors - ${co.abbr}`,
      paid_to: `Bank - ${co.abbr}`,
      paid_from_account_currency: cur,
      paid_to_account_currency: cur,
      paid_amount: d.amount,
      received_amount: d.amount,
      source_exchange_rate: 1,
      target_exchange_rate: 1,
      reference_no: `TRX-${pOrd.digits(8)}`,
      reference_date: isoDate(d.ms),
      unallocated_amount: 0,
      difference_amount: 0,
      status: "Submitted",
      references: [
        child(name, "Payment Entry", "references", "Payment Entry Reference", 1, {
          reference_doctype: "Sales Invoice",
          reference_name: d.inv.name,
          due_date: d.inv.due_date,
          total_amount: total,
          outstanding_amount: total,
          allocated_amount: d.amount,
        }),
      ],
      ...erpMeta(d.ms, { docstatus: 1 }),
    });
  }

  // Accents, RTL, Greek, Cyrillic, CJK also occur naturally; record the forced ones plus natural ones (bounded).
  for (const c of companies) {
    const kind: EdgeCaseKind | undefined =
      c.loc.script === "greek" ? "greek" : c.loc.script === "cyrillic" ? "cyrillic" : c.loc.script === "cjk" ? "cjk" : undefined;
    if (kind && c.edge !== kind) {
      const e = edgeCases[kind];
      if (e.crm.length < 50) e.crm.push(...c.crmIds);
      if (e.erp.length < 50) e.erp.push(...c.erpNames);
    }
  }
  for (const k of EDGE_CASE_KINDS) {
    edgeCases[k].crm = [...new Set(edgeCases[k].crm)];
    edgeCases[k].erp = [...new Set(edgeCases[k].erp)];
  }

  const count = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, (v as unknown[]).length]));
  return {
    seed,
    asOf,
    erpCompany: { ...co },
    crm,
    erp,
    truth,
    edgeCases,
    summary: {
      companies: n,
      bothSystems: n - crmOnlyN - erpOnlyN,
      crmOnly: crmOnlyN,
      erpOnly: erpOnlyN,
      crmDuplicates: dupCrm.size,
      erpDuplicates: dupErp.size,
      crm: count(crm),
      erp: count(erp),
    },
  };
}
