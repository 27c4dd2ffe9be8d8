/**
 * The change walk both HTTP connectors share: offset paging over a fixed filter, ordered by
 * (modified, id), where every page after the first starts ONE ROW EARLY and checks that this
 * row is the last row of the previous page.
 *
 * Why: plain offset paging skips records. When a record already read is modified (it moves to
 * the end), deleted, or a late record appears behind the walk, every later record shifts and
 * the one at the page boundary is never returned. The overlap row detects any such shift: if
 * it is not the previous page's last row (same id, same modified), the walk switches to keyset
 * paging — "strictly after (modified, id) of the last row read" — for the rest of the walk,
 * which cannot skip. Without concurrent changes, pages are plain list calls at the maximum
 * page size (one call per page, a single row of overlap), as fast as the system lists; with
 * them, the walk stays exact.
 *
 * Records sharing one timestamp across a page boundary are handled by the same two rules: the
 * order (modified, id) is total, so offsets and keysets both split such groups exactly.
 */

/** Position of a row in the walk order: the system's own modified value (comparable as given) and id. */
export interface WalkKey {
  t: string;
  id: string;
}

export interface PageRequest {
  offset: number;
  limit: number;
  /** Keyset mode: rows strictly after this key, offset 0. */
  after?: WalkKey;
}

export interface PageResult<R> {
  rows: R[];
  /** The server's own "more pages?" signal when it gives one (EspoCRM X-No-Total: −1/−2). */
  more?: boolean;
}

export interface WalkOptions<R> {
  size: number;
  fetchPage: (q: PageRequest) => Promise<PageResult<R>>;
  keyOf: (row: R) => WalkKey;
  /** Order of keys as the server sorts them (negative, zero, positive). */
  compare: (a: WalkKey, b: WalkKey) => number;
  /** Drop rows at or before this key (continuing exactly after a cursor). */
  skipThrough?: WalkKey;
  /** Called when a shift was detected and the walk switched to keyset paging (for stats/tests). */
  onShift?: () => void;
}

export async function* verifiedWalk<R>(o: WalkOptions<R>): AsyncGenerator<R[]> {
  const { size, fetchPage, keyOf, compare } = o;
  let offset = 0;
  let prev: WalkKey | undefined;
  let keyset = false;
  for (;;) {
    let rows: R[];
    let returned: number;
    let more: boolean | undefined;
    if (prev && keyset) {
      const res = await fetchPage({ offset: 0, limit: size, after: prev });
      rows = res.rows;
      returned = rows.length;
      more = res.more;
    } else if (prev) {
      const res = await fetchPage({ offset: offset - 1, limit: size });
      const first = res.rows[0];
      if (!first || compare(keyOf(first), prev) !== 0 || keyOf(first).id !== prev.id) {
        keyset = true;
        o.onShift?.();
        continue;
      }
      rows = res.rows.slice(1);
      returned = res.rows.length;
      more = res.more;
      offset += rows.length;
    } else {
      const res = await fetchPage({ offset: 0, limit: size });
      rows = res.rows;
      returned = rows.length;
      more = res.more;
      offset = rows.length;
    }
    if (rows.length) prev = keyOf(rows[rows.length - 1]);
    const skip = o.skipThrough;
    const out = skip ? rows.filter((r) => compare(keyOf(r), skip) > 0) : rows;
    if (out.length) yield out;
    if (more === false || returned < size) return;
  }
}
