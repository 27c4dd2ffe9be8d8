/**
 * Webhook subscriptions in the systems for an integration's realtime objects (`accord webhooks`):
 * which (system, entity, event) should deliver to Accord, what exists, and what to create, keep,
 * make again or remove. The connectors do the system-specific part (Connector.subscribeWebhook);
 * this module knows no system.
 *
 * Secrets: a system that returns each subscription's own secret (EspoCRM) → those secrets; one
 * that cannot show a secret back (ERPNext) → one secret per system chosen here (or the one already
 * in the environment, in which case existing subscriptions are kept as made with it; otherwise they
 * are made again with the new one, since an unknown secret would reject every delivery).
 */
import { randomBytes } from "node:crypto";
import type { Connector, WebhookEventKind, WebhookSubscription } from "../connectors/types.ts";
import type { IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";

const SIDES: Side[] = ["crm", "erp"];
const OTHER: Record<Side, Side> = { crm: "erp", erp: "crm" };

export interface WantedSubscription {
  side: Side;
  entity: string;
  event: WebhookEventKind;
  /** The objects it serves. */
  objects: string[];
}

export interface SubscriptionStep {
  side: Side;
  entity: string;
  event: WebhookEventKind;
  action: "create" | "keep" | "recreate" | "remove" | "unsupported";
  id?: string;
  reason: string;
}

export interface SubscriptionPlan {
  integration: string;
  endpoint: string;
  steps: SubscriptionStep[];
}

export interface SubscriptionResult extends SubscriptionPlan {
  /** Secrets per system after the change (what `accord run` / the registry must know). Never logged. */
  secrets: Partial<Record<Side, string[]>>;
  failed: Array<SubscriptionStep & { error: string }>;
}

/** Whether changes of this object are read from this side (a field flows from it, or records are created from it). */
function readsFrom(o: ObjectSpec, side: Side): boolean {
  if (o[side].aggregate) return true;
  const from = `${side}->${OTHER[side]}`;
  if (o.fields.some((f) => f.direction === "both" || f.direction === from)) return true;
  return o.create === "both" || o.create === from;
}

/** The subscriptions the realtime objects need (or the objects named), per system, entity and event. */
export function wantedSubscriptions(spec: IntegrationSpec, objects?: string[]): WantedSubscription[] {
  const chosen = spec.objects.filter((o) =>
    objects?.length ? objects.includes(o.name) : "tier" in o.schedule && o.schedule.tier === "realtime",
  );
  const out = new Map<string, WantedSubscription>();
  for (const o of chosen)
    for (const side of SIDES) {
      if (!readsFrom(o, side)) continue;
      const events: WebhookEventKind[] = o.deletes === "ignore" ? ["create", "update"] : ["create", "update", "delete"];
      for (const event of events) {
        const key = `${side}|${o[side].entity}|${event}`;
        const w = out.get(key) ?? { side, entity: o[side].entity, event, objects: [] };
        w.objects.push(o.name);
        out.set(key, w);
      }
    }
  return [...out.values()];
}

/** The URL a system delivers to: `${endpoint}/crm` or `${endpoint}/erp` (the routes of `accord run` and `accord server`). */
export function sideEndpoint(endpoint: string, side: Side): string {
  const u = new URL(endpoint);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/${side}`.replace(/\/{2,}/g, "/");
  u.search = "";
  return u.toString();
}

function pointsAt(sub: WebhookSubscription, endpoint: string, side: Side): boolean {
  const base = sideEndpoint(endpoint, side);
  return sub.url === base || sub.url.startsWith(`${base}?`);
}

function supports(c: Connector): boolean {
  return (
    typeof c.subscribeWebhook === "function" &&
    typeof c.listWebhookSubscriptions === "function" &&
    typeof c.unsubscribeWebhook === "function"
  );
}

/**
 * Compare what the file needs with what each system holds for this endpoint. `knownSecrets` are the
 * secrets already configured (ACCORD_WEBHOOK_SECRETS_CRM/_ERP); `remove` plans the removal of every
 * subscription pointing at the endpoint instead.
 */
export async function planSubscriptions(
  spec: IntegrationSpec,
  systems: Record<Side, Connector>,
  endpoint: string,
  opts: { objects?: string[]; knownSecrets?: Partial<Record<Side, string[]>>; remove?: boolean } = {},
): Promise<{ plan: SubscriptionPlan; existing: Record<Side, WebhookSubscription[]> }> {
  const steps: SubscriptionStep[] = [];
  const existing: Record<Side, WebhookSubscription[]> = { crm: [], erp: [] };
  const wanted = wantedSubscriptions(spec, opts.objects);
  for (const side of SIDES) {
    const conn = systems[side];
    const mine = wanted.filter((w) => w.side === side);
    if (!supports(conn)) {
      for (const w of mine)
        steps.push({
          ...w,
          action: "unsupported",
          reason: `the ${spec.systems[side].type} connector cannot subscribe webhooks: register ${w.entity} ${w.event} by hand, or rely on polling`,
        });
      continue;
    }
    existing[side] = (await conn.listWebhookSubscriptions?.()) ?? [];
    // inactive ones (e.g. an ERPNext Webhook disabled because its request logs keep it) deliver nothing: left alone
    const ours = existing[side].filter((s) => s.active && pointsAt(s, endpoint, side));
    if (opts.remove) {
      for (const s of ours)
        steps.push({ side, entity: s.entity, event: s.event, action: "remove", id: s.id, reason: "points at this endpoint" });
      continue;
    }
    const knownSecret = (opts.knownSecrets?.[side] ?? []).length > 0;
    for (const w of mine) {
      const match = ours.find((s) => s.entity === w.entity && s.event === w.event);
      const serves = `for ${w.objects.join(", ")}`;
      if (!match) steps.push({ side, entity: w.entity, event: w.event, action: "create", reason: `needed ${serves}` });
      else if (match.secret || knownSecret)
        steps.push({ side, entity: w.entity, event: w.event, action: "keep", id: match.id, reason: `exists ${serves}` });
      else
        steps.push({
          side,
          entity: w.entity,
          event: w.event,
          action: "recreate",
          id: match.id,
          reason: `exists, but its secret cannot be read back and none is configured (ACCORD_WEBHOOK_SECRETS_${side.toUpperCase()}): made again with a new one`,
        });
    }
    // subscriptions to this endpoint that the file no longer needs
    for (const s of ours)
      if (!mine.some((w) => w.entity === s.entity && w.event === s.event))
        steps.push({
          side,
          entity: s.entity,
          event: s.event,
          action: "remove",
          id: s.id,
          reason: "points at this endpoint but no realtime object needs it",
        });
  }
  return { plan: { integration: spec.name, endpoint, steps }, existing };
}

/** Carry the plan out; returns every secret the endpoint must accept afterwards. */
export async function applySubscriptions(
  spec: IntegrationSpec,
  systems: Record<Side, Connector>,
  endpoint: string,
  opts: { objects?: string[]; knownSecrets?: Partial<Record<Side, string[]>>; remove?: boolean } = {},
): Promise<SubscriptionResult> {
  const { plan, existing } = await planSubscriptions(spec, systems, endpoint, opts);
  const failed: SubscriptionResult["failed"] = [];
  const secrets: Record<Side, Set<string>> = { crm: new Set(), erp: new Set() };
  for (const side of SIDES) {
    const conn = systems[side];
    const steps = plan.steps.filter((s) => s.side === side);
    if (!steps.length || !supports(conn)) continue;
    // one shared secret for systems that cannot show secrets back: the configured one, else a new one
    const shared = opts.knownSecrets?.[side]?.[0] ?? randomBytes(32).toString("hex");
    for (const step of steps) {
      try {
        if (step.action === "keep") {
          const sub = existing[side].find((s) => s.id === step.id);
          secrets[side].add(sub?.secret ?? shared);
          continue;
        }
        if ((step.action === "remove" || step.action === "recreate") && step.id) await conn.unsubscribeWebhook?.(step.id);
        if (step.action === "create" || step.action === "recreate") {
          const sub = await conn.subscribeWebhook?.(step.entity, step.event, sideEndpoint(endpoint, side), { secret: shared });
          secrets[side].add(sub?.secret ?? shared);
          if (sub) step.id = sub.id;
        }
      } catch (err) {
        failed.push({ ...step, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  const out: Partial<Record<Side, string[]>> = {};
  for (const side of SIDES) if (secrets[side].size) out[side] = [...secrets[side]];
  return { ...plan, secrets: out, failed };
}
