/**
 * Schema drift (DESIGN.md invariant 7: drift is loud).
 *
 * Both systems are described (fresh: a connector caches metadata, so the check uses its own) and
 * compared with the integration file and with the last accepted snapshot (store.saveSchemaSnapshot):
 *
 *   entity-missing   an object's entity is gone                                  → the object pauses
 *   field-removed    a mapped / identity / parent / filter field is gone          → its mapping (or the object) pauses
 *                    (with the likely new name when a field of the same type appeared: "renamed to …?")
 *   type-changed     a mapped field's type differs from the accepted snapshot     → its mapping pauses
 *   options-changed  a mapped picklist's options differ from the snapshot         → its mapping pauses
 *                    (with `ignore-additions`, options only added are not a finding)
 *   required-added   a field of a target entity became required and is not mapped → creates into that system pause
 *   field-added      a new field (no action; `ignore-additions` leaves it out)
 *
 * Policy per object (monitor settings `drift`): `pause` (default), `ignore-additions` (pause, but
 * additions are not findings), `alert-only` (findings alert, nothing pauses).
 * Paused mappings are taken out of the spec the engine runs (`pausedSpec`): nothing is read for them,
 * nothing written, their base values stay in the links and resume when `accord drift accept`
 * records the new snapshot once the map is fixed.
 */
import { fieldRoot } from "../connectors/field-path.ts";
import { createConnector } from "../connectors/registry.ts";
import type { Connector, EntityDescription, FieldDescription, SchemaDescription } from "../connectors/types.ts";
import { resolveCredentials, resolveUrl } from "../spec/load.ts";
import type { CreatePolicy, IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { Json, Store } from "../store/types.ts";
import { type MonitorSettings, objectSettings } from "./settings.ts";

export type DriftKind = "entity-missing" | "field-removed" | "type-changed" | "options-changed" | "required-added" | "field-added";

export interface DriftFinding {
  kind: DriftKind;
  side: Side;
  entity: string;
  field?: string;
  /** Objects (and mappings "crm|erp") the finding touches. */
  object?: string;
  mapping?: string;
  /** A likely new name for a removed field. */
  suggestion?: string;
  before?: Json;
  after?: Json;
  /** What it does under the object's policy. */
  action: "pause-object" | "pause-mapping" | "pause-creates" | "alert" | "none";
  message: string;
}

export interface ObjectPause {
  /** Reason the whole object is paused (entity, identity, parent or filter field broken). */
  whole?: string;
  /** Paused mappings by field key "crm|erp" → reason. */
  fields: Record<string, string>;
  /** Creates into this system paused (a new required field) → reason. */
  createsInto: Partial<Record<Side, string>>;
}

export interface DriftReport {
  integration: string;
  checkedAt: string;
  findings: DriftFinding[];
  pauses: Record<string, ObjectPause>;
  /** Whether an accepted snapshot existed per side. */
  baseline: Record<Side, boolean>;
  current: Record<Side, SchemaDescription>;
}

const SIDES = ["crm", "erp"] as const;

/** Standard columns some systems do not list in their description. */
const ALWAYS_THERE = new Set(["id", "name"]);

export function entitiesOf(spec: IntegrationSpec, side: Side): string[] {
  return [...new Set(spec.objects.map((o) => o[side].entity))];
}

/** Describe one system with a connector of its own (no metadata cache from earlier calls). */
export async function describeFresh(
  spec: IntegrationSpec,
  side: Side,
  env: Record<string, string | undefined> = process.env,
): Promise<SchemaDescription> {
  const system = spec.systems[side];
  const conn: Connector = await createConnector(system.type, {
    url: resolveUrl(system, env, { side }),
    credentials: resolveCredentials(system, env, { side, file: spec.source?.file }),
    options: system.options,
  });
  try {
    return await describeEntities(conn, entitiesOf(spec, side));
  } finally {
    await conn.close();
  }
}

/** Describe entities one by one, so a vanished entity is reported instead of failing the whole check. */
async function describeEntities(conn: Connector, entities: string[]): Promise<SchemaDescription> {
  const out: SchemaDescription = { entities: {} };
  for (const e of entities) {
    try {
      const d = await conn.describe([e]);
      if (d.entities[e]) out.entities[e] = d.entities[e];
    } catch (err) {
      const cls = (err as { errorClass?: string }).errorClass;
      if (cls === "NotFound" || cls === "SchemaDrift") continue; // reported as entity-missing
      throw err;
    }
  }
  return out;
}

function sideName(side: Side): string {
  return side === "crm" ? "CRM" : "ERP";
}

/** Similarity of two field names/labels (0..1): shared character bigrams (Dice). */
function similarity(a: string, b: string): number {
  const grams = (s: string) => {
    const t = s.toLowerCase().replace(/[^a-z0-9]/g, "");
    const out = new Map<string, number>();
    for (let i = 0; i < t.length - 1; i++) out.set(t.slice(i, i + 2), (out.get(t.slice(i, i + 2)) ?? 0) + 1);
    return out;
  };
  const x = grams(a);
  const y = grams(b);
  let inter = 0;
  let total = 0;
  for (const [g, n] of x) {
    inter += Math.min(n, y.get(g) ?? 0);
    total += n;
  }
  for (const n of y.values()) total += n;
  return total === 0 ? 0 : (2 * inter) / total;
}

/** The likely new name of a vanished field: a field that appeared since the snapshot (or any field), same type, closest name. */
export function suggestRename(
  gone: string,
  was: FieldDescription | undefined,
  now: EntityDescription,
  before: EntityDescription | undefined,
): string | undefined {
  let best: { name: string; score: number } | undefined;
  for (const f of Object.values(now.fields)) {
    if (f.name === gone) continue;
    const isNew = before ? !(f.name in before.fields) : true;
    if (!isNew) continue;
    if (was && f.type !== was.type) continue;
    const score = Math.max(similarity(gone, f.name), was?.label && f.label ? similarity(was.label, f.label) : 0) + (before ? 0.2 : 0);
    if (!best || score > best.score) best = { name: f.name, score };
  }
  return best && best.score >= 0.5 ? best.name : undefined;
}

function sameOptions(a: string[] | undefined, b: string[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

interface Use {
  object: ObjectSpec;
  /** "identity" | "parent" | "filter" → the whole object; "createKey" → creates into this system; otherwise the mapping key. */
  role: "identity" | "parent" | "filter" | "mapping" | "createKey";
  mapping?: string;
  field: string;
  /** Whether Accord writes this field in this system (a target of the mapping). */
  written: boolean;
}

function usesOf(spec: IntegrationSpec, side: Side, entity: string): Use[] {
  const out: Use[] = [];
  for (const o of spec.objects) {
    if (o[side].entity !== entity) continue;
    out.push({ object: o, role: "identity", field: o[side].identity, written: true });
    // the creation key: without it a create cannot carry the source id, and crash recovery would fall back to content
    const createKey = o[side].createKey;
    if (createKey) out.push({ object: o, role: "createKey", field: createKey, written: true });
    if (o.parent) out.push({ object: o, role: "parent", field: side === "crm" ? o.parent.crm : o.parent.erp, written: true });
    for (const f of o[side].filter ?? []) out.push({ object: o, role: "filter", field: f.field, written: false });
    for (const m of o.fields) {
      const written = m.direction === "both" || (side === "erp" ? m.direction === "crm->erp" : m.direction === "erp->crm");
      out.push({ object: o, role: "mapping", mapping: `${m.crm}|${m.erp}`, field: side === "crm" ? m.crm : m.erp, written });
    }
    // an aggregate's summed (max, min) fields no map uses: the read asks for them, so a vanished one breaks the object's reads
    const mapped = new Set(o.fields.map((m) => fieldRoot(side === "crm" ? m.crm : m.erp)));
    const agg = o[side].aggregate;
    for (const f of agg ? [...agg.sum, ...(agg.max ?? []), ...(agg.min ?? [])] : []) {
      if (!mapped.has(f)) out.push({ object: o, role: "mapping", mapping: aggregateKey(side, f), field: f, written: false });
    }
  }
  return out;
}

/** What an aggregate computes from a field: "summed", "max" or "min". */
function aggregateRole(o: ObjectSpec, side: Side, field: string): string {
  const agg = o[side].aggregate;
  return agg?.max?.includes(field) ? "max" : agg?.min?.includes(field) ? "min" : "summed";
}

/** The pause key of an aggregate side's summed field that no map uses ("aggregate:erp:projected_qty"). */
function aggregateKey(side: Side, field: string): string {
  return `aggregate:${side}:${field}`;
}

/**
 * The pure diff: spec + current descriptions + accepted snapshots (if any) → findings and pauses.
 */
export function diffDrift(
  spec: IntegrationSpec,
  current: Record<Side, SchemaDescription>,
  snapshot: Partial<Record<Side, SchemaDescription>>,
  settings: MonitorSettings,
  now: Date = new Date(),
): DriftReport {
  const findings: DriftFinding[] = [];
  const pauses: Record<string, ObjectPause> = {};
  const pauseOf = (o: string) => {
    pauses[o] ??= { fields: {}, createsInto: {} };
    return pauses[o];
  };
  const policy = (o: ObjectSpec) => objectSettings(settings, o).drift;
  const act = (o: ObjectSpec, breaking: DriftFinding["action"]): DriftFinding["action"] =>
    policy(o) === "alert-only" ? "alert" : breaking;

  for (const side of SIDES) {
    const before = snapshot[side];
    for (const entity of entitiesOf(spec, side)) {
      const uses = usesOf(spec, side, entity);
      const objects = [...new Set(uses.map((u) => u.object))];
      const now_ = current[side].entities[entity];
      const was = before?.entities[entity];
      if (!now_) {
        for (const o of objects) {
          const action = act(o, "pause-object");
          const message = `${sideName(side)} entity ${entity} of object ${o.name} is gone (or not readable by Accord's user)`;
          findings.push({ kind: "entity-missing", side, entity, object: o.name, action, message });
          if (action === "pause-object") pauseOf(o.name).whole ??= message;
        }
        continue;
      }
      // fields Accord uses
      const seen = new Set<string>();
      for (const u of uses) {
        const root = fieldRoot(u.field);
        const key = `${u.object.name}|${u.role}|${u.mapping ?? ""}|${root}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const cur = now_.fields[root];
        const old = was?.fields[root];
        const whole = u.role !== "mapping" && u.role !== "createKey";
        /** What a broken use stops: the object, its mapping, or (the creation key) creates into this system. */
        const breaking = (): DriftFinding["action"] => act(u.object, u.role === "createKey" ? "pause-creates" : whole ? "pause-object" : "pause-mapping");
        const pauseFor = (action: DriftFinding["action"], message: string) => {
          if (action === "pause-object") pauseOf(u.object.name).whole ??= message;
          if (action === "pause-mapping" && u.mapping) pauseOf(u.object.name).fields[u.mapping] = message;
          if (action === "pause-creates") pauseOf(u.object.name).createsInto[side] ??= message;
        };
        if (!cur) {
          if (!old && ALWAYS_THERE.has(root)) continue; // a standard column the system does not describe
          const suggestion = suggestRename(root, old, now_, was);
          const what = u.mapping?.startsWith("aggregate:")
            ? `${aggregateRole(u.object, side, root)} field ${root}`
            : u.role === "mapping"
              ? `mapped field ${root}`
              : `${u.role} field ${root}`;
          const message = `${sideName(side)} ${entity}.${root} (${what} of object ${u.object.name}) is gone${suggestion ? ` — renamed to ${suggestion}?` : ""}${u.role === "createKey" ? ": creates into the " + sideName(side) + " pause until it is back or the file names another createKey" : ""}`;
          const action = breaking();
          findings.push({
            kind: "field-removed",
            side,
            entity,
            field: root,
            object: u.object.name,
            mapping: u.mapping,
            suggestion,
            action,
            message,
          });
          pauseFor(action, message);
          continue;
        }
        if (!old) continue; // no accepted snapshot of this field: nothing to compare types with
        if (cur.type !== old.type || cur.nativeType !== old.nativeType) {
          const message = `${sideName(side)} ${entity}.${root} changed type ${old.nativeType} (${old.type}) → ${cur.nativeType} (${cur.type}); object ${u.object.name}`;
          const action = breaking();
          findings.push({
            kind: "type-changed",
            side,
            entity,
            field: root,
            object: u.object.name,
            mapping: u.mapping,
            before: old.nativeType,
            after: cur.nativeType,
            action,
            message,
          });
          pauseFor(action, message);
          continue;
        }
        if ((cur.options || old.options) && !sameOptions(cur.options, old.options)) {
          const removed = (old.options ?? []).filter((x) => !(cur.options ?? []).includes(x));
          const added = (cur.options ?? []).filter((x) => !(old.options ?? []).includes(x));
          if (removed.length === 0 && policy(u.object) === "ignore-additions") continue;
          const message = `${sideName(side)} ${entity}.${root} picklist changed${removed.length ? ` — removed: ${removed.join(", ")}` : ""}${added.length ? ` — added: ${added.join(", ")}` : ""}; object ${u.object.name}`;
          const action = act(u.object, u.role === "mapping" ? "pause-mapping" : "alert");
          findings.push({
            kind: "options-changed",
            side,
            entity,
            field: root,
            object: u.object.name,
            mapping: u.mapping,
            before: old.options ?? [],
            after: cur.options ?? [],
            action,
            message,
          });
          if (action === "pause-mapping" && u.mapping) pauseOf(u.object.name).fields[u.mapping] = message;
        }
      }
      // new required fields on an entity Accord creates records in
      const written = new Set(uses.filter((u) => u.written).map((u) => fieldRoot(u.field)));
      for (const f of Object.values(now_.fields)) {
        if (!f.required || f.readOnly || written.has(f.name) || ALWAYS_THERE.has(f.name)) continue;
        const old = was?.fields[f.name];
        if (!was || old?.required) continue; // required before too (or no baseline): not a change
        for (const o of objects) {
          if (!createsInto(o.create, side)) continue;
          const message = `${sideName(side)} ${entity}.${f.name} is ${old ? "now" : "a new"} required field that object ${o.name} does not map: creates into the ${sideName(side)} would fail`;
          const action = act(o, "pause-creates");
          findings.push({ kind: "required-added", side, entity, field: f.name, object: o.name, action, message });
          if (action === "pause-creates") pauseOf(o.name).createsInto[side] = message;
        }
      }
      // additions (informational)
      if (was) {
        for (const f of Object.values(now_.fields)) {
          if (f.name in was.fields || f.required) continue;
          if (objects.every((o) => policy(o) === "ignore-additions")) continue;
          findings.push({
            kind: "field-added",
            side,
            entity,
            field: f.name,
            action: "none",
            message: `${sideName(side)} ${entity}.${f.name} is a new field (${f.nativeType})`,
          });
        }
      }
    }
  }
  return {
    integration: spec.name,
    checkedAt: now.toISOString(),
    findings,
    pauses,
    baseline: { crm: snapshot.crm !== undefined, erp: snapshot.erp !== undefined },
    current,
  };
}

function createsInto(policy: CreatePolicy, side: Side): boolean {
  if (policy === "both") return true;
  if (policy === "crm->erp") return side === "erp";
  if (policy === "erp->crm") return side === "crm";
  return false;
}

function restrictCreates(policy: CreatePolicy, blocked: Partial<Record<Side, string>>): CreatePolicy {
  const intoCrm = createsInto(policy, "crm") && !blocked.crm;
  const intoErp = createsInto(policy, "erp") && !blocked.erp;
  if (intoCrm && intoErp) return policy;
  if (intoErp) return "crm->erp";
  if (intoCrm) return "erp->crm";
  return policy === "never" ? "never" : "link-only";
}

/**
 * The spec the engine runs while mappings are paused: paused objects left out, paused mappings
 * removed from their objects (nothing read or written for them; their base values stay in the
 * links), creates into a system with a new required field switched off.
 */
export function pausedSpec(spec: IntegrationSpec, pauses: Record<string, ObjectPause>): IntegrationSpec {
  const objects: ObjectSpec[] = [];
  for (const o of spec.objects) {
    const p = pauses[o.name];
    if (!p) {
      objects.push(o);
      continue;
    }
    if (p.whole) continue;
    const paused = o.fields.filter((m) => p.fields[`${m.crm}|${m.erp}`] !== undefined);
    // an aggregate side must not ask for a paused field either: the system refuses an unknown column
    // (the run would fail), and a sum over rows without the field would read as 0 — a wrong write
    const side = (s: Side) => {
      const agg = o[s].aggregate;
      if (!agg) return o[s];
      const gone = new Set(paused.map((m) => fieldRoot(m[s])));
      for (const k of Object.keys(p.fields)) if (k.startsWith(`aggregate:${s}:`)) gone.add(k.slice(`aggregate:${s}:`.length));
      const keep = (l: string[] | undefined) => (l ?? []).filter((f) => !gone.has(f));
      const max = keep(agg.max);
      const min = keep(agg.min);
      return {
        ...o[s],
        aggregate: { groupBy: agg.groupBy, sum: keep(agg.sum), ...(max.length ? { max } : {}), ...(min.length ? { min } : {}) },
      };
    };
    objects.push({
      ...o,
      crm: side("crm"),
      erp: side("erp"),
      fields: o.fields.filter((m) => p.fields[`${m.crm}|${m.erp}`] === undefined),
      create: restrictCreates(o.create, p.createsInto),
    });
  }
  return { ...spec, objects };
}

/** Whether anything is paused. */
export function hasPauses(pauses: Record<string, ObjectPause>): boolean {
  return Object.values(pauses).some((p) => p.whole || Object.keys(p.fields).length > 0 || Object.keys(p.createsInto).length > 0);
}

/** Latest accepted snapshots of both systems. */
export async function loadSnapshots(store: Store, integration: string): Promise<Partial<Record<Side, SchemaDescription>>> {
  const out: Partial<Record<Side, SchemaDescription>> = {};
  for (const side of SIDES) {
    const s = await store.latestSchemaSnapshot(integration, side);
    if (s) out[side] = s.schema as unknown as SchemaDescription;
  }
  return out;
}

/** Describe both systems and diff against the file and the accepted snapshots. */
export async function checkDrift(
  spec: IntegrationSpec,
  store: Store,
  settings: MonitorSettings,
  opts: { env?: Record<string, string | undefined>; describe?: (side: Side) => Promise<SchemaDescription> } = {},
): Promise<DriftReport> {
  const describe = opts.describe ?? ((side: Side) => describeFresh(spec, side, opts.env));
  const current = { crm: await describe("crm"), erp: await describe("erp") };
  return diffDrift(spec, current, await loadSnapshots(store, spec.name), settings);
}

/** Record the systems' current schemas (the entities the file uses) as accepted. */
export async function acceptSnapshot(store: Store, integration: string, current: Record<Side, SchemaDescription>): Promise<void> {
  const acceptedAt = new Date().toISOString();
  for (const side of SIDES) {
    await store.saveSchemaSnapshot({ integration, side, schema: current[side] as unknown as Json, acceptedAt });
  }
}

/** Text for a person. */
export function renderDrift(r: DriftReport): string {
  const lines: string[] = [];
  if (!r.baseline.crm || !r.baseline.erp)
    lines.push(
      `No accepted schema snapshot for ${["crm", "erp"].filter((s) => !r.baseline[s as Side]).join(" and ")} yet: types and picklists are not compared (record one with \`accord drift accept FILE\`).`,
    );
  const real = r.findings.filter((f) => f.kind !== "field-added");
  if (real.length === 0) lines.push("No drift: every mapped field is where the integration file expects it.");
  for (const f of r.findings) {
    const tag = f.action === "none" ? "info " : f.action === "alert" ? "ALERT" : "PAUSE";
    lines.push(`${tag}  ${f.message}${f.action.startsWith("pause") ? ` → ${f.action.replace("-", "s ")}` : ""}`);
  }
  if (hasPauses(r.pauses)) {
    lines.push("", "Paused until the map is fixed and `accord drift accept FILE` records the new schema:");
    for (const [o, p] of Object.entries(r.pauses)) {
      if (p.whole) lines.push(`  ${o}: the whole object`);
      for (const k of Object.keys(p.fields)) {
        const agg = /^aggregate:(crm|erp):(.+)$/.exec(k);
        lines.push(agg ? `  ${o}: the ${sideName(agg[1] as Side)} aggregate of ${agg[2]}` : `  ${o}: mapping ${k.replace("|", " ↔ ")}`);
      }
      for (const s of Object.keys(p.createsInto)) lines.push(`  ${o}: creates into the ${sideName(s as Side)}`);
    }
  }
  return lines.join("\n");
}
