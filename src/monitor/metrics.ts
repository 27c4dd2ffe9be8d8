/**
 * Prometheus metrics of a running integration (prom-client). By default one registry per runtime,
 * so several can live in one process (tests); a worker serving many integrations passes one shared
 * registry: the metrics are registered once and every integration's instance labels its own series.
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";

/** Instances sharing a registry: the freshness gauge collects every one of them. */
const sharing = new WeakMap<Registry, Set<AccordMetrics>>();
import type { ConnectorStats } from "../connectors/types.ts";
import type { RunCounts } from "../store/types.ts";

export class AccordMetrics {
  readonly registry: Registry;
  readonly records: Counter<"integration" | "object" | "outcome">;
  readonly apiCalls: Counter<"integration" | "system">;
  readonly apiErrors: Counter<"integration" | "system" | "class">;
  readonly runs: Counter<"integration" | "object" | "trigger" | "status">;
  readonly runDuration: Histogram<"integration" | "object" | "trigger">;
  readonly lag: Histogram<"integration" | "object" | "source">;
  readonly freshness: Gauge<"integration" | "object">;
  readonly repaired: Counter<"integration" | "object">;
  readonly webhooks: Counter<"integration" | "system" | "result">;
  readonly pausedMappings: Gauge<"integration" | "object">;
  readonly pausedSystems: Gauge<"integration" | "system">;
  readonly alertsActive: Gauge<"integration">;
  readonly #integration: string;
  readonly #lastOk = new Map<string, number>();

  constructor(integration: string, shared?: Registry) {
    this.#integration = integration;
    const registry = shared ?? new Registry();
    this.registry = registry;
    const r = [registry];
    const peers = sharing.get(registry) ?? new Set<AccordMetrics>();
    sharing.set(registry, peers);
    peers.add(this);
    /** The metric already in a shared registry, or a new one registered there. */
    const once = <M extends Metric>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
    this.records = once(
      "accord_records_total",
      () =>
        new Counter({
          name: "accord_records_total",
          help: "Records read, by outcome (read, applied, unchanged, held, quarantined)",
          labelNames: ["integration", "object", "outcome"],
          registers: r,
        }),
    );
    this.apiCalls = once(
      "accord_api_calls_total",
      () =>
        new Counter({
          name: "accord_api_calls_total",
          help: "HTTP calls made to a system (retries included)",
          labelNames: ["integration", "system"],
          registers: r,
        }),
    );
    this.apiErrors = once(
      "accord_api_errors_total",
      () =>
        new Counter({
          name: "accord_api_errors_total",
          help: "Failed calls to a system, by error class",
          labelNames: ["integration", "system", "class"],
          registers: r,
        }),
    );
    this.runs = once(
      "accord_runs_total",
      () =>
        new Counter({
          name: "accord_runs_total",
          help: "Object runs, by trigger (start, poll, webhook, schedule, reconcile) and status",
          labelNames: ["integration", "object", "trigger", "status"],
          registers: r,
        }),
    );
    this.runDuration = once(
      "accord_run_duration_seconds",
      () =>
        new Histogram({
          name: "accord_run_duration_seconds",
          help: "Duration of an object run",
          labelNames: ["integration", "object", "trigger"],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
          registers: r,
        }),
    );
    this.lag = once(
      "accord_sync_lag_seconds",
      () =>
        new Histogram({
          name: "accord_sync_lag_seconds",
          help: "From a change becoming visible (webhook received, or the poll that saw it) to the end of the run that synced it",
          labelNames: ["integration", "object", "source"],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 300],
          registers: r,
        }),
    );
    this.freshness = once(
      "accord_freshness_seconds",
      () =>
        new Gauge({
          name: "accord_freshness_seconds",
          help: "Seconds since the object's last successful run",
          labelNames: ["integration", "object"],
          registers: r,
          collect: () => {
            const now = Date.now();
            for (const m of sharing.get(registry) ?? []) m.collectFreshness(now);
          },
        }),
    );
    this.repaired = once(
      "accord_reconcile_repaired_total",
      () =>
        new Counter({
          name: "accord_reconcile_repaired_total",
          help: "Records a reconciliation pass had to repair (changes the webhooks did not bring)",
          labelNames: ["integration", "object"],
          registers: r,
        }),
    );
    this.webhooks = once(
      "accord_webhooks_total",
      () =>
        new Counter({
          name: "accord_webhooks_total",
          help: "Webhook calls received, by result (accepted, unsigned, bad-signature, replay, error)",
          labelNames: ["integration", "system", "result"],
          registers: r,
        }),
    );
    this.pausedMappings = once(
      "accord_paused_mappings",
      () =>
        new Gauge({
          name: "accord_paused_mappings",
          help: "Mappings paused by schema drift (an object paused whole counts its mappings)",
          labelNames: ["integration", "object"],
          registers: r,
        }),
    );
    this.pausedSystems = once(
      "accord_system_paused",
      () =>
        new Gauge({
          name: "accord_system_paused",
          help: "1 while a system's jobs are paused (authentication failure)",
          labelNames: ["integration", "system"],
          registers: r,
        }),
    );
    this.alertsActive = once(
      "accord_alerts_active",
      () =>
        new Gauge({
          name: "accord_alerts_active",
          help: "Open or acknowledged alert incidents",
          labelNames: ["integration"],
          registers: r,
        }),
    );
  }

  /** Set this integration's freshness series (called by the gauge's collect, for every instance sharing the registry). */
  collectFreshness(now: number): void {
    for (const [object, at] of this.#lastOk) this.freshness.set({ integration: this.#integration, object }, (now - at) / 1000);
  }

  /** Stop contributing to a shared registry (the integration is no longer served here). */
  release(): void {
    sharing.get(this.registry)?.delete(this);
  }

  recordRun(object: string, trigger: string, status: "ok" | "failed", seconds: number, counts?: RunCounts): void {
    const integration = this.#integration;
    this.runs.inc({ integration, object, trigger, status });
    this.runDuration.observe({ integration, object, trigger }, seconds);
    if (counts) for (const [outcome, n] of Object.entries(counts)) if (n > 0) this.records.inc({ integration, object, outcome }, n);
    if (status === "ok") this.#lastOk.set(object, Date.now());
  }

  /** Add the difference between two connector stats snapshots. */
  recordApi(system: string, before: ConnectorStats, after: ConnectorStats): void {
    const integration = this.#integration;
    const calls = after.calls - before.calls;
    if (calls > 0) this.apiCalls.inc({ integration, system }, calls);
    for (const [cls, n] of Object.entries(after.errors)) {
      const d = n - (before.errors[cls] ?? 0);
      if (d > 0) this.apiErrors.inc({ integration, system, class: cls }, d);
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
