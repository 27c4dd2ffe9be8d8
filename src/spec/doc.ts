/**
 * The field-mapping document (integration-practice.md § Before go-live): for every synced
 * field its name in CRM and ERP, data type in each, direction and master, transformation,
 * conflict rule and schedule; with a header naming the integration, owners and systems.
 * Rendered as Markdown, CSV (RFC 4180 quoting) or a standalone HTML page (all text escaped).
 */
import { type FieldPath, isFieldPath, parseFieldPath } from "../connectors/field-path.ts";
import type { FieldDescription, SchemaDescription } from "../connectors/types.ts";
import type { ConflictPolicy, FieldMap, IntegrationSpec, ObjectSpec, RecordCondition, Schedule, Side } from "./model.ts";
import { describeTransform } from "./transform.ts";

export type MappingDocFormat = "md" | "csv" | "html";
export interface MappingDocSchemas {
  crm?: SchemaDescription;
  erp?: SchemaDescription;
}

/** One row of the document, as plain strings (also useful to the web UI). */
export interface MappingRow {
  object: string;
  crmEntity: string;
  erpEntity: string;
  crmField: string;
  erpField: string;
  crmType: string;
  erpType: string;
  direction: string;
  master: string;
  toErp: string;
  toCrm: string;
  conflictRule: string;
  required: string;
  schedule: string;
  note: string;
}

export function describeSchedule(s: Schedule): string {
  return "tier" in s ? s.tier : `cron ${s.cron}`;
}

export function describeConflict(c: ConflictPolicy): string {
  switch (c.kind) {
    case "review":
      return "review (held for a person)";
    case "first-created-wins":
      return "first-created wins";
    case "last-updated-wins":
      return `last-updated wins (skew tolerance ${c.skewToleranceMs} ms → review)`;
    case "prefer":
      return `prefer ${c.side.toUpperCase()}`;
  }
}

const DIRECTION_TEXT = { "crm->erp": "CRM → ERP", "erp->crm": "ERP → CRM", both: "both" } as const;
const MASTER_EDIT_TEXT = {
  revert: "edit in {other} is reverted",
  ignore: "edit in {other} is ignored",
  review: "edit in {other} is held for review",
} as const;

function fieldType(schemas: MappingDocSchemas | undefined, side: Side, entity: string, field: string): string {
  const s = schemas?.[side];
  if (!s) return "—";
  const e = s.entities[entity];
  if (!e) return "unknown (entity not described)";
  const path = isFieldPath(field) ? safeParse(field) : undefined;
  if (path) {
    // a field of a child-table row: the table's child entity, described when the schema has it
    const t = e.fields[path.table];
    if (!t) return `MISSING in schema (table ${path.table})`;
    if (t.type !== "table") return `NOT A TABLE: ${path.table} is ${typeOf(t)}`;
    const child = t.target ? s.entities[t.target] : undefined;
    const cf = child?.fields[path.field];
    const where = `row of ${path.table}${t.target ? ` (${t.target})` : ""}`;
    if (!child) return `${where}`;
    return cf ? `${typeOf(cf)} in ${where}` : `MISSING in schema (${path.field} of ${where})`;
  }
  const f = e.fields[field];
  if (!f) return field.includes(".") ? "— (path)" : "MISSING in schema";
  return typeOf(f);
}

function typeOf(f: FieldDescription): string {
  return f.type === "other" || f.type === f.nativeType.toLowerCase() ? f.nativeType : `${f.type} (${f.nativeType})`;
}

function safeParse(field: string): FieldPath | undefined {
  try {
    return parseFieldPath(field);
  } catch {
    return undefined;
  }
}

export function mappingRows(spec: IntegrationSpec, schemas?: MappingDocSchemas): MappingRow[] {
  const rows: MappingRow[] = [];
  for (const o of spec.objects) for (const f of o.fields) rows.push(row(o, f, schemas));
  return rows;
}

function row(o: ObjectSpec, f: FieldMap, schemas?: MappingDocSchemas): MappingRow {
  const other = f.master === "crm" ? "ERP" : "CRM";
  return {
    object: o.name,
    crmEntity: o.crm.entity,
    erpEntity: o.erp.entity,
    crmField: f.crm,
    erpField: f.erp,
    crmType: fieldType(schemas, "crm", o.crm.entity, f.crm),
    erpType: fieldType(schemas, "erp", o.erp.entity, f.erp),
    direction: DIRECTION_TEXT[f.direction],
    master: f.master ? f.master.toUpperCase() : "shared",
    toErp: f.direction === "erp->crm" ? "n/a" : describeTransform(f.toErp) || "—",
    toCrm: f.direction === "crm->erp" ? "n/a" : describeTransform(f.toCrm) || "—",
    conflictRule: f.direction === "both" ? describeConflict(f.conflict) : MASTER_EDIT_TEXT[f.onMasterEdit].replace("{other}", other),
    required: f.required ? "yes" : "",
    schedule: describeSchedule(o.schedule),
    note: [
      f.note ?? "",
      f.lookup ? `lookup: the id of a ${f.lookup.object} record, translated through its link` : "",
      f.lines
        ? `line items, row by row: ${f.lines
            .map((l) => {
              const steps = describeTransform(f.direction === "erp->crm" ? l.toCrm : l.toErp);
              return `${l.crm} → ${l.erp}${l.lookup ? ` (lookup ${l.lookup.object})` : ""}${steps ? ` (${steps})` : ""}`.replace(" → ", f.direction === "erp->crm" ? " ← " : " → ");
            })
            .join("; ")}`
        : "",
    ]
      .filter(Boolean)
      .join(" — "),
  };
}

function describeCondition(c: RecordCondition): string {
  const parts = c.equals.map((e) => `${e.field} ${e.values.length > 1 ? "in" : "="} ${e.values.map((v) => JSON.stringify(v)).join(", ")}`);
  if (c.expr) parts.push(c.expr);
  return parts.join(" and ");
}

const COLUMNS: Array<[keyof MappingRow, string]> = [
  ["crmField", "CRM field"],
  ["erpField", "ERP field"],
  ["crmType", "CRM type"],
  ["erpType", "ERP type"],
  ["direction", "Direction"],
  ["master", "Master"],
  ["toErp", "Transform CRM→ERP"],
  ["toCrm", "Transform ERP→CRM"],
  ["conflictRule", "Conflict / master-edit rule"],
  ["required", "Required"],
  ["schedule", "Schedule"],
  ["note", "Note"],
];

function objectFacts(o: ObjectSpec): Array<[string, string]> {
  const facts: Array<[string, string]> = [
    ["CRM", `${o.crm.entity} (identity ${o.crm.identity}${o.crm.createKey ? `; creates write the source id into ${o.crm.createKey}` : ""})`],
    ["ERP", `${o.erp.entity} (identity ${o.erp.identity}${o.erp.createKey ? `; creates write the source id into ${o.erp.createKey}` : ""})`],
    ["Schedule", describeSchedule(o.schedule)],
    ["Creates", o.create],
    ["Deletes", o.deletes],
    ["Default conflict policy", describeConflict(o.conflict)],
  ];
  if (o.parent) facts.push(["Parent", `${o.parent.object} (CRM ${o.parent.crm}, ERP ${o.parent.erp})`]);
  const filters = [
    ...(o.crm.filter ?? []).map((f) => `CRM ${f.field} ${f.op}${f.value === undefined ? "" : ` ${JSON.stringify(f.value)}`}`),
    ...(o.erp.filter ?? []).map((f) => `ERP ${f.field} ${f.op}${f.value === undefined ? "" : ` ${JSON.stringify(f.value)}`}`),
  ];
  if (filters.length) facts.push(["Filter", filters.join("; ")]);
  for (const side of ["crm", "erp"] as const) {
    const w = o.when?.[side];
    if (w) facts.push(["Trigger", `${side.toUpperCase()} record matches: ${describeCondition(w)} (linked or created only then)`]);
    const z = o.freeze?.[side];
    if (z) facts.push(["Frozen", `no writes into the ${side.toUpperCase()} record once ${describeCondition(z)}`]);
    const a = (side === "crm" ? o.crm : o.erp).aggregate;
    if (a) {
      const parts = [
        a.sum.length ? `sum of ${a.sum.join(", ")}` : "",
        a.max?.length ? `latest (max) of ${a.max.join(", ")}` : "",
        a.min?.length ? `earliest (min) of ${a.min.join(", ")}` : "",
      ].filter(Boolean);
      const entity = (side === "crm" ? o.crm : o.erp).entity;
      facts.push([
        "Aggregate",
        `${side.toUpperCase()} ${entity} grouped by ${a.groupBy}, ${parts.join(", ")} (read-only; a linked group with no rows left reads as 0 / empty)`,
      ]);
    }
  }
  for (const h of o.holdIf ?? []) facts.push(["Held when", `${h.side.toUpperCase()}: ${h.expr} — ${h.reason}`]);
  if (o.updates === "never") facts.push(["Updates", "create-only: the created record is not written again"]);
  if (o.submit) facts.push(["Submit", o.submit === "submit" ? "created documents are submitted" : "created documents stay drafts"]);
  for (const side of ["crm", "erp"] as const) {
    const c = o.createWith?.[side];
    if (c) facts.push(["Create with", `${side.toUpperCase()}: ${Object.entries(c).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")}`]);
    const e = o.errors?.[side];
    if (e) facts.push(["Sync errors shown in", `${side.toUpperCase()} ${e}`]);
  }
  return facts;
}

function headerFacts(spec: IntegrationSpec): Array<[string, string]> {
  const person = (p: { name: string; email: string }) => `${p.name} <${p.email}>`;
  const facts: Array<[string, string]> = [
    ["Integration", spec.name],
    ["CRM", `${spec.systems.crm.type} at ${spec.systems.crm.url}`],
    ["ERP", `${spec.systems.erp.type} at ${spec.systems.erp.url}`],
    ["Owner", person(spec.owner)],
  ];
  if (spec.secondaryOwner) facts.push(["Secondary owner", person(spec.secondaryOwner)]);
  if (spec.description) facts.push(["Description", spec.description]);
  if (spec.source?.file) facts.push(["Source", spec.source.file]);
  return facts;
}

/** Render the field-mapping document. */
export function renderMappingDoc(spec: IntegrationSpec, format: MappingDocFormat, schemas?: MappingDocSchemas): string {
  switch (format) {
    case "md":
      return renderMarkdown(spec, schemas);
    case "csv":
      return renderCsv(spec, schemas);
    case "html":
      return renderHtml(spec, schemas);
    default:
      throw new Error(`Unknown format "${String(format)}": use md, csv or html.`);
  }
}

// ---------------------------------------------------------------- Markdown

function mdCell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function renderMarkdown(spec: IntegrationSpec, schemas?: MappingDocSchemas): string {
  const out: string[] = [`# Field mapping: ${mdCell(spec.name)}`, ""];
  for (const [k, v] of headerFacts(spec)) out.push(`- **${k}:** ${mdCell(v)}`);
  for (const o of spec.objects) {
    out.push("", `## ${mdCell(o.name)}: ${mdCell(o.crm.entity)} ↔ ${mdCell(o.erp.entity)}`, "");
    for (const [k, v] of objectFacts(o)) out.push(`- **${k}:** ${mdCell(v)}`);
    out.push("");
    out.push(`| ${COLUMNS.map(([, h]) => h).join(" | ")} |`);
    out.push(`| ${COLUMNS.map(() => "---").join(" | ")} |`);
    for (const f of o.fields) {
      const r = row(o, f, schemas);
      out.push(`| ${COLUMNS.map(([k]) => mdCell(r[k])).join(" | ")} |`);
    }
    if (!o.fields.length) out.push("", "_No mapped fields (links only)._");
  }
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------- CSV

function csvCell(s: string): string {
  // quote everything that needs it; neutralise spreadsheet formulas
  const v = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(v) || v !== s || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function renderCsv(spec: IntegrationSpec, schemas?: MappingDocSchemas): string {
  const cols: Array<[keyof MappingRow, string]> = [["object", "Object"], ["crmEntity", "CRM entity"], ["erpEntity", "ERP entity"], ...COLUMNS];
  const lines = [cols.map(([, h]) => csvCell(h)).join(",")];
  for (const r of mappingRows(spec, schemas)) lines.push(cols.map(([k]) => csvCell(r[k])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

// ---------------------------------------------------------------- HTML

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function renderHtml(spec: IntegrationSpec, schemas?: MappingDocSchemas): string {
  const e = escapeHtml;
  const dl = (facts: Array<[string, string]>) => `<dl>${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join("")}</dl>`;
  const parts: string[] = [];
  parts.push(`<h1>Field mapping: ${e(spec.name)}</h1>`, dl(headerFacts(spec)));
  for (const o of spec.objects) {
    parts.push(`<h2>${e(o.name)}: ${e(o.crm.entity)} ↔ ${e(o.erp.entity)}</h2>`, dl(objectFacts(o)));
    const head = `<tr>${COLUMNS.map(([, h]) => `<th scope="col">${e(h)}</th>`).join("")}</tr>`;
    const body = o.fields
      .map((f) => {
        const r = row(o, f, schemas);
        return `<tr class="dir-${e(f.direction.replace(/[^a-z]/g, ""))}">${COLUMNS.map(([k]) => `<td>${e(r[k])}</td>`).join("")}</tr>`;
      })
      .join("\n");
    parts.push(o.fields.length ? `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>` : "<p><em>No mapped fields (links only).</em></p>");
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Field mapping: ${e(spec.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
dd{margin:0}
tr.dir-both td:nth-child(5){font-weight:600}
</style>
</head>
<body>
${parts.join("\n")}
</body>
</html>
`;
}
