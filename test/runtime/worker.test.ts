/**
 * The worker in one process on the SQLite store and the in-process queue, against an EspoCRM +
 * ERPNext sandbox pair, with the integration registered (credentials encrypted in the store):
 *
 *  - it runs with the integration's own secrets only: process.env pointing elsewhere changes nothing;
 *  - a run that takes the (integration, object) lease over from a dead holder marks its run abandoned;
 *  - a signed webhook delivery becomes a targeted run of the touched record (re-verified with the
 *    integration's own webhook secret); a badly signed one is refused and never runs anything;
 *  - tier schedules are registered once per key however often the worker starts.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey, keyringFromEnv, registerIntegration } from "../../src/registry/index.ts";
import { SqliteQueue } from "../../src/runtime/jobs/sqlite-queue.ts";
import { startWorker, type Worker, type WorkerRun } from "../../src/runtime/worker.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

type Rec = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WEBHOOK_SECRET = "whsec-test-123";

let sb: Sandboxes;
let store: Store;
const keyring = keyringFromEnv({ ACCORD_SECRET_KEY: generateKey() });
const runs: WorkerRun[] = [];
let worker: Worker | undefined;
let queue: SqliteQueue;
const savedEnv = { ...process.env };

function spec(tz: string): string {
  return `version: 1
name: wk
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
owner: { name: Worker Test, email: wk@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    schedule: realtime
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp }
`;
}

async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function erpCustomer(name: string): Promise<Rec | undefined> {
  const res = await fetch(`${sb.erp.url}/__sandbox/dump?doctype=Customer`);
  return ((await res.json()) as { data: Rec[] }).data.find((c) => c.name === name);
}

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  sb.servers.erp.seed({
    Customer: [0, 1, 2].map((k) => ({
      name: `Wk ${k}`,
      customer_name: `Wk ${k}`,
      customer_type: "Company",
      customer_group: "Commercial",
      territory: "Germany",
    })),
  });
  sb.servers.crm.control.seed({ Account: [0, 1, 2].map((k) => ({ name: `Wk ${k}`, cAccordId: `Wk ${k}`, type: "Customer" })) });
  store = await openStore({ file: ":memory:" });
  await registerIntegration(store, {
    specText: spec(sb.erp.timezone),
    tenant: "acme",
    keyring,
    secrets: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
      ACCORD_WEBHOOK_SECRETS_CRM: WEBHOOK_SECRET,
    },
  });
  // The platform's environment points somewhere else: the worker must not use it.
  process.env.ESPOCRM_URL = "http://127.0.0.1:9/not-this-one";
  process.env.ERPNEXT_URL = "http://127.0.0.1:9/not-this-one";
  process.env.ESPOCRM_API_KEY = "platform-secret";
}, 30_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 1000 });
  await store?.close();
  await sb?.close();
  for (const k of ["ESPOCRM_URL", "ERPNEXT_URL", "ESPOCRM_API_KEY"]) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe.sequential("accord worker (in-process, SQLite)", () => {
  it("takes over a dead holder's lease, marks its run abandoned, and runs with the integration's own secrets", async () => {
    // A worker that died mid-run: its run row still says running, its lease ran out.
    const dead = await store.startRun("wk", "customer", "sync");
    await store.acquireLock?.("wk#customer", "deadhost:1:job", 1);
    await sleep(10);
    queue = new SqliteQueue({ store, leaseMs: 2000, pollMs: 50, retryDelayMs: 200 });
    worker = await startWorker({ store, queue, keyring, concurrency: 2, leaseMs: 2000, driftEveryMs: 500, onRun: (r) => runs.push(r) });
    await until("the start run", 15_000, () => runs.some((r) => r.object === "customer" && r.trigger === "start"));
    const start = runs.find((r) => r.trigger === "start");
    expect(start?.status, start?.error).toBe("ok");
    expect(start?.counts?.read).toBeGreaterThanOrEqual(3);
    const [after] = (await store.listRuns("wk", { object: "customer", limit: 50 })).filter((r) => r.id === dead.id);
    expect(after.status).toBe("abandoned");
    expect(after.error).toMatch(/deadhost:1:job/);
    expect((await store.getLock?.("wk#customer"))?.holder ?? "released").toBe("released");
  });

  it("turns a signed webhook delivery into a targeted run of the touched record; a bad signature runs nothing", async () => {
    const [acc] = (sb.servers.crm.control.dump("Account") as Rec[]).filter((a) => a.name === "Wk 1");
    await fetch(`${sb.crm.url}/__sandbox/act`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify({
        userId: sb.servers.crm.control.personUserId,
        op: "update",
        entity: "Account",
        id: acc.id,
        data: { website: "https://wk-1.example.com" },
      }),
    });
    const body = JSON.stringify([{ id: acc.id, name: "Wk 1" }]);
    const sign = (secret: string) => Buffer.from(`wh1:${createHmac("sha256", secret).update(body).digest("hex")}`).toString("base64");
    const before = runs.length;
    await queue.enqueue({
      kind: "webhook",
      integration: "wk",
      side: "crm",
      body,
      headers: { signature: sign("wrong-secret") },
      url: "/webhooks/crm?event=Account.update",
      receivedAt: Date.now(),
    });
    await queue.enqueue({
      kind: "webhook",
      integration: "wk",
      side: "crm",
      body,
      headers: { signature: sign(WEBHOOK_SECRET) },
      url: "/webhooks/crm?event=Account.update",
      receivedAt: Date.now(),
    });
    await until("a targeted run", 15_000, () => runs.slice(before).some((r) => r.trigger === "webhook"));
    const targeted = runs.slice(before).filter((r) => r.trigger === "webhook");
    expect(targeted.length).toBe(1);
    expect(targeted[0].targeted).toEqual({ crm: 1, erp: 0 });
    expect(targeted[0].counts?.read).toBe(1);
    expect((await erpCustomer("Wk 1"))?.website).toBe("https://wk-1.example.com");
    const jobs = await queue.listJobs({ integration: "wk" });
    const hooks = jobs.filter((j) => j.job.kind === "webhook");
    expect(hooks.map((j) => j.state).sort()).toEqual(["completed", "retry"]); // the bad signature fails (and would end dead)
    expect(hooks.find((j) => j.state === "retry")?.error ?? "").toMatch(/signature/i);
  });

  it("a run that loses its (integration, object) lease stops at its next page", { timeout: 60_000 }, async () => {
    // enough records that the run cannot finish before the theft is noticed (a fast engine read 600 first under CI load)
    const BULK = 3000;
    sb.servers.crm.control.seed({ Account: Array.from({ length: BULK }, (_, k) => ({ name: `Wk Bulk ${k}`, type: "Customer" })) });
    const before = runs.length;
    await queue.enqueue({ kind: "sync", integration: "wk", object: "customer", trigger: "manual" });
    await until(
      "the bulk run to start",
      10_000,
      async () => (await store.listRuns("wk", { object: "customer", limit: 1 }))[0]?.status === "running",
    );
    // another holder takes the lease (as if this worker had stalled past it)
    const db = (store as unknown as { kysely: import("kysely").Kysely<Record<string, Record<string, unknown>>> }).kysely;
    await db
      .updateTable("runtime_locks")
      .set({ holder: "thief:1:x", expires_at: new Date(Date.now() + 60_000).toISOString() })
      .where("integration", "=", "wk#customer")
      .execute();
    try {
      await until("the run to stop", 20_000, () => runs.slice(before).some((r) => r.status === "failed"));
      const stopped = runs.slice(before).find((r) => r.status === "failed");
      expect(stopped?.error).toMatch(/lost the run lease of wk#customer/);
      const [row] = await store.listRuns("wk", { object: "customer", limit: 1 });
      expect(row.status).toBe("failed");
      expect(row.counts.read).toBeLessThan(BULK); // it stopped before reading everything
      expect(row.counts.read).toBe(row.counts.applied + row.counts.unchanged + row.counts.held + row.counts.quarantined);
    } finally {
      // give the lease back whatever happened, so the next tests' runs are not locked out for a minute
      await db.deleteFrom("runtime_locks").where("integration", "=", "wk#customer").execute();
    }
    // the job is retried (backoff) and finishes the work
    await until("a later ok run", 35_000, () => runs.slice(before).some((r) => r.status === "ok" && r.object === "customer"));
  });

  it("registers each object's tier schedules once, however often a worker starts", async () => {
    const again = await startWorker({ store, queue: new SqliteQueue({ store, pollMs: 50 }), keyring, concurrency: 1, runAtStart: false });
    const keys = (q: SqliteQueue) => q.listSchedules("wk/").map((s) => `${s.key} ${s.cron}`);
    expect(keys(queue)).toEqual(["wk/customer * * * * *", "wk/customer/reconcile 30 * * * *"]);
    expect(keys(again.queue as SqliteQueue)).toEqual(keys(queue));
    await again.stop({ graceMs: 0 });
  });

  it("checks schema drift with the integration's own credentials: a renamed ERP field pauses its mapping and alerts, the rest syncs", {
    timeout: 30_000,
  }, async () => {
    const res = await fetch(`${sb.erp.url}/__sandbox/upgrade`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ doctype: "Customer", renameField: { from: "website", to: "website_url" } }),
    });
    expect(res.ok).toBe(true);
    await sleep(600); // past driftEveryMs
    const before = runs.length;
    const [acc] = (sb.servers.crm.control.dump("Account") as Rec[]).filter((a) => a.name === "Wk 2");
    await fetch(`${sb.crm.url}/__sandbox/act`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify({
        userId: sb.servers.crm.control.personUserId,
        op: "update",
        entity: "Account",
        id: acc.id,
        data: { name: "Wk 2 Renamed", website: "https://wk-2.example.com" },
      }),
    });
    await queue.enqueue({ kind: "sync", integration: "wk", object: "customer", trigger: "manual" });
    await until("a run after the upgrade", 20_000, () => runs.slice(before).some((r) => r.object === "customer"));
    const run = runs.slice(before).find((r) => r.object === "customer");
    expect(run?.status, run?.error).toBe("ok");
    const alerts = (await store.listAlerts?.("wk", { status: "active" })) ?? [];
    expect(alerts.map((a) => `${a.rule} ${a.object}`)).toContain("schema-drift customer");
    expect(alerts.find((a) => a.rule === "schema-drift")?.message).toMatch(/website/);
    const cust = await erpCustomer("Wk 2");
    expect(cust?.customer_name).toBe("Wk 2 Renamed"); // the rest keeps syncing
    expect(cust?.website ?? null).toBeNull(); // the paused mapping wrote nothing, under either name
    expect(cust?.website_url ?? null).toBeNull();
  });
});
