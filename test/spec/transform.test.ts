import { describe, expect, it } from "vitest";
import { ValidationRejected } from "../../src/errors.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import type { TransformStep } from "../../src/spec/model.ts";
import { applyTransform, describeTransform } from "../../src/spec/transform.ts";

const run = (steps: TransformStep[], v: unknown, record: Record<string, unknown> = {}) => applyTransform(steps, v, record);

describe("applyTransform", () => {
  it("value map with each unmapped rule", async () => {
    const map = { Customer: "Company", Partner: "Partnership" };
    expect(await run([{ map, unmapped: "error" }], "Partner")).toBe("Partnership");
    expect(await run([{ map, unmapped: "pass" }], "Investor")).toBe("Investor");
    expect(await run([{ map, unmapped: "default", default: "Company" }], "Investor")).toBe("Company");
    expect(await run([{ map, unmapped: "default" }], "Investor")).toBeNull();
    expect(await run([{ map: { "": "none" }, unmapped: "error" }], "")).toBe("none");
    expect(await run([{ map, unmapped: "error" }], null)).toBeNull();
    expect(await run([{ map: { "1": true, "0": false }, unmapped: "error" }], 1)).toBe(true);
  });

  it("unmapped value with unmapped: error throws ValidationRejected naming the value and the known ones", async () => {
    const p = run([{ map: { Customer: "Company", Partner: "Partnership" }, unmapped: "error" }], "Investor");
    await expect(p).rejects.toBeInstanceOf(ValidationRejected);
    await expect(p).rejects.toThrow(/"Investor".*known values: "Customer", "Partner"/);
    const err = (await p.catch((e: unknown) => e)) as ValidationRejected;
    expect(err.hint).toContain("Add");
  });

  it("scale and round (no float artefacts)", async () => {
    expect(await run([{ scale: 100 }], 19.99)).toBe(1999);
    expect(await run([{ scale: 0.01 }], "1999")).toBe(19.99);
    expect(await run([{ round: 2 }], 1.005)).toBe(1.01);
    expect(await run([{ round: 0 }], -2.5)).toBe(-3);
    expect(await run([{ scale: 100 }, { round: 0 }], 0.285)).toBe(29);
    expect(await run([{ scale: 100 }], null)).toBeNull();
    await expect(run([{ scale: 100 }], "abc")).rejects.toBeInstanceOf(ValidationRejected);
  });

  it("dateFormat between patterns, iso and epoch-ms (UTC)", async () => {
    expect(await run([{ dateFormat: { from: "YYYY-MM-DD", to: "DD.MM.YYYY" } }], "2026-03-07")).toBe("07.03.2026");
    expect(await run([{ dateFormat: { from: "DD.MM.YYYY", to: "YYYY-MM-DD" } }], "7.3.2026")).toBe("2026-03-07");
    expect(await run([{ dateFormat: { from: "YYYY-MM-DD HH:mm:ss", to: "iso" } }], "2026-01-02 03:04:05")).toBe("2026-01-02T03:04:05.000Z");
    expect(await run([{ dateFormat: { from: "iso", to: "YYYY-MM-DD HH:mm:ss" } }], "2026-01-02T03:04:05+02:00")).toBe("2026-01-02 01:04:05");
    expect(await run([{ dateFormat: { from: "epoch-ms", to: "iso" } }], 0)).toBe("1970-01-01T00:00:00.000Z");
    expect(await run([{ dateFormat: { from: "iso", to: "epoch-ms" } }], "1970-01-01T00:00:01Z")).toBe(1000);
    await expect(run([{ dateFormat: { from: "YYYY-MM-DD", to: "iso" } }], "2026-02-30")).rejects.toThrow(/does not match/);
    await expect(run([{ dateFormat: { from: "YYYY-MM-DD", to: "iso" } }], "07.03.2026")).rejects.toBeInstanceOf(ValidationRejected);
  });

  it("normalize", async () => {
    expect(await run([{ normalize: ["trim", "collapse-spaces"] }], "  Acme   GmbH \n")).toBe("Acme GmbH");
    expect(await run([{ normalize: ["upper"] }], "de")).toBe("DE");
    expect(await run([{ normalize: ["lower"] }], "WWW.ACME.DE")).toBe("www.acme.de");
    expect(await run([{ normalize: ["title"] }], "müller-lüdenscheidt gmbh")).toBe("Müller-Lüdenscheidt Gmbh");
    expect(await run([{ normalize: ["digits-only"] }], "+49 (30) 123-45")).toBe("493012345");
    expect(await run([{ normalize: ["trim"] }], 5)).toBe(5);
  });

  it("default", async () => {
    expect(await run([{ default: "Company" }], "")).toBe("Company");
    expect(await run([{ default: "Company" }], null)).toBe("Company");
    expect(await run([{ default: "Company" }], undefined)).toBe("Company");
    expect(await run([{ default: "Company" }], "Individual")).toBe("Individual");
    expect(await run([{ default: 0 }], 0)).toBe(0);
  });

  it("type conversions", async () => {
    expect(await run([{ type: "string" }], 42)).toBe("42");
    expect(await run([{ type: "number" }], " 42.5 ")).toBe(42.5);
    expect(await run([{ type: "boolean" }], 1)).toBe(true);
    expect(await run([{ type: "boolean" }], "0")).toBe(false);
    expect(await run([{ type: "boolean" }], "yes")).toBe(true);
    expect(await run([{ type: "date" }], "2026-01-02T23:30:00Z")).toBe("2026-01-02");
    expect(await run([{ type: "number" }], null)).toBeNull();
    await expect(run([{ type: "boolean" }], "maybe")).rejects.toBeInstanceOf(ValidationRejected);
    await expect(run([{ type: "number" }], "12abc")).rejects.toBeInstanceOf(ValidationRejected);
  });

  it("jsonata: $ is the value, $record the source record; no result becomes null", async () => {
    expect(await run([{ jsonata: "$ & ' (' & $record.billingAddressCity & ')'" }], "Acme", { billingAddressCity: "Berlin" })).toBe("Acme (Berlin)");
    expect(await run([{ jsonata: "$sum(credit_limit)" }], [{ company: "A", credit_limit: 1000 }, { company: "B", credit_limit: 250.5 }])).toBe(1250.5);
    expect(await run([{ jsonata: "$record.nothing" }], "x")).toBeNull();
    expect(await run([{ jsonata: '$ ? [{"email_id": $, "is_primary": 1}] : []' }], "a@b.de")).toEqual([{ email_id: "a@b.de", is_primary: 1 }]);
    await expect(run([{ jsonata: "$sum(" }], 1)).rejects.toBeInstanceOf(ValidationRejected);
    await expect(run([{ jsonata: "$error('no')" }], 1)).rejects.toThrow(/failed on value 1: no/);
  });

  it("steps run in order", async () => {
    expect(await run([{ normalize: ["trim"] }, { default: "0" }, { type: "number" }, { scale: 100 }], "  ")).toBe(0);
    expect(await run([{ normalize: ["trim"] }, { default: "0" }, { type: "number" }, { scale: 100 }], " 12.34 ")).toBe(1234);
  });

  it("the example's transforms do what their comments say", async () => {
    const spec = await loadSpecFile("examples/espocrm-erpnext.yaml");
    const f = (o: string, crm: string) => {
      const x = spec.objects.find((ob) => ob.name === o)?.fields.find((fm) => fm.crm === crm);
      if (!x) throw new Error(`${o}.${crm} not in example`);
      return x;
    };
    expect(await applyTransform(f("customer", "type").toErp, "Partner", {})).toBe("Partnership");
    expect(await applyTransform(f("customer", "type").toErp, "Investor", {})).toBe("Company");
    expect(await applyTransform(f("customer", "industry").toErp, "", {})).toBeNull();
    expect(await applyTransform(f("customer", "cCreditLimit").toCrm, [{ credit_limit: 1000.005 }], {})).toBe(1000.01);
    expect(await applyTransform(f("customer", "cErpDisabled").toCrm, 0, {})).toBe(false);
    // the primary e-mail row's field (email_ids[is_primary=1].email_id): the value only, the engine writes the row
    expect(await applyTransform(f("contact", "emailAddress").toErp, " Anna@Acme.Example ", {})).toBe("anna@acme.example");
    expect(await applyTransform(f("billingAddress", "billingAddressCountry").toErp, "DE", {})).toBe("Germany");
  });
});

describe("describeTransform", () => {
  it("describes every kind of step", () => {
    expect(describeTransform([])).toBe("");
    expect(describeTransform([{ map: { Customer: "Company", Partner: "Company", Reseller: "Company" }, unmapped: "default", default: "Company" }])).toMatch(
      /^value map \(3 values: .*; unmapped → 'Company'\)$/,
    );
    expect(describeTransform([{ scale: 100 }, { round: 2 }])).toBe("× 100 → round to 2 decimals");
    expect(describeTransform([{ dateFormat: { from: "iso", to: "DD.MM.YYYY" } }])).toBe("date iso → DD.MM.YYYY");
    expect(describeTransform([{ normalize: ["trim", "upper"] }])).toBe("normalize (trim, upper)");
    expect(describeTransform([{ default: "x" }])).toBe("default 'x' when empty");
    expect(describeTransform([{ jsonata: "$uppercase($)" }])).toBe("JSONata: $uppercase($)");
    expect(describeTransform([{ type: "number" }])).toBe("as number");
    expect(describeTransform([{ map: { a: "b" }, unmapped: "error" }])).toContain("unmapped = error");
  });
});
