/** `reports.customer360`: where the 360 finds service cases and payments — declared in the file, merged with revenue.payments. */
import { describe, expect, it } from "vitest";
import { activitySources } from "../../src/flows/customer-activity.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

const BASE = `version: 1
name: c360
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
`;

describe("reports.customer360", () => {
  it("the example declares cases and payments; payments take what they leave out from reports.revenue.payments", async () => {
    const spec = await loadSpecFile("examples/espocrm-erpnext.yaml");
    const s = activitySources(spec);
    expect(s.cases).toMatchObject({ entity: "Case", customer: "accountId", closed: ["Closed", "Rejected", "Duplicate"] });
    expect(s.payments).toMatchObject({
      entity: "Payment Entry",
      customer: "party",
      amount: "paid_amount",
      date: "posting_date",
      states: ["submitted"],
      invoice: "references.reference_name",
      mode: "mode_of_payment",
      reference: "reference_no",
    });
    expect(s.payments?.filter).toHaveLength(2); // its own filter wins over revenue's
  });

  it("without the section there is no source (nothing is guessed from the system type)", () => {
    expect(activitySources(loadSpec(BASE, "c360.yaml"))).toEqual({});
  });

  it("payments without an entity and no revenue.payments to take it from: refused at the line, saying what is missing", () => {
    const text = `${BASE}reports:
  customer360:
    payments: { mode: mode_of_payment }
`;
    expect(() => loadSpec(text, "c360.yaml")).toThrow(/line 15: reports\.customer360\.payments: the customer 360's payments need entity, customer, amount, date/);
  });

  it("a case source needs its closed statuses", () => {
    const text = `${BASE}reports:
  customer360:
    cases: { entity: Case, customer: accountId, subject: name, status: status }
`;
    expect(() => loadSpec(text, "c360.yaml")).toThrow(/closed/);
  });
});
