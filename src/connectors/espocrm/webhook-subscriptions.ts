/**
 * EspoCRM webhook subscriptions (reference §5): `POST /Webhook {event: "Account.update", url,
 * skipOwn: true}` → 201 with the webhook's own `secretKey`; `GET /Webhook` lists the API user's
 * own; `DELETE /Webhook/{id}`. The delivery carries no event name, so the URL carries it
 * (`?event=Account.update`, what parseWebhook reads). `skipOwn` keeps Accord's own writes from
 * coming back (a first layer of no-echo, at the source). A real EspoCRM refuses URLs on internal
 * hosts unless they are listed in `webhookAllowedAddressList`.
 */
import type { HttpClient } from "../http.ts";
import type { WebhookEventKind, WebhookSubscription } from "../types.ts";

type Row = Record<string, unknown>;
const EVENTS: Record<WebhookEventKind, string> = { create: "create", update: "update", delete: "delete" };

export function espoWebhookUrl(base: string, entity: string, event: WebhookEventKind): string {
  const u = new URL(base);
  u.searchParams.set("event", `${entity}.${EVENTS[event]}`);
  return u.toString();
}

function toSubscription(r: Row): WebhookSubscription | undefined {
  const m = /^([A-Za-z0-9_]+)\.(create|update|delete)$/.exec(String(r.event ?? ""));
  if (!m || typeof r.id !== "string") return undefined;
  return {
    id: r.id,
    entity: m[1],
    event: m[2] as WebhookEventKind,
    url: String(r.url ?? ""),
    active: r.isActive !== false,
    ...(typeof r.secretKey === "string" && r.secretKey ? { secret: r.secretKey } : {}),
  };
}

export async function espoSubscribe(http: HttpClient, entity: string, event: WebhookEventKind, url: string): Promise<WebhookSubscription> {
  const res = await http.request<Row>({
    method: "POST",
    path: "/Webhook",
    body: { event: `${entity}.${EVENTS[event]}`, url: espoWebhookUrl(url, entity, event), skipOwn: true },
    action: `subscribe a webhook to ${entity}.${event}`,
    where: { object: "Webhook" },
  });
  const sub = toSubscription(res.body ?? {});
  if (!sub) throw new Error(`espocrm: the answer to POST /Webhook is not a webhook record (${JSON.stringify(res.body).slice(0, 200)})`);
  return sub;
}

export async function espoSubscriptions(http: HttpClient): Promise<WebhookSubscription[]> {
  const out: WebhookSubscription[] = [];
  for (let offset = 0; ; offset += 200) {
    const res = await http.request<{ list?: Row[]; total?: number }>({
      method: "GET",
      path: "/Webhook",
      query: new URLSearchParams({ maxSize: "200", offset: String(offset), orderBy: "createdAt", order: "asc" }),
      action: "list webhooks",
      where: { object: "Webhook" },
    });
    const list = res.body?.list ?? [];
    for (const r of list) {
      const s = toSubscription(r);
      if (s) out.push(s);
    }
    if (list.length < 200) return out;
  }
}

export async function espoUnsubscribe(http: HttpClient, id: string): Promise<void> {
  await http.request({
    method: "DELETE",
    path: `/Webhook/${encodeURIComponent(id)}`,
    action: `delete webhook ${id}`,
    where: { object: "Webhook", record: id },
  });
}
