import { describe, expect, it } from "vitest";
import type { SchemaDescription } from "../../src/connectors/types.ts";
import { renderMappingDoc, mappingRows } from "../../src/spec/doc.ts";
import { integrationJsonSchema } from "../../src/spec/json-schema.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

const XSS = "<img src=x onerror=alert(1)>";
const NASTY = `version: 1
name: nasty
description: 'Quotes " and, commas & <b>tags</b>'
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp: { type: erpnext, url: "\${ERPNEXT_URL}", credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" } }
owner: { name: "Eve <script>alert(2)</script>", email: eve@acme.example }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: "*/15 * * * *"
    fields:
      - { crm: name, erp: customer_name, direction: both, note: "${XSS}" }
      - { crm: cLimit, erp: credit_limit, direction: erp->crm, note: "say \\"hi\\", then
          leave", toCrm: [ { scale: 0.01 }, { round: 2 } ] }
      - { crm: cFormula, erp: formula, direction: crm->erp, note: "=HYPERLINK(1)|pipe" }
`;

const schemas: { crm: SchemaDescription; erp: SchemaDescription } = {
  crm: { entities: { Account: { name: "Account", fields: { name: { name: "name", type: "string", nativeType: "varchar", required: true, readOnly: false } } } } },
  erp: { entities: { Customer: { name: "Customer", fields: { customer_name: { name: "customer_name", type: "string", nativeType: "Data", required: true, readOnly: false } } } } },
};

describe("renderMappingDoc", () => {
  const spec = loadSpec(NASTY, "nasty.yaml");

  it("markdown: header, one table per object, every column", async () => {
    const example = await loadSpecFile("examples/espocrm-erpnext.yaml");
    const md = renderMappingDoc(example, "md");
    expect(md).toMatch(/^# Field mapping: acme/);
    expect(md).toContain("**Owner:** Petra Lang &lt;erp-admin@acme.example&gt;");
    expect(md).toContain("**Secondary owner:** Jonas Weber");
    expect(md).toContain("**CRM:** espocrm at ${ESPOCRM_URL}");
    for (const o of ["## customer: Account ↔ Customer", "## billingAddress: Account ↔ Address", "## contact: Contact ↔ Contact"]) expect(md).toContain(o);
    expect(md).toContain("| CRM field | ERP field | CRM type | ERP type | Direction | Master | Transform CRM→ERP | Transform ERP→CRM | Conflict / master-edit rule |");
    expect(md).toMatch(/\| name \| customer_name \| — \| — \| both \| shared \| — \| — \| review \(held for a person\) \| yes \| hourly \|/);
    expect(md).toMatch(/\| cCreditLimit \| credit_limits \| — \| — \| ERP → CRM \| ERP \| n\/a \| JSONata: \$sum\(credit_limit\) → round to 2 decimals \| edit in CRM is reverted \|/);
    expect(md).toContain("prefer ERP");
    expect(md).toContain("last-updated wins (skew tolerance 2000 ms → review)");
    // the example's ERP customers carry a creation key: the document says where creates write the source id
    expect(md).toContain("Customer (identity name; creates write the source id into custom_accord_id)");
    // one table row per field
    const rows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---") && !l.startsWith("| CRM field"));
    expect(rows.length).toBe(example.objects.reduce((n, o) => n + o.fields.length, 0));
  });

  it("markdown escapes pipes and markup", () => {
    const md = renderMappingDoc(spec, "md");
    expect(md).toContain("=HYPERLINK(1)\\|pipe");
    expect(md).not.toContain("<img");
    expect(md).toContain("cron */15 * * * *");
  });

  it("data types from schema descriptions", () => {
    const rows = mappingRows(spec, schemas);
    expect(rows[0]).toMatchObject({ crmType: "string (varchar)", erpType: "string (Data)" });
    expect(rows[1].erpType).toBe("MISSING in schema");
    expect(mappingRows(spec)[0].crmType).toBe("—");
  });

  it("a field path's type is the row field's, from the table's child entity", async () => {
    const example = await loadSpecFile("examples/espocrm-erpnext.yaml");
    const f = (t: string, n: string, target?: string) => ({ name: n, type: t as "table", nativeType: t === "table" ? "Table" : "Data", required: false, readOnly: false, ...(target ? { target } : {}) });
    const erp: SchemaDescription = {
      entities: {
        Contact: { name: "Contact", fields: { email_ids: f("table", "email_ids", "Contact Email"), phone_nos: f("table", "phone_nos", "Contact Phone"), links: f("table", "links", "Dynamic Link") } },
        "Contact Email": { name: "Contact Email", fields: { email_id: { ...f("email", "email_id"), type: "email" } } },
      },
    };
    const rows = mappingRows(example, { erp }).filter((r) => r.object === "contact");
    expect(rows.find((r) => r.crmField === "emailAddress")?.erpType).toBe("email (Data) in row of email_ids (Contact Email)");
    expect(rows.find((r) => r.crmField === "phoneNumber")?.erpType).toBe("row of phone_nos (Contact Phone)");
  });

  it("csv: one header and one quoted row per field, formulas neutralised", () => {
    const csv = renderMappingDoc(spec, "csv");
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(
      "Object,CRM entity,ERP entity,CRM field,ERP field,CRM type,ERP type,Direction,Master,Transform CRM→ERP,Transform ERP→CRM,Conflict / master-edit rule,Required,Schedule,Note",
    );
    expect(csv).toContain('"say ""hi"", then leave"');
    expect(csv).toContain(`"'=HYPERLINK(1)|pipe"`);
    expect(lines[1].startsWith("customer,Account,Customer,name,customer_name,")).toBe(true);
    expect(lines.filter((l) => l !== "").length).toBe(4);
  });

  it("html: standalone page, every value escaped", () => {
    const html = renderMappingDoc(spec, "html");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("</html>");
    expect(html).not.toContain(XSS);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<b>tags</b>");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("Eve &lt;script&gt;alert(2)&lt;/script&gt;");
    expect(html).toContain("Quotes &quot; and, commas &amp; &lt;b&gt;tags&lt;/b&gt;");
    expect(html).toContain("<title>Field mapping: nasty</title>");
    expect((html.match(/<tr class=/g) ?? []).length).toBe(3);
  });
});

describe("integrationJsonSchema", () => {
  it("is a JSON Schema of the file with enums editors can offer", () => {
    const s = integrationJsonSchema();
    expect(s.$schema).toMatch(/json-schema\.org/);
    const text = JSON.stringify(s);
    expect(text).toContain('"crm->erp"');
    expect(text).toContain('"first-created-wins"');
    expect(text).toContain('"objects"');
    const props = s.properties as Record<string, unknown>;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(["version", "name", "systems", "owner", "objects", "sync", "defaults"]));
    expect(s.required).toEqual(expect.arrayContaining(["version", "name", "systems", "owner", "objects"]));
  });
});
