/**
 * Prometheus metrics of a running integration (prom-client). By default one registry per runtime,
 * so several can live in one process (tests); a worker serving many integrations passes one shared
 * registry: the metrics are registered once and every integration's instance labels its own series.
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";
import type { ConnectorStats } from "../connectors/types.ts";
import type { RunCounts } from "../store/types.ts";

/** Instances sharing a registry: the freshness gauge collects every one of them. */
const sharing = new WeakMap<Registry, Set<AccordMetrics>>();

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
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      once(name, () => new Counter<L>({ name, help, labelNames, registers: r }));
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect?: () => void) =>
      once(name, () => new Gauge<L>({ name, help, labelNames, registers: r, ...(collect ? { collect } : {}) }));
    const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) =>
      once(name, () => new Histogram<L>({ name, help, labelNames, buckets, registers: r }));
    this.records = counter("accord_records_total", "Records read, by outcome (read, applied, unchanged, held, quarantined)", [
      "integration",
      "object",
      "outcome",
    ]);
    this.apiCalls = counter("accord_api_calls_total", "HTTP calls made to a system (retries included)", ["integration", "system"]);
    this.apiErrors = counter("accord_api_errors_total", "Failed calls to a system, by error class", ["integration", "system", "class"]);
    this.runs = counter("accord_runs_total", "Object runs, by trigger (start, poll, webhook, schedule, reconcile) and status", [
      "integration",
      "object",
      "trigger",
      "status",
    ]);
    this.runDuration = histogram(
      "accord_run_duration_seconds",
      "Duration of an object run",
      ["integration", "object", "trigger"],
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    );
    this.lag = histogram(
      "accord_sync_lag_seconds",
      "From a change becoming visible (webhook received, or the poll that saw it) to the end of the run that synced it",
      ["integration", "object", "source"],
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 300],
    );
    this.freshness = gauge("accord_freshness_seconds", "Seconds since the object's last successful run", ["integration", "object"], () => {
      const now = Date.now();
      for (const m of sharing.get(registry) ?? []) m.collectFreshness(now);
    });
    this.repaired = counter(
      "accord_reconcile_repaired_total",
      "Records a reconciliation pass had to repair (changes the webhooks did not bring)",
      ["integration", "object"],
    );
    this.webhooks = counter(
      "accord_webhooks_total",
      "Webhook calls received, by result (accepted, unsigned, bad-signature, replay, error)",
      ["integration", "system", "result"],
    );
    this.pausedMappings = gauge(
      "accord_paused_mappings",
      "Mappings paused by schema drift (an object paused whole counts its mappings)",
      ["integration", "object"],
    );
    this.pausedSystems = gauge("accord_system_paused", "1 while a system's jobs are paused (authentication failure)", ["integration", "system"]);
    this.alertsActive = gauge("accord_alerts_active", "Open or acknowledged alert incidents", ["integration"]);
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
