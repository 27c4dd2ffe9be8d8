/**
 * Registry mode end to end: `accord server` (no FILE) receives the systems' webhooks for a
 * registered integration, verifies them with the integration's own secrets and queues them; a
 * worker turns each into a targeted run. The subscriptions are made in both sandboxes with
 * `accord webhooks`' module, pointing at the server's /webhooks/INTEGRATION route, and their
 * secrets registered with the integration (as `accord integration set-secret` does).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey, keyringFromEnv, registerIntegration, setSecret, WEBHOOK_SECRET_VARS } from "../../src/registry/index.ts";
import { SqliteQueue } from "../../src/runtime/jobs/sqlite-queue.ts";
import { applySubscriptions } from "../../src/runtime/subscriptions.ts";
import { startWorker, type Worker, type WorkerRun } from "../../src/runtime/worker.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { startConsole } from "../../src/server/app.ts";
import { registrySource } from "../../src/server/served.ts";
import { connectSystems } from "../../src/server/systems.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { openStore, type Store } from "../../src/store/index.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyring = keyringFromEnv({ ACCORD_SECRET_KEY: generateKey() });

function specText(tz: string): string {
  return `version: 1
name: sw
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp: { type: erpnext, url: "\${ERPNEXT_URL}", credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }, options: { timezone: ${tz} } }
owner: { name: Ops, email: ops@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    schedule: realtime
    conflict: last-updated-wins
    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`;
}

let sb: Sandboxes;
let store: Store;
let queue: SqliteQueue;
let worker: Worker | undefined;
let server: { url: string; close(): Promise<void> };
let source: ReturnType<typeof registrySource>;
const runs: WorkerRun[] = [];

async function until(what: string, ms: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 4, seed: 3, scope: "accounts", webhookDelayMs: 20 });
  store = await openStore({ file: ":memory:" });
  const secrets = {
    ESPOCRM_URL: sb.crm.url,
    ESPOCRM_API_KEY: sb.crm.apiKey,
    ERPNEXT_URL: sb.erp.url,
    ERPNEXT_API_KEY: sb.erp.apiKey,
    ERPNEXT_API_SECRET: sb.erp.apiSecret,
  };
  await registerIntegration(store, { specText: specText(sb.erp.timezone), tenant: "acme", keyring, secrets });
  queue = new SqliteQueue({ store, leaseMs: 2000, pollMs: 50, retryDelayMs: 200 });
  source = registrySource(store, { keyring, connect: (spec, env) => connectSystems(spec, env) });
  server = await startConsole({ store, source, queue, port: 0 });
  // the subscriptions, made through the integration's own connectors, pointing at the server
  const spec = loadSpec(specText(sb.erp.timezone), "sw.yaml");
  const systems = await connectSystems(spec, secrets);
  try {
    const r = await applySubscriptions(spec, systems, `${server.url}/webhooks/sw`);
    expect(r.failed).toEqual([]);
    for (const side of ["crm", "erp"] as const) await setSecret(store, "sw", WEBHOOK_SECRET_VARS[side], (r.secrets[side] ?? []).join(","), keyring);
  } finally {
    await systems.crm.close();
    await systems.erp.close();
  }
  worker = await startWorker({ store, queue, keyring, concurrency: 2, leaseMs: 2000, driftEveryMs: 0, http: { port: 0 }, onRun: (r) => runs.push(r) });
  await until("the start run", 20_000, () => runs.some((r) => r.trigger === "start" && r.status === "ok"));
}, 60_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 1000 });
  await server?.close();
  await source?.close();
  await store?.close();
  await sb?.close();
});

describe("webhooks through accord server reach a worker's run", () => {
  it("a person's edit in either system arrives by webhook: server verifies and queues, the worker runs it targeted", async () => {
    const [link] = (await store.listLinks("sw", "customer")).filter((l) => l.crmId && l.erpId);
    expect(link).toBeDefined();
    const before = runs.length;
    await fetch(`${sb.crm.url}/__sandbox/act`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify({ op: "update", entity: "Account", id: link.crmId, data: { name: "Through The Server Oy" } }),
    });
    const erpName = async () => {
      const res = await fetch(`${sb.erp.url}/__sandbox/dump?doctype=Customer`);
      return ((await res.json()) as { data: Array<Record<string, unknown>> }).data.find((d) => d.name === link.erpId)?.customer_name;
    };
    await until("the CRM edit in the ERP", 10_000, async () => (await erpName()) === "Through The Server Oy").catch(async (e) => {
      console.log("JOBS", JSON.stringify((await queue.listJobs({})).map((j) => [j.job.kind, j.state, j.error, (j.job as { trigger?: string }).trigger])));
      console.log("RUNS", JSON.stringify(runs.map((r) => [r.trigger, r.status, r.error])));
      const log = await fetch(`${sb.crm.url}/__sandbox/webhooks`, { headers: { "X-Sandbox-Token": sb.crm.apiKey } }).then((r) => r.text()).catch(() => "");
      console.log("CRM HOOK LOG", log.slice(0, 1500));
      throw e;
    });
    expect(runs.slice(before).some((r) => r.trigger === "webhook" && r.status === "ok")).toBe(true);
    // no job failed re-verifying a delivery the server had accepted
    const failed = (await queue.listJobs({ state: "failed" })).concat(await queue.listJobs({ state: "dead" }));
    expect(failed.filter((j) => j.job.kind === "webhook")).toEqual([]);

    const mark = runs.length;
    await fetch(`${sb.erp.url}/__sandbox/edit`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ doctype: "Customer", name: link.erpId, values: { tax_id: "FI-1234" } }),
    });
    const crmSic = async () => {
      const res = await fetch(`${sb.crm.apiUrl}/Account/${link.crmId}`, { headers: { "X-Api-Key": sb.crm.apiKey } });
      return ((await res.json()) as Record<string, unknown>).sicCode;
    };
    await until("the ERP edit in the CRM", 10_000, async () => (await crmSic()) === "FI-1234");
    expect(runs.slice(mark).some((r) => r.trigger === "webhook" && r.status === "ok")).toBe(true);
  }, 60_000);

  it("the worker serves /metrics (every integration it ran, by trigger) and /health (its last runs)", async () => {
    const url = worker?.url as string;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/accord_runs_total\{integration="sw",object="customer",trigger="webhook",status="ok"\} [1-9]/);
    expect(metrics).toMatch(/accord_api_calls_total\{integration="sw",system="erp"\} [1-9]/);
    expect(metrics).toMatch(/accord_freshness_seconds\{integration="sw",object="customer"\}/);
    const health = (await (await fetch(`${url}/health`)).json()) as { queue: string; lastRuns: Record<string, { status: string }> };
    expect(health.queue).toBe("sqlite");
    expect(health.lastRuns["sw/customer"]?.status).toBe("ok");
  });
});
