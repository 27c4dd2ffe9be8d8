/**
 * `accord worker` after an authentication failure, as `accord run` does it (in one process, SQLite
 * queue, EspoCRM + ERPNext sandboxes, the integration registered with a WRONG ERP secret):
 *
 *  - after the first AuthError no request reaches the ERP but a probe every `probeEveryMs`, however
 *    many jobs of the integration arrive; one `auth` alert (one occurrence), `accord_system_paused` 1,
 *    no job failed towards the dead letters;
 *  - `accord integration set-secret` (the registry) with the right secret: the probe sees it, the
 *    gauge is 0, the alert resolved, and the deferred objects run `ok` with their records synced.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey, keyringFromEnv, registerIntegration, setSecret } from "../../src/registry/index.ts";
import { SqliteQueue } from "../../src/runtime/jobs/sqlite-queue.ts";
import { startWorker, type Worker, type WorkerRun } from "../../src/runtime/worker.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

type Rec = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROBE_MS = 400;

let sb: Sandboxes;
let store: Store;
const keyring = keyringFromEnv({ ACCORD_SECRET_KEY: generateKey() });
const runs: WorkerRun[] = [];
const lines: Array<{ level: string; msg: string }> = [];
let worker: Worker | undefined;
let queue: SqliteQueue;

const SPEC = (tz: string) => `version: 1
name: wa
systems:
  crm:
    type: espocrm
    url: "\${ESPOCRM_URL}"
    credentials: { apiKey: "\${ESPOCRM_API_KEY}" }
  erp:
    type: erpnext
    url: "\${ERPNEXT_URL}"
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Auth Test, email: wa@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    schedule: hourly
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp }
  product:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Item, identity: item_code }
    schedule: hourly
    create: link-only
    deletes: ignore
    fields:
      - { crm: name, erp: item_name, direction: erp->crm }
`;

async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Requests the ERP sandbox received so far (control calls included; each stats call counts itself). */
async function erpRequests(): Promise<number> {
  return ((await (await fetch(`${sb.erp.url}/__sandbox/stats`)).json()) as { requests: number }).requests;
}

async function dump(side: "crm" | "erp", what: string): Promise<Rec[]> {
  if (side === "crm") return sb.servers.crm.control.dump(what) as Rec[];
  return ((await (await fetch(`${sb.erp.url}/__sandbox/dump?doctype=${encodeURIComponent(what)}`)).json()) as { data: Rec[] }).data;
}

async function gauge(): Promise<string | undefined> {
  const text = await (await fetch(`${worker?.url}/metrics`)).text();
  return /^accord_system_paused\{integration="wa",system="erp"\} (\d+)$/m.exec(text)?.[1];
}

const authAlerts = async () => ((await store.listAlerts?.("wa")) ?? []).filter((a) => a.rule === "auth");

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  sb.servers.erp.seed({
    Customer: [0, 1, 2].map((k) => ({
      name: `Wa ${k}`,
      customer_name: `Wa ${k}`,
      customer_type: "Company",
      customer_group: "Commercial",
      territory: "Germany",
    })),
    Item: ["WA-A", "WA-B"].map((c) => ({ name: c, item_code: c, item_name: `Item ${c}`, item_group: "Products", stock_uom: "Nos" })),
  });
  sb.servers.crm.control.seed({
    Account: [0, 1, 2].map((k) => ({ name: `Wa ${k}`, cAccordId: `Wa ${k}`, type: "Customer", website: `https://wa-${k}.example.com` })),
    Product: ["WA-A", "WA-B"].map((c) => ({ name: `crm name ${c}`, cErpItemCode: c })),
  });
  store = await openStore({ file: ":memory:" });
  await registerIntegration(store, {
    specText: SPEC(sb.erp.timezone),
    tenant: "acme",
    keyring,
    secrets: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: "not-the-secret",
    },
  });
}, 30_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 1000 });
  await store?.close();
  await sb?.close();
});

describe.sequential("accord worker: an authentication failure pauses the system, as accord run does", () => {
  it("after the first AuthError only probes reach the ERP; one alert, gauge 1, nothing dead-lettered; set-secret resumes and the deferred objects sync", {
    timeout: 60_000,
  }, async () => {
    queue = new SqliteQueue({ store, leaseMs: 2000, pollMs: 50, retryDelayMs: 100, maxAttempts: 3 });
    const log = (level: string) => (_o: object, msg?: string) => lines.push({ level, msg: msg ?? "" });
    worker = await startWorker({
      store,
      queue,
      keyring,
      concurrency: 1,
      leaseMs: 2000,
      probeEveryMs: PROBE_MS,
      http: { port: 0 },
      onRun: (r) => runs.push(r),
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    });
    // the first AuthError (a start run, or the drift check before it)
    await until(
      "the first AuthError",
      15_000,
      async () => (await authAlerts()).length > 0 || runs.some((r) => /AuthError/.test(r.error ?? "")),
    );
    await sleep(100);
    const from = await erpRequests();
    // more jobs keep arriving while paused (schedules, manual runs, retries)
    for (let k = 0; k < 3; k++) {
      for (const object of ["customer", "product"])
        await queue.enqueue({ kind: "sync", integration: "wa", object, trigger: "manual", visibleAt: Date.now() });
      await sleep(PROBE_MS);
    }
    await sleep(4 * PROBE_MS);
    const to = await erpRequests();
    const window = 7 * PROBE_MS;
    const apiCalls = to - from - 1; // the second stats call counts itself
    // probes only: one per interval (and the first may fall just inside the window)
    expect(apiCalls).toBeGreaterThanOrEqual(3);
    expect(apiCalls).toBeLessThanOrEqual(Math.ceil(window / PROBE_MS) + 2);
    const jobs = await queue.listJobs({ integration: "wa" });
    expect(jobs.filter((j) => j.state === "dead")).toEqual([]);
    expect(jobs.filter((j) => j.state === "retry")).toEqual([]); // nothing counted as a failure to back off from
    expect(runs.filter((r) => r.status === "failed").length).toBeLessThanOrEqual(1); // only the run that met it first
    const alerts = await authAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].object).toBe("erp");
    expect(alerts[0].occurrences).toBe(1);
    expect(alerts[0].status).not.toBe("resolved");
    expect(await gauge()).toBe("1");
    expect(worker.pausedSystems("wa").erp).toBeTruthy();
    const said = lines.filter((l) => l.level === "error" && /set-secret/.test(l.msg));
    expect(said).toHaveLength(1);
    expect(said[0].msg).toMatch(/accord integration set-secret wa/);
    expect((await dump("erp", "Customer")).every((c) => !c.website)).toBe(true); // nothing synced meanwhile

    // the operator fixes the credentials in the registry
    const before = runs.length;
    await setSecret(store, "wa", "ERPNEXT_API_SECRET", sb.erp.apiSecret, keyring);
    await until("the probe to see the new secret", 5_000, async () => (await gauge()) === "0");
    expect(worker.pausedSystems("wa")).toEqual({});
    expect((await authAlerts()).map((a) => a.status)).toEqual(["resolved"]);
    expect(lines.some((l) => l.level === "info" && /accepts the credentials again/.test(l.msg))).toBe(true);
    // the deferred objects run
    await until("ok runs of both objects", 20_000, () =>
      ["customer", "product"].every((o) => runs.slice(before).some((r) => r.object === o && r.status === "ok")),
    );
    await until("records synced", 10_000, async () => {
      const customers = await dump("erp", "Customer");
      const products = await dump("crm", "Product");
      return (
        [0, 1, 2].every((k) => customers.find((c) => c.name === `Wa ${k}`)?.website === `https://wa-${k}.example.com`) &&
        ["WA-A", "WA-B"].every((c) => products.find((p) => p.cErpItemCode === c)?.name === `Item ${c}`)
      );
    });
    const after = await queue.listJobs({ integration: "wa" });
    expect(after.filter((j) => j.state === "dead")).toEqual([]);
    expect((await authAlerts()).length).toBe(1); // the same incident, resolved; none new
  });

  it("credentials revoked at the ERP later: the run that meets the AuthError pauses the system; restored at the ERP, the probe resumes it", {
    timeout: 60_000,
  }, async () => {
    const w = worker as Worker;
    const post = (path: string, body: unknown) =>
      fetch(`${sb.erp.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    await post("/__sandbox/users", { email: sb.erp.user, apiKey: sb.erp.apiKey, apiSecret: "revoked-secret" });
    const [acc] = (await dump("crm", "Account")).filter((a) => a.name === "Wa 1");
    await fetch(`${sb.crm.url}/__sandbox/act`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify({
        userId: sb.servers.crm.control.personUserId,
        op: "update",
        entity: "Account",
        id: acc.id,
        data: { website: "https://wa-1-while-revoked.example.com" },
      }),
    });
    const before = runs.length;
    for (const object of ["customer", "product"])
      await queue.enqueue({ kind: "sync", integration: "wa", object, trigger: "manual", visibleAt: Date.now() });
    await until("paused by a run", 15_000, () => !!w.pausedSystems("wa").erp);
    const failed = runs.slice(before).filter((r) => r.status === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/AuthError/);
    await sleep(100);
    const from = await erpRequests();
    await sleep(5 * PROBE_MS);
    const apiCalls = (await erpRequests()) - from - 1;
    expect(apiCalls).toBeGreaterThanOrEqual(3);
    expect(apiCalls).toBeLessThanOrEqual(7);
    expect(runs.slice(before).filter((r) => r.status === "failed")).toHaveLength(1);
    const open = (await authAlerts()).filter((a) => a.status !== "resolved");
    expect(open).toHaveLength(1);
    expect(open[0].occurrences).toBe(1);
    expect(await gauge()).toBe("1");
    expect((await queue.listJobs({ integration: "wa" })).filter((j) => j.state === "dead" || j.state === "retry")).toEqual([]);

    await post("/__sandbox/users", { email: sb.erp.user, apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret });
    await until("resumed", 5_000, async () => (await gauge()) === "0");
    await until("the change made meanwhile reaches the ERP", 20_000, async () =>
      (await dump("erp", "Customer")).some((c) => c.name === "Wa 1" && c.website === "https://wa-1-while-revoked.example.com"),
    );
    await until("ok runs of both deferred objects", 20_000, () =>
      ["customer", "product"].every((o) => runs.slice(before).some((r) => r.object === o && r.status === "ok")),
    );
    expect((await authAlerts()).filter((a) => a.status !== "resolved")).toEqual([]);
    expect((await queue.listJobs({ integration: "wa" })).filter((j) => j.state === "dead")).toEqual([]);
  });
});
