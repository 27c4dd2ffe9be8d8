/**
 * Blocking: only records that share at least one blocking key are compared, so cost grows with
 * the size of the blocks, not with n × m. Keys (namespaced by a prefix):
 *
 *   nk:  the whole normalised name
 *   n:   each name token (3+ characters, or any digit-bearing token)
 *   nb:  the two rarest-looking name tokens together (longest first — a cheap stand-in for rarity)
 *   nf:  the first 4 characters of the compact name + postal code or city (catches typos later in the name)
 *   p:   the last 7 phone digits
 *   a:   street number + first street word
 *   z:   postal code + street number
 *   t:   tax id;  d: web / e-mail domain (or a free-mail address)
 *
 * A block larger than `maxBlockSize` on either side is skipped for that key (the other keys of
 * the same records still apply), which caps the work per key; each record is then compared with
 * at most `maxCandidatesPerRecord` candidates, those sharing the most keys first.
 */
import type { PreparedRecord } from "./score.ts";

export function blockingKeys(r: PreparedRecord): string[] {
  const keys: string[] = [];
  if (r.nameKey) keys.push(`nk:${r.nameKey}`);
  const toks = r.nameTokens;
  for (const t of toks) if (t.length >= 3 || /\d/.test(t)) keys.push(`n:${t}`);
  if (toks.length >= 2) {
    const byLen = [...new Set(toks)].sort((x, y) => y.length - x.length || (x < y ? -1 : 1));
    if (byLen.length >= 2) {
      const pair = [byLen[0] as string, byLen[1] as string].sort();
      keys.push(`nb:${pair[0]}|${pair[1]}`);
    }
  }
  const loc = r.postalCode || r.city;
  if (r.nameCompact.length >= 4 && loc) keys.push(`nf:${r.nameCompact.slice(0, 4)}|${loc}`);
  if (r.phone.length >= 7) keys.push(`p:${r.phone.slice(-7)}`);
  if (r.streetNumber && r.streetFirst) keys.push(`a:${r.streetNumber}|${r.streetFirst}`);
  if (r.streetNumber && r.postalCode) keys.push(`z:${r.postalCode}|${r.streetNumber}`);
  if (r.taxId) keys.push(`t:${r.taxId}`);
  for (const d of r.domains) keys.push(`d:${d}`);
  return keys;
}

/** key → indexes of the records carrying it. */
export type BlockIndex = Map<string, number[]>;

export function buildIndex(keysPerRecord: readonly (readonly string[])[], only?: (i: number) => boolean): BlockIndex {
  const index: BlockIndex = new Map();
  for (let i = 0; i < keysPerRecord.length; i++) {
    if (only && !only(i)) continue;
    for (const k of keysPerRecord[i] as readonly string[]) {
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    }
  }
  return index;
}

/**
 * Candidate generator for one side's record against another side's index. Reuses its buffers,
 * so it allocates nothing per record; call `candidates()` for each left record in turn.
 */
export class CandidateFinder {
  private readonly stamp: Int32Array;
  private readonly count: Int32Array;
  private readonly buf: number[] = [];
  private readonly target: BlockIndex;
  private readonly source: BlockIndex;
  private readonly maxBlock: number;
  private readonly maxCandidates: number;
  private round = 0;

  /**
   * @param source index of the side being iterated (to know its block sizes)
   * @param target index of the side searched for candidates
   * @param targetSize number of records on the target side
   */
  constructor(source: BlockIndex, target: BlockIndex, targetSize: number, maxBlock: number, maxCandidates: number) {
    this.source = source;
    this.target = target;
    this.stamp = new Int32Array(targetSize).fill(-1);
    this.count = new Int32Array(targetSize);
    this.maxBlock = maxBlock;
    this.maxCandidates = maxCandidates;
  }

  /**
   * Indexes on the target side sharing at least one (small enough) block with the record whose keys are given.
   * `accept` filters target indexes (e.g. j > i in deduplication, or not yet matched).
   * The returned array is reused by the next call.
   */
  candidates(keys: readonly string[], accept?: (j: number) => boolean): number[] {
    const round = this.round++;
    const buf = this.buf;
    buf.length = 0;
    for (const k of keys) {
      const list = this.target.get(k);
      if (!list || list.length > this.maxBlock) continue;
      const own = this.source.get(k);
      if (own && own.length > this.maxBlock) continue;
      for (const j of list) {
        if (this.stamp[j] !== round) {
          if (accept && !accept(j)) continue;
          this.stamp[j] = round;
          this.count[j] = 1;
          buf.push(j);
        } else this.count[j] = (this.count[j] as number) + 1;
      }
    }
    if (buf.length > this.maxCandidates) {
      const count = this.count;
      buf.sort((x, y) => (count[y] as number) - (count[x] as number) || x - y);
      buf.length = this.maxCandidates;
    }
    return buf;
  }
}
