/**
 * Coalescing of sync jobs, shared by both queues: however many runs of one (integration, object) are
 * asked for while one waits, one run covers them all, and nothing any of them carried is lost.
 *
 *  - an incremental request (no `records`) wins over targeted ones: a run from the cursors reads every
 *    change made before it starts, the targeted records included (DESIGN.md invariant 6);
 *  - targeted requests alone merge into one targeted run of the union of their ids;
 *  - a reconciliation (deletion sweep, quarantine retries) asked by any of them is kept;
 *  - the earliest `visibleAt` is kept (the lag metric counts from the oldest change), and the trigger
 *    of highest rank (manual > start/reconcile > schedule > webhook > poll > retry).
 */
import type { Side } from "../../spec/model.ts";
import type { JobTrigger, SyncJob } from "./types.ts";

const RANK: Record<JobTrigger, number> = { retry: -1, poll: 0, webhook: 1, schedule: 2, start: 3, reconcile: 3, manual: 4 };

export function syncKey(integration: string, object: string): string {
  return `${integration}/${object}`;
}

/** One job that covers both. */
export function mergeSyncJobs(a: SyncJob, b: SyncJob): SyncJob {
  const out: SyncJob = {
    kind: "sync",
    integration: a.integration,
    object: a.object,
    trigger: RANK[b.trigger] > RANK[a.trigger] ? b.trigger : a.trigger,
  };
  if (a.reconcile || b.reconcile) out.reconcile = true;
  const visible = [a.visibleAt, b.visibleAt].filter((v): v is number => typeof v === "number");
  if (visible.length) out.visibleAt = Math.min(...visible);
  if (a.records && b.records) {
    const records: Partial<Record<Side, string[]>> = {};
    for (const side of ["crm", "erp"] as const) {
      const ids = new Set([...(a.records[side] ?? []), ...(b.records[side] ?? [])]);
      if (ids.size) records[side] = [...ids];
    }
    out.records = records;
  }
  return out;
}

/** Whether a job asks for a targeted run (some ids on some side). */
export function isTargeted(job: SyncJob): boolean {
  return !!job.records && ((job.records.crm?.length ?? 0) > 0 || (job.records.erp?.length ?? 0) > 0);
}
