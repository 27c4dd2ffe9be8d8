/**
 * Standardisation before go-live: the format rules an integration file declares under
 * `standardize:` (side → entity → field → rules), turned into concrete changes.
 *
 *   standardizeValue(rules, value, record)   one value through its rules (pure)
 *   suffixVariant(name)                      the one spelling of a trailing legal form ("Acme L.L.C." → "Acme LLC")
 *   planFixes(ctx)                           every change, per record and field, before → after (reads only)
 *   applyFixes(ctx, plan)                    writes them through the connectors, keeps an undo log
 *   undoFixes(ctx, runId)                    puts the values back (only where nobody changed them since)
 *
 * The undo log is a JSON file under `${ACCORD_HOME:-.accord}/undo/<integration>-<run>.json`; every
 * write is also in the store's change log (`accord history`), with the rule that made it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Connector, RemoteRecord } from "../connectors/types.ts";
import { NotFound, ValidationRejected } from "../errors.ts";
import type { IntegrationSpec, Side, StandardizeRule } from "../spec/model.ts";
import type { Json, Store } from "../store/types.ts";
import { normaliseCountry } from "./normalize.ts";

// ---------------------------------------------------------------- legal suffixes

/** A trailing legal form, compacted (case folded, dots and slashes removed) → its one spelling. */
const SUFFIX_SPELLING: Readonly<Record<string, string>> = {
  inc: "Inc.",
  incorporated: "Inc.",
  llc: "LLC",
  llp: "LLP",
  lp: "LP",
  ltd: "Ltd",
  limited: "Ltd",
  plc: "PLC",
  corp: "Corp.",
  corporation: "Corp.",
  co: "Co.",
  gmbh: "GmbH",
  mbh: "mbH",
  ag: "AG",
  kg: "KG",
  kgaa: "KGaA",
  ohg: "OHG",
  ug: "UG",
  sa: "S.A.",
  sarl: "SARL",
  sas: "SAS",
  sasu: "SASU",
  eurl: "EURL",
  sl: "S.L.",
  slu: "S.L.U.",
  srl: "S.r.l.",
  spa: "S.p.A.",
  bv: "B.V.",
  nv: "N.V.",
  kk: "K.K.",
  oy: "Oy",
  oyj: "Oyj",
  ab: "AB",
  pty: "Pty",
  pte: "Pte",
  ltda: "Ltda.",
};

const SUFFIX_RE = /^(.*?\S)(,?\s+)([\p{L}./]+)\s*$/u;

/** The name with its trailing legal form in its one spelling; the name unchanged when it has none. */
export function suffixVariant(name: string): string {
  const m = SUFFIX_RE.exec(name);
  if (!m) return name;
  const [, head, , last] = m as unknown as [string, string, string, string];
  const compact = last.toLowerCase().replace(/[./]/g, "");
  const spelling = SUFFIX_SPELLING[compact];
  if (!spelling) return name;
  return `${head.replace(/,$/, "")} ${spelling}`;
}

// ---------------------------------------------------------------- countries and phones

const REGION_NAMES = new Intl.DisplayNames(["en"], { type: "region" });

/** ISO code → the English short name ERP systems use for their country lists ("DE" → "Germany"). */
export function countryName(iso2: string): string | undefined {
  const code = iso2.toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) return undefined;
  try {
    const n = REGION_NAMES.of(code);
    return n && n !== code ? n : undefined;
  } catch {
    return undefined;
  }
}

/** International calling codes of the countries seen most (ISO2 → code). */
const CALLING_CODES: Readonly<Record<string, string>> = {
  US: "1",
  CA: "1",
  GB: "44",
  DE: "49",
  FR: "33",
  JP: "81",
  ES: "34",
  NL: "31",
  AE: "971",
  IL: "972",
  GR: "30",
  BG: "359",
  IT: "39",
  CH: "41",
  AT: "43",
  BE: "32",
  SE: "46",
  NO: "47",
  DK: "45",
  FI: "358",
  PL: "48",
  IE: "353",
  PT: "351",
  LU: "352",
  CZ: "420",
  HU: "36",
  RO: "40",
  TR: "90",
  RU: "7",
  UA: "380",
  CN: "86",
  IN: "91",
  AU: "61",
  NZ: "64",
  BR: "55",
  MX: "52",
  SG: "65",
  HK: "852",
  KR: "82",
  ZA: "27",
  SA: "966",
  AR: "54",
  CL: "56",
  CO: "57",
  PE: "51",
};

/**
 * A phone number in E.164 ("+4930123456"): "+…" and "00…" keep their country code; a national
 * number gets the calling code of `countryHint` (its trunk 0 dropped). Extensions are dropped.
 * Undefined when the number cannot be made E.164 (no country known, too few or many digits).
 */
export function phoneE164(phone: string, countryHint?: string): string | undefined {
  const main = (phone.split(/(?:ext\.?|x|#)/i)[0] ?? "").trim();
  const digits = main.replace(/\D/g, "");
  let out: string | undefined;
  if (main.startsWith("+")) out = digits;
  else if (digits.startsWith("00")) out = digits.slice(2);
  else {
    const iso = countryHint ? normaliseCountry(countryHint).toUpperCase() : "";
    const cc = CALLING_CODES[iso];
    if (!cc) return undefined;
    if (cc === "1" && digits.length === 11 && digits.startsWith("1")) out = digits;
    else out = cc + (iso === "IT" ? digits : digits.replace(/^0/, ""));
  }
  if (out.length < 8 || out.length > 15) return undefined;
  return `+${out}`;
}

// ---------------------------------------------------------------- rules

/** Fields of a record that hold its country (the phone rule reads them for national numbers). */
function countryOf(record: Readonly<Record<string, unknown>>): string | undefined {
  for (const [k, v] of Object.entries(record)) if (/country/i.test(k) && typeof v === "string" && v.trim()) return v;
  return undefined;
}

function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s\-'’(/])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase());
}

/**
 * One value through its rules, in order. Non-strings and empty strings are returned as they are.
 * A rule that cannot apply (an unknown country, a phone without a country) leaves the value as it is.
 */
export function standardizeValue(
  rules: readonly StandardizeRule[],
  value: unknown,
  record: Readonly<Record<string, unknown>> = {},
): unknown {
  if (typeof value !== "string" || value === "") return value;
  let v = value;
  for (const rule of rules) {
    switch (rule) {
      case "trim":
        v = v.trim();
        break;
      case "collapse-spaces":
        v = v.replace(/[ \t\u00a0]{2,}/g, " ");
        break;
      case "upper":
        v = v.toUpperCase();
        break;
      case "lower":
        v = v.toLowerCase();
        break;
      case "title":
        v = titleCase(v);
        break;
      case "suffix":
        v = suffixVariant(v);
        break;
      case "phone-e164":
        v = phoneE164(v, countryOf(record)) ?? v;
        break;
      case "country-iso2": {
        const iso = normaliseCountry(v);
        if (iso) v = iso.toUpperCase();
        break;
      }
      case "country-name": {
        const iso = normaliseCountry(v);
        const n = iso ? countryName(iso) : undefined;
        if (n) v = n;
        break;
      }
      case "email":
        v = v.trim().toLowerCase();
        break;
      case "postal-code":
        v = v.trim().toUpperCase().replace(/\s+/g, " ");
        break;
      case "website":
        v = v.trim().toLowerCase().replace(/\/+$/, "");
        break;
    }
  }
  return v;
}

// ---------------------------------------------------------------- plan, apply, undo

export interface FixChange {
  side: Side;
  entity: string;
  recordId: string;
  /** A label for people (the record's name). */
  label: string;
  field: string;
  before: string;
  after: string;
  rules: StandardizeRule[];
  /** The version read (the write only happens if the record is still at it). */
  version?: string;
}

export interface FixPlan {
  integration: string;
  read: Array<{ side: Side; entity: string; records: number }>;
  changes: FixChange[];
}

export interface FixContext {
  spec: IntegrationSpec;
  store: Store;
  crm: Connector;
  erp: Connector;
}

const LABEL_FIELDS = ["name", "customer_name", "title", "first_name", "lastName", "last_name", "address_title"];

function labelOf(r: RemoteRecord): string {
  for (const f of LABEL_FIELDS) {
    const v = r.values[f];
    if (typeof v === "string" && v.trim()) return v.trim();
  }
  return r.id;
}

async function readAll(conn: Connector, entity: string): Promise<RemoteRecord[]> {
  const out: RemoteRecord[] = [];
  for await (const page of conn.readChanges(entity, {})) out.push(...page.records);
  return out;
}

/** Every change the `standardize:` rules make, per record and field. Reads only. */
export async function planFixes(ctx: FixContext, opts: { side?: Side; entity?: string } = {}): Promise<FixPlan> {
  const rules = ctx.spec.standardize ?? {};
  const plan: FixPlan = { integration: ctx.spec.name, read: [], changes: [] };
  for (const side of ["crm", "erp"] as const) {
    if (opts.side && opts.side !== side) continue;
    for (const [entity, fields] of Object.entries(rules[side] ?? {})) {
      if (opts.entity && opts.entity !== entity) continue;
      const records = await readAll(side === "crm" ? ctx.crm : ctx.erp, entity);
      plan.read.push({ side, entity, records: records.length });
      for (const r of records) {
        for (const [field, list] of Object.entries(fields)) {
          const before = r.values[field];
          if (typeof before !== "string") continue;
          const after = standardizeValue(list, before, r.values);
          if (typeof after !== "string" || after === before) continue;
          const c: FixChange = { side, entity, recordId: r.id, label: labelOf(r), field, before, after, rules: list };
          if (r.version !== undefined) c.version = r.version;
          plan.changes.push(c);
        }
      }
    }
  }
  return plan;
}

export interface UndoEntry {
  side: Side;
  entity: string;
  recordId: string;
  field: string;
  before: string;
  after: string;
}

export interface UndoLog {
  format: "accord-fix-undo/1";
  integration: string;
  runId: string;
  at: string;
  /** The changes made (failed ones are not listed). */
  entries: UndoEntry[];
  undoneAt?: string;
}

export interface FixRunResult {
  runId: string;
  undoFile: string;
  applied: number;
  records: number;
  failed: Array<{ side: Side; entity: string; recordId: string; error: string }>;
}

/** The folder of undo logs: `${ACCORD_HOME:-.accord}/undo`. */
export function undoDir(): string {
  return resolve(process.env.ACCORD_HOME || ".accord", "undo");
}

function undoFileOf(dir: string, integration: string, runId: string): string {
  return join(dir, `${integration}-${runId}.json`);
}

function newRunId(now: Date): string {
  // to the millisecond, so two runs never share an undo log
  return `fix-${now.toISOString().replace(/[-:.]/g, "")}`;
}

/** The spec object a change log entry belongs to: the first object on that entity (history is per object). */
export function objectOfEntity(spec: IntegrationSpec, side: Side, entity: string): string {
  return spec.objects.find((o) => o[side].entity === entity)?.name ?? entity;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Make the planned changes: one update per record (its fields together, only if the record is still
 * at the version read). The undo log is written before the first write and after every record, so
 * an interruption leaves a log of exactly what was changed.
 */
export async function applyFixes(ctx: FixContext, plan: FixPlan, opts: { dir?: string; now?: Date } = {}): Promise<FixRunResult> {
  const dir = opts.dir ?? undoDir();
  mkdirSync(dir, { recursive: true });
  const now = opts.now ?? new Date();
  const runId = newRunId(now);
  const file = undoFileOf(dir, plan.integration, runId);
  const log: UndoLog = { format: "accord-fix-undo/1", integration: plan.integration, runId, at: now.toISOString(), entries: [] };
  const save = () => writeFileSync(file, `${JSON.stringify(log, null, 2)}\n`);
  save();
  const byRecord = new Map<string, FixChange[]>();
  for (const c of plan.changes) {
    const k = `${c.side}\u0000${c.entity}\u0000${c.recordId}`;
    const list = byRecord.get(k);
    if (list) list.push(c);
    else byRecord.set(k, [c]);
  }
  const result: FixRunResult = { runId, undoFile: file, applied: 0, records: 0, failed: [] };
  for (const changes of byRecord.values()) {
    const first = changes[0] as FixChange;
    const conn = first.side === "crm" ? ctx.crm : ctx.erp;
    const values: Record<string, unknown> = {};
    for (const c of changes) values[c.field] = c.after;
    try {
      await conn.update(first.entity, first.recordId, values, first.version !== undefined ? { ifVersion: first.version } : undefined);
    } catch (err) {
      result.failed.push({ side: first.side, entity: first.entity, recordId: first.recordId, error: errText(err) });
      continue;
    }
    for (const c of changes)
      log.entries.push({ side: c.side, entity: c.entity, recordId: c.recordId, field: c.field, before: c.before, after: c.after });
    save();
    result.records++;
    result.applied += changes.length;
    await ctx.store.logChanges(
      changes.map((c) => ({
        integration: plan.integration,
        object: objectOfEntity(ctx.spec, c.side, c.entity),
        runId: null,
        linkId: null,
        target: c.side,
        recordId: c.recordId,
        field: c.field,
        before: c.before as Json,
        after: c.after as Json,
        source: "person" as const,
        rule: `standardize ${c.rules.join(", ")} (accord fix ${runId})`,
      })),
    );
  }
  return result;
}

export interface UndoResult {
  runId: string;
  reverted: number;
  /** Values someone changed after the fix: left alone. */
  skipped: Array<UndoEntry & { now: unknown }>;
  failed: Array<{ side: Side; entity: string; recordId: string; error: string }>;
}

/** Undo logs of an integration, newest first. */
export function listUndoLogs(integration: string, dir = undoDir()): UndoLog[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(`${integration}-fix-`) && n.endsWith(".json"));
  } catch {
    return [];
  }
  return names.map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")) as UndoLog).sort((a, b) => b.runId.localeCompare(a.runId));
}

/** Put back the values a fix run changed — only where the value is still the one the fix wrote. */
export async function undoFixes(ctx: FixContext, runId: string, opts: { dir?: string } = {}): Promise<UndoResult> {
  const dir = opts.dir ?? undoDir();
  const file = undoFileOf(dir, ctx.spec.name, runId);
  let log: UndoLog;
  try {
    log = JSON.parse(readFileSync(file, "utf8")) as UndoLog;
  } catch {
    const known = listUndoLogs(ctx.spec.name, dir).map((l) => l.runId);
    throw new NotFound(`accord fix --undo ${runId}: no undo log ${file}.`, {
      hint: known.length
        ? `Known runs of ${ctx.spec.name}: ${known.join(", ")}.`
        : "No fix run of this integration has an undo log here (ACCORD_HOME).",
    });
  }
  if (log.undoneAt)
    throw new ValidationRejected(`accord fix --undo ${runId}: this run was already undone at ${log.undoneAt}.`, {
      hint: "Nothing to do; run `accord fix FILE --plan` to see the current state.",
    });
  const result: UndoResult = { runId, reverted: 0, skipped: [], failed: [] };
  const byRecord = new Map<string, UndoEntry[]>();
  for (const e of log.entries) {
    const k = `${e.side}\u0000${e.entity}\u0000${e.recordId}`;
    const list = byRecord.get(k);
    if (list) list.push(e);
    else byRecord.set(k, [e]);
  }
  for (const entries of byRecord.values()) {
    const first = entries[0] as UndoEntry;
    const conn = first.side === "crm" ? ctx.crm : ctx.erp;
    try {
      const [now] = await conn.readByIds(first.entity, [first.recordId]);
      if (!now) {
        result.failed.push({ side: first.side, entity: first.entity, recordId: first.recordId, error: "the record no longer exists" });
        continue;
      }
      const values: Record<string, unknown> = {};
      const done: UndoEntry[] = [];
      for (const e of entries) {
        if (now.values[e.field] === e.after) {
          values[e.field] = e.before;
          done.push(e);
        } else if (now.values[e.field] !== e.before) result.skipped.push({ ...e, now: now.values[e.field] });
        // else: already back (an earlier, interrupted undo)
      }
      if (done.length === 0) continue;
      await conn.update(first.entity, first.recordId, values, now.version !== undefined ? { ifVersion: now.version } : undefined);
      result.reverted += done.length;
      await ctx.store.logChanges(
        done.map((e) => ({
          integration: ctx.spec.name,
          object: objectOfEntity(ctx.spec, e.side, e.entity),
          runId: null,
          linkId: null,
          target: e.side,
          recordId: e.recordId,
          field: e.field,
          before: e.after as Json,
          after: e.before as Json,
          source: "person" as const,
          rule: `undo of accord fix ${runId}`,
        })),
      );
    } catch (err) {
      result.failed.push({ side: first.side, entity: first.entity, recordId: first.recordId, error: errText(err) });
    }
  }
  if (result.failed.length === 0) {
    log.undoneAt = new Date().toISOString();
    writeFileSync(file, `${JSON.stringify(log, null, 2)}\n`);
  }
  return result;
}
