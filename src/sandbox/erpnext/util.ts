/**
 * Small pieces the emulated ERPNext needs to sound like Frappe: site-local naive timestamps with
 * microseconds (Python `str(datetime)` semantics), Python `json.dumps` output (for webhook bodies
 * and the double-encoded `_server_messages`), random hash names.
 */
import { randomBytes } from "node:crypto";

/** A number that Python would hold as a float: `json.dumps` prints `100.0`, not `100`. */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

function pyStr(s: string): string {
  // JSON.stringify escapes quotes, backslash and control chars like Python; Python also escapes DEL and non-ASCII.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pyNumber(n: number, float: boolean): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
  if (float && Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return String(n);
}

/** `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, ASCII escaping. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof PyFloat) return pyNumber(value.value, true);
  switch (typeof value) {
    case "string":
      return pyStr(value);
    case "number":
      return pyNumber(value, false);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue;
        parts.push(`${pyStr(k)}: ${pyJsonDumps(v)}`);
      }
      return `{${parts.join(", ")}}`;
    }
    default:
      return pyStr(String(value));
  }
}

/** `frappe.generate_hash(length=10)`: random lowercase hex. */
export function randomHash(length = 10): string {
  return randomBytes(Math.ceil(length / 2))
    .toString("hex")
    .slice(0, length);
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * The site clock: wall time in the site's time zone, naive, with microseconds. Successive calls in
 * the same millisecond get increasing microseconds, as a real server's would.
 */
export class SiteClock {
  readonly timezone: string;
  offsetMs = 0;
  private readonly base: () => Date;
  private readonly fmt: Intl.DateTimeFormat;
  private lastMs = -1;
  private subMicro = 0;
  private tzCache = new Map<number, number>();

  constructor(timezone: string, base?: () => Date) {
    this.timezone = timezone;
    this.base = base ?? (() => new Date());
    this.fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }

  /** Current instant (UTC ms) as the site sees it (base clock + control offset). */
  nowMs(): number {
    return this.base().getTime() + this.offsetMs;
  }

  /** Offset of the site zone from UTC at the given instant, in ms (cached per 15 minutes). */
  private zoneOffset(ms: number): number {
    const bucket = Math.floor(ms / 900_000);
    const hit = this.tzCache.get(bucket);
    if (hit !== undefined) return hit;
    const parts = this.fmt.formatToParts(new Date(bucket * 900_000));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    const off = asUtc - bucket * 900_000;
    if (this.tzCache.size > 5000) this.tzCache.clear();
    this.tzCache.set(bucket, off);
    return off;
  }

  /** Site-local naive "YYYY-MM-DD HH:MM:SS.ffffff" for a UTC instant. */
  format(ms: number, micro = 0): string {
    const d = new Date(ms + this.zoneOffset(ms));
    const us = d.getUTCMilliseconds() * 1000 + micro;
    return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${String(us).padStart(6, "0")}`;
  }

  /** `frappe.utils.now()`: unique, increasing within this process (sub-millisecond digits count up). */
  now(): string {
    const ms = this.nowMs();
    if (ms > this.lastMs || this.lastMs - ms > 1000) {
      // normal progress, or the clock was moved back on purpose (control API): follow it
      this.lastMs = ms;
      this.subMicro = 0;
    } else {
      // same millisecond (or a tiny step back): keep timestamps unique and increasing
      this.subMicro++;
      if (this.subMicro > 999) {
        this.lastMs++;
        this.subMicro = 0;
      }
    }
    return this.format(this.lastMs, this.subMicro);
  }

  /** `frappe.utils.nowdate()` / `today()`. */
  today(): string {
    return this.format(this.nowMs()).slice(0, 10);
  }

  /** `nowtime()` as Frappe stores Time: "HH:MM:SS.ffffff". */
  nowTime(): string {
    return this.format(this.nowMs()).slice(11);
  }

  /** Convert a site-local naive timestamp back to a UTC instant (ms). */
  toUtcMs(local: string): number {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?/.exec(local);
    if (!m) return Number.NaN;
    const naive = Date.UTC(
      +m[1],
      +m[2] - 1,
      +m[3],
      +(m[4] ?? 0),
      +(m[5] ?? 0),
      +(m[6] ?? 0),
      Math.floor(+(m[7] ?? "0").padEnd(6, "0") / 1000),
    );
    return naive - this.zoneOffset(naive - this.zoneOffset(naive));
  }
}

/** Python `str(datetime)`: the fraction is dropped when microseconds are exactly zero. */
export function pyDatetimeStr(stored: string): string {
  return stored.length === 26 && stored.endsWith(".000000") ? stored.slice(0, 19) : stored;
}

/** Python `str(timedelta)` of a stored Time "HH:MM:SS[.ffffff]": hour not padded, zero fraction dropped. */
export function pyTimeStr(stored: string): string {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(stored);
  if (!m) return stored;
  const frac = (m[4] ?? "").padEnd(6, "0");
  return `${Number(m[1])}:${m[2]}:${m[3]}${frac === "000000" ? "" : `.${frac}`}`;
}

/** Read-back form of a stored value of a given fieldtype. */
export function pyReadValue(fieldtype: string | undefined, v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (fieldtype === "Datetime") return pyDatetimeStr(v);
  if (fieldtype === "Time") return pyTimeStr(v);
  return v;
}

/** Canonical stored form "YYYY-MM-DD HH:MM:SS.ffffff" of a datetime string; null if unparseable. */
export function canonicalDatetime(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?\s*$/.exec(v.trim());
  if (!m) return null;
  return `${m[1]}-${m[2].padStart(2, "0")}-${m[3].padStart(2, "0")} ${(m[4] ?? "0").padStart(2, "0")}:${(m[5] ?? "0").padStart(2, "0")}:${(m[6] ?? "0").padStart(2, "0")}.${(m[7] ?? "0").padEnd(6, "0")}`;
}

/** Canonical date "YYYY-MM-DD" (a datetime string is cut to its date); null if unparseable. */
export function canonicalDate(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})/.exec(v.trim());
  if (!m) return null;
  return `${m[1]}-${m[2].padStart(2, "0")}-${m[3].padStart(2, "0")}`;
}

/** Add days to a "YYYY-MM-DD" date. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Add months to a "YYYY-MM-DD" date (day clamped to month end). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split("-").map(Number);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = total % 12;
  const last = new Date(Date.UTC(ny, nm + 1, 0)).getUTCDate();
  return `${ny}-${pad2(nm + 1)}-${pad2(Math.min(d, last))}`;
}

/** `frappe.utils.flt` with optional rounding precision. */
export function flt(v: unknown, precision?: number): number {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    n = Number.parseFloat(v.replace(/,/g, ""));
  } else if (typeof v === "boolean") n = v ? 1 : 0;
  else n = 0;
  if (!Number.isFinite(n)) n = 0;
  if (precision !== undefined) n = Math.round((n + Number.EPSILON * Math.sign(n)) * 10 ** precision) / 10 ** precision;
  return n;
}

/** `frappe.utils.cint`. */
export function cint(v: unknown): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  const n = typeof v === "number" ? v : Number.parseFloat(String(v ?? ""));
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

/** `frappe.unscrub`: "customer_name" → "Customer Name". */
export function unscrub(s: string): string {
  return s
    .replace(/_/g, " ")
    .replace(/\b\w/g, (c) => c.toUpperCase())
    .replace(/\bId\b/g, "ID");
}

/** `frappe.scrub`: "Customer Group" → "customer_group". */
export function scrub(s: string): string {
  return s.replace(/[ -]/g, "_").toLowerCase();
}
