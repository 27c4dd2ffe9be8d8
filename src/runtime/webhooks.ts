/**
 * Webhooks in: one endpoint per system (`POST /webhooks/crm`, `POST /webhooks/erp`; the query
 * string carries what the system cannot put in the body, e.g. `?event=Account.update`), verified by
 * the system's connector (`parseWebhook`, HMAC over the raw body, constant-time). Unsigned calls
 * and bad signatures → 401; a replay (the same signature over the same body within the replay
 * window — neither system sends a nonce or timestamp) → 409, not acted on. Accepted events are
 * handed over as touched (system, entity, ids); the runtime coalesces them.
 *
 * The replay key is a SHA-256 over side, URL, signature and body: it holds no secret and not the raw
 * signature. A `ReplayGuard` given a store that keeps deliveries (`Store.firstDelivery`, migration
 * 0006) remembers the keys there, so a delivery accepted by one `accord server` process is refused
 * as a replay by every other process on the same database; without one it remembers them in memory.
 * Callers that may hold a shared guard use `admitWebhook` (async); `verifyWebhook` checks memory only.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connector, WebhookEvent } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";
import type { Store } from "../store/types.ts";

export interface WebhookVerdict {
  status: number;
  result: "accepted" | "unsigned" | "bad-signature" | "replay" | "error" | "unsupported";
  events: WebhookEvent[];
  message: string;
}

const SIGNATURE_HEADERS = ["signature", "x-signature", "x-frappe-webhook-signature"];

/** Where a shared replay guard keeps its keys: a store with `firstDelivery`, and a scope prefixed to every key. */
export interface SharedReplay {
  store: Pick<Store, "firstDelivery">;
  /** Kept apart from other users of the same store (e.g. the integration's name when the key's URL does not name it). */
  scope?: string;
}

export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #max: number;
  readonly #shared: SharedReplay | undefined;
  /** `shared`: remember keys in the store (every process on it sees them) when it keeps deliveries; else in memory. */
  constructor(windowMs = 10 * 60_000, max = 100_000, shared?: SharedReplay) {
    this.#windowMs = windowMs;
    this.#max = max;
    this.#shared = shared?.store.firstDelivery ? shared : undefined;
  }
  /** True when keys are kept in a store shared by other processes. */
  get shared(): boolean {
    return this.#shared !== undefined;
  }
  /**
   * True the first time a key is seen within the window — by any process on the shared store when
   * there is one, else by this process. A store failure rejects (nothing is accepted unchecked).
   */
  async firstSeen(key: string, now = Date.now()): Promise<boolean> {
    const shared = this.#shared;
    if (!shared?.store.firstDelivery) return this.first(key, now);
    return shared.store.firstDelivery(shared.scope ? `${shared.scope}:${key}` : key, this.#windowMs, new Date(now));
  }
  /** True the first time a key is seen within the window, in this process's memory only. */
  first(key: string, now = Date.now()): boolean {
    for (const [k, at] of this.#seen) {
      if (now - at <= this.#windowMs && this.#seen.size < this.#max) break;
      this.#seen.delete(k); // oldest first (insertion order)
    }
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, now);
    return true;
  }
}

export async function readBody(req: IncomingMessage, limit = 5 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) throw new Error(`request body larger than ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

type WebhookCall = { headers: IncomingMessage["headers"]; url: string; rawBody: Buffer };

/** Verify and parse one webhook call of `side`; replays are checked in `replay`'s memory only (see admitWebhook). */
export function verifyWebhook(
  side: Side,
  conn: Connector,
  secrets: readonly string[],
  req: WebhookCall,
  replay: ReplayGuard,
): WebhookVerdict {
  const v = verifySignature(side, conn, secrets, req);
  if ("status" in v) return v;
  return replay.first(v.key) ? accepted(v.events) : replayed();
}

/**
 * Verify and parse one webhook call of `side`, and admit it once: a replay is refused by the shared
 * store of `replay` when it has one (every process on that store), else by its memory. Same verdicts
 * as verifyWebhook; a store that cannot be reached rejects.
 */
export async function admitWebhook(
  side: Side,
  conn: Connector,
  secrets: readonly string[],
  req: WebhookCall,
  replay: ReplayGuard,
): Promise<WebhookVerdict> {
  const v = verifySignature(side, conn, secrets, req);
  if ("status" in v) return v;
  return (await replay.firstSeen(v.key)) ? accepted(v.events) : replayed();
}

function accepted(events: WebhookEvent[]): WebhookVerdict {
  return { status: 200, result: "accepted", events, message: `${events.length} event(s)` };
}

function replayed(): WebhookVerdict {
  return { status: 409, result: "replay", events: [], message: "replayed webhook call (same signature and body seen before) ignored" };
}

/** The signature check: a verdict when the call is refused, else its events and replay key (a digest, no secret). */
function verifySignature(
  side: Side,
  conn: Connector,
  secrets: readonly string[],
  req: WebhookCall,
): WebhookVerdict | { key: string; events: WebhookEvent[] } {
  if (!conn.parseWebhook)
    return { status: 404, result: "unsupported", events: [], message: `the ${side} connector (${conn.type}) takes no webhooks` };
  const sig = SIGNATURE_HEADERS.map((h) => req.headers[h]).find((v) => v !== undefined);
  if (sig === undefined) return { status: 401, result: "unsigned", events: [], message: "unsigned webhook call rejected" };
  if (secrets.length === 0)
    return {
      status: 401,
      result: "bad-signature",
      events: [],
      message: `no webhook secret configured for the ${side}: cannot verify, call rejected`,
    };
  let events: WebhookEvent[] | undefined;
  let lastError = "";
  for (const secret of secrets) {
    try {
      events = conn.parseWebhook({ headers: req.headers, rawBody: req.rawBody, url: req.url }, secret);
      break;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      const cls = (err as { errorClass?: string }).errorClass;
      if (cls !== "AuthError") return { status: 400, result: "error", events: [], message: lastError };
    }
  }
  if (!events) return { status: 401, result: "bad-signature", events: [], message: lastError || "signature does not verify" };
  const key = createHash("sha256")
    .update(`${side}\n${req.url}\n${String(sig)}\n`)
    .update(req.rawBody)
    .digest("hex");
  return { key, events };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
