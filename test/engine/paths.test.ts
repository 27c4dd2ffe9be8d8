/**
 * Field paths into child tables: the grammar (src/connectors/field-path.ts) and the engine's
 * reading and writing of them (src/engine/paths.ts).
 */
import { describe, expect, it } from "vitest";
import {
  canonicalFieldName,
  cellMatches,
  FieldPathError,
  fieldRoot,
  formatFieldPath,
  isFieldPath,
  parseFieldPath,
} from "../../src/connectors/field-path.ts";
import { readFieldsOf, readValue, writeValue } from "../../src/engine/paths.ts";
import type { Json } from "../../src/store/types.ts";

describe("parseFieldPath", () => {
  it("parses table[column=value].field, numbers and quoted text", () => {
    expect(parseFieldPath("links[link_doctype=Customer].link_name")).toEqual({
      table: "links",
      where: [{ column: "link_doctype", value: "Customer" }],
      field: "link_name",
    });
    expect(parseFieldPath("email_ids[is_primary=1].email_id").where).toEqual([{ column: "is_primary", value: 1 }]);
    expect(parseFieldPath(' items [ a = -2.5 , b = "x, y]" ] . qty ')).toEqual({
      table: "items",
      where: [
        { column: "a", value: -2.5 },
        { column: "b", value: "x, y]" },
      ],
      field: "qty",
    });
    expect(parseFieldPath('t[c="12"].f').where[0].value).toBe("12"); // quoted digits stay text
    expect(parseFieldPath("t[c=Sales Team].f").where[0].value).toBe("Sales Team");
  });

  it("says where and what is wrong", () => {
    const fail = (s: string) => {
      try {
        parseFieldPath(s);
      } catch (e) {
        expect(e).toBeInstanceOf(FieldPathError);
        return { at: (e as FieldPathError).position, msg: (e as Error).message };
      }
      throw new Error(`parsed: ${s}`);
    };
    expect(fail("links[link_doctype=Customer.link_name")).toEqual({ at: 37, msg: "the path ends where `]` should be" });
    expect(fail("links[link_doctype=].link_name").at).toBe(19);
    expect(fail("links[link_doctype=Customer]link_name")).toMatchObject({ at: 28, msg: "`l` where `.` should be" });
    expect(fail("links[=Customer].link_name").msg).toContain("where a column name should be");
    expect(fail("1links[a=b].c").at).toBe(0);
    expect(fail('t[c="open].f').msg).toBe("the quoted value is not closed");
    expect(fail("t[c=a,c=b].f").msg).toContain("selected twice");
    expect(fail("t[c=a].f.g").msg).toContain("unexpected `.g`");
    expect(fail("t[c=a].c").msg).toContain("also a selector column");
    expect(fail("t[c=a=b].f").msg).toContain("holds a");
  });

  it("formats canonically; plain names are not paths", () => {
    expect(canonicalFieldName(" links [ link_doctype = Customer ].link_name")).toBe("links[link_doctype=Customer].link_name");
    expect(formatFieldPath(parseFieldPath('t[a="1",b="x,y",c=2].f'))).toBe('t[a="1",b="x,y",c=2].f');
    for (const p of ["links[link_doctype=Customer].link_name", 't[a="1",b="x,y",c=2].f', "t[c=Sales Team].f"])
      expect(formatFieldPath(parseFieldPath(formatFieldPath(parseFieldPath(p))))).toBe(formatFieldPath(parseFieldPath(p)));
    expect(isFieldPath("customer_name")).toBe(false);
    expect(isFieldPath("links.Customer")).toBe(false);
    expect(canonicalFieldName("links.Customer")).toBe("links.Customer");
    expect(fieldRoot("email_ids[is_primary=1].email_id")).toBe("email_ids");
    expect(fieldRoot("city")).toBe("city");
    expect(readFieldsOf(["city", "links[link_doctype=Customer].link_name", "links[link_doctype=Supplier].link_name", "id"])).toEqual([
      "city",
      "links",
      "id",
    ]);
  });

  it("matches cells: numbers by value (Check 1 = true), text exactly", () => {
    expect(cellMatches(1, 1)).toBe(true);
    expect(cellMatches("1", 1)).toBe(true);
    expect(cellMatches(true, 1)).toBe(true);
    expect(cellMatches(0, 1)).toBe(false);
    expect(cellMatches(null, 1)).toBe(false);
    expect(cellMatches("Customer", "Customer")).toBe(true);
    expect(cellMatches("customer", "Customer")).toBe(false);
    expect(cellMatches(7, "7")).toBe(true);
  });
});

const CONTACT: Record<string, unknown> = {
  first_name: "Jo",
  links: [
    { name: "r1", link_doctype: "Supplier", link_name: "S-1", idx: 1 },
    { name: "r2", link_doctype: "Customer", link_name: "ACME", idx: 2 },
  ],
  email_ids: [
    { name: "e1", email_id: "old@acme.example", is_primary: 0 },
    { name: "e2", email_id: "jo@acme.example", is_primary: 1 },
  ],
  phone_nos: [],
};

describe("readValue", () => {
  it("reads the first matching row's field; no row is empty; no table is absent", () => {
    expect(readValue(CONTACT, "links[link_doctype=Customer].link_name")).toEqual({ present: true, value: "ACME" });
    expect(readValue(CONTACT, "email_ids[is_primary=1].email_id")).toEqual({ present: true, value: "jo@acme.example" });
    expect(readValue(CONTACT, "phone_nos[is_primary_mobile_no=1].phone")).toEqual({ present: true, value: null });
    expect(readValue(CONTACT, "links[link_doctype=Lead].link_name")).toEqual({ present: true, value: null });
    expect(readValue(CONTACT, "items[item_code=X].qty")).toEqual({ present: false, value: null });
    expect(readValue({ links: null }, "links[link_doctype=Customer].link_name")).toEqual({ present: true, value: null });
    expect(readValue(CONTACT, "first_name")).toEqual({ present: true, value: "Jo" });
    expect(readValue(CONTACT, "last_name")).toEqual({ present: false, value: null });
  });
});

describe("writeValue", () => {
  it("sets the matching row's field and keeps every other row and column as read", () => {
    const out: Record<string, Json> = {};
    writeValue(out, CONTACT, "links[link_doctype=Customer].link_name", "GLOBEX");
    expect(out).toEqual({
      links: [
        { name: "r1", link_doctype: "Supplier", link_name: "S-1", idx: 1 },
        { name: "r2", link_doctype: "Customer", link_name: "GLOBEX", idx: 2 },
      ],
    });
    // the record read is not modified
    expect((CONTACT.links as Array<Record<string, unknown>>)[1].link_name).toBe("ACME");
  });

  it("appends a row with the selector's values when none matches; an empty value removes the row", () => {
    const out: Record<string, Json> = {};
    writeValue(out, CONTACT, "phone_nos[is_primary_mobile_no=1].phone", "+49 170 1");
    expect(out.phone_nos).toEqual([{ is_primary_mobile_no: 1, phone: "+49 170 1" }]);
    const cleared: Record<string, Json> = {};
    writeValue(cleared, CONTACT, "email_ids[is_primary=1].email_id", null);
    expect(cleared.email_ids).toEqual([{ name: "e1", email_id: "old@acme.example", is_primary: 0 }]);
    writeValue(cleared, CONTACT, "email_ids[is_primary=1].email_id", "");
    expect(cleared.email_ids).toHaveLength(1);
  });

  it("several paths into one table build on each other; a create starts from an empty table", () => {
    const payload: Record<string, Json> = { first_name: "Jo" };
    writeValue(payload, undefined, "links[link_doctype=Customer].link_name", "ACME");
    writeValue(payload, undefined, "links[link_doctype=Customer].link_title", "Acme GmbH");
    writeValue(payload, undefined, "links[link_doctype=Supplier].link_name", "S-9");
    expect(payload.links).toEqual([
      { link_doctype: "Customer", link_name: "ACME", link_title: "Acme GmbH" },
      { link_doctype: "Supplier", link_name: "S-9" },
    ]);
    const multi: Record<string, Json> = {};
    writeValue(multi, undefined, "t[kind=billing,primary=1].v", 5);
    writeValue(multi, { t: [{ kind: "billing", primary: 0, v: 1 }] }, "t[kind=billing,primary=1].v", 6);
    expect(multi.t).toEqual([{ kind: "billing", primary: 1, v: 6 }]); // the payload's table wins over the record's
  });

  it("plain names are plain keys", () => {
    const out: Record<string, Json> = {};
    writeValue(out, CONTACT, "city", "Berlin");
    expect(out).toEqual({ city: "Berlin" });
  });
});
