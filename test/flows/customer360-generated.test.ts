/**
 * Customer 360 over the GENERATED sandboxes (the data set demos and staging trials use): for linked
 * customers that have seeded service cases and seeded payments, the 360's cases and payments equal
 * what the generator put into the two systems, computed independently from the generated data
 * (cases by the account, incoming submitted Payment Entries by the party) — no more, no less.
 * The seeded cases and payments are deterministic by seed.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import { customer360 } from "../../src/flows/customer360.ts";
import { generate } from "../../src/sandbox/generator/index.ts";
import type { GeneratedData } from "../../src/sandbox/generator/types.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { testStoreOptions } from "../support/store.ts";

const EXAMPLE = join(resolve(import.meta.dirname, "../.."), "examples/espocrm-erpnext.yaml");
const SEED = 7;
const ACCOUNTS = 200;

let sb: Sandboxes;
let opened: OpenedContext;
let data: GeneratedData;
/** Companies with exactly one record per system, at least one case and at least one payment. */
let picked: Array<{ crmId: string; erpId: string }> = [];

beforeAll(async () => {
  sb = await startSandboxes({ accounts: ACCOUNTS, seed: SEED, webhookDelayMs: 0, keepData: true });
  if (!sb.data) throw new Error("the sandboxes did not keep the generated data");
  data = sb.data;
  opened = await openContextFromFile(EXAMPLE, {
    env: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
  const caseAccounts = new Set(data.crm.Case.map((c) => String(c.accountId)));
  const payers = new Set(data.erp["Payment Entry"].map((p) => String(p.party)));
  picked = data.truth
    .filter((t) => t.entity === "company" && t.crm.length === 1 && t.erp.length === 1 && caseAccounts.has(t.crm[0]) && payers.has(t.erp[0]))
    .slice(0, 3)
    .map((t) => ({ crmId: t.crm[0], erpId: t.erp[0] }));
  // linked as go-live would link them (the shared id is the ERP customer's name)
  for (const p of picked) {
    await opened.ctx.store.saveLink({
      integration: opened.ctx.spec.name,
      object: "customer",
      crmId: p.crmId,
      erpId: p.erpId,
      sharedId: p.erpId,
      base: {},
      crmVersion: null,
      erpVersion: null,
      pinned: false,
      status: "active",
    });
  }
}, 120_000);

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

describe("customer 360 over generated data", () => {
  it("the generator seeds cases and payments, the same for the same seed", () => {
    expect(data.crm.Case.length).toBeGreaterThan(0);
    expect(data.erp["Payment Entry"].length).toBeGreaterThan(0);
    const again = generate({ companies: ACCOUNTS, seed: SEED });
    expect(again.crm.Case).toEqual(generate({ companies: ACCOUNTS, seed: SEED }).crm.Case);
    expect(again.erp["Payment Entry"]).toEqual(generate({ companies: ACCOUNTS, seed: SEED }).erp["Payment Entry"]);
    expect(picked.length, "companies in both systems with cases and payments").toBeGreaterThan(0);
  });

  it("lists exactly the customer's seeded cases and payments, with their values", async () => {
    for (const p of picked) {
      const view = await customer360(opened.ctx, p.crmId);
      expect(view.crm.id).toBe(p.crmId);
      expect(view.erp.id).toBe(p.erpId);

      const cases = data.crm.Case.filter((c) => c.accountId === p.crmId);
      expect(view.cases?.items.map((c) => c.id).sort()).toEqual(cases.map((c) => String(c.id)).sort());
      for (const c of cases) {
        const shown = view.cases?.items.find((x) => x.id === c.id);
        expect(shown).toMatchObject({ subject: c.name, status: c.status, priority: c.priority, number: c.number });
        expect(shown?.open).toBe(!["Closed", "Rejected", "Duplicate"].includes(String(c.status)));
      }
      expect(view.cases?.open).toBe(cases.filter((c) => !["Closed", "Rejected", "Duplicate"].includes(String(c.status))).length);

      const pays = data.erp["Payment Entry"].filter((x) => x.party === p.erpId && x.docstatus === 1 && x.payment_type === "Receive");
      expect(view.payments?.items.map((x) => x.id).sort()).toEqual(pays.map((x) => String(x.name)).sort());
      for (const x of pays) {
        const refs = (x.references as Array<Record<string, unknown>>).map((r) => String(r.reference_name));
        expect(view.payments?.items.find((y) => y.id === x.name)).toEqual({
          id: x.name,
          date: x.posting_date,
          amount: Math.round(Number(x.paid_amount) * 100) / 100,
          mode: x.mode_of_payment,
          reference: x.reference_no,
          invoices: refs,
          state: "submitted",
        });
      }
      const total = pays.reduce((s, x) => s + Math.round(Number(x.paid_amount) * 100), 0) / 100;
      expect(view.payments?.total).toBeCloseTo(total, 2);
      // newest first
      const dates = view.payments?.items.map((x) => x.date ?? "") ?? [];
      expect([...dates].sort().reverse()).toEqual(dates);
    }
  }, 60_000);
});
