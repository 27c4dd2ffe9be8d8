/**
 * Found by the crash test: ERPNext's v1 single-document answers omit null fields, so an ERP
 * customer with no website "did not return" the field, the engine skipped it as absent, and
 *  - a CRM edit of the CRM-mastered website never reached that customer (a lost update), and
 *  - a CRM edit of the ERP-mastered tax id was never reverted to the ERP's empty value.
 * The connector now returns the doctype's null fields as null; these tests fail without that.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = (tz: string) => `
version: 1
name: nulls
systems:
  crm: { type: espocrm, url: "\${C_URL}", credentials: { apiKey: "\${C_KEY}" } }
  erp:
    type: erpnext
    url: "\${E_URL}"
    credentials: { apiKey: "\${E_KEY}", apiSecret: "\${E_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Test, email: t@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp, onMasterEdit: revert }
      - { crm: sicCode, erp: tax_id, direction: erp->crm, onMasterEdit: revert }
`;

let sb: Sandboxes;
let opened: OpenedContext;
let accountId: string;
const NAME = "Nullfield Trading GmbH";

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  sb.servers.erp.seed({
    Customer: [
      {
        name: NAME,
        customer_name: NAME,
        customer_type: "Company",
        customer_group: "Commercial",
        territory: "Germany",
        website: null,
        tax_id: null,
      },
    ],
  });
  [accountId] = sb.servers.crm.control.seed({ Account: [{ name: NAME, cAccordId: NAME }] }).Account;
  opened = await openContext(loadSpec(SPEC(sb.erp.timezone), "nulls.yaml"), {
    env: { C_URL: sb.crm.url, C_KEY: sb.crm.apiKey, E_URL: sb.erp.url, E_KEY: sb.erp.apiKey, E_SECRET: sb.erp.apiSecret },
    store: await testStoreOptions(),
  });
});

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

const person = (data: Record<string, unknown>) =>
  sb.servers.crm.control.actAs(sb.servers.crm.control.personUserId, "update", "Account", accountId, data);

describe("ERP fields that are null", () => {
  it("are returned as null by a single-document read, not left out", async () => {
    const [c] = await opened.ctx.erp.readByIds("Customer", [NAME]);
    expect(c.values).toHaveProperty("website", null);
    expect(c.values).toHaveProperty("tax_id", null);
  });

  it("receive the CRM master's edit, and the ERP master's empty value reverts a CRM edit", async () => {
    const { ctx } = opened;
    await runSync(ctx); // links the pair by the shared id
    person({ website: "https://nullfield.example.com", sicCode: "NOT-THE-ERP-VALUE" });
    const r = await runSync(ctx);
    expect(r.totals.read).toBe(r.totals.applied + r.totals.unchanged + r.totals.held + r.totals.quarantined);
    const [c] = await ctx.erp.readByIds("Customer", [NAME]);
    expect(c.values.website).toBe("https://nullfield.example.com");
    const [a] = await ctx.crm.readByIds("Account", [accountId]);
    expect(a.values.sicCode ?? null).toBeNull();
  });
});
