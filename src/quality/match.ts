/**
 * Linking organisations across two systems (CRM ↔ ERP) with an explained cascade:
 *
 *   1. link               — a link that already exists (input `knownLinks`)
 *   2. shared-key         — the ERP id already stamped in the CRM (`sharedId`), or the same tax id
 *                           (only when that tax id is unique on both sides)
 *   3. approved           — a pair a person approved (input `approved`)
 *   4. exact-name-address — the same normalised name, unambiguous among compatible records, with
 *                           addresses that do not contradict and agree on something (or, when
 *                           there is nothing to compare, a name unique in both systems)
 *   5. fuzzy              — blocked candidate pairs scored (score.ts); one-to-one greedy
 *                           assignment by score; ≥ linkThreshold → link, ≥ reviewThreshold → proposal,
 *                           otherwise the record is new on its side.
 *
 * A record decided by an earlier step is not considered by later ones.
 */
import { blockingKeys, buildIndex, CandidateFinder } from "./blocking.ts";
import { addressCompatible, annotateFrequencies, describeContributions, type PreparedRecord, prepare, scorePair } from "./score.ts";
import { resolveSettings } from "./settings.ts";
import type { Contribution, MatchDecision, MatchOptions, MatchResult, MatchSettings, MatchStep, OrgRecord } from "./types.ts";

function decision(step: MatchStep, a: PreparedRecord, b: PreparedRecord, reason: string, settings: MatchSettings): MatchDecision {
  const contributions: Contribution[] = [];
  const score = Math.round(scorePair(a, b, contributions) * 100) / 100;
  const detail = describeContributions(contributions);
  let explanation: string;
  if (step === "fuzzy") {
    const verdict =
      score >= settings.linkThreshold
        ? `score ${score} ≥ link threshold ${settings.linkThreshold}`
        : `score ${score} between review threshold ${settings.reviewThreshold} and link threshold ${settings.linkThreshold}: needs a person`;
    explanation = `${reason}${verdict}; ${detail || "no comparable fields"}.`;
  } else {
    explanation = `${reason} (fuzzy score for information: ${score}${detail ? `; ${detail}` : ""}).`;
  }
  return { crmId: a.record.id, erpId: b.record.id, step, score, contributions, explanation };
}

interface Side {
  prepared: PreparedRecord[];
  byId: Map<string, number>;
  used: Uint8Array;
}

function side(records: readonly OrgRecord[]): Side {
  const prepared = records.map(prepare);
  const byId = new Map<string, number>();
  prepared.forEach((p, i) => {
    byId.set(p.record.id, i);
  });
  return { prepared, byId, used: new Uint8Array(records.length) };
}

/** Pairs scored by the fuzzy step, kept in parallel typed arrays (a 100k × 100k run keeps millions). */
class PairList {
  a: Int32Array = new Int32Array(1024);
  b: Int32Array = new Int32Array(1024);
  s: Float64Array = new Float64Array(1024);
  n = 0;
  push(a: number, b: number, s: number): void {
    if (this.n === this.a.length) {
      const grow = <T extends Int32Array | Float64Array>(x: T, make: (n: number) => T): T => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      this.a = grow(this.a, (n) => new Int32Array(n));
      this.b = grow(this.b, (n) => new Int32Array(n));
      this.s = grow(this.s, (n) => new Float64Array(n));
    }
    this.a[this.n] = a;
    this.b[this.n] = b;
    this.s[this.n] = s;
    this.n++;
  }
  /** Indexes sorted by score, best first (ties: lower a, then lower b — deterministic). */
  order(): Int32Array {
    const idx = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const { a, b, s } = this;
    idx.sort((x, y) => (s[y] as number) - (s[x] as number) || (a[x] as number) - (a[y] as number) || (b[x] as number) - (b[y] as number));
    return idx;
  }
}

/** Score every blocked candidate pair between the unused records of two sides; keep those ≥ minScore. */
export function scoreCandidates(
  left: readonly PreparedRecord[],
  right: readonly PreparedRecord[],
  leftActive: (i: number) => boolean,
  rightActive: (j: number) => boolean,
  settings: MatchSettings,
  minScore: number,
): PairList {
  const leftKeys = left.map((r, i) => (leftActive(i) ? blockingKeys(r) : []));
  const rightKeys = right.map((r, j) => (rightActive(j) ? blockingKeys(r) : []));
  const leftIndex = buildIndex(leftKeys);
  const rightIndex = buildIndex(rightKeys);
  const finder = new CandidateFinder(leftIndex, rightIndex, right.length, settings.maxBlockSize, settings.maxCandidatesPerRecord);
  const pairs = new PairList();
  for (let i = 0; i < left.length; i++) {
    const keys = leftKeys[i] as string[];
    if (keys.length === 0) continue;
    const a = left[i] as PreparedRecord;
    for (const j of finder.candidates(keys)) {
      const s = scorePair(a, right[j] as PreparedRecord);
      if (s >= minScore) pairs.push(i, j, s);
    }
  }
  return pairs;
}

function pairKey(crmId: string, erpId: string): string {
  return `${crmId}\u0000${erpId}`;
}

/**
 * Link CRM and ERP organisations. Every input record ends in exactly one of: a link, a proposal
 * (only with one-to-one assignment; without it a record may carry several), `crmOnly` / `erpOnly`
 * (no link and no proposal — new on its side).
 */
export function matchAcross(crmRecords: readonly OrgRecord[], erpRecords: readonly OrgRecord[], opts: MatchOptions = {}): MatchResult {
  const settings = resolveSettings(opts.settings);
  const oneToOne = opts.oneToOne ?? true;
  const crm = side(crmRecords);
  const erp = side(erpRecords);
  annotateFrequencies([crm.prepared, erp.prepared], "link");
  const links: MatchDecision[] = [];
  const proposals: MatchDecision[] = [];

  const take = (i: number, j: number, step: MatchStep, reason: string): void => {
    crm.used[i] = 1;
    erp.used[j] = 1;
    links.push(decision(step, crm.prepared[i] as PreparedRecord, erp.prepared[j] as PreparedRecord, reason, settings));
  };
  const free = (i: number | undefined, j: number | undefined): boolean =>
    i !== undefined && j !== undefined && crm.used[i] === 0 && erp.used[j] === 0;

  // 1. Existing links.
  for (const l of opts.knownLinks ?? []) {
    const i = crm.byId.get(l.crmId);
    const j = erp.byId.get(l.erpId);
    if (free(i, j)) take(i as number, j as number, "link", `Already linked: CRM ${l.crmId} ↔ ERP ${l.erpId}`);
  }

  // 2. Shared keys: the ERP id stamped in the CRM, then a tax id unique on both sides.
  const erpBySharedId = new Map<string, number>();
  erp.prepared.forEach((p, j) => {
    if (p.record.sharedId) erpBySharedId.set(p.record.sharedId, j);
  });
  crm.prepared.forEach((p, i) => {
    const sid = p.record.sharedId;
    if (!sid) return;
    const j = erp.byId.get(sid) ?? erpBySharedId.get(sid);
    if (free(i, j)) take(i, j as number, "shared-key", `Shared id ${sid} is stamped in both records`);
  });
  erp.prepared.forEach((p, j) => {
    const sid = p.record.sharedId;
    if (!sid || erp.used[j]) return;
    const i = crm.byId.get(sid);
    if (free(i, j)) take(i as number, j, "shared-key", `Shared id ${sid} (the CRM id) is stamped in the ERP record`);
  });
  const uniqueTax = (s: Side): Map<string, number> => {
    const m = new Map<string, number>();
    const dup = new Set<string>();
    s.prepared.forEach((p, i) => {
      if (!p.taxId || s.used[i]) return;
      if (m.has(p.taxId)) dup.add(p.taxId);
      m.set(p.taxId, i);
    });
    for (const d of dup) m.delete(d);
    return m;
  };
  const erpTax = uniqueTax(erp);
  for (const [tax, i] of uniqueTax(crm)) {
    const j = erpTax.get(tax);
    if (free(i, j)) take(i, j as number, "shared-key", `Same tax id ${tax}, unique in both systems`);
  }

  // 3. Approved pairs.
  for (const l of opts.approved ?? []) {
    const i = crm.byId.get(l.crmId);
    const j = erp.byId.get(l.erpId);
    if (free(i, j)) take(i as number, j as number, "approved", `A person approved CRM ${l.crmId} ↔ ERP ${l.erpId}`);
  }

  // 4. Exact normalised name with compatible addresses, unambiguous on both sides.
  const exactNamePass = (afterFuzzy: boolean): void => {
    const byName = (s: Side): Map<string, number[]> => {
      const m = new Map<string, number[]>();
      s.prepared.forEach((p, k) => {
        if (s.used[k] || !p.nameKey) return;
        const list = m.get(p.nameKey);
        if (list) list.push(k);
        else m.set(p.nameKey, [k]);
      });
      return m;
    };
    const erpByName = byName(erp);
    for (const [name, is] of byName(crm)) {
      const js = erpByName.get(name);
      if (!js) continue;
      const alone = is.length === 1 && js.length === 1;
      if (afterFuzzy && !alone) continue;
      const compatible: Array<[number, number, string[]]> = [];
      for (const i of is) {
        for (const j of js) {
          const c = addressCompatible(crm.prepared[i] as PreparedRecord, erp.prepared[j] as PreparedRecord);
          const positive = c.agreeing.filter((x) => x !== "country");
          // Nothing to agree on (no address on one side) is accepted only when the name is unique on both sides.
          if (c.compatible && (positive.length > 0 || alone)) compatible.push([i, j, positive]);
        }
      }
      for (const [i, j, agreeing] of compatible) {
        const ambiguous = compatible.filter(([x, y]) => x === i || y === j).length > 1;
        if (ambiguous || !free(i, j) || rejected.has(pairKey(crm.prepared[i]?.record.id ?? "", erp.prepared[j]?.record.id ?? ""))) continue;
        const unique = afterFuzzy
          ? "the only unlinked record with this name in both systems once the fuzzy links were made"
          : "the name is unique in both systems";
        const why = agreeing.length
          ? `compatible address (agreeing: ${agreeing.join(", ")})`
          : `nothing contradicting (no address to compare), and ${unique}`;
        take(i, j, "exact-name-address", `Same normalised name "${name}" and ${why}`);
      }
    }
  };
  const rejected = new Set((opts.rejected ?? []).map((r) => pairKey(r.crmId, r.erpId)));
  exactNamePass(false);

  // 5. Fuzzy: links (score ≥ linkThreshold) first; then step 4 once more on what is left (a name
  // that was ambiguous may now be unique); then proposals among the rest.
  const pairs = scoreCandidates(
    crm.prepared,
    erp.prepared,
    (i) => crm.used[i] === 0,
    (j) => erp.used[j] === 0,
    settings,
    settings.reviewThreshold,
  );
  const order = pairs.order();
  const proposedCrm = new Uint8Array(crm.prepared.length);
  const proposedErp = new Uint8Array(erp.prepared.length);
  const linkedFuzzyCrm = new Uint8Array(crm.prepared.length);
  const linkedFuzzyErp = new Uint8Array(erp.prepared.length);
  for (const k of order) {
    const s = pairs.s[k] as number;
    if (s < settings.linkThreshold) break;
    const i = pairs.a[k] as number;
    const j = pairs.b[k] as number;
    const a = crm.prepared[i] as PreparedRecord;
    const b = erp.prepared[j] as PreparedRecord;
    if (rejected.has(pairKey(a.record.id, b.record.id))) continue;
    if (oneToOne) {
      if (crm.used[i] || erp.used[j]) continue;
      take(i, j, "fuzzy", "Fuzzy match, best remaining pair for both records: ");
    } else {
      linkedFuzzyCrm[i] = 1;
      linkedFuzzyErp[j] = 1;
      links.push(decision("fuzzy", a, b, "Fuzzy match: ", settings));
    }
  }
  if (!oneToOne) {
    for (let i = 0; i < crm.used.length; i++) if (linkedFuzzyCrm[i]) crm.used[i] = 1;
    for (let j = 0; j < erp.used.length; j++) if (linkedFuzzyErp[j]) erp.used[j] = 1;
  }
  exactNamePass(true);
  for (const k of order) {
    const s = pairs.s[k] as number;
    if (s >= settings.linkThreshold) continue;
    const i = pairs.a[k] as number;
    const j = pairs.b[k] as number;
    const a = crm.prepared[i] as PreparedRecord;
    const b = erp.prepared[j] as PreparedRecord;
    if (crm.used[i] || erp.used[j] || rejected.has(pairKey(a.record.id, b.record.id))) continue;
    if (oneToOne) {
      if (proposedCrm[i] || proposedErp[j]) continue;
      proposals.push(decision("fuzzy", a, b, "Fuzzy candidate, best remaining pair for both records: ", settings));
    } else proposals.push(decision("fuzzy", a, b, "Fuzzy candidate: ", settings));
    proposedCrm[i] = 1;
    proposedErp[j] = 1;
  }
  const crmOnly: string[] = [];
  crm.prepared.forEach((p, i) => {
    if (!crm.used[i] && !proposedCrm[i]) crmOnly.push(p.record.id);
  });
  const erpOnly: string[] = [];
  erp.prepared.forEach((p, j) => {
    if (!erp.used[j] && !proposedErp[j]) erpOnly.push(p.record.id);
  });
  return { links, proposals, crmOnly, erpOnly };
}
