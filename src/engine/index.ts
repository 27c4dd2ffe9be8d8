/**
 * The engine's public API: change → map → reconcile → plan → apply (DESIGN.md § The way data flows).
 *
 *   planSync(ctx, opts)   a dry run through the very same planner: reads only, writes NOTHING
 *                         (no remote write, no link, no cursor, no run row)
 *   runSync(ctx, opts)    a real run; per-object counts with read = applied + unchanged + held + quarantined
 *   resolveReview(store, id, resolution, by)   record a person's decision; applied on the next run
 */
import { SpecError, ValidationRejected } from "../errors.ts";
import type { Json, ReviewItem, Store } from "../store/types.ts";
import { runObjects } from "./runner.ts";
import type { EngineContext, SyncOptions, SyncResult } from "./types.ts";

export { assertCountsBalance, DEFAULT_REPORT_LIMIT } from "./runner.ts";
export type {
  EngineContext,
  EngineLogger,
  ObjectResult,
  Outcome,
  PlanOp,
  ProgressEvent,
  RecordReport,
  SyncOptions,
  SyncResult,
} from "./types.ts";

/** Dry run: what a sync would do, per record and field, and why. Writes nothing anywhere. */
export async function planSync(ctx: EngineContext, opts: Omit<SyncOptions, "maxVersionRetries"> = {}): Promise<SyncResult> {
  return runObjects(readOnly(ctx), { ...opts, dry: true });
}

/** A real sync of the selected objects (default: all, parents first). */
export async function runSync(ctx: EngineContext, opts: SyncOptions = {}): Promise<SyncResult> {
  return runObjects(ctx, { ...opts, dry: false });
}

/** A person's decision on a review item. */
export type Resolution = { pick: "crm" | "erp" } | { value: Json; side?: "crm" | "erp" } | { accept: true };

/**
 * Record a person's decision on an open review item; the engine applies it on the next run of the
 * object (the record's other fields are not blocked meanwhile).
 *  - conflict: `pick` a side (its current value wins), or a `value` (in the CRM's representation unless `side: "erp"`);
 *  - master-edit: `pick` the master to revert the edit, the other side (or `accept`) to keep it — the master is never written;
 *  - bounce: any decision (`accept`) releases the pair and resets its bounce counter.
 */
export async function resolveReview(store: Store, id: number, resolution: Resolution, by: string): Promise<ReviewItem> {
  const item = await store.getReview(id);
  if (!item) throw new ValidationRejected(`review item ${id} does not exist`, { hint: "List the open items with `accord review list`." });
  if (item.status !== "open") {
    throw new ValidationRejected(`review item ${id} is already ${item.status}${item.resolvedBy ? ` (by ${item.resolvedBy})` : ""}`, {
      hint: "Only open items can be resolved.",
    });
  }
  const r = resolution as Record<string, unknown>;
  const ok = r.pick === "crm" || r.pick === "erp" || "value" in r || r.accept === true;
  if (!ok) throw new SpecError("a resolution is { pick: crm|erp } or { value: V } or { accept: true }", []);
  if (item.kind === "conflict" && r.accept === true) {
    throw new ValidationRejected(`review item ${id} is a conflict: pick a side or give a value`, {
      hint: "accord review resolve ID --pick crm|erp, or --value V",
    });
  }
  if (!by.trim()) throw new ValidationRejected("a resolution needs the name of the person deciding", { hint: "Pass --by NAME." });
  await store.resolveReview(id, resolution as unknown as Json, by);
  const after = await store.getReview(id);
  if (!after) throw new Error(`review item ${id} vanished while resolving`);
  return after;
}

/** The store as a dry run sees it: every mutating method throws, so a dry run provably writes nothing. */
const MUTATING = new Set<string>([
  "migrate",
  "saveLink",
  "setCursor",
  "startRun",
  "finishRun",
  "logChanges",
  "addReview",
  "resolveReview",
  "closeReview",
  "addCreateIntent",
  "completeCreateIntent",
  "failCreateIntent",
  "quarantine",
  "updateQuarantine",
  "setPinned",
  "saveSchemaSnapshot",
  "saveSpecVersion",
]);
const REMOTE_WRITES = new Set<string>(["create", "update", "delete", "submit", "cancel"]);

function guard<T extends object>(target: T, forbidden: Set<string>, what: string): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof prop === "string" && forbidden.has(prop)) {
        return () => {
          throw new Error(`dry run attempted ${what}.${prop}() — a plan must write nothing (this is a bug in Accord)`);
        };
      }
      if (prop === "transaction") return () => Promise.reject(new Error(`dry run attempted ${what}.transaction()`));
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

function readOnly(ctx: EngineContext): EngineContext {
  return {
    ...ctx,
    store: guard(ctx.store, MUTATING, "store"),
    crm: guard(ctx.crm, REMOTE_WRITES, "crm"),
    erp: guard(ctx.erp, REMOTE_WRITES, "erp"),
  };
}
