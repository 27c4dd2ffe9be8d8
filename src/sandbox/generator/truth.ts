/** Writing the labelled ground truth of a generated data set as JSON and CSV. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GeneratedData, TruthEntry } from "./types.ts";

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The truth as CSV, one row per record: `truth_id,entity,system,record_type,record_id`.
 * Records sharing a truth_id describe the same real-world thing.
 */
export function truthToCsv(truth: readonly TruthEntry[]): string {
  const type: Record<string, [string, string]> = {
    company: ["Account", "Customer"],
    contact: ["Contact", "Contact"],
    product: ["Product", "Item"],
    deal: ["Opportunity", "Sales Order"],
  };
  const rows = ["truth_id,entity,system,record_type,record_id"];
  for (const t of truth) {
    const [crmType, erpType] = type[t.entity] ?? [t.entity, t.entity];
    for (const id of t.crm) rows.push([t.id, t.entity, "crm", crmType, id].map(csvCell).join(","));
    for (const id of t.erp) rows.push([t.id, t.entity, "erp", erpType, id].map(csvCell).join(","));
  }
  return `${rows.join("\n")}\n`;
}

/**
 * Write the ground truth next to each other as `<base>.json` and `<base>.csv`. `path` may end in
 * `.json` or `.csv` (the other file gets the other extension) or have no such extension.
 * Returns the two paths written.
 */
export function writeTruth(data: GeneratedData | readonly TruthEntry[], path: string): { json: string; csv: string } {
  const truth = Array.isArray(data) ? (data as readonly TruthEntry[]) : (data as GeneratedData).truth;
  const base = path.replace(/\.(json|csv)$/i, "");
  const json = `${base}.json`;
  const csv = `${base}.csv`;
  mkdirSync(dirname(json), { recursive: true });
  const meta = Array.isArray(data)
    ? {}
    : { seed: (data as GeneratedData).seed, asOf: (data as GeneratedData).asOf, summary: (data as GeneratedData).summary };
  writeFileSync(json, `${JSON.stringify({ ...meta, format: "accord-sandbox-truth/1", entities: truth }, null, 1)}\n`);
  writeFileSync(csv, truthToCsv(truth));
  return { json, csv };
}
