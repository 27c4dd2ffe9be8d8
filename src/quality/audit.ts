/**
 * `accord audit`: what is wrong with the data in both systems before they are connected
 * (integration-practice.md, "Before go-live": deduplicate, standardise, complete required fields).
 *
 * Per system:
 *  - duplicate clusters within it (findDuplicates on the linked object's records);
 *  - records missing a field the integration requires: FieldMap.required on the side(s) values
 *    come from, the ERP identity, and on child objects the field pointing at the parent;
 *  - inconsistent formats: stray whitespace, phone not E.164, e-mail not lower case or malformed,
 *    country spellings (several spellings of one country, or an unknown one), postal code
 *    casing / country prefixes, all-capital or all-lower-case names, legal-suffix variants;
 *  - values a mapping cannot carry: a value with no entry in a `map` transform whose unmapped rule is `error`.
 * Across systems (matchAcross): probable pairs, pairs a person should review, CRM-only, ERP-only.
 *
 * Reads only. Knows nothing of syncing.
 */
import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import { ValidationRejected } from "../errors.ts";
import type { FieldMap, IntegrationSpec, ObjectSpec, Side, TransformStep } from "../spec/model.ts";
import type { Link, Store } from "../store/types.ts";
import { findDuplicates } from "./dedupe.ts";
import { matchAcross } from "./match.ts";
import { normaliseCountry } from "./normalize.ts";
import { suffixVariant } from "./standardize.ts";
import type { Cluster, MatchResult, OrgRecord } from "./types.ts";

export interface QualityContext {
  spec: IntegrationSpec;
  store: Store;
  crm: Connector;
  erp: Connector;
}

export type Problem =
  | "duplicate"
  | "missing-field"
  | "whitespace"
  | "phone-format"
  | "email-format"
  | "country-format"
  | "postal-code-format"
  | "casing"
  | "legal-suffix"
  | "unmappable-value";

/** Problems in the order the summary lists them. */
export const PROBLEMS: readonly Problem[] = [
  "duplicate",
  "missing-field",
  "unmappable-value",
  "whitespace",
  "phone-format",
  "email-format",
  "country-format",
  "postal-code-format",
  "casing",
  "legal-suffix",
];

export const PROBLEM_LABELS: Readonly<Record<Problem, string>> = {
  duplicate: "duplicate records",
  "missing-field": "missing required fields",
  "unmappable-value": "values no mapping carries",
  whitespace: "stray whitespace",
  "phone-format": "phone not in E.164",
  "email-format": "e-mail format",
  "country-format": "country spellings",
  "postal-code-format": "postal code format",
  casing: "name casing",
  "legal-suffix": "legal-suffix variants",
};

export interface AuditIssue {
  system: Side;
  object: string;
  entity: string;
  recordId: string;
  /** The record's name, for people. */
  label: string;
  problem: Problem;
  field: string | null;
  value: string | null;
  detail: string;
}

export interface DuplicateCluster {
  system: Side;
  id: string;
  recordIds: string[];
  labels: string[];
  /** Why the records were joined (one sentence per joining pair). */
  why: string[];
}

export interface AuditReport {
  integration: string;
  /** The object whose records are matched (duplicates, cross-system). */
  object: string;
  objects: string[];
  read: Record<Side, Record<string, number>>;
  summary: {
    /** Issues per problem and system (records, for duplicates: records in clusters). */
    counts: Record<Side, Record<Problem, number>>;
    clusters: Record<Side, number>;
    cross: { probablePairs: number; toReview: number; crmOnly: number; erpOnly: number; alreadyLinked: number; matchable: boolean };
  };
  duplicates: DuplicateCluster[];
  issues: AuditIssue[];
}

// ---------------------------------------------------------------- reading

type Doc = Record<string, unknown>;

export async function readAll(
  conn: Connector,
  entity: string,
  opts: { fields?: string[]; filter?: FilterExpr[] } = {},
): Promise<RemoteRecord[]> {
  const out: RemoteRecord[] = [];
  for await (const page of conn.readChanges(entity, {
    ...(opts.fields ? { fields: opts.fields } : {}),
    ...(opts.filter ? { filter: opts.filter } : {}),
  }))
    out.push(...page.records);
  return out;
}

/** Whether the matcher can read organisations from this side (its connector has an organisation view). */
export function canMatch(ctx: Pick<QualityContext, "crm" | "erp">, side: Side): boolean {
  return typeof (side === "crm" ? ctx.crm : ctx.erp).organisations === "function";
}

/** A side's records of an object and the same records as OrgRecords (empty orgs when the type has no adapter). */
export async function readOrgs(
  ctx: QualityContext,
  obj: ObjectSpec,
  side: Side,
  records?: RemoteRecord[],
): Promise<{ records: RemoteRecord[]; orgs: OrgRecord[] }> {
  const conn = side === "crm" ? ctx.crm : ctx.erp;
  const recs = records ?? (await readAll(conn, obj[side].entity, { filter: obj[side].filter as FilterExpr[] | undefined }));
  const orgs = conn.organisations ? await conn.organisations(obj[side].entity, recs, { sharedIdField: obj[side].identity }) : [];
  return { records: recs, orgs };
}

/** The object to match: the named one, else the first object without a parent. */
export function pickObject(spec: IntegrationSpec, name: string | undefined): ObjectSpec {
  const obj = name ? spec.objects.find((o) => o.name === name) : spec.objects.find((o) => !o.parent);
  if (!obj)
    throw new ValidationRejected(`${name ? `object "${name}" is not in` : "no top-level object in"} integration ${spec.name}.`, {
      hint: `Name one of: ${spec.objects.map((o) => o.name).join(", ")} (--object NAME).`,
    });
  return obj;
}

export async function allLinks(store: Store, integration: string, object: string): Promise<Link[]> {
  const out: Link[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.listLinks(integration, object, { afterId, limit: 1000 });
    if (page.length === 0) return out;
    out.push(...page);
    afterId = page[page.length - 1]?.id ?? afterId;
  }
}

const LABEL_FIELDS = ["name", "customer_name", "address_title", "lastName", "last_name", "first_name", "title"];

export function labelOf(r: RemoteRecord): string {
  for (const f of LABEL_FIELDS) {
    const v = r.values[f];
    if (typeof v === "string" && v.trim()) return v.trim();
  }
  return r.id;
}

// ---------------------------------------------------------------- field values

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "string" && v.trim() === "") || (Array.isArray(v) && v.length === 0);
}

/**
 * A record's value for a field name: a plain name, or `table.Doctype` (the row of a Dynamic Link
 * table pointing at that doctype: its link_name). `known: false` when the record does not carry it.
 */
export function fieldValue(values: Readonly<Record<string, unknown>>, name: string): { known: boolean; value: unknown } {
  if (name in values) return { known: true, value: values[name] };
  const dot = name.indexOf(".");
  if (dot > 0 && !name.includes("[")) {
    const table = values[name.slice(0, dot)];
    const target = name.slice(dot + 1);
    if (Array.isArray(table)) {
      const row = table.find((r) => r && typeof r === "object" && (r as Doc).link_doctype === target) as Doc | undefined;
      return { known: true, value: row ? row.link_name : null };
    }
  }
  return { known: false, value: undefined };
}

/** The field names the sides of a mapping read values from. */
function sourceSides(f: FieldMap): Side[] {
  return f.direction === "both" ? ["crm", "erp"] : f.direction === "crm->erp" ? ["crm"] : ["erp"];
}

type FieldKind = "phone" | "email" | "country" | "postal" | "orgName" | "text";

function kindOf(field: string, obj: ObjectSpec, side: Side): FieldKind {
  const f = field.toLowerCase();
  if (/phone|mobile|fax/.test(f)) return "phone";
  if (/email/.test(f)) return "email";
  if (/country/.test(f)) return "country";
  if (/postal|pincode|zip/.test(f)) return "postal";
  if (!obj.parent && (f === "name" || f === "customer_name" || f === "account_name" || f === "company_name"))
    return side === "erp" && f === "name" ? "text" : "orgName";
  return "text";
}

// ---------------------------------------------------------------- the audit

interface EntityRead {
  side: Side;
  entity: string;
  records: RemoteRecord[];
}

export interface AuditOptions {
  /** The object whose duplicates and cross-system pairs are reported (default: the first top-level one). */
  object?: string;
  onProgress?: (message: string) => void;
}

/** Audit both systems for the integration. Reads only. */
export async function auditIntegration(ctx: QualityContext, opts: AuditOptions = {}): Promise<AuditReport> {
  const { spec } = ctx;
  const say = opts.onProgress ?? (() => {});
  const main = pickObject(spec, opts.object);
  const objects = opts.object ? spec.objects.filter((o) => o.name === main.name || o.parent?.object === main.name) : spec.objects;

  // Read each (side, entity, filter) once.
  const reads = new Map<string, EntityRead>();
  const readOf = async (obj: ObjectSpec, side: Side): Promise<EntityRead> => {
    const s = obj[side];
    const key = `${side}|${s.entity}|${JSON.stringify(s.filter ?? [])}`;
    let r = reads.get(key);
    if (!r) {
      say(`reading ${s.entity} from the ${side.toUpperCase()}…`);
      const records = await readAll(side === "crm" ? ctx.crm : ctx.erp, s.entity, { filter: s.filter as FilterExpr[] | undefined });
      r = { side, entity: s.entity, records };
      reads.set(key, r);
    }
    return r;
  };

  // The other system's field definitions (max lengths), read once per entity; none when describe fails.
  const described = new Map<string, Promise<Record<string, { maxLength?: number; required?: boolean }>>>();
  const fieldsOf = (side: Side, entity: string): Promise<Record<string, { maxLength?: number; required?: boolean }>> => {
    const key = `${side}|${entity}`;
    let p = described.get(key);
    if (!p) {
      const conn = side === "crm" ? ctx.crm : ctx.erp;
      p = conn.describe([entity]).then(
        (d) => d.entities[entity]?.fields ?? {},
        () => ({}),
      );
      described.set(key, p);
    }
    return p;
  };

  const issues: AuditIssue[] = [];
  const seen = new Set<string>();
  const push = (i: AuditIssue) => {
    const k = `${i.system}|${i.entity}|${i.recordId}|${i.problem}|${i.field ?? ""}`;
    if (seen.has(k)) return;
    seen.add(k);
    issues.push(i);
  };
  const read: AuditReport["read"] = { crm: {}, erp: {} };

  for (const obj of objects) {
    for (const side of ["crm", "erp"] as const) {
      const er = await readOf(obj, side);
      read[side][obj.name] = er.records.length;
      const base = (r: RemoteRecord) => ({ system: side, object: obj.name, entity: er.entity, recordId: r.id, label: labelOf(r) });

      // Required fields: mapped `required`, the ERP identity, the parent pointer of a child object.
      const required: Array<{ field: string; why: string }> = [];
      for (const f of obj.fields)
        if (f.required && sourceSides(f).includes(side)) required.push({ field: f[side], why: "required by the mapping" });
      if (side === "erp" && obj.erp.identity !== "name" && obj.erp.identity !== "id")
        required.push({ field: obj.erp.identity, why: "the shared identifier" });
      if (obj.parent && obj.parent[side] !== "id") required.push({ field: obj.parent[side], why: `points at the ${obj.parent.object}` });
      for (const r of er.records) {
        for (const q of required) {
          const v = fieldValue(r.values, q.field);
          if (v.known && isEmpty(v.value))
            push({ ...base(r), problem: "missing-field", field: q.field, value: null, detail: `${q.field} is empty (${q.why})` });
        }
      }

      // Values a mapping cannot carry.
      for (const f of obj.fields) {
        const steps: TransformStep[] = side === "crm" ? f.toErp : f.toCrm;
        if (!sourceSides(f).includes(side)) continue;
        const first = steps[0];
        if (!first || !("map" in first) || first.unmapped !== "error") continue;
        const keys = new Set(Object.keys(first.map));
        for (const r of er.records) {
          const v = r.values[f[side]];
          if (isEmpty(v) || (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")) continue;
          if (!keys.has(String(v)))
            push({
              ...base(r),
              problem: "unmappable-value",
              field: f[side],
              value: String(v),
              detail: `"${String(v)}" has no entry in the value map to ${side === "crm" ? "ERP" : "CRM"} ${f[side === "crm" ? "erp" : "crm"]} (unmapped: error); add it to the map or change the record`,
            });
        }
      }

      // Values longer than the other system's field holds (direct maps), and a shared identifier
      // longer than the CRM's identity field.
      const other: Side = side === "crm" ? "erp" : "crm";
      const targetFields = await fieldsOf(other, obj[other].entity);
      for (const f of obj.fields) {
        if (!sourceSides(f).includes(side)) continue;
        const steps = side === "crm" ? f.toErp : f.toCrm;
        if (steps.some((st) => !("normalize" in st))) continue;
        const max = targetFields[f[other]]?.maxLength;
        if (!max) continue;
        for (const r of er.records) {
          const v = r.values[f[side]];
          if (typeof v === "string" && v.trim().length > max)
            push({
              ...base(r),
              problem: "unmappable-value",
              field: f[side],
              value: v,
              detail: `${v.trim().length} characters; ${other.toUpperCase()} ${obj[other].entity}.${f[other]} holds at most ${max}`,
            });
        }
      }
      // A field the other system requires, fed by a mapping that writes nothing for an empty value.
      for (const f of obj.fields) {
        if (!sourceSides(f).includes(side) || f.required) continue;
        if (!targetFields[f[other]]?.required) continue;
        const steps = side === "crm" ? f.toErp : f.toCrm;
        if (steps.some((st) => "jsonata" in st || ("default" in st && !("map" in st)))) continue; // may fill an empty value
        for (const r of er.records) {
          const v = fieldValue(r.values, f[side]);
          if (v.known && isEmpty(v.value))
            push({
              ...base(r),
              problem: "missing-field",
              field: f[side],
              value: null,
              detail: `${f[side]} is empty, and ${other.toUpperCase()} ${obj[other].entity}.${f[other]} is required there (add a { default: … } step or fill the field)`,
            });
        }
      }
      if (side === "erp" && !obj.parent && obj.crm.identity !== "id") {
        const max = targetFields[obj.crm.identity]?.maxLength;
        if (max) {
          for (const r of er.records) {
            const v = obj.erp.identity === "name" || obj.erp.identity === "id" ? r.id : r.values[obj.erp.identity];
            if (typeof v === "string" && v.length > max)
              push({
                ...base(r),
                problem: "unmappable-value",
                field: obj.erp.identity,
                value: v,
                detail: `the shared identifier has ${v.length} characters; CRM ${obj.crm.entity}.${obj.crm.identity} holds at most ${max} — lengthen that field or rename the record`,
              });
          }
        }
      }

      // Formats of the fields the object maps (and its standardize rules name).
      const fields = new Set<string>(obj.fields.map((f) => f[side]).filter((n) => !n.includes(".") && !n.includes("[")));
      for (const n of Object.keys(spec.standardize?.[side]?.[er.entity] ?? {})) fields.add(n);
      checkFormats(er.records, [...fields], obj, side, (r, problem, field, value, detail) =>
        push({ ...base(r), problem, field, value, detail }),
      );
    }
  }

  // Duplicates within each system and pairs across, on the matched object.
  const duplicates: DuplicateCluster[] = [];
  const clusters: Record<Side, number> = { crm: 0, erp: 0 };
  const orgs: Record<Side, OrgRecord[]> = { crm: [], erp: [] };
  for (const side of ["crm", "erp"] as const) {
    if (!canMatch(ctx, side)) continue;
    const er = await readOf(main, side);
    say(`looking for duplicates among ${er.records.length} ${er.entity} records in the ${side.toUpperCase()}…`);
    orgs[side] = (await readOrgs(ctx, main, side, er.records)).orgs;
    const byId = new Map(er.records.map((r) => [r.id, r]));
    const found: Cluster[] = findDuplicates(orgs[side]);
    clusters[side] = found.length;
    for (const c of found) {
      const labels = c.recordIds.map((id) => (byId.get(id) ? labelOf(byId.get(id) as RemoteRecord) : id));
      duplicates.push({ system: side, id: c.id, recordIds: c.recordIds, labels, why: c.pairs.map((p) => p.explanation) });
      for (const id of c.recordIds) {
        const r = byId.get(id);
        if (!r) continue;
        const others = c.recordIds.filter((x) => x !== id);
        push({
          system: side,
          object: main.name,
          entity: er.entity,
          recordId: id,
          label: labelOf(r),
          problem: "duplicate",
          field: null,
          value: null,
          detail: `same organisation as ${others.map((o) => (byId.get(o) ? `${labelOf(byId.get(o) as RemoteRecord)} (${o})` : o)).join(", ")} — ${c.pairs[0]?.explanation ?? ""}`,
        });
      }
    }
  }
  const links = await allLinks(ctx.store, spec.name, main.name);
  const matchable = canMatch(ctx, "crm") && canMatch(ctx, "erp");
  let cross: MatchResult = { links: [], proposals: [], crmOnly: [], erpOnly: [] };
  if (matchable) {
    say(`matching ${orgs.crm.length} CRM and ${orgs.erp.length} ERP records…`);
    const knownLinks = links.filter((l) => l.crmId && l.erpId).map((l) => ({ crmId: l.crmId as string, erpId: l.erpId as string }));
    cross = matchAcross(orgs.crm, orgs.erp, { knownLinks });
  }

  const counts = { crm: zeroCounts(), erp: zeroCounts() };
  for (const i of issues) counts[i.system][i.problem]++;
  const order = new Map(PROBLEMS.map((p, i) => [p, i]));
  issues.sort(
    (a, b) =>
      a.system.localeCompare(b.system) ||
      (order.get(a.problem) ?? 0) - (order.get(b.problem) ?? 0) ||
      a.object.localeCompare(b.object) ||
      a.label.localeCompare(b.label),
  );
  return {
    integration: spec.name,
    object: main.name,
    objects: objects.map((o) => o.name),
    read,
    summary: {
      counts,
      clusters,
      cross: {
        probablePairs: cross.links.length,
        toReview: cross.proposals.length,
        crmOnly: cross.crmOnly.length,
        erpOnly: cross.erpOnly.length,
        alreadyLinked: links.length,
        matchable,
      },
    },
    duplicates,
    issues,
  };
}

function zeroCounts(): Record<Problem, number> {
  return Object.fromEntries(PROBLEMS.map((p) => [p, 0])) as Record<Problem, number>;
}

type Report = (r: RemoteRecord, problem: Problem, field: string, value: string, detail: string) => void;

const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Format checks on one system's records of one object (pure). */
export function checkFormats(
  records: readonly RemoteRecord[],
  fields: readonly string[],
  obj: ObjectSpec,
  side: Side,
  report: Report,
): void {
  for (const field of fields) {
    const kind = kindOf(field, obj, side);
    // Country spellings: the most used spelling of each country is the system's own; others are variants.
    const spellings = new Map<string, Map<string, number>>();
    if (kind === "country") {
      for (const r of records) {
        const v = r.values[field];
        if (typeof v !== "string" || !v.trim()) continue;
        const iso = normaliseCountry(v);
        if (!iso) continue;
        const m = spellings.get(iso) ?? new Map<string, number>();
        m.set(v, (m.get(v) ?? 0) + 1);
        spellings.set(iso, m);
      }
    }
    const dominant = new Map<string, string>();
    for (const [iso, m] of spellings)
      dominant.set(iso, [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? "");

    for (const r of records) {
      const v = r.values[field];
      if (typeof v !== "string" || v === "") continue;
      if (v !== v.trim() || /\S {2,}\S/.test(v)) report(r, "whitespace", field, v, "leading, trailing or repeated spaces");
      const t = v.trim();
      if (!t) continue;
      switch (kind) {
        case "phone":
          if (!E164.test(t.replace(/[\s\-().]/g, "")) || !t.startsWith("+"))
            report(r, "phone-format", field, v, "not an international number (+country code, digits)");
          else if (t !== t.replace(/[\s\-().]/g, ""))
            report(r, "phone-format", field, v, `written with separators; E.164 is ${t.replace(/[\s\-().]/g, "")}`);
          break;
        case "email":
          if (!EMAIL.test(t)) report(r, "email-format", field, v, "not a valid e-mail address");
          else if (t !== t.toLowerCase()) report(r, "email-format", field, v, `capital letters; lower case is ${t.toLowerCase()}`);
          break;
        case "country": {
          const iso = normaliseCountry(t);
          if (!iso) report(r, "country-format", field, v, "unknown country (not a name or ISO code the matcher knows)");
          else {
            const d = dominant.get(iso);
            const variants = spellings.get(iso)?.size ?? 1;
            if (variants > 1 && d !== undefined && v !== d)
              report(
                r,
                "country-format",
                field,
                v,
                `${variants} spellings of ${iso.toUpperCase()} in this system; most records write "${d}"`,
              );
          }
          break;
        }
        case "postal":
          if (t !== t.toUpperCase()) report(r, "postal-code-format", field, v, `lower-case letters; upper case is ${t.toUpperCase()}`);
          else if (/^[A-Z]{1,2}-\d/.test(t)) report(r, "postal-code-format", field, v, "country prefix before the code");
          break;
        case "orgName": {
          const letters = t.replace(/[^A-Za-z]/g, "");
          if (letters.length >= 4) {
            // the words before a legal suffix decide: "ACME GMBH" is shouting, "Acme GmbH" is not
            const words = t.split(/\s+/).filter((w) => /[A-Za-z]/.test(w));
            const body = words.length > 1 ? words.slice(0, -1).join(" ") : t;
            const bodyLetters = body.replace(/[^A-Za-z]/g, "");
            if (bodyLetters.length >= 4 && bodyLetters === bodyLetters.toUpperCase()) report(r, "casing", field, v, "all capitals");
            else if (letters === letters.toLowerCase()) report(r, "casing", field, v, "all lower case");
          }
          const s = suffixVariant(t);
          if (s !== t) report(r, "legal-suffix", field, v, `legal form written as a variant; one spelling is "${s}"`);
          break;
        }
        default:
          break;
      }
    }
  }
}
