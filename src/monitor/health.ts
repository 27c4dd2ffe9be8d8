/**
 * Health rules (reference/integration-practice.md § Running it), each raising one de-duplicated
 * incident per rule + object through the Alerter:
 *
 *   error-rate       a run whose failing share exceeds `errorRate` (default 1 %): records quarantined
 *                    out of records read, or failed API calls (server errors, timeouts — retried or
 *                    not) out of API calls, whichever is higher; a run that failed outright counts.
 *                    Resolved after `clearAfterCleanRuns` clean runs in a row (no flapping).
 *   auth             any authentication failure: critical, at once; the system's jobs pause until a
 *                    probe succeeds (the runtime does the pausing and probing).
 *   freshness        an object without a successful run within its window (by tier), or a key field
 *                    not changed within its window.
 *   stale-value      a key field that did not change in its window while its object's records kept
 *                    changing (≥ minReads records read) — an upgrade that moved the value elsewhere.
 *   count-divergence record counts of the two systems differ by more than `countDivergence`.
 *   schema-drift     raised by the drift check (drift.ts), one incident per object.
 *   reconcile-repairs a reconciliation pass repaired more records than `repairedThreshold`.
 */
import type { Connector, ConnectorStats } from "../connectors/types.ts";
import type { IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { RunCounts, Store } from "../store/types.ts";
import type { Alerter } from "./alerts.ts";
import { type MonitorSettings, objectSettings } from "./settings.ts";

export interface RunObservation {
  object: string;
  counts: RunCounts;
  /** API use of the run per system (stats difference). */
  api: Partial<Record<Side, { calls: number; errors: Record<string, number> }>>;
  /** The run failed (message), or undefined. */
  failed?: string;
}

/** API calls and errors between two stats snapshots. */
export function apiDelta(before: ConnectorStats, after: ConnectorStats): { calls: number; errors: Record<string, number> } {
  const errors: Record<string, number> = {};
  for (const [k, n] of Object.entries(after.errors)) {
    const d = n - (before.errors[k] ?? 0);
    if (d > 0) errors[k] = d;
  }
  return { calls: after.calls - before.calls, errors };
}

/** Error classes that say the system (or the path to it) is failing, as opposed to a client-side or policy refusal. */
const FAILING = new Set(["Transient"]);

export function errorRateOf(o: RunObservation): { rate: number; why: string } {
  const recordRate = o.counts.read > 0 ? o.counts.quarantined / o.counts.read : 0;
  let calls = 0;
  let failed = 0;
  for (const a of Object.values(o.api)) {
    if (!a) continue;
    calls += a.calls;
    for (const [cls, n] of Object.entries(a.errors)) if (FAILING.has(cls)) failed += n;
  }
  const apiRate = calls > 0 ? failed / calls : 0;
  if (o.failed) return { rate: 1, why: `the run failed: ${o.failed}` };
  if (recordRate >= apiRate)
    return {
      rate: recordRate,
      why: `${o.counts.quarantined} of ${o.counts.read} records quarantined (${(recordRate * 100).toFixed(1)} %)`,
    };
  return { rate: apiRate, why: `${failed} of ${calls} API calls failed with server errors or timeouts (${(apiRate * 100).toFixed(1)} %)` };
}

export class HealthRules {
  readonly #spec: IntegrationSpec;
  readonly #store: Store;
  readonly #settings: MonitorSettings;
  readonly #alerter: Alerter;
  readonly #clean = new Map<string, number>();

  constructor(opts: { spec: IntegrationSpec; store: Store; settings: MonitorSettings; alerter: Alerter }) {
    this.#spec = opts.spec;
    this.#store = opts.store;
    this.#settings = opts.settings;
    this.#alerter = opts.alerter;
  }

  #obj(name: string): ObjectSpec | undefined {
    return this.#spec.objects.find((o) => o.name === name);
  }

  /** After every object run. */
  async afterRun(o: RunObservation): Promise<void> {
    const obj = this.#obj(o.object);
    if (!obj) return;
    const threshold = objectSettings(this.#settings, obj).errorRate;
    const { rate, why } = errorRateOf(o);
    if (rate > threshold) {
      this.#clean.set(o.object, 0);
      await this.#alerter.raise({
        rule: "error-rate",
        object: o.object,
        severity: o.failed ? "critical" : "warning",
        message: `error rate of object ${o.object} above ${(threshold * 100).toFixed(1)} %: ${why}`,
        detail: { rate, counts: { ...o.counts }, api: JSON.parse(JSON.stringify(o.api)) },
      });
      return;
    }
    const n = (this.#clean.get(o.object) ?? 0) + 1;
    this.#clean.set(o.object, n);
    if (n >= this.#settings.clearAfterCleanRuns) await this.#alerter.resolve("error-rate", o.object);
  }

  async authFailure(side: Side, message: string): Promise<void> {
    await this.#alerter.raise({
      rule: "auth",
      object: side,
      severity: "critical",
      message: `the ${side.toUpperCase()} (${this.#spec.systems[side].type}) refused Accord's credentials — every job touching it is paused until they work again: ${message}`,
      detail: { side },
    });
  }

  async authRestored(side: Side): Promise<void> {
    await this.#alerter.resolve("auth", side);
  }

  async reconcileRepaired(object: string, repaired: number): Promise<void> {
    if (repaired <= this.#settings.repairedThreshold) return;
    await this.#alerter.raise({
      rule: "reconcile-repairs",
      object,
      severity: "warning",
      message: `${repaired} records of ${object} were repaired by polling/reconciliation since the last pass (threshold ${this.#settings.repairedThreshold}): webhooks are being lost or delayed, or a system has no subscription`,
      detail: { repaired },
    });
  }

  /** Freshness of objects (last successful run) and of key fields; the stale-value guard. */
  async checkFreshness(now: Date = new Date(), skip: Set<string> = new Set()): Promise<void> {
    for (const obj of this.#spec.objects) {
      if (skip.has(obj.name)) continue;
      const s = objectSettings(this.#settings, obj);
      const runs = await this.#store.listRuns(this.#spec.name, { object: obj.name, limit: 200 });
      const lastOk = runs.find((r) => r.status === "ok" && r.kind === "sync");
      const okAt = lastOk ? Date.parse(lastOk.finishedAt ?? lastOk.startedAt) : undefined;
      if (okAt === undefined || now.getTime() - okAt > s.freshnessMs) {
        await this.#alerter.raise({
          rule: "freshness",
          object: obj.name,
          severity: "warning",
          message: `object ${obj.name} has not synced successfully ${okAt === undefined ? "yet" : `since ${new Date(okAt).toISOString()}`} (window ${Math.round(s.freshnessMs / 60_000)} min)`,
          detail: { lastOk: lastOk?.finishedAt ?? null, windowMs: s.freshnessMs },
        });
      } else {
        await this.#alerter.resolve("freshness", obj.name);
      }
      for (const k of s.keyFields) await this.#checkKeyField(obj, k.field, k.windowMs, k.minReads, runs, now);
    }
  }

  async #checkKeyField(
    obj: ObjectSpec,
    field: string,
    windowMs: number,
    minReads: number,
    runs: Awaited<ReturnType<Store["listRuns"]>>,
    now: Date,
  ): Promise<void> {
    const map = obj.fields.find((m) => m.crm === field || m.erp === field);
    if (!map || !this.#store.fieldChanges) return;
    // the change log names the field written: the target side(s) of the map
    const targets = map.direction === "crm->erp" ? [map.erp] : map.direction === "erp->crm" ? [map.crm] : [map.crm, map.erp];
    const since = new Date(now.getTime() - windowMs).toISOString();
    let changes = 0;
    let lastAt: string | null = null;
    for (const t of targets) {
      const c = await this.#store.fieldChanges(this.#spec.name, obj.name, t, since);
      changes += c.count;
      if (c.lastAt && (!lastAt || c.lastAt > lastAt)) lastAt = c.lastAt;
    }
    const reads = runs.filter((r) => r.startedAt >= since).reduce((n, r) => n + r.counts.read, 0);
    const key = `${obj.name}.${field}`;
    if (changes === 0 && reads >= minReads) {
      await this.#alerter.raise({
        rule: "stale-value",
        object: key,
        severity: "warning",
        message: `key field ${field} of ${obj.name} has not changed in ${Math.round(windowMs / 3_600_000)} h while ${reads} records were read as changed — is the value still coming from the right field (an upgrade may have moved it)?`,
        detail: { field, reads, lastChange: lastAt, windowMs },
      });
    } else if (changes > 0) {
      await this.#alerter.resolve("stale-value", key);
    }
  }

  /** Record counts per object in both systems (objects without filters, when both connectors can list ids). */
  async checkCounts(
    crm: Connector,
    erp: Connector,
    skip: Set<string> = new Set(),
  ): Promise<Record<string, { crm: number; erp: number } | "not checked">> {
    const out: Record<string, { crm: number; erp: number } | "not checked"> = {};
    for (const obj of this.#spec.objects) {
      if (
        skip.has(obj.name) ||
        obj.crm.filter?.length ||
        obj.erp.filter?.length ||
        !crm.listIds ||
        !erp.listIds ||
        obj.create === "never"
      ) {
        out[obj.name] = "not checked";
        continue;
      }
      const count = async (c: Connector, entity: string) => {
        let n = 0;
        for await (const page of (c.listIds as NonNullable<Connector["listIds"]>).call(c, entity)) n += page.length;
        return n;
      };
      const counts = { crm: await count(crm, obj.crm.entity), erp: await count(erp, obj.erp.entity) };
      out[obj.name] = counts;
      const max = Math.max(counts.crm, counts.erp);
      const share = max === 0 ? 0 : Math.abs(counts.crm - counts.erp) / max;
      const limit = objectSettings(this.#settings, obj).countDivergence;
      if (share > limit) {
        await this.#alerter.raise({
          rule: "count-divergence",
          object: obj.name,
          severity: "warning",
          message: `${obj.name}: ${counts.crm} records in the CRM (${obj.crm.entity}) vs ${counts.erp} in the ERP (${obj.erp.entity}) — ${(share * 100).toFixed(1)} % apart (limit ${(limit * 100).toFixed(1)} %)`,
          detail: { ...counts, share },
        });
      } else {
        await this.#alerter.resolve("count-divergence", obj.name);
      }
    }
    return out;
  }
}
