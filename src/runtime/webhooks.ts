/**
 * Webhooks in: one endpoint per system (`POST /webhooks/crm`, `POST /webhooks/erp`; the query
 * string carries what the system cannot put in the body, e.g. `?event=Account.update`), verified by
 * the system's connector (`parseWebhook`, HMAC over the raw body, constant-time). Unsigned calls
 * and bad signatures → 401; a replay (the same signature over the same body within the replay
 * window — neither system sends a nonce or timestamp) → 409, not acted on. Accepted events are
 * handed over as touched (system, entity, ids); the runtime coalesces them.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connector, WebhookEvent } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";

export interface WebhookVerdict {
  status: number;
  result: "accepted" | "unsigned" | "bad-signature" | "replay" | "error" | "unsupported";
  events: WebhookEvent[];
  message: string;
}

const SIGNATURE_HEADERS = ["signature", "x-signature", "x-frappe-webhook-signature"];

export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #max: number;
  constructor(windowMs = 10 * 60_000, max = 100_000) {
    this.#windowMs = windowMs;
    this.#max = max;
  }
  /** True the first time a key is seen within the window. */
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

/** Verify and parse one webhook call of `side`. */
export function verifyWebhook(
  side: Side,
  conn: Connector,
  secrets: readonly string[],
  req: { headers: IncomingMessage["headers"]; url: string; rawBody: Buffer },
  replay: ReplayGuard,
): WebhookVerdict {
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
  if (!replay.first(key))
    return { status: 409, result: "replay", events: [], message: "replayed webhook call (same signature and body seen before) ignored" };
  return { status: 200, result: "accepted", events, message: `${events.length} event(s)` };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
