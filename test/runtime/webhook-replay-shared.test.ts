/**
 * Several `accord server` processes behind a load balancer share one store: a signed webhook
 * delivery accepted by one process (202) and captured and replayed to ANOTHER is refused there as a
 * replay (409), because the replay guard keeps its keys in the store (migration 0006), not in each
 * process's memory. Unsigned and forged calls stay 401 on both. Two apps built as `accord server`
 * builds them in registry mode (createServer with a registry source and a queue), one store between
 * them. On SQLite, and on PostgreSQL with ACCORD_TEST_STORE=postgres.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerIntegration } from "../../src/registry/index.ts";
import type { Job, JobQueue } from "../../src/runtime/jobs/types.ts";
import { signatureHeaders } from "../../src/sandbox/espocrm/webhooks.ts";
import { createServer } from "../../src/server/index.ts";
import { registrySource } from "../../src/server/served.ts";
import { connectSystems } from "../../src/server/systems.ts";
import type { Store } from "../../src/store/index.ts";
import { keyring, newKey, secretsFor, specNamed } from "../registry/fixtures.ts";
import { openTestStore, testStoreKind } from "../support/store.ts";

const WEBHOOK_SECRET = "shared-replay-crm-webhook-secret";
const URL_CRM = "/webhooks/replay-sync/crm?event=Account.update";

class FakeQueue implements JobQueue {
  readonly backend = "sqlite" as const;
  readonly jobs: Job[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async enqueue(job: Job): Promise<string> {
    this.jobs.push(job);
    return `job-${this.jobs.length}`;
  }
  async work(): Promise<void> {}
  async setSchedules(): Promise<void> {}
  async listJobs() {
    return [];
  }
}

describe(`webhook replay across accord server processes [${testStoreKind()}]`, () => {
  let store: Store;
  const apps: FastifyInstance[] = [];
  const sources: Array<{ close(): Promise<void> }> = [];
  const queues = [new FakeQueue(), new FakeQueue()];

  beforeAll(async () => {
    store = await openTestStore();
    const ring = keyring(`k1:${newKey()}`);
    await registerIntegration(store, {
      specText: specNamed("replay-sync"),
      tenant: "acme",
      secrets: { ...secretsFor("r"), ACCORD_WEBHOOK_SECRETS_CRM: WEBHOOK_SECRET },
      keyring: ring,
    });
    // two server processes: each its own source, queue client and replay guard; one database
    for (const queue of queues) {
      const source = registrySource(store, { keyring: ring, connect: (spec, env) => connectSystems(spec, env) });
      sources.push(source);
      apps.push(await createServer({ store, source, queue }));
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const s of sources) await s.close();
    await store?.close();
  });

  const post = (app: FastifyInstance, body: string, headers: Record<string, string>) =>
    app.inject({ method: "POST", url: URL_CRM, headers: { "content-type": "application/json", ...headers }, payload: body });

  it("a delivery accepted by the first process (202) and replayed to the second is refused (409) and not queued", async () => {
    const [first, second] = apps;
    const body = JSON.stringify([{ id: "A1", name: "Acme" }]);
    const signed = signatureHeaders("wh1", WEBHOOK_SECRET, body);
    const ok = await post(first, body, signed);
    expect(ok.statusCode, ok.body).toBe(202);
    expect(queues[0].jobs).toHaveLength(1);

    const replayed = await post(second, body, signed);
    expect(replayed.statusCode, replayed.body).toBe(409);
    expect(replayed.json()).toMatchObject({ error: { class: "replay" } });
    expect(queues[1].jobs).toHaveLength(0);
    // and back to the first one: still a replay
    expect((await post(first, body, signed)).statusCode).toBe(409);
    expect(queues[0].jobs).toHaveLength(1);
  });

  it("a new delivery is accepted by either process; unsigned and forged calls are 401 on both", async () => {
    const [first, second] = apps;
    const body = JSON.stringify([{ id: "A2", name: "Beta" }]);
    for (const app of apps) {
      expect((await post(app, body, {})).statusCode).toBe(401);
      expect((await post(app, body, signatureHeaders("wh1", "not-the-secret", body))).statusCode).toBe(401);
    }
    expect((await post(second, body, signatureHeaders("wh1", WEBHOOK_SECRET, body))).statusCode).toBe(202);
    expect((await post(first, body, signatureHeaders("wh1", WEBHOOK_SECRET, body))).statusCode).toBe(409);
  });

  it("the same delivery sent to both processes at once is queued by exactly one", async () => {
    const body = JSON.stringify([{ id: "A3", name: "Gamma" }]);
    const signed = signatureHeaders("wh1", WEBHOOK_SECRET, body);
    const before = queues[0].jobs.length + queues[1].jobs.length;
    const codes = (await Promise.all(apps.map((app) => post(app, body, signed)))).map((r) => r.statusCode).sort();
    expect(codes).toEqual([202, 409]);
    expect(queues[0].jobs.length + queues[1].jobs.length).toBe(before + 1);
  });

  it("the store keeps a digest of the delivery, never the signature or the secret", async () => {
    const kysely = (
      store as unknown as { kysely: { selectFrom(t: string): { selectAll(): { execute(): Promise<Array<Record<string, unknown>>> } } } }
    ).kysely;
    const rows = await kysely.selectFrom("webhook_deliveries").selectAll().execute();
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(WEBHOOK_SECRET);
    for (const body of ['[{"id":"A1","name":"Acme"}]']) {
      const h = signatureHeaders("wh1", WEBHOOK_SECRET, body);
      expect(text).not.toContain(h.Signature);
      expect(text).not.toContain(h["X-Signature"]);
    }
    for (const r of rows) expect(String(r.delivery_key)).toMatch(/^[0-9a-f]{64}$/);
  });
});
