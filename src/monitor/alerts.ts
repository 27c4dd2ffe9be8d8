/**
 * Alerts: incidents in the store, de-duplicated (one incident per integration + rule + object; a
 * rule firing again while its incident is open or acknowledged only counts an occurrence), sent to
 * the owner when opened — the owner's webhook (Slack-compatible JSON `{"text": …}`), e-mail over
 * SMTP when configured, and the log — and escalated to the secondary owner when not acknowledged
 * within `escalateAfter`.
 */
import type { IntegrationSpec, Person } from "../spec/model.ts";
import type { Alert, Json, Store } from "../store/types.ts";
import type { MonitorSettings } from "./settings.ts";
import { sendMail } from "./smtp.ts";

export interface AlertLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RaiseInput {
  rule: string;
  /** Spec object, or "" / absent for integration-wide rules. */
  object?: string;
  severity: "warning" | "critical";
  message: string;
  detail?: Json;
}

export interface Delivery {
  alert: number;
  to: string;
  channel: "webhook" | "email" | "log";
  ok: boolean;
  error?: string;
}

type AlertStore = Required<Pick<Store, "raiseAlert" | "listAlerts" | "getAlert" | "ackAlert" | "resolveAlert" | "markAlertSent">>;

export function alertStore(store: Store): AlertStore {
  const s = store as Store & Partial<AlertStore>;
  if (!s.raiseAlert || !s.listAlerts || !s.getAlert || !s.ackAlert || !s.resolveAlert || !s.markAlertSent)
    throw new Error("this store keeps no alerts (it lacks the optional alert methods of the Store interface)");
  return s as AlertStore;
}

export class Alerter {
  readonly deliveries: Delivery[] = [];
  readonly #spec: IntegrationSpec;
  readonly #store: AlertStore;
  readonly #settings: MonitorSettings;
  readonly #logger?: AlertLogger;
  readonly #fetch: typeof fetch;
  readonly #now: () => Date;
  readonly #env: Record<string, string | undefined>;

  constructor(opts: {
    spec: IntegrationSpec;
    store: Store;
    settings: MonitorSettings;
    logger?: AlertLogger;
    fetch?: typeof fetch;
    now?: () => Date;
    /** Where `${VAR}` references (the SMTP password) resolve: the integration's environment (default process.env). */
    env?: Record<string, string | undefined>;
  }) {
    this.#env = opts.env ?? process.env;
    this.#spec = opts.spec;
    this.#store = alertStore(opts.store);
    this.#settings = opts.settings;
    this.#logger = opts.logger;
    this.#fetch = opts.fetch ?? fetch;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The SMTP password from its ${VAR} reference; a missing variable is an error that names it (never the value). */
  #smtpPassword(ref: string | undefined): string | undefined {
    if (ref === undefined) return undefined;
    const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(ref.trim())?.[1];
    const value = name ? this.#env[name] : undefined;
    if (!name || value === undefined || value === "")
      throw new Error(`the SMTP password variable ${name ?? "(not a ${VAR} reference)"} is not set where accord runs: set it (or register it as the integration's secret)`);
    return value;
  }

  /** Raise (or count again) an incident; a new incident is sent to the owner at once. */
  async raise(a: RaiseInput): Promise<{ alert: Alert; opened: boolean }> {
    const r = await this.#store.raiseAlert({
      integration: this.#spec.name,
      rule: a.rule,
      object: a.object ?? "",
      severity: a.severity,
      message: a.message,
      detail: a.detail ?? null,
    });
    if (r.opened) {
      await this.#notify(r.alert, this.#spec.owner, false);
      await this.#store.markAlertSent(r.alert.id, "notified");
    }
    return r;
  }

  /** Close the active incident of a rule (+ object): its condition cleared. */
  async resolve(rule: string, object = ""): Promise<Alert | undefined> {
    const active = (await this.#store.listAlerts(this.#spec.name, { status: "active" })).find(
      (x) => x.rule === rule && x.object === object,
    );
    if (!active) return undefined;
    await this.#store.resolveAlert(active.id);
    this.#logger?.info(
      { alert: active.id, rule, object, integration: this.#spec.name },
      `alert resolved: ${rule}${object ? ` (${object})` : ""}`,
    );
    return active;
  }

  async active(): Promise<Alert[]> {
    return this.#store.listAlerts(this.#spec.name, { status: "active" });
  }

  /** Send still-open (unacknowledged) incidents older than `escalateAfter` to the secondary owner, once. */
  async escalate(): Promise<Alert[]> {
    const second = this.#spec.secondaryOwner;
    if (!second) return [];
    const due = this.#now().getTime() - this.#settings.escalateAfterMs;
    const out: Alert[] = [];
    for (const a of await this.#store.listAlerts(this.#spec.name, { status: "open" })) {
      if (a.escalatedAt || Date.parse(a.notifiedAt ?? a.firstAt) > due) continue;
      await this.#notify(a, second, true);
      await this.#store.markAlertSent(a.id, "escalated");
      out.push(a);
    }
    return out;
  }

  async #notify(a: Alert, to: Person, escalated: boolean): Promise<void> {
    const text = alertText(this.#spec.name, a, escalated);
    const log = a.severity === "critical" ? this.#logger?.error.bind(this.#logger) : this.#logger?.warn.bind(this.#logger);
    log?.(
      {
        alert: a.id,
        rule: a.rule,
        object: a.object || undefined,
        severity: a.severity,
        integration: this.#spec.name,
        to: to.email,
        escalated,
      },
      text,
    );
    this.deliveries.push({ alert: a.id, to: to.email, channel: "log", ok: true });
    if (to.webhook) {
      try {
        const res = await this.#fetch(to.webhook, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ text }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        this.deliveries.push({ alert: a.id, to: to.webhook, channel: "webhook", ok: true });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.deliveries.push({ alert: a.id, to: to.webhook, channel: "webhook", ok: false, error });
        this.#logger?.error(
          { alert: a.id, to: to.email, error },
          "alert webhook delivery failed (the alert stays open in `accord alerts`)",
        );
      }
    }
    const smtp = this.#settings.smtp;
    if (smtp) {
      try {
        await sendMail({
          ...smtp,
          password: this.#smtpPassword(smtp.password),
          to: [to.email],
          subject: `[accord ${this.#spec.name}] ${a.severity}: ${a.rule}${a.object ? ` (${a.object})` : ""}`,
          text,
        });
        this.deliveries.push({ alert: a.id, to: to.email, channel: "email", ok: true });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.deliveries.push({ alert: a.id, to: to.email, channel: "email", ok: false, error });
        this.#logger?.error({ alert: a.id, to: to.email, error }, "alert e-mail failed (the alert stays open in `accord alerts`)");
      }
    }
  }
}

export function alertText(integration: string, a: Alert, escalated = false): string {
  const icon = a.severity === "critical" ? ":rotating_light:" : ":warning:";
  return `${icon} [accord ${integration}] ${escalated ? "ESCALATED (not acknowledged) — " : ""}${a.severity.toUpperCase()} ${a.rule}${a.object ? ` / ${a.object}` : ""}: ${a.message} (alert #${a.id}; acknowledge: accord alerts ack ${a.id} FILE)`;
}
