/**
 * Tryton's JSON-RPC value encoding, both ways (reference/tryton.md § Type encoding):
 *   Decimal  {"__class__":"Decimal","decimal":"10.00"}            ↔ number (10)
 *   date     {"__class__":"date","year":..,"month":..,"day":..}    ↔ "YYYY-MM-DD"
 *   datetime {"__class__":"datetime",...,"microsecond":..}         ↔ UTC ISO with ms ("…T02:07:03.856Z")
 *   time     {"__class__":"time","hour":..,"minute":..,"second":..} ↔ "HH:MM:SS"
 *   timedelta {"__class__":"timedelta","seconds":..}               ↔ seconds (number)
 *   bytes    {"__class__":"bytes","base64":"..."}                  ↔ base64 string
 * Tryton's datetimes are naive UTC (trytond forces TZ=UTC). The raw microsecond value of a
 * datetime ("YYYY-MM-DDTHH:MM:SS.ffffff", sortable as text) is kept for versions, since the
 * ISO form at the interface has milliseconds only.
 */
import { ValidationRejected } from "../../errors.ts";

export interface TrytonDateTime {
  __class__: "datetime";
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isTrytonDateTime(v: unknown): v is TrytonDateTime {
  return isObj(v) && v.__class__ === "datetime";
}

/** Raw microsecond text of a Tryton datetime: "2026-11-27T02:07:03.856702" (naive UTC, sortable). */
export function rawDateTime(v: TrytonDateTime): string {
  return `${pad(v.year, 4)}-${pad(v.month)}-${pad(v.day)}T${pad(v.hour)}:${pad(v.minute)}:${pad(v.second)}.${pad(v.microsecond ?? 0, 6)}`;
}

/** Raw microsecond text → UTC ISO with milliseconds (truncated, never rounded up). */
export function rawToIso(raw: string): string {
  return `${raw.slice(0, 23)}Z`;
}

export function dateTimeToIso(v: TrytonDateTime): string {
  return rawToIso(rawDateTime(v));
}

/** UTC ISO (any precision, with zone) or epoch ms → Tryton datetime. */
export function isoToDateTime(iso: string | number, extraMicros = 0): TrytonDateTime {
  const ms = typeof iso === "number" ? iso : Date.parse(iso);
  if (!Number.isFinite(ms)) throw new ValidationRejected(`tryton: "${String(iso)}" is not a date-time (expected UTC ISO-8601).`);
  const d = new Date(ms);
  return {
    __class__: "datetime",
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    microsecond: d.getUTCMilliseconds() * 1000 + extraMicros,
  };
}

/** Decode every Tryton class object inside a JSON value (recursively). */
export function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (!isObj(v)) return v;
  switch (v.__class__) {
    case "Decimal":
      return Number(v.decimal);
    case "date":
      return `${pad(Number(v.year), 4)}-${pad(Number(v.month))}-${pad(Number(v.day))}`;
    case "datetime":
      return dateTimeToIso(v as unknown as TrytonDateTime);
    case "time":
      return `${pad(Number(v.hour))}:${pad(Number(v.minute))}:${pad(Number(v.second))}`;
    case "timedelta":
      return Number(v.seconds);
    case "bytes":
      return v.base64;
    default: {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = decodeValue(x);
      return out;
    }
  }
}

export function encodeDecimal(v: number | string): { __class__: "Decimal"; decimal: string } {
  let text: string;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new ValidationRejected(`tryton: ${v} is not a decimal number.`);
    text = String(v);
    // String(1e-7) is "1e-7": Python's Decimal takes it, but plain digits are clearer in logs.
    if (/e/i.test(text)) text = v.toFixed(12).replace(/\.?0+$/, "");
  } else {
    text = v.trim();
    if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(text)) throw new ValidationRejected(`tryton: ${JSON.stringify(v)} is not a decimal number.`);
  }
  return { __class__: "Decimal", decimal: text };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function encodeDate(v: string): { __class__: "date"; year: number; month: number; day: number } {
  const m = DATE.exec(v.slice(0, 10));
  if (!m) throw new ValidationRejected(`tryton: ${JSON.stringify(v)} is not a date (expected YYYY-MM-DD).`);
  return { __class__: "date", year: +m[1], month: +m[2], day: +m[3] };
}

export function encodeTime(v: string): Record<string, unknown> {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?/.exec(v);
  if (!m) throw new ValidationRejected(`tryton: ${JSON.stringify(v)} is not a time (expected HH:MM:SS).`);
  return { __class__: "time", hour: +m[1], minute: +m[2], second: +(m[3] ?? 0), microsecond: 0 };
}
