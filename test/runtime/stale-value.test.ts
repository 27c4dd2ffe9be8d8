/**
 * The stale-value guard against the sandboxes: an ERPNext upgrade adds a new tax field and people
 * edit that one, while the old mapped field stays and keeps its old values — no drift (nothing
 * vanished), but the key field stops changing while its records keep changing → stale-value alert.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { DEFAULT_SETTINGS } from "../../src/monitor/settings.ts";
import { type Runtime, startRuntime } from "../../src/runtime/runtime.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = `
version: 1
name: stale
systems:
  crm: { type: espocrm, url: "\${S_CRM_URL}", credentials: { apiKey: "\${S_CRM_KEY}" } }
  erp:
    type: erpnext
    url: "\${S_ERP_URL}"
    credentials: { apiKey: "\${S_ERP_KEY}", apiSecret: "\${S_ERP_SECRET}" }
    options: { timezone: "__TZ__" }
owner: { name: O, email: o@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: realtime
    create: both
    conflict: last-updated-wins
    fields:
      - { crm: name, erp: customer_name, direction: both }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`;

let sb: Sandboxes;
let opened: OpenedContext;
let rt: Runtime;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 8, seed: 4, scope: "accounts" });
  const env = {
    S_CRM_URL: sb.crm.url,
    S_CRM_KEY: sb.crm.apiKey,
    S_ERP_URL: sb.erp.url,
    S_ERP_KEY: sb.erp.apiKey,
    S_ERP_SECRET: sb.erp.apiSecret,
  };
  opened = await openContext(loadSpec(SPEC.replace("__TZ__", sb.erp.timezone), "stale.yaml"), { env, store: await testStoreOptions() });
  rt = await startRuntime({
    ctx: opened.ctx,
    settings: { ...DEFAULT_SETTINGS, objects: { customer: { keyFields: [{ field: "tax_id", windowMs: 3000, minReads: 5 }] } } },
    http: false,
    pollMs: 60_000,
    healthEveryMs: 600_000,
    env,
  });
  await rt.idle();
}, 60_000);

afterAll(async () => {
  await rt?.stop();
  await opened?.close();
  await sb?.close();
});

describe("stale-value guard", () => {
  it("a key field that stops changing while its records keep changing raises stale-value (no drift finding)", async () => {
    await sleep(3200); // the go-live writes fall out of the 3 s window
    await post(`${sb.erp.url}/__sandbox/upgrade`, {
      doctype: "Customer",
      addField: { fieldname: "tax_id_v2", fieldtype: "Data", label: "Tax ID (new)" },
    });
    const links = (await opened.ctx.store.listLinks("stale", "customer")).filter((l) => l.erpId && l.crmId);
    for (let i = 0; i < 6; i++) {
      const l = links[i % links.length];
      await post(`${sb.erp.url}/__sandbox/edit`, {
        doctype: "Customer",
        name: l.erpId,
        values: { tax_id_v2: `NEW-${i}`, customer_name: `Stale ${i} GmbH` },
      });
      rt.enqueue("customer", "manual");
      await rt.idle();
    }
    const report = await rt.checkDrift();
    expect(report.findings.filter((f) => f.action !== "none")).toEqual([]); // nothing vanished: drift alone would not see it
    await rt.health.checkFreshness();
    const stale = ((await opened.ctx.store.listAlerts?.("stale", { status: "active" })) ?? []).find((a) => a.rule === "stale-value");
    expect(stale).toMatchObject({ object: "customer.tax_id", severity: "warning" });
    expect(stale?.message).toMatch(/key field tax_id of customer has not changed/);
  }, 60_000);
});
