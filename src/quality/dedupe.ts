/**
 * Deduplication within one system: pairs judged the same organisation (same unique-enough tax id,
 * exact normalised name with a compatible address, or a fuzzy score ≥ linkThreshold) are joined
 * into clusters with union-find. Every joining pair carries the same explanation as a link.
 */
import { blockingKeys, buildIndex, CandidateFinder } from "./blocking.ts";
import { addressCompatible, annotateFrequencies, describeContributions, type PreparedRecord, prepare, scorePair } from "./score.ts";
import { resolveSettings } from "./settings.ts";
import type { Cluster, Contribution, DedupeOptions, DuplicatePair, OrgRecord } from "./types.ts";

/** How many members of each cluster are checked against the other before a merge. */
const CROSS_CHECK = 8;

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x] as number] as number;
      x = p[x] as number;
    }
    return x;
  }
  /** Returns false when already in one set. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }
}

/**
 * Find duplicate organisations in one system. Returns clusters of two or more records, each with
 * the pairs that joined it (a spanning set, strongest evidence first).
 */
export function findDuplicates(records: readonly OrgRecord[], opts: DedupeOptions = {}): Cluster[] {
  const settings = resolveSettings(opts.settings);
  const prepared = records.map(prepare);
  annotateFrequencies([prepared], "dedupe");
  const n = prepared.length;
  const keys = prepared.map(blockingKeys);
  const index = buildIndex(keys);
  const finder = new CandidateFinder(index, index, n, settings.maxBlockSize, settings.maxCandidatesPerRecord);

  type Edge = { i: number; j: number; step: DuplicatePair["step"]; score: number; reason: string };
  const edges: Edge[] = [];

  // Tax ids shared by a few records: a shared key (a tax id on many records is more likely a group's, left to the fuzzy score).
  const byTax = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    if (!p.taxId) return;
    const l = byTax.get(p.taxId);
    if (l) l.push(i);
    else byTax.set(p.taxId, [i]);
  });
  for (const [tax, list] of byTax) {
    if (list.length < 2 || list.length > 5) continue;
    for (let k = 1; k < list.length; k++)
      edges.push({ i: list[0] as number, j: list[k] as number, step: "shared-key", score: Infinity, reason: `Same tax id ${tax}` });
  }

  for (let i = 0; i < n; i++) {
    const a = prepared[i] as PreparedRecord;
    for (const j of finder.candidates(keys[i] as string[], (j) => j > i)) {
      const b = prepared[j] as PreparedRecord;
      if (a.nameKey && a.nameKey === b.nameKey) {
        const c = addressCompatible(a, b);
        const positive = c.agreeing.filter((x) => x !== "country");
        if (c.compatible && positive.length > 0) {
          edges.push({
            i,
            j,
            step: "exact-name-address",
            score: Infinity,
            reason: `Same normalised name "${a.nameKey}" and compatible address (agreeing: ${positive.join(", ")})`,
          });
          continue;
        }
      }
      const s = scorePair(a, b);
      if (s >= settings.linkThreshold) edges.push({ i, j, step: "fuzzy", score: s, reason: "" });
    }
  }

  edges.sort((x, y) => y.score - x.score || x.i - y.i || x.j - y.j);
  // Union-find with a cannot-link guard against chaining: two clusters are not merged when any
  // pair across them (up to CROSS_CHECK × CROSS_CHECK, the earliest-joined members) has evidence
  // against being one organisation (score < 0: e.g. a different building, tax id or country).
  const uf = new UnionFind(n);
  const members = new Map<number, number[]>();
  const membersOf = (root: number): number[] => members.get(root) ?? [root];
  const joined: Edge[] = [];
  for (const e of edges) {
    const ra = uf.find(e.i);
    const rb = uf.find(e.j);
    if (ra === rb) continue;
    const ma = membersOf(ra);
    const mb = membersOf(rb);
    if (ma.length > 1 || mb.length > 1) {
      let conflict = false;
      for (let x = 0; x < ma.length && x < CROSS_CHECK && !conflict; x++) {
        for (let y = 0; y < mb.length && y < CROSS_CHECK; y++) {
          if (scorePair(prepared[ma[x] as number] as PreparedRecord, prepared[mb[y] as number] as PreparedRecord) < 0) {
            conflict = true;
            break;
          }
        }
      }
      if (conflict) continue;
    }
    uf.union(ra, rb);
    const root = uf.find(ra);
    members.delete(ra);
    members.delete(rb);
    members.set(root, [...ma, ...mb]);
    joined.push(e);
  }

  const clusterMembers = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    const l = clusterMembers.get(r);
    if (l) l.push(i);
    else clusterMembers.set(r, [i]);
  }
  const pairsByRoot = new Map<number, DuplicatePair[]>();
  for (const e of joined) {
    const a = prepared[e.i] as PreparedRecord;
    const b = prepared[e.j] as PreparedRecord;
    const contributions: Contribution[] = [];
    const score = Math.round(scorePair(a, b, contributions) * 100) / 100;
    const detail = describeContributions(contributions);
    const explanation =
      e.step === "fuzzy"
        ? `Fuzzy match: score ${score} ≥ link threshold ${settings.linkThreshold}; ${detail}.`
        : `${e.reason} (fuzzy score for information: ${score}${detail ? `; ${detail}` : ""}).`;
    const root = uf.find(e.i);
    const pair: DuplicatePair = { aId: a.record.id, bId: b.record.id, step: e.step, score, contributions, explanation };
    const l = pairsByRoot.get(root);
    if (l) l.push(pair);
    else pairsByRoot.set(root, [pair]);
  }
  const clusters: Cluster[] = [];
  for (const [root, list] of clusterMembers) {
    if (list.length < 2) continue;
    const recordIds = list.map((i) => (prepared[i] as PreparedRecord).record.id).sort();
    clusters.push({ id: recordIds[0] as string, recordIds, pairs: pairsByRoot.get(root) ?? [] });
  }
  clusters.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return clusters;
}
