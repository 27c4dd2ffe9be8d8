/**
 * Operating settings of an integration (Step 8): drift policy, health-rule thresholds, alert
 * channels, per object. They live in the integration file's optional `monitor:` section (shape and
 * line:column errors: src/spec; examples/espocrm-erpnext.yaml shows one, commented). Every value has
 * the field's default (reference/integration-practice.md § Running it), so the section is optional.
 *
 *   monitor:
 *     drift: pause                    # pause | ignore-additions | alert-only (default for every object)
 *     errorRate: 0.01                 # alert above 1 % of a run's records (or API calls) failing
 *     countDivergence: 0.05           # alert when the systems' record counts differ by more than 5 %
 *     escalateAfter: 30m              # secondary owner if not acknowledged within
 *     reconcileEvery: 15m             # reconciliation pass behind webhooks (realtime objects)
 *     repairedThreshold: 5            # alert when a reconciliation pass repairs more records than this
 *     smtp: { host: smtp.example.com, port: 587, from: accord@example.com,   # e-mail alerts (optional)
 *             user: accord, password: "${SMTP_PASSWORD}" }                 # tls: starttls (default off-host) | tls | none
 *     objects:
 *       stock:
 *         drift: pause
 *         freshness: 10m              # the object must have synced successfully within this window
 *         keyFields:                  # stale-value guard and key-field freshness
 *           - { field: actual_qty, window: 1d, minReads: 50 }
 *
 * Fallback (older deployments): a sidecar `acme.yaml` → `acme.monitor.yaml` with the same keys at the
 * top level, read only when the integration file has no `monitor:` section; `--monitor PATH` names
 * one explicitly and wins over both. A file with a `monitor:` section AND a sidecar is refused (which
 * one holds would be a guess): move the sidecar's settings into the file.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SpecError } from "../errors.ts";
import { loadSpec, normaliseMonitor } from "../spec/load.ts";
import type { DriftPolicy, IntegrationSpec, MonitorSpec, ObjectSpec } from "../spec/model.ts";
import { monitorSectionSchema } from "../spec/schema.ts";

export type { DriftPolicy };

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
  smtp?: { host: string; port: number; from: string; tls?: "starttls" | "tls" | "none"; user?: string; password?: string };
  objects: Record<string, Partial<ObjectMonitorSettings>>;
  /** Where the settings came from: "FILE#monitor" (the integration file's section) or a sidecar path; undefined = defaults only. */
  file?: string;
}

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

/** The sidecar path of an integration file: `x.yaml` → `x.monitor.yaml`. */
export function monitorFileFor(specFile: string): string {
  return specFile.replace(/(\.ya?ml)?$/i, ".monitor.yaml");
}

/** Settings from the normalised `monitor:` section (defaults filled in). */
export function settingsFromSpec(m: MonitorSpec | undefined, file?: string): MonitorSettings {
  const objects: Record<string, Partial<ObjectMonitorSettings>> = {};
  for (const [name, o] of Object.entries(m?.objects ?? {})) {
    const out: Partial<ObjectMonitorSettings> = {};
    if (o.drift) out.drift = o.drift;
    if (o.errorRate !== undefined) out.errorRate = o.errorRate;
    if (o.countDivergence !== undefined) out.countDivergence = o.countDivergence;
    if (o.freshnessMs !== undefined) out.freshnessMs = o.freshnessMs;
    if (o.keyFields) out.keyFields = o.keyFields.map((k) => ({ ...k }));
    objects[name] = out;
  }
  return {
    drift: m?.drift ?? DEFAULT_SETTINGS.drift,
    errorRate: m?.errorRate ?? DEFAULT_SETTINGS.errorRate,
    countDivergence: m?.countDivergence ?? DEFAULT_SETTINGS.countDivergence,
    escalateAfterMs: m?.escalateAfterMs ?? DEFAULT_SETTINGS.escalateAfterMs,
    reconcileEveryMs: m?.reconcileEveryMs ?? DEFAULT_SETTINGS.reconcileEveryMs,
    repairedThreshold: m?.repairedThreshold ?? DEFAULT_SETTINGS.repairedThreshold,
    clearAfterCleanRuns: m?.clearAfterCleanRuns ?? DEFAULT_SETTINGS.clearAfterCleanRuns,
    ...(m?.smtp ? { smtp: { ...m.smtp } } : {}),
    objects,
    ...(file ? { file } : {}),
  };
}

/** Parse settings from YAML text of a sidecar file (the `monitor:` keys at the top level; defaults filled in). */
export function parseMonitorSettings(text: string, file?: string): MonitorSettings {
  const raw = text.trim() === "" ? {} : parseYaml(text);
  const r = monitorSectionSchema.safeParse(raw ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.map(String).join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new SpecError(`monitor settings${file ? ` in ${file}` : ""} are invalid: ${msg}`, []);
  }
  return settingsFromSpec(normaliseMonitor(r.data), file);
}

/**
 * Settings of an integration file: `explicit` (--monitor PATH) when given; else the file's `monitor:`
 * section; else the sidecar FILE.monitor.yaml when it exists; else defaults. `spec` saves loading the
 * file again when the caller has it.
 */
export function loadMonitorSettings(specFile: string, explicit?: string, spec?: IntegrationSpec): MonitorSettings {
  if (explicit) {
    if (!existsSync(explicit)) throw new SpecError(`monitor settings file ${explicit} does not exist`, []);
    return parseMonitorSettings(readFileSync(explicit, "utf8"), explicit);
  }
  const loaded = spec ?? (existsSync(specFile) ? loadSpec(readFileSync(specFile, "utf8"), specFile) : undefined);
  const sidecar = monitorFileFor(specFile);
  const hasSidecar = sidecar !== specFile && existsSync(sidecar);
  if (loaded?.monitor) {
    if (hasSidecar)
      throw new SpecError(
        `${specFile} has a \`monitor:\` section and ${sidecar} exists too: move the sidecar's settings into the section and delete ${sidecar} (or name one with --monitor)`,
        [],
      );
    return settingsFromSpec(loaded.monitor, `${specFile}#monitor`);
  }
  if (hasSidecar) return parseMonitorSettings(readFileSync(sidecar, "utf8"), sidecar);
  return { ...DEFAULT_SETTINGS, objects: {} };
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
