/**
 * What the crash tests share (invariant 2 under real SIGKILLs): `accord sync FILE` as a child
 * process killed at a chosen instant of its work, and the checks every crash test makes on the
 * world afterwards (duplicates, links, balanced run rows). Used by test/crash/crash.test.ts
 * (EspoCRM + ERPNext sandboxes) and test/tryton/crash.test.ts (EspoCRM sandbox + the real Tryton).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Link, Run, Store } from "../../src/store/types.ts";

export const CLI_MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

export interface SyncRunResult {
  code: number | null;
  signal: string | null;
  stderr: string;
  /** ms from the run's first progress line to its end (or to the kill). */
  workMs: number;
}

/**
 * Run `accord sync FILE` as a child process. With `killAfterMs`, SIGKILL it that many ms after its
 * first progress line (the CLI has loaded, the store is open and the run row exists), so the
 * kill lands inside the run's work, not in Node's start-up.
 */
export function startSync(opts: { file: string; env: Record<string, string>; killAfterMs?: () => number; args?: string[] }): {
  child: ChildProcess;
  done: Promise<SyncRunResult>;
} {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI_MAIN, "sync", opts.file, ...(opts.args ?? [])], {
    env: opts.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let t0: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const killAfterMs = opts.killAfterMs;
  child.stderr?.on("data", (d) => {
    stderr += d;
    if (t0 === undefined && /: start/.test(stderr)) {
      t0 = performance.now();
      if (killAfterMs) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs());
    }
  });
  const done = new Promise<SyncRunResult>((res) => {
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      res({ code, signal, stderr, workMs: t0 === undefined ? 0 : performance.now() - t0 });
    });
  });
  return { child, done };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `duplicate <label>: "<value>" ×n` for every non-empty value seen more than once. */
export function duplicates(label: string, values: string[]): string[] {
  const seen = new Map<string, number>();
  for (const v of values) if (v) seen.set(v, (seen.get(v) ?? 0) + 1);
  const out: string[] = [];
  for (const [v, n] of seen) if (n > 1) out.push(`duplicate ${label}: "${v}" ×${n}`);
  return out;
}

/** Every link of an object (all statuses), paged. */
export async function allLinks(store: Store, integration: string, object: string): Promise<Link[]> {
  const out: Link[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.listLinks(integration, object, { afterId, limit: 500 });
    if (!page.length) return out;
    out.push(...page);
    afterId = page[page.length - 1].id;
  }
}

/** Run rows whose counts do not balance (invariant 1: read = applied + unchanged + held + quarantined). */
export function unbalancedRuns(runs: Run[]): string[] {
  const out: string[] = [];
  for (const run of runs) {
    const c = run.counts;
    if (c.read !== c.applied + c.unchanged + c.held + c.quarantined)
      out.push(`run #${run.id} (${run.object}, ${run.status}): read ${c.read} ≠ ${c.applied}+${c.unchanged}+${c.held}+${c.quarantined}`);
  }
  return out;
}

/** The last run row of each object must be finished with nothing applied (converged, no echo). */
export function notConverged(runs: Run[], objects: string[]): string[] {
  const out: string[] = [];
  for (const object of objects) {
    const last = runs.filter((r) => r.object === object).sort((x, y) => y.id - x.id)[0];
    if (last?.status !== "ok" || last.counts.applied !== 0)
      out.push(`the last ${object} run is ${last?.status} with ${JSON.stringify(last?.counts)} (expected ok, nothing applied)`);
  }
  return out;
}

const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));

/** One person's edit: the last edit of each (record, field) is what must survive. */
export interface PersonEdit {
  seq: number;
  side: "crm" | "erp";
  /** The record edited (CRM id, ERP id or document name). */
  id: string;
  field: string;
  value: string;
}

/** The last edit matching `matches` (by sequence), if any. */
export function lastEdit(edits: PersonEdit[], matches: (e: PersonEdit) => boolean): PersonEdit | undefined {
  let last: PersonEdit | undefined;
  for (const e of edits) if (matches(e) && (!last || e.seq >= last.seq)) last = e;
  return last;
}

export { str as text };
