/**
 * Value transforms of a field map (model.ts TransformStep), applied in order.
 *
 * Conventions: null/undefined pass through every step except `default` (and `map` when the
 * map has a "" key, which EspoCRM uses for "none"). A value a step cannot handle throws
 * ValidationRejected naming the value and what was expected, so the engine can quarantine
 * the record with a reason instead of writing something wrong.
 */
import jsonata from "jsonata";
import { ValidationRejected } from "../errors.ts";
import type { TransformStep } from "./model.ts";

type Expression = ReturnType<typeof jsonata>;
const compiled = new Map<string, Expression>();

function compile(expr: string): Expression {
  let e = compiled.get(expr);
  if (!e) {
    try {
      e = jsonata(expr);
    } catch (err) {
      throw new ValidationRejected(`JSONata expression "${expr}" does not compile: ${(err as Error).message}`, {
        hint: "Fix the jsonata step in the integration file (`accord validate FILE` reports it with its line).",
      });
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(expr, e);
  }
  return e;
}

const isEmpty = (v: unknown) => v === null || v === undefined || v === "";

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function reject(message: string, hint: string): never {
  throw new ValidationRejected(message, { hint });
}

/** Apply the steps to `value`; `record` is the whole source record (JSONata `$record`). */
export async function applyTransform(steps: TransformStep[], value: unknown, record: Record<string, unknown>): Promise<unknown> {
  let v = value;
  for (const step of steps) v = await applyStep(step, v, record);
  return v;
}

async function applyStep(step: TransformStep, v: unknown, record: Record<string, unknown>): Promise<unknown> {
  if ("map" in step) return applyMap(step, v);
  if ("scale" in step) {
    if (isEmpty(v)) return v;
    const n = toNumber(v, "scale");
    return Number((n * step.scale).toPrecision(15));
  }
  if ("round" in step) {
    if (isEmpty(v)) return v;
    return roundTo(toNumber(v, "round"), step.round);
  }
  if ("dateFormat" in step) {
    if (isEmpty(v)) return v;
    return formatDate(parseDate(v, step.dateFormat.from), step.dateFormat.to);
  }
  if ("normalize" in step) {
    if (typeof v !== "string") return v;
    let s = v;
    for (const op of step.normalize) s = normalizeOp(s, op);
    return s;
  }
  if ("jsonata" in step) {
    const expr = compile(step.jsonata);
    try {
      const out = await expr.evaluate(v, { record });
      return out === undefined ? null : out;
    } catch (err) {
      return reject(`JSONata expression "${step.jsonata}" failed on value ${show(v)}: ${(err as Error).message}`, "Fix the expression, or the source value.");
    }
  }
  if ("type" in step) return convertType(v, step.type);
  // { default }
  return isEmpty(v) ? step.default : v;
}

function applyMap(step: Extract<TransformStep, { map: unknown }>, v: unknown): unknown {
  const key = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (Object.hasOwn(step.map, key)) return step.map[key];
  if (isEmpty(v)) return v;
  switch (step.unmapped) {
    case "pass":
      return v;
    case "default":
      return step.default === undefined ? null : step.default;
    default: {
      const known = Object.keys(step.map);
      return reject(
        `Value ${show(v)} is not in the value map (known values: ${known.map((k) => JSON.stringify(k)).join(", ")}).`,
        `Add ${show(v)} to the map in the integration file, set \`unmapped: default\` with a default, or correct the value at the source.`,
      );
    }
  }
}

function toNumber(v: unknown, what: string): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v.trim()) : Number.NaN;
  if (!Number.isFinite(n)) reject(`${what}: ${show(v)} is not a number.`, "Correct the source value, or add a jsonata/type step before this one.");
  return n;
}

function roundTo(n: number, decimals: number): number {
  const sign = n < 0 ? -1 : 1;
  const r = Number(`${Math.round(Number(`${Math.abs(n)}e${decimals}`))}e-${decimals}`);
  return sign * r || 0;
}

function normalizeOp(s: string, op: "trim" | "upper" | "lower" | "title" | "collapse-spaces" | "digits-only"): string {
  switch (op) {
    case "trim":
      return s.trim();
    case "upper":
      return s.toUpperCase();
    case "lower":
      return s.toLowerCase();
    case "title":
      return s.toLowerCase().replace(/(^|[\s\-'’(])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase());
    case "collapse-spaces":
      return s.replace(/\s+/g, " ");
    case "digits-only":
      return s.replace(/\D+/g, "");
  }
}

// ---------------------------------------------------------------- dates (UTC, token patterns)

interface DateParts {
  Y: number;
  M: number;
  D: number;
  h: number;
  m: number;
  s: number;
  ms: number;
}

const TOKENS: Record<string, { re: string; key: keyof DateParts }> = {
  YYYY: { re: "(\\d{4})", key: "Y" },
  MM: { re: "(\\d{1,2})", key: "M" },
  DD: { re: "(\\d{1,2})", key: "D" },
  HH: { re: "(\\d{1,2})", key: "h" },
  mm: { re: "(\\d{1,2})", key: "m" },
  ss: { re: "(\\d{1,2})", key: "s" },
};
const TOKEN_RE = /YYYY|MM|DD|HH|mm|ss/g;

function parseDate(v: unknown, from: string): DateParts {
  const bad = () => reject(`dateFormat: ${show(v)} does not match the format "${from}".`, "Correct the source value, or the `from` pattern of the dateFormat step.");
  let d: Date;
  if (from === "epoch-ms") {
    const n = typeof v === "number" ? v : Number(v);
    if (!Number.isFinite(n)) bad();
    d = new Date(n);
  } else if (from === "iso") {
    if (typeof v !== "string") bad();
    const s = v as string;
    // a bare date or a zone-less timestamp is taken as UTC
    const iso = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : /T|\s/.test(s) && !/(Z|[+-]\d{2}:?\d{2})$/.test(s) ? `${s.replace(" ", "T")}Z` : s;
    d = new Date(iso);
  } else {
    if (typeof v !== "string") bad();
    const keys: Array<keyof DateParts> = [];
    const pattern = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(TOKEN_RE, (t) => {
      keys.push(TOKENS[t].key);
      return TOKENS[t].re;
    });
    const m = new RegExp(`^${pattern}$`).exec((v as string).trim());
    if (!m) bad();
    const p: DateParts = { Y: 1970, M: 1, D: 1, h: 0, m: 0, s: 0, ms: 0 };
    keys.forEach((k, i) => {
      p[k] = Number((m as RegExpExecArray)[i + 1]);
    });
    d = new Date(Date.UTC(p.Y, p.M - 1, p.D, p.h, p.m, p.s));
    if (d.getUTCMonth() !== p.M - 1 || d.getUTCDate() !== p.D) bad();
  }
  if (Number.isNaN(d.getTime())) bad();
  return { Y: d.getUTCFullYear(), M: d.getUTCMonth() + 1, D: d.getUTCDate(), h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds(), ms: d.getUTCMilliseconds() };
}

function formatDate(p: DateParts, to: string): string | number {
  const t = Date.UTC(p.Y, p.M - 1, p.D, p.h, p.m, p.s, p.ms);
  if (to === "epoch-ms") return t;
  if (to === "iso") return new Date(t).toISOString();
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return to.replace(TOKEN_RE, (tok) => {
    switch (tok) {
      case "YYYY":
        return pad(p.Y, 4);
      case "MM":
        return pad(p.M);
      case "DD":
        return pad(p.D);
      case "HH":
        return pad(p.h);
      case "mm":
        return pad(p.m);
      default:
        return pad(p.s);
    }
  });
}

function convertType(v: unknown, type: "string" | "number" | "boolean" | "date"): unknown {
  if (v === null || v === undefined) return v;
  switch (type) {
    case "string":
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    case "number":
      if (v === "") return null;
      if (typeof v === "boolean") return v ? 1 : 0;
      return toNumber(v, "type number");
    case "boolean": {
      if (typeof v === "boolean") return v;
      if (typeof v === "number") return v !== 0;
      const s = String(v).trim().toLowerCase();
      if (["true", "1", "yes", "y", "on"].includes(s)) return true;
      if (["false", "0", "no", "n", "off", ""].includes(s)) return false;
      return reject(`type boolean: ${show(v)} is not a yes/no value.`, "Use true/false, 1/0 or yes/no at the source, or map the values first.");
    }
    case "date": {
      if (v === "") return null;
      const p = typeof v === "number" ? parseDate(v, "epoch-ms") : parseDate(v, "iso");
      return formatDate(p, "YYYY-MM-DD");
    }
  }
}

// ---------------------------------------------------------------- descriptions for the mapping document

/** A short human description of the steps, e.g. "value map (3 values; unmapped → 'Company') → round to 2 decimals". */
export function describeTransform(steps: TransformStep[]): string {
  return steps.map(describeStep).join(" → ");
}

function q(v: unknown): string {
  return typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

function describeStep(step: TransformStep): string {
  if ("map" in step) {
    const n = Object.keys(step.map).length;
    const pairs = Object.entries(step.map)
      .slice(0, 4)
      .map(([k, v]) => `${q(k)}→${q(v)}`)
      .join(", ");
    const rule = step.unmapped === "pass" ? "unmapped pass through" : step.unmapped === "default" ? `unmapped → ${q(step.default ?? null)}` : "unmapped = error";
    return `value map (${n} value${n === 1 ? "" : "s"}: ${pairs}${n > 4 ? ", …" : ""}; ${rule})`;
  }
  if ("scale" in step) return `× ${step.scale}`;
  if ("round" in step) return `round to ${step.round} decimal${step.round === 1 ? "" : "s"}`;
  if ("dateFormat" in step) return `date ${step.dateFormat.from} → ${step.dateFormat.to}`;
  if ("normalize" in step) return `normalize (${step.normalize.join(", ")})`;
  if ("jsonata" in step) return `JSONata: ${step.jsonata}`;
  if ("type" in step) return `as ${step.type}`;
  return `default ${q(step.default)} when empty`;
}
