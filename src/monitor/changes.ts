/**
 * The integration file's change log (`accord apply FILE --why …`, `accord changes FILE`): every
 * change recorded with its date, author, rationale and plan — what it changes (objects and field
 * maps added, removed or altered, against the last applied version) and, when the systems are
 * reachable, a dry-run summary of what the next sync would do.
 */
import { createHash } from "node:crypto";
import { loadSpec } from "../spec/load.ts";
import type { FieldMap, IntegrationSpec, ObjectSpec } from "../spec/model.ts";
import type { Json, SpecVersion, Store } from "../store/types.ts";

export interface SpecDiff {
  objectsAdded: string[];
  objectsRemoved: string[];
  /** Per object: field maps added / removed / changed ("crm ↔ erp"), and other settings changed. */
  objectsChanged: Array<{
    object: string;
    fieldsAdded: string[];
    fieldsRemoved: string[];
    fieldsChanged: string[];
    settingsChanged: string[];
  }>;
  /** Top-level sections changed (systems, owner, sync …). */
  sectionsChanged: string[];
}

export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const mapName = (m: FieldMap) => `${m.crm} ↔ ${m.erp}`;
const strip = (m: FieldMap) => ({ ...m, line: undefined });
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function objectSettings(o: ObjectSpec): Record<string, unknown> {
  const { fields: _f, line: _l, ...rest } = o;
  return rest;
}

export function diffSpecs(before: IntegrationSpec | undefined, after: IntegrationSpec): SpecDiff {
  const prev = new Map((before?.objects ?? []).map((o) => [o.name, o]));
  const next = new Map(after.objects.map((o) => [o.name, o]));
  const diff: SpecDiff = {
    objectsAdded: [...next.keys()].filter((k) => !prev.has(k)),
    objectsRemoved: [...prev.keys()].filter((k) => !next.has(k)),
    objectsChanged: [],
    sectionsChanged: [],
  };
  for (const [name, o] of next) {
    const p = prev.get(name);
    if (!p) continue;
    const pm = new Map(p.fields.map((m) => [`${m.crm}|${m.erp}`, m]));
    const nm = new Map(o.fields.map((m) => [`${m.crm}|${m.erp}`, m]));
    const fieldsAdded = [...nm.entries()].filter(([k]) => !pm.has(k)).map(([, m]) => mapName(m));
    const fieldsRemoved = [...pm.entries()].filter(([k]) => !nm.has(k)).map(([, m]) => mapName(m));
    const fieldsChanged = [...nm.entries()]
      .filter(([k, m]) => pm.has(k) && !same(strip(pm.get(k) as FieldMap), strip(m)))
      .map(([, m]) => mapName(m));
    const a = objectSettings(p);
    const b = objectSettings(o);
    const settingsChanged = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k]));
    if (fieldsAdded.length || fieldsRemoved.length || fieldsChanged.length || settingsChanged.length)
      diff.objectsChanged.push({ object: name, fieldsAdded, fieldsRemoved, fieldsChanged, settingsChanged });
  }
  if (before) {
    for (const k of ["description", "systems", "owner", "secondaryOwner", "sync", "standardize"] as const) {
      if (!same(before[k], after[k])) diff.sectionsChanged.push(k);
    }
  }
  return diff;
}

export function renderSpecDiff(d: SpecDiff, first: boolean): string[] {
  if (first) return ["first recorded version"];
  const out: string[] = [];
  for (const o of d.objectsAdded) out.push(`+ object ${o}`);
  for (const o of d.objectsRemoved) out.push(`- object ${o}`);
  for (const c of d.objectsChanged) {
    for (const f of c.fieldsAdded) out.push(`+ ${c.object}: field ${f}`);
    for (const f of c.fieldsRemoved) out.push(`- ${c.object}: field ${f}`);
    for (const f of c.fieldsChanged) out.push(`~ ${c.object}: field ${f}`);
    for (const s of c.settingsChanged) out.push(`~ ${c.object}: ${s}`);
  }
  for (const s of d.sectionsChanged) out.push(`~ ${s}`);
  return out.length ? out : ["no change to objects or fields (text only)"];
}

export interface ApplyResult {
  recorded: boolean;
  version?: SpecVersion;
  previous?: SpecVersion;
  diff: SpecDiff;
  lines: string[];
}

/**
 * Record the file as the integration's new version. `dryRun` (optional) computes the plan summary
 * against the live systems; its failure is recorded as "systems not reachable" rather than failing.
 */
export async function applySpec(
  store: Store,
  spec: IntegrationSpec,
  text: string,
  opts: { author: string; why: string; dryRun?: () => Promise<Json> },
): Promise<ApplyResult> {
  const versions = await store.listSpecVersions(spec.name);
  const previous = versions[0];
  const hash = hashText(text);
  let before: IntegrationSpec | undefined;
  if (previous) {
    try {
      before = loadSpec(previous.text, "previous version");
    } catch {
      before = undefined; // the previous text no longer loads (format change): diff against nothing
    }
  }
  const diff = diffSpecs(before, spec);
  const lines = renderSpecDiff(diff, !previous);
  if (previous && previous.hash === hash)
    return { recorded: false, previous, diff, lines: ["the file is unchanged since the last applied version"] };
  let dry: Json = null;
  if (opts.dryRun) {
    try {
      dry = await opts.dryRun();
    } catch (err) {
      dry = { reachable: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
  const plan: Json = { diff: JSON.parse(JSON.stringify(diff)) as Json, summary: lines, dryRun: dry };
  const version = await store.saveSpecVersion({ integration: spec.name, hash, text, author: opts.author, why: opts.why, plan });
  return { recorded: true, version, previous, diff, lines };
}
