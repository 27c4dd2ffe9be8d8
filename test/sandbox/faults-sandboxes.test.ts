/**
 * Fault injection as a client of the sandboxes sees it: configured over each system's control
 * API, answered by the real request path (429 with Retry-After, proxy 502 pages, truncated JSON),
 * and switched off again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";

let sb: Sandboxes;
let crmHeaders: Record<string, string>;
let erpHeaders: Record<string, string>;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 40, seed: 2, scope: "accounts" });
  crmHeaders = { "X-Api-Key": sb.crm.apiKey };
  erpHeaders = { Authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}` };
});
afterAll(async () => {
  await sb?.close();
});

async function control(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("faults through the sandboxes' control APIs", () => {
  it("EspoCRM: every 2nd API request gets 429 with Retry-After, control requests are never faulted", async () => {
    const token = { "X-Sandbox-Token": sb.crm.apiKey };
    const set = await control(`${sb.crm.url}/__sandbox/faults`, { everyNth: 2, kinds: ["429"], retryAfterSec: 3 }, token);
    expect(set.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${sb.crm.url}/api/v1/Account?maxSize=1`, { headers: crmHeaders });
      statuses.push(r.status);
      if (r.status === 429) expect(r.headers.get("retry-after")).toBe("3");
      await r.arrayBuffer();
    }
    expect(statuses).toEqual([200, 429, 200, 429]);
    const stats = (await (await fetch(`${sb.crm.url}/__sandbox/faults`, { headers: token })).json()) as { byKind: Record<string, number> };
    expect(stats.byKind["429"]).toBe(2);
    await fetch(`${sb.crm.url}/__sandbox/faults`, { method: "DELETE", headers: token });
    expect((await fetch(`${sb.crm.url}/api/v1/Account?maxSize=1`, { headers: crmHeaders })).status).toBe(200);
  });

  it("ERPNext: a 502 proxy page, then a truncated body, then normal answers", async () => {
    const set = await control(`${sb.erp.url}/__sandbox/faults`, { kinds: ["502", "truncate"], forRequests: 2 });
    expect(set.status).toBe(200);
    const a = await fetch(`${sb.erp.url}/api/resource/Customer?limit_page_length=20`, { headers: erpHeaders });
    expect(a.status).toBe(502);
    expect(a.headers.get("content-type")).toContain("text/html");
    expect(await a.text()).toContain("502 Bad Gateway");
    const b = await fetch(`${sb.erp.url}/api/resource/Customer?limit_page_length=20`, { headers: erpHeaders });
    expect(b.status).toBe(200);
    await expect(b.json()).rejects.toThrow();
    const c = await fetch(`${sb.erp.url}/api/resource/Customer?limit_page_length=20`, { headers: erpHeaders });
    expect(c.status).toBe(200);
    expect(((await c.json()) as { data: unknown[] }).data).toHaveLength(20);
  });
});
