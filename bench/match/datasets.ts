/**
 * Loaders and scorers for the public labelled entity-resolution sets in ../shared/datasets/er
 * (see that folder's README.md). Shared by bench/match/run.ts and the regression test.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster, MatchDecision, OrgRecord } from "../../src/quality/types.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** /work/main/../shared/datasets/er — relative to the repository. */
export const ER_DATA_DIR = resolve(here, "../../../shared/datasets/er");

export function erDataAvailable(): boolean {
  return existsSync(resolve(ER_DATA_DIR, "restaurants_fodors_zagat/restaurant-1.csv"));
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes and newlines). `skipInitialSpace` as in Python's csv module. */
export function parseCsv(text: string, skipInitialSpace = false): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let atFieldStart = true;
  let quoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (atFieldStart && skipInitialSpace && c === " ") {
      i++;
      continue;
    }
    if (atFieldStart && c === '"') {
      quoted = true;
      atFieldStart = false;
      i++;
      continue;
    }
    if (c === ",") {
      row.push(field);
      field = "";
      atFieldStart = true;
      i++;
      continue;
    }
    if (c === "\n" || c === "\r") {
      row.push(field);
      field = "";
      rows.push(row);
      row = [];
      atFieldStart = true;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      continue;
    }
    field += c;
    atFieldStart = false;
    i++;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

function objects(text: string, skipInitialSpace: boolean): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text, skipInitialSpace);
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((h, k) => [h.trim(), r[k] ?? ""])));
}

export interface LabelledRecord {
  record: OrgRecord;
  /** Ground-truth entity id. */
  entity: string;
}

function restaurant(row: Record<string, string>, prefix: string, k: number): LabelledRecord {
  const entity = (row.unique_id ?? "").replace(/'/g, "").trim();
  return {
    record: { id: `${prefix}${k}`, name: row.name ?? "", street: row.address ?? "", city: row.city ?? "" },
    entity,
  };
}

/** Fodor's (112) and Zagat (752) restaurants; entity = unique_id. Cuisine is not used (it differs between guides by design). */
export function loadRestaurants(): { left: LabelledRecord[]; right: LabelledRecord[] } {
  const dir = resolve(ER_DATA_DIR, "restaurants_fodors_zagat");
  const left = objects(readFileSync(resolve(dir, "restaurant-1.csv"), "utf8"), true).map((r, k) => restaurant(r, "f", k));
  const right = objects(readFileSync(resolve(dir, "restaurant-2.csv"), "utf8"), true).map((r, k) => restaurant(r, "z", k));
  return { left, right };
}

/** Chicago early-childhood sites (3,337); entity = True Id. */
export function loadChicago(): LabelledRecord[] {
  const file = resolve(ER_DATA_DIR, "chicago_early_childhood/csv_example_input_with_true_ids.csv");
  return objects(readFileSync(file, "utf8"), false).map((r) => {
    const clean = (s: string | undefined): string => (s ?? "").replace(/\s+/g, " ").trim();
    const record: OrgRecord = { id: clean(r.Id), name: clean(r["Site name"]) };
    const street = clean(r.Address);
    if (street) record.street = street;
    const zip = clean(r.Zip);
    if (zip) record.postalCode = zip;
    const phone = clean(r.Phone);
    if (phone) record.phone = phone;
    const web = clean(r.Website);
    if (web) record.website = web;
    const email = clean(r["Email Address"]);
    if (email) record.email = email;
    return { record, entity: clean(r["True Id"]) };
  });
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

export function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, tp, fp, fn };
}

/** Link quality: predicted (left id, right id) pairs vs the true cross pairs (same entity). */
export function scoreLinks(
  predicted: ReadonlyArray<Pick<MatchDecision, "crmId" | "erpId">>,
  left: LabelledRecord[],
  right: LabelledRecord[],
): Prf {
  const entityOf = new Map<string, string>();
  for (const r of [...left, ...right]) entityOf.set(r.record.id, r.entity);
  const rightByEntity = new Map<string, number>();
  for (const r of right) rightByEntity.set(r.entity, (rightByEntity.get(r.entity) ?? 0) + 1);
  let truth = 0;
  for (const r of left) truth += rightByEntity.get(r.entity) ?? 0;
  const seen = new Set<string>();
  let tp = 0;
  let fp = 0;
  for (const p of predicted) {
    const k = `${p.crmId}\u0000${p.erpId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const e = entityOf.get(p.crmId);
    if (e !== undefined && e === entityOf.get(p.erpId)) tp++;
    else fp++;
  }
  return prf(tp, fp, truth - tp);
}

/** Pairwise P/R/F1 of clusters (as dedupe's csv_evaluation.py): pairs sharing a cluster, predicted vs true. */
export function scoreClusters(clusters: readonly Cluster[], records: LabelledRecord[]): Prf {
  const entityOf = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (const r of records) {
    entityOf.set(r.record.id, r.entity);
    sizes.set(r.entity, (sizes.get(r.entity) ?? 0) + 1);
  }
  let truth = 0;
  for (const s of sizes.values()) truth += (s * (s - 1)) / 2;
  let tp = 0;
  let predicted = 0;
  for (const c of clusters) {
    const ids = c.recordIds;
    predicted += (ids.length * (ids.length - 1)) / 2;
    const byEntity = new Map<string, number>();
    for (const id of ids) {
      const e = entityOf.get(id) ?? `?${id}`;
      byEntity.set(e, (byEntity.get(e) ?? 0) + 1);
    }
    for (const s of byEntity.values()) tp += (s * (s - 1)) / 2;
  }
  return prf(tp, predicted - tp, truth - tp);
}
