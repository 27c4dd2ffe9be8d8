/**
 * ERPNext webhook subscriptions (reference §5): a `Webhook` document per doctype and docevent,
 * JSON request structure, `enable_security` with the secret Accord chose (a Password field: it
 * cannot be read back: to change it, the subscription is made again). Events: create → `after_insert`;
 * update → `on_change` (fires on save, submit, cancel AND on `db_set` status changes such as an
 * invoice becoming Paid, which `on_update` misses; never on insert); delete → `on_trash`.
 * Unsubscribing deletes the Webhook, or disables it when its request logs keep it from being deleted.
 * The URL carries the docevent and doctype (`?event=on_change&doctype=Customer`), what parseWebhook reads.
 */
import type { HttpClient } from "../http.ts";
import type { WebhookEventKind, WebhookSubscription } from "../types.ts";

type Row = Record<string, unknown>;
const DOCEVENT: Record<WebhookEventKind, string> = { create: "after_insert", update: "on_change", delete: "on_trash" };
const KIND: Record<string, WebhookEventKind> = { after_insert: "create", on_change: "update", on_update: "update", on_trash: "delete" };
/** What a delivery carries: enough for a targeted read by name. */
const BODY = '{"name": {{ doc.name | tojson }}, "doctype": {{ doc.doctype | tojson }}, "modified": {{ doc.modified | tojson }}}';
const FIELDS = ["name", "webhook_doctype", "webhook_docevent", "request_url", "enabled"];

export function erpWebhookUrl(base: string, doctype: string, event: WebhookEventKind): string {
  const u = new URL(base);
  u.searchParams.set("event", DOCEVENT[event]);
  u.searchParams.set("doctype", doctype);
  return u.toString();
}

function toSubscription(r: Row): WebhookSubscription | undefined {
  const kind = KIND[String(r.webhook_docevent ?? "")];
  if (!kind || typeof r.name !== "string") return undefined;
  return {
    id: r.name,
    entity: String(r.webhook_doctype ?? ""),
    event: kind,
    url: String(r.request_url ?? ""),
    active: r.enabled === 1 || r.enabled === true || r.enabled === "1",
  };
}

export async function erpSubscribe(
  http: HttpClient,
  doctype: string,
  event: WebhookEventKind,
  url: string,
  secret: string | undefined,
): Promise<WebhookSubscription> {
  if (!secret)
    throw new Error("erpnext: a webhook subscription needs the secret that will sign its deliveries (ERPNext does not make one)");
  const res = await http.request<{ data?: Row }>({
    method: "POST",
    path: "/resource/Webhook",
    body: {
      webhook_doctype: doctype,
      webhook_docevent: DOCEVENT[event],
      request_url: erpWebhookUrl(url, doctype, event),
      request_method: "POST",
      request_structure: "JSON",
      webhook_json: BODY,
      enable_security: 1,
      webhook_secret: secret,
      enabled: 1,
    },
    action: `subscribe a webhook to ${doctype} ${DOCEVENT[event]}`,
    where: { object: "Webhook" },
  });
  const sub = toSubscription(res.body?.data ?? {});
  if (!sub) throw new Error(`erpnext: the answer to POST /api/resource/Webhook is not a Webhook document`);
  return { ...sub, secret };
}

export async function erpSubscriptions(http: HttpClient): Promise<WebhookSubscription[]> {
  const res = await http.request<{ data?: Row[] }>({
    method: "GET",
    path: "/resource/Webhook",
    query: new URLSearchParams({ fields: JSON.stringify(FIELDS), limit_page_length: "0", order_by: "name asc" }),
    action: "list webhooks",
    where: { object: "Webhook" },
  });
  return (res.body?.data ?? []).map(toSubscription).filter((s): s is WebhookSubscription => s !== undefined);
}

/**
 * Delete the subscription; when ERPNext refuses because Webhook Request Logs link to it
 * (LinkExistsError — the delivery history is kept), disable it instead: it sends nothing more.
 */
export async function erpUnsubscribe(http: HttpClient, id: string): Promise<void> {
  try {
    await http.request({
      method: "DELETE",
      path: `/resource/Webhook/${encodeURIComponent(id)}`,
      action: `delete webhook ${id}`,
      where: { object: "Webhook", record: id },
    });
  } catch (err) {
    if (!/LinkExistsError|is linked with/i.test(err instanceof Error ? err.message : String(err))) throw err;
    await http.request({
      method: "PUT",
      path: `/resource/Webhook/${encodeURIComponent(id)}`,
      body: { enabled: 0 },
      action: `disable webhook ${id} (its request logs keep it from being deleted)`,
      where: { object: "Webhook", record: id },
    });
  }
}
