/**
 * `accord webhooks register` end to end: the subscriptions are created in both sandboxes through
 * their APIs for the realtime object, a change made by a person in either system reaches the other
 * through them (polling is set far beyond the test, so only a webhook can carry it), registering
 * again changes nothing, and remove leaves no subscription behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { DEFAULT_SETTINGS } from "../../src/monitor/settings.ts";
import { type Runtime, startRuntime } from "../../src/runtime/runtime.ts";
import { applySubscriptions, planSubscriptions, wantedSubscriptions } from "../../src/runtime/subscriptions.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { connectSystems } from "../../src/server/systems.ts";
import type { Systems } from "../../src/server/views.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = `
version: 1
name: hooks
systems:
  crm: { type: espocrm, url: "\${H_CRM_URL}", credentials: { apiKey: "\${H_CRM_KEY}" } }
  erp: { type: erpnext, url: "\${H_ERP_URL}", credentials: { apiKey: "\${H_ERP_KEY}", apiSecret: "\${H_ERP_SECRET}" }, options: { timezone: "__TZ__" } }
owner: { name: Erin Owner, email: erin@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: realtime
    create: both
    conflict: last-updated-wins
    deletes: flag
    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`;

let sb: Sandboxes;
let opened: OpenedContext;
let rt: Runtime;
let systems: Systems;
let env: Record<string, string>;
const secrets: { crm: string[]; erp: string[] } = { crm: [], erp: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 6, seed: 11, scope: "accounts", webhookDelayMs: 20 });
  env = {
    H_CRM_URL: sb.crm.url,
    H_CRM_KEY: sb.crm.apiKey,
    H_ERP_URL: sb.erp.url,
    H_ERP_KEY: sb.erp.apiKey,
    H_ERP_SECRET: sb.erp.apiSecret,
  };
  const spec = loadSpec(SPEC.replace("__TZ__", sb.erp.timezone), "hooks.yaml");
  opened = await openContext(spec, { env, store: await testStoreOptions() });
  systems = await connectSystems(spec, env);
  rt = await startRuntime({
    ctx: opened.ctx,
    settings: { ...DEFAULT_SETTINGS, objects: {} },
    pollMs: 60_000, // far beyond the test: only a webhook can bring a change in time
    http: { port: 0 },
    webhookSecrets: secrets,
    coalesceMs: 20,
    driftEveryMs: 600_000,
    healthEveryMs: 600_000,
    probeEveryMs: 600_000,
    env,
  });
  await rt.idle();
}, 60_000);

afterAll(async () => {
  await rt?.stop();
  await systems?.crm.close();
  await systems?.erp.close();
  await opened?.close();
  await sb?.close();
});

describe("accord webhooks: subscriptions in both systems", () => {
  it("plans create, update and delete on both sides of the realtime object; creates them; both directions then arrive by webhook", async () => {
    expect(wantedSubscriptions(opened.ctx.spec).map((w) => `${w.side} ${w.entity} ${w.event}`)).toEqual([
      "crm Account create",
      "crm Account update",
      "crm Account delete",
      "erp Customer create",
      "erp Customer update",
      "erp Customer delete",
    ]);
    const endpoint = `${rt.url}/webhooks`;
    const { plan } = await planSubscriptions(opened.ctx.spec, systems, endpoint);
    expect(plan.steps.map((s) => s.action)).toEqual(Array(6).fill("create"));

    const r = await applySubscriptions(opened.ctx.spec, systems, endpoint);
    expect(r.failed).toEqual([]);
    expect(r.secrets.crm).toHaveLength(3); // EspoCRM: one secret per subscription
    expect(r.secrets.erp).toHaveLength(1); // ERPNext: the one Accord chose
    secrets.crm.push(...(r.secrets.crm ?? []));
    secrets.erp.push(...(r.secrets.erp ?? []));
    const held = await systems.crm.listWebhookSubscriptions?.();
    expect(held?.filter((s) => s.url.startsWith(`${endpoint}/crm?event=Account.`))).toHaveLength(3);

    const [link] = (await opened.ctx.store.listLinks("hooks", "customer")).filter((l) => l.crmId && l.erpId);
    expect(link).toBeDefined();
    // a person renames the account in the CRM → the ERP customer follows, by webhook
    await post(
      `${sb.crm.url}/__sandbox/act`,
      { op: "update", entity: "Account", id: link.crmId, data: { name: "Hooked Account Oy" } },
      {
        "X-Sandbox-Token": sb.crm.apiKey,
      },
    );
    await until(
      "CRM change in the ERP",
      async () => (await systems.erp.readByIds("Customer", [link.erpId as string]))[0]?.values.customer_name === "Hooked Account Oy",
    );
    // a person sets the tax id in the ERP → the CRM account follows (on_change covers saves)
    await post(`${sb.erp.url}/__sandbox/edit`, { doctype: "Customer", name: link.erpId, values: { tax_id: "FI-778" } });
    await until(
      "ERP change in the CRM",
      async () => (await systems.crm.readByIds("Account", [link.crmId as string]))[0]?.values.sicCode === "FI-778",
    );
  }, 60_000);

  it("registering again keeps everything (with the secrets configured); remove leaves nothing pointing at the endpoint", async () => {
    const endpoint = `${rt.url}/webhooks`;
    const again = await applySubscriptions(opened.ctx.spec, systems, endpoint, { knownSecrets: secrets });
    expect(again.steps.map((s) => s.action)).toEqual(Array(6).fill("keep"));
    expect(new Set(again.secrets.crm)).toEqual(new Set(secrets.crm));
    // without the ERP secret configured, ERPNext's subscriptions must be made again (their secret cannot be read back)
    const { plan } = await planSubscriptions(opened.ctx.spec, systems, endpoint, { knownSecrets: { crm: secrets.crm } });
    expect(plan.steps.filter((s) => s.side === "erp").map((s) => s.action)).toEqual(["recreate", "recreate", "recreate"]);

    const gone = await applySubscriptions(opened.ctx.spec, systems, endpoint, { remove: true });
    expect(gone.failed).toEqual([]);
    expect(gone.steps).toHaveLength(6);
    // ERPNext keeps a Webhook that has request logs: disabled, it delivers nothing
    for (const side of ["crm", "erp"] as const)
      expect(
        (await systems[side].listWebhookSubscriptions?.())?.filter((s) => s.active && s.url.startsWith(`${endpoint}/${side}`)),
      ).toEqual([]);
    const plan2 = await planSubscriptions(opened.ctx.spec, systems, endpoint);
    expect(plan2.plan.steps.map((s) => s.action)).toEqual(Array(6).fill("create"));
  }, 60_000);
});
