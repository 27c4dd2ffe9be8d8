/**
 * Operating settings of an integration (Step 8): drift policy, health-rule thresholds, alert
 * channels, per object. They live in an optional sidecar file next to the integration file —
 * `acme.yaml` → `acme.monitor.yaml` (or `--monitor PATH`) — because the integration file's schema
 * (src/spec) is strict and does not carry an operations section yet. Every value has the field's
 * default (reference/integration-practice.md § Running it), so the file is optional.
 *
 *   drift: pause                    # pause | ignore-additions | alert-only (default for every object)
 *   errorRate: 0.01                 # alert above 1 % of a run's records (or API calls) failing
 *   countDivergence: 0.05           # alert when the systems' record counts differ by more than 5 %
 *   escalateAfter: 30m              # secondary owner if not acknowledged within
 *   reconcileEvery: 15m             # reconciliation pass behind webhooks (realtime objects)
 *   repairedThreshold: 5            # alert when a reconciliation pass repairs more records than this
 *   smtp: { host: 127.0.0.1, port: 25, from: accord@example.com }   # e-mail alerts (optional)
 *   objects:
 *     item:
 *       drift: alert-only
 *       freshness: 10m              # the object must have synced successfully within this window
 *       keyFields:                  # stale-value guard and key-field freshness
 *         - { field: stock_qty, window: 1d, minReads: 50 }
 */
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { SpecError } from "../errors.ts";
import { parseDuration } from "../spec/load.ts";
import type { ObjectSpec } from "../spec/model.ts";

export type DriftPolicy = "pause" | "ignore-additions" | "alert-only";

export interface KeyFieldSettings {
  /** Field name in either system (the field map it belongs to is found by name). */
  field: string;
  /** Window of the stale-value guard and of the key field's freshness (ms). */
  windowMs: number;
  /** Records read in the window above which a key field that never changed is suspicious. */
  minReads: number;
}

export interface ObjectMonitorSettings {
  drift: DriftPolicy;
  errorRate: number;
  countDivergence: number;
  /** The object must have had a successful run within this window (ms). */
  freshnessMs: number;
  keyFields: KeyFieldSettings[];
}

export interface MonitorSettings {
  drift: DriftPolicy;
  errorRate: number;
  countDivergence: number;
  escalateAfterMs: number;
  reconcileEveryMs: number;
  repairedThreshold: number;
  /** Consecutive clean runs after which an error-rate incident is resolved. */
  clearAfterCleanRuns: number;
  smtp?: { host: string; port: number; from: string };
  objects: Record<string, Partial<ObjectMonitorSettings>>;
  /** Where the settings came from (undefined = defaults only). */
  file?: string;
}

const duration = z.union([z.string(), z.number().nonnegative()]);
const policy = z.enum(["pause", "ignore-additions", "alert-only"]);
const keyField = z.strictObject({
  field: z.string().min(1),
  window: duration.optional(),
  minReads: z.number().int().positive().optional(),
});
const objectSchema = z.strictObject({
  drift: policy.optional(),
  errorRate: z.number().min(0).max(1).optional(),
  countDivergence: z.number().min(0).max(1).optional(),
  freshness: duration.optional(),
  keyFields: z.array(keyField).optional(),
});
const fileSchema = z.strictObject({
  drift: policy.optional(),
  errorRate: z.number().min(0).max(1).optional(),
  countDivergence: z.number().min(0).max(1).optional(),
  escalateAfter: duration.optional(),
  reconcileEvery: duration.optional(),
  repairedThreshold: z.number().int().nonnegative().optional(),
  clearAfterCleanRuns: z.number().int().positive().optional(),
  smtp: z.strictObject({ host: z.string().min(1), port: z.number().int().positive().optional(), from: z.string().min(3) }).optional(),
  objects: z.record(z.string(), objectSchema).optional(),
});

export const DEFAULT_SETTINGS: MonitorSettings = {
  drift: "pause",
  errorRate: 0.01,
  countDivergence: 0.05,
  escalateAfterMs: 30 * 60_000,
  reconcileEveryMs: 15 * 60_000,
  repairedThreshold: 5,
  clearAfterCleanRuns: 3,
  objects: {},
};

function ms(v: string | number | undefined, where: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseDuration(v);
  } catch {
    throw new SpecError(`monitor settings: ${where}: "${v}" is not a duration (500ms, 30s, 5m, 1h, 1d)`, []);
  }
}

/** The sidecar path of an integration file: `x.yaml` → `x.monitor.yaml`. */
export function monitorFileFor(specFile: string): string {
  return specFile.replace(/(\.ya?ml)?$/i, ".monitor.yaml");
}

/** Parse settings from YAML text (defaults filled in). */
export function parseMonitorSettings(text: string, file?: string): MonitorSettings {
  const raw = text.trim() === "" ? {} : parseYaml(text);
  const r = fileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new SpecError(`monitor settings${file ? ` in ${file}` : ""} are invalid: ${msg}`, []);
  }
  const f = r.data;
  const objects: Record<string, Partial<ObjectMonitorSettings>> = {};
  for (const [name, o] of Object.entries(f.objects ?? {})) {
    const out: Partial<ObjectMonitorSettings> = {};
    if (o.drift) out.drift = o.drift;
    if (o.errorRate !== undefined) out.errorRate = o.errorRate;
    if (o.countDivergence !== undefined) out.countDivergence = o.countDivergence;
    const fr = ms(o.freshness, `objects.${name}.freshness`);
    if (fr !== undefined) out.freshnessMs = fr;
    if (o.keyFields)
      out.keyFields = o.keyFields.map((k) => ({
        field: k.field,
        windowMs: ms(k.window, `objects.${name}.keyFields.${k.field}.window`) ?? 86_400_000,
        minReads: k.minReads ?? 50,
      }));
    objects[name] = out;
  }
  return {
    drift: f.drift ?? DEFAULT_SETTINGS.drift,
    errorRate: f.errorRate ?? DEFAULT_SETTINGS.errorRate,
    countDivergence: f.countDivergence ?? DEFAULT_SETTINGS.countDivergence,
    escalateAfterMs: ms(f.escalateAfter, "escalateAfter") ?? DEFAULT_SETTINGS.escalateAfterMs,
    reconcileEveryMs: ms(f.reconcileEvery, "reconcileEvery") ?? DEFAULT_SETTINGS.reconcileEveryMs,
    repairedThreshold: f.repairedThreshold ?? DEFAULT_SETTINGS.repairedThreshold,
    clearAfterCleanRuns: f.clearAfterCleanRuns ?? DEFAULT_SETTINGS.clearAfterCleanRuns,
    ...(f.smtp ? { smtp: { host: f.smtp.host, port: f.smtp.port ?? 25, from: f.smtp.from } } : {}),
    objects,
    ...(file ? { file } : {}),
  };
}

/** Settings for an integration file: the given path, else the sidecar if it exists, else defaults. */
export function loadMonitorSettings(specFile: string, explicit?: string): MonitorSettings {
  const file = explicit ?? monitorFileFor(specFile);
  if (!existsSync(file)) {
    if (explicit) throw new SpecError(`monitor settings file ${explicit} does not exist`, []);
    return { ...DEFAULT_SETTINGS, objects: {} };
  }
  return parseMonitorSettings(readFileSync(file, "utf8"), file);
}

/** Default freshness window by tier: realtime 10 min, hourly 2 h, daily and cron 26 h. */
export function defaultFreshnessMs(obj: ObjectSpec): number {
  const s = obj.schedule;
  if ("tier" in s) return s.tier === "realtime" ? 10 * 60_000 : s.tier === "hourly" ? 2 * 3_600_000 : 26 * 3_600_000;
  return 26 * 3_600_000;
}

/** The effective settings of one object. */
export function objectSettings(settings: MonitorSettings, obj: ObjectSpec): ObjectMonitorSettings {
  const o = settings.objects[obj.name] ?? {};
  return {
    drift: o.drift ?? settings.drift,
    errorRate: o.errorRate ?? settings.errorRate,
    countDivergence: o.countDivergence ?? settings.countDivergence,
    freshnessMs: o.freshnessMs ?? defaultFreshnessMs(obj),
    keyFields: o.keyFields ?? [],
  };
}
