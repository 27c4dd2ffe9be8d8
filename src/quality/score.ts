/**
 * Pairwise scoring: a record is prepared once (normalised fields), then every candidate pair is
 * scored as a sum of per-field log-odds contributions (settings.ts), which are returned for
 * explanation.
 */
import { jaroWinkler, levenshteinRatio, phoneSimilarity } from "./comparators.ts";
import {
  emailDomain,
  FREE_MAIL_DOMAINS,
  isLatin,
  isNonLatin,
  normaliseCity,
  normaliseCountry,
  normaliseName,
  normalisePostalCode,
  normaliseStreet,
  normaliseTaxId,
  phoneDigits,
  websiteDomain,
} from "./normalize.ts";
import { FIELD_MODELS, type FieldName, FREQUENCY_ADJUSTMENT, interpolate, STREET_CONFLICT } from "./settings.ts";
import type { Contribution, OrgRecord } from "./types.ts";

/** A record with every field normalised once. */
export interface PreparedRecord {
  record: OrgRecord;
  nameKey: string;
  nameTokens: string[];
  /** Name tokens joined without spaces ("bel air" = "belair"). */
  nameCompact: string;
  streetNumber: string;
  streetNameTokens: string[];
  streetFirst: string;
  postalCode: string;
  city: string;
  country: string;
  phone: string;
  /**
   * Internet domains of the organisation: its web site's and its e-mail's (a free-mail address
   * counts as the whole address). One field, because a company's e-mail and web domains are
   * usually the same piece of evidence and must not be counted twice.
   */
  domains: string[];
  taxId: string;
  /** Script of name / street / city: 1 Latin only, 2 no Latin at all, 0 mixed or empty. Latin vs non-Latin is not comparable. */
  /**
   * How common this record's name / each of its domains is in the population being matched
   * (set by `annotateFrequencies`; 1 = unique). Agreement on a value many organisations share is
   * weaker evidence (Fellegi–Sunter term-frequency adjustment).
   */
  nameFreq: number;
  domainFreqs: number[];
  nameScript: number;
  streetScript: number;
  cityScript: number;
}

function script(folded: string): number {
  return isLatin(folded) ? 1 : isNonLatin(folded) ? 2 : 0;
}

/** Values written in different scripts (Latin vs. kanji, Arabic, Hebrew …) cannot be compared letter by letter. */
function incomparable(x: number, y: number): boolean {
  return x + y === 3;
}

export function prepare(record: OrgRecord): PreparedRecord {
  const name = normaliseName(record.name ?? "");
  const street = normaliseStreet(record.street ?? "");
  let postalCode = normalisePostalCode(record.postalCode ?? "");
  let streetNameTokens = street.nameTokens;
  // A street line that carries its own ZIP at the end ("27 Washington Oak Park IL 60302").
  const last = streetNameTokens[streetNameTokens.length - 1];
  if (street.number && last !== undefined && /^\d{4,6}$/.test(last) && streetNameTokens.length > 1) {
    if (!postalCode) postalCode = normalisePostalCode(last);
    streetNameTokens = streetNameTokens.slice(0, -1);
  }
  const city = normaliseCity(record.city ?? "");
  const mail = (record.email ?? "").trim().toLowerCase();
  const domain = emailDomain(mail).replace(/^www\d?\./, "");
  const email = domain === "" ? "" : FREE_MAIL_DOMAINS.has(domain) ? mail : domain;
  const web = websiteDomain(record.website ?? "");
  const domains = [...new Set([email, web].filter((d) => d !== ""))];
  return {
    record,
    nameKey: name.key,
    nameTokens: name.tokens,
    nameCompact: name.tokens.join(""),
    streetNumber: street.number,
    streetNameTokens,
    streetFirst: street.firstWord,
    postalCode,
    city,
    country: normaliseCountry(record.country ?? ""),
    phone: phoneDigits(record.phone ?? ""),
    domains,
    taxId: normaliseTaxId(record.taxId ?? ""),
    nameFreq: 1,
    domainFreqs: domains.map(() => 1),
    nameScript: script(name.key),
    streetScript: script(streetNameTokens.join(" ")),
    cityScript: script(city),
  };
}

/** Tokens a and b agree: 1 equal, 0.9 one abbreviates the other (prefix, 3+ chars) or JW ≥ 0.92 (4+ chars), else 0. */
function tokenAgreement(a: string, b: string): number {
  if (a === b) return 1;
  const short = a.length <= b.length ? a : b;
  const long = a.length <= b.length ? b : a;
  if (short.length >= 3 && long.startsWith(short)) return 0.9;
  if (short.length >= 4 && jaroWinkler(a, b) >= 0.92) return 0.9;
  return 0;
}

/** Scratch buffer for nameSimilarity (reused: it runs millions of times in a large run). */
let bestBuf = new Float64Array(16);

/**
 * Name similarity in [0, 1]: the best of
 *  - soft token match: share of tokens on both sides that have a partner (equal, abbreviation, near-typo);
 *    when one name's tokens are all inside the other's (a subset), the score is 0.85 + 0.15 × coverage,
 *    so "lavizzo" vs "chicago public schools lavizzo mildred" is a good but not perfect match;
 *  - Levenshtein ratio of the compact names (typos, joined words "bel air" / "belair").
 */
export function nameSimilarity(a: PreparedRecord, b: PreparedRecord): number {
  if (a.nameKey === b.nameKey) return a.nameKey === "" ? -1 : 1;
  if (a.nameCompact === "" || b.nameCompact === "") return -1;
  if (incomparable(a.nameScript, b.nameScript)) return -1;
  if (a.nameCompact === b.nameCompact) return 0.98;
  const ta = a.nameTokens;
  const tb = b.nameTokens;
  let matchedA = 0;
  let matchedB = 0;
  let exactA = 0;
  let charsA = 0;
  if (bestBuf.length < tb.length) bestBuf = new Float64Array(tb.length * 2);
  const bestB = bestBuf;
  bestB.fill(0, 0, tb.length);
  for (const x of ta) {
    let best = 0;
    for (let j = 0; j < tb.length; j++) {
      const s = tokenAgreement(x, tb[j] as string);
      if (s > best) best = s;
      if (s > (bestB[j] as number)) bestB[j] = s;
    }
    matchedA += best;
    if (best > 0) {
      exactA++;
      charsA += x.length;
    }
  }
  let exactB = 0;
  let charsB = 0;
  for (let j = 0; j < tb.length; j++) {
    const s = bestB[j] as number;
    matchedB += s;
    if (s > 0) {
      exactB++;
      charsB += (tb[j] as string).length;
    }
  }
  let soft = (matchedA + matchedB) / (ta.length + tb.length);
  // Subset: every token of one side has a partner on the other.
  const allA = exactA === ta.length;
  const allB = exactB === tb.length;
  if ((allA || allB) && !(allA && allB)) {
    const coverage = allA ? charsB / b.nameCompact.length : charsA / a.nameCompact.length;
    const subset = 0.85 + 0.15 * coverage;
    if (subset > soft) soft = subset;
  }
  const lev = levenshteinRatio(a.nameCompact, b.nameCompact);
  return soft > lev ? soft : lev;
}

function streetNumberSimilarity(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 1;
  const da = a.replace(/\D/g, "");
  const db = b.replace(/\D/g, "");
  return da === db ? 0.5 : 0;
}

function streetNameSimilarity(a: PreparedRecord, b: PreparedRecord): number {
  if (a.streetNameTokens.length === 0 || b.streetNameTokens.length === 0) return -1;
  if (incomparable(a.streetScript, b.streetScript)) return -1;
  let best = jaroWinkler(a.streetFirst, b.streetFirst);
  if (best === 1) return 1;
  // Any shared token of 3+ characters (street names with a prefix: "la cienega" / "cienega").
  for (const x of a.streetNameTokens) {
    for (const y of b.streetNameTokens) {
      if (x.length >= 3 && x === y) return 1;
      if (x.length >= 4 && y.length >= 4) {
        const s = jaroWinkler(x, y);
        if (s > best) best = s;
      }
    }
  }
  return best;
}

function postalSimilarity(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 1;
  return a.length >= 3 && a.slice(0, 3) === b.slice(0, 3) ? 0.5 : 0;
}

function citySimilarity(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 1;
  // "new york" / "new york city": one is the other plus words.
  if (a.startsWith(`${b} `) || b.startsWith(`${a} `)) return 0.96;
  return jaroWinkler(a, b);
}

const COMPARATOR_NAMES: Record<FieldName, string> = {
  name: "soft-token/token-set/levenshtein",
  streetNumber: "exact",
  streetName: "jaro-winkler/token",
  postalCode: "exact/prefix3",
  city: "jaro-winkler",
  country: "exact",
  phone: "last-7-9-digits",
  domain: "web/e-mail domain (free-mail: whole address)",
  taxId: "exact",
};

/** The similarity of one field for a pair (-1 = missing on either side). */
export function fieldSimilarity(field: FieldName, a: PreparedRecord, b: PreparedRecord): number {
  switch (field) {
    case "name":
      return nameSimilarity(a, b);
    case "streetNumber":
      return streetNumberSimilarity(a.streetNumber, b.streetNumber);
    case "streetName":
      return streetNameSimilarity(a, b);
    case "postalCode":
      return postalSimilarity(a.postalCode, b.postalCode);
    case "city":
      return incomparable(a.cityScript, b.cityScript) ? -1 : citySimilarity(a.city, b.city);
    case "country":
      return !a.country || !b.country ? -1 : a.country === b.country ? 1 : 0;
    case "phone":
      return phoneSimilarity(a.phone, b.phone);
    case "domain": {
      if (a.domains.length === 0 || b.domains.length === 0) return -1;
      for (const d of a.domains) if (b.domains.includes(d)) return 1;
      return 0;
    }
    case "taxId":
      return !a.taxId || !b.taxId ? -1 : a.taxId === b.taxId ? 1 : 0;
  }
}

export const FIELDS = Object.keys(FIELD_MODELS) as FieldName[];

/**
 * Score a pair (sum of log2-odds contributions). When `out` is given, each field's contribution
 * is appended to it (fields missing on either side too, with value -1 and contribution 0).
 */
/**
 * Term-frequency adjustment (log2 odds) for agreeing on a value shared by `freq` organisations:
 * -log2(freq), at most FREQUENCY_ADJUSTMENT.maxPenalty, scaled by how strong the agreement is.
 */
function frequencyPenalty(freq: number, strength: number): number {
  if (freq <= 1 || strength <= 0) return 0;
  return -Math.min(FREQUENCY_ADJUSTMENT.maxPenalty, Math.log2(freq)) * strength;
}

function sharedDomainFreq(a: PreparedRecord, b: PreparedRecord): number {
  let f = 0;
  for (let k = 0; k < a.domains.length; k++) {
    const m = b.domains.indexOf(a.domains[k] as string);
    if (m >= 0) f = Math.max(f, a.domainFreqs[k] as number, b.domainFreqs[m] as number);
  }
  return f;
}

export function scorePair(a: PreparedRecord, b: PreparedRecord, out?: Contribution[]): number {
  let total = 0;
  let streetConflict = false;
  for (const field of FIELDS) {
    const model = FIELD_MODELS[field];
    const sim = fieldSimilarity(field, a, b);
    let c = sim < 0 ? 0 : interpolate(model.anchors, sim);
    let adjust = 0;
    let freq = 1;
    if (field === "name" && sim >= FREQUENCY_ADJUSTMENT.nameFrom) {
      freq = Math.max(a.nameFreq, b.nameFreq);
      adjust = frequencyPenalty(freq, (sim - FREQUENCY_ADJUSTMENT.nameFrom) / (1 - FREQUENCY_ADJUSTMENT.nameFrom));
    } else if (field === "domain" && sim === 1) {
      freq = sharedDomainFreq(a, b);
      adjust = frequencyPenalty(freq, 1);
    }
    if (field === "streetNumber" && sim === 0) {
      // Interaction: a different number on a different street is a different place, stronger
      // evidence than the two disagreements counted apart.
      const nameSim = streetNameSimilarity(a, b);
      if (nameSim >= 0 && nameSim < STREET_CONFLICT.streetNameBelow) {
        c = STREET_CONFLICT.streetNumberContribution;
        streetConflict = true;
      }
    }
    total += c;
    if (out) {
      out.push({
        field,
        comparator: field === "streetNumber" && streetConflict ? "exact (on a different street)" : COMPARATOR_NAMES[field],
        value: sim < 0 ? -1 : Math.round(sim * 1000) / 1000,
        weight: (model.anchors[model.anchors.length - 1] as readonly [number, number])[1],
        contribution: Math.round(c * 100) / 100,
      });
      if (adjust !== 0) {
        out.push({
          field,
          comparator: `frequency adjustment: ${freq} organisations share this ${field}`,
          value: Math.round(sim * 1000) / 1000,
          weight: 0,
          contribution: Math.round(adjust * 100) / 100,
        });
      }
    }
    total += adjust;
  }
  return total;
}

/**
 * Set `nameFreq` / `domainFreqs` from the population being matched. For a linkage pass the two
 * sides are counted apart and the larger count is used (a name once in each system is unique);
 * for deduplication within one list, the count of *other* records with the value is used.
 */
export function annotateFrequencies(sides: ReadonlyArray<readonly PreparedRecord[]>, mode: "link" | "dedupe"): void {
  const nameCounts = sides.map((side) => {
    const m = new Map<string, number>();
    for (const r of side) if (r.nameKey) m.set(r.nameKey, (m.get(r.nameKey) ?? 0) + 1);
    return m;
  });
  const domainCounts = sides.map((side) => {
    const m = new Map<string, number>();
    for (const r of side) for (const d of r.domains) m.set(d, (m.get(d) ?? 0) + 1);
    return m;
  });
  const own = mode === "dedupe" ? 1 : 0;
  const freqOf = (counts: Array<Map<string, number>>, key: string): number => {
    let f = 0;
    for (const c of counts) f = Math.max(f, (c.get(key) ?? 0) - own);
    return Math.max(1, f);
  };
  for (const side of sides) {
    for (const r of side) {
      r.nameFreq = r.nameKey ? freqOf(nameCounts, r.nameKey) : 1;
      r.domainFreqs = r.domains.map((d) => freqOf(domainCounts, d));
    }
  }
}

/** Human-readable list of the fields that moved the score most, e.g. "name 0.95 (+5.6), phone equal (+7)". */
export function describeContributions(contributions: readonly Contribution[], max = 5): string {
  const moved = contributions.filter((c) => c.value >= 0 && c.contribution !== 0);
  moved.sort((x, y) => Math.abs(y.contribution) - Math.abs(x.contribution));
  return moved
    .slice(0, max)
    .map((c) => {
      if (c.comparator.startsWith("frequency adjustment"))
        return `${c.field} common: ${c.comparator.replace("frequency adjustment: ", "")} (${c.contribution})`;
      const v = c.value === 1 ? "equal" : c.value === 0 ? "different" : c.value.toFixed(2);
      const sign = c.contribution > 0 ? "+" : "";
      return `${c.field} ${v} (${sign}${c.contribution})`;
    })
    .join(", ");
}

/** Whether two records' addresses do not contradict each other (used by the exact-name step). */
export function addressCompatible(a: PreparedRecord, b: PreparedRecord): { compatible: boolean; agreeing: string[] } {
  const agreeing: string[] = [];
  if (a.country && b.country) {
    if (a.country !== b.country) return { compatible: false, agreeing };
    agreeing.push("country");
  }
  if (a.postalCode && b.postalCode) {
    if (a.postalCode !== b.postalCode) return { compatible: false, agreeing };
    agreeing.push("postal code");
  }
  if (a.streetNumber && b.streetNumber) {
    if (a.streetNumber !== b.streetNumber) return { compatible: false, agreeing };
    agreeing.push("street number");
  }
  const street = streetNameSimilarity(a, b);
  if (street >= 0) {
    if (street < 0.85) return { compatible: false, agreeing };
    agreeing.push("street");
  }
  if (a.city && b.city && !incomparable(a.cityScript, b.cityScript)) {
    if (citySimilarity(a.city, b.city) < 0.9) return { compatible: false, agreeing };
    agreeing.push("city");
  }
  if (a.phone && b.phone && phoneSimilarity(a.phone, b.phone) >= 0.9) agreeing.push("phone");
  return { compatible: true, agreeing };
}
