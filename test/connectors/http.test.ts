/**
 * The shared HTTP client against a scripted local server: retries and their limits, Retry-After,
 * auth failures never retried, creates retried only when provably not processed, rate limit
 * and daily budget, keep-alive, and credentials kept out of every message and log line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HttpClient, type HttpClientOptions, parseRetryAfter, redact } from "../../src/connectors/http.ts";
import { AuthError, Duplicate, NotFound, RateLimited, Transient, ValidationRejected } from "../../src/errors.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const SECRET = "k3y-0f-the-t3st-5ecret-abcdef";
let server: Server;
let base: string;
let handler: Handler = (_q, res) => res.end("{}");
let hits = 0;
let sockets = 0;
const seen: { method?: string; url?: string; headers: IncomingMessage["headers"] }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    req.on("end", () => handler(req, res, hits));
  });
  server.on("connection", () => sockets++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits = 0;
  seen.length = 0;
});

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

const logs: string[] = [];
const logger = {
  debug: (o: Record<string, unknown>, m?: string) => logs.push(JSON.stringify({ ...o, msg: m })),
  warn: (o: Record<string, unknown>, m?: string) => logs.push(JSON.stringify({ ...o, msg: m })),
};

function client(extra: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    system: "test",
    baseUrl: base,
    secrets: [SECRET],
    authHeaders: () => ({ "X-Api-Key": SECRET }),
    baseDelayMs: 5,
    maxDelayMs: 20,
    timeoutMs: 2000,
    logger,
    ...extra,
  });
}

describe("HttpClient", () => {
  it("returns parsed JSON and sends the auth header", async () => {
    handler = (_q, res) => json(res, 200, { ok: true });
    const r = await client().request<{ ok: boolean }>({ method: "GET", path: "/x" });
    expect(r.body.ok).toBe(true);
    expect(seen[0].headers["x-api-key"]).toBe(SECRET);
  });

  it("retries 5xx and 429 on GET, then succeeds", async () => {
    handler = (_q, res, n) => {
      if (n === 1) json(res, 503, {}, { "Retry-After": "0" });
      else if (n === 2) json(res, 429, {});
      else if (n === 3) {
        res.writeHead(502, { "Content-Type": "text/html" });
        res.end("<html>bad gateway</html>");
      } else json(res, 200, { ok: n });
    };
    const c = client();
    const r = await c.request<{ ok: number }>({ method: "GET", path: "/x" });
    expect(r.body.ok).toBe(4);
    expect(c.stats()).toMatchObject({ calls: 4, retries: 3, errors: { Transient: 2, RateLimited: 1 } });
  });

  it("gives up after maxRetries with the last error", async () => {
    handler = (_q, res) => json(res, 500, {});
    const c = client({ maxRetries: 2 });
    await expect(c.request({ method: "GET", path: "/x" })).rejects.toBeInstanceOf(Transient);
    expect(hits).toBe(3);
  });

  it("401 is AuthError after exactly one call, never retried", async () => {
    handler = (_q, res) => json(res, 401, {});
    const c = client();
    const e = await c.request({ method: "GET", path: "/x" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect(hits).toBe(1);
    expect(c.stats().retries).toBe(0);
  });

  it("maps 404/409/400/417/422 to NotFound/Duplicate/ValidationRejected without retrying", async () => {
    for (const [status, cls] of [
      [404, NotFound],
      [409, Duplicate],
      [400, ValidationRejected],
      [417, ValidationRejected],
      [422, ValidationRejected],
    ] as const) {
      hits = 0;
      handler = (_q, res) => json(res, status, {});
      const e = await client()
        .request({ method: "GET", path: "/x" })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(cls);
      expect(hits).toBe(1);
    }
  });

  it("honours Retry-After in seconds", async () => {
    handler = (_q, res, n) => (n === 1 ? json(res, 429, {}, { "Retry-After": "1" }) : json(res, 200, {}));
    const t0 = Date.now();
    await client().request({ method: "GET", path: "/x" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("garbage", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("surfaces RateLimited rather than sleeping through a very long Retry-After", async () => {
    handler = (_q, res) => json(res, 429, {}, { "Retry-After": "3600" });
    const e = await client()
      .request({ method: "GET", path: "/x" })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimited);
    expect((e as RateLimited).retryAfterMs).toBe(3_600_000);
    expect(hits).toBe(1);
  });

  it("a truncated JSON body is Transient and retried on GET", async () => {
    handler = (_q, res, n) => {
      if (n === 1) {
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 100 });
        res.write('{"list":[{"id":');
        setImmediate(() => res.socket?.destroy());
      } else json(res, 200, { list: [] });
    };
    const c = client();
    const r = await c.request<{ list: unknown[] }>({ method: "GET", path: "/x" });
    expect(r.body.list).toEqual([]);
    expect(c.stats().errors.Transient).toBe(1);
  });

  it("a JSON body cut short without a length is Transient", async () => {
    handler = (_q, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"list":[{"id":');
    };
    const e = await client({ maxRetries: 0 })
      .request({ method: "GET", path: "/x" })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Transient);
    expect(String((e as Error).message)).toMatch(/not complete JSON/);
  });

  it("timeouts are Transient and retried on GET", async () => {
    handler = (_q, res, n) => {
      if (n === 1) setTimeout(() => json(res, 200, { late: true }), 500);
      else json(res, 200, { late: false });
    };
    const c = client({ timeoutMs: 150 });
    const r = await c.request<{ late: boolean }>({ method: "GET", path: "/x" });
    expect(r.body.late).toBe(false);
    expect(c.stats().errors.Transient).toBe(1);
  });

  it("a POST whose connection dropped after sending is NOT retried (it may have happened)", async () => {
    handler = (req) => req.socket.destroy();
    const c = client();
    const e = await c.request({ method: "POST", path: "/create", body: { a: 1 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Transient);
    expect(hits).toBe(1);
  });

  it("a POST that timed out is NOT retried", async () => {
    handler = (_q, res) => setTimeout(() => json(res, 200, {}), 400);
    const e = await client({ timeoutMs: 100 })
      .request({ method: "POST", path: "/create", body: {} })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Transient);
    expect(hits).toBe(1);
  });

  it("a POST answered 500 is NOT retried; a POST answered 429 is (the server refused it unprocessed)", async () => {
    handler = (_q, res) => json(res, 500, {});
    await expect(client().request({ method: "POST", path: "/c", body: {} })).rejects.toBeInstanceOf(Transient);
    expect(hits).toBe(1);
    hits = 0;
    handler = (_q, res, n) => (n === 1 ? json(res, 429, {}, { "Retry-After": "0" }) : json(res, 200, { id: "1" }));
    const r = await client().request<{ id: string }>({ method: "POST", path: "/c", body: {} });
    expect(r.body.id).toBe("1");
    expect(hits).toBe(2);
  });

  it("a POST to a refused connection is retried (provably not processed)", async () => {
    // A port nobody listens on: bind and close one.
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", () => r()));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise((r) => tmp.close(r));
    const c = client({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 2 });
    const e = await c.request({ method: "POST", path: "/c", body: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Transient);
    expect(c.stats()).toMatchObject({ calls: 3, retries: 2 });
  });

  it("bounds concurrency", async () => {
    let inFlight = 0;
    let peak = 0;
    handler = (_q, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        json(res, 200, {});
      }, 20);
    };
    const c = client({ concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, () => c.request({ method: "GET", path: "/x" })));
    expect(peak).toBe(3);
  });

  it("keeps connections alive (Node fetch / undici default): sequential calls reuse one socket", async () => {
    handler = (_q, res) => json(res, 200, {});
    const c = client();
    await c.request({ method: "GET", path: "/warm" });
    const before = sockets;
    for (let i = 0; i < 30; i++) await c.request({ method: "GET", path: "/x" });
    expect(sockets - before).toBe(0);
  });

  it("honours the calls-per-second rate limit (measured)", async () => {
    handler = (_q, res) => json(res, 200, {});
    const c = client({ rateLimit: { perSecond: 20, burst: 1 }, concurrency: 8 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 21 }, () => c.request({ method: "GET", path: "/x" })));
    const elapsed = Date.now() - t0;
    // 21 calls at 20/s with a burst of 1: the 21st may start no earlier than 1 s after the first.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
  });

  it("raises RateLimited with a clear message once the daily budget is used up, without calling", async () => {
    handler = (_q, res) => json(res, 200, {});
    const c = client({ rateLimit: { dailyBudget: 3 } });
    for (let i = 0; i < 3; i++) await c.request({ method: "GET", path: "/x" });
    const e = await c.request({ method: "GET", path: "/x" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimited);
    expect((e as Error).message).toMatch(/daily API budget of 3 calls is used up/);
    expect((e as RateLimited).retryAfterMs).toBeGreaterThan(0);
    expect(hits).toBe(3);
    expect(c.budgetLeft()).toBe(0);
  });

  it("the daily budget resets at midnight UTC", async () => {
    handler = (_q, res) => json(res, 200, {});
    let now = Date.parse("2026-03-01T23:59:59Z");
    const c = client({ rateLimit: { dailyBudget: 1 }, now: () => now });
    await c.request({ method: "GET", path: "/x" });
    await expect(c.request({ method: "GET", path: "/x" })).rejects.toBeInstanceOf(RateLimited);
    now = Date.parse("2026-03-02T00:00:01Z");
    await c.request({ method: "GET", path: "/x" });
  });

  it("never puts a credential in an error message, hint or log line, even when the server echoes it", async () => {
    logs.length = 0;
    handler = (req, res, n) => {
      const echoed = String(req.headers["x-api-key"]);
      if (n % 2 === 1) json(res, 503, { message: `bad key ${echoed}` }, { "X-Status-Reason": `key ${echoed} refused`, "Retry-After": "0" });
      else json(res, 400, { message: `bad key ${echoed}` }, { "X-Status-Reason": `key ${echoed} refused` });
    };
    const c = client({ logger });
    const e = await c.request({ method: "GET", path: `/x?k=${SECRET}` }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationRejected);
    const dump =
      JSON.stringify(e) +
      String((e as Error).message) +
      String((e as Error).stack) +
      JSON.stringify((e as ValidationRejected).toJSON()) +
      logs.join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(dump).not.toContain(SECRET);
    expect(dump).toContain("[redacted]");
  });

  it("redact() removes plain, base64 and URL-encoded forms", () => {
    const s = "abc:def/+ghij";
    const text = `a ${s} b ${Buffer.from(s).toString("base64")} c ${encodeURIComponent(s)}`;
    expect(redact(text, [s])).not.toContain(s);
    expect(redact(text, [s])).not.toContain(Buffer.from(s).toString("base64"));
    expect(redact(text, [s])).not.toContain(encodeURIComponent(s));
  });
});
