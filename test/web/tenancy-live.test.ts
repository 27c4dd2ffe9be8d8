/**
 * Registry mode against live systems: two tenants, each with its OWN pair of sandboxes, registered
 * with their own credentials. The console's connectors come from each integration's decrypted
 * secrets — process.env holds wrong values for the same variable names, and they are never used.
 * Tenant A's reviewer syncs A ("Sync now", inline): A's ERP gets customers, B's systems do not
 * change; A's reviewer asking to sync B gets 404 and B still does not change; a platform admin syncs B.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerIntegration } from "../../src/registry/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { createServer } from "../../src/server/index.ts";
import { type IntegrationSource, registrySource } from "../../src/server/served.ts";
import { connectSystems } from "../../src/server/systems.ts";
import { addConsoleUser, createApiToken } from "../../src/server/users.ts";
import type { Store } from "../../src/store/index.ts";
import { keyring, newKey, specNamed } from "../registry/fixtures.ts";
import { openTestStore } from "../support/store.ts";

const PASSWORD = "correct horse battery";
const VARS = ["ESPOCRM_URL", "ESPOCRM_API_KEY", "ERPNEXT_URL", "ERPNEXT_API_KEY", "ERPNEXT_API_SECRET"] as const;

function secretsOf(sb: Sandboxes): Record<string, string> {
  return {
    ESPOCRM_URL: sb.crm.url,
    ESPOCRM_API_KEY: sb.crm.apiKey,
    ERPNEXT_URL: sb.erp.url,
    ERPNEXT_API_KEY: sb.erp.apiKey,
    ERPNEXT_API_SECRET: sb.erp.apiSecret,
  };
}

async function erpCustomers(sb: Sandboxes): Promise<number> {
  const r = await fetch(`${sb.erp.url}/api/resource/Customer?limit_page_length=0&fields=${encodeURIComponent('["name"]')}`, {
    headers: { authorization: `token ${sb.erp.apiKey}:${sb.erp.apiSecret}` },
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { data: unknown[] }).data.length;
}

describe("registry mode on live sandboxes: each tenant's connectors from its own secrets", () => {
  let sbA: Sandboxes;
  let sbB: Sandboxes;
  let store: Store;
  let source: IntegrationSource;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    sbA = await startSandboxes({ accounts: 6, seed: 3, webhookDelayMs: 0 });
    sbB = await startSandboxes({ accounts: 6, seed: 4, webhookDelayMs: 0 });
    // The same variable names in the process environment, pointing nowhere useful: must never be used.
    for (const v of VARS) {
      saved[v] = process.env[v];
      process.env[v] = v.endsWith("URL") ? "http://127.0.0.1:9" : "wrong-value-from-process-env";
    }
    store = await openTestStore();
    const ring = keyring(`k1:${newKey()}`);
    await registerIntegration(store, { specText: specNamed("alpha-live"), tenant: "alpha", secrets: secretsOf(sbA), keyring: ring });
    await registerIntegration(store, { specText: specNamed("beta-live"), tenant: "beta", secrets: secretsOf(sbB), keyring: ring });
    for (const [name, role, tenant] of [
      ["arne", "reviewer", "alpha"],
      ["pat", "admin", null],
    ] as const) {
      await addConsoleUser(store, name, role, PASSWORD, tenant);
      tokens[name] = (await createApiToken(store, name, "test", null)).token;
    }
    source = registrySource(store, { keyring: ring, connect: (spec, env) => connectSystems(spec, env) });
    app = await createServer({ store, source });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await source?.close();
    await store?.close();
    await sbA?.close();
    await sbB?.close();
    for (const v of VARS) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });

  const post = (user: string, url: string, payload: Record<string, unknown>): Promise<LightMyRequestResponse> =>
    app.inject({ method: "POST", url, headers: { authorization: `Bearer ${tokens[user]}` }, payload });

  it("both integrations are live (built from their own secrets, not process.env)", async () => {
    const res = await app.inject({ method: "GET", url: "/api/integrations", headers: { authorization: `Bearer ${tokens.pat}` } });
    expect(res.json().integrations).toMatchObject([
      { name: "alpha-live", tenant: "alpha", live: true, problem: null },
      { name: "beta-live", tenant: "beta", live: true, problem: null },
    ]);
  });

  it("A's reviewer syncs A: A's ERP gets the customers, B's does not change; syncing B is 404 and changes nothing", async () => {
    const a0 = await erpCustomers(sbA);
    const b0 = await erpCustomers(sbB);
    const res = await post("arne", "/api/integrations/alpha-live/sync", { objects: ["customer"] });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { objects: { object: string; counts: { read: number; applied: number } }[] };
    expect(body.objects[0]?.counts.applied).toBeGreaterThan(0);
    expect(await erpCustomers(sbA)).toBeGreaterThan(a0);
    expect(await erpCustomers(sbB)).toBe(b0);
    const other = await post("arne", "/api/integrations/beta-live/sync", { objects: ["customer"] });
    expect(other.statusCode).toBe(404);
    expect(await erpCustomers(sbB)).toBe(b0);
    expect(await store.listRuns("beta-live")).toEqual([]);
  }, 60_000);

  it("a platform admin syncs B with B's own credentials", async () => {
    const b0 = await erpCustomers(sbB);
    const res = await post("pat", "/api/integrations/beta-live/sync", { objects: ["customer"] });
    expect(res.statusCode, res.body).toBe(200);
    expect(await erpCustomers(sbB)).toBeGreaterThan(b0);
  }, 60_000);
});
