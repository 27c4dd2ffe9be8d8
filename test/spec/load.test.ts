import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { loadSpec, loadSpecFile, parseDuration, resolveCredentials, resolveUrl } from "../../src/spec/load.ts";

const EXAMPLE = "examples/espocrm-erpnext.yaml";
const exampleText = readFileSync(EXAMPLE, "utf8");

/** A minimal valid file; tests change one thing in it. */
const MINIMAL = `version: 1
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
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
      - { crm: cTaxId, erp: tax_id, direction: erp->crm }
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

describe("loadSpec: the example", () => {
  it("validates and normalises the shipped example", async () => {
    const spec = await loadSpecFile(EXAMPLE);
    expect(spec.name).toBe("acme");
    expect(spec.objects.map((o) => o.name)).toEqual([
      "customer",
      "billingAddress",
      "contact",
      "product",
      "price",
      "stock",
      "salesOrder",
      "dealInvoices",
      "accountInvoices",
      "accountPayments",
    ]);
    expect(spec.systems.erp.credentials).toEqual({ apiKey: { env: "ERPNEXT_API_KEY" }, apiSecret: { env: "ERPNEXT_API_SECRET" } });
    expect(spec.sync).toEqual({ overlapMs: 300_000, skewToleranceMs: 2000, bounce: { maxBounces: 3, windowMs: 600_000 } });
    const customer = spec.objects[0];
    expect(customer.schedule).toEqual({ tier: "hourly" });
    const name = customer.fields.find((f) => f.crm === "name");
    expect(name).toMatchObject({ direction: "both", conflict: { kind: "review" }, required: true });
    expect(name?.master).toBeUndefined();
    const credit = customer.fields.find((f) => f.crm === "cCreditLimit");
    expect(credit).toMatchObject({ master: "erp", onMasterEdit: "revert", toCrm: [{ jsonata: "$sum(credit_limit)" }, { round: 2 }] });
    // line numbers point into the file
    expect(exampleText.split("\n")[(credit?.line ?? 0) - 1]).toContain("crm: cCreditLimit");
    expect(exampleText.split("\n")[(customer.line ?? 0) - 1]).toContain("customer:");
    const pin = spec.objects[1].fields.find((f) => f.erp === "pincode");
    expect(pin?.conflict).toEqual({ kind: "last-updated-wins", skewToleranceMs: 2000 });
    expect(spec.objects[1].fields.find((f) => f.erp === "country")?.conflict).toEqual({ kind: "prefer", side: "erp" });
    expect(spec.objects[2].parent).toEqual({ object: "customer", crm: "accountId", erp: "links[link_doctype=Customer].link_name" });
    // child-table paths: identity and parent of the billing address, the contact's primary e-mail and mobile rows
    expect(spec.objects[1].erp.identity).toBe("links[link_doctype=Customer].link_name");
    expect(spec.objects[1].parent).toEqual({ object: "customer", crm: "id", erp: "links[link_doctype=Customer].link_name" });
    expect(spec.objects[2].fields.map((f) => f.erp)).toContain("email_ids[is_primary=1].email_id");
    expect(spec.objects[2].fields.map((f) => f.erp)).toContain("phone_nos[is_primary_mobile_no=1].phone");
    expect(spec.source?.file).toBe(EXAMPLE);
  });

  it("fills defaults and normalises shorthands", () => {
    const spec = loadSpec(
      MINIMAL.replace("owner:", "sync: { overlap: 90s, skewTolerance: 500ms, bounce: { max: 5, window: 1h } }\ndefaults: { schedule: \"*/15 * * * *\", conflict: \"prefer: crm\", deletes: ignore, create: link-only }\nowner:"),
      "t.yaml",
    );
    expect(spec.sync).toEqual({ overlapMs: 90_000, skewToleranceMs: 500, bounce: { maxBounces: 5, windowMs: 3_600_000 } });
    const o = spec.objects[0];
    expect(o.schedule).toEqual({ cron: "*/15 * * * *" });
    expect(o.conflict).toEqual({ kind: "prefer", side: "crm" });
    expect(o.deletes).toBe("ignore");
    expect(o.create).toBe("link-only");
    expect(o.onMasterEdit).toBe("revert");
    expect(o.fields[0].conflict).toEqual({ kind: "prefer", side: "crm" });
    expect(o.fields[1]).toMatchObject({ master: "erp", toErp: [], toCrm: [], required: false, line: 18 });
  });

  it("built-in defaults when there is no defaults section", () => {
    const o = loadSpec(MINIMAL, "t.yaml").objects[0];
    expect(o).toMatchObject({ schedule: { tier: "hourly" }, conflict: { kind: "review" }, onMasterEdit: "revert", create: "both", deletes: "flag" });
  });

  it("accepts { cron } and last-updated-wins with the file's skew tolerance", () => {
    const spec = loadSpec(
      MINIMAL.replace("    fields:", '    schedule: { cron: "0 2 * * *" }\n    conflict: last-updated-wins\n    fields:').replace("owner:", "sync: { skewTolerance: 3s }\nowner:"),
      "t.yaml",
    );
    expect(spec.objects[0].schedule).toEqual({ cron: "0 2 * * *" });
    expect(spec.objects[0].fields[0].conflict).toEqual({ kind: "last-updated-wins", skewToleranceMs: 3000 });
  });

  it("map step without unmapped: error unless a default is given", () => {
    const spec = loadSpec(
      MINIMAL.replace(
        "      - { crm: cTaxId, erp: tax_id, direction: erp->crm }",
        "      - { crm: type, erp: customer_type, direction: crm->erp, toErp: [ { map: { A: B } } ] }\n      - { crm: t2, erp: customer_group, direction: crm->erp, toErp: [ { map: { A: B }, default: X } ] }",
      ),
      "t.yaml",
    );
    expect(spec.objects[0].fields[1].toErp).toEqual([{ map: { A: "B" }, unmapped: "error" }]);
    expect(spec.objects[0].fields[2].toErp).toEqual([{ map: { A: "B" }, unmapped: "default", default: "X" }]);
  });
});

describe("loadSpec: problems are reported with position and remedy", () => {
  it("wrong direction: line, column, path and valid values", () => {
    const text = MINIMAL.replace("direction: erp->crm", "direction: erp-crm");
    const [i] = issuesOf(text);
    expect(i.line).toBe(16);
    expect(i.column).toBe(text.split("\n")[15].indexOf("erp-crm") + 1);
    expect(i.path).toBe("objects.customer.fields[1].direction");
    expect(i.expected).toContain("crm->erp, erp->crm, both");
    expect(i.expected).toContain("did you mean `erp->crm`");
  });

  it("typo'd key suggests the nearest known key", () => {
    const issues = issuesOf(MINIMAL.replace("    fields:", "    schedual: daily\n    feilds:"));
    const sched = issues.find((i) => i.path === "objects.customer.schedual");
    expect(sched?.expected).toBe("did you mean `schedule`?");
    expect(sched?.line).toBe(14);
    expect(issues.find((i) => i.path === "objects.customer.feilds")?.expected).toBe("did you mean `fields`?");
    // typo inside a field and inside a transform step
    const more = issuesOf(MINIMAL.replace("direction: erp->crm }", "direction: erp->crm, requird: true, toCrm: [ { rnd: 2 } ] }"));
    expect(more.find((i) => i.path.endsWith("requird"))?.expected).toBe("did you mean `required`?");
    expect(more.find((i) => i.path.endsWith("toCrm[0].rnd"))?.expected).toBe("did you mean `round`?");
  });

  it("unknown connector type lists the registered types", () => {
    const [i] = issuesOf(MINIMAL.replace("type: erpnext", "type: sap"));
    expect(i.path).toBe("systems.erp.type");
    expect(i.message).toContain("unknown connector type `sap`");
    expect(i.expected).toContain("espocrm");
    expect(i.expected).toContain("erpnext");
    expect(i.line).toBe(6);
  });

  it("refuses a literal secret without echoing it", () => {
    let err: unknown;
    try {
      loadSpec(MINIMAL.replace('apiSecret: "${ERPNEXT_API_SECRET}"', "apiSecret: hunter2").replace('apiKey: "${ESPOCRM_API_KEY}"', "password: hunter3, apiKey: abc123"), "t.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const issues = (err as SpecError).issues;
    const secret = issues.find((i) => i.path === "systems.erp.credentials.apiSecret");
    expect(secret?.message).toMatch(/credentials must be given as \$\{ENV_VAR\} references; a literal secret in the file would end up in git/);
    expect(secret?.expected).toContain("${ERPNEXT_API_SECRET}");
    expect(issues.find((i) => i.path === "systems.crm.credentials.apiKey")?.message).toContain("${ENV_VAR}");
    expect(issues.find((i) => i.path === "systems.crm.credentials.password" && i.message.includes("${ENV_VAR}"))).toBeDefined();
    // `password` is not a credential of espocrm
    expect(issues.find((i) => i.path === "systems.crm.credentials.password" && i.message.includes("unknown credential"))).toBeDefined();
    const all = JSON.stringify({ m: (err as SpecError).message, issues });
    for (const s of ["hunter2", "hunter3", "abc123"]) expect(all).not.toContain(s);
  });

  it("requires the connector's credential keys", () => {
    const [i] = issuesOf(MINIMAL.replace(', apiSecret: "${ERPNEXT_API_SECRET}"', ""));
    expect(i.message).toContain("missing credential `apiSecret`");
    expect(i.path).toBe("systems.erp.credentials");
  });

  it("parent must be an earlier object", () => {
    const two = `${MINIMAL}  contact:
    crm: { entity: Contact, identity: cAccordId }
    erp: { entity: Contact, identity: name }
    parent: { object: customer, crm: accountId, erp: links.Customer }
    fields: []
`;
    expect(loadSpec(two, "t.yaml").objects[1].parent?.object).toBe("customer");
    const later = issuesOf(two.replace("object: customer", "object: contact"));
    expect(later[0].message).toContain("cannot be its own parent");
    const swapped = issuesOf(
      two.replace("    parent: { object: customer, crm: accountId, erp: links.Customer }\n", "").replace("    fields:\n      - { crm: name", "    parent: { object: contact, crm: x, erp: y }\n    fields:\n      - { crm: name"),
    );
    expect(swapped[0].message).toBe("parent `contact` is defined after `customer`");
    expect(swapped[0].expected).toContain("move `contact` above `customer`");
    const unknown = issuesOf(two.replace("object: customer", "object: custmer"));
    expect(unknown[0].expected).toContain("did you mean `customer`");
  });

  it("field pairs are unique and a field has one source", () => {
    const dup = issuesOf(MINIMAL.replace("      - { crm: cTaxId", "      - { crm: name, erp: customer_name, direction: crm->erp }\n      - { crm: cTaxId"));
    expect(dup.some((i) => i.message.includes("mapped twice") && i.line === 16)).toBe(true);
    const two = issuesOf(MINIMAL.replace("      - { crm: cTaxId", "      - { crm: cName2, erp: customer_name, direction: crm->erp }\n      - { crm: cTaxId"));
    expect(two.find((i) => i.message.includes("`customer_name` is written by two mappings"))?.path).toBe("objects.customer.fields[1].erp");
  });

  it("conflict only on `both`, onMasterEdit only on one-way, transforms only in the travelling direction", () => {
    const issues = issuesOf(
      MINIMAL.replace("direction: erp->crm }", "direction: erp->crm, conflict: review, toErp: [ { round: 1 } ] }").replace(
        "direction: both }",
        "direction: both, onMasterEdit: ignore }",
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      "objects.customer.fields[0].onMasterEdit",
      "objects.customer.fields[1].conflict",
      "objects.customer.fields[1].toErp",
    ]);
  });

  it("schedules: tiers, cron syntax via croner, suggestions", () => {
    const [bad] = issuesOf(MINIMAL.replace("    fields:", "    schedule: hourlyy\n    fields:"));
    expect(bad.expected).toContain("did you mean `hourly`");
    const [cron] = issuesOf(MINIMAL.replace("    fields:", '    schedule: "*/15 25 * * *"\n    fields:'));
    expect(cron.message).toMatch(/invalid cron/);
    const [six] = issuesOf(MINIMAL.replace("    fields:", '    schedule: "0 */15 * * * *"\n    fields:'));
    expect(six.message).toContain("has 6 fields");
  });

  it("unknown conflict policy lists the forms and suggests", () => {
    const [i] = issuesOf(MINIMAL.replace("direction: both }", "direction: both, conflict: last-update-wins }"));
    expect(i.path).toBe("objects.customer.fields[0].conflict");
    expect(i.expected).toContain("first-created-wins");
    expect(i.expected).toContain("did you mean `last-updated-wins`");
  });

  it("missing required keys name the key at the parent's position", () => {
    const issues = issuesOf(MINIMAL.replace("    erp: { entity: Customer, identity: name }\n", "    erp: { entity: Customer }\n").replace("owner: { name: Petra, email: petra@acme.example }\n", ""));
    expect(issues.find((i) => i.message === "missing required key `identity`")?.line).toBe(12); // owner removed: erp is on line 12
    expect(issues.find((i) => i.message === "missing required key `owner`")).toBeDefined();
  });

  it("bad durations, e-mail, url and time zone", () => {
    const issues = issuesOf(
      MINIMAL.replace("owner: { name: Petra, email: petra@acme.example }", "sync: { overlap: 5 minutes }\nowner: { name: Petra, email: petra }")
        .replace("url: http://erp.local:8000", "url: erp.local")
        .replace('credentials: { apiKey: "${ESPOCRM_API_KEY}" } }', 'credentials: { apiKey: "${ESPOCRM_API_KEY}" }, options: { timezone: Mars/Olympus } }'),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toContain("sync.overlap");
    expect(paths).toContain("owner.email");
    expect(paths).toContain("systems.erp.url");
    expect(paths).toContain("systems.crm.options.timezone");
  });

  it("reports all problems at once, sorted by line", () => {
    const issues = issuesOf(MINIMAL.replace("type: espocrm", "type: espo").replace("direction: erp->crm", "direction: up").replace("version: 1", "version: 2"));
    expect(issues.length).toBe(3);
    expect(issues.map((i) => i.line)).toEqual([1, 4, 16]);
  });

  it("YAML syntax errors point at line:col", () => {
    const issues = issuesOf("version: 1\nname: x\nsystems:\n  crm: { type: espocrm\n");
    expect(issues[0].message).toMatch(/^YAML syntax/);
    expect(issues[0].line).toBeGreaterThanOrEqual(4);
    const dup = issuesOf("version: 1\nname: a\nname: b\n");
    expect(dup[0]).toMatchObject({ line: 3, column: 1 });
    expect(dup[0].expected).toContain("once");
  });

  it("empty file and missing file", async () => {
    expect(issuesOf("")[0].message).toBe("the file is empty");
    await expect(loadSpecFile("test/spec/fixtures/nope.yaml")).rejects.toThrow(/no such file/);
  });
});

describe("credentials and urls from the environment", () => {
  const spec = loadSpec(MINIMAL, "t.yaml");
  it("resolves values", () => {
    expect(resolveCredentials(spec.systems.erp, { ERPNEXT_API_KEY: "k", ERPNEXT_API_SECRET: "s" })).toEqual({ apiKey: "k", apiSecret: "s" });
    expect(resolveUrl(spec.systems.crm, { ESPOCRM_URL: "http://crm.local/" })).toBe("http://crm.local");
    expect(resolveUrl(spec.systems.erp, {})).toBe("http://erp.local:8000");
  });
  it("names the missing variable, never a value", () => {
    let err: unknown;
    try {
      resolveCredentials(spec.systems.erp, { ERPNEXT_API_KEY: "topsecret" }, { side: "erp" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).message).toContain("ERPNEXT_API_SECRET");
    expect(JSON.stringify((err as SpecError).issues)).not.toContain("topsecret");
    expect((err as SpecError).message).not.toContain("topsecret");
    expect(() => resolveUrl(spec.systems.crm, {})).toThrow(/ESPOCRM_URL/);
  });
  it("parses durations", () => {
    expect([parseDuration("500ms"), parseDuration("30s"), parseDuration("5m"), parseDuration("1h"), parseDuration("1d"), parseDuration(42)]).toEqual([
      500, 30_000, 300_000, 3_600_000, 86_400_000, 42,
    ]);
    expect(() => parseDuration("5 minutes")).toThrow();
  });
});

describe("identity fields", () => {
  it("may not be the target of a field mapping", () => {
    const issues = issuesOf(MINIMAL.replace("      - { crm: cTaxId", "      - { crm: cAccordId, erp: tax_id, direction: erp->crm }\n      - { crm: cTaxId"));
    const i = issues.find((x) => x.path === "objects.customer.fields[1].crm");
    expect(i?.message).toContain("identity field");
    expect(i?.line).toBe(16);
  });
});

describe("transform steps in the file", () => {
  const withSteps = (steps: string) => MINIMAL.replace("direction: erp->crm }", `direction: erp->crm, toCrm: ${steps} }`);
  it("date patterns: known tokens only, literal letters allowed", () => {
    expect(loadSpec(withSteps('[ { dateFormat: { from: "YYYY-MM-DDTHH:mm:ss", to: "DD.MM.YYYY" } } ]'), "t.yaml").objects[0].fields[1].toCrm).toHaveLength(1);
    const [i] = issuesOf(withSteps("[ { dateFormat: { from: dd/mm/yyyy, to: iso } } ]"));
    expect(i.message).toContain("unknown token `dd`");
    expect(i.path).toBe("objects.customer.fields[1].toCrm[0].dateFormat.from");
  });
  it("JSONata syntax errors are found at load time, with the step's position", () => {
    const text = withSteps("[ { jsonata: '$sum(' } ]");
    const [i] = issuesOf(text);
    expect(i.message).toMatch(/JSONata syntax error/);
    expect(i.line).toBe(16);
    expect(i.column).toBe(text.split("\n")[15].indexOf("'$sum(") + 1);
  });
  it("a bad step names the forms; a bad value inside a step is pinpointed", () => {
    const issues = issuesOf(withSteps("[ round, { scale: x }, { map: { a: b }, unmapped: maybe } ]"));
    expect(issues.find((i) => i.path.endsWith("toCrm[0]"))?.expected).toContain("{ scale: n }");
    expect(issues.find((i) => i.path.endsWith("toCrm[1].scale"))?.message).toBe("expected number, got a string");
    expect(issues.find((i) => i.path.endsWith("toCrm[2].unmapped"))?.expected).toBe("one of: error, pass, default");
  });
  it("a typo'd top-level key is reported once, with the suggestion", () => {
    const issues = issuesOf(MINIMAL.replace("owner:", "ownr:"));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "ownr", line: 9, column: 1, expected: "did you mean `owner`?" });
  });
});

describe("field paths into child tables", () => {
  const withContact = (erpName: string, extra = "") => `${MINIMAL}  contact:
    crm: { entity: Contact, identity: cAccordId }
    erp: { entity: Contact, identity: name${extra} }
    parent: { object: customer, crm: accountId, erp: "links[link_doctype=Customer].link_name" }
    fields:
      - crm: emailAddress
        erp: ${erpName}
        direction: crm->erp
`;

  it("accept table[column=value].field in fields, identity and parent, normalised to one spelling", () => {
    const spec = loadSpec(withContact('"email_ids[ is_primary = 1 ].email_id"'), "t.yaml");
    const contact = spec.objects[1];
    expect(contact.parent?.erp).toBe("links[link_doctype=Customer].link_name");
    expect(contact.fields[0].erp).toBe("email_ids[is_primary=1].email_id");
    // plain names keep working (and a dotted name stays a plain name)
    expect(spec.objects[0].fields[0].erp).toBe("customer_name");
    expect(loadSpec(MINIMAL.replace("identity: name }", "identity: x.y }"), "t.yaml").objects[0].erp.identity).toBe("x.y");
  });

  it("a malformed path is reported at its line and the column of the fault inside the value", () => {
    const text = withContact("email_ids[is_primary=].email_id");
    const [i] = issuesOf(text);
    expect(i.path).toBe("objects.contact.fields[0].erp");
    const line = text.split("\n")[i.line - 1];
    expect(line).toContain("erp: email_ids[is_primary=].email_id");
    // the column points just after `=`, where the value is missing
    expect(line.slice(i.column - 1)).toBe("].email_id");
    expect(i.message).toContain("the column `is_primary` has no value");
    expect(i.expected).toContain("table[column=value].field");

    const quoted = withContact('"email_ids[is_primary=1]email_id"');
    const [q] = issuesOf(quoted);
    expect(quoted.split("\n")[q.line - 1].slice(q.column - 1)).toBe('email_id"');
    expect(q.message).toContain("`.` should be");

    const [p] = issuesOf(withContact("email_id").replace("link_doctype=Customer]", "link_doctype=Customer"));
    expect(p.path).toBe("objects.contact.parent.erp");
    expect(p.message).toContain("not a valid field path");
  });

  it("are refused in filters, and a table is not written both whole and through a path", () => {
    const inFilter = issuesOf(withContact("email_id", ', filter: [ { field: "links[link_doctype=Customer].link_name", op: "=", value: x } ]'));
    expect(inFilter[0].path).toBe("objects.contact.erp.filter[0].field");
    expect(inFilter[0].message).toContain("cannot name a field inside a child table");
    const both = issuesOf(`${withContact("email_ids[is_primary=1].email_id")}      - { crm: cEmails, erp: email_ids, direction: crm->erp }
`);
    expect(both[0].message).toContain("table `email_ids` is written whole by fields[1] and through a path by fields[0]");
  });

  it("the identity check compares paths by meaning, not spelling", () => {
    const issues = issuesOf(
      withContact("x").replace("entity: Contact, identity: name", 'entity: Contact, identity: "links[link_doctype=Customer].link_name"').replace("erp: x", 'erp: "links[ link_doctype = Customer ].link_name"'),
    );
    expect(issues.some((i) => i.message.includes("identity field of this object"))).toBe(true);
  });
});
