/**
 * Plan: from one record read (and its counterpart) to a RecordPlan — the map step (transforms,
 * parent ids), reconcile (pure), identity stamping, creates, bounce cap, deletions.
 * Reads only (remote reads and store reads); a dry run and a real run use exactly this code,
 * then a real run hands the plan to apply.ts.
 */
import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";
import type { Json, Link, ReviewItem } from "../store/types.ts";
import { type AggregateViewOptions, aggregateView, isEmptiedGroup } from "./aggregate.ts";
import { evaluate, matches, truthy } from "./conditions.ts";
import { bounceCapReached, classifyEcho } from "./echo.ts";
import { type EngineField, fieldName, readFieldList, TranslationFailed, translate } from "./fields.ts";
import { writeValue } from "./paths.ts";
import {
  type BaseValue,
  type FieldDecision,
  type FieldInput,
  neededTranslations,
  type PendingResolution,
  reconcileField,
} from "./reconcile.ts";
import type { FieldChange, ObjectRun, PlanOp, RecordPlan, RecordReport, UpdateOp } from "./types.ts";
import {
  BASE_APPLIED_KEY,
  carriedSharedId,
  isEmpty,
  needsIdentityStamp,
  objectSide,
  otherSide,
  readField,
  sameValue,
  sharedIdOf,
  toJson,
} from "./values.ts";

const views = new WeakMap<Connector, Map<string, { view: Connector; opts: AggregateViewOptions }>>();

/** The connector of a side — for an aggregate side, its read-only group view (aggregate.ts). */
export function connectorOf(or: ObjectRun, side: Side): Connector {
  const base = side === "crm" ? or.ctx.crm : or.ctx.erp;
  const agg = objectSide(or.obj, side).aggregate;
  if (!agg) return base;
  let byKey = views.get(base);
  if (!byKey) views.set(base, (byKey = new Map()));
  const filter = (objectSide(or.obj, side).filter ?? []).map((x) => ({ field: x.field, op: x.op as FilterExpr["op"], value: x.value }));
  const key = JSON.stringify([or.ctx.spec.name, or.obj.name, agg, filter]);
  let entry = byKey.get(key);
  if (!entry) {
    const opts: AggregateViewOptions = { filter };
    byKey.set(key, (entry = { view: aggregateView(base, agg, opts), opts }));
  }
  // A group key is known when a link of this object holds it: an emptied known group reads as sums 0.
  // (set on every call: the view outlives a run, the store is this run's)
  const { store } = or.ctx;
  const integration = or.ctx.spec.name;
  const object = or.obj.name;
  entry.opts.known = async (k) => (await store.getLink(integration, object, side === "crm" ? { crmId: k } : { erpId: k })) !== undefined;
  return entry.view;
}

export function entityOf(or: ObjectRun, side: Side): string {
  return objectSide(or.obj, side).entity;
}

function emptyPlan(or: ObjectRun, side: Side, rec: RemoteRecord): RecordPlan {
  return { object: or.obj.name, side, recordId: rec.id, outcome: "unchanged", reason: "", fields: [], updates: [], reviews: [] };
}

function recordPayload(rec: RemoteRecord): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(rec.values)) out[k] = toJson(v);
  return out;
}

function quarantinePlan(or: ObjectRun, side: Side, rec: RemoteRecord, errorClass: string, reason: string, link?: Link): RecordPlan {
  return {
    ...emptyPlan(or, side, rec),
    link,
    outcome: "quarantined",
    reason,
    quarantine: { side, recordId: rec.id, errorClass, reason, payload: recordPayload(rec) },
  };
}

function baseOf(link: Link | undefined, key: string): BaseValue | undefined {
  const b = link?.base[key];
  if (!b || typeof b !== "object" || Array.isArray(b) || !("crm" in b) || !("erp" in b)) return undefined;
  return { crm: (b as Record<string, Json>).crm, erp: (b as Record<string, Json>).erp };
}

export function appliedReviewIds(link: Link | undefined): Set<number> {
  const a = link?.base[BASE_APPLIED_KEY];
  return new Set(Array.isArray(a) ? a.filter((x): x is number => typeof x === "number") : []);
}

/** Resolved review items of a link whose resolution has not been applied yet. */
export function pendingResolutions(or: ObjectRun, link: Link | undefined): ReviewItem[] {
  if (!link) return [];
  const applied = appliedReviewIds(link);
  return (or.resolvedReviews.get(link.id) ?? []).filter((r) => !applied.has(r.id));
}

function resolutionOf(item: ReviewItem): { pick?: Side; value?: Json; side?: Side } {
  const r = item.resolution;
  if (!r || typeof r !== "object" || Array.isArray(r)) return {};
  const o = r as Record<string, Json>;
  const out: { pick?: Side; value?: Json; side?: Side } = {};
  if (o.pick === "crm" || o.pick === "erp") out.pick = o.pick;
  if ("value" in o) out.value = o.value;
  if (o.side === "crm" || o.side === "erp") out.side = o.side;
  return out;
}

/** Plan one record read from `side`. */
export async function planRecord(or: ObjectRun, side: Side, rec: RemoteRecord): Promise<RecordPlan> {
  const { store, spec } = or.ctx;
  const integration = spec.name;
  const pre = or.prefetched?.get(`${side}:${rec.id}`);
  if (pre) or.prefetched?.delete(`${side}:${rec.id}`);
  if (pre ? pre.pinned : await store.isPinned(integration, or.obj.name, side, rec.id)) {
    return { ...emptyPlan(or, side, rec), outcome: "held", reason: "pinned by a person: excluded from sync (unpin to sync it)" };
  }
  const link = pre ? pre.link : await store.getLink(integration, or.obj.name, side === "crm" ? { crmId: rec.id } : { erpId: rec.id });
  if (!link) return planUnlinked(or, side, rec);
  if (link.pinned)
    return { ...emptyPlan(or, side, rec), link, outcome: "held", reason: `link #${link.id} is pinned by a person: excluded from sync` };
  if (link.status === "flagged")
    return {
      ...emptyPlan(or, side, rec),
      link,
      outcome: "held",
      reason: `link #${link.id} is flagged: its counterpart was deleted (deletes: flag); a person decides`,
    };
  if (link.status !== "active") {
    return {
      ...emptyPlan(or, side, rec),
      link,
      outcome: "unchanged",
      reason: `counterpart deleted (${link.status}); per deletes: ${or.obj.deletes} it is never re-created`,
    };
  }
  const hasResolution = pendingResolutions(or, link).length > 0;
  const otherId = side === "crm" ? link.erpId : link.crmId;
  // Echo layer 1 (content) + 2 (author): nothing new on this side, no resolution to apply → no need to read the counterpart.
  if (!hasResolution && otherId) {
    const verdict = classifyEcho(side, rec, or.fields, link.base, or.ownUser[side]);
    const stampOk = !link.sharedId || !needsIdentityStamp(or.obj, side, rec, link.sharedId);
    if (verdict !== "changed" && stampOk) {
      return {
        ...emptyPlan(or, side, rec),
        link,
        outcome: "unchanged",
        echo: verdict === "echo",
        reason:
          verdict === "echo"
            ? "echo of Accord's own write (content equals the base snapshot)"
            : "no mapped field changed since the last sync",
      };
    }
  }
  if (!otherId)
    return { ...emptyPlan(or, side, rec), link, outcome: "unchanged", reason: `link #${link.id} has no ${otherSide(side)} record` };
  const [other] = await connectorOf(or, otherSide(side)).readByIds(entityOf(or, otherSide(side)), [otherId]);
  if (!other) return planDeletion(or, link, otherSide(side), side, rec);
  const crm = side === "crm" ? rec : other;
  const erp = side === "erp" ? rec : other;
  return planPair(or, side, rec, link, crm, erp);
}

/** A record with no link: match by the shared identifier, or create per the object's create policy. */
async function planUnlinked(or: ObjectRun, side: Side, first: RemoteRecord): Promise<RecordPlan> {
  let rec = first;
  const { store, spec } = or.ctx;
  const obj = or.obj;
  const integration = spec.name;
  const target = otherSide(side);
  const policy = obj.create;
  if (policy === "never")
    return { ...emptyPlan(or, side, rec), outcome: "unchanged", reason: "not linked; create: never (no creates, no new links)" };

  // Trigger (becoming true): an unlinked record is linked or created only once it matches.
  const trigger = obj.when?.[side];
  if (trigger) {
    const m = await matches(or, side, rec, trigger);
    if (!m.ok) return { ...emptyPlan(or, side, rec), outcome: "unchanged", reason: `waiting for its trigger (when): ${m.why}` };
  }
  const hold = await holdRuleMatching(or, side, rec);
  if (hold) return { ...emptyPlan(or, side, rec), outcome: "held", reason: `held by a rule (holdIf): ${hold}`, flag: hold };

  // The shared identifier this record carries (CRM: its identity field; ERP: its own identity).
  const sid = side === "erp" ? sharedIdOf(obj, rec) : carriedSharedId(obj, "crm", rec);
  if (sid !== undefined) {
    const pre = or.sharedLinks;
    const byShared = pre?.covered.has(sid) ? pre.links.get(sid) : await store.getLink(integration, obj.name, { sharedId: sid });
    if (byShared && (side === "crm" ? byShared.crmId : byShared.erpId) !== rec.id) {
      return quarantinePlan(
        or,
        side,
        rec,
        "Duplicate",
        `shared id ${sid} is already linked (link #${byShared.id}) to ${side} record ${side === "crm" ? byShared.crmId : byShared.erpId}; merge the duplicates or clear the identity field`,
      );
    }
    const matches = await findBySharedId(or, target, sid);
    const free: RemoteRecord[] = [];
    for (const m of matches) {
      const l = await store.getLink(integration, obj.name, target === "crm" ? { crmId: m.id } : { erpId: m.id });
      if (!l) free.push(m);
    }
    if (free.length > 1) {
      return quarantinePlan(
        or,
        side,
        rec,
        "Duplicate",
        `${free.length} ${target} records carry shared id ${sid} (${free.map((m) => m.id).join(", ")}); merge them first`,
      );
    }
    if (free.length === 1) {
      const other = free[0];
      const crm = side === "crm" ? rec : other;
      const erp = side === "erp" ? rec : other;
      const plan = await planPair(or, side, rec, undefined, crm, erp);
      plan.newLink = { crmId: crm.id, erpId: erp.id, sharedId: sid };
      if (plan.outcome === "unchanged") plan.outcome = "applied";
      plan.reason = `linked by shared id ${sid}${plan.reason ? `; ${plan.reason}` : ""}`;
      return plan;
    }
    if (matches.length > 0) {
      return quarantinePlan(
        or,
        side,
        rec,
        "Duplicate",
        `the ${target} record with shared id ${sid} is already linked to another ${side} record`,
      );
    }
    // (with `crm: { identity: id }` every CRM record "carries" its own id: no ERP record with it = not created yet)
    if (side === "crm" && !identityIsParents(or) && policy !== "link-only" && obj.crm.identity !== "id") {
      // The CRM record says it belongs to an ERP record that does not exist: never resurrect it.
      return quarantinePlan(
        or,
        side,
        rec,
        "NotFound",
        `carries shared id ${sid} but no erp ${obj.erp.entity} has it (deleted?); not re-created — clear the identity field to create it anew`,
      );
    }
  }
  if (policy === "link-only")
    return {
      ...emptyPlan(or, side, rec),
      outcome: "unchanged",
      reason: "not linked and no counterpart found by identity; create: link-only",
    };
  const allowed = policy === "both" || policy === `${side}->${target}`;
  if (!allowed)
    return { ...emptyPlan(or, side, rec), outcome: "unchanged", reason: `not linked; create: ${policy} does not create in ${target}` };

  const pending = or.pendingIntents.get(`${target}:${rec.id}`);
  // A line-item table left out of the read (a list row, a read by id): read the record whole before creating.
  if (or.fields.some((f) => f.map.lines && !readField(rec, fieldName(f, side)).present)) {
    const [full] = await connectorOf(or, side).readByIds(entityOf(or, side), [rec.id], readFieldList(obj, side, or.fields));
    if (full) rec = full;
  }
  // Build the create payload: every field that flows side → target, then the object's constants.
  const payload: Record<string, Json> = {};
  try {
    for (const f of or.fields) {
      const flows = f.map.direction === "both" || f.map.direction === `${side}->${target}`;
      if (!flows) continue;
      const name = fieldName(f, side);
      const cur = readField(rec, name);
      if (!cur.present || isEmpty(cur.value)) continue;
      const v = await translate(store, integration, f, side, cur.value, rec);
      if (!isEmpty(v)) writeValue(payload, undefined, fieldName(f, target), v);
    }
  } catch (err) {
    if (err instanceof TranslationFailed) return quarantinePlan(or, side, rec, err.errorClass, err.message);
    throw err;
  }
  for (const [k, v] of Object.entries(obj.createWith?.[target] ?? {})) if (!(k in payload)) writeValue(payload, undefined, k, toJson(v));
  // The creation key: the source record's id, in the create call itself — recovery finds the record by it.
  const createKey = objectSide(obj, target).createKey;
  if (createKey) writeValue(payload, undefined, createKey, rec.id);
  let sharedId: string | null = null;
  if (target === "crm") {
    sharedId = sid ?? rec.id;
    const identity = obj.crm.identity;
    if (identity !== "id") writeValue(payload, undefined, identity, sharedId);
  } else if (obj.crm.identity === "id" && obj.erp.identity !== "id") {
    // The shared id is the CRM record's own id (`crm: { identity: id }`): the ERP record carries it in its
    // identity field, written by the create itself — one call, nothing to stamp back into the CRM.
    sharedId = rec.id;
    writeValue(payload, undefined, obj.erp.identity, sharedId);
  }
  return {
    ...emptyPlan(or, side, rec),
    outcome: "applied",
    reason: pending !== undefined ? `recover the interrupted create (intent #${pending})` : `no ${target} counterpart; create: ${policy}`,
    source: rec,
    create: {
      target,
      entity: objectSide(obj, target).entity,
      sourceId: rec.id,
      sharedId,
      payload,
      reason: `created from ${side} ${rec.id} (create: ${policy})`,
      recoversIntent: pending,
    },
  };
}

/**
 * Whether the object's CRM identity field is its parent's (a child kept on the parent's own CRM record,
 * e.g. an account's billing address ↔ an ERP Address): then a carried shared id names the parent, and
 * a missing counterpart is simply not created yet — not a deleted record.
 */
function identityIsParents(or: ObjectRun): boolean {
  const p = or.obj.parent;
  if (!p) return false;
  const parent = or.ctx.spec.objects.find((o) => o.name === p.object);
  return parent !== undefined && parent.crm.entity === or.obj.crm.entity && parent.crm.identity === or.obj.crm.identity;
}

/**
 * Whether a record found by a lookup (which knows nothing of the object's filter) is one of the
 * object's records: every filter condition on a field the record returned must hold (conditions on
 * fields it did not return are left to the system).
 */
export function withinObjectFilter(or: ObjectRun, side: Side, rec: RemoteRecord): boolean {
  for (const c of objectSide(or.obj, side).filter ?? []) {
    const cur = readField(rec, c.field);
    if (!cur.present) continue;
    const v = cur.value;
    const list = Array.isArray(c.value) ? c.value : [c.value];
    const ok =
      c.op === "="
        ? sameValue(v, toJson(c.value))
        : c.op === "!="
          ? !sameValue(v, toJson(c.value))
          : c.op === "in"
            ? list.some((x) => sameValue(v, toJson(x)))
            : c.op === "not in"
              ? !list.some((x) => sameValue(v, toJson(x)))
              : c.op === "is set"
                ? !isEmpty(v)
                : c.op === "is not set"
                  ? isEmpty(v)
                  : true;
    if (!ok) return false;
  }
  return true;
}

/** Records of `side` carrying shared id `sid` in their identity field. */
export async function findBySharedId(or: ObjectRun, side: Side, sid: string): Promise<RemoteRecord[]> {
  const identity = objectSide(or.obj, side).identity;
  const conn = connectorOf(or, side);
  const entity = entityOf(or, side);
  if (identity === "id") return conn.readByIds(entity, [sid]);
  // looked up for the whole page already (runner.ts prefetchPage, `crm: { identity: id }`)
  const pre = side === "erp" ? or.sharedIdLookups : undefined;
  if (pre?.covered.has(sid)) return (pre.found.get(sid) ?? []).filter((r) => withinObjectFilter(or, side, r));
  const found = (await conn.findByField(entity, identity, sid)).filter((r) => withinObjectFilter(or, side, r));
  // with `crm: { identity: id }` the ERP identity holds the CRM id, never the ERP record's own id: no fallback
  if (found.length > 0 || side !== "erp" || or.obj.crm.identity === "id") return found;
  // an ERP identity that is its record id (e.g. ERPNext `name`) may not be filterable everywhere
  return (await conn.readByIds(entity, [sid])).filter((r) => sharedIdOf(or.obj, r) === sid);
}

/** Plan a linked (or about to be linked) pair. `trigger` is the record read. */
export async function planPair(
  or: ObjectRun,
  side: Side,
  trigger: RemoteRecord,
  link: Link | undefined,
  crm: RemoteRecord,
  erp: RemoteRecord,
): Promise<RecordPlan> {
  const { store, spec } = or.ctx;
  const integration = spec.name;
  const plan: RecordPlan = { ...emptyPlan(or, side, trigger), link, crm, erp };
  const open = link ? (or.openReviews.get(link.id) ?? []) : [];
  const resolved = pendingResolutions(or, link);

  const bounceOpen = open.find((r) => r.kind === "bounce");
  if (bounceOpen) return { ...plan, outcome: "held", reason: `held: review #${bounceOpen.id} (bounce) is open for this pair` };
  const bounceResolved = resolved.find((r) => r.kind === "bounce");
  if (bounceResolved) plan.resetBounce = bounceResolved.id;

  // Hold rules on either record: nothing is written while one matches.
  for (const s of ["crm", "erp"] as const) {
    const hold = await holdRuleMatching(or, s, s === "crm" ? crm : erp);
    if (hold) return { ...plan, outcome: "held", reason: `held by a rule (holdIf): ${hold}`, flag: hold };
  }

  // Map step: the inputs of the three-way merge, with the translations it needs.
  const decisions: FieldDecision[] = [];
  try {
    for (const f of or.fields) {
      const input = fieldInput(f, link, crm, erp, open, resolved);
      if (input.resolution) {
        const item = resolved.find((r) => r.id === input.resolution?.reviewId);
        const raw = item ? resolutionOf(item) : {};
        if (raw.value !== undefined) {
          // a person's value: in the representation of raw.side (default crm), translated for the other side
          const from: Side = raw.side ?? "crm";
          const v = toJson(raw.value);
          const other = await translate(store, integration, f, from, v, from === "crm" ? crm : erp);
          input.resolution.value = from === "crm" ? { crm: v, erp: other } : { crm: other, erp: v };
        }
      }
      const need2 = neededTranslations(input);
      if (need2.asErp) input.asErp = await translate(store, integration, f, "crm", input.crm.value, crm);
      if (need2.asCrm) input.asCrm = await translate(store, integration, f, "erp", input.erp.value, erp);
      decisions.push(
        reconcileField(
          input,
          { crm: { createdAt: crm.createdAt, modifiedAt: crm.modifiedAt }, erp: { createdAt: erp.createdAt, modifiedAt: erp.modifiedAt } },
          { skewToleranceMs: spec.sync.skewToleranceMs },
        ),
      );
    }
  } catch (err) {
    if (err instanceof TranslationFailed) {
      const q = quarantinePlan(or, err.side, err.side === "crm" ? crm : erp, err.errorClass, err.message, link);
      return { ...q, side, recordId: trigger.id, crm, erp };
    }
    throw err;
  }
  // Create-only objects and frozen records: no writes into that side (values still flow the other way).
  for (const s of ["crm", "erp"] as const) {
    const frozen = await frozenBecause(or, s, s === "crm" ? crm : erp);
    if (!frozen) continue;
    for (const [i, d] of decisions.entries()) {
      if (!d.writes.some((w) => w.target === s)) continue;
      const writes = d.writes.filter((w) => w.target !== s);
      decisions[i] = { ...d, action: writes.length ? d.action : "none", writes, reason: `${d.reason} — not written into ${s}: ${frozen}` };
    }
  }
  plan.fields = decisions;

  // Submit policy: a created document still in draft is submitted (again after a crash between create and submit).
  const created = createdSide(or);
  if (or.obj.submit === "submit" && created && link) {
    const doc = created === "crm" ? crm : erp;
    if (doc.state === "draft" && !(await frozenBecause(or, created, doc, true)))
      plan.submit = { target: created, entity: entityOf(or, created), recordId: doc.id };
  }

  // Identity: the shared id is the ERP record's identity; stamp it wherever the identity field lacks it.
  // (an identity the ERP record did not return — e.g. a child table not read — keeps the link's shared id)
  const sid = !readField(erp, or.obj.erp.identity).present && link?.sharedId ? link.sharedId : sharedIdOf(or.obj, erp);
  plan.sharedId = sid;
  const byTarget: Record<Side, UpdateOp | undefined> = { crm: undefined, erp: undefined };
  const opFor = (target: Side): UpdateOp => {
    const rec = target === "crm" ? crm : erp;
    byTarget[target] ??= { target, entity: entityOf(or, target), recordId: rec.id, values: {}, ifVersion: rec.version, changes: [] };
    return byTarget[target];
  };
  for (const d of decisions) {
    for (const w of d.writes) {
      const name = w.target === "crm" ? d.map.crm : d.map.erp;
      const op = opFor(w.target);
      writeValue(op.values, (w.target === "crm" ? crm : erp).values, name, w.value);
      op.changes.push({
        field: name,
        key: d.key,
        before: w.before,
        after: w.value,
        source: d.source ?? otherSide(w.target),
        rule: d.rule,
        reason: d.reason,
      });
    }
  }
  for (const s of ["crm", "erp"] as const) {
    const rec = s === "crm" ? crm : erp;
    if (needsIdentityStamp(or.obj, s, rec, sid)) {
      const identity = objectSide(or.obj, s).identity;
      const op = opFor(s);
      writeValue(op.values, rec.values, identity, sid);
      const change: FieldChange = {
        field: identity,
        key: identity,
        before: readField(rec, identity).value,
        after: sid,
        source: "erp",
        rule: "stamp shared id",
        reason: `stamp the shared id ${sid} into ${s}.${identity}`,
      };
      op.changes.push(change);
    }
  }
  plan.updates = [byTarget.erp, byTarget.crm].filter((u): u is UpdateOp => u !== undefined);
  // An emptied aggregate group (a known key with no rows left): every value it writes says why, in the
  // record's history too (the rule is logged), so a sum going back to 0 is never a mystery.
  let emptied: string | undefined;
  for (const s of ["crm", "erp"] as const) {
    const rec = s === "crm" ? crm : erp;
    if (!objectSide(or.obj, s).aggregate || !isEmptiedGroup(rec)) continue;
    emptied = `group ${rec.id} of ${objectSide(or.obj, s).entity} emptied: no rows left (deleted, cancelled or outside the filter)`;
    for (const u of plan.updates) {
      for (const c of u.changes) {
        if (c.source !== s) continue;
        c.rule = `${c.rule}; ${emptied}`;
        c.reason = `${c.reason} — ${emptied}`;
      }
    }
  }

  for (const d of decisions) {
    if (d.action === "hold" && d.review) {
      plan.reviews.push({
        kind: d.review.kind,
        field: d.key,
        base: d.review.base,
        crm: d.review.crm,
        erp: d.review.erp,
        reason: d.review.reason,
        detail: { rule: d.rule, crmId: crm.id, erpId: erp.id },
      });
    }
  }

  // Echo layer 3: the bounce cap. Not for values flowing out of an aggregate (read-only) side into the
  // other one: Accord never writes there, so no loop can feed them (busy stock or payment totals would
  // otherwise be held after a few changes); a revert of an edit on the written side still counts.
  const aggSide: Side | undefined = or.obj.erp.aggregate ? "erp" : or.obj.crm.aggregate ? "crm" : undefined;
  const fromReadOnlySide =
    aggSide !== undefined &&
    plan.updates.every((u) => u.target !== aggSide) &&
    decisions.filter((d) => d.action === "write").every((d) => d.source === aggSide && !/reverted/.test(d.rule));
  if (
    plan.updates.length > 0 &&
    link &&
    !plan.resetBounce &&
    !fromReadOnlySide &&
    bounceCapReached(link.base, or.now().getTime(), spec.sync.bounce)
  ) {
    const { maxBounces, windowMs } = spec.sync.bounce;
    plan.updates = [];
    plan.fields = decisions.map((d) =>
      d.action === "write" ? { ...d, action: "held", writes: [], reason: `${d.reason} — held: bounce cap reached` } : d,
    );
    plan.reviews.push({
      kind: "bounce",
      field: null,
      base: null,
      crm: crm.id,
      erp: erp.id,
      reason: `Accord wrote this pair ${maxBounces} times within ${windowMs} ms; further writes are held until a person looks (possible ping-pong between the systems)`,
      detail: { crmId: crm.id, erpId: erp.id },
    });
    plan.outcome = "held";
    plan.reason = "bounce cap reached: held for review";
    return plan;
  }

  const held = decisions.filter((d) => d.action === "hold" || d.action === "held");
  const skipped = decisions.filter((d) => d.action === "skip");
  if (held.length > 0) {
    plan.outcome = "held";
    plan.reason = `${held.length} field(s) held for review (${held.map((d) => d.key).join(", ")})${plan.updates.length ? "; other fields synced" : ""}`;
  } else if (plan.updates.length > 0 || plan.submit) {
    plan.outcome = "applied";
    plan.reason = [
      ...plan.updates.map((u) => `${u.changes.length} change(s) to ${u.target}`),
      ...(plan.submit ? [`submit ${plan.submit.target} ${plan.submit.recordId} (submit: submit)`] : []),
    ].join(", ");
  } else {
    plan.outcome = "unchanged";
    plan.reason = decisions.some((d) => d.action === "rebase") ? "values already agree (base refreshed)" : "no mapped field changed";
  }
  if (skipped.length > 0) plan.reason += `; not synced (absent): ${skipped.map((d) => d.key).join(", ")}`;
  if (emptied) plan.reason = `${emptied}; ${plan.reason}`;
  return plan;
}

/** The side an object creates records in (one-way create policies), if any. */
export function createdSide(or: ObjectRun): Side | undefined {
  return or.obj.create === "crm->erp" ? "erp" : or.obj.create === "erp->crm" ? "crm" : undefined;
}

/** Why nothing may be written into `side`'s record (create-only object, freeze condition), or undefined. */
async function frozenBecause(or: ObjectRun, side: Side, rec: RemoteRecord, freezeOnly = false): Promise<string | undefined> {
  if (!freezeOnly && or.obj.updates === "never" && createdSide(or) === side) return "the object is create-only (updates: never)";
  const cond = or.obj.freeze?.[side];
  if (cond && (await matches(or, side, rec, cond)).ok) return `the ${side} record is frozen (freeze${rec.state ? `; state ${rec.state}` : ""})`;
  return undefined;
}

/** The reason of the first hold rule of `side` that matches `rec`, or undefined. */
async function holdRuleMatching(or: ObjectRun, side: Side, rec: RemoteRecord): Promise<string | undefined> {
  for (const r of or.obj.holdIf ?? []) {
    if (r.side !== side) continue;
    if (truthy(await evaluate(or, side, rec, r.expr))) return r.reason;
  }
  return undefined;
}

function fieldInput(
  f: EngineField,
  link: Link | undefined,
  crm: RemoteRecord,
  erp: RemoteRecord,
  open: ReviewItem[],
  resolved: ReviewItem[],
): FieldInput {
  const cName = f.map.crm;
  const eName = f.map.erp;
  const input: FieldInput = {
    key: f.key,
    map: f.map,
    base: baseOf(link, f.key),
    crm: readField(crm, cName),
    erp: readField(erp, eName),
  };
  const o = open.find((r) => r.field === f.key && r.kind !== "bounce");
  if (o) input.openReviewId = o.id;
  const r = resolved.find((x) => x.field === f.key && x.kind !== "bounce");
  if (r) {
    const raw = resolutionOf(r);
    const res: PendingResolution = { reviewId: r.id, kind: r.kind, by: r.resolvedBy ?? "a person" };
    if (raw.pick) res.pick = raw.pick;
    input.resolution = res;
    delete input.openReviewId;
  }
  return input;
}

/** The counterpart of a linked record is gone: apply the object's delete policy (never re-create it). */
export function planDeletion(or: ObjectRun, link: Link, deletedSide: Side, side: Side, rec: RemoteRecord | undefined): RecordPlan {
  const policy = or.obj.deletes;
  const survivor = otherSide(deletedSide);
  const survivorId = survivor === "crm" ? link.crmId : link.erpId;
  const reason =
    policy === "propagate"
      ? `the ${deletedSide} record was deleted; deletes: propagate → delete ${survivor} ${survivorId}`
      : policy === "flag"
        ? `the ${deletedSide} record was deleted; deletes: flag → the link is flagged for a person`
        : `the ${deletedSide} record was deleted; deletes: ignore → ${survivor} ${survivorId} is kept and never re-created in ${deletedSide}`;
  return {
    object: or.obj.name,
    side,
    recordId: rec?.id ?? survivorId ?? "",
    outcome: policy === "propagate" ? "applied" : policy === "flag" ? "held" : "unchanged",
    reason,
    link,
    fields: [],
    updates: [],
    reviews: [],
    deletion: { deletedSide, policy, survivorId, reason },
  };
}

/** A printable report of a plan (what `accord plan` shows). */
export function reportOf(plan: RecordPlan): RecordReport {
  const ops: PlanOp[] = [];
  if (plan.quarantine)
    ops.push({
      kind: "quarantine",
      target: plan.quarantine.side,
      recordId: plan.quarantine.recordId,
      reason: `${plan.quarantine.errorClass}: ${plan.quarantine.reason}`,
    });
  if (plan.newLink)
    ops.push({ kind: "link", reason: `link crm ${plan.newLink.crmId} ↔ erp ${plan.newLink.erpId} (shared id ${plan.newLink.sharedId})` });
  if (plan.create) {
    const c = plan.create;
    ops.push({
      kind: "create",
      target: c.target,
      reason:
        c.recoversIntent !== undefined ? `recover intent #${c.recoversIntent}: find the record by identity before creating` : c.reason,
    });
    for (const [field, after] of Object.entries(c.payload))
      ops.push({ kind: "create", target: c.target, field, before: null, after, rule: "create", reason: c.reason });
  }
  for (const u of plan.updates) {
    for (const ch of u.changes)
      ops.push({
        kind: "update",
        target: u.target,
        recordId: u.recordId,
        field: ch.field,
        before: ch.before,
        after: ch.after,
        rule: ch.rule,
        reason: ch.reason,
      });
  }
  for (const d of plan.fields) {
    if (d.action === "rebase" && d.log)
      ops.push({
        kind: "rebase",
        target: d.log.target,
        field: d.key,
        before: d.log.before,
        after: d.log.after,
        rule: d.rule,
        reason: d.reason,
      });
    if (d.action === "held" || d.action === "skip") ops.push({ kind: "note", field: d.key, rule: d.rule, reason: d.reason });
  }
  for (const r of plan.reviews) ops.push({ kind: "review", field: r.field ?? undefined, rule: r.kind, reason: r.reason });
  if (plan.deletion) {
    ops.push({
      kind: plan.deletion.policy === "propagate" ? "delete" : plan.deletion.policy === "flag" ? "flag" : "note",
      target: otherSide(plan.deletion.deletedSide),
      recordId: plan.deletion.survivorId ?? undefined,
      reason: plan.deletion.reason,
    });
  }
  const counterpart =
    plan.side === "crm"
      ? (plan.erp?.id ?? plan.link?.erpId ?? plan.newLink?.erpId ?? null)
      : (plan.crm?.id ?? plan.link?.crmId ?? plan.newLink?.crmId ?? null);
  return {
    object: plan.object,
    side: plan.side,
    recordId: plan.recordId,
    counterpartId: counterpart,
    outcome: plan.outcome,
    reason: plan.reason,
    ops,
  };
}
