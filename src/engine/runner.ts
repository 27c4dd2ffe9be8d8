/**
 * The runner: one sync (or dry run) of the integration's objects, in spec order (parents first).
 *
 * Per object:
 *   start the run → (real runs) recover pending create intents → read changes from the CRM, then
 *   the ERP, page by page (since = stored cursor, overlap = sync.overlapMs); each record is planned
 *   and applied; the cursor is saved only once its page is fully processed → records whose create
 *   never happened, quarantined records (retried), links with a resolved review (applied) →
 *   deletion sweep (listIds) → assert read = applied + unchanged + held + quarantined → finish the run.
 *
 * A dry run goes through the very same planner and writes nothing anywhere (no run row, no
 * cursor, no link, no remote write).
 */
import { isFieldPath } from "../connectors/field-path.ts";
import type { RemoteRecord } from "../connectors/types.ts";
import { isAccordError } from "../errors.ts";
import type { ObjectSpec, Side } from "../spec/model.ts";
import type { Json, Link, QuarantineEntry, ReviewItem, RunCounts } from "../store/types.ts";
import { emptyGroup } from "./aggregate.ts";
import { applyDeletion, applyPlan } from "./apply.ts";
import { ConditionFailed } from "./conditions.ts";
import { bulkCreatesOf, recoverIntents } from "./creates.ts";
import { engineFields, readFieldList } from "./fields.ts";
import { connectorOf, entityOf, pendingResolutions, planDeletion, planPair, planRecord, reportOf, withinObjectFilter } from "./plan.ts";
import type { EngineContext, ObjectResult, ObjectRun, Outcome, RecordPlan, SyncOptions, SyncResult } from "./types.ts";
import {
  carriedSharedId,
  errorClassOf,
  isEmpty,
  messageOf,
  objectSide,
  otherSide,
  readField,
  sameValue,
  sharedIdOf,
  toJson,
} from "./values.ts";

/** Reports a real run keeps per object and kind (SyncOptions.reportLimit) unless verbose. */
export const DEFAULT_REPORT_LIMIT = 1000;

export function emptyCounts(): RunCounts {
  return { read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 };
}

/** Invariant 1: every record read ends as applied, unchanged, held or quarantined. */
export function assertCountsBalance(object: string, c: RunCounts): void {
  if (c.read !== c.applied + c.unchanged + c.held + c.quarantined) {
    throw new Error(
      `invariant 1 violated for ${object}: read ${c.read} ≠ applied ${c.applied} + unchanged ${c.unchanged} + held ${c.held} + quarantined ${c.quarantined} (a record was skipped silently — this is a bug in Accord)`,
    );
  }
}

/** Errors that quarantine the record (the run goes on); others stop the object's run. */
function quarantinable(err: unknown): boolean {
  if (err instanceof ConditionFailed) return true;
  if (!isAccordError(err)) return false;
  return ["ValidationRejected", "NotFound", "Duplicate", "SchemaDrift", "VersionConflict"].includes(err.errorClass);
}

function orderObjects(objects: ObjectSpec[]): ObjectSpec[] {
  // Spec order, but a parent always before its children.
  const out: ObjectSpec[] = [];
  const byName = new Map(objects.map((o) => [o.name, o]));
  const visit = (o: ObjectSpec, seen: Set<string>) => {
    if (out.includes(o) || seen.has(o.name)) return;
    seen.add(o.name);
    const p = o.parent ? byName.get(o.parent.object) : undefined;
    if (p) visit(p, seen);
    // objects this one looks up (their links translate its values) go first too
    for (const f of o.fields) {
      for (const name of [f.lookup?.object, ...(f.lines ?? []).map((l) => l.lookup?.object)]) {
        const dep = name ? byName.get(name) : undefined;
        if (dep) visit(dep, seen);
      }
    }
    out.push(o);
  };
  for (const o of objects) visit(o, new Set());
  return out;
}

export async function runObjects(ctx: EngineContext, opts: SyncOptions & { dry: boolean }): Promise<SyncResult> {
  const names = opts.objects;
  if (names) {
    const unknown = names.filter((n) => !ctx.spec.objects.some((o) => o.name === n));
    if (unknown.length) {
      throw new Error(
        `Unknown object(s) ${unknown.join(", ")} in integration ${ctx.spec.name}. Known: ${ctx.spec.objects.map((o) => o.name).join(", ")}.`,
      );
    }
  }
  const selected = orderObjects(ctx.spec.objects).filter((o) => !names || names.includes(o.name));
  const ownUser = { crm: await whoAmI(ctx, "crm"), erp: await whoAmI(ctx, "erp") };
  const result: SyncResult = { integration: ctx.spec.name, dryRun: opts.dry, objects: [], totals: emptyCounts() };
  for (const obj of selected) {
    const r = await syncObject(ctx, obj, opts, ownUser);
    result.objects.push(r);
    for (const k of Object.keys(result.totals) as Array<keyof RunCounts>) result.totals[k] += r.counts[k];
  }
  return result;
}

async function whoAmI(ctx: EngineContext, side: Side): Promise<string | undefined> {
  try {
    return await (side === "crm" ? ctx.crm : ctx.erp).whoAmI();
  } catch (err) {
    if (isAccordError(err) && err.errorClass === "AuthError") throw err;
    ctx.logger?.warn({ side, err: messageOf(err) }, "whoAmI failed; echo detection by author is off (content still decides)");
    return undefined;
  }
}

async function syncObject(
  ctx: EngineContext,
  obj: ObjectSpec,
  opts: SyncOptions & { dry: boolean },
  ownUser: { crm?: string; erp?: string },
): Promise<ObjectResult> {
  const { store, spec } = ctx;
  const integration = spec.name;
  const counts = emptyCounts();
  const result: ObjectResult = { object: obj.name, runId: null, counts, echoes: 0, deletions: 0, recovered: 0, records: [] };
  const or: ObjectRun = {
    ctx,
    obj,
    fields: engineFields(obj),
    dry: opts.dry,
    runId: null,
    counts,
    result,
    ownUser,
    quarantined: new Map(),
    openReviews: new Map(),
    resolvedReviews: new Map(),
    processed: new Set(),
    pendingIntents: new Map(),
    verbose: opts.verbose ?? false,
    reportLimit: opts.reportLimit ?? (opts.dry || opts.verbose ? undefined : DEFAULT_REPORT_LIMIT),
    listed: { done: 0, attention: 0 },
    onRecord: opts.onRecord,
    maxVersionRetries: opts.maxVersionRetries ?? 3,
    now: () => (ctx.clock ? ctx.clock() : new Date()),
  };
  const progress = (phase: "start" | "read" | "retry" | "deletes" | "done", side?: Side) =>
    opts.onProgress?.({ object: obj.name, phase, side, counts: { ...counts } });

  const runStartMs = or.now().getTime();
  if (!or.dry) {
    const run = await store.startRun(integration, obj.name, "sync");
    or.runId = run.id;
    result.runId = run.id;
  }
  try {
    progress("start");
    for (const status of ["open", "released"] as const) {
      for (const q of await store.listQuarantine(integration, { object: obj.name, status }))
        or.quarantined.set(`${q.side}:${q.recordId}`, q);
    }
    const group = (items: ReviewItem[], into: Map<number, ReviewItem[]>) => {
      for (const it of items) {
        if (it.linkId === null) continue;
        const l = into.get(it.linkId) ?? [];
        l.push(it);
        into.set(it.linkId, l);
      }
    };
    group(await store.listReviews(integration, { object: obj.name, status: "open" }), or.openReviews);
    group(await store.listReviews(integration, { object: obj.name, status: "resolved" }), or.resolvedReviews);

    // 1. interrupted creates
    let again: Array<{ side: Side; id: string }> = [];
    if (or.dry) {
      for (const i of await store.pendingCreateIntents(integration, obj.name)) or.pendingIntents.set(`${i.target}:${i.sourceId}`, i.id);
    } else {
      again = await recoverIntents(or);
    }

    // 2. changes, page by page; the cursor moves only after its page is fully processed
    //    (a targeted run reads only the given records by id and leaves the cursors alone)
    for (const side of opts.records ? [] : (["crm", "erp"] as const)) {
      const conn = connectorOf(or, side);
      const since = await store.getCursor(integration, obj.name, side);
      const filter = objectFilter(obj, side);
      const fields = readFieldList(obj, side, or.fields);
      for await (const page of readAhead(
        conn.readChanges(entityOf(or, side), {
          since,
          overlapMs: spec.sync.overlapMs,
          filter,
          ...(fields ? { fields } : {}),
        }),
      )) {
        // Accord's own writes of this run move the records' modifiedAt past the read position, so
        // reading on would fetch them again (the CRM accounts just stamped, the ERP customers just
        // created) only to find echoes. A page holding nothing but such records, each modified after
        // the run started, ends this side's read: its cursor is not saved, so the next run reads it (and anything changed meanwhile
        // by someone else) — nothing is skipped, it is read one run later.
        if (ownWritesOnly(or, side, page.records, runStartMs)) break;
        opts.beforePage?.();
        await prefetchPage(or, side, page.records);
        await processPage(or, side, page.records, opts.applyConcurrency ?? 1);
        or.prefetched = undefined;
        or.sharedLinks = undefined;
        or.sharedIdLookups = undefined;
        if (!or.dry && page.cursor) await store.setCursor(integration, obj.name, side, page.cursor);
        progress("read", side);
      }
    }

    for (const side of opts.records ? (["crm", "erp"] as const) : []) {
      const ids = [...new Set(opts.records?.[side] ?? [])];
      if (ids.length === 0) continue;
      const fields = readFieldList(obj, side, or.fields);
      // a record outside the object's filter is not one of its records (a by-id read does not filter)
      const records = (await connectorOf(or, side).readByIds(entityOf(or, side), ids, fields)).filter((r) =>
        withinObjectFilter(or, side, r),
      );
      await prefetchPage(or, side, records);
      await processPage(or, side, records, opts.applyConcurrency ?? 1);
      or.prefetched = undefined;
      or.sharedLinks = undefined;
      or.sharedIdLookups = undefined;
      progress("read", side);
    }

    // 3. extra work: creates that never happened, quarantine retries, resolved reviews
    for (const a of again) await processById(or, a.side, a.id);
    for (const q of opts.retryQuarantined === false ? [] : or.quarantined.values()) {
      if (or.processed.has(`${q.side}:${q.recordId}`)) continue;
      await retryQuarantined(or, q);
    }
    progress("retry");
    for (const [linkId] of or.resolvedReviews) {
      const link = await store.getLink(integration, obj.name, { id: linkId });
      if (!link?.crmId || !link.erpId || link.status !== "active" || link.pinned) continue;
      if (pendingResolutions(or, link).length === 0) continue;
      if (or.processed.has(`crm:${link.crmId}`) || or.processed.has(`erp:${link.erpId}`)) continue;
      await processById(or, "crm", link.crmId);
    }

    // 4. deletions by comparison of id lists
    if (opts.detectDeletes !== false) await sweepDeletions(or);
    progress("deletes");

    assertCountsBalance(obj.name, counts);
    if (!or.dry && or.runId !== null) await store.finishRun(or.runId, "ok", counts);
    progress("done");
    return result;
  } catch (err) {
    if (!or.dry && or.runId !== null)
      await store.finishRun(or.runId, "failed", counts, `${errorClassOf(err)}: ${messageOf(err)}`).catch(() => {});
    throw err;
  }
}

/**
 * Process a page's records, `lanes` at a time. Records that could meet — the same shared id
 * (duplicates carrying one ERP identity) — share a lane and go one after the other, so a link or
 * a duplicate check is never raced; records of different lanes are independent (each its own
 * link). With one lane this is the plain sequential loop. The page's cursor is saved by the
 * caller only after every lane is done.
 */
async function processPage(or: ObjectRun, side: Side, records: RemoteRecord[], lanes: number): Promise<void> {
  const n = Math.max(1, Math.floor(lanes));
  if (n === 1 || records.length < 2) {
    for (const rec of records) await processRecord(or, side, rec);
    return;
  }
  const width = lanesFor(or, side, records, n);
  const byLane: RemoteRecord[][] = Array.from({ length: width }, () => []);
  // records of one key share a lane; keys are dealt to the lanes in turn (even lanes: with a lane per
  // record, a lane holding two would make its second record wait for the first's calls)
  const laneOfKey = new Map<string, number>();
  for (const rec of records) {
    const key = side === "erp" ? sharedIdOf(or.obj, rec) : (carriedSharedId(or.obj, "crm", rec) ?? `id:${rec.id}`);
    let lane = laneOfKey.get(key);
    if (lane === undefined) {
      lane = laneOfKey.size % width;
      laneOfKey.set(key, lane);
    }
    byLane[lane].push(rec);
  }
  // Real runs: each lane's identity stamp overlaps its next create (creates.ts), at most `n` stamps in
  // flight; all of them land before this returns (the caller saves the page's cursor after).
  const stamps: ObjectRun["stamps"] = or.dry ? undefined : { inFlight: new Set(), limit: n, errors: [] };
  or.stamps = stamps;
  let results: PromiseSettledResult<void>[];
  try {
    results = await Promise.allSettled(
      byLane.map(async (lane) => {
        for (const rec of lane) await processRecord(or, side, rec);
      }),
    );
  } finally {
    or.stamps = undefined;
    while (stamps?.inFlight.size) await Promise.all([...stamps.inFlight]);
  }
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  for (const f of stamps?.errors ?? []) {
    if (!quarantinable(f.err)) throw f.err;
    // Created and linked (counted applied), but the identity stamp into the source was refused: the
    // source record is quarantined with the reason, so the next run retries it — its planner stamps
    // the linked pair — even though the record does not change again.
    await applyPlan(or, errorPlan(or, f.side, f.record, f.err));
  }
}

/**
 * Pages of a read, the next one asked for as soon as one arrives: the system reads page k+1 while
 * the engine processes page k (the same calls in the same order, only earlier). A failed read ahead
 * surfaces when its page is due; a read ended early (own writes, an error) closes the source.
 */
async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => undefined); // awaited on the next turn of the loop, or dropped when the read ends early
      yield r.value;
    }
  } finally {
    await it.return?.()?.catch(() => undefined);
  }
}

/**
 * How many lanes a page gets. `n` (the run's concurrency) as a rule; but when most of the page is
 * new and the other system has a bulk create, every record of the page is in flight: their intents
 * share a commit, their creates share calls (at most `n` at a time, bulk-creates.ts), their links
 * share a commit — the page's creates cost a few calls instead of one each. Other calls stay
 * bounded by each connector's own concurrency; stamps by `n`.
 */
function lanesFor(or: ObjectRun, side: Side, records: RemoteRecord[], n: number): number {
  if (or.dry || !or.prefetched) return n;
  or.bulk ??= { maxInFlight: n, bySide: new Map() };
  if (!bulkCreatesOf(or, otherSide(side))) return n;
  let fresh = 0;
  for (const r of records) if (!or.prefetched.get(`${side}:${r.id}`)?.link) fresh++;
  return fresh * 2 > records.length ? Math.max(n, records.length) : n;
}

/**
 * Whether every record of a (non-empty) page is one Accord wrote in this run AND was modified after
 * the run started (by the system's timestamps). The second condition matters where timestamps are
 * coarse (EspoCRM: seconds): a record written in the same second as records not read yet sorts among
 * them, so a page of own writes alone does not prove that nothing older follows. Once the page's own
 * writes are all later than the run's start, whatever follows them was modified after the run started.
 * Clock skew only moves where the read stops, never skips: the cursor stays before the page.
 */
function ownWritesOnly(or: ObjectRun, side: Side, records: RemoteRecord[], runStartMs: number): boolean {
  const w = or.written;
  if (!w || w.size === 0 || records.length === 0) return false;
  for (const r of records) {
    if (!w.has(`${side}:${r.id}`)) return false;
    const at = Date.parse(r.modifiedAt);
    if (!(at > runStartMs)) return false;
  }
  return true;
}

/** A page's links and pins in one query each, when the store can (instead of two queries per record). */
async function prefetchPage(or: ObjectRun, side: Side, records: RemoteRecord[]): Promise<void> {
  const { store, spec } = or.ctx;
  if (!store.getLinksByIds || !store.pinnedAmong || records.length < 2) return;
  const ids = records.map((r) => r.id);
  const links = await store.getLinksByIds(spec.name, or.obj.name, side, ids);
  const pinned = new Set(await store.pinnedAmong(spec.name, or.obj.name, side, ids));
  const byId = new Map<string, (typeof links)[number]>();
  for (const l of links) {
    const id = side === "crm" ? l.crmId : l.erpId;
    if (id && !byId.has(id)) byId.set(id, l); // the oldest link first, as getLink
  }
  or.prefetched = new Map(ids.map((id) => [`${side}:${id}`, { link: byId.get(id), pinned: pinned.has(id) }]));
  // the links of the shared ids the unlinked records carry (planUnlinked checks that no other record holds it)
  const carried = new Map<string, number>();
  const fresh = new Set<string>();
  for (const r of records) {
    const sid = side === "erp" ? sharedIdOf(or.obj, r) : carriedSharedId(or.obj, "crm", r);
    if (sid === undefined) continue;
    carried.set(sid, (carried.get(sid) ?? 0) + 1);
    if (!byId.has(r.id)) fresh.add(sid);
  }
  const once = [...fresh].filter((sid) => carried.get(sid) === 1);
  or.sharedLinks = undefined;
  if (once.length > 1) {
    const links = new Map<string, Link>();
    for (const l of await store.getLinksByIds(spec.name, or.obj.name, "shared", once))
      if (l.sharedId && !links.has(l.sharedId)) links.set(l.sharedId, l); // the oldest first, as getLink
    or.sharedLinks = { covered: new Set(once), links };
  }
  // `crm: { identity: id }`: every unlinked CRM record "carries" its own id as the shared id; look them all
  // up in the ERP in one query instead of one call per record before its create.
  or.sharedIdLookups = undefined;
  const erpIdentity = or.obj.erp.identity;
  if (side === "crm" && or.obj.crm.identity === "id" && erpIdentity !== "id" && !isFieldPath(erpIdentity) && !or.obj.erp.aggregate) {
    const unlinked = ids.filter((id) => !byId.has(id));
    if (unlinked.length > 1) {
      const found = new Map<string, RemoteRecord[]>();
      const filter = [...(objectFilter(or.obj, "erp") ?? []), { field: erpIdentity, op: "in" as const, value: unlinked }];
      for await (const page of connectorOf(or, "erp").readChanges(entityOf(or, "erp"), { filter, fields: readFieldList(or.obj, "erp", or.fields) }))
        for (const r of page.records) {
          const sid = sharedIdOf(or.obj, r);
          const list = found.get(sid);
          if (list) list.push(r);
          else found.set(sid, [r]);
        }
      or.sharedIdLookups = { covered: new Set(unlinked), found };
    }
  }
}

function objectFilter(obj: ObjectSpec, side: Side) {
  const f = (side === "crm" ? obj.crm : obj.erp).filter;
  return f?.map((x) => ({ field: x.field, op: x.op as "=", value: x.value }));
}

async function processById(or: ObjectRun, side: Side, id: string): Promise<void> {
  const [rec] = await connectorOf(or, side).readByIds(entityOf(or, side), [id], readFieldList(or.obj, side, or.fields));
  if (rec) await processRecord(or, side, rec);
}

async function retryQuarantined(or: ObjectRun, q: QuarantineEntry): Promise<void> {
  const [rec] = await connectorOf(or, q.side).readByIds(entityOf(or, q.side), [q.recordId], readFieldList(or.obj, q.side, or.fields));
  if (!rec) {
    // Nothing left to sync: the record was deleted in its system.
    if (!or.dry)
      await or.ctx.store.updateQuarantine(q.id, { status: "resolved", reason: `${q.reason} — record no longer exists in ${q.side}` });
    return;
  }
  await processRecord(or, q.side, rec);
}

function count(or: ObjectRun, outcome: Outcome): void {
  or.counts.read++;
  or.counts[outcome]++;
}

/** Plan (and apply, unless dry) one record read; count its outcome exactly once. */
export async function processRecord(or: ObjectRun, side: Side, first: RemoteRecord): Promise<Outcome> {
  let rec = first;
  or.processed.add(`${side}:${rec.id}`);
  for (let attempt = 0; ; attempt++) {
    let plan: RecordPlan;
    try {
      plan = await planRecord(or, side, rec);
    } catch (err) {
      if (!quarantinable(err)) throw err;
      plan = errorPlan(or, side, rec, err);
    }
    if (plan.crm) or.processed.add(`crm:${plan.crm.id}`);
    if (plan.erp) or.processed.add(`erp:${plan.erp.id}`);
    if (or.dry) return finish(or, plan);
    try {
      await applyPlan(or, plan);
      if (plan.outcome !== "quarantined") await releaseQuarantine(or, side, rec.id);
      await showSyncError(or, side, rec, plan);
      return finish(or, plan);
    } catch (err) {
      if (isAccordError(err) && err.errorClass === "VersionConflict" && attempt < or.maxVersionRetries) {
        // Someone changed a record between our read and our write: re-read and re-plan.
        const [fresh] = await connectorOf(or, side).readByIds(entityOf(or, side), [rec.id], readFieldList(or.obj, side, or.fields));
        if (!fresh)
          return finish(or, {
            ...plan,
            outcome: "unchanged",
            reason: "the record was deleted while syncing; the deletion sweep handles it",
            updates: [],
          });
        rec = fresh;
        continue;
      }
      if (!quarantinable(err)) throw err;
      const qp = errorPlan(or, side, rec, err);
      await applyPlan(or, qp);
      await showSyncError(or, side, rec, qp);
      return finish(or, qp);
    }
  }
}

/**
 * `errors:` — show the record's current sync problem where its users look: a quarantine reason or a
 * hold rule's reason is written into the named field of each side's record; a record that synced
 * (or waits for its trigger) gets the field cleared. Only written when the value differs.
 * A failure to write it is logged, never fails the record.
 */
async function showSyncError(or: ObjectRun, side: Side, rec: RemoteRecord, plan: RecordPlan): Promise<void> {
  const fields = or.obj.errors;
  if (!fields) return;
  const message =
    plan.outcome === "quarantined"
      ? `Sync error (${plan.quarantine?.errorClass ?? "error"}): ${plan.quarantine?.reason ?? plan.reason}`.slice(0, 1000)
      : plan.flag
        ? plan.flag
        : plan.outcome === "held"
          ? undefined // held for a person's review: the review queue shows it
          : null;
  if (message === undefined) return;
  for (const s of ["crm", "erp"] as const) {
    const field = fields[s];
    if (!field) continue;
    const target = s === side ? rec : s === "crm" ? plan.crm : plan.erp;
    if (!target || objectSide(or.obj, s).aggregate) continue;
    const cur = readField(target, field);
    if (message === null && (!cur.present || isEmpty(cur.value))) continue;
    if (cur.present && sameValue(cur.value, message)) continue;
    try {
      await connectorOf(or, s).update(entityOf(or, s), target.id, { [field]: message });
    } catch (err) {
      or.ctx.logger?.warn(
        { object: or.obj.name, system: s, record: target.id, field, err: messageOf(err) },
        "could not show the sync error on the record",
      );
    }
  }
}

function errorPlan(or: ObjectRun, side: Side, rec: RemoteRecord, err: unknown): RecordPlan {
  const cls = errorClassOf(err);
  const where = isAccordError(err) ? [err.where.system, err.where.record, err.where.field].filter(Boolean).join(" / ") : "";
  const reason = `${messageOf(err)}${where ? ` [${where}]` : ""}${cls === "VersionConflict" ? ` (still conflicting after ${or.maxVersionRetries} re-reads)` : ""}`;
  const payload: Record<string, ReturnType<typeof toJson>> = {};
  for (const [k, v] of Object.entries(rec.values)) payload[k] = toJson(v);
  return {
    object: or.obj.name,
    side,
    recordId: rec.id,
    outcome: "quarantined",
    reason,
    fields: [],
    updates: [],
    reviews: [],
    quarantine: { side, recordId: rec.id, errorClass: cls, reason, payload },
  };
}

async function releaseQuarantine(or: ObjectRun, side: Side, id: string): Promise<void> {
  const q = or.quarantined.get(`${side}:${id}`);
  if (!q) return;
  await or.ctx.store.updateQuarantine(q.id, { status: "resolved" });
  or.quarantined.delete(`${side}:${id}`);
}

function finish(or: ObjectRun, plan: RecordPlan): Outcome {
  count(or, plan.outcome);
  if (plan.echo) or.result.echoes++;
  if (or.verbose || plan.outcome !== "unchanged" || plan.updates.length > 0) report(or, plan);
  const log = or.ctx.logger;
  if (log && plan.outcome === "quarantined")
    log.warn({ object: plan.object, side: plan.side, record: plan.recordId, reason: plan.reason }, "record quarantined");
  if (log && plan.reviews.some((r) => r.kind === "bounce")) {
    // the bounce cap is an alert: the pair stops until a person looks
    log.warn(
      { object: plan.object, side: plan.side, record: plan.recordId, reason: plan.reason, alert: "bounce", dryRun: or.dry },
      "bounce cap reached",
    );
  }
  return plan.outcome;
}

/**
 * Keep a plan's report in the result while under the report limit (counted in `unlisted` past it), and
 * stream it to `onRecord`. The report is only built when someone takes it.
 */
function report(or: ObjectRun, plan: RecordPlan): void {
  const limit = or.reportLimit;
  const listed = (or.listed ??= { done: 0, attention: 0 });
  const kind = plan.outcome === "held" || plan.outcome === "quarantined" ? "attention" : "done";
  const keep = limit === undefined || listed[kind] < limit;
  if (!keep) or.result.unlisted = (or.result.unlisted ?? 0) + 1;
  if (!keep && !or.onRecord) return;
  const r = reportOf(plan);
  if (keep) {
    listed[kind]++;
    or.result.records.push(r);
  }
  or.onRecord?.(r);
}

/**
 * Deletion detection by comparing every active link against the full id lists (when connectors can list
 * ids). An aggregate side lists the keys of its groups that have rows: a linked group missing there is
 * not a deleted record but an EMPTIED group (its rows deleted — no change read shows that — or gone
 * from its filter); it is processed as one (sums 0, max/min empty), unless the link's base already
 * holds those values (nothing to do, not read again every run) or it was processed in this run.
 */
async function sweepDeletions(or: ObjectRun): Promise<void> {
  const { store, spec } = or.ctx;
  const ids: Partial<Record<Side, Set<string>>> = {};
  const groups: Partial<Record<Side, Set<string>>> = {};
  for (const side of ["crm", "erp"] as const) {
    const conn = connectorOf(or, side);
    if (!conn.listIds) continue;
    const set = new Set<string>();
    for await (const page of conn.listIds(entityOf(or, side))) for (const id of page) set.add(id);
    if (objectSide(or.obj, side).aggregate) groups[side] = set;
    else ids[side] = set;
  }
  if (!ids.crm && !ids.erp && !groups.crm && !groups.erp) return;
  let afterId = 0;
  for (;;) {
    const links = await store.listLinks(spec.name, or.obj.name, { afterId, limit: 500 });
    if (links.length === 0) break;
    afterId = links[links.length - 1].id;
    for (const link of links) {
      if (link.status !== "active" || link.pinned) continue;
      let deleted = false;
      for (const side of ["crm", "erp"] as const) {
        const id = side === "crm" ? link.crmId : link.erpId;
        const set = ids[side];
        if (!id || !set || set.has(id)) continue;
        const plan = planDeletion(or, link, side, otherSide(side), undefined);
        or.result.deletions++;
        report(or, plan);
        if (!or.dry) await applyDeletion(or, link, side);
        deleted = true;
        break;
      }
      if (deleted) continue;
      for (const side of ["crm", "erp"] as const) {
        const key = side === "crm" ? link.crmId : link.erpId;
        const agg = objectSide(or.obj, side).aggregate;
        const keys = groups[side];
        if (!key || !agg || !keys || keys.has(key) || or.processed.has(`${side}:${key}`)) continue;
        const empty = emptyGroup(agg, key);
        if (baseHolds(or, link, side, empty)) continue;
        await processRecord(or, side, empty);
      }
    }
  }
}

/** Whether the link's base already holds `rec`'s value of every mapped field it carries (on `side`). */
function baseHolds(or: ObjectRun, link: Link, side: Side, rec: RemoteRecord): boolean {
  for (const f of or.fields) {
    const cur = readField(rec, side === "crm" ? f.map.crm : f.map.erp);
    if (!cur.present) continue;
    const b = link.base[f.key];
    if (!b || typeof b !== "object" || Array.isArray(b) || !(side in b)) return false;
    if (!sameValue(cur.value, (b as Record<string, Json>)[side] ?? null)) return false;
  }
  return true;
}

export { planPair };
