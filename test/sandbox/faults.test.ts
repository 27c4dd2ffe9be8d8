import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultConfigError, FaultInjector, parseFaultConfig } from "../../src/sandbox/common/faults.ts";

const injector = new FaultInjector();
const BODY = Buffer.from(JSON.stringify({ list: Array.from({ length: 50 }, (_, i) => ({ id: String(i), name: `Acme ${i}` })) }));
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const fault = injector.decide(req);
    if (fault && (await injector.apply(fault, req, res, BODY))) return;
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Raw GET that reports what really arrived, including short bodies and resets. */
function rawGet(
  path: string,
): Promise<{ status?: number; headers?: Record<string, string | string[] | undefined>; bytes: number; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, bytes }));
      res.on("error", (e) => resolve({ status: res.statusCode, headers: res.headers, bytes, error: e.message }));
      res.on("aborted", () => resolve({ status: res.statusCode, headers: res.headers, bytes, error: "aborted" }));
    });
    req.on("error", (e) => resolve({ bytes: 0, error: e.message }));
    req.end();
  });
}

describe("FaultInjector.decide", () => {
  it("no config: never faults", () => {
    const f = new FaultInjector();
    for (let i = 0; i < 100; i++) expect(f.decide()).toBeNull();
  });

  it("everyNth faults exactly the N-th requests and rotates kinds", () => {
    const f = new FaultInjector({ everyNth: 3, kinds: ["429", "503"] });
    const got = Array.from({ length: 12 }, () => f.decide()?.kind ?? null);
    expect(got).toEqual([null, null, "429", null, null, "503", null, null, "429", null, null, "503"]);
    expect(f.stats().byKind["429"]).toBe(2);
    expect(f.stats().byKind["503"]).toBe(2);
    expect(f.stats().requests).toBe(12);
  });

  it("rate is deterministic by seed and near the requested proportion", () => {
    const run = (seed: number) => {
      const f = new FaultInjector({ rate: 0.2, kinds: ["500"], seed });
      return Array.from({ length: 2000 }, () => (f.decide() ? 1 : 0));
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    const hits = a.reduce<number>((s, x) => s + x, 0);
    expect(hits).toBeGreaterThan(320);
    expect(hits).toBeLessThan(480);
  });

  it("schedule: afterRequests / forRequests bound the window", () => {
    const f = new FaultInjector({ kinds: ["502"], afterRequests: 5, forRequests: 3 });
    const got = Array.from({ length: 12 }, () => (f.decide() ? 1 : 0));
    expect(got).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]);
  });

  it("control paths are neither faulted nor counted; methods filter applies", () => {
    const f = new FaultInjector({ kinds: ["500"], methods: ["POST"] });
    expect(f.decide({ method: "POST", url: "/__sandbox/seed" })).toBeNull();
    expect(f.decide({ method: "GET", url: "/api/v1/Account" })).toBeNull();
    expect(f.decide({ method: "POST", url: "/api/v1/Account" })?.kind).toBe("500");
    expect(f.stats().requests).toBe(1);
  });

  it("configure resets counters; null clears", () => {
    const f = new FaultInjector({ everyNth: 1, kinds: ["drop"] });
    f.decide();
    expect(f.stats().injected).toBe(1);
    f.configure(null);
    expect(f.stats().injected).toBe(0);
    expect(f.decide()).toBeNull();
  });

  it("rejects invalid configs with a message naming the field", () => {
    expect(() => new FaultInjector({ kinds: [] })).toThrow(FaultConfigError);
    expect(() => parseFaultConfig({ kinds: ["404"] })).toThrow(/unknown kind "404"/);
    expect(() => parseFaultConfig({ kinds: ["429"], rate: 2 })).toThrow(/rate/);
    expect(parseFaultConfig({})).toBeNull();
    expect(parseFaultConfig({ kinds: ["slow"], slowMs: 10 })).toEqual({ kinds: ["slow"], slowMs: 10 });
  });
});

describe("FaultInjector.apply over real HTTP", () => {
  it("429 carries Retry-After in seconds", async () => {
    injector.configure({ everyNth: 1, kinds: ["429"], retryAfterSec: 7 });
    const r = await rawGet("/api/x");
    expect(r.status).toBe(429);
    expect(r.headers?.["retry-after"]).toBe("7");
  });

  it("500 / 502 / 503 answer with proxy-like non-JSON bodies", async () => {
    injector.configure({ everyNth: 1, kinds: ["500", "502", "503"] });
    const a = await fetch(`${base}/a`);
    expect(a.status).toBe(500);
    expect(await a.text()).toContain("Internal Server Error");
    const b = await fetch(`${base}/b`);
    expect(b.status).toBe(502);
    expect(b.headers.get("content-type")).toContain("text/html");
    expect(await b.text()).toContain("502 Bad Gateway");
    const c = await fetch(`${base}/c`);
    expect(c.status).toBe(503);
    expect(c.headers.get("retry-after")).toBe("1");
    await c.text();
    expect(injector.stats().injected).toBe(3);
  });

  it("slow delays then lets the server answer normally", async () => {
    injector.configure({ everyNth: 1, kinds: ["slow"], slowMs: 300 });
    const t0 = performance.now();
    const r = await fetch(`${base}/slow`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { list: unknown[] }).list).toHaveLength(50);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it("drop closes the connection without a response", async () => {
    injector.configure({ everyNth: 1, kinds: ["drop"] });
    const r = await rawGet("/drop");
    expect(r.status).toBeUndefined();
    expect(r.error).toBeTruthy();
    await expect(fetch(`${base}/drop2`)).rejects.toThrow();
  });

  it("truncate announces the full Content-Length but sends only half", async () => {
    injector.configure({ everyNth: 1, kinds: ["truncate"] });
    const r = await rawGet("/trunc");
    expect(r.status).toBe(200);
    expect(Number(r.headers?.["content-length"])).toBe(BODY.length);
    expect(r.bytes).toBe(Math.floor(BODY.length / 2));
    expect(r.error).toBeTruthy();
    // fetch sees a failure while reading the body
    await expect(fetch(`${base}/trunc2`).then((x) => x.json())).rejects.toThrow();
  });

  it("after the window, requests pass again", async () => {
    injector.configure({ kinds: ["503"], forRequests: 2 });
    expect((await fetch(`${base}/1`)).status).toBe(503);
    expect((await fetch(`${base}/2`)).status).toBe(503);
    expect((await fetch(`${base}/3`)).status).toBe(200);
  });
});
