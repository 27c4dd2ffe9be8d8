/**
 * Loading an integration file: YAML → shape check (schema.ts) → semantic checks → the
 * normalised IntegrationSpec of model.ts.
 *
 * Every problem becomes a SpecIssue with file, line and column of the offending key or value,
 * its path in the document ("objects.customer.fields[3].direction"), what is wrong and what
 * would be right. All problems are collected and thrown together as one SpecError.
 */
import { readFile } from "node:fs/promises";
import { Cron } from "croner";
import jsonata from "jsonata";
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Document, type Node, parseDocument } from "yaml";
import type * as z from "zod";
import { canonicalFieldName, FIELD_PATH_SYNTAX, FieldPathError, fieldRoot, isFieldPath, parseFieldPath } from "../connectors/field-path.ts";
import { connectorInfo, connectorTypes } from "../connectors/registry.ts";
import { SpecError, type SpecIssue } from "../errors.ts";
import type {
  ConflictPolicy,
  FieldMap,
  LineFieldMap,
  RecordCondition,
  IntegrationSpec,
  MonitorSpec,
  RevenueReportSpec,
  Customer360Spec,
  ObjectSpec,
  Schedule,
  Side,
  SystemSpec,
  TransformStep,
} from "./model.ts";
import {
  DIRECTIONS,
  DURATION_RE,
  ENV_REF_RE,
  type IntegrationFile,
  integrationFileSchema,
  PREFER_STRING_RE,
  type RawConflict,
  type RawDuration,
  type RawMonitorSection,
  type RawSchedule,
  type RawTransformStep,
  SCHEDULE_TIERS,
} from "./schema.ts";
import { nearest } from "./suggest.ts";

type Seg = string | number;
type Path = Seg[];

// ---------------------------------------------------------------- public API

/** Parse, check and normalise an integration file. Throws one SpecError listing every problem. */
export function loadSpec(text: string, file: string): IntegrationSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const ctx = new Issues(file, doc, lineCounter);

  for (const e of doc.errors) {
    const p = lineCounter.linePos(e.pos[0]);
    ctx.push({ file, line: p.line, column: p.col, path: "", message: `YAML syntax: ${firstLine(e.message)}`, expected: yamlHint(e.code) });
  }
  if (ctx.issues.length) throw ctx.error();
  if (doc.contents === null || doc.contents === undefined) {
    ctx.push({ file, line: 1, column: 1, path: "", message: "the file is empty", expected: "an integration file starting with `version: 1`" });
    throw ctx.error();
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    ctx.push({ file, line: 1, column: 1, path: "", message: `YAML: ${(e as Error).message}` });
    throw ctx.error();
  }
  if (!isRecord(data)) {
    ctx.add([], "value", "the file must be a mapping of keys (version, name, systems, owner, objects …)", "e.g. `version: 1` on the first line");
    throw ctx.error();
  }

  const parsed = integrationFileSchema.safeParse(data);
  if (!parsed.success) {
    // unknown keys first, so that "missing `owner`" is not reported next to "unknown `ownr`, did you mean `owner`?"
    const zodIssues = [...parsed.error.issues].sort((a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"));
    for (const issue of zodIssues) {
      const path = issue.path.filter((s): s is Seg => typeof s !== "symbol");
      // credentials are checked (without echoing values) by the semantic pass below
      if (path[0] === "systems" && path[2] === "credentials" && path.length > 3) continue;
      mapZodIssue(ctx, data, issue as ZodIssueLike, path);
    }
  }
  semanticChecks(ctx, data);
  if (ctx.issues.length || !parsed.success) throw ctx.error();

  const spec = normalise(parsed.data, ctx);
  spec.source = { file, text };
  return spec;
}

/** Read and load an integration file from disk. */
export async function loadSpecFile(path: string): Promise<IntegrationSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
    throw new SpecError(`Cannot read the integration file ${path}: ${what}.`, [
      { file: path, line: 0, column: 0, path: "", message: `cannot read the file: ${what}`, expected: "the path of a YAML integration file, e.g. examples/espocrm-erpnext.yaml" },
    ]);
  }
  return loadSpec(text, path);
}

/** Parse a duration (`500ms`, `30s`, `5m`, `1h`, `1d`, or a number of ms) into milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") return value;
  const m = DURATION_RE.exec(value);
  if (!m) throw new Error(`"${value}" is not a duration (use e.g. 500ms, 30s, 5m, 1h, 1d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Math.round(Number(m[1]) * unit);
}

/**
 * The credential values of a system, read from the environment variables the file names.
 * Throws a SpecError naming every missing variable (never any value).
 */
export function resolveCredentials(
  system: SystemSpec,
  env: Record<string, string | undefined> = process.env,
  opts: { side?: Side; file?: string } = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  const issues: SpecIssue[] = [];
  for (const [key, ref] of Object.entries(system.credentials)) {
    const v = env[ref.env];
    if (v === undefined || v === "") {
      issues.push({
        file: opts.file ?? "(environment)",
        line: 0,
        column: 0,
        path: `systems.${opts.side ?? system.type}.credentials.${key}`,
        message: `environment variable ${ref.env} is not set (credential \`${key}\` of the ${system.type} system)`,
        expected: `export ${ref.env}=… before running accord`,
      });
    } else out[key] = v;
  }
  if (issues.length) {
    const names = issues.map((i) => /variable (\S+)/.exec(i.message)?.[1]).join(", ");
    throw new SpecError(`Missing credentials for the ${opts.side ?? system.type} system: set ${names}.`, issues);
  }
  return out;
}

/** The system's base URL with `${VAR}` references replaced from the environment. */
export function resolveUrl(
  system: SystemSpec,
  env: Record<string, string | undefined> = process.env,
  opts: { side?: Side; file?: string } = {},
): string {
  const missing: string[] = [];
  const url = system.url.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === "") missing.push(name);
    return v ?? "";
  });
  if (missing.length) {
    throw new SpecError(`Missing URL for the ${opts.side ?? system.type} system: set ${missing.join(", ")}.`, [
      {
        file: opts.file ?? "(environment)",
        line: 0,
        column: 0,
        path: `systems.${opts.side ?? system.type}.url`,
        message: `environment variable ${missing.join(", ")} is not set`,
        expected: `export ${missing[0]}=https://… before running accord`,
      },
    ]);
  }
  return url.replace(/\/+$/, "");
}

/** `objects.customer.fields[3].direction` */
export function pathToString(path: readonly Seg[]): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

// ---------------------------------------------------------------- positions and issues

class Issues {
  readonly issues: SpecIssue[] = [];
  /** "path|missingKey" pairs already explained by a typo suggestion. */
  readonly suggested = new Set<string>();
  readonly file: string;
  readonly doc: Document;
  readonly lc: LineCounter;
  constructor(file: string, doc: Document, lc: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lc = lc;
  }
  push(issue: SpecIssue): void {
    const dup = this.issues.some((i) => i.path === issue.path && i.message === issue.message && i.line === issue.line);
    if (!dup) this.issues.push(issue);
  }
  /** Add an issue positioned at the key or the value found at `path` (or the nearest existing ancestor). */
  add(path: Path, at: "key" | "value", message: string, expected?: string): void {
    const pos = this.position(path, at);
    this.push({ file: this.file, line: pos.line, column: pos.column, path: pathToString(path), message, ...(expected ? { expected } : {}) });
  }
  position(path: Path, at: "key" | "value"): { line: number; column: number } {
    const found = locate(this.doc, path);
    const node = at === "key" ? (found.key ?? found.value) : (found.value ?? found.key);
    const offset = node?.range?.[0] ?? 0;
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }
  /** Add an issue positioned `offset` characters into the string value at `path` (past an opening quote). */
  addInValue(path: Path, offset: number, message: string, expected?: string): void {
    const found = locate(this.doc, path);
    const node = found.value;
    const quoted = isScalar(node) && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") ? 1 : 0;
    const start = node?.range?.[0] ?? 0;
    const p = this.lc.linePos(found.complete ? start + quoted + offset : start);
    this.push({ file: this.file, line: p.line, column: p.col, path: pathToString(path), message, ...(expected ? { expected } : {}) });
  }
  line(path: Path, at: "key" | "value" = "key"): number {
    return this.position(path, at).line;
  }
  error(): SpecError {
    const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.column - b.column);
    const n = sorted.length;
    const first = sorted[0];
    const summary = first ? ` First: line ${first.line}: ${first.path ? `${first.path}: ` : ""}${first.message}.` : "";
    return new SpecError(`${this.file}: ${n} problem${n === 1 ? "" : "s"} in the integration file.${summary}`, sorted);
  }
}

/** Find the YAML nodes of `path`: the key node and value node of the deepest segment that exists. */
function locate(doc: Document, path: Path): { key?: Node; value?: Node; complete: boolean } {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyString(p.key) === String(seg));
      if (!pair) return { key, value: node as Node, complete: false };
      key = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number" && node.items[seg] !== undefined) {
      key = undefined;
      node = node.items[seg];
    } else {
      return { key, value: (node ?? undefined) as Node | undefined, complete: false };
    }
  }
  return { key, value: (node ?? undefined) as Node | undefined, complete: true };
}

function keyString(k: unknown): string {
  if (isScalar(k)) return String(k.value);
  return String(k);
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each key may appear once in a mapping";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "UNEXPECTED_TOKEN":
    case "BLOCK_AS_IMPLICIT_KEY":
      return "check the indentation and the `key: value` syntax on this line";
    case "MISSING_CHAR":
      return "a closing bracket or quote is missing";
    default:
      return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function valueAt(data: unknown, path: Path): { exists: boolean; value: unknown } {
  let cur: unknown = data;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === "number") {
      if (seg >= cur.length) return { exists: false, value: undefined };
      cur = cur[seg];
    } else if (isRecord(cur) && Object.hasOwn(cur, String(seg))) cur = cur[String(seg)];
    else return { exists: false, value: undefined };
  }
  return { exists: true, value: cur };
}

function show(v: unknown): string {
  if (typeof v === "string") return v.length > 60 ? `${v.slice(0, 57)}...` : v;
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

function oneOf(values: readonly unknown[], got?: unknown): string {
  const list = values.map((v) => String(v)).join(", ");
  const s = typeof got === "string" ? nearest(got, values.map(String)) : undefined;
  return `one of: ${list}${s ? `; did you mean \`${s}\`?` : ""}`;
}

// ---------------------------------------------------------------- zod issues → SpecIssues

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  expected?: string;
  errors?: ZodIssueLike[][];
}

interface ZodDefLike {
  type: string;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  entries?: Record<string, unknown>;
  values?: unknown[];
}

function def(s: z.ZodType): ZodDefLike {
  return (s as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

/** Strip wrappers (optional, default, …) and expand unions into their options. */
function unwrap(s: z.ZodType): z.ZodType[] {
  const d = def(s);
  if ((d.type === "optional" || d.type === "default" || d.type === "nullable" || d.type === "prefault" || d.type === "readonly") && d.innerType)
    return unwrap(d.innerType);
  if (d.type === "pipe" && d.in) return unwrap(d.in);
  if (d.type === "union" && d.options) return d.options.flatMap(unwrap);
  return [s];
}

function schemasAt(root: z.ZodType, path: Path): z.ZodType[] {
  let cur: z.ZodType[] = [root];
  for (const seg of path) {
    const next: z.ZodType[] = [];
    for (const s of cur.flatMap(unwrap)) {
      const d = def(s);
      if (d.type === "object" && d.shape && typeof seg === "string" && d.shape[seg]) next.push(d.shape[seg]);
      else if (d.type === "record" && d.valueType) next.push(d.valueType);
      else if (d.type === "array" && d.element && typeof seg === "number") next.push(d.element);
    }
    cur = next;
  }
  return cur;
}

function knownKeys(path: Path): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(integrationFileSchema, path).flatMap(unwrap)) {
    const d = def(s);
    if (d.type === "object" && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

function describeAt(path: Path): string | undefined {
  for (let s of schemasAt(integrationFileSchema, path)) {
    for (;;) {
      const desc = (s as unknown as { description?: string }).description;
      if (desc) return desc;
      const d = def(s);
      if (d.innerType) s = d.innerType;
      else break;
    }
  }
  return undefined;
}

function literalsAt(path: Path): string[] {
  const out: string[] = [];
  for (const s of schemasAt(integrationFileSchema, path).flatMap(unwrap)) {
    const d = def(s);
    if (d.type === "enum" && d.entries) out.push(...Object.values(d.entries).map(String));
    if (d.type === "literal" && d.values) out.push(...d.values.map(String));
  }
  return out;
}

function mapZodIssue(ctx: Issues, data: unknown, issue: ZodIssueLike, path: Path): void {
  const here = valueAt(data, path);
  if ((issue.code === "invalid_type" || issue.code === "invalid_value") && !here.exists && path.length > 0) {
    const parent = path.slice(0, -1);
    const last = String(path[path.length - 1]);
    if (ctx.suggested.has(`${pathToString(parent)}|${last}`)) return;
    const desc = describeAt(path);
    const lits = literalsAt(path);
    ctx.add(parent, "key", `missing required key \`${last}\``, desc ? `${last}: ${desc}` : lits.length ? `${last}: ${oneOf(lits)}` : undefined);
    return;
  }
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(path);
      for (const k of issue.keys ?? []) {
        const s = nearest(k, known);
        if (s) ctx.suggested.add(`${pathToString(path)}|${s}`);
        ctx.add([...path, k], "key", `unknown key \`${k}\``, s ? `did you mean \`${s}\`?` : `known keys here: ${known.join(", ")}`);
      }
      return;
    }
    case "invalid_value": {
      const values = issue.values ?? [];
      ctx.add(path, "value", `\`${show(here.value)}\` is not a valid value`, oneOf(values, here.value));
      return;
    }
    case "invalid_type": {
      const desc = describeAt(path);
      ctx.add(path, "value", `expected ${issue.expected ?? "another type"}, got ${kindOf(here.value)}`, desc);
      return;
    }
    case "invalid_union": {
      const branches = issue.errors ?? [];
      const scored = branches
        .map((errs) => {
          if (errs.some((e) => e.path.length === 0 && ["invalid_type", "invalid_value", "invalid_format"].includes(e.code))) return undefined;
          let score = 0;
          for (const e of errs) {
            if (e.code === "unrecognized_keys") score += 10 * (e.keys?.length ?? 1);
            else if ((e.code === "invalid_type" || e.code === "invalid_value") && e.path.length === 1 && !valueAt(here.value, e.path as Path).exists) score += 10;
            else score += 1;
          }
          return { errs, score };
        })
        .filter((b): b is { errs: ZodIssueLike[]; score: number } => b !== undefined)
        .sort((a, b) => a.score - b.score);
      if (scored.length === 1 || (scored.length > 1 && scored[0].score < scored[1].score)) {
        const errs = [...scored[0].errs].sort((a, b) => (a.code === "unrecognized_keys" ? -1 : b.code === "unrecognized_keys" ? 1 : 0));
        for (const e of errs) mapZodIssue(ctx, data, e, [...path, ...(e.path.filter((s) => typeof s !== "symbol") as Path)]);
        return;
      }
      const desc = describeAt(path);
      if (isRecord(here.value)) {
        const known = knownKeys(path);
        const unknown = Object.keys(here.value).filter((k) => !known.includes(k));
        for (const k of unknown) {
          const s = nearest(k, known);
          ctx.add([...path, k], "key", `unknown key \`${k}\``, s ? `did you mean \`${s}\`?` : desc);
        }
        if (unknown.length) return;
      }
      const lits = literalsAt(path);
      const s = typeof here.value === "string" ? nearest(here.value, lits) : undefined;
      ctx.add(path, "value", `\`${show(here.value)}\` is not a valid value`, `${(desc ?? "see `accord schema`").replace(/\.$/, "")}${s ? `; did you mean \`${s}\`?` : ""}`);
      return;
    }
    default: {
      ctx.add(path, "value", issue.message, describeAt(path));
    }
  }
}

// ---------------------------------------------------------------- semantic checks (on the raw data)

function semanticChecks(ctx: Issues, data: Record<string, unknown>): void {
  const types = connectorTypes();
  const systems = isRecord(data.systems) ? data.systems : {};
  for (const side of ["crm", "erp"] as const) {
    const sys = systems[side];
    if (!isRecord(sys)) continue;
    const base: Path = ["systems", side];
    const type = sys.type;
    const info = typeof type === "string" ? connectorInfo(type) : undefined;
    if (typeof type === "string" && !info) {
      ctx.add([...base, "type"], "value", `unknown connector type \`${type}\``, oneOf(types, type));
    }
    checkCredentials(ctx, sys, base, typeof type === "string" ? type : "?", info?.credentialKeys);
    if (typeof sys.url === "string") checkUrl(ctx, sys.url, [...base, "url"]);
    const opts = sys.options;
    if (isRecord(opts) && typeof opts.timezone === "string" && !validTimezone(opts.timezone)) {
      ctx.add([...base, "options", "timezone"], "value", `\`${opts.timezone}\` is not a time zone`, "an IANA time zone name such as Europe/Berlin or UTC");
    }
  }

  const defaults = isRecord(data.defaults) ? data.defaults : {};
  if (typeof defaults.schedule === "string") checkScheduleString(ctx, defaults.schedule, ["defaults", "schedule"]);
  if (isRecord(defaults.schedule) && typeof defaults.schedule.cron === "string") checkCron(ctx, defaults.schedule.cron, ["defaults", "schedule", "cron"]);

  const objects = data.objects;
  if (isRecord(objects)) {
    const names = Object.keys(objects);
    if (names.length === 0) ctx.add(["objects"], "key", "no objects are defined", "at least one object, e.g. `customer:` with crm, erp and fields");
    names.forEach((name, index) => {
      const obj = objects[name];
      const base: Path = ["objects", name];
      if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) {
        ctx.add(base, "key", `object name \`${name}\` is not allowed`, "a name starting with a letter, then letters, digits, '-' or '_'");
      }
      if (!isRecord(obj)) return;
      if (typeof obj.schedule === "string") checkScheduleString(ctx, obj.schedule, [...base, "schedule"]);
      if (isRecord(obj.schedule) && typeof obj.schedule.cron === "string") checkCron(ctx, obj.schedule.cron, [...base, "schedule", "cron"]);
      if (isRecord(obj.parent) && typeof obj.parent.object === "string") {
        const p = obj.parent.object;
        const before = names.slice(0, index);
        if (p === name) ctx.add([...base, "parent", "object"], "value", `object \`${name}\` cannot be its own parent`, before.length ? oneOf(before, p) : undefined);
        else if (!before.includes(p)) {
          const later = names.includes(p);
          ctx.add(
            [...base, "parent", "object"],
            "value",
            later ? `parent \`${p}\` is defined after \`${name}\`` : `parent \`${p}\` is not an object of this file`,
            later ? `move \`${p}\` above \`${name}\` (parents come first)` : before.length ? `an object defined above: ${oneOf(before, p)}` : "define the parent object above this one",
          );
        }
      }
      const identity = (side: "crm" | "erp") => {
        const o = obj[side];
        return isRecord(o) && typeof o.identity === "string" ? canonicalOrSelf(o.identity) : undefined;
      };
      checkFieldNames(ctx, obj, base);
      if (Array.isArray(obj.fields)) checkFields(ctx, obj.fields, [...base, "fields"], { crm: identity("crm"), erp: identity("erp") });
      checkFlowKeys(ctx, obj, base, names);
      checkCreateKeys(ctx, obj, base);
    });
  }
  checkReports(ctx, data);
  checkMonitor(ctx, data);
}

/** `monitor:`: the objects it names are objects of this file; key fields are fields their maps use. */
function checkMonitor(ctx: Issues, data: Record<string, unknown>): void {
  const m = isRecord(data.monitor) ? data.monitor : undefined;
  const smtp = m && isRecord(m.smtp) ? m.smtp : undefined;
  if (smtp && smtp.password !== undefined && (typeof smtp.password !== "string" || !ENV_REF_RE.test(smtp.password.trim()))) {
    // never echo the value: it may be a real password
    ctx.add(
      ["monitor", "smtp", "password"],
      "value",
      "the SMTP password must be a ${ENV_VAR} reference; a literal password in the file would end up in git, in backups and in logs",
      'password: "${SMTP_PASSWORD}" and set that environment variable where accord runs',
    );
  }
  if (smtp && smtp.password !== undefined && smtp.user === undefined)
    ctx.add(["monitor", "smtp", "user"], "key", "an SMTP password without a user", "add user: NAME (the SMTP AUTH login)");
  if (!m || !isRecord(m.objects)) return;
  const objects = isRecord(data.objects) ? data.objects : {};
  const names = Object.keys(objects);
  for (const [name, o] of Object.entries(m.objects)) {
    const base: Path = ["monitor", "objects", name];
    const obj = objects[name];
    if (!isRecord(obj)) {
      ctx.add(base, "key", `object \`${name}\` is not an object of this file`, names.length ? oneOf(names, name) : undefined);
      continue;
    }
    if (!isRecord(o) || !Array.isArray(o.keyFields)) continue;
    const known = new Set<string>();
    for (const f of Array.isArray(obj.fields) ? obj.fields : []) {
      if (!isRecord(f)) continue;
      for (const side of ["crm", "erp"] as const) if (typeof f[side] === "string") known.add(canonicalOrSelf(f[side] as string));
    }
    o.keyFields.forEach((k, i) => {
      if (!isRecord(k) || typeof k.field !== "string" || known.has(canonicalOrSelf(k.field))) return;
      ctx.add(
        [...base, "keyFields", i, "field"],
        "value",
        `\`${show(k.field)}\` is not a field of object \`${name}\`'s maps`,
        known.size ? oneOf([...known], k.field) : "map the field first (a key field is watched through its field map)",
      );
    });
  }
}

/** `reports.revenue`: the objects it names exist and have what the report needs; field names parse. */
function checkReports(ctx: Issues, data: Record<string, unknown>): void {
  const reports = isRecord(data.reports) ? data.reports : undefined;
  // customer 360 payments: what is not given must come from reports.revenue.payments
  const c360 = reports && isRecord(reports.customer360) ? reports.customer360 : undefined;
  if (c360 && isRecord(c360.payments)) {
    const from = isRecord(reports?.revenue) && isRecord(reports.revenue.payments) ? reports.revenue.payments : {};
    const missing = ["entity", "customer", "amount", "date"].filter((k) => c360.payments && (c360.payments as Record<string, unknown>)[k] === undefined && from[k] === undefined);
    if (missing.length)
      ctx.add(
        ["reports", "customer360", "payments"],
        "value",
        `the customer 360's payments need ${missing.join(", ")}: give ${missing.length > 1 ? "them" : "it"} here or in reports.revenue.payments`,
        "e.g. payments: { entity: Payment Entry, customer: party, amount: paid_amount, date: posting_date }",
      );
  }
  const r = reports && isRecord(reports.revenue) ? reports.revenue : undefined;
  if (!r) return;
  const base: Path = ["reports", "revenue"];
  const objects = isRecord(data.objects) ? data.objects : {};
  const names = Object.keys(objects);
  const objectOk = (path: Path, v: unknown): Record<string, unknown> | undefined => {
    if (typeof v !== "string") return undefined;
    const o = objects[v];
    if (!isRecord(o)) {
      ctx.add(path, "value", `object \`${v}\` is not an object of this file`, names.length ? oneOf(names, v) : undefined);
      return undefined;
    }
    return o;
  };
  const fieldOk = (path: Path, v: unknown) => {
    if (typeof v !== "string" || !isFieldPath(v)) return;
    try {
      parseFieldPath(v);
    } catch (e) {
      if (e instanceof FieldPathError) ctx.addInValue(path, e.position, `bad field path: ${e.message}`, FIELD_PATH_SYNTAX);
    }
  };
  const walk = (v: unknown, path: Path) => {
    if (!isRecord(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "string" && !["object", "entity", "customers"].includes(k)) fieldOk([...path, k], x);
      else if (isRecord(x) && k !== "won") walk(x, [...path, k]);
    }
  };
  walk(r, base);
  const deals = isRecord(r.deals) ? r.deals : undefined;
  const dealsObj = deals ? objectOk([...base, "deals", "object"], deals.object) : undefined;
  if (deals && dealsObj && deals.won === undefined && !(isRecord(dealsObj.when) && isRecord(dealsObj.when.crm))) {
    ctx.add([...base, "deals"], "key", `object \`${String(deals.object)}\` has no \`when.crm\` trigger to tell booked deals`, "won: { stage: Closed Won } (the condition that makes a deal booked)");
  }
  if (deals && isRecord(deals.won)) {
    for (const k of Object.keys(deals.won)) {
      if (k.startsWith("$") && k !== "$state" && k !== "$expr") ctx.add([...base, "deals", "won", k], "key", `unknown condition key \`${k}\``, "a field name, $state (document state) or $expr (JSONata)");
    }
    const expr = deals.won.$expr;
    if (typeof expr === "string") {
      try {
        jsonata(expr);
      } catch (e) {
        ctx.add([...base, "deals", "won", "$expr"], "value", `JSONata syntax error: ${(e as Error).message}`, "a JSONata expression over the deal");
      }
    }
  }
  const prices = isRecord(r.prices) ? r.prices : undefined;
  if (prices) objectOk([...base, "prices", "object"], prices.object);
  if (typeof r.customers === "string") objectOk([...base, "customers"], r.customers);
}

function checkCredentials(ctx: Issues, sys: Record<string, unknown>, base: Path, type: string, keys?: { required: string[]; optional?: string[] }): void {
  const creds = sys.credentials;
  const path: Path = [...base, "credentials"];
  if (creds === undefined) return; // zod reports the missing key
  if (!isRecord(creds)) {
    ctx.add(path, "value", "credentials must be a mapping of name → ${ENV_VAR}", 'e.g. credentials: { apiKey: "${ESPOCRM_API_KEY}" }');
    return;
  }
  const side = String(base[1]).toUpperCase();
  for (const [k, v] of Object.entries(creds)) {
    if (typeof v !== "string" || !ENV_REF_RE.test(v.trim())) {
      // never echo the value: it may be a real secret
      ctx.add(
        [...path, k],
        "value",
        "credentials must be given as ${ENV_VAR} references; a literal secret in the file would end up in git, in backups and in logs",
        `${k}: "\${${type === "?" ? side : type.toUpperCase()}_${snake(k)}}" and set that environment variable where accord runs`,
      );
    }
    if (keys) {
      const all = [...keys.required, ...(keys.optional ?? [])];
      if (!all.includes(k)) {
        const s = nearest(k, all);
        ctx.add([...path, k], "key", `unknown credential \`${k}\` for connector ${type}`, s ? `did you mean \`${s}\`?` : `known credentials: ${all.join(", ")}`);
      }
    }
  }
  if (keys) {
    for (const req of keys.required) {
      if (!Object.hasOwn(creds, req)) {
        ctx.add(path, "key", `missing credential \`${req}\` (required by connector ${type})`, `${req}: "\${${type.toUpperCase()}_${snake(req)}}"`);
      }
    }
  }
}

function snake(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function checkUrl(ctx: Issues, url: string, path: Path): void {
  const trimmed = url.trim();
  if (ENV_REF_RE.test(trimmed)) return;
  if (trimmed.includes("${") && !/\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(trimmed)) {
    ctx.add(path, "value", `malformed environment reference in url \`${show(url)}\``, 'write "${NAME}" with letters, digits and _ only');
    return;
  }
  const probe = trimmed.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, "placeholder");
  let ok = false;
  try {
    const u = new URL(probe);
    ok = u.protocol === "http:" || u.protocol === "https:";
  } catch {
    ok = false;
  }
  if (!ok) ctx.add(path, "value", `\`${show(url)}\` is not an http(s) URL`, 'an http(s) URL such as https://crm.example.com, or "${ESPOCRM_URL}"');
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const SCHEDULE_EXPECTED = 'realtime, hourly, daily, or a 5-field cron such as "*/15 * * * *"';

function checkScheduleString(ctx: Issues, s: string, path: Path): void {
  if ((SCHEDULE_TIERS as readonly string[]).includes(s)) return;
  if (/\s/.test(s.trim())) {
    checkCron(ctx, s, path);
    return;
  }
  const sug = nearest(s, SCHEDULE_TIERS);
  ctx.add(path, "value", `\`${show(s)}\` is not a schedule`, `${SCHEDULE_EXPECTED}${sug ? `; did you mean \`${sug}\`?` : ""}`);
}

function checkCron(ctx: Issues, expr: string, path: Path): void {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    ctx.add(path, "value", `cron \`${expr}\` has ${fields.length} fields`, "5 fields: minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\"");
    return;
  }
  try {
    new Cron(expr.trim(), { paused: true });
  } catch (e) {
    ctx.add(path, "value", `invalid cron \`${expr}\`: ${(e as Error).message}`, "5 fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"");
  }
}

/**
 * `createKey` of a side: a plain field of the record that only Accord's creates write (the source id),
 * so that recovery can find an interrupted create by it. Not a path, not the record id, not the
 * identity, not written by a field map or `createWith`, on a side this object creates into.
 */
function checkCreateKeys(ctx: Issues, obj: Record<string, unknown>, base: Path): void {
  // `crm: { identity: id }`: the shared id is the CRM record's own id, carried by the ERP record in its identity
  // field (written by Accord's creates into the ERP). A record created in the CRM gets its id only from the CRM,
  // after the create, and the ERP record's identity would then need a stamp the engine does not make.
  const crmSide = obj.crm;
  const erpSide = obj.erp;
  if (isRecord(crmSide) && crmSide.identity === "id" && isRecord(erpSide) && !isRecord(erpSide.aggregate)) {
    if (obj.create === "both" || obj.create === "erp->crm")
      ctx.add(
        [...base, "create"],
        "value",
        `with crm: { identity: id } the shared id is the CRM record's own id, which a record created in the CRM has only after its create: create: ${String(obj.create)} cannot create into the CRM here`,
        "create: crm->erp, link-only or never — or a CRM identity field (e.g. cAccordId) that Accord stamps",
      );
    if (erpSide.identity === "id")
      ctx.add([...base, "erp", "identity"], "value", "with crm: { identity: id } the ERP record must carry the CRM id in a field of its own", "e.g. erp: { identity: custom_accord_id }");
  }
  for (const side of ["crm", "erp"] as const) {
    const o = obj[side];
    if (!isRecord(o) || typeof o.createKey !== "string" || o.createKey.trim() === "") continue;
    const key = o.createKey;
    const path: Path = [...base, side, "createKey"];
    const other = side === "crm" ? "erp" : "crm";
    const example = "a custom field of the record, e.g. custom_accord_id";
    if (isFieldPath(key)) {
      ctx.add(path, "value", `createKey \`${show(key)}\` is a path into a child table; it must be a field of the record itself`, example);
      continue;
    }
    if (key === "id") {
      ctx.add(path, "value", "createKey cannot be the record id: the system assigns it", example);
      continue;
    }
    if (typeof o.identity === "string" && key === o.identity) {
      ctx.add(path, "value", `createKey \`${key}\` is the ${side.toUpperCase()} identity field; Accord stamps the shared id there`, example);
      continue;
    }
    if (isRecord(o.aggregate)) {
      ctx.add(path, "key", "an aggregate side is read-only; Accord creates nothing there", "remove createKey");
      continue;
    }
    const create = obj.create;
    if (create === "never" || create === "link-only" || create === `${side}->${other}`) {
      ctx.add(path, "key", `createKey is written by creates into ${side.toUpperCase()}; create: ${String(create)} never creates there`, `remove createKey, or create: both or ${other}->${side}`);
      continue;
    }
    const fields = Array.isArray(obj.fields) ? obj.fields : [];
    fields.forEach((f, i) => {
      if (!isRecord(f) || f[side] !== key) return;
      if (f.direction === "both" || f.direction === `${other}->${side}`) {
        ctx.add([...base, "fields", i, side], "value", `\`${key}\` is this object's ${side.toUpperCase()} createKey; only Accord's creates write it (the source record's id)`, `do not map into it, or choose another createKey`);
      }
    });
    const createWith = isRecord(obj.createWith) ? obj.createWith[side] : undefined;
    if (isRecord(createWith) && key in createWith) {
      ctx.add([...base, "createWith", side, key], "key", `\`${key}\` is this object's ${side.toUpperCase()} createKey; Accord writes the source record's id there`, "remove it from createWith");
    }
  }
}

/** A field name in canonical form when it is a valid path, else as written (its syntax is reported elsewhere). */
function canonicalOrSelf(name: string): string {
  try {
    return canonicalFieldName(name);
  } catch {
    return name;
  }
}

/**
 * Field names that are paths into child tables (`table[column=value].field`): their syntax (with the
 * line and column of the fault inside the value), where they may appear (not in filters), and that a
 * table is not written both whole and through a path by the same object.
 */
function checkFieldNames(ctx: Issues, obj: Record<string, unknown>, base: Path): void {
  const check = (path: Path, name: unknown): boolean => {
    if (typeof name !== "string" || !isFieldPath(name)) return false;
    try {
      parseFieldPath(name);
      return true;
    } catch (e) {
      if (!(e instanceof FieldPathError)) throw e;
      ctx.addInValue(path, e.position, `\`${show(name)}\` is not a valid field path: ${e.message}`, `${e.expected}; a path is ${FIELD_PATH_SYNTAX}`);
      return false;
    }
  };
  for (const side of ["crm", "erp"] as const) {
    const o = obj[side];
    if (!isRecord(o)) continue;
    check([...base, side, "identity"], o.identity);
    if (Array.isArray(o.filter)) {
      o.filter.forEach((c, i) => {
        if (isRecord(c) && typeof c.field === "string" && isFieldPath(c.field)) {
          ctx.add(
            [...base, side, "filter", i, "field"],
            "value",
            `a filter cannot name a field inside a child table (\`${show(c.field)}\`)`,
            "filter on a field of the record itself; a child-table path can be mapped, used as identity or as parent",
          );
        }
      });
    }
  }
  if (isRecord(obj.parent)) for (const side of ["crm", "erp"] as const) check([...base, "parent", side], obj.parent[side]);
  if (!Array.isArray(obj.fields)) return;
  // a table written whole by one mapping and row by row through a path by another: one would undo the other
  const written = { crm: new Map<string, { i: number; whole: boolean }>(), erp: new Map<string, { i: number; whole: boolean }>() };
  obj.fields.forEach((f, i) => {
    if (!isRecord(f)) return;
    for (const side of ["crm", "erp"] as const) {
      const name = f[side];
      const isPath = check([...base, "fields", i, side], name);
      if (typeof name !== "string") continue;
      const into = f.direction === "both" || f.direction === `${side === "crm" ? "erp" : "crm"}->${side}`;
      if (!into) continue;
      const root = isPath ? fieldRoot(name) : name;
      const prev = written[side].get(root);
      if (prev && prev.whole !== !isPath) {
        ctx.add(
          [...base, "fields", i, side],
          "value",
          `${side.toUpperCase()} table \`${root}\` is written whole by fields[${prev.whole ? prev.i : i}] and through a path by fields[${prev.whole ? i : prev.i}]`,
          "map the table either whole (one mapping building all its rows) or through paths into its rows, not both",
        );
      } else if (!prev) written[side].set(root, { i, whole: !isPath });
    }
  });
}

function checkFields(ctx: Issues, fields: unknown[], base: Path, identity: { crm?: string; erp?: string }): void {
  const pairs = new Map<string, number>();
  const targets = { crm: new Map<string, number>(), erp: new Map<string, number>() };
  fields.forEach((f, i) => {
    if (!isRecord(f)) return;
    const path: Path = [...base, i];
    const dir = f.direction;
    const crm = typeof f.crm === "string" ? canonicalOrSelf(f.crm) : undefined;
    const erp = typeof f.erp === "string" ? canonicalOrSelf(f.erp) : undefined;
    if (crm && erp) {
      const k = `${crm}\u0000${erp}`;
      const prev = pairs.get(k);
      if (prev !== undefined) ctx.add(path, "value", `the pair ${crm} ↔ ${erp} is mapped twice (also fields[${prev}], line ${ctx.line([...base, prev], "value")})`, "map each field pair once");
      else pairs.set(k, i);
    }
    if (typeof dir === "string" && (DIRECTIONS as readonly string[]).includes(dir)) {
      const writes: Array<[Side, string | undefined]> = [];
      if (dir !== "erp->crm") writes.push(["erp", erp]);
      if (dir !== "crm->erp") writes.push(["crm", crm]);
      for (const [side, name] of writes) {
        if (!name) continue;
        if (name === identity[side]) {
          ctx.add(
            [...path, side],
            "value",
            `\`${name}\` is the ${side.toUpperCase()} identity field of this object; Accord writes it when it links records`,
            `do not map into it; to copy the shared identifier elsewhere, map it to another field`,
          );
          continue;
        }
        const prev = targets[side].get(name);
        if (prev !== undefined && pairs.get(`${crm}\u0000${erp}`) === i) {
          ctx.add(
            [...path, side],
            "value",
            `${side.toUpperCase()} field \`${name}\` is written by two mappings (also fields[${prev}], line ${ctx.line([...base, prev], "value")})`,
            "a field can have only one source; make one of the mappings one-way the other way, or drop it",
          );
        } else targets[side].set(name, i);
      }
      if (dir !== "both" && f.conflict !== undefined) {
        ctx.add([...path, "conflict"], "key", `\`conflict\` applies only to fields mapped \`both\`; this field is ${dir}`, `remove it, or use onMasterEdit (revert | ignore | review) for what an edit in the non-master system does`);
      }
      if (dir === "both" && f.onMasterEdit !== undefined) {
        ctx.add([...path, "onMasterEdit"], "key", "`onMasterEdit` applies only to one-way fields; a field mapped `both` has no master", "remove it, or use conflict (review | first-created-wins | last-updated-wins | prefer) for true conflicts");
      }
      if (dir === "erp->crm" && f.toErp !== undefined) {
        ctx.add([...path, "toErp"], "key", "`toErp` is never applied: this field travels erp->crm only", "use toCrm, or change the direction");
      }
      if (dir === "crm->erp" && f.toCrm !== undefined) {
        ctx.add([...path, "toCrm"], "key", "`toCrm` is never applied: this field travels crm->erp only", "use toErp, or change the direction");
      }
    }
    for (const t of ["toErp", "toCrm"] as const) {
      const steps = f[t];
      if (!Array.isArray(steps)) continue;
      steps.forEach((step, j) => {
        if (!isRecord(step)) return;
        const sp: Path = [...path, t, j];
        if (typeof step.jsonata === "string") {
          try {
            jsonata(step.jsonata);
          } catch (e) {
            const err = e as { message?: string; position?: number };
            ctx.add([...sp, "jsonata"], "value", `JSONata syntax error${err.position !== undefined ? ` at character ${err.position}` : ""}: ${err.message ?? String(e)}`, "a JSONata expression; `$` is the value, `$record` the source record");
          }
        }
        if (isRecord(step.dateFormat)) {
          for (const k of ["from", "to"] as const) {
            const v = step.dateFormat[k];
            if (typeof v !== "string" || v === "iso" || v === "epoch-ms") continue;
            const stray = /([YMDHhmsdy])\1+/.exec(v.replace(/YYYY|MM|DD|HH|mm|ss/g, ""));
            if (!/YYYY|MM|DD|HH|mm|ss/.test(v) || stray) {
              ctx.add(
                [...sp, "dateFormat", k],
                "value",
                stray ? `\`${show(v)}\` has an unknown token \`${stray[0]}\`` : `\`${show(v)}\` is not a date format`,
                'iso, epoch-ms, or a pattern with the tokens YYYY MM DD HH mm ss (case matters) such as "DD.MM.YYYY"',
              );
            }
          }
        }
        if (isRecord(step.map) && step.unmapped === "default" && !Object.hasOwn(step, "default")) {
          ctx.add([...sp, "unmapped"], "value", "unmapped: default needs a `default` value in the same step", 'add e.g. default: "Company"');
        }
      });
    }
  });
}

/** The business-flow keys of an object: lookups, lines, conditions, hold rules, create-only, aggregates. */
function checkFlowKeys(ctx: Issues, obj: Record<string, unknown>, base: Path, names: string[]): void {
  const jsonataOk = (path: Path, expr: unknown) => {
    if (typeof expr !== "string") return;
    try {
      jsonata(expr);
    } catch (e) {
      const err = e as { message?: string; position?: number };
      ctx.add(path, "value", `JSONata syntax error${err.position !== undefined ? ` at character ${err.position}` : ""}: ${err.message ?? String(e)}`, "a JSONata expression over the record's fields");
    }
  };
  const lookupOk = (path: Path, v: unknown) => {
    if (typeof v !== "string") return;
    if (!names.includes(v)) ctx.add(path, "value", `lookup object \`${v}\` is not an object of this file`, oneOf(names, v));
    else if (v === base[1]) ctx.add(path, "value", "an object cannot look up its own records", "name another object, e.g. customer or product");
  };
  const fields = Array.isArray(obj.fields) ? obj.fields : [];
  fields.forEach((f, i) => {
    if (!isRecord(f)) return;
    lookupOk([...base, "fields", i, "lookup"], f.lookup);
    if (Array.isArray(f.lines)) {
      if (f.direction === "both") ctx.add([...base, "fields", i, "direction"], "value", "line items travel one way (their rows are rebuilt in the target)", "crm->erp or erp->crm");
      if (f.lookup !== undefined) ctx.add([...base, "fields", i, "lookup"], "key", "a line-item table cannot be looked up as a whole", "put `lookup` on a column inside `lines`");
      f.lines.forEach((l, j) => {
        if (!isRecord(l)) return;
        lookupOk([...base, "fields", i, "lines", j, "lookup"], l.lookup);
        for (const t of ["toErp", "toCrm"] as const) {
          if (Array.isArray(l[t]))
            l[t].forEach((st, k) => {
              if (isRecord(st)) jsonataOk([...base, "fields", i, "lines", j, t, k, "jsonata"], st.jsonata);
            });
        }
      });
    }
  });
  for (const key of ["when", "freeze"] as const) {
    const c = obj[key];
    if (!isRecord(c)) continue;
    for (const side of ["crm", "erp"] as const) {
      const cond = c[side];
      if (!isRecord(cond)) continue;
      for (const [k, v] of Object.entries(cond)) {
        if (k.startsWith("$") && k !== "$state" && k !== "$expr") ctx.add([...base, key, side, k], "key", `unknown condition key \`${k}\``, "a field name, $state (document state) or $expr (JSONata)");
        if (k === "$expr") {
          if (typeof v !== "string") ctx.add([...base, key, side, k], "value", "$expr must be a JSONata expression (a string)");
          else jsonataOk([...base, key, side, k], v);
        }
      }
    }
  }
  if (Array.isArray(obj.holdIf)) {
    obj.holdIf.forEach((r, i) => {
      if (!isRecord(r)) return;
      const sides = (["crm", "erp"] as const).filter((s) => r[s] !== undefined);
      if (sides.length !== 1) ctx.add([...base, "holdIf", i], "value", "a hold rule names exactly one side", "crm: <JSONata> or erp: <JSONata>, plus reason");
      for (const s of sides) jsonataOk([...base, "holdIf", i, s], r[s]);
    });
  }
  const create = obj.create;
  if (obj.updates === "never" && create !== "crm->erp" && create !== "erp->crm") {
    ctx.add([...base, "updates"], "value", "updates: never (create-only) needs a one-way create policy", "create: crm->erp or create: erp->crm");
  }
  if (obj.submit !== undefined && create !== "crm->erp" && create !== "erp->crm") {
    ctx.add([...base, "submit"], "key", "submit applies to the documents this object creates; it needs a one-way create policy", "create: crm->erp or create: erp->crm");
  }
  for (const side of ["crm", "erp"] as const) {
    const o = obj[side];
    if (!isRecord(o) || !isRecord(o.aggregate)) continue;
    const other = side === "crm" ? "erp" : "crm";
    if (create !== "never" && create !== "link-only") {
      ctx.add([...base, side, "aggregate"], "key", `an aggregate side is read-only; this object may create records (create: ${String(create ?? "default")})`, "create: link-only (link the groups to records carrying their key) or never");
    }
    fields.forEach((f, i) => {
      if (isRecord(f) && (f.direction === "both" || f.direction === `${other}->${side}`)) {
        ctx.add([...base, "fields", i, "direction"], "value", `the ${side.toUpperCase()} side is an aggregate (read-only); nothing can be written into it`, `${side}->${other}`);
      }
    });
    // what the group computes: at least one value, each field once, never the group key
    const agg = o.aggregate;
    const seen = new Map<string, string>();
    let values = 0;
    for (const kind of ["sum", "max", "min"] as const) {
      const list = Array.isArray(agg[kind]) ? (agg[kind] as unknown[]) : [];
      list.forEach((f, i) => {
        values++;
        if (typeof f !== "string") return;
        const where = [...base, side, "aggregate", kind, i];
        if (f === agg.groupBy) {
          ctx.add(where, "value", `\`${f}\` is the group key (groupBy); it cannot also be a ${kind} of the group`, `remove ${f} from ${kind}`);
        } else if (f === "rows") {
          ctx.add(where, "value", "`rows` is the group's row count (every aggregate has it); it cannot be a computed field", "map the field `rows` directly");
        } else if (seen.has(f)) {
          ctx.add(where, "value", `\`${f}\` is already a ${seen.get(f)} of this aggregate; a group has one value per field`, `keep ${f} in one of sum, max, min`);
        } else seen.set(f, kind);
      });
    }
    if (values === 0) {
      ctx.add([...base, side, "aggregate"], "value", "an aggregate computes nothing: give it sum, max or min fields", "aggregate: { groupBy: party, sum: [paid_amount], max: [posting_date] }");
    }
    if (o.identity !== o.aggregate.groupBy && o.identity !== "id") {
      ctx.add([...base, side, "identity"], "value", "the identity of an aggregate side is its group key", `identity: ${String(o.aggregate.groupBy)}`);
    }
  }
}

// ---------------------------------------------------------------- normalisation

function normalise(raw: IntegrationFile, ctx: Issues): IntegrationSpec {
  const dur = (v: RawDuration | undefined, d: string) => parseDuration(v ?? d);
  const sync = {
    overlapMs: dur(raw.sync?.overlap, "5m"),
    skewToleranceMs: dur(raw.sync?.skewTolerance, "2s"),
    bounce: { maxBounces: raw.sync?.bounce?.max ?? 3, windowMs: dur(raw.sync?.bounce?.window, "10m") },
  };
  const skew = sync.skewToleranceMs;
  const d = raw.defaults ?? {};
  const defSchedule: Schedule = d.schedule !== undefined ? schedule(d.schedule) : { tier: "hourly" };
  const defConflict: ConflictPolicy = d.conflict !== undefined ? conflict(d.conflict, skew) : { kind: "review" };

  const system = (s: IntegrationFile["systems"]["crm"]): SystemSpec => {
    const credentials: SystemSpec["credentials"] = {};
    for (const [k, v] of Object.entries(s.credentials)) credentials[k] = { env: (ENV_REF_RE.exec(v.trim()) as RegExpExecArray)[1] };
    return { type: s.type, url: s.url.trim(), credentials, options: { ...(s.options ?? {}) } };
  };

  const objects: ObjectSpec[] = Object.entries(raw.objects).map(([name, o]) => {
    const objConflict = o.conflict !== undefined ? conflict(o.conflict, skew) : defConflict;
    const objOnMasterEdit = o.onMasterEdit ?? d.onMasterEdit ?? "revert";
    const fields: FieldMap[] = o.fields.map((f, i) => {
      const master: Side | undefined = f.direction === "crm->erp" ? "crm" : f.direction === "erp->crm" ? "erp" : undefined;
      const fm: FieldMap = {
        crm: canonicalFieldName(f.crm),
        erp: canonicalFieldName(f.erp),
        direction: f.direction,
        conflict: f.conflict !== undefined ? conflict(f.conflict, skew) : objConflict,
        onMasterEdit: f.onMasterEdit ?? objOnMasterEdit,
        toErp: (f.toErp ?? []).map(step),
        toCrm: (f.toCrm ?? []).map(step),
        required: f.required ?? false,
        line: ctx.line(["objects", name, "fields", i], "value"),
      };
      if (master) fm.master = master;
      if (f.note !== undefined) fm.note = f.note;
      if (f.lookup !== undefined) fm.lookup = { object: f.lookup };
      if (f.lines) {
        fm.lines = f.lines.map((l) => {
          const lm: LineFieldMap = { crm: l.crm, erp: l.erp, toErp: (l.toErp ?? []).map(step), toCrm: (l.toCrm ?? []).map(step) };
          if (l.lookup !== undefined) lm.lookup = { object: l.lookup };
          return lm;
        });
      }
      return fm;
    });
    const side = (s: typeof o.crm) => ({
      entity: s.entity,
      identity: canonicalFieldName(s.identity),
      ...(s.filter ? { filter: s.filter.map((x) => ({ ...x })) } : {}),
      ...(s.aggregate
        ? {
            aggregate: {
              groupBy: s.aggregate.groupBy,
              sum: [...(s.aggregate.sum ?? [])],
              ...(s.aggregate.max?.length ? { max: [...s.aggregate.max] } : {}),
              ...(s.aggregate.min?.length ? { min: [...s.aggregate.min] } : {}),
            },
          }
        : {}),
      ...(s.createKey !== undefined ? { createKey: s.createKey } : {}),
    });
    const spec: ObjectSpec = {
      name,
      crm: side(o.crm),
      erp: side(o.erp),
      schedule: o.schedule !== undefined ? schedule(o.schedule) : defSchedule,
      create: o.create ?? d.create ?? "both",
      conflict: objConflict,
      onMasterEdit: objOnMasterEdit,
      deletes: o.deletes ?? d.deletes ?? "flag",
      fields,
      line: ctx.line(["objects", name], "key"),
    };
    const sides = <T>(v: { crm?: T; erp?: T } | undefined, f: (x: T) => unknown) => {
      const out: Record<string, unknown> = {};
      if (v?.crm !== undefined) out.crm = f(v.crm);
      if (v?.erp !== undefined) out.erp = f(v.erp);
      return out;
    };
    if (o.when) spec.when = sides(o.when, recordCondition);
    if (o.freeze) spec.freeze = sides(o.freeze, recordCondition);
    if (o.holdIf) {
      spec.holdIf = o.holdIf.map((r) => (r.crm !== undefined ? { side: "crm" as const, expr: r.crm, reason: r.reason } : { side: "erp" as const, expr: r.erp ?? "false", reason: r.reason }));
    }
    if (o.updates) spec.updates = o.updates;
    if (o.submit) spec.submit = o.submit;
    if (o.createWith) spec.createWith = structuredClone(o.createWith);
    if (o.errors) spec.errors = { ...o.errors };
    if (o.parent) spec.parent = { object: o.parent.object, crm: canonicalFieldName(o.parent.crm), erp: canonicalFieldName(o.parent.erp) };
    return spec;
  });

  const spec: IntegrationSpec = {
    version: 1,
    name: raw.name,
    systems: { crm: system(raw.systems.crm), erp: system(raw.systems.erp) },
    owner: person(raw.owner),
    objects,
    sync,
  };
  if (raw.description !== undefined) spec.description = raw.description;
  if (raw.secondaryOwner) spec.secondaryOwner = person(raw.secondaryOwner);
  if (raw.standardize) spec.standardize = structuredClone(raw.standardize);
  if (raw.reports?.revenue || raw.reports?.customer360) {
    spec.reports = {};
    if (raw.reports.revenue) spec.reports.revenue = revenueReport(raw.reports.revenue, objects);
    if (raw.reports.customer360) spec.reports.customer360 = customer360(raw.reports.customer360, spec.reports.revenue);
  }
  if (raw.monitor) spec.monitor = normaliseMonitor(raw.monitor);
  return spec;
}

/**
 * `monitor:` (or a sidecar settings file of the same shape, already shape-checked) normalised:
 * durations → ms; key fields get their defaults (window 1d, minReads 50). Other defaults belong to the monitor.
 */
export function normaliseMonitor(m: RawMonitorSection): MonitorSpec {
  const out: MonitorSpec = { objects: {} };
  if (m.drift !== undefined) out.drift = m.drift;
  if (m.errorRate !== undefined) out.errorRate = m.errorRate;
  if (m.countDivergence !== undefined) out.countDivergence = m.countDivergence;
  if (m.escalateAfter !== undefined) out.escalateAfterMs = parseDuration(m.escalateAfter);
  if (m.reconcileEvery !== undefined) out.reconcileEveryMs = parseDuration(m.reconcileEvery);
  if (m.repairedThreshold !== undefined) out.repairedThreshold = m.repairedThreshold;
  if (m.clearAfterCleanRuns !== undefined) out.clearAfterCleanRuns = m.clearAfterCleanRuns;
  if (m.smtp)
    out.smtp = {
      host: m.smtp.host,
      // default port by protection: implicit TLS 465; plain (given, or a relay on this machine) 25; STARTTLS 587
      port:
        m.smtp.port ??
        (m.smtp.tls === "tls" ? 465 : m.smtp.tls === "none" || (!m.smtp.tls && /^(localhost|127\.0\.0\.1|::1|\[::1\])$/i.test(m.smtp.host)) ? 25 : 587),
      from: m.smtp.from,
      ...(m.smtp.tls ? { tls: m.smtp.tls } : {}),
      ...(m.smtp.user ? { user: m.smtp.user } : {}),
      ...(m.smtp.password ? { password: m.smtp.password } : {}),
    };
  for (const [name, o] of Object.entries(m.objects ?? {})) {
    const x: MonitorSpec["objects"][string] = {};
    if (o.drift !== undefined) x.drift = o.drift;
    if (o.errorRate !== undefined) x.errorRate = o.errorRate;
    if (o.countDivergence !== undefined) x.countDivergence = o.countDivergence;
    if (o.freshness !== undefined) x.freshnessMs = parseDuration(o.freshness);
    if (o.keyFields)
      x.keyFields = o.keyFields.map((k) => ({
        field: k.field,
        windowMs: k.window !== undefined ? parseDuration(k.window) : 86_400_000,
        minReads: k.minReads ?? 50,
      }));
    out.objects[name] = x;
  }
  return out;
}

/** `reports.customer360` normalised: payments complete, unset keys taken from reports.revenue.payments (checked before). */
function customer360(c: NonNullable<NonNullable<IntegrationFile["reports"]>["customer360"]>, revenue: RevenueReportSpec | undefined): Customer360Spec {
  const out: Customer360Spec = {};
  if (c.cases) out.cases = { ...c.cases, closed: [...c.cases.closed] };
  if (c.payments) {
    const base = revenue?.payments;
    const given = Object.fromEntries(Object.entries(c.payments).filter(([, v]) => v !== undefined));
    const p = { ...(base ?? {}), ...given } as Partial<NonNullable<Customer360Spec["payments"]>>;
    out.payments = {
      entity: p.entity ?? "",
      customer: p.customer ?? "",
      amount: p.amount ?? "",
      date: p.date ?? "",
      states: p.states ?? ["submitted"],
      ...(p.invoice ? { invoice: p.invoice } : {}),
      ...(p.mode ? { mode: p.mode } : {}),
      ...(p.reference ? { reference: p.reference } : {}),
      ...(p.filter ? { filter: p.filter.map((x) => ({ ...x })) } : {}),
    };
  }
  return out;
}

/** `reports.revenue` normalised: states default to [submitted], `won` to the deals object's trigger, tolerance 0.01. */
function revenueReport(r: NonNullable<NonNullable<IntegrationFile["reports"]>["revenue"]>, objects: ObjectSpec[]): RevenueReportSpec {
  const dealsObj = objects.find((o) => o.name === r.deals.object);
  const won = r.deals.won ? recordCondition(r.deals.won) : dealsObj?.when?.crm;
  const out: RevenueReportSpec = {
    deals: { object: r.deals.object, amount: r.deals.amount, date: r.deals.date },
    orders: { total: r.orders.total, date: r.orders.date, states: r.orders.states ?? ["submitted"] },
    tolerance: r.tolerance ?? 0.01,
  };
  if (won) out.deals.won = structuredClone(won);
  const customer = r.deals.customer ?? dealsObj?.fields.find((f) => f.lookup)?.crm;
  if (customer) out.deals.customer = customer;
  if (r.deals.lines) out.deals.lines = { ...r.deals.lines };
  const deal = r.orders.deal ?? dealsObj?.fields.find((f) => f.crm === "id")?.erp;
  if (deal) out.orders.deal = deal;
  if (r.orders.customer) out.orders.customer = r.orders.customer;
  if (r.invoices) out.invoices = { ...r.invoices, states: r.invoices.states ?? ["submitted"] };
  if (r.payments) out.payments = { ...r.payments, states: r.payments.states ?? ["submitted"], ...(r.payments.filter ? { filter: r.payments.filter.map((x) => ({ ...x })) } : {}) };
  if (r.prices) out.prices = { ...r.prices };
  const customers = r.customers ?? dealsObj?.fields.find((f) => f.lookup)?.lookup?.object;
  if (customers) out.customers = customers;
  return out;
}

function recordCondition(c: Record<string, unknown>): RecordCondition {
  const out: RecordCondition = { equals: [] };
  for (const [k, v] of Object.entries(c)) {
    if (k === "$expr") out.expr = String(v);
    else out.equals.push({ field: k, values: (Array.isArray(v) ? v : [v]) as RecordCondition["equals"][number]["values"] });
  }
  return out;
}

function person(p: { name: string; email: string; webhook?: string }): IntegrationSpec["owner"] {
  return p.webhook !== undefined ? { name: p.name, email: p.email, webhook: p.webhook } : { name: p.name, email: p.email };
}

function schedule(s: RawSchedule): Schedule {
  if (typeof s === "string") {
    const t = s.trim();
    if ((SCHEDULE_TIERS as readonly string[]).includes(t)) return { tier: t as "realtime" | "hourly" | "daily" };
    return { cron: t.split(/\s+/).join(" ") };
  }
  return { cron: s.cron.trim().split(/\s+/).join(" ") };
}

function conflict(c: RawConflict, skewToleranceMs: number): ConflictPolicy {
  if (typeof c === "object") return { kind: "prefer", side: c.prefer };
  const m = PREFER_STRING_RE.exec(c);
  if (m) return { kind: "prefer", side: m[1] as Side };
  if (c === "last-updated-wins") return { kind: "last-updated-wins", skewToleranceMs };
  if (c === "first-created-wins") return { kind: "first-created-wins" };
  return { kind: "review" };
}

function step(s: RawTransformStep): TransformStep {
  if ("map" in s) {
    const unmapped = s.unmapped ?? (Object.hasOwn(s, "default") ? "default" : "error");
    return Object.hasOwn(s, "default") ? { map: { ...s.map }, unmapped, default: s.default } : { map: { ...s.map }, unmapped };
  }
  if ("scale" in s) return { scale: s.scale };
  if ("round" in s) return { round: s.round };
  if ("dateFormat" in s) return { dateFormat: { from: s.dateFormat.from, to: s.dateFormat.to } };
  if ("normalize" in s) return { normalize: [...s.normalize] };
  if ("jsonata" in s) return { jsonata: s.jsonata };
  if ("type" in s) return { type: s.type };
  return { default: (s as { default: unknown }).default };
}
