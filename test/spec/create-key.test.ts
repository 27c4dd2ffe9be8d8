/** `createKey` on an object side: parsed into the model, refused where it cannot work, in the JSON Schema. */
import { describe, expect, it } from "vitest";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { integrationJsonSchema } from "../../src/spec/json-schema.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

function file(erpSide: string, extra = "", fields = "      - { crm: name, erp: customer_name, direction: both }\n"): string {
  return `version: 1
name: mini
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
    erp: ${erpSide}
${extra}    fields:
${fields}`;
}

function issuesOf(text: string): SpecIssue[] {
  try {
    loadSpec(text, "t.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error("expected the file to be invalid");
}

describe("createKey", () => {
  it("is carried into the model (and absent when not declared)", () => {
    const spec = loadSpec(file("{ entity: Customer, identity: name, createKey: custom_accord_id }"), "t.yaml");
    expect(spec.objects[0].erp.createKey).toBe("custom_accord_id");
    expect("createKey" in spec.objects[0].crm).toBe(false);
  });

  it("the shipped example declares it for the ERP customer and contact", async () => {
    const spec = await loadSpecFile("examples/espocrm-erpnext.yaml");
    const by = (n: string) => spec.objects.find((o) => o.name === n);
    expect(by("customer")?.erp.createKey).toBe("custom_accord_id");
    expect(by("contact")?.erp.createKey).toBe("custom_accord_id");
  });

  it.each([
    [
      "a path",
      "{ entity: Customer, identity: name, createKey: 'links[link_doctype=Customer].link_name' }",
      "",
      undefined,
      /path into a child table/,
    ],
    ["the record id", "{ entity: Customer, identity: name, createKey: id }", "", undefined, /cannot be the record id/],
    [
      "the identity",
      "{ entity: Customer, identity: custom_accord_id, createKey: custom_accord_id }",
      "",
      undefined,
      /is the ERP identity field/,
    ],
    [
      "on a side never created into",
      "{ entity: Customer, identity: name, createKey: custom_accord_id }",
      "    create: erp->crm\n",
      undefined,
      /never creates there/,
    ],
    [
      "a field mapped into",
      "{ entity: Customer, identity: name, createKey: custom_accord_id }",
      "",
      "      - { crm: name, erp: customer_name, direction: both }\n      - { crm: id, erp: custom_accord_id, direction: crm->erp }\n",
      /only Accord's creates write it/,
    ],
    [
      "a createWith constant",
      "{ entity: Customer, identity: name, createKey: custom_accord_id }",
      "    createWith: { erp: { custom_accord_id: x } }\n",
      undefined,
      /Accord writes the source record's id there/,
    ],
  ])("is refused when it is %s", (_what, side, extra, fields, message) => {
    const issues = issuesOf(file(side, extra, fields));
    expect(issues.map((i) => i.message).join("\n")).toMatch(message);
    expect(issues.every((i) => typeof i.line === "number" && i.line > 0)).toBe(true);
  });

  it("is in the JSON Schema of the integration file", () => {
    expect(JSON.stringify(integrationJsonSchema())).toContain('"createKey"');
  });
});
