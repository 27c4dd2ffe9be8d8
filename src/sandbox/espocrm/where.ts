/**
 * Where items of the list API (reference §2 "Where items") compiled to a predicate over stored
 * records. SQL semantics as MySQL would apply them: a comparison with NULL is false (so
 * `notEquals`/`notIn`/`notLike` do not match NULL values), strings compare case-insensitively
 * (MySQL's default collation), LIKE takes the caller's `%`/`_` wildcards unescaped.
 */

import type { Rec } from "./db.ts";
import { badRequest } from "./errors.ts";

export interface AttrInfo {
  kind: "string" | "number" | "bool" | "date" | "datetime" | "array" | "other";
}

export interface WhereContext {
  entityType: string;
  /** Attribute info, or undefined when the attribute does not exist. */
  attribute(name: string): AttrInfo | undefined;
  /** A reader of an attribute (including computed `…Name` and `link.attribute` paths). */
  getter(name: string): (rec: Rec) => unknown;
  /** For `link.attribute` paths: info of the target attribute, or undefined. */
  pathAttribute(path: string): AttrInfo | undefined;
  /** Link names usable in linkedWith / isLinked, and how to read the linked ids. */
  linkIds(rec: Rec, link: string): string[] | undefined;
  nowMs(): number;
}

export type Predicate = (rec: Rec) => boolean;

const ALLOWED_KEYS = new Set(["type", "attribute", "field", "value", "dateTime", "date", "timeZone"]);

const ALL_TYPES = new Set(
  "and or not subQueryIn subQueryNotIn expression in notIn equals notEquals on notOn like notLike startsWith endsWith contains notContains greaterThan lessThan greaterThanOrEquals lessThanOrEquals after before between ever any none isNull isNotNull isTrue isFalse today past future lastSevenDays lastXDays nextXDays olderThanXDays afterXDays currentMonth nextMonth lastMonth currentQuarter lastQuarter currentYear lastYear currentFiscalYear lastFiscalYear currentFiscalQuarter lastFiscalQuarter arrayAnyOf arrayNoneOf arrayAllOf arrayIsEmpty arrayIsNotEmpty linkedWith notLinkedWith linkedWithAll isLinked isNotLinked".split(
    " ",
  ),
);

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/;

export function compileWhere(items: unknown, ctx: WhereContext): Predicate | null {
  if (!Array.isArray(items) || items.length === 0) return null;
  return compileItem({ type: "and", value: items }, ctx);
}

function lower(v: unknown): unknown {
  return typeof v === "string" ? v.toLowerCase() : v;
}

/** Compare like MySQL: numbers numerically, strings case-insensitively. null → NaN-ish (false). */
function cmp(a: unknown, b: unknown): number {
  if (typeof a === "number" || typeof b === "number") {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    const x = a === true || a === 1 || a === "1" || a === "true" ? 1 : 0;
    const y = b === true || b === 1 || b === "1" || b === "true" ? 1 : 0;
    return x - y;
  }
  const x = String(lower(a));
  const y = String(lower(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A comparison of stored values against one constant, specialised by attribute kind: dates and
 * datetimes compare as strings (their format sorts), numbers numerically, other strings
 * case-insensitively. Returns <0, 0, >0 like `cmp(x, v)`.
 */
function comparer(kind: AttrInfo["kind"], v: unknown): (x: unknown) => number {
  if ((kind === "datetime" || kind === "date") && typeof v === "string") {
    return (x) => (typeof x === "string" ? (x < v ? -1 : x > v ? 1 : 0) : cmp(x, v));
  }
  if (kind === "number") {
    const y = Number(v);
    return (x) => {
      const n = Number(x);
      return n < y ? -1 : n > y ? 1 : 0;
    };
  }
  if (kind === "string" && typeof v === "string") {
    const y = v.toLowerCase();
    return (x) => {
      if (typeof x !== "string") return cmp(x, v);
      const l = x.toLowerCase();
      return l < y ? -1 : l > y ? 1 : 0;
    };
  }
  return (x) => cmp(x, v);
}

function likeToRegex(pattern: string): RegExp {
  let re = "^";
  for (const ch of pattern) {
    if (ch === "%") re += "[\\s\\S]*";
    else if (ch === "_") re += "[\\s\\S]";
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`, "i");
}

function normalizeDateTimeValue(v: unknown, type: string): string {
  if (typeof v !== "string") throw badRequest(`Bad where item '${type}'.`);
  if (DATETIME_RE.test(v)) return v.length === 16 ? `${v}:00` : v;
  if (DATE_RE.test(v)) return `${v} 00:00:00`;
  // Stricter than real Espo (which hands the string to MySQL): ISO 8601 `T`/`Z`/offsets are refused.
  throw badRequest(`Bad datetime value '${v}' in where item '${type}'. Use 'Y-m-d H:i:s' (UTC).`);
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
function fmtDate(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
function fmtDateTime(d: Date): string {
  return `${fmtDate(d)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Offset (ms) of a time zone at an instant; UTC when the zone is unknown. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function tzOffsetMs(timeZone: string, at: number): number {
  if (timeZone === "UTC") return 0;
  try {
    let f = formatters.get(timeZone);
    f ??= new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
    const parts = Object.fromEntries(f.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    );
    return asUtc - Math.floor(at / 1000) * 1000;
  } catch {
    return 0;
  }
}

/** UTC instant of local midnight of a local date (YYYY-MM-DD) in a zone. */
function localDayStartUtc(date: string, tz: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  return guess - tzOffsetMs(tz, guess);
}

function localToday(nowMs: number, tz: string): string {
  return fmtDate(new Date(nowMs + tzOffsetMs(tz, nowMs)));
}

function addDays(date: string, n: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return fmtDate(new Date(Date.UTC(y, m - 1, d + n)));
}

function compileItem(raw: unknown, ctx: WhereContext): Predicate {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw badRequest("Bad where item.");
  const item = raw as Record<string, unknown>;
  for (const k of Object.keys(item)) if (!ALLOWED_KEYS.has(k)) throw badRequest(`Unknown parameter '${k}'.`);
  const type = item.type;
  if (typeof type !== "string" || type === "") throw badRequest("Bad where item. No 'type'.");
  if (!ALL_TYPES.has(type)) throw badRequest(`Unknown where item type '${type}'.`);
  if (type === "not" || type === "subQueryIn" || type === "subQueryNotIn") throw badRequest("Sub-queries are forbidden in where.");
  if (type === "expression") throw badRequest("Complex expressions are forbidden in where.");
  const value = item.value;

  if (type === "and" || type === "or") {
    if (!Array.isArray(value)) throw badRequest("Bad 'value'.");
    const preds = value.map((v) => compileItem(v, ctx));
    if (preds.length === 0) return () => true;
    if (preds.length === 1) return preds[0] as Predicate;
    const n = preds.length;
    if (type === "and")
      return (r) => {
        for (let i = 0; i < n; i++) if (!(preds[i] as Predicate)(r)) return false;
        return true;
      };
    return (r) => {
      for (let i = 0; i < n; i++) if ((preds[i] as Predicate)(r)) return true;
      return false;
    };
  }

  const attribute = (item.attribute ?? item.field) as unknown;
  if (typeof attribute !== "string" || attribute === "") throw badRequest(`Bad where item '${type}'. No attribute.`);

  if (type === "linkedWith" || type === "notLinkedWith" || type === "linkedWithAll" || type === "isLinked" || type === "isNotLinked") {
    const probe = ctx.linkIds({}, attribute);
    if (probe === undefined) throw badRequest(`Not existing link '${attribute}' in where item.`);
    const ids = value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
    switch (type) {
      case "isLinked":
        return (r) => (ctx.linkIds(r, attribute) ?? []).length > 0;
      case "isNotLinked":
        return (r) => (ctx.linkIds(r, attribute) ?? []).length === 0;
      case "linkedWith":
        return (r) => (ctx.linkIds(r, attribute) ?? []).some((x) => ids.includes(x));
      case "notLinkedWith":
        return (r) => !(ctx.linkIds(r, attribute) ?? []).some((x) => ids.includes(x));
      default:
        return (r) => {
          const have = ctx.linkIds(r, attribute) ?? [];
          return ids.every((x) => have.includes(x));
        };
    }
  }

  const info = attribute.includes(".") ? ctx.pathAttribute(attribute) : ctx.attribute(attribute);
  if (!info) throw badRequest(`Not existing attribute '${attribute}' in where.`);
  const get = ctx.getter(attribute);
  const isDt = info.kind === "datetime";
  const isDateItem = item.dateTime === true || item.dateTime === "true";
  const tz = typeof item.timeZone === "string" && item.timeZone ? item.timeZone : "UTC";
  const scalar = (v: unknown): unknown => (isDt ? normalizeDateTimeValue(v, type) : v);

  // Date helpers: work on the date part; for dateTime items the day is taken in `timeZone`.
  const dayRange = (fromDate: string, toDateExclusive: string): Predicate => {
    if (isDt) {
      const from = fmtDateTime(new Date(localDayStartUtc(fromDate, isDateItem ? tz : "UTC")));
      const to = fmtDateTime(new Date(localDayStartUtc(toDateExclusive, isDateItem ? tz : "UTC")));
      return (r) => {
        const v = get(r);
        return typeof v === "string" && v >= from && v < to;
      };
    }
    return (r) => {
      const v = get(r);
      return typeof v === "string" && v >= fromDate && v < toDateExclusive;
    };
  };

  const dateArg = (v: unknown): string => {
    if (typeof v !== "string" || !(DATE_RE.test(v) || DATETIME_RE.test(v))) {
      if (typeof v === "string" && /T|Z|[+-]\d{2}:\d{2}$/.test(v)) {
        throw badRequest(`Bad datetime value '${v}' in where item '${type}'. Use 'Y-m-d H:i:s' (UTC).`);
      }
      throw badRequest(`Bad where item '${type}'.`);
    }
    return v;
  };

  // `dateTime: true` with a date-only value: the comparison is about whole days in `timeZone`.
  if (isDt && isDateItem && typeof value === "string" && DATE_RE.test(value)) {
    const d = value;
    const startOf = (x: string) => fmtDateTime(new Date(localDayStartUtc(x, tz)));
    switch (type) {
      case "on":
      case "equals":
        return dayRange(d, addDays(d, 1));
      case "notOn":
      case "notEquals": {
        const p = dayRange(d, addDays(d, 1));
        return (r) => get(r) != null && !p(r);
      }
      case "after":
      case "greaterThan": {
        const from = startOf(addDays(d, 1));
        return (r) => {
          const v = get(r);
          return typeof v === "string" && v >= from;
        };
      }
      case "before":
      case "lessThan": {
        const to = startOf(d);
        return (r) => {
          const v = get(r);
          return typeof v === "string" && v < to;
        };
      }
      default:
        break;
    }
  }
  if (isDt && isDateItem && typeof value === "string" && DATETIME_RE.test(value) && tz !== "UTC") {
    // A local datetime in `timeZone`: shift to UTC.
    const [dp, tp] = value.split(" ") as [string, string];
    const [y, m, dd] = dp.split("-").map(Number) as [number, number, number];
    const [hh, mi, ss] = tp.split(":").map(Number) as [number, number, number?];
    const local = Date.UTC(y, m - 1, dd, hh, mi, ss ?? 0);
    item.value = fmtDateTime(new Date(local - tzOffsetMs(tz, local)));
    return compileItem({ ...item, timeZone: undefined, dateTime: undefined }, ctx);
  }

  const now = ctx.nowMs();
  let todayCache: string | undefined;
  const todayOf = () => {
    todayCache ??= localToday(now, isDateItem ? tz : "UTC");
    return todayCache;
  };
  const intValue = (): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw badRequest(`Bad where item '${type}'.`);
    return Math.trunc(n);
  };
  const nowStr = fmtDateTime(new Date(now));

  switch (type) {
    case "equals":
    case "on": {
      if (value === null || value === undefined) return (r) => get(r) == null;
      const v = lower(scalar(value));
      if (isDt || info.kind === "date") {
        const d = String(scalar(value));
        return (r) => get(r) === d;
      }
      if (info.kind === "number") return (r) => get(r) != null && Number(get(r)) === Number(value);
      if (info.kind === "bool") return (r) => get(r) != null && cmp(get(r), value) === 0;
      return (r) => {
        const x = get(r);
        return x != null && lower(String(x)) === String(v);
      };
    }
    case "notEquals":
    case "notOn": {
      if (value === null || value === undefined) return (r) => get(r) != null;
      const c = comparer(info.kind, scalar(value));
      return (r) => {
        const x = get(r);
        return x != null && c(x) !== 0;
      };
    }
    case "greaterThan":
    case "after": {
      const c = comparer(info.kind, isDt ? scalar(value) : info.kind === "date" ? dateArg(value) : value);
      return (r) => {
        const x = get(r);
        return x != null && c(x) > 0;
      };
    }
    case "lessThan":
    case "before": {
      const c = comparer(info.kind, isDt ? scalar(value) : info.kind === "date" ? dateArg(value) : value);
      return (r) => {
        const x = get(r);
        return x != null && c(x) < 0;
      };
    }
    case "greaterThanOrEquals": {
      const c = comparer(info.kind, scalar(value));
      return (r) => {
        const x = get(r);
        return x != null && c(x) >= 0;
      };
    }
    case "lessThanOrEquals": {
      const c = comparer(info.kind, scalar(value));
      return (r) => {
        const x = get(r);
        return x != null && c(x) <= 0;
      };
    }
    case "between": {
      if (!Array.isArray(value) || value.length < 2) throw badRequest("Bad where item 'between'.");
      let a = scalar(value[0]);
      let b = scalar(value[1]);
      if (isDt && isDateItem && typeof value[0] === "string" && DATE_RE.test(value[0])) {
        a = fmtDateTime(new Date(localDayStartUtc(value[0], tz)));
        b = fmtDateTime(new Date(localDayStartUtc(addDays(String(value[1]).slice(0, 10), 1), tz) - 1000));
      }
      return (r) => {
        const x = get(r);
        return x != null && cmp(x, a) >= 0 && cmp(x, b) <= 0;
      };
    }
    case "in":
    case "notIn": {
      if (!Array.isArray(value)) throw badRequest(`Bad where item '${type}'.`);
      const set = new Set(value.map((v) => String(lower(scalar(v)))));
      if (type === "in")
        return (r) => {
          const x = get(r);
          return x != null && set.has(String(lower(x)));
        };
      return (r) => {
        const x = get(r);
        return x != null && !set.has(String(lower(x)));
      };
    }
    case "like":
    case "notLike":
    case "contains":
    case "notContains":
    case "startsWith":
    case "endsWith": {
      if (typeof value !== "string" && typeof value !== "number") throw badRequest(`Bad where item '${type}'.`);
      const s = String(value);
      const pattern =
        type === "contains" || type === "notContains" ? `%${s}%` : type === "startsWith" ? `${s}%` : type === "endsWith" ? `%${s}` : s;
      const re = likeToRegex(pattern);
      const negate = type === "notLike" || type === "notContains";
      return (r) => {
        const x = get(r);
        if (x == null) return false;
        return re.test(String(x)) !== negate;
      };
    }
    case "isNull":
      return (r) => {
        const x = get(r);
        return x == null;
      };
    case "isNotNull":
    case "ever":
      return (r) => get(r) != null;
    case "any":
      return () => true;
    case "none":
      return (r) => get(r) == null;
    case "isTrue":
      return (r) => get(r) === true;
    case "isFalse":
      return (r) => get(r) === false || get(r) == null;
    case "today":
      return dayRange(todayOf(), addDays(todayOf(), 1));
    case "past":
      return isDt
        ? (r) => {
            const x = get(r);
            return typeof x === "string" && x < nowStr;
          }
        : (r) => {
            const x = get(r);
            return typeof x === "string" && x < todayOf();
          };
    case "future":
      return isDt
        ? (r) => {
            const x = get(r);
            return typeof x === "string" && x > nowStr;
          }
        : (r) => {
            const x = get(r);
            return typeof x === "string" && x > todayOf();
          };
    case "lastSevenDays":
      return dayRange(addDays(todayOf(), -7), addDays(todayOf(), 1));
    case "lastXDays":
      return dayRange(addDays(todayOf(), -intValue()), addDays(todayOf(), 1));
    case "nextXDays":
      return dayRange(todayOf(), addDays(todayOf(), intValue() + 1));
    case "olderThanXDays":
      return dayRange("0000-01-01", addDays(todayOf(), -intValue()));
    case "afterXDays":
      return dayRange(addDays(todayOf(), intValue() + 1), "9999-12-31");
    case "currentMonth":
    case "lastMonth":
    case "nextMonth": {
      const [y, m] = todayOf().split("-").map(Number) as [number, number];
      const shift = type === "currentMonth" ? 0 : type === "lastMonth" ? -1 : 1;
      const start = fmtDate(new Date(Date.UTC(y, m - 1 + shift, 1)));
      const end = fmtDate(new Date(Date.UTC(y, m + shift, 1)));
      return dayRange(start, end);
    }
    case "currentQuarter":
    case "lastQuarter":
    case "currentFiscalQuarter":
    case "lastFiscalQuarter": {
      const [y, m] = todayOf().split("-").map(Number) as [number, number];
      const q = Math.floor((m - 1) / 3) + (type.startsWith("last") ? -1 : 0);
      const start = fmtDate(new Date(Date.UTC(y, q * 3, 1)));
      const end = fmtDate(new Date(Date.UTC(y, q * 3 + 3, 1)));
      return dayRange(start, end);
    }
    case "currentYear":
    case "lastYear":
    case "currentFiscalYear":
    case "lastFiscalYear": {
      const y = Number(todayOf().slice(0, 4)) - (type.startsWith("last") ? 1 : 0);
      return dayRange(`${y}-01-01`, `${y + 1}-01-01`);
    }
    case "arrayAnyOf":
    case "arrayNoneOf":
    case "arrayAllOf": {
      const vals = (Array.isArray(value) ? value : [value]).map((v) => String(lower(v)));
      return (r) => {
        const x = get(r);
        const arr = Array.isArray(x) ? x.map((v) => String(lower(v))) : [];
        if (type === "arrayAnyOf") return arr.some((v) => vals.includes(v));
        if (type === "arrayNoneOf") return !arr.some((v) => vals.includes(v));
        return vals.every((v) => arr.includes(v));
      };
    }
    case "arrayIsEmpty":
      return (r) => {
        const x = get(r);
        return !Array.isArray(x) || x.length === 0;
      };
    case "arrayIsNotEmpty":
      return (r) => {
        const x = get(r);
        return Array.isArray(x) && x.length > 0;
      };
    default:
      throw badRequest(`Unknown where item type '${type}'.`);
  }
}
