/**
 * `accord worker`: runs the jobs of many registered integrations from the shared queue (pg-boss on
 * PostgreSQL, or the in-process SQLite queue). Any number of workers, on any hosts.
 *
 *  - integrations come from the registry (src/registry): each one's spec and its OWN decrypted
 *    secrets — its connectors are built from that env only, never from process.env, so a tenant's
 *    file cannot read the platform's secrets; cached per integration and spec hash;
 *  - a sync job → runSync of that one object (targeted by ids, incremental, or a reconciliation with
 *    the deletion sweep and quarantine retries);
 *  - two guards keep one run per (integration, object): the queue's (at most one active job per key)
 *    and a lease in the store (`${integration}#${object}`, renewed while running; a run that loses it
 *    stops at the next page). Taking the lease over from a dead holder marks its run row abandoned;
 *  - a webhook job → the connector's parseWebhook → targeted sync jobs of the realtime objects it touches;
 *  - schedules from each object's tier, registered at start (idempotent: keyed per integration/object);
 *  - health rules after every run (error rate, auth failures…) through the existing monitor;
 *  - an authentication failure pauses that (integration, system) IN THIS WORKER PROCESS, as `accord
 *    run` does: one `auth` alert, the `accord_system_paused` gauge at 1, one log line saying what to
 *    do; the integration's sync jobs are put back for later (completed and re-enqueued after
 *    `probeEveryMs` — never failed, never dead-lettered) and none of its calls reach the system but a
 *    probe every `probeEveryMs` (the registration re-read first, so a `set-secret`/`rekey` is seen; a
 *    reload with changed secrets probes at once). When the probe answers: unpaused, gauge 0, the
 *    deferred jobs run. The pause is per process, kept in memory (no store table): another worker
 *    meets the AuthError once itself and pauses too; a restarted worker starts unpaused.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { Registry } from "prom-client";
import type { Connector } from "../connectors/types.ts";
import { runSync } from "../engine/index.ts";
import type { EngineLogger } from "../engine/types.ts";
import { Transient } from "../errors.ts";
import { Alerter } from "../monitor/alerts.ts";
import { acceptSnapshot, checkDrift, type DriftReport, hasPauses, pausedSpec } from "../monitor/drift.ts";
import { apiDelta, HealthRules } from "../monitor/health.ts";
import { AccordMetrics } from "../monitor/metrics.ts";
import { type MonitorSettings, settingsFromSpec } from "../monitor/settings.ts";
import type { Keyring, LoadedIntegration } from "../registry/types.ts";
import { connectSystems } from "../server/systems.ts";
import type { IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { RunCounts, Store } from "../store/types.ts";
import { authSideOf, probeAuth } from "./auth-probe.ts";
import { mergeSyncJobs } from "./jobs/coalesce.ts";
import type { Job, JobContext, JobQueue, JobSchedule, SyncJob, WebhookJob } from "./jobs/types.ts";

export interface WorkerOptions {
  store: Store;
  queue: JobQueue;
  /** Decrypts the registered integrations' secrets (keyringFromEnv). Not needed when `integrations` are given loaded. */
  keyring?: Keyring;
  /** Jobs at once in this process (default 4). */
  concurrency?: number;
  /** Records in flight within one run (the engine's applyConcurrency, as `accord sync --concurrency`; default 1). */
  recordConcurrency?: number;
  /** Names to register schedules for (default: every enabled registered integration), or integrations already loaded (tests, embedding). */
  integrations?: string[] | LoadedIntegration[];
  logger?: EngineLogger;
  /** Store lease per (integration, object) (default 15 s, renewed every third). */
  leaseMs?: number;
  /** Register the tier schedules at start (default true). */
  schedules?: boolean;
  /** Ask for one run of every object at start (default true; coalesced with other workers' asks). */
  runAtStart?: boolean;
  /** TESTS ONLY: false = no store lease per (integration, object) (the scale test shows the harm). */
  keyGuard?: boolean;
  /** Called after every sync run (tests, benches). */
  onRun?: (r: WorkerRun) => void;
  holder?: string;
  /** Describe both systems and diff (schema drift) at most this often per integration (default 60 s); 0 = never. */
  driftEveryMs?: number;
  /** Probe a system paused by an authentication failure this often (default 15 s); its deferred jobs come back as often. */
  probeEveryMs?: number;
  /** Serve GET /metrics (Prometheus, every integration this worker ran) and GET /health (JSON) here; absent = none. */
  http?: { port?: number; host?: string };
}

export interface WorkerRun {
  integration: string;
  object: string;
  trigger: SyncJob["trigger"];
  status: "ok" | "failed";
  startedAt: number;
  finishedAt: number;
  visibleAt?: number;
  counts?: RunCounts;
  error?: string;
  targeted?: { crm: number; erp: number };
}

interface Served {
  loaded: LoadedIntegration;
  crm: Connector;
  erp: Connector;
  settings: MonitorSettings;
  alerter: Alerter;
  health: HealthRules;
  metrics: AccordMetrics;
  checkedAt: number;
  /** Schema drift: the last report (its pauses apply to every run), when it was made, whether a run asked for a new one. */
  drift?: DriftReport;
  driftAt: number;
  driftDue: boolean;
  driftCheck?: Promise<void>;
}

const RECHECK_MS = 30_000;

/** A system of one integration paused in this worker after an authentication failure. */
interface SystemPause {
  since: string;
  reason: string;
}
const LEASE_LOST = "lost the run lease of";

export class Worker {
  readonly holder: string;
  readonly #opts: WorkerOptions;
  readonly #log?: EngineLogger;
  readonly #served = new Map<string, Served>();
  readonly #loading = new Map<string, Promise<Served>>();
  readonly #preloaded = new Map<string, LoadedIntegration>();
  #names: string[] = [];
  #stopping = false;
  /** Prometheus registry shared by every integration this worker runs (GET /metrics). */
  readonly registry = new Registry();
  /** The last run per integration/object (GET /health). */
  readonly #last = new Map<string, { at: string; trigger: string; status: "ok" | "failed"; ms: number; error?: string }>();
  #http?: Server;
  /**
   * Systems paused by an authentication failure, per integration (in this process only, on purpose:
   * no store table — each worker learns it from its own first AuthError), and the sync jobs deferred
   * meanwhile per object (merged), enqueued again when the system answers.
   */
  readonly #paused = new Map<string, Map<Side, SystemPause>>();
  readonly #deferred = new Map<string, Map<string, SyncJob>>();
  readonly #probing = new Map<string, Promise<void>>();
  #probeTimer?: ReturnType<typeof setInterval>;
  /** http://HOST:PORT of /metrics and /health, when served. */
  url = "";

  constructor(opts: WorkerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    for (const i of opts.integrations ?? []) if (typeof i !== "string") this.#preloaded.set(i.spec.name, i);
  }

  get queue(): JobQueue {
    return this.#opts.queue;
  }

  /** The integrations whose schedules this worker registered. */
  get integrations(): string[] {
    return [...this.#names];
  }

  async start(): Promise<void> {
    if (this.#opts.http) await this.#serveHttp(this.#opts.http);
    const given = this.#opts.integrations;
    if (given && given.length > 0) this.#names = given.map((i) => (typeof i === "string" ? i : i.spec.name));
    else {
      const { listIntegrations } = await import("../registry/index.ts");
      this.#names = (await listIntegrations(this.#opts.store)).filter((i) => i.enabled).map((i) => i.name);
    }
    await this.#opts.queue.start();
    // Consume at once (jobs load their integration lazily); schedules and start runs are registered meanwhile.
    await this.#opts.queue.work((job, ctx) => this.handle(job, ctx), { concurrency: this.#opts.concurrency ?? 4 });
    for (const name of this.#names) {
      let served: Served;
      try {
        served = await this.#serve(name);
      } catch (err) {
        this.#log?.error({ integration: name, err: messageOf(err) }, "cannot load integration: its jobs fail until it is fixed");
        continue;
      }
      const spec = served.loaded.spec;
      if (this.#opts.schedules !== false) await this.#opts.queue.setSchedules(`${name}/`, schedulesOf(spec));
      if (this.#opts.runAtStart !== false) {
        // another worker starting at the same time already asked (queued or running): asking again would only
        // add a second, no-change pass of every object (the queue keeps one active and one queued per object)
        const pending = new Set<string>();
        for (const state of ["queued", "active"] as const)
          for (const j of await this.#opts.queue.listJobs({ integration: name, state, limit: 500 }).catch(() => []))
            if (j.job.kind === "sync") pending.add(j.job.object);
        for (const o of spec.objects) {
          if (pending.has(o.name)) continue;
          await this.#opts.queue.enqueue({
            kind: "sync",
            integration: name,
            object: o.name,
            trigger: "start",
            reconcile: true,
            visibleAt: Date.now(),
          });
        }
      }
    }
    this.#log?.info(
      {
        holder: this.holder,
        backend: this.#opts.queue.backend,
        integrations: this.#names.length,
        concurrency: this.#opts.concurrency ?? 4,
      },
      "worker started",
    );
  }

  /** GET /metrics (Prometheus) and GET /health (JSON: the worker, its queue, the integrations it serves, the last runs). */
  async #serveHttp(where: { port?: number; host?: string }): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/metrics") {
        void this.registry.metrics().then(
          (text) => res.writeHead(200, { "Content-Type": this.registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
        return;
      }
      if (req.method === "GET" && path === "/health") {
        const body = {
          worker: this.holder,
          status: this.#stopping ? "stopping" : "running",
          queue: this.#opts.queue.backend,
          integrations: this.#names,
          loaded: [...this.#served.keys()],
          pausedSystems: Object.fromEntries([...this.#paused].map(([n, m]) => [n, Object.fromEntries(m)])),
          lastRuns: Object.fromEntries(this.#last),
        };
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
        return;
      }
      res
        .writeHead(404, { "Content-Type": "application/json" })
        .end(JSON.stringify({ error: `no route ${req.method} ${path}; try GET /metrics or GET /health` }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(where.port ?? 0, where.host ?? "127.0.0.1", () => resolve());
    });
    this.#http = server;
    const a = server.address();
    this.url = typeof a === "object" && a ? `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}` : "";
  }

  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
    await this.#opts.queue.stop(opts);
    if (this.#http) await new Promise<void>((r) => this.#http?.close(() => r()));
    for (const s of this.#served.values()) await Promise.allSettled([s.crm.close(), s.erp.close()]);
    this.#served.clear();
  }

  /** One job (the queue calls this). Throwing makes the queue retry it with backoff. */
  async handle(job: Job, ctx: JobContext): Promise<void> {
    if (job.kind === "webhook") return this.#webhook(job);
    return this.#sync(job, ctx);
  }

  // ---------------------------------------------------------------- integrations

  /** The integration's connectors and monitor, re-checked against the registry every 30 s (`recheck`: now). */
  async #serve(name: string, recheck = false): Promise<Served> {
    const cached = this.#served.get(name);
    if (cached && !recheck && Date.now() - cached.checkedAt < RECHECK_MS) return cached;
    const pending = this.#loading.get(name);
    if (pending) return pending;
    const p = (async () => {
      let loaded = this.#preloaded.get(name);
      if (!loaded) {
        if (cached) {
          const { getIntegration } = await import("../registry/index.ts");
          const reg = await getIntegration(this.#opts.store, name);
          // same file AND same registration (a set-secret or rotation bumps updatedAt): keep the connectors
          if (
            reg &&
            reg.specHash === cached.loaded.integration.specHash &&
            reg.updatedAt === cached.loaded.integration.updatedAt &&
            reg.enabled
          ) {
            cached.checkedAt = Date.now();
            return cached;
          }
          if (!reg?.enabled) throw new Transient(`integration ${name} is ${reg ? "disabled" : "no longer registered"}: job not run`);
        }
        if (!this.#opts.keyring) throw new Error("the worker has no keyring (ACCORD_SECRET_KEY) to decrypt integration secrets");
        const { loadIntegration } = await import("../registry/index.ts");
        loaded = await loadIntegration(this.#opts.store, name, this.#opts.keyring);
        if (!loaded.integration.enabled) throw new Transient(`integration ${name} is disabled: job not run`);
      } else if (cached) {
        cached.checkedAt = Date.now();
        return cached;
      }
      // The integration's own secrets only: never process.env (tenants must not read the platform's secrets).
      const { crm, erp } = await connectSystems(loaded.spec, { ...loaded.env });
      const settings = settingsFromSpec(loaded.spec.monitor);
      const alerter = new Alerter({ spec: loaded.spec, store: this.#opts.store, settings, logger: this.#log, env: loaded.env });
      const health = new HealthRules({ spec: loaded.spec, store: this.#opts.store, settings, alerter });
      cached?.metrics.release();
      const metrics = new AccordMetrics(loaded.spec.name, this.registry);
      const served: Served = { loaded, crm, erp, settings, alerter, health, metrics, checkedAt: Date.now(), driftAt: 0, driftDue: false };
      if (cached) await Promise.allSettled([cached.crm.close(), cached.erp.close()]);
      this.#served.set(name, served);
      // reloaded (set-secret, rekey…) while a system is paused: ask it at once, not at the next interval
      if (cached && this.#paused.get(name)?.size) void this.#probe(name);
      return served;
    })().finally(() => this.#loading.delete(name));
    this.#loading.set(name, p);
    return p;
  }

  // ---------------------------------------------------------------- sync

  async #sync(job: SyncJob, ctx: JobContext): Promise<void> {
    const served = await this.#serve(job.integration);
    if (!served.loaded.spec.objects.some((o) => o.name === job.object)) {
      this.#log?.warn({ integration: job.integration, object: job.object }, "job for an object the integration no longer has: dropped");
      return;
    }
    // A system of this integration refused its credentials: no call reaches it (every object touches both systems).
    if (this.#paused.get(job.integration)?.size) return this.#defer(job);
    // The spec as drift leaves it: paused mappings are not read or written, the rest keeps syncing.
    const spec = await this.#driftChecked(served);
    if (this.#paused.get(job.integration)?.size) return this.#defer(job); // the drift check met an AuthError
    const obj = spec.objects.find((o) => o.name === job.object);
    if (!obj) {
      this.#log?.warn(
        { integration: job.integration, object: job.object, reason: served.drift?.pauses[job.object]?.whole },
        "object paused by schema drift: not run (fix the map, then `accord drift accept`)",
      );
      return;
    }
    const store = this.#opts.store;
    const lockName = `${job.integration}#${job.object}`;
    const holder = `${this.holder}:${ctx.id}`;
    const leaseMs = Math.max(300, this.#opts.leaseMs ?? 15_000);
    const guard = this.#opts.keyGuard !== false && !!store.acquireLock;
    const lost = new AbortController();
    let renew: ReturnType<typeof setInterval> | undefined;
    if (guard) {
      await this.#takeLease(lockName, holder, leaseMs, ctx.signal);
      renew = setInterval(
        () => {
          void store.acquireLock?.(lockName, holder, leaseMs).then(
            (ok) => {
              if (!ok) lost.abort(new Error(`${LEASE_LOST} ${lockName}`));
            },
            () => {},
          );
        },
        Math.max(50, Math.floor(leaseMs / 3)),
      );
    }
    const signal = AbortSignal.any([ctx.signal, lost.signal]);
    const before = { crm: served.crm.stats(), erp: served.erp.stats() };
    const startedAt = Date.now();
    let failed: string | undefined;
    let authSide: Side | undefined;
    let counts: RunCounts | undefined;
    try {
      const records = targetable(job, obj);
      const reconcile = !!job.reconcile || ["start", "schedule", "manual", "reconcile"].includes(job.trigger);
      const res = await runSync(
        { spec, store, crm: guarded(served.crm, signal), erp: guarded(served.erp, signal), logger: this.#log },
        {
          objects: [job.object],
          ...(this.#opts.recordConcurrency && this.#opts.recordConcurrency > 1 ? { applyConcurrency: this.#opts.recordConcurrency } : {}),
          detectDeletes: reconcile,
          ...(records ? { records } : {}),
          retryQuarantined: reconcile,
          // a page read ahead is not processed once the lease is lost or the worker stops
          beforePage: () => {
            if (signal.aborted) throw runStopped(signal);
          },
        },
      );
      counts = { ...res.totals };
    } catch (err) {
      failed = `${(err as { errorClass?: string }).errorClass ?? "Error"}: ${messageOf(err)}`;
      if ((err as { errorClass?: string }).errorClass === "SchemaDrift") served.driftDue = true;
      authSide = authSideOf(err, spec);
      if (!authSide && (err as { errorClass?: string }).errorClass === "AuthError") {
        // both systems of one type: the run's API stats tell which one refused
        for (const side of ["crm", "erp"] as const)
          if ((apiDelta(before[side], served[side].stats()).errors.AuthError ?? 0) > 0) authSide ??= side;
      }
    } finally {
      if (renew) clearInterval(renew);
      if (guard && !lost.signal.aborted) await store.releaseLock?.(lockName, holder).catch(() => {});
    }
    const finishedAt = Date.now();
    this.#opts.onRun?.({
      integration: job.integration,
      object: job.object,
      trigger: job.trigger,
      status: failed ? "failed" : "ok",
      startedAt,
      finishedAt,
      visibleAt: job.visibleAt,
      counts,
      error: failed,
      ...(job.records ? { targeted: { crm: job.records.crm?.length ?? 0, erp: job.records.erp?.length ?? 0 } } : {}),
    });
    (failed ? this.#log?.error : this.#log?.info)?.call(
      this.#log,
      {
        integration: job.integration,
        object: job.object,
        trigger: job.trigger,
        ms: finishedAt - startedAt,
        counts,
        error: failed,
        job: ctx.id,
      },
      `run ${failed ? "failed" : "ok"}: ${job.integration}/${job.object}`,
    );
    served.metrics.recordRun(job.object, job.trigger, failed ? "failed" : "ok", (finishedAt - startedAt) / 1000, counts);
    if (!failed && job.visibleAt)
      served.metrics.lag.observe(
        { integration: job.integration, object: job.object, source: job.trigger },
        (finishedAt - job.visibleAt) / 1000,
      );
    this.#last.set(`${job.integration}/${job.object}`, {
      at: new Date(finishedAt).toISOString(),
      trigger: job.trigger,
      status: failed ? "failed" : "ok",
      ms: finishedAt - startedAt,
      ...(failed ? { error: failed } : {}),
    });
    if (failed && (authSide || this.#paused.get(job.integration)?.size)) {
      // refused credentials (this run's, or a pause another run of the integration started meanwhile):
      // not an error-rate signal nor a failure to back off from — the job waits for the system
      served.metrics.recordApi("crm", before.crm, served.crm.stats());
      served.metrics.recordApi("erp", before.erp, served.erp.stats());
      if (authSide) await this.#pause(served, authSide, failed);
      return this.#defer(job);
    }
    if (!signal.aborted) {
      const api = {
        crm: apiDelta(before.crm, served.crm.stats()),
        erp: apiDelta(before.erp, served.erp.stats()),
      };
      served.metrics.recordApi("crm", before.crm, served.crm.stats());
      served.metrics.recordApi("erp", before.erp, served.erp.stats());
      await served.health
        .afterRun({ object: job.object, counts: counts ?? { read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 }, api, failed })
        .catch((err: unknown) => this.#log?.warn({ err: messageOf(err) }, "health rules after the run failed"));
    }
    if (failed) throw new Error(`${job.integration}/${job.object}: ${failed}`);
    await this.#childrenAfter(job, spec);
  }

  /**
   * Parents first, across workers: the objects of one integration run in parallel here, so a child
   * (contacts of customers) can run before its parent's records are linked; those records are
   * quarantined as ParentNotLinked. After a parent's run, a child with such entries gets a run that
   * retries its quarantine (as `accord run`, which runs parents first, never needs).
   */
  async #childrenAfter(job: SyncJob, spec: IntegrationSpec): Promise<void> {
    for (const child of spec.objects.filter((o) => o.parent?.object === job.object)) {
      const waiting = await this.#opts.store.listQuarantine(job.integration, { object: child.name, status: "open" }).catch(() => []);
      if (!waiting.some((q) => q.errorClass === "ParentNotLinked")) continue;
      await this.#opts.queue.enqueue({
        kind: "sync",
        integration: job.integration,
        object: child.name,
        trigger: "retry",
        reconcile: true,
        visibleAt: job.visibleAt ?? Date.now(),
      });
    }
  }

  /**
   * Schema drift, as `accord run` checks it: both systems described with the integration's own
   * credentials and diffed against the file and the accepted snapshots, at most every `driftEveryMs`
   * per integration (and at once after a run met SchemaDrift). The first accepted snapshot is recorded
   * when none exists and nothing is broken. Findings raise (and clear) `schema-drift` alerts. A check
   * that fails keeps the last report and is retried at the next interval.
   */
  async #driftChecked(served: Served): Promise<IntegrationSpec> {
    const spec = served.loaded.spec;
    const every = this.#opts.driftEveryMs ?? 60_000;
    if (every > 0 && (served.driftDue || Date.now() - served.driftAt >= every)) {
      served.driftCheck ??= (async () => {
        const store = this.#opts.store;
        try {
          let report = await checkDrift(spec, store, served.settings, { env: { ...served.loaded.env } });
          if ((!report.baseline.crm || !report.baseline.erp) && !hasPauses(report.pauses)) {
            await acceptSnapshot(store, spec.name, report.current);
            const current = report.current;
            report = await checkDrift(spec, store, served.settings, { describe: async (side) => current[side] });
          }
          served.drift = report;
          for (const o of spec.objects) {
            const f = report.findings.filter((x) => x.object === o.name && x.action !== "none");
            if (f.length === 0) {
              await served.alerter.resolve("schema-drift", o.name);
              continue;
            }
            const paused = f.some((x) => x.action.startsWith("pause"));
            await served.alerter.raise({
              rule: "schema-drift",
              object: o.name,
              severity: paused ? "critical" : "warning",
              message: `${f.map((x) => x.message).join("; ")}${paused ? " — the affected mappings are paused (the rest keeps syncing); fix the map, then `accord drift accept FILE`" : ""}`,
              detail: JSON.parse(JSON.stringify(f)),
            });
          }
        } catch (err) {
          this.#log?.warn({ integration: spec.name, err: messageOf(err) }, "schema drift check failed; retrying at the next interval");
          const side = authSideOf(err, spec);
          if (side) await this.#pause(served, side, `AuthError while describing the schema: ${messageOf(err)}`);
        } finally {
          served.driftAt = Date.now();
          served.driftDue = false;
          served.driftCheck = undefined;
        }
      })();
      await served.driftCheck;
    }
    return served.drift ? pausedSpec(spec, served.drift.pauses) : spec;
  }

  // ---------------------------------------------------------------- authentication pauses

  /** Pause a system of an integration in this worker: the alert (once), the gauge, one line saying what to do. */
  async #pause(served: Served, side: Side, reason: string): Promise<void> {
    const name = served.loaded.spec.name;
    const paused = this.#paused.get(name) ?? new Map<Side, SystemPause>();
    this.#paused.set(name, paused);
    if (paused.has(side)) return;
    paused.set(side, { since: new Date().toISOString(), reason });
    served.metrics.pausedSystems.set({ integration: name, system: side }, 1);
    const every = this.#probeEveryMs;
    this.#log?.error(
      { integration: name, system: side, type: served.loaded.spec.systems[side].type, probeEveryMs: every, err: reason },
      `${name}: the ${side.toUpperCase()} (${served.loaded.spec.systems[side].type}) refused the integration's credentials — its jobs are paused in this worker and the system is probed every ${Math.round(every / 1000)} s; fix the credentials with \`accord integration set-secret ${name} VARIABLE\` (the worker picks them up at the next probe)`,
    );
    await served.health
      .authFailure(side, reason)
      .catch((err: unknown) => this.#log?.warn({ err: messageOf(err) }, "raising the auth alert failed"));
    this.#probeTimer ??= setInterval(() => {
      for (const n of this.#paused.keys()) void this.#probe(n);
    }, every);
    this.#probeTimer.unref?.();
  }

  get #probeEveryMs(): number {
    return Math.max(20, this.#opts.probeEveryMs ?? 15_000);
  }

  /** A sync job of a paused integration: put back for later (completed here, enqueued again; kept to enqueue at resume). */
  async #defer(job: SyncJob): Promise<void> {
    const byObject = this.#deferred.get(job.integration) ?? new Map<string, SyncJob>();
    this.#deferred.set(job.integration, byObject);
    const waiting = byObject.get(job.object);
    byObject.set(job.object, waiting ? mergeSyncJobs(waiting, job) : job);
    // Also in the queue (durable: another worker, or this one after a restart, still has it); coalesced there.
    await this.#opts.queue.enqueue(job, { startAfter: Date.now() + this.#probeEveryMs });
    this.#log?.debug(
      { integration: job.integration, object: job.object, trigger: job.trigger },
      "job deferred: a system of the integration is paused (authentication failure)",
    );
  }

  /**
   * Ask every paused system of an integration whether it accepts the credentials again, with the
   * registration re-read first (a set-secret or rekey reloads the connectors). One probe at a time per integration.
   */
  #probe(name: string): Promise<void> {
    const running = this.#probing.get(name);
    if (running) return running;
    const p = (async () => {
      if (this.#stopping || !this.#paused.get(name)?.size) return;
      let served: Served;
      try {
        served = await this.#serve(name, true);
      } catch (err) {
        this.#log?.warn({ integration: name, err: messageOf(err) }, "auth probe: cannot load the integration; trying again later");
        return;
      }
      for (const side of [...(this.#paused.get(name)?.keys() ?? [])]) {
        try {
          await probeAuth(served[side], served.loaded.spec.objects[0]?.[side].entity);
        } catch (err) {
          if ((err as { errorClass?: string }).errorClass !== "AuthError")
            this.#log?.warn(
              { integration: name, system: side, err: messageOf(err) },
              "auth probe failed for another reason; trying again later",
            );
          continue;
        }
        await this.#resume(served, side);
      }
    })().finally(() => this.#probing.delete(name));
    this.#probing.set(name, p);
    return p;
  }

  async #resume(served: Served, side: Side): Promise<void> {
    const name = served.loaded.spec.name;
    const paused = this.#paused.get(name);
    paused?.delete(side);
    served.metrics.pausedSystems.set({ integration: name, system: side }, 0);
    await served.health
      .authRestored(side)
      .catch((err: unknown) => this.#log?.warn({ err: messageOf(err) }, "resolving the auth alert failed"));
    this.#log?.info(
      { integration: name, system: side },
      `${name}: the ${side.toUpperCase()} accepts the credentials again: its jobs resume`,
    );
    if (paused?.size) return;
    this.#paused.delete(name);
    if (this.#paused.size === 0 && this.#probeTimer) {
      clearInterval(this.#probeTimer);
      this.#probeTimer = undefined;
    }
    served.driftDue = true; // the schema was not checked while paused
    const deferred = this.#deferred.get(name);
    this.#deferred.delete(name);
    for (const job of deferred?.values() ?? [])
      await this.#opts.queue
        .enqueue(job)
        .catch((err: unknown) =>
          this.#log?.warn(
            { integration: name, object: job.object, err: messageOf(err) },
            "re-enqueueing a deferred job failed; it runs at its delayed time",
          ),
        );
  }

  /** Systems of an integration paused in this worker (tests, /health): side → since. */
  pausedSystems(integration: string): Partial<Record<Side, string>> {
    return Object.fromEntries([...(this.#paused.get(integration) ?? [])].map(([s, p]) => [s, p.since]));
  }

  /**
   * Take the (integration, object) lease, waiting while a live holder has it (a run the queue still
   * thinks is gone, e.g. a worker that lost its heartbeat but not its process). A holder whose lease
   * lapsed died mid-run: its run row, still 'running', is marked abandoned.
   */
  async #takeLease(lockName: string, holder: string, leaseMs: number, signal: AbortSignal): Promise<void> {
    const store = this.#opts.store;
    const deadline = Date.now() + leaseMs * 2 + 1000;
    for (;;) {
      if (signal.aborted) throw new Transient(`stopped before taking the run lease of ${lockName}`);
      const previous = await store.getLock?.(lockName);
      if (await store.acquireLock?.(lockName, holder, leaseMs)) {
        if (previous && previous.holder !== holder) await this.#abandonRuns(lockName, previous.holder);
        else if (!previous) await this.#abandonRuns(lockName, "(no lease: a run left by a stopped process)");
        return;
      }
      if (Date.now() > deadline)
        throw new Transient(`the run lease of ${lockName} is held by ${previous?.holder ?? "another worker"}: retrying later`);
      await new Promise((r) => setTimeout(r, Math.min(500, leaseMs / 4)));
    }
  }

  async #abandonRuns(lockName: string, previousHolder: string): Promise<void> {
    const [integration, object] = splitLock(lockName);
    const runs = await this.#opts.store.listRuns(integration, { object, limit: 20 });
    for (const r of runs)
      if (r.status === "running") {
        await this.#opts.store.finishRun(
          r.id,
          "abandoned",
          r.counts,
          `abandoned: its worker (${previousHolder}) stopped renewing the run lease`,
        );
        this.#log?.warn(
          { integration, object, run: r.id, previousHolder },
          "took over a run lease: the previous run was abandoned mid-way",
        );
      }
  }

  // ---------------------------------------------------------------- webhooks

  async #webhook(job: WebhookJob): Promise<void> {
    const served = await this.#serve(job.integration);
    const spec = served.loaded.spec;
    const conn = job.side === "crm" ? served.crm : served.erp;
    let events = job.events;
    if (!events) {
      if (!conn.parseWebhook) throw new Error(`the ${job.side} connector (${conn.type}) takes no webhooks`);
      const { WEBHOOK_SECRET_VARS } = await import("../registry/index.ts");
      const secrets = (served.loaded.env[WEBHOOK_SECRET_VARS[job.side]] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const url = job.url ?? `/webhooks/${job.side}${job.query ? `?${new URLSearchParams(job.query).toString()}` : ""}`;
      let lastError: unknown;
      for (const secret of secrets) {
        try {
          events = conn.parseWebhook({ headers: job.headers ?? {}, rawBody: Buffer.from(job.body), url }, secret);
          break;
        } catch (err) {
          lastError = err;
        }
      }
      if (!events) throw lastError ?? new Error(`no webhook secret for the ${job.side} of ${job.integration}: cannot parse the delivery`);
    }
    const entities = events.map((e) => e.entity).filter((e): e is string => !!e);
    const ids = events.filter((e) => e.kind !== "delete").map((e) => e.id);
    const touched = spec.objects
      .filter((o) => "tier" in o.schedule && o.schedule.tier === "realtime")
      .filter((o) => entities.length === 0 || entities.includes(o[job.side].entity));
    for (const o of touched) {
      // ids only when every event carries one of this side and none is a deletion (that is the sweep's job)
      const records = events.length > 0 && ids.length === events.length ? { [job.side]: ids } : undefined;
      await this.#opts.queue.enqueue({
        kind: "sync",
        integration: job.integration,
        object: o.name,
        trigger: "webhook",
        visibleAt: job.receivedAt,
        ...(records ? { records } : {}),
      });
    }
  }
}

/** Tier → schedules: realtime polls every minute + an hourly reconciliation; hourly; daily 02:00 UTC; cron as written. */
export function schedulesOf(spec: IntegrationSpec): JobSchedule[] {
  const out: JobSchedule[] = [];
  for (const o of spec.objects) {
    const base = { kind: "sync" as const, integration: spec.name, object: o.name };
    const s = o.schedule;
    const key = `${spec.name}/${o.name}`;
    if ("cron" in s) out.push({ key, cron: s.cron, job: { ...base, trigger: "schedule" } });
    else if (s.tier === "realtime") {
      out.push({ key, cron: "* * * * *", job: { ...base, trigger: "poll" } });
      out.push({ key: `${key}/reconcile`, cron: "30 * * * *", job: { ...base, trigger: "reconcile", reconcile: true } });
    } else if (s.tier === "hourly") out.push({ key, cron: "0 * * * *", job: { ...base, trigger: "schedule" } });
    else if (s.tier === "daily") out.push({ key, cron: "0 2 * * *", job: { ...base, trigger: "schedule" } });
  }
  return out;
}

/** Targeted ids usable for this object (records read by id are not filtered: not on a side with a filter). */
function targetable(job: SyncJob, obj: ObjectSpec): Partial<Record<Side, string[]>> | undefined {
  if (!job.records) return undefined;
  const out: Partial<Record<Side, string[]>> = {};
  for (const side of ["crm", "erp"] as const) {
    const ids = job.records[side];
    if (!ids?.length) continue;
    if (obj[side].filter?.length) return undefined; // a filter: an incremental run instead
    out[side] = ids;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Why a run stops before its next page (lease lost, worker stopping). */
function runStopped(signal: AbortSignal): Transient {
  return new Transient(`run stopped: ${messageOf(signal.reason)} — the next run resumes from the cursors`);
}

/** The connector as a run sees it: once the signal is aborted (lease lost, worker stopping), no further page is read. */
function guarded(conn: Connector, signal: AbortSignal): Connector {
  const stopped = () => runStopped(signal);
  return new Proxy(conn, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (prop === "readChanges" && typeof v === "function") {
        return (entity: string, opts: unknown) => {
          const it = (v as Connector["readChanges"]).call(t, entity, opts as Parameters<Connector["readChanges"]>[1]);
          return (async function* () {
            if (signal.aborted) throw stopped();
            for await (const page of it) {
              if (signal.aborted) throw stopped();
              yield page;
            }
          })();
        };
      }
      if ((prop === "listIds" || prop === "readByIds") && typeof v === "function") {
        return (...args: unknown[]) => {
          if (signal.aborted) throw stopped();
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      }
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

function splitLock(name: string): [string, string] {
  const i = name.lastIndexOf("#");
  return [name.slice(0, i), name.slice(i + 1)];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const w = new Worker(opts);
  await w.start();
  return w;
}
