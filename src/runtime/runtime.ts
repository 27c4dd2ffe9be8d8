/**
 * `accord run`: the long-running process of one integration.
 *
 *  - a lock in the store (lease renewed by heartbeat) so two processes never run the same integration;
 *  - every object on its tier: `realtime` = webhooks + polling fallback every `pollMs` (≤ 60 s) and a
 *    reconciliation pass (with the deletion sweep) every `reconcileEvery`; `hourly`, `daily`, cron
 *    expressions through croner; every object once at start;
 *  - one run at a time (the engine keeps one cursor per object and side), jobs coalesced: however many
 *    webhooks or ticks arrive while an object waits or runs, it runs once more, from its cursor;
 *  - schema drift checked at start (the first accepted snapshot is recorded when none exists), every
 *    `driftEveryMs` and at once after a run meets a SchemaDrift error; the engine runs a spec with the
 *    paused mappings taken out (drift.ts `pausedSpec`), so the rest keeps syncing;
 *  - health rules after each run and on a timer; an authentication failure pauses every job of the
 *    system (all objects touching it) until a probe (`whoAmI`) succeeds;
 *  - HTTP: `POST /webhooks/{crm|erp}`, `GET /metrics` (Prometheus), `GET /health` (JSON);
 *  - graceful stop: no new job; the run in flight reads no further page (the page in flight is
 *    finished and its cursor saved), skips its deletion sweep, and the process exits; a run still
 *    going after `graceMs` is abandoned — safe by the engine's crash guarantees (invariant 2).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostname } from "node:os";
import { Cron } from "croner";
import type { Connector, SchemaDescription } from "../connectors/types.ts";
import { runSync } from "../engine/index.ts";
import type { EngineContext, EngineLogger } from "../engine/types.ts";
import { Transient } from "../errors.ts";
import { Alerter } from "../monitor/alerts.ts";
import { acceptSnapshot, checkDrift, type DriftReport, hasPauses, pausedSpec } from "../monitor/drift.ts";
import { apiDelta, HealthRules } from "../monitor/health.ts";
import { AccordMetrics } from "../monitor/metrics.ts";
import type { MonitorSettings } from "../monitor/settings.ts";
import type { ObjectSpec, Side } from "../spec/model.ts";
import { authSideOf, probeAuth } from "./auth-probe.ts";
import { admitWebhook, ReplayGuard, readBody, sendJson } from "./webhooks.ts";

export type Trigger = "start" | "poll" | "webhook" | "schedule" | "reconcile" | "manual";

export interface RuntimeOptions {
  ctx: EngineContext;
  settings: MonitorSettings;
  /** Polling fallback of realtime objects (default 60 s; at most 60 s). */
  pollMs?: number;
  /** HTTP server for webhooks, /metrics, /health; false = none. */
  http?: { port?: number; host?: string } | false;
  /** Webhook secrets per system (several allowed: EspoCRM gives each subscription its own). Arrays may grow while running. */
  webhookSecrets?: Partial<Record<Side, string[]>>;
  /** Wait this long after a webhook before running, so a burst becomes one run (default 100 ms). */
  coalesceMs?: number;
  /** Drift check interval (default 60 s: one describe per entity and system). */
  driftEveryMs?: number;
  /** Health timer: freshness, stale values, escalation (default 60 s); record counts every `countsEveryMs` (default 1 h). */
  healthEveryMs?: number;
  countsEveryMs?: number;
  /** Probe a paused system this often (default 15 s). */
  probeEveryMs?: number;
  /** Lock lease (default 30 s; renewed every third of it). */
  leaseMs?: number;
  holder?: string;
  /** Stop waiting for the run in flight after this long (default 30 s). */
  graceMs?: number;
  /** Describe a system (default: a fresh connector from the spec and env). */
  describe?: (side: Side) => Promise<SchemaDescription>;
  env?: Record<string, string | undefined>;
  /** Run every object once at start (default true). */
  runAtStart?: boolean;
  alertFetch?: typeof fetch;
  /** Called after every object run (benches, embedding). */
  onRun?: (r: RunReport) => void;
}

export interface RunReport {
  object: string;
  trigger: Trigger;
  status: "ok" | "failed";
  /** When the oldest change this run picked up became visible (webhook received, or the poll tick). */
  visibleAt: number;
  startedAt: number;
  finishedAt: number;
  counts?: Record<string, number>;
  error?: string;
  /** Records of a targeted run (webhook ids), per system; absent for an incremental run. */
  targeted?: { crm: number; erp: number };
}

export interface ObjectState {
  object: string;
  tier: string;
  lastRun?: { at: string; trigger: Trigger; status: "ok" | "failed"; ms: number; counts?: Record<string, number>; error?: string };
  pending?: Trigger;
}

interface Job {
  trigger: Trigger;
  /** When the change(s) became visible (for the lag metric). */
  visibleAt: number;
  notBefore: number;
  detectDeletes: boolean;
  /**
   * Records touched (webhooks): a targeted run of just these, read by id. Undefined = an incremental
   * run from the cursors (any other trigger, an event without ids, or an object with a filter).
   */
  ids?: Record<Side, Set<string>>;
}

const STOPPING = "accord run is stopping";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class LockHeld extends Error {
  constructor(integration: string) {
    super(
      `another \`accord run\` holds integration ${integration} (its lease is live) — two processes never run the same integration; stop the other one, or wait for its lease to expire if it died`,
    );
    this.name = "LockHeld";
  }
}

export class Runtime {
  readonly ctx: EngineContext;
  readonly settings: MonitorSettings;
  readonly metrics: AccordMetrics;
  readonly alerter: Alerter;
  readonly health: HealthRules;
  readonly holder: string;
  url = "";
  /** Set when another process took the lock over (this one had stopped renewing it). */
  lostLock = false;
  drift?: DriftReport;
  /** Systems whose jobs are paused (authentication failure) → since. */
  readonly pausedSystems = new Map<Side, string>();
  readonly objects = new Map<string, ObjectState>();
  readonly #opts: RuntimeOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  readonly #crons: Cron[] = [];
  readonly #replay = new ReplayGuard();
  /** Records repaired per object since its last reconciliation pass. */
  readonly #repaired = new Map<string, number>();
  readonly #log?: EngineLogger;
  #server?: Server;
  #stopping = false;
  #running?: Promise<void>;
  #wake?: () => void;
  #loop?: Promise<void>;
  #lastDrift = 0;
  #driftDue = false;
  #idleWaiters: Array<() => void> = [];
  #resolveStopped: () => void = () => {};
  /** Resolves once the runtime has stopped (a signal, `stop()`, or a lost lock). */
  readonly stopped: Promise<void> = new Promise((r) => {
    this.#resolveStopped = r;
  });
  #busy = false;

  constructor(opts: RuntimeOptions) {
    this.#opts = opts;
    this.ctx = opts.ctx;
    this.settings = opts.settings;
    this.#log = opts.ctx.logger;
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.metrics = new AccordMetrics(opts.ctx.spec.name);
    this.alerter = new Alerter({
      spec: opts.ctx.spec,
      store: opts.ctx.store,
      settings: opts.settings,
      logger: this.#log,
      fetch: opts.alertFetch,
      ...(opts.env ? { env: opts.env } : {}),
    });
    this.health = new HealthRules({ spec: opts.ctx.spec, store: opts.ctx.store, settings: opts.settings, alerter: this.alerter });
    for (const o of opts.ctx.spec.objects) this.objects.set(o.name, { object: o.name, tier: tierOf(o) });
  }

  get integration(): string {
    return this.ctx.spec.name;
  }

  get pollMs(): number {
    return Math.min(60_000, Math.max(100, this.#opts.pollMs ?? 60_000));
  }

  /** Take the lock, check drift, start the server, the timers and the worker. */
  async start(): Promise<void> {
    const store = this.ctx.store;
    if (!store.acquireLock || !store.releaseLock)
      throw new Error("this store has no runtime lock (optional Store methods acquireLock/releaseLock)");
    const lease = this.#opts.leaseMs ?? 30_000;
    if (!(await store.acquireLock(this.integration, this.holder, lease))) throw new LockHeld(this.integration);
    this.#timers.push(
      setInterval(
        () => {
          void (store.acquireLock as NonNullable<typeof store.acquireLock>)(this.integration, this.holder, lease).then(
            (ok) => {
              if (!ok && !this.#stopping) {
                this.#log?.error(
                  { integration: this.integration, holder: this.holder },
                  "lost the runtime lock to another process: stopping",
                );
                this.lostLock = true;
                void this.stop();
              }
            },
            (err: unknown) => this.#log?.warn({ err: String(err) }, "lock heartbeat failed (retrying)"),
          );
        },
        Math.max(50, Math.floor(lease / 3)),
      ),
    );
    try {
      await this.checkDrift({ acceptMissingBaseline: true });
    } catch (err) {
      this.#log?.warn({ err: messageOf(err) }, "drift check at start failed; retrying on schedule");
      await this.#authFromDescribe(err);
    }
    if (this.#opts.http !== false) {
      try {
        await this.#listen(this.#opts.http ?? {});
      } catch (err) {
        // e.g. the port is taken: give the lock back at once instead of holding it until the lease ends
        for (const t of this.#timers) clearInterval(t);
        this.#stopping = true;
        await store.releaseLock(this.integration, this.holder).catch(() => {});
        this.#resolveStopped();
        const code = (err as { code?: string }).code;
        throw code === "EADDRINUSE"
          ? new Error(`the HTTP port is already in use (${messageOf(err)}): pass another --port, or --no-http`)
          : err;
      }
    }
    this.#schedule();
    this.#loop = this.#worker();
    if (this.#opts.runAtStart !== false) for (const o of this.ctx.spec.objects) this.enqueue(o.name, "start");
  }

  /** Ask for a run of an object (coalesced with any waiting one). */
  enqueue(
    object: string,
    trigger: Trigger,
    opts: { visibleAt?: number; delayMs?: number; ids?: { side: Side; ids: string[] } } = {},
  ): void {
    if (this.#stopping) return;
    const now = Date.now();
    const existing = this.#jobs.get(object);
    const detectDeletes = trigger === "reconcile" || trigger === "start" || trigger === "schedule" || trigger === "manual";
    const obj = this.ctx.spec.objects.find((o) => o.name === object);
    // a targeted run needs ids, and no filter on that side (records read by id are not filtered)
    const targeted = opts.ids && opts.ids.ids.length > 0 && obj && !obj[opts.ids.side].filter?.length ? opts.ids : undefined;
    if (existing) {
      existing.visibleAt = Math.min(existing.visibleAt, opts.visibleAt ?? now);
      existing.detectDeletes ||= detectDeletes;
      if (rank(trigger) > rank(existing.trigger)) existing.trigger = trigger;
      if (!targeted)
        existing.ids = undefined; // anything else makes it an incremental run (which covers the ids)
      else if (existing.ids) for (const id of targeted.ids) existing.ids[targeted.side].add(id);
    } else {
      const ids = targeted ? { crm: new Set<string>(), erp: new Set<string>() } : undefined;
      if (ids && targeted) for (const id of targeted.ids) ids[targeted.side].add(id);
      this.#jobs.set(object, { trigger, visibleAt: opts.visibleAt ?? now, notBefore: now + (opts.delayMs ?? 0), detectDeletes, ids });
    }
    const st = this.objects.get(object);
    if (st) st.pending = this.#jobs.get(object)?.trigger;
    this.#wake?.();
  }

  /** Resolves when no job waits and none runs (tests, benches). */
  idle(): Promise<void> {
    if (!this.#busy && this.#jobs.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Describe both systems and diff; raise/resolve the schema-drift incidents; record a first baseline when asked. */
  async checkDrift(opts: { acceptMissingBaseline?: boolean } = {}): Promise<DriftReport> {
    const spec = this.ctx.spec;
    let report = await checkDrift(spec, this.ctx.store, this.settings, { env: this.#opts.env, describe: this.#opts.describe });
    if (opts.acceptMissingBaseline && (!report.baseline.crm || !report.baseline.erp) && !hasPauses(report.pauses)) {
      await acceptSnapshot(this.ctx.store, spec.name, report.current);
      this.#log?.info({ integration: spec.name }, "no accepted schema snapshot yet: recorded the systems' current schema as the baseline");
      report = await checkDrift(spec, this.ctx.store, this.settings, { describe: async (s) => report.current[s] });
    }
    this.drift = report;
    this.#lastDrift = Date.now();
    this.#driftDue = false;
    for (const o of spec.objects) {
      const f = report.findings.filter((x) => x.object === o.name && x.action !== "none");
      const p = report.pauses[o.name];
      this.metrics.pausedMappings.set(
        { integration: spec.name, object: o.name },
        p?.whole ? o.fields.length : Object.keys(p?.fields ?? {}).length,
      );
      if (f.length > 0) {
        const paused = f.some((x) => x.action.startsWith("pause"));
        await this.alerter.raise({
          rule: "schema-drift",
          object: o.name,
          severity: paused ? "critical" : "warning",
          message: `${f.map((x) => x.message).join("; ")}${paused ? " — the affected mappings are paused (the rest keeps syncing); fix the map, then `accord drift accept FILE`" : ""}`,
          detail: JSON.parse(JSON.stringify(f)),
        });
      } else {
        await this.alerter.resolve("schema-drift", o.name);
      }
    }
    return report;
  }

  /** Stop: no new job; the run in flight stops after its page; release the lock; close the server. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#loop ?? Promise.resolve();
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#crons) c.stop();
    this.#jobs.clear();
    this.#wake?.();
    const grace = this.#opts.graceMs ?? 30_000;
    if (this.#running) {
      const done = await Promise.race([this.#running.then(() => true), sleep(grace).then(() => false)]);
      if (!done)
        this.#log?.warn(
          { graceMs: grace },
          "the run in flight did not stop within the grace period: abandoned (the next start resumes safely)",
        );
    }
    await this.#loop?.catch(() => {});
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.#server?.closeAllConnections?.();
    await this.ctx.store.releaseLock?.(this.integration, this.holder).catch(() => {});
    for (const w of this.#idleWaiters.splice(0)) w();
    this.#resolveStopped();
  }

  // ------------------------------------------------------------------ scheduling

  #schedule(): void {
    const objs = this.ctx.spec.objects;
    const realtime = objs.filter((o) => "tier" in o.schedule && o.schedule.tier === "realtime");
    if (realtime.length) {
      this.#timers.push(
        setInterval(() => {
          for (const o of realtime) this.enqueue(o.name, "poll");
        }, this.pollMs),
      );
      this.#timers.push(
        setInterval(
          () => {
            for (const o of realtime) this.enqueue(o.name, "reconcile");
          },
          Math.max(1000, this.settings.reconcileEveryMs),
        ),
      );
    }
    for (const o of objs) {
      const s = o.schedule;
      const pattern = "cron" in s ? s.cron : s.tier === "hourly" ? "0 * * * *" : s.tier === "daily" ? "0 2 * * *" : undefined;
      if (!pattern) continue;
      this.#crons.push(new Cron(pattern, { timezone: "UTC" }, () => this.enqueue(o.name, "schedule")));
    }
    this.#timers.push(
      setInterval(
        () => {
          if (Date.now() - this.#lastDrift >= (this.#opts.driftEveryMs ?? 60_000)) this.#driftDue = true;
          this.#wake?.();
        },
        Math.min(this.#opts.driftEveryMs ?? 60_000, 30_000),
      ),
    );
    this.#timers.push(setInterval(() => void this.#healthTick(), this.#opts.healthEveryMs ?? 60_000));
    this.#timers.push(setInterval(() => void this.#countsTick(), this.#opts.countsEveryMs ?? 3_600_000));
    this.#timers.push(setInterval(() => void this.probe(), this.#opts.probeEveryMs ?? 15_000));
  }

  async #healthTick(): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.health.checkFreshness(new Date(), this.#pausedObjects());
      await this.alerter.escalate();
      this.metrics.alertsActive.set({ integration: this.integration }, (await this.alerter.active()).length);
    } catch (err) {
      this.#log?.warn({ err: messageOf(err) }, "health check failed");
    }
  }

  async #countsTick(): Promise<void> {
    if (this.#stopping || this.pausedSystems.size > 0) return;
    try {
      await this.health.checkCounts(this.ctx.crm, this.ctx.erp, this.#pausedObjects());
    } catch (err) {
      this.#log?.warn({ err: messageOf(err) }, "record-count check failed");
    }
  }

  #pausedObjects(): Set<string> {
    return new Set(Object.entries(this.drift?.pauses ?? {}).flatMap(([o, p]) => (p.whole ? [o] : [])));
  }

  /** Try a paused system again: on success its jobs resume (and the auth incident resolves). */
  async probe(): Promise<void> {
    for (const side of [...this.pausedSystems.keys()]) {
      try {
        // a real call (whoAmI is cached by the connectors): read a record that does not exist
        await probeAuth(side === "crm" ? this.ctx.crm : this.ctx.erp, this.ctx.spec.objects[0]?.[side].entity);
        this.pausedSystems.delete(side);
        this.metrics.pausedSystems.set({ integration: this.integration, system: side }, 0);
        await this.health.authRestored(side);
        this.#log?.info({ side }, `${side} accepts Accord's credentials again: its jobs resume`);
        for (const o of this.ctx.spec.objects) this.enqueue(o.name, "manual");
      } catch (err) {
        if ((err as { errorClass?: string }).errorClass !== "AuthError") {
          this.#log?.warn({ side, err: messageOf(err) }, "auth probe failed for another reason; trying again later");
        }
      }
    }
  }

  // ------------------------------------------------------------------ worker

  async #worker(): Promise<void> {
    while (!this.#stopping) {
      if (this.#driftDue) {
        try {
          await this.checkDrift();
        } catch (err) {
          this.#driftDue = false;
          this.#lastDrift = Date.now();
          this.#log?.warn({ err: messageOf(err) }, "drift check failed");
          await this.#authFromDescribe(err);
        }
      }
      const next = this.#pickJob();
      if (!next) {
        if (this.#jobs.size === 0 || this.pausedSystems.size > 0) {
          this.#busy = false;
          if (this.#jobs.size === 0 || this.pausedSystems.size > 0) for (const w of this.#idleWaiters.splice(0)) w();
        }
        await new Promise<void>((r) => {
          this.#wake = r;
          const soonest = Math.min(...[...this.#jobs.values()].map((j) => j.notBefore), Date.now() + 1000);
          setTimeout(r, Math.max(5, soonest - Date.now()));
        });
        this.#wake = undefined;
        continue;
      }
      this.#busy = true;
      const [object, job] = next;
      this.#jobs.delete(object);
      const st = this.objects.get(object);
      if (st) st.pending = undefined;
      this.#running = this.#runObject(object, job);
      await this.#running;
      this.#running = undefined;
    }
    this.#busy = false;
  }

  #pickJob(): [string, Job] | undefined {
    if (this.pausedSystems.size > 0) return undefined; // every object touches both systems
    const now = Date.now();
    for (const o of this.ctx.spec.objects) {
      const j = this.#jobs.get(o.name);
      if (j && j.notBefore <= now) return [o.name, j];
    }
    return undefined;
  }

  async #runObject(object: string, job: Job): Promise<void> {
    const ctx = this.ctx;
    const spec = this.drift ? pausedSpec(ctx.spec, this.drift.pauses) : ctx.spec;
    const st = this.objects.get(object);
    if (!spec.objects.some((o) => o.name === object)) {
      this.#log?.warn({ object, reason: this.drift?.pauses[object]?.whole }, "object paused by schema drift: not run");
      return;
    }
    const crm = this.#guarded(ctx.crm);
    const erp = this.#guarded(ctx.erp);
    const before = { crm: ctx.crm.stats(), erp: ctx.erp.stats() };
    const started = Date.now();
    let failed: string | undefined;
    let authSide: Side | undefined;
    let counts: Awaited<ReturnType<typeof runSync>>["totals"] | undefined;
    let deletions = 0;
    try {
      const records = job.ids ? { crm: [...job.ids.crm], erp: [...job.ids.erp] } : undefined;
      const res = await runSync(
        { ...ctx, spec, crm, erp },
        {
          objects: [object],
          detectDeletes: job.detectDeletes,
          // a page read ahead is not processed once stopping (the guard below stops further reads)
          beforePage: () => {
            if (this.#stopping) throw new Transient(`${STOPPING}: the run ends after the page in flight`);
          },
          ...(records ? { records } : {}),
          // quarantine retries (a read per entry) belong to the scheduled passes, not to every webhook or poll
          retryQuarantined: job.trigger !== "webhook" && job.trigger !== "poll",
        },
      );
      counts = res.totals;
      deletions = res.objects.reduce((n, o) => n + o.deletions, 0);
      if (
        res.objects.some((o) =>
          o.records.some((r) => r.outcome === "quarantined" && /SchemaDrift|vanished|unknown column|not-existing/i.test(r.reason)),
        )
      )
        this.#driftDue = true;
    } catch (err) {
      failed = `${(err as { errorClass?: string }).errorClass ?? "Error"}: ${messageOf(err)}`;
      if ((err as { errorClass?: string }).errorClass === "SchemaDrift") this.#driftDue = true;
      if (this.#stopping && messageOf(err).startsWith(STOPPING)) await this.#markAbandoned(object);
    }
    const after = { crm: ctx.crm.stats(), erp: ctx.erp.stats() };
    const api = { crm: apiDelta(before.crm, after.crm), erp: apiDelta(before.erp, after.erp) };
    for (const side of ["crm", "erp"] as const) {
      this.metrics.recordApi(side, before[side], after[side]);
      if ((api[side].errors.AuthError ?? 0) > 0) authSide ??= side;
    }
    const ms = Date.now() - started;
    const status = failed ? "failed" : "ok";
    this.metrics.recordRun(object, job.trigger, status, ms / 1000, counts);
    if (st)
      st.lastRun = {
        at: new Date().toISOString(),
        trigger: job.trigger,
        status,
        ms,
        counts: counts ? { ...counts } : undefined,
        error: failed,
      };
    this.#opts.onRun?.({
      object,
      trigger: job.trigger,
      status,
      visibleAt: job.visibleAt,
      startedAt: started,
      finishedAt: started + ms,
      counts: counts ? { ...counts } : undefined,
      error: failed,
      ...(job.ids ? { targeted: { crm: job.ids.crm.size, erp: job.ids.erp.size } } : {}),
    });
    if (!failed)
      this.metrics.lag.observe({ integration: this.integration, object, source: job.trigger }, (Date.now() - job.visibleAt) / 1000);
    const log = failed ? this.#log?.error.bind(this.#log) : this.#log?.info.bind(this.#log);
    log?.({ object, trigger: job.trigger, ms, counts, error: failed }, `run ${status}: ${object}`);
    if (authSide && failed) {
      if (!this.pausedSystems.has(authSide)) {
        this.pausedSystems.set(authSide, new Date().toISOString());
        this.metrics.pausedSystems.set({ integration: this.integration, system: authSide }, 1);
      }
      await this.health.authFailure(authSide, failed);
      this.enqueue(object, job.trigger); // runs again once the system is back
      return;
    }
    if (this.#stopping && failed) return; // the stop cut the run short: not a health signal
    await this.health.afterRun({ object, counts: counts ?? { read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 }, api, failed });
    // "repaired": records a poll or reconciliation pass had to apply while webhooks are configured —
    // changes the webhooks did not bring (lost, late, or from a system without a subscription)
    if ((job.trigger === "poll" || job.trigger === "reconcile") && counts && !failed && this.#webhooksOn()) {
      const repaired = counts.applied + deletions;
      if (repaired > 0) {
        this.metrics.repaired.inc({ integration: this.integration, object }, repaired);
        this.#repaired.set(object, (this.#repaired.get(object) ?? 0) + repaired);
      }
    }
    if (job.trigger === "reconcile" && !failed && this.#webhooksOn()) {
      await this.health.reconcileRepaired(object, this.#repaired.get(object) ?? 0);
      this.#repaired.set(object, 0);
    }
  }

  #webhooksOn(): boolean {
    const s = this.#opts.webhookSecrets;
    return this.#opts.http !== false && (s?.crm?.length ?? 0) + (s?.erp?.length ?? 0) > 0;
  }

  /** An authentication failure while describing a system: the same alert and pause as in a run. */
  async #authFromDescribe(err: unknown): Promise<void> {
    const side = authSideOf(err, this.ctx.spec);
    if (!side) return; // not an AuthError, or both systems of one type: the next run tells which one
    if (!this.pausedSystems.has(side)) {
      this.pausedSystems.set(side, new Date().toISOString());
      this.metrics.pausedSystems.set({ integration: this.integration, system: side }, 1);
    }
    await this.health.authFailure(side, `AuthError while describing the schema: ${messageOf(err)}`);
  }

  /** The run cut short by a stop is recorded as abandoned (its pages were finished), not failed. */
  async #markAbandoned(object: string): Promise<void> {
    try {
      const [run] = await this.ctx.store.listRuns(this.integration, { object, limit: 1 });
      if (run?.status === "failed" && run.error?.includes(STOPPING))
        await this.ctx.store.finishRun(run.id, "abandoned", run.counts, "stopped by accord run shutdown after the page in flight");
    } catch {
      // the run stays recorded as failed; harmless
    }
  }

  /** The connectors as a run sees them: once stopping, no further page is read and no deletion sweep starts. */
  #guarded(conn: Connector): Connector {
    const rt = this;
    return new Proxy(conn, {
      get(t, prop, receiver) {
        const v = Reflect.get(t, prop, receiver);
        if (prop === "readChanges" && typeof v === "function") {
          return (entity: string, opts: unknown) => {
            const it = (v as Connector["readChanges"]).call(t, entity, opts as Parameters<Connector["readChanges"]>[1]);
            return (async function* () {
              for await (const page of it) {
                yield page;
                if (rt.#stopping) return;
              }
            })();
          };
        }
        if (prop === "listIds" && typeof v === "function") {
          return (entity: string) => {
            if (rt.#stopping) throw new Transient(`${STOPPING}: the deletion sweep is left for the next run`);
            return (v as NonNullable<Connector["listIds"]>).call(t, entity);
          };
        }
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  }

  // ------------------------------------------------------------------ HTTP

  async #listen(o: { port?: number; host?: string }): Promise<void> {
    const server = createServer((req, res) => {
      void this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: messageOf(err) });
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    if (addr && typeof addr === "object") this.url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const path = url.split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      const text = await this.metrics.text();
      res.writeHead(200, { "Content-Type": this.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (req.method === "GET" && path === "/health") {
      sendJson(res, 200, await this.status());
      return;
    }
    const m = /^\/webhooks\/(crm|erp)$/.exec(path);
    if (req.method === "POST" && m) {
      const side = m[1] as Side;
      const receivedAt = Date.now();
      const rawBody = await readBody(req);
      const conn = side === "crm" ? this.ctx.crm : this.ctx.erp;
      const v = await admitWebhook(
        side,
        conn,
        this.#opts.webhookSecrets?.[side] ?? [],
        { headers: req.headers, url, rawBody },
        this.#replay,
      );
      this.metrics.webhooks.inc({ integration: this.integration, system: side, result: v.result });
      if (v.result !== "accepted") {
        this.#log?.warn({ side, result: v.result }, `webhook rejected: ${v.message}`);
        sendJson(res, v.status, { ok: false, error: v.message });
        return;
      }
      const touched = this.#objectsTouched(
        side,
        v.events.map((e) => e.entity),
      );
      const ids = v.events.filter((e) => e.kind !== "delete").map((e) => e.id); // deletions: the sweep's job
      for (const o of touched)
        this.enqueue(o, "webhook", {
          visibleAt: receivedAt,
          delayMs: this.#opts.coalesceMs ?? 100,
          ids: v.events.length > 0 && ids.length === v.events.length ? { side, ids } : undefined,
        });
      sendJson(res, 200, { ok: true, events: v.events.length, objects: touched });
      return;
    }
    sendJson(res, 404, { error: `no route ${req.method} ${path}; try POST /webhooks/crm|erp, GET /metrics, GET /health` });
  }

  #objectsTouched(side: Side, entities: Array<string | undefined>): string[] {
    const known = entities.filter((e): e is string => !!e);
    // webhooks drive realtime objects only; the others keep their schedule
    return this.ctx.spec.objects
      .filter((o: ObjectSpec) => "tier" in o.schedule && o.schedule.tier === "realtime")
      .filter((o) => known.length === 0 || known.includes(o[side].entity))
      .map((o) => o.name);
  }

  /** What `/health` and `accord status` show of a live process. */
  async status(): Promise<Record<string, unknown>> {
    return {
      integration: this.integration,
      holder: this.holder,
      pausedSystems: Object.fromEntries(this.pausedSystems),
      paused: this.drift?.pauses ?? {},
      objects: [...this.objects.values()],
      alerts: (await this.alerter.active()).map((a) => ({
        id: a.id,
        rule: a.rule,
        object: a.object,
        severity: a.severity,
        message: a.message,
      })),
    };
  }
}

function tierOf(o: ObjectSpec): string {
  return "tier" in o.schedule ? o.schedule.tier : `cron ${o.schedule.cron}`;
}

function rank(t: Trigger): number {
  return { poll: 0, webhook: 1, schedule: 2, start: 3, reconcile: 3, manual: 4 }[t];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const rt = new Runtime(opts);
  await rt.start();
  return rt;
}
