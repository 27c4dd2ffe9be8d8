/**
 * Group commit: the store writes of several records in flight (the lanes of a page) share one
 * transaction, the way a database groups the commits of concurrent sessions.
 *
 * `commit(store, fn)` behaves like `store.transaction(fn)` for its caller — it resolves only once
 * `fn`'s writes are committed, and with `fn`'s result — so every ordering rule keeps holding per
 * record (an intent is committed before its remote create, a link before the stamp that depends on
 * it: invariant 2). What changes is that calls arriving while the store is busy, or within the same
 * turn of the event loop, are committed together: with C lanes, about one commit per C records' steps
 * instead of one per step (a synchronous SQLite commit blocks every lane; fewer commits, less of it).
 *
 * Isolation: if one caller's `fn` throws, the shared transaction is rolled back and every caller of
 * that group is run again in a transaction of its own, so one record's failure stays its own. The
 * `fn`s are store writes only (no remote calls, no outside effects), so running one again is safe.
 */
import type { Store } from "../store/types.ts";

interface Pending {
  fn: (tx: Store) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

class CommitGroup {
  readonly #store: Store;
  #queue: Pending[] = [];
  #busy = false;
  /** Transactions committed, calls served, and wall ms spent in them (for tests and benchmarks). */
  readonly stats = { commits: 0, calls: 0, ms: 0 };

  constructor(store: Store) {
    this.#store = store;
  }

  run<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#busy) {
        this.#busy = true;
        // wait for the rest of this turn: other lanes whose responses arrived together join the group
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#queue;
        this.#queue = [];
        await this.#commit(batch);
      }
    } finally {
      this.#busy = false;
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    const t0 = performance.now();
    try {
      await this.#commitBatch(batch);
    } finally {
      this.stats.ms += performance.now() - t0;
    }
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    this.stats.calls += batch.length;
    if (batch.length > 1) {
      let results: unknown[] | undefined;
      try {
        results = await this.#store.transaction(async (tx) => {
          const out: unknown[] = [];
          for (const p of batch) out.push(await p.fn(tx));
          return out;
        });
      } catch {
        results = undefined; // someone's fn failed: the group was rolled back; each on its own below
      }
      if (results) {
        this.stats.commits++;
        for (const [i, p] of batch.entries()) p.resolve(results[i]);
        return;
      }
    }
    for (const p of batch) {
      try {
        const v = await this.#store.transaction(p.fn);
        this.stats.commits++;
        p.resolve(v);
      } catch (e) {
        p.reject(e);
      }
    }
  }
}

const groups = new WeakMap<Store, CommitGroup>();

function groupOf(store: Store): CommitGroup {
  let g = groups.get(store);
  if (!g) {
    g = new CommitGroup(store);
    groups.set(store, g);
  }
  return g;
}

/** Run `fn` in a transaction shared with other records' writes in flight; resolves once committed. */
export function commit<T>(store: Store, fn: (tx: Store) => Promise<T>): Promise<T> {
  return groupOf(store).run(fn);
}

/** Commits made, calls served, and wall ms spent committing by the store's commit group so far. */
export function commitStats(store: Store): { commits: number; calls: number; ms: number } {
  return { ...groupOf(store).stats };
}
