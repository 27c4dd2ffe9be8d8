/** The business-flow keys of an object: normalised into the model, and every mistake reported at its line and column. */
import { describe, expect, it } from "vitest";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { integrationJsonSchema } from "../../src/spec/json-schema.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

const HEAD = `version: 1
name: flows
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
`;

const ORDER = `  order:
    crm: { entity: Opportunity, identity: cErpOrderName }
    erp: { entity: Sales Order, identity: name }
    create: crm->erp
    updates: never
    submit: submit
    when: { crm: { stage: Closed Won, $expr: "amount > 0" } }
    freeze: { erp: { $state: [submitted, cancelled] } }
    holdIf:
      - { crm: "amount > 100000", reason: "needs a director" }
    createWith: { erp: { company: ACME } }
    errors: { crm: cSyncError }
    fields:
      - { crm: accountId, erp: customer, direction: crm->erp, lookup: customer }
      - crm: itemList
        erp: items
        direction: crm->erp
        lines:
          - { crm: quantity, erp: qty }
          - { crm: unitPrice, erp: rate, toErp: [ { round: 2 } ] }
`;

function issuesOf(text: string): SpecIssue[] {
  try {
    loadSpec(text, "t.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error("expected the file to be invalid");
}
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("business-flow keys", () => {
  it("normalise into the model", () => {
    const spec = loadSpec(HEAD + ORDER, "t.yaml");
    const o = spec.objects[1];
    expect(o.when).toEqual({ crm: { equals: [{ field: "stage", values: ["Closed Won"] }], expr: "amount > 0" } });
    expect(o.freeze).toEqual({ erp: { equals: [{ field: "$state", values: ["submitted", "cancelled"] }] } });
    expect(o.holdIf).toEqual([{ side: "crm", expr: "amount > 100000", reason: "needs a director" }]);
    expect(o).toMatchObject({ updates: "never", submit: "submit", createWith: { erp: { company: "ACME" } }, errors: { crm: "cSyncError" } });
    expect(o.fields[0].lookup).toEqual({ object: "customer" });
    expect(o.fields[1].lines).toEqual([
      { crm: "quantity", erp: "qty", toErp: [], toCrm: [] },
      { crm: "unitPrice", erp: "rate", toErp: [{ round: 2 }], toCrm: [] },
    ]);
  });

  it("the shipped example's flows load (aggregate sides included)", async () => {
    const spec = await loadSpecFile("examples/espocrm-erpnext.yaml");
    expect(spec.objects.find((o) => o.name === "stock")?.erp.aggregate).toEqual({ groupBy: "item_code", sum: ["actual_qty", "projected_qty"] });
  });

  it("mistakes are reported at their line and column", () => {
    const bad = (HEAD + ORDER)
      .replace("lookup: customer }", "lookup: custmer }")
      .replace('$expr: "amount > 0"', '$expr: "amount >"')
      .replace("$state: [submitted", "$stat: [submitted")
      .replace("updates: never", "updates: sometimes")
      .replace('{ crm: "amount > 100000", reason', '{ crm: "a", erp: "b", reason');
    const issues = issuesOf(bad);
    const find = (re: RegExp) => issues.find((i) => re.test(i.message));
    expect(find(/lookup object `custmer`/)).toMatchObject({ line: lineOf(bad, "custmer"), expected: expect.stringContaining("customer") });
    expect(find(/JSONata syntax error/)).toMatchObject({ line: lineOf(bad, '"amount >"') });
    expect(find(/unknown condition key `\$stat`/)).toMatchObject({ line: lineOf(bad, "$stat") });
    expect(find(/exactly one side/)).toMatchObject({ line: lineOf(bad, 'crm: "a"') });
    const updates = issues.find((i) => i.path.endsWith("updates"));
    expect(updates).toMatchObject({ line: lineOf(bad, "updates: sometimes") });
    for (const i of issues) expect(i.column).toBeGreaterThan(0);
  });

  it("refuses what cannot work: create-only without a one-way create, lines both ways, writes into an aggregate", () => {
    const text =
      HEAD +
      ORDER.replace("create: crm->erp", "create: both").replace("direction: crm->erp\n        lines", "direction: both\n        lines") +
      `  stock:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Bin, identity: item_code, aggregate: { groupBy: item_code, sum: [actual_qty] } }
    create: link-only
    fields:
      - { crm: cStockQty, erp: actual_qty, direction: both }
`;
    const msgs = issuesOf(text).map((i) => `${i.line}: ${i.message}`);
    expect(msgs).toContainEqual(expect.stringMatching(/updates: never \(create-only\) needs a one-way create policy/));
    expect(msgs).toContainEqual(expect.stringMatching(/submit applies to the documents this object creates/));
    expect(msgs).toContainEqual(expect.stringMatching(/line items travel one way/));
    expect(msgs).toContainEqual(expect.stringMatching(new RegExp(`^${lineOf(text, "cStockQty")}: the ERP side is an aggregate`)));
  });

  it("the editor JSON Schema knows the new keys", () => {
    const s = JSON.stringify(integrationJsonSchema());
    for (const k of ["holdIf", "freeze", "createWith", "aggregate", "lines", "lookup"]) expect(s).toContain(`"${k}"`);
  });
});
