/**
 * Time conversions at the connector boundary. Everything crossing the Connector interface is
 * UTC ISO-8601 with milliseconds; systems speak their own formats:
 * - "YYYY-MM-DD HH:mm:ss" in UTC (EspoCRM),
 * - "YYYY-MM-DD HH:MM:SS[.ffffff]" naive, in the site's IANA time zone (ERPNext/Frappe).
 * No library: Intl knows the zones.
 */
import { ValidationRejected } from "../errors.ts";

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

export interface NaiveParts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  /** Fraction of a second in microseconds (0..999999). */
  us: number;
}

export function parseNaive(text: string): NaiveParts | undefined {
  const m = NAIVE.exec(text.trim());
  if (!m) return undefined;
  const frac = (m[7] ?? "").padEnd(6, "0").slice(0, 6);
  return { y: +m[1], mo: +m[2], d: +m[3], h: +m[4], mi: +m[5], s: +(m[6] ?? 0), us: +frac };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** ms since epoch → "2026-01-02T03:04:05.000Z". */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const DIGIT_POS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * Fast path for the shapes the systems really send — "YYYY-MM-DD HH:mm:ss" with an optional
 * fraction — with plausible field values: returns the millisecond digits ("000".."999"), or
 * undefined for anything else (which then takes the careful path).
 */
function canonicalShape(t: string): string | undefined {
  if (
    t.length < 19 ||
    t.charCodeAt(4) !== 45 ||
    t.charCodeAt(7) !== 45 ||
    t.charCodeAt(10) !== 32 ||
    t.charCodeAt(13) !== 58 ||
    t.charCodeAt(16) !== 58
  )
    return undefined;
  for (let k = 0; k < DIGIT_POS.length; k++) if (!isDigit(t.charCodeAt(DIGIT_POS[k]))) return undefined;
  const mo = (t.charCodeAt(5) - 48) * 10 + t.charCodeAt(6) - 48;
  const d = (t.charCodeAt(8) - 48) * 10 + t.charCodeAt(9) - 48;
  const h = (t.charCodeAt(11) - 48) * 10 + t.charCodeAt(12) - 48;
  const mi = (t.charCodeAt(14) - 48) * 10 + t.charCodeAt(15) - 48;
  const sec = (t.charCodeAt(17) - 48) * 10 + t.charCodeAt(18) - 48;
  if (mo < 1 || mo > 12 || d < 1 || d > 28 || h > 23 || mi > 59 || sec > 59) return undefined; // day > 28: careful path checks the month
  if (t.length === 19) return "000";
  if (t.charCodeAt(19) !== 46 || t.length > 29) return undefined;
  for (let i = 20; i < t.length; i++) if (!isDigit(t.charCodeAt(i))) return undefined;
  return `${t.slice(20, 23)}000`.slice(0, 3);
}

/** "YYYY-MM-DD HH:mm:ss" (UTC, EspoCRM) → UTC ISO. Returns undefined when unparseable. */
export function utcNaiveToIso(text: string | null | undefined): string | undefined {
  if (!text) return undefined;
  const fast = canonicalShape(text);
  if (fast !== undefined) return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fast}Z`;
  const p = parseNaive(text);
  if (!p) return undefined;
  return isoUtc(Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s, Math.floor(p.us / 1000)));
}

/** UTC ISO (or ms) → "YYYY-MM-DD HH:mm:ss" UTC, the only datetime form EspoCRM accepts (no T, no Z). */
export function isoToUtcNaive(iso: string | number): string {
  const d = new Date(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws ValidationRejected when the zone is not a known IANA name. */
export function checkTimeZone(tz: string, system: string): string {
  try {
    formatter(tz);
    return tz;
  } catch {
    throw new ValidationRejected(`${system}: "${tz}" is not a known IANA time zone.`, {
      where: { system },
      hint: 'Set options.timezone to the site\'s System Settings time zone, e.g. "Europe/Berlin" or "Asia/Kolkata".',
    });
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone. */
function wallClock(ms: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour === 24 ? 0 : parts.hour, mi: parts.minute, s: parts.second };
}

/** Offset of the zone from UTC at an instant, in ms (local − UTC). */
export function zoneOffsetMs(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const offsetCache = new Map<string, number>();

/**
 * Site-local naive datetime → epoch ms (UTC). In a DST fall-back hour the earlier instant is
 * chosen; in a spring-forward gap the wall time is read with the offset before the gap.
 */
export function localNaiveToMs(text: string, tz: string): number | undefined {
  const p = parseNaive(text);
  if (!p) return undefined;
  const guess = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s, Math.floor(p.us / 1000));
  // Zone transitions happen on minute boundaries: one offset per (zone, local minute).
  const key = `${tz}|${text.slice(0, 16)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return guess - cached;
  const ms = resolveLocal(guess, tz);
  if (offsetCache.size > 50_000) offsetCache.clear();
  offsetCache.set(key, guess - ms);
  return ms;
}

function resolveLocal(guess: number, tz: string): number {
  // The offsets a day either side bracket any transition; a candidate is valid when the zone's
  // offset at that instant is the one used to compute it (its wall clock is the given time).
  const before = zoneOffsetMs(guess - 86_400_000, tz);
  const after = zoneOffsetMs(guess + 86_400_000, tz);
  const valid = [guess - before, guess - after, guess - zoneOffsetMs(guess, tz)].filter((ms) => zoneOffsetMs(ms, tz) === guess - ms);
  return valid.length ? Math.min(...valid) : guess - before;
}

/** Site-local naive → UTC ISO. */
/** Per zone: local minute ("YYYY-MM-DD HH:mm") → its UTC "YYYY-MM-DDTHH:mm" (whole-minute offsets only). */
const minuteCache = new Map<string, Map<string, string>>();
let lastTz = "";
let lastMinute = "";
let lastPrefix = "";

export function localNaiveToIso(text: string | null | undefined, tz: string): string | undefined {
  if (!text) return undefined;
  const frac = canonicalShape(text);
  if (frac !== undefined) {
    const minute = text.slice(0, 16);
    let prefix: string | undefined;
    // Rows of a page mostly share their minute: one comparison instead of a lookup.
    if (minute === lastMinute && tz === lastTz) prefix = lastPrefix;
    else {
      let zone = minuteCache.get(tz);
      if (!zone) minuteCache.set(tz, (zone = new Map()));
      prefix = zone.get(minute);
      if (prefix === undefined) {
        const ms = localNaiveToMs(`${minute}:00`, tz);
        if (ms !== undefined && ms % 60_000 === 0) {
          prefix = isoUtc(ms).slice(0, 16);
          if (zone.size > 50_000) zone.clear();
          zone.set(minute, prefix);
        }
      }
      if (prefix !== undefined) {
        lastTz = tz;
        lastMinute = minute;
        lastPrefix = prefix;
      }
    }
    if (prefix !== undefined) return `${prefix}:${text.slice(17, 19)}.${frac}Z`;
  }
  const ms = localNaiveToMs(text, tz);
  return ms === undefined ? undefined : isoUtc(ms);
}

/** UTC ISO (or ms) → site-local "YYYY-MM-DD HH:MM:SS.ffffff" (Frappe's own format for filters). */
export function isoToLocalNaive(iso: string | number, tz: string): string {
  const ms = typeof iso === "number" ? iso : Date.parse(iso);
  const w = wallClock(ms, tz);
  const frac = pad(((ms % 1000) + 1000) % 1000, 3) + "000";
  return `${w.y}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}.${frac}`;
}

/** Normalise a Frappe datetime to the 6-digit fraction form, so string comparison orders correctly. */
export function frappeCanonical(text: string): string {
  const p = parseNaive(text);
  if (!p) return text;
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}.${pad(p.us, 6)}`;
}

const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** An ISO-8601 datetime with an explicit zone ("…Z" or "…+02:00"): unambiguous, convertible to any system format. */
export function isZonedIso(v: unknown): v is string {
  return typeof v === "string" && ZONED_ISO.test(v) && !Number.isNaN(Date.parse(v));
}
