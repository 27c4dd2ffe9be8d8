/**
 * `accord audit`: the format checks on their own (pure), then a whole audit against the emulated
 * systems over HTTP with records made to carry each problem, its summary, table and CSV, and
 * the CLI's --json / --csv.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector, RemoteRecord } from "../../src/connectors/types.ts";
import { type AuditReport, auditIntegration, checkFormats, type Problem } from "../../src/quality/audit.ts";
import { auditCsv, renderAuditSummary, renderAuditTable } from "../../src/quality/report.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { Store } from "../../src/store/types.ts";
import { type TestStoreTarget, testStoreTarget } from "../support/store.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

function rec(id: string, values: Record<string, unknown>): RemoteRecord {
  return { id, modifiedAt: "2026-01-01T00:00:00.000Z", values };
}

const SPEC = `
version: 1
name: audittest
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp: { type: erpnext, url: "\${ERPNEXT_URL}", credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }, options: { timezone: Europe/Berlin } }
owner: { name: Ops, email: ops@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
      - { crm: website, erp: website, direction: crm->erp, required: true }
      - crm: type
        erp: customer_type
        direction: crm->erp
        toErp: [ { map: { Customer: Company, Partner: Partnership }, unmapped: error } ]
      - { crm: phoneNumber, erp: mobile_no, direction: crm->erp }
      - { crm: emailAddress, erp: email_id, direction: crm->erp }
      - { crm: billingAddressCountry, erp: territory, direction: crm->erp, toErp: [ { map: { Germany: Germany }, unmapped: pass } ] }
      - { crm: billingAddressPostalCode, erp: default_currency, direction: crm->erp, toErp: [ { jsonata: "$" } ] }
  contact:
    crm: { entity: Contact, identity: cAccordId }
    erp: { entity: Contact, identity: name }
    parent: { object: customer, crm: accountId, erp: links.Customer }
    fields:
      - { crm: lastName, erp: last_name, direction: crm->erp, required: true }
`;

describe("format checks", () => {
  const spec = loadSpec(SPEC.replace(/\$\{(ESPOCRM_URL|ERPNEXT_URL)\}/g, "http://127.0.0.1:1"), "audittest.yaml");
  const customer = spec.objects[0];
  if (!customer) throw new Error("no object");
  const run = (records: RemoteRecord[], fields: string[]) => {
    const out: Array<{ id: string; problem: Problem; detail: string }> = [];
    checkFormats(records, fields, customer, "crm", (r, problem, _f, _v, detail) => out.push({ id: r.id, problem, detail }));
    return out;
  };

  it("finds stray whitespace, non-E.164 phones, malformed or shouting e-mail addresses", () => {
    const found = run(
      [
        rec("1", { name: " Acme GmbH", phoneNumber: "+49 30 1234567", emailAddress: "Info@ACME.example" }),
        rec("2", { name: "Acme  Two GmbH", phoneNumber: "030 1234567", emailAddress: "nobody-at-all" }),
        rec("3", { name: "Fine GmbH", phoneNumber: "+49301234567", emailAddress: "info@fine.example" }),
      ],
      ["name", "phoneNumber", "emailAddress"],
    );
    expect(found.filter((f) => f.id === "3")).toEqual([]);
    expect(
      found
        .filter((f) => f.id === "1")
        .map((f) => f.problem)
        .sort(),
    ).toEqual(["email-format", "phone-format", "whitespace"]);
    expect(
      found
        .filter((f) => f.id === "2")
        .map((f) => f.problem)
        .sort(),
    ).toEqual(["email-format", "phone-format", "whitespace"]);
  });

  it("flags country spellings other than the system's usual one, and unknown countries", () => {
    const found = run(
      [
        rec("1", { billingAddressCountry: "Germany" }),
        rec("2", { billingAddressCountry: "Germany" }),
        rec("3", { billingAddressCountry: "Deutschland" }),
        rec("4", { billingAddressCountry: "DE" }),
        rec("5", { billingAddressCountry: "France" }),
        rec("6", { billingAddressCountry: "Atlantis" }),
      ],
      ["billingAddressCountry"],
    );
    expect(found.map((f) => f.id)).toEqual(["3", "4", "6"]);
    expect(found[0]?.detail).toMatch(/most records write "Germany"/);
    expect(found[2]?.detail).toMatch(/unknown country/);
  });

  it("flags postal code casing and country prefixes, shouting names, legal-suffix variants", () => {
    const found = run(
      [
        rec("1", { billingAddressPostalCode: "sw1a 1aa", name: "VOSWUV TRADING SAS" }),
        rec("2", { billingAddressPostalCode: "D-80479", name: "Swomeas L.L.P." }),
        rec("3", { billingAddressPostalCode: "80479", name: "IBM Corp." }),
        rec("4", { billingAddressPostalCode: "SW1A 1AA", name: "acme trading" }),
      ],
      ["billingAddressPostalCode", "name"],
    );
    const by = (id: string) =>
      found
        .filter((f) => f.id === id)
        .map((f) => f.problem)
        .sort();
    expect(by("1")).toEqual(["casing", "postal-code-format"]);
    expect(by("2")).toEqual(["legal-suffix", "postal-code-format"]);
    expect(by("3")).toEqual([]);
    expect(by("4")).toEqual(["casing"]);
  });
});

describe("auditIntegration against the emulated systems", () => {
  let sb: Sandboxes;
  let dir: string;
  let crm: Connector;
  let erp: Connector;
  let store: Store;
  let target: TestStoreTarget;
  let env: Record<string, string>;
  let report: AuditReport;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "accord-audit-"));
    sb = await startSandboxes({ accounts: 0 });
    env = {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    };
    crm = await createConnector("espocrm", { url: sb.crm.url, credentials: { apiKey: sb.crm.apiKey } });
    erp = await createConnector("erpnext", {
      url: sb.erp.url,
      credentials: { apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret },
      options: { timezone: sb.erp.timezone },
    });
    target = await testStoreTarget(join(dir, "accord.db"));
    store = await target.open();
    const cust = { customer_group: "Commercial", territory: "All Territories", customer_type: "Company" };
    // a pair across systems, a duplicate inside the CRM, a CRM-only and an ERP-only company
    ids.acme1 = (
      await crm.create("Account", {
        name: "Acme Tools GmbH",
        website: "acme-tools.example",
        billingAddressCity: "Berlin",
        billingAddressCountry: "Germany",
        type: "Customer",
      })
    ).id;
    ids.acme2 = (
      await crm.create("Account", {
        name: "ACME TOOLS, GMBH",
        website: "acme-tools.example",
        billingAddressCity: "Berlin",
        billingAddressCountry: "Deutschland",
        type: "Customer",
      })
    ).id;
    ids.investor = (
      await crm.create("Account", {
        name: "Lonely Capital Partners",
        website: "",
        type: "Investor",
        billingAddressCity: "Hamburg",
        billingAddressCountry: "Germany",
      })
    ).id;
    ids.noType = (
      await crm.create("Account", {
        name: "Quiet Meadow Farms",
        website: "quietmeadow.example",
        billingAddressCity: "Hamburg",
        billingAddressCountry: "Germany",
      })
    ).id;
    ids.contactNoAccount = (await crm.create("Contact", { lastName: "Orphan" })).id;
    ids.erpAcme = (await erp.create("Customer", { customer_name: "Acme Tools GmbH", website: "https://acme-tools.example", ...cust })).id;
    ids.erpOnly = (await erp.create("Customer", { customer_name: "Zephyr Shipping Ltd", website: "https://zephyr.example", ...cust })).id;
    const opened = await (await import("../../src/engine/context.ts")).openContext(loadSpec(SPEC, "audittest.yaml"), {
      env,
      store: target.options,
    });
    try {
      report = await auditIntegration(opened.ctx);
    } finally {
      await opened.close();
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([crm?.close(), erp?.close(), store?.close()]);
    await sb?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const issuesOf = (id: string) =>
    report.issues
      .filter((i) => i.recordId === id)
      .map((i) => `${i.problem}:${i.field ?? ""}`)
      .sort();

  it("reports duplicates inside a system, with why", () => {
    expect(report.summary.clusters).toEqual({ crm: 1, erp: 0 });
    expect(report.duplicates[0]?.recordIds.sort()).toEqual([ids.acme1, ids.acme2].sort());
    expect(report.duplicates[0]?.why[0]).toMatch(/\w/);
    expect(report.summary.counts.crm.duplicate).toBe(2);
  });

  it("reports missing required fields, a child without its parent, and values the value map cannot carry", () => {
    expect(issuesOf(ids.investor)).toContain("missing-field:website");
    expect(issuesOf(ids.investor)).toContain("unmappable-value:type");
    expect(report.issues.find((i) => i.recordId === ids.investor && i.problem === "unmappable-value")?.detail).toMatch(
      /"Investor" has no entry/,
    );
    expect(issuesOf(ids.contactNoAccount)).toContain("missing-field:accountId");
    expect(issuesOf(ids.acme1).filter((x) => x.startsWith("unmappable"))).toEqual([]);
    // an empty type would be written into ERPNext's required customer_type
    expect(issuesOf(ids.noType)).toEqual(["missing-field:type"]);
    expect(report.issues.find((i) => i.recordId === ids.noType)?.detail).toMatch(/customer_type is required there/);
  });

  it("reports formats: casing and the odd country spelling", () => {
    expect(issuesOf(ids.acme2)).toEqual(expect.arrayContaining(["casing:name", "country-format:billingAddressCountry"]));
    expect(issuesOf(ids.acme1)).toEqual(["duplicate:"]);
  });

  it("matches across systems: probable pairs, CRM-only and ERP-only", () => {
    expect(report.summary.cross).toMatchObject({ probablePairs: 1, crmOnly: 3, erpOnly: 1, alreadyLinked: 0, matchable: true });
  });

  it("reads in ten seconds, lists the details, and exports CSV", () => {
    const text = renderAuditSummary(report);
    expect(text).toMatch(/^Audit of audittest — customer: 4 CRM records, 2 ERP records/);
    expect(text).toMatch(/duplicate records\s+2\s+0\s+\(clusters: 1 CRM, 0 ERP\)/);
    expect(text).toMatch(/Across systems: 1 probable pairs, 0 to review, 3 CRM-only, 1 ERP-only\./);
    expect(text.split("\n").length).toBeLessThan(20);
    const table = renderAuditTable(report.issues, { limit: 2 });
    expect(table.split("\n")[0]).toMatch(/^system\s+object\s+record\s+name\s+problem\s+field\s+value\s+detail$/);
    expect(table).toMatch(/… and \d+ more/);
    const csv = auditCsv(report).trim().split("\n");
    expect(csv).toHaveLength(report.issues.length + 1);
    expect(csv[0]).toBe("system,object,entity,record_id,name,problem,field,value,detail");
  });

  it("accord audit --json and --csv through the CLI", async () => {
    const file = join(dir, "audittest.yaml");
    await writeFile(file, SPEC);
    const csvFile = join(dir, "out.csv");
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res, rej) => {
      const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "audit", file, "--json", "--csv", csvFile], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, ACCORD_HOME: join(dir, ".accord"), ...target.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => {
        stdout += d;
      });
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      p.on("error", rej);
      p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as AuditReport & { ok: boolean };
    expect(out.ok).toBe(true);
    expect(out.summary.cross.probablePairs).toBe(1);
    expect((await readFile(csvFile, "utf8")).trim().split("\n")).toHaveLength(out.issues.length + 1);
  });
});
