/**
 * The verified walk (src/connectors/paging.ts) against an in-memory table that changes while it
 * is being read: records modified (moved to the end), deleted, and late records inserted behind
 * the walk, many of them sharing one timestamp. Property: every record that exists, unmodified,
 * for the whole walk is returned exactly once; the walk's order is (t, id) ascending between shifts.
 */
import { describe, expect, it } from "vitest";
import { type PageRequest, verifiedWalk, type WalkKey } from "../../src/connectors/paging.ts";
import { Prng } from "../../src/sandbox/common/prng.ts";

interface Row {
  id: string;
  t: string;
}

const cmp = (a: WalkKey, b: WalkKey) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

class Table {
  rows = new Map<string, Row>();
  calls = 0;
  clock = 1000;
  sorted(): Row[] {
    return [...this.rows.values()].sort(cmp);
  }
  page(q: PageRequest): { rows: Row[] } {
    this.calls++;
    let list = this.sorted();
    if (q.after) {
      const a = q.after;
      list = list.filter((r) => cmp(r, a) > 0);
    }
    return { rows: list.slice(q.offset, q.offset + q.limit).map((r) => ({ ...r })) };
  }
  ts(n: number): string {
    return String(n).padStart(8, "0");
  }
}

async function walkAll(table: Table, size: number, during?: (pageNo: number) => void, onShift?: () => void): Promise<Row[]> {
  const out: Row[] = [];
  let n = 0;
  for await (const rows of verifiedWalk<Row>({ size, fetchPage: async (q) => table.page(q), keyOf: (r) => r, compare: cmp, onShift })) {
    out.push(...rows);
    during?.(n++);
  }
  return out;
}

describe("verifiedWalk", () => {
  it("no concurrent change: plain offset pages, one call per page, each row once, in order", async () => {
    const t = new Table();
    for (let i = 0; i < 1000; i++) t.rows.set(`r${String(i).padStart(4, "0")}`, { id: `r${String(i).padStart(4, "0")}`, t: t.ts(i % 37) });
    let shifts = 0;
    const got = await walkAll(t, 200, undefined, () => shifts++);
    expect(got.map((r) => r.id)).toEqual(t.sorted().map((r) => r.id));
    expect(shifts).toBe(0);
    // 200 + 199·k: 1000 rows in 6 calls (the last one short ends the walk).
    expect(t.calls).toBe(6);
  });

  it("all rows sharing one timestamp, page boundaries inside the group: exact", async () => {
    const t = new Table();
    for (let i = 0; i < 53; i++) t.rows.set(`id${i}`, { id: `id${i}`, t: t.ts(5) });
    const got = await walkAll(t, 7);
    expect(got.map((r) => r.id).sort()).toEqual([...t.rows.keys()].sort());
    expect(new Set(got.map((r) => r.id)).size).toBe(53);
  });

  it("a read row modified during the walk (moves to the end): detected, nothing skipped", async () => {
    const t = new Table();
    for (let i = 0; i < 100; i++) t.rows.set(`r${String(i).padStart(3, "0")}`, { id: `r${String(i).padStart(3, "0")}`, t: t.ts(i) });
    let shifts = 0;
    const got = await walkAll(
      t,
      10,
      (p) => {
        if (p === 0) t.rows.set("r002", { id: "r002", t: t.ts(10_000) });
      },
      () => shifts++,
    );
    expect(shifts).toBe(1);
    const ids = got.map((r) => r.id);
    for (let i = 0; i < 100; i++) expect(ids, `r${i}`).toContain(`r${String(i).padStart(3, "0")}`);
    expect(ids.filter((x) => x === "r002").length).toBe(2); // once before, once after its change
  });

  it("property: random modifications, deletions and late inserts never make an unchanged row skip or repeat", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = new Prng(seed);
      const t = new Table();
      const n = 50 + Math.floor(rnd.next() * 300);
      for (let i = 0; i < n; i++) {
        const id = `r${Math.floor(rnd.next() * 1e9).toString(36)}${i}`;
        // Few distinct timestamps: lots of ties across page boundaries.
        t.rows.set(id, { id, t: t.ts(Math.floor(rnd.next() * 12)) });
      }
      const initial = new Set(t.rows.keys());
      const touched = new Set<string>();
      const size = 3 + Math.floor(rnd.next() * 20);
      const got = await walkAll(t, size, () => {
        const k = Math.floor(rnd.next() * 4);
        for (let j = 0; j < k; j++) {
          const all = [...t.rows.keys()];
          const victim = all[Math.floor(rnd.next() * all.length)];
          const what = rnd.next();
          if (what < 0.5) {
            t.rows.set(victim, { id: victim, t: t.ts(1000 + t.clock++) }); // modified now
            touched.add(victim);
          } else if (what < 0.75) {
            t.rows.delete(victim);
            touched.add(victim);
          } else {
            const id = `late${t.clock++}`; // a late commit with an old timestamp
            t.rows.set(id, { id, t: t.ts(Math.floor(rnd.next() * 12)) });
            touched.add(id);
          }
        }
      });
      const count = new Map<string, number>();
      for (const r of got) count.set(r.id, (count.get(r.id) ?? 0) + 1);
      for (const id of initial) {
        if (touched.has(id)) continue;
        expect(count.get(id), `seed ${seed} size ${size}: ${id}`).toBe(1);
      }
    }
  });

  it("skipThrough continues exactly after a cursor key", async () => {
    const t = new Table();
    for (let i = 0; i < 20; i++) t.rows.set(`k${String(i).padStart(2, "0")}`, { id: `k${String(i).padStart(2, "0")}`, t: t.ts(1) });
    const out: Row[] = [];
    for await (const rows of verifiedWalk<Row>({
      size: 6,
      fetchPage: async (q) => t.page(q),
      keyOf: (r) => r,
      compare: cmp,
      skipThrough: { t: t.ts(1), id: "k07" },
    }))
      out.push(...rows);
    expect(out.map((r) => r.id)).toEqual(Array.from({ length: 12 }, (_, i) => `k${String(i + 8).padStart(2, "0")}`));
  });
});
