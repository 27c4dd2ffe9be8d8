/**
 * Webhooks as EspoCRM sends them (reference §5): subscriptions via `POST /Webhook`, events queued
 * by the record service, delivered after a delay (the real cron job; default 2 min) as a JSON
 * array of ≤ 50 items of one webhook, signed with `Signature` (hex) and legacy `X-Signature`
 * (binary), with the real retry rules.
 */
import { createHmac } from "node:crypto";
import type { Db, Rec, User } from "./db.ts";
import { ApiError, forbidden, notFound, validationFailure } from "./errors.ts";
import { fieldAttributes } from "./metadata.ts";
import { phpJsonEncode } from "./php-json.ts";
import type { RecordEvent, RecordService } from "./records.ts";

export interface Webhook {
  id: string;
  event: string;
  url: string;
  isActive: boolean;
  userId: string;
  entityType: string;
  type: "create" | "update" | "delete" | "fieldUpdate";
  field: string | null;
  secretKey: string;
  skipOwn: boolean;
  createdAt: string;
  modifiedAt: string;
  createdById: string;
  modifiedById: string;
}

export interface QueueItem {
  id: number;
  webhookId: string;
  data: Rec;
  attempts: number;
  /** Real (wall-clock) ms when the item becomes due. */
  processAt: number;
  status: "Pending" | "Success" | "Failed";
}

export interface Delivery {
  webhookId: string;
  url: string;
  itemCount: number;
  status: number | "timeout" | "error";
  at: string;
}

export interface WebhookOptions {
  delayMs: number;
  retryMs: number;
  timeoutMs: number;
  batchSize: number;
  maxAttempts: number;
  maxPerUser: number;
}

const RETRY_STATUSES = new Set([0, 401, 403, 404, 405, 408, 500, 503]);

export function signatureHeaders(webhookId: string, secretKey: string, body: string): { Signature: string; "X-Signature": string } {
  const hex = createHmac("sha256", secretKey).update(body).digest("hex");
  const bin = createHmac("sha256", secretKey).update(body).digest();
  return {
    Signature: Buffer.from(`${webhookId}:${hex}`).toString("base64"),
    "X-Signature": Buffer.concat([Buffer.from(`${webhookId}:`), bin]).toString("base64"),
  };
}

export class WebhookManager {
  readonly hooks = new Map<string, Webhook>();
  readonly queue: QueueItem[] = [];
  readonly deliveries: Delivery[] = [];
  private readonly db: Db;
  private readonly svc: RecordService;
  readonly opts: WebhookOptions;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private inflight = new Set<string>();
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(db: Db, svc: RecordService, opts: WebhookOptions) {
    this.db = db;
    this.svc = svc;
    this.opts = opts;
  }

  // ------------------------------------------------------------ subscriptions

  private parseEvent(user: User, event: unknown): Pick<Webhook, "entityType" | "type" | "field"> {
    if (typeof event !== "string" || event === "") throw forbidden("Event is empty.");
    const parts = event.split(".");
    const [entityType, type, field] = parts as [string, string | undefined, string | undefined];
    const types = ["create", "update", "delete", "fieldUpdate"];
    if (!type || !types.includes(type) || (type === "fieldUpdate" ? parts.length !== 3 && parts.length !== 2 : parts.length !== 2))
      throw forbidden("Not supported event.");
    const def = this.db.entityDefs[entityType];
    if (!def) throw forbidden("Entity type is not available for Webhooks.");
    const acl = user.acl[entityType];
    if (user.type !== "admin" && acl && acl.read === false) throw forbidden("Entity type is forbidden.");
    if (type === "fieldUpdate") {
      if (!field) throw forbidden("Field is empty.");
      if (!def.fields[field]) throw forbidden("Field does not exist.");
    }
    return { entityType, type: type as Webhook["type"], field: type === "fieldUpdate" ? (field as string) : null };
  }

  private checkAccess(user: User): void {
    if (user.type !== "admin" && !(user.type === "api" && user.webhooks)) throw forbidden("No access to 'Webhook'.");
  }

  create(user: User, body: Rec): Webhook {
    this.checkAccess(user);
    const parsed = this.parseEvent(user, body.event);
    const url = body.url;
    if (url === undefined || url === null || url === "") throw validationFailure("Webhook", "url", "required");
    if (typeof url !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(url)) throw validationFailure("Webhook", "url", "valid");
    if (url.length > 512) throw validationFailure("Webhook", "url", "maxLength");
    const own = [...this.hooks.values()].filter((h) => h.userId === user.id).length;
    if (user.type === "api" && own >= this.opts.maxPerUser) throw forbidden("Webhook number per user exceeded the limit.");
    const now = this.db.nowString();
    const hook: Webhook = {
      id: this.db.generateId(),
      event: body.event as string,
      url,
      isActive: body.isActive === undefined ? true : body.isActive === true,
      userId: user.id,
      ...parsed,
      secretKey: randomSecret(),
      skipOwn: body.skipOwn === true,
      createdAt: now,
      modifiedAt: now,
      createdById: user.id,
      modifiedById: user.id,
    };
    this.hooks.set(hook.id, hook);
    return hook;
  }

  view(h: Webhook): Rec {
    const user = this.db.users.get(h.userId);
    return {
      id: h.id,
      event: h.event,
      url: h.url,
      isActive: h.isActive,
      userId: h.userId,
      userName: user?.name ?? null,
      entityType: h.entityType,
      type: h.type,
      field: h.field,
      secretKey: h.secretKey,
      skipOwn: h.skipOwn,
      createdAt: h.createdAt,
      modifiedAt: h.modifiedAt,
      createdById: h.createdById,
      createdByName: this.db.users.get(h.createdById)?.name ?? null,
      modifiedById: h.modifiedById,
      modifiedByName: this.db.users.get(h.modifiedById)?.name ?? null,
      deleted: false,
    };
  }

  private own(user: User, id: string): Webhook {
    this.checkAccess(user);
    const h = this.hooks.get(id);
    if (!h || (user.type !== "admin" && h.userId !== user.id)) throw notFound(`Record ${id} not found.`);
    return h;
  }

  list(user: User): { total: number; list: Rec[] } {
    this.checkAccess(user);
    const list = [...this.hooks.values()]
      .filter((h) => user.type === "admin" || h.userId === user.id)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
      .map((h) => this.view(h));
    return { total: list.length, list };
  }

  read(user: User, id: string): Rec {
    return this.view(this.own(user, id));
  }

  update(user: User, id: string, body: Rec): Rec {
    const h = this.own(user, id);
    if (body.event !== undefined && body.event !== h.event) throw forbidden("Event can't be changed.");
    if (body.url !== undefined) {
      if (typeof body.url !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(body.url))
        throw validationFailure("Webhook", "url", "valid");
      h.url = body.url;
    }
    if (body.isActive !== undefined) h.isActive = body.isActive === true;
    if (body.skipOwn !== undefined) h.skipOwn = body.skipOwn === true;
    h.modifiedAt = this.db.nowString();
    h.modifiedById = user.id;
    return this.view(h);
  }

  remove(user: User, id: string): true {
    const h = this.own(user, id);
    this.deleteHook(h.id);
    return true;
  }

  private deleteHook(id: string): void {
    this.hooks.delete(id);
    for (let i = this.queue.length - 1; i >= 0; i--) if ((this.queue[i] as QueueItem).webhookId === id) this.queue.splice(i, 1);
  }

  // ------------------------------------------------------------ events

  handle(e: RecordEvent): void {
    if (this.closed) return;
    for (const h of this.hooks.values()) {
      if (!h.isActive || h.entityType !== e.entityType) continue;
      if (h.skipOwn && h.userId === e.userId) continue;
      let data: Rec | null = null;
      if (h.type === e.action) data = e.data;
      else if (h.type === "fieldUpdate" && e.action === "update" && h.field && e.after && e.changed) {
        const fd = this.db.entityDefs[e.entityType]?.fields[h.field];
        if (!fd) continue;
        const attrs = fieldAttributes(h.field, fd).map((a) => a.name);
        if (!attrs.some((a) => e.changed?.includes(a))) continue;
        data = { id: e.id };
        for (const a of attrs) data[a] = e.after[a];
      }
      if (!data) continue;
      const item: QueueItem = {
        id: ++this.seq,
        webhookId: h.id,
        data: structuredClone(data),
        attempts: 0,
        processAt: Date.now() + this.opts.delayMs,
        status: "Pending",
      };
      this.queue.push(item);
      this.schedule(item.processAt);
    }
  }

  private schedule(at: number): void {
    if (this.closed) return;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        void this.run(false);
      },
      Math.max(0, at - Date.now()),
    );
    this.timer.unref?.();
  }

  pending(): QueueItem[] {
    return this.queue.filter((q) => q.status === "Pending");
  }

  /** Deliver everything due (or, with `all`, everything pending, retries included) now. */
  async run(all: boolean): Promise<void> {
    while (this.running) await this.running;
    this.running = this.runOnce(all).finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async runOnce(all: boolean): Promise<void> {
    for (;;) {
      const now = Date.now();
      const due = new Map<string, QueueItem[]>();
      for (const q of this.queue) {
        if (q.status !== "Pending" || (!all && q.processAt > now)) continue;
        if (this.inflight.has(q.webhookId)) continue;
        const arr = due.get(q.webhookId) ?? [];
        if (arr.length < this.opts.batchSize) arr.push(q);
        due.set(q.webhookId, arr);
      }
      if (due.size === 0) break;
      await Promise.all([...due].map(([hookId, items]) => this.send(hookId, items)));
      if (all) {
        // One pass per flush for retried items: do not loop forever on a failing receiver.
        const stillDue = this.queue.some((q) => q.status === "Pending" && q.attempts === 0);
        if (!stillDue) break;
      }
    }
    // Drop finished items; reschedule for the earliest pending one.
    for (let i = this.queue.length - 1; i >= 0; i--) if ((this.queue[i] as QueueItem).status !== "Pending") this.queue.splice(i, 1);
    const next = this.queue.reduce((m, q) => Math.min(m, q.processAt), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) this.schedule(next);
  }

  private async send(hookId: string, items: QueueItem[]): Promise<void> {
    const h = this.hooks.get(hookId);
    if (!h) {
      for (const it of items) it.status = "Failed";
      return;
    }
    this.inflight.add(hookId);
    const body = phpJsonEncode(items.map((i) => i.data));
    let status: number | "timeout" | "error";
    try {
      const res = await fetch(h.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...signatureHeaders(h.id, h.secretKey, body) },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      status = name === "TimeoutError" || name === "AbortError" ? "timeout" : "error";
    } finally {
      this.inflight.delete(hookId);
    }
    this.deliveries.push({ webhookId: hookId, url: h.url, itemCount: items.length, status, at: this.db.nowString() });
    if (this.deliveries.length > 1000) this.deliveries.splice(0, this.deliveries.length - 1000);
    const code = status === "timeout" ? 408 : status === "error" ? -1 : status;
    if (code >= 200 && code < 400) {
      for (const it of items) it.status = "Success";
    } else if (code === 410) {
      this.deleteHook(hookId);
    } else if (RETRY_STATUSES.has(code)) {
      for (const it of items) {
        it.attempts++;
        if (it.attempts >= this.opts.maxAttempts) it.status = "Failed";
        else it.processAt = Date.now() + this.opts.retryMs;
      }
    } else {
      // Other 4xx/5xx, and (v10) connection errors other than timeouts: failed, no retry.
      for (const it of items) it.status = "Failed";
    }
  }

  reset(): void {
    this.hooks.clear();
    this.queue.length = 0;
    this.deliveries.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running.catch(() => undefined);
  }

  svcRef(): RecordService {
    return this.svc;
  }
}

function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
}

export { ApiError };
