/**
 * Connector options every HTTP connector understands (ConnectorConfig.options), read
 * tolerantly: a wrong type is a clear ValidationRejected naming the option.
 */
import { ValidationRejected } from "../errors.ts";
import type { HttpLogger, RateLimitOptions } from "./http.ts";

export interface CommonOptions {
  timeoutMs?: number;
  concurrency?: number;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  pageSize?: number;
  rateLimit?: RateLimitOptions;
  logger?: HttpLogger;
}

function num(system: string, opts: Record<string, unknown>, key: string, min = 0): number | undefined {
  const v = opts[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min)
    throw new ValidationRejected(`${system}: option "${key}" must be a number >= ${min}, got ${JSON.stringify(v)}.`, {
      where: { system, field: key },
      hint: `Fix systems.<name>.options.${key} in the integration file.`,
    });
  return n;
}

export function readCommonOptions(system: string, raw: Record<string, unknown> | undefined): CommonOptions {
  const o = raw ?? {};
  const out: CommonOptions = {
    timeoutMs: num(system, o, "timeoutMs", 1),
    concurrency: num(system, o, "concurrency", 1),
    maxRetries: num(system, o, "maxRetries", 0),
    baseDelayMs: num(system, o, "baseDelayMs", 0),
    maxDelayMs: num(system, o, "maxDelayMs", 0),
    maxRetryAfterMs: num(system, o, "maxRetryAfterMs", 0),
    pageSize: num(system, o, "pageSize", 1),
  };
  const rl = o.rateLimit;
  if (rl !== undefined && rl !== null) {
    if (typeof rl !== "object" || Array.isArray(rl))
      throw new ValidationRejected(`${system}: option "rateLimit" must be an object { perSecond?, burst?, dailyBudget? }.`, {
        where: { system, field: "rateLimit" },
      });
    const r = rl as Record<string, unknown>;
    out.rateLimit = {
      perSecond: num(system, r, "perSecond", 0),
      burst: num(system, r, "burst", 1),
      dailyBudget: num(system, r, "dailyBudget", 1),
    };
  }
  const lg = o.logger as HttpLogger | undefined;
  if (lg && typeof lg.warn === "function" && typeof lg.debug === "function") out.logger = lg;
  return out;
}

/** Convert a neutral filter value to a plain string/number for query encodings. */
export function scalar(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}
