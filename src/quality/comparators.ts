/**
 * Field comparators. Each returns a similarity in [0, 1] (1 = identical).
 * They are written for short strings (names, streets) and allocate little, because the
 * matcher calls them millions of times in a 100k × 100k run.
 */

let rowA = new Int32Array(64);
let rowB = new Int32Array(64);

/** Levenshtein edit distance (insert, delete, substitute = 1). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  if (a.length < b.length) {
    const t = a;
    a = b;
    b = t;
  }
  const n = b.length;
  if (rowA.length <= n) {
    rowA = new Int32Array(n + 1);
    rowB = new Int32Array(n + 1);
  }
  let prev = rowA;
  let cur = rowB;
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      const del = prev[j] + 1;
      const ins = cur[j - 1] + 1;
      const sub = prev[j - 1] + cost;
      cur[j] = del < ins ? (del < sub ? del : sub) : ins < sub ? ins : sub;
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[n];
}

/** Normalised Levenshtein similarity as in python-Levenshtein's `ratio`: (|a|+|b|-d') / (|a|+|b|), substitutions costing 2. */
export function levenshteinRatio(a: string, b: string): number {
  const total = a.length + b.length;
  if (total === 0) return 1;
  // ratio() counts a substitution as 2 (= indel distance): use LCS-based indel distance.
  const lcs = lcsLength(a, b);
  return (2 * lcs) / total;
}

/** Length of the longest common subsequence (the basis of the indel distance). */
export function lcsLength(a: string, b: string): number {
  if (a === b) return a.length;
  if (a.length === 0 || b.length === 0) return 0;
  if (a.length < b.length) {
    const t = a;
    a = b;
    b = t;
  }
  const n = b.length;
  if (rowA.length <= n) {
    rowA = new Int32Array(n + 1);
    rowB = new Int32Array(n + 1);
  }
  let prev = rowA;
  let cur = rowB;
  prev.fill(0, 0, n + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = 0;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      if (ca === b.charCodeAt(j - 1)) cur[j] = prev[j - 1] + 1;
      else cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[n];
}

let flagsA = new Uint8Array(64);
let flagsB = new Uint8Array(64);

/** Jaro similarity. */
export function jaro(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 1 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const range = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  if (flagsA.length < la) flagsA = new Uint8Array(la * 2);
  if (flagsB.length < lb) flagsB = new Uint8Array(lb * 2);
  flagsA.fill(0, 0, la);
  flagsB.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = i - range > 0 ? i - range : 0;
    const hi = i + range + 1 < lb ? i + range + 1 : lb;
    const c = a.charCodeAt(i);
    for (let j = lo; j < hi; j++) {
      if (flagsB[j] === 0 && b.charCodeAt(j) === c) {
        flagsA[i] = 1;
        flagsB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let transpositions = 0;
  for (let i = 0; i < la; i++) {
    if (flagsA[i] === 0) continue;
    while (flagsB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  return (m / la + m / lb + (m - transpositions / 2) / m) / 3;
}

/** Jaro–Winkler similarity (prefix scale 0.1, prefix up to 4 characters). */
export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  if (j <= 0.7) return j;
  let prefix = 0;
  const max = Math.min(4, a.length, b.length);
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
}

/**
 * Token-set ratio (as in fuzzywuzzy / rapidfuzz): compares the shared tokens with each side's
 * shared + remaining tokens, so "lavizzo" vs "chicago public schools lavizzo mildred" scores 1,
 * and word order does not matter.
 */
export function tokenSetRatio(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const setB = new Set(b);
  const setA = new Set(a);
  const inter: string[] = [];
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  for (const t of setA) (setB.has(t) ? inter : onlyA).push(t);
  for (const t of setB) if (!setA.has(t)) onlyB.push(t);
  inter.sort();
  onlyA.sort();
  onlyB.sort();
  const t0 = inter.join(" ");
  const t1 = onlyA.length ? (t0 ? `${t0} ${onlyA.join(" ")}` : onlyA.join(" ")) : t0;
  const t2 = onlyB.length ? (t0 ? `${t0} ${onlyB.join(" ")}` : onlyB.join(" ")) : t0;
  if (t0 && (onlyA.length === 0 || onlyB.length === 0)) return 1;
  let best = levenshteinRatio(t1, t2);
  if (t0) {
    const r1 = levenshteinRatio(t0, t1);
    const r2 = levenshteinRatio(t0, t2);
    if (r1 > best) best = r1;
    if (r2 > best) best = r2;
  }
  return best;
}

/**
 * Soft token overlap: the share of tokens (of the shorter side) that have a close partner
 * (equal, or Jaro–Winkler ≥ 0.9 for tokens of 4+ characters) on the other side.
 */
export function softTokenOverlap(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [s, l] = a.length <= b.length ? [a, b] : [b, a];
  let hits = 0;
  for (const t of s) {
    let ok = false;
    for (const u of l) {
      if (t === u || (t.length >= 4 && u.length >= 4 && jaroWinkler(t, u) >= 0.9)) {
        ok = true;
        break;
      }
    }
    if (ok) hits++;
  }
  return hits / s.length;
}

/** Phone agreement on the last digits: 1 if the last 9 (or all, when shorter, min 7) agree; 0.9 if only the last 7 do; 0 otherwise. -1 if either side has fewer than 7 digits. */
export function phoneSimilarity(a: string, b: string): number {
  if (a.length < 7 || b.length < 7) return -1;
  const n = Math.min(9, a.length, b.length);
  if (a.slice(-n) === b.slice(-n)) return 1;
  if (a.slice(-7) === b.slice(-7)) return 0.9;
  return 0;
}

/** Exact equality of two non-empty normalised values: 1 / 0; -1 when either is empty. */
export function exact(a: string, b: string): number {
  if (!a || !b) return -1;
  return a === b ? 1 : 0;
}
