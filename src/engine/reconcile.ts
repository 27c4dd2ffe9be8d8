/**
 * Reconcile: the per-field three-way merge against the base snapshot, masters and conflict
 * policies (invariants 3, 4, 5). PURE: no I/O, no clock; everything it needs is in its input.
 *
 * Base representation (decision): Link.base[key] = { crm: v, erp: v } — the last synced value of
 * the field on EACH side, in that side's own representation. A side "changed" iff its current
 * value differs (by content) from its own base value. So a transform that is not perfectly
 * invertible (rounding, case folding, a lossy value map) never shows up as a change, and
 * Accord's own writes never come back as changes (echo by content).
 *
 * Translations (the spec's transforms, and parent-id lookups) are async and may fail; the caller
 * computes only those `neededTranslations` asks for and passes them in.
 */
import type { ConflictPolicy, FieldMap, Side } from "../spec/model.ts";
import type { Json, ReviewItem } from "../store/types.ts";
import { holdsValue, otherSide, sameValue } from "./values.ts";

export interface BaseValue {
  crm: Json;
  erp: Json;
}

export interface SideValue {
  /** False when the record did not return the field at all (drift, not fetched): never treated as a change, never written as null. */
  present: boolean;
  value: Json;
}

/** A review resolution waiting to be applied to this field. */
export interface PendingResolution {
  reviewId: number;
  kind: ReviewItem["kind"];
  by: string;
  pick?: Side;
  /** A person's value, already in each side's representation. */
  value?: BaseValue;
}

export interface FieldInput {
  key: string;
  map: FieldMap;
  /** Undefined: the pair has never been synced for this field (new link). */
  base?: BaseValue;
  crm: SideValue;
  erp: SideValue;
  /** The CRM value translated into the ERP's representation (when asked for). */
  asErp?: Json;
  /** The ERP value translated into the CRM's representation (when asked for). */
  asCrm?: Json;
  /** An open review item already holds this field. */
  openReviewId?: number;
  resolution?: PendingResolution;
}

export interface RecordTimes {
  crm: { createdAt?: string; modifiedAt?: string };
  erp: { createdAt?: string; modifiedAt?: string };
}

export interface ReconcileOptions {
  /** sync.skewToleranceMs: the fallback tolerance for last-updated-wins. */
  skewToleranceMs: number;
}

export interface FieldWrite {
  target: Side;
  value: Json;
  before: Json;
}

export interface FieldDecision {
  key: string;
  map: FieldMap;
  /**
   * none: nothing to do · rebase: only the base moves (values already agree, or an ignored master edit) ·
   * write: write values into one or both systems · hold: raise a review item · held: an open review already holds it ·
   * skip: the field cannot be synced on this record (absent from a side).
   */
  action: "none" | "rebase" | "write" | "hold" | "held" | "skip";
  writes: FieldWrite[];
  /** Base after success (for writes, with the written values; apply replaces them with what the system returned). */
  base?: BaseValue;
  source?: Side | "person";
  /** The rule that decided (goes to the change log), e.g. "one-sided change", "master erp", "policy prefer:crm". */
  rule: string;
  /** Why, in words (shown by `accord plan`). */
  reason: string;
  review?: { kind: "conflict" | "master-edit"; reason: string; base: Json; crm: Json; erp: Json };
  /** A resolution this decision applies (its id is recorded as applied with the base). */
  appliesReviewId?: number;
  /** A non-write event worth the record's history (an ignored master edit). */
  log?: { target: Side; before: Json; after: Json; source: Side };
}

export function policyLabel(p: ConflictPolicy): string {
  return p.kind === "prefer" ? `prefer:${p.side}` : p.kind;
}

/** Which side(s) changed since the base (undefined base = never synced: both count as changed). */
export function changedSides(f: Pick<FieldInput, "base" | "crm" | "erp">): { crm: boolean; erp: boolean } {
  if (!f.base) return { crm: true, erp: true };
  return {
    crm: f.crm.present && !sameValue(f.crm.value, f.base.crm),
    erp: f.erp.present && !sameValue(f.erp.value, f.base.erp),
  };
}

/** The translations reconcileField will need for this field: asErp (crm→erp) and/or asCrm (erp→crm). */
export function neededTranslations(f: Omit<FieldInput, "asErp" | "asCrm">): { asErp: boolean; asCrm: boolean } {
  const none = { asErp: false, asCrm: false };
  if (!f.crm.present || !f.erp.present) return none;
  if (f.resolution) {
    if (f.resolution.value) return none;
    const master = f.map.master;
    if (f.resolution.kind === "master-edit" && master) return { asErp: master === "crm", asCrm: master === "erp" };
    if (f.resolution.pick) return { asErp: f.resolution.pick === "crm", asCrm: f.resolution.pick === "erp" };
    return none;
  }
  if (f.openReviewId !== undefined) return none;
  const ch = changedSides(f);
  if (!ch.crm && !ch.erp) return none;
  const master = oneWayMaster(f.map);
  if (master) return { asErp: master === "crm", asCrm: master === "erp" };
  if (ch.crm && ch.erp) return { asErp: true, asCrm: true };
  return { asErp: ch.crm, asCrm: ch.erp };
}

export function oneWayMaster(map: FieldMap): Side | undefined {
  if (map.direction === "crm->erp") return "crm";
  if (map.direction === "erp->crm") return "erp";
  return undefined;
}

function translated(f: FieldInput, from: Side): Json {
  const v = from === "crm" ? f.asErp : f.asCrm;
  if (v === undefined) throw new Error(`reconcile: translation ${from}->${otherSide(from)} of field ${f.key} was not computed`);
  return v;
}

function current(f: FieldInput, side: Side): Json {
  return side === "crm" ? f.crm.value : f.erp.value;
}

function baseWith(f: FieldInput, target: Side, value: Json): BaseValue {
  return target === "crm" ? { crm: value, erp: f.erp.value } : { crm: f.crm.value, erp: value };
}

/** Propagate `from`'s value into the other side (or only rebase when they already agree). */
function propagate(f: FieldInput, from: Side, rule: string, reason: string, source: Side | "person" = from): FieldDecision {
  const to = otherSide(from);
  const value = translated(f, from);
  if (holdsValue(current(f, to), value)) {
    return {
      key: f.key,
      map: f.map,
      action: "rebase",
      writes: [],
      base: { crm: f.crm.value, erp: f.erp.value },
      rule,
      reason: `${reason}; already equal in ${to}`,
    };
  }
  return {
    key: f.key,
    map: f.map,
    action: "write",
    writes: [{ target: to, value, before: current(f, to) }],
    base: baseWith(f, to, value),
    source,
    rule,
    reason,
  };
}

function hold(f: FieldInput, kind: "conflict" | "master-edit", rule: string, reason: string): FieldDecision {
  return {
    key: f.key,
    map: f.map,
    action: "hold",
    writes: [],
    rule,
    reason,
    review: { kind, reason, base: f.base ? { crm: f.base.crm, erp: f.base.erp } : null, crm: f.crm.value, erp: f.erp.value },
  };
}

function converged(f: FieldInput): boolean {
  return (f.asErp !== undefined && holdsValue(f.erp.value, f.asErp)) || (f.asCrm !== undefined && holdsValue(f.crm.value, f.asCrm));
}

function ms(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** A true conflict (both sides changed to different values): the field's policy decides, never sync timing. */
function byPolicy(f: FieldInput, times: RecordTimes, opts: ReconcileOptions, why: string): FieldDecision {
  const p = f.map.conflict;
  const label = `policy ${policyLabel(p)}`;
  switch (p.kind) {
    case "prefer":
      return propagate(f, p.side, label, `${why}; ${p.side} preferred`);
    case "first-created-wins": {
      const c = ms(times.crm.createdAt);
      const e = ms(times.erp.createdAt);
      if (c === undefined || e === undefined)
        return hold(f, "conflict", label, `${why}; a creation time is unknown, so first-created-wins cannot decide`);
      if (c === e) return hold(f, "conflict", label, `${why}; both records were created at the same instant`);
      const w: Side = c < e ? "crm" : "erp";
      return propagate(f, w, label, `${why}; the ${w} record was created first`);
    }
    case "last-updated-wins": {
      const c = ms(times.crm.modifiedAt);
      const e = ms(times.erp.modifiedAt);
      const tol = Number.isFinite(p.skewToleranceMs) ? p.skewToleranceMs : opts.skewToleranceMs;
      if (c === undefined || e === undefined) return hold(f, "conflict", label, `${why}; a modification time is unknown`);
      if (Math.abs(c - e) <= tol)
        return hold(f, "conflict", label, `${why}; updated ${Math.abs(c - e)} ms apart, within the skew tolerance of ${tol} ms`);
      const w: Side = c > e ? "crm" : "erp";
      return propagate(f, w, label, `${why}; ${w} was updated last`);
    }
    case "review":
      return hold(f, "conflict", label, `${why}; held for review`);
  }
}

function applyResolution(f: FieldInput, r: PendingResolution): FieldDecision {
  const rule = `review #${r.reviewId} resolved by ${r.by}`;
  const master = oneWayMaster(f.map);
  const done = (d: FieldDecision): FieldDecision => ({ ...d, appliesReviewId: r.reviewId });
  if (r.kind === "master-edit" && master) {
    const o = otherSide(master);
    if (r.value) {
      // a person's value goes into the non-master system only (invariant 4)
      const v = o === "crm" ? r.value.crm : r.value.erp;
      if (holdsValue(current(f, o), v))
        return done({
          key: f.key,
          map: f.map,
          action: "rebase",
          writes: [],
          base: { crm: f.crm.value, erp: f.erp.value },
          rule,
          reason: "resolution value already in place",
        });
      return done({
        key: f.key,
        map: f.map,
        action: "write",
        writes: [{ target: o, value: v, before: current(f, o) }],
        base: baseWith(f, o, v),
        source: "person",
        rule,
        reason: `a person set the value in ${o}`,
      });
    }
    if (r.pick === master) return done(propagate(f, master, rule, `edit in ${o} reverted to the master (${master}) value`));
    // picking the non-master side (or accepting) keeps the edit; the master is never written
    return done({
      key: f.key,
      map: f.map,
      action: "rebase",
      writes: [],
      base: { crm: f.crm.value, erp: f.erp.value },
      rule,
      reason: `edit in ${o} accepted; the master (${master}) is not written`,
    });
  }
  if (r.value) {
    const writes: FieldWrite[] = [];
    for (const s of ["crm", "erp"] as const) {
      const v = s === "crm" ? r.value.crm : r.value.erp;
      if (master === s) continue; // never into the master
      if (!holdsValue(current(f, s), v)) writes.push({ target: s, value: v, before: current(f, s) });
    }
    const base: BaseValue = { crm: f.crm.value, erp: f.erp.value };
    for (const w of writes) base[w.target] = w.value;
    return done({
      key: f.key,
      map: f.map,
      action: writes.length ? "write" : "rebase",
      writes,
      base,
      source: "person",
      rule,
      reason: "a person chose the value",
    });
  }
  if (r.pick) return done(propagate(f, r.pick, rule, `a person picked the ${r.pick} value`));
  return done({
    key: f.key,
    map: f.map,
    action: "rebase",
    writes: [],
    base: { crm: f.crm.value, erp: f.erp.value },
    rule,
    reason: "resolution accepted the values as they are",
  });
}

/** Decide one field of one linked pair. */
export function reconcileField(f: FieldInput, times: RecordTimes, opts: ReconcileOptions): FieldDecision {
  const decision = decide(f, times, opts);
  // Invariant 4, enforced at the source of every write: a field is never written into its master.
  const master = oneWayMaster(f.map);
  for (const w of decision.writes) {
    if (master && w.target === master) throw new Error(`invariant 4 violated: field ${f.key} would be written into its master (${master})`);
  }
  return decision;
}

function decide(f: FieldInput, times: RecordTimes, opts: ReconcileOptions): FieldDecision {
  for (const s of ["crm", "erp"] as const) {
    const sv = s === "crm" ? f.crm : f.erp;
    if (!sv.present) {
      const name = s === "crm" ? f.map.crm : f.map.erp;
      return {
        key: f.key,
        map: f.map,
        action: "skip",
        writes: [],
        rule: "field absent",
        reason: `the ${s} record did not return field "${name}"; not synced (a missing field is never written as null)`,
      };
    }
  }
  if (f.resolution) return applyResolution(f, f.resolution);
  if (f.openReviewId !== undefined) {
    return {
      key: f.key,
      map: f.map,
      action: "held",
      writes: [],
      rule: "held for review",
      reason: `review #${f.openReviewId} is open for this field`,
    };
  }
  const ch = changedSides(f);
  const master = oneWayMaster(f.map);
  if (master) {
    const o = otherSide(master);
    const rule = `master ${master}`;
    if (!f.base) return propagate(f, master, rule, `first sync of this pair: ${master} is the master`);
    if (!ch.crm && !ch.erp)
      return { key: f.key, map: f.map, action: "none", writes: [], rule: "unchanged", reason: "unchanged since the last sync" };
    if (ch[master])
      return propagate(
        f,
        master,
        rule,
        ch[o] ? `changed in the master (${master}); overrides the edit in ${o}` : `one-sided change in the master (${master})`,
      );
    // only the non-master system edited a mastered field
    switch (f.map.onMasterEdit) {
      case "revert":
        return propagate(f, master, `${rule}: edit in ${o} reverted`, `${o} edited a field mastered by ${master}; reverted`);
      case "ignore":
        return {
          key: f.key,
          map: f.map,
          action: "rebase",
          writes: [],
          base: { crm: f.crm.value, erp: f.erp.value },
          rule: `${rule}: edit in ${o} ignored`,
          reason: `${o} edited a field mastered by ${master}; ignored (not propagated)`,
          log: { target: o, before: f.base[o], after: current(f, o), source: o },
        };
      case "review":
        return hold(f, "master-edit", `${rule}: edit in ${o} held`, `${o} edited a field mastered by ${master}; held for review`);
    }
  }
  if (!f.base) {
    if (converged(f))
      return {
        key: f.key,
        map: f.map,
        action: "rebase",
        writes: [],
        base: { crm: f.crm.value, erp: f.erp.value },
        rule: "first sync",
        reason: "first sync of this pair: values agree",
      };
    return byPolicy(f, times, opts, "first sync of this pair: values differ");
  }
  if (!ch.crm && !ch.erp)
    return { key: f.key, map: f.map, action: "none", writes: [], rule: "unchanged", reason: "unchanged since the last sync" };
  if (ch.crm && !ch.erp) return propagate(f, "crm", "one-sided change", "changed in crm only");
  if (ch.erp && !ch.crm) return propagate(f, "erp", "one-sided change", "changed in erp only");
  if (converged(f))
    return {
      key: f.key,
      map: f.map,
      action: "rebase",
      writes: [],
      base: { crm: f.crm.value, erp: f.erp.value },
      rule: "converged",
      reason: "changed on both sides to the same value",
    };
  return byPolicy(f, times, opts, "true conflict: changed on both sides since the last sync");
}
