/** Text rendering of plans and runs for people (the CLI's `plan` and `sync`). */
import type { Json } from "../store/types.ts";
import type { PlanOp, RecordReport, SyncResult } from "./types.ts";

function v(x: Json | undefined): string {
  if (x === undefined) return "";
  if (x === null || x === "") return "∅";
  return JSON.stringify(x);
}

function opLine(op: PlanOp): string {
  const where = op.target ? `${op.target}${op.field ? `.${op.field}` : ""}` : (op.field ?? "");
  const why = op.rule ? `${op.rule}: ${op.reason}` : op.reason;
  switch (op.kind) {
    case "update":
      return `update ${where}: ${v(op.before)} → ${v(op.after)}  (${why})`;
    case "create":
      return op.field ? `  set ${where} = ${v(op.after)}` : `create in ${op.target}  (${why})`;
    case "rebase":
      return `keep   ${where}: ${v(op.before)} → ${v(op.after)} stays in ${op.target}  (${why})`;
    default:
      return `${op.kind.padEnd(6)} ${where ? `${where}: ` : ""}${why}`;
  }
}

export function renderRecord(r: RecordReport): string {
  const pair = `${r.side} ${r.recordId}${r.counterpartId ? ` ↔ ${r.side === "crm" ? "erp" : "crm"} ${r.counterpartId}` : ""}`;
  const lines = [`  ${pair}: ${r.outcome} — ${r.reason}`];
  for (const op of r.ops) lines.push(`      ${opLine(op)}`);
  return lines.join("\n");
}

export function renderResult(res: SyncResult, opts: { heading: boolean } = { heading: true }): string {
  const out: string[] = [];
  if (opts.heading)
    out.push(
      res.dryRun ? `Plan for integration "${res.integration}" (dry run: nothing was written)` : `Sync of integration "${res.integration}"`,
    );
  for (const o of res.objects) {
    const c = o.counts;
    out.push("");
    out.push(
      `${o.object}: read ${c.read} = applied ${c.applied} + unchanged ${c.unchanged} + held ${c.held} + quarantined ${c.quarantined}` +
        `${o.echoes ? ` (echoes of own writes: ${o.echoes})` : ""}${o.deletions ? `, deletions: ${o.deletions}` : ""}${o.recovered ? `, recovered creates: ${o.recovered}` : ""}${o.runId !== null ? `  [run #${o.runId}]` : ""}`,
    );
    for (const r of o.records) out.push(renderRecord(r));
    if (o.unlisted)
      out.push(
        `  … and ${o.unlisted} more record(s) not listed (the report limit keeps memory flat; \`accord history\` has every change, --verbose lists all)`,
      );
  }
  const t = res.totals;
  out.push("");
  out.push(`total: read ${t.read}, applied ${t.applied}, unchanged ${t.unchanged}, held ${t.held}, quarantined ${t.quarantined}`);
  if (t.held + t.quarantined > 0) out.push("Some records need attention: `accord review list` (held) and the quarantine.");
  return out.join("\n");
}
