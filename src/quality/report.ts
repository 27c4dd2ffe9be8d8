/**
 * How an audit reads: a summary a person takes in within ten seconds (counts per problem and
 * system, then the cross-system picture), then the details as a table; or CSV for a spreadsheet.
 * Pure functions of an AuditReport.
 */
import type { AuditIssue, AuditReport } from "./audit.ts";
import { PROBLEM_LABELS, PROBLEMS } from "./audit.ts";

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}
function padLeft(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/** The ten-second summary. */
export function renderAuditSummary(r: AuditReport): string {
  const c = r.summary.counts;
  const mainRead = { crm: r.read.crm[r.object] ?? 0, erp: r.read.erp[r.object] ?? 0 };
  const lines: string[] = [];
  lines.push(
    `Audit of ${r.integration} — ${r.object}: ${mainRead.crm} CRM records, ${mainRead.erp} ERP records (objects checked: ${r.objects.join(", ")})`,
  );
  lines.push("");
  const w = Math.max(...PROBLEMS.map((p) => PROBLEM_LABELS[p].length)) + 2;
  lines.push(`${pad("problem", w)}${padLeft("CRM", 7)}${padLeft("ERP", 7)}`);
  let total = 0;
  for (const p of PROBLEMS) {
    const a = c.crm[p];
    const b = c.erp[p];
    total += a + b;
    if (a === 0 && b === 0) continue;
    const extra = p === "duplicate" ? `   (clusters: ${r.summary.clusters.crm} CRM, ${r.summary.clusters.erp} ERP)` : "";
    lines.push(`${pad(PROBLEM_LABELS[p], w)}${padLeft(String(a), 7)}${padLeft(String(b), 7)}${extra}`);
  }
  if (total === 0) lines.push("(no problem found)");
  lines.push("");
  const x = r.summary.cross;
  if (x.matchable)
    lines.push(
      `Across systems: ${x.probablePairs} probable pairs${x.alreadyLinked ? ` (${x.alreadyLinked} already linked)` : ""}, ${x.toReview} to review, ${x.crmOnly} CRM-only, ${x.erpOnly} ERP-only.`,
    );
  else lines.push("Across systems: not matched (the matcher cannot read organisations from one of these system types yet).");
  lines.push("");
  lines.push(
    total === 0
      ? "Next: accord link FILE --plan"
      : "Next: accord fix FILE --plan (formats, per the file's standardize rules), accord merge FILE --plan (duplicates), then accord link FILE --plan.",
  );
  return lines.join("\n");
}

function clip(s: string | null, n: number): string {
  if (s === null) return "";
  const one = s.replace(/\s*\n\s*/g, " ⏎ ");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** The details: one row per issue. */
export function renderAuditTable(issues: readonly AuditIssue[], opts: { limit?: number } = {}): string {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const shown = issues.slice(0, limit);
  const rows = shown.map((i) => ({
    system: i.system,
    object: i.object,
    record: i.recordId,
    name: clip(i.label, 32),
    problem: i.problem,
    field: i.field ?? "",
    value: clip(i.value, 28),
    detail: clip(i.detail, 90),
  }));
  const cols = ["system", "object", "record", "name", "problem", "field", "value", "detail"] as const;
  const widths = cols.map((k) => Math.max(k.length, ...rows.map((r) => r[k].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => pad(v, widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [line([...cols]), line(widths.map((n) => "-".repeat(n))), ...rows.map((r) => line(cols.map((k) => r[k])))];
  if (issues.length > shown.length) out.push(`… and ${issues.length - shown.length} more (--json or --csv FILE for all)`);
  return out.join("\n");
}

/** A cell a spreadsheet would run as a formula ("=…", "@…", "+A1", "-x"); phone numbers like "+49 …" are data. */
const FORMULA = /^(?:[=@]|[+-](?![\d\s(]))/;

function csvCell(v: string | null): string {
  const raw = v ?? "";
  const s = FORMULA.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(s) || s !== raw ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV of every issue (formula-looking cells are quoted and prefixed so spreadsheets do not run them). */
export function auditCsv(r: AuditReport): string {
  const head = ["system", "object", "entity", "record_id", "name", "problem", "field", "value", "detail"];
  const rows = r.issues.map((i) =>
    [i.system, i.object, i.entity, i.recordId, i.label, i.problem, i.field, i.value, i.detail].map(csvCell).join(","),
  );
  return `${[head.join(","), ...rows].join("\n")}\n`;
}
