/** `reports.revenue`: optional, normalised with its defaults, every mistake reported at its line and column, in the JSON Schema. */
import { describe, expect, it } from "vitest";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { integrationJsonSchema } from "../../src/spec/json-schema.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

const HEAD = `version: 1
name: reports
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp:
    type: erpnext
    url: http://erp.local:8000
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
owner: { name: Petra, email: petra@acme.example }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
  order:
    crm: { entity: Opportunity, identity: cErpOrderName }
    erp: { entity: Sales Order, identity: name }
    create: crm->erp
    when: { crm: { stage: Closed Won } }
    fields:
      - { crm: id, erp: po_no, direction: crm->erp }
      - { crm: accountId, erp: customer, direction: crm->erp, lookup: customer }
`;

function issues(text: string): SpecIssue[] {
  try {
    loadSpec(text, "r.yaml");
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  return [];
}

describe("reports.revenue", () => {
  it("is optional", () => {
    expect(loadSpec(HEAD, "r.yaml").reports).toBeUndefined();
  });

  it("fills its defaults from the deals object: won = its trigger, deal field = its `crm: id` map, customer = its lookup; states [submitted]; tolerance 0.01", () => {
    const spec = loadSpec(
      `${HEAD}reports:
  revenue:
    deals: { object: order, amount: amount, date: closeDate }
    orders: { total: grand_total, date: transaction_date }
    invoices: { entity: Sales Invoice, amount: grand_total, date: posting_date, order: items.sales_order }
`,
      "r.yaml",
    );
    const r = spec.reports?.revenue;
    expect(r?.deals.won).toEqual({ equals: [{ field: "stage", values: ["Closed Won"] }] });
    expect(r?.deals.customer).toBe("accountId");
    expect(r?.orders).toEqual({ total: "grand_total", date: "transaction_date", states: ["submitted"], deal: "po_no" });
    expect(r?.invoices?.states).toEqual(["submitted"]);
    expect(r?.customers).toBe("customer");
    expect(r?.tolerance).toBe(0.01);
  });

  it("reports unknown objects, keys, bad values and bad paths at their line and column", () => {
    const text = `${HEAD}reports:
  revenue:
    deals: { object: ordr, amount: amount, date: closeDate }
    orders: { total: grand_total, date: transaction_date, states: [booked] }
    prices: { object: price, rate: "price_list_rate[x=", allowedDiscount: 150 }
    tolerence: 1
`;
    const got = issues(text).map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    const base = HEAD.split("\n").length; // line of `reports:`
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${base + 2}:22 reports.revenue.deals.object: object \`ordr\` is not an object`)),
        expect.stringMatching(new RegExp(`^${base + 3}:\\d+ reports.revenue.orders.states\\[0\\]`)),
        expect.stringMatching(new RegExp(`^${base + 4}:\\d+ reports.revenue.prices.object: object \`price\` is not an object`)),
        expect.stringMatching(new RegExp(`^${base + 4}:\\d+ reports.revenue.prices.rate: bad field path`)),
        expect.stringMatching(new RegExp(`^${base + 4}:\\d+ reports.revenue.prices.allowedDiscount`)),
        expect.stringMatching(new RegExp(`^${base + 5}:5 reports.revenue.tolerence: unknown key`)),
      ]),
    );
  });

  it("needs a won condition when the deals object has no trigger", () => {
    const text = `${HEAD.replace("    when: { crm: { stage: Closed Won } }\n", "")}reports:
  revenue:
    deals: { object: order, amount: amount, date: closeDate }
    orders: { total: grand_total, date: transaction_date }
`;
    expect(
      issues(text)
        .map((i) => i.message)
        .join("\n"),
    ).toMatch(/no `when.crm` trigger/);
  });

  it("the example fills it, and the JSON Schema describes it", async () => {
    const spec = await loadSpecFile(new URL("../../examples/espocrm-erpnext.yaml", import.meta.url).pathname);
    expect(spec.reports?.revenue?.deals.object).toBe("salesOrder");
    expect(spec.reports?.revenue?.prices?.allowedDiscount).toBe(15);
    const schema = JSON.stringify(integrationJsonSchema());
    expect(schema).toContain("allowedDiscount");
    expect(schema).toContain("Revenue reconciliation");
  });
});
