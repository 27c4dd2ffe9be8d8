/** The real CLI, spawned as a user runs it. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const NODE = join(process.cwd(), ".tools/node/bin/node");
const node = (() => {
  try {
    readFileSync(NODE);
    return NODE;
  } catch {
    return process.execPath;
  }
})();

function accord(...args: string[]) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(ESPOCRM|ERPNEXT)_/.test(k)) delete env[k];
  const r = spawnSync(node, ["--disable-warning=ExperimentalWarning", "src/cli/main.ts", ...args], { encoding: "utf8", env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("accord validate", () => {
  it("the example is valid without any environment variable set (exit 0) and gets a summary", () => {
    const r = accord("validate", "examples/espocrm-erpnext.yaml");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is valid: integration "acme", espocrm ↔ erpnext, 10 objects');
    expect(r.stdout).toMatch(/customer\s+Account\s+Customer\s+10\s/);
  });

  it("--json gives data", () => {
    const r = accord("validate", "examples/espocrm-erpnext.yaml", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; objects: Array<{ object: string; fields: number }> };
    expect(out.ok).toBe(true);
    expect(out.objects.map((o) => o.object)).toEqual(["customer", "billingAddress", "contact", "product", "price", "stock", "salesOrder", "dealInvoices", "accountInvoices", "accountPayments"]);
  });

  it("a wrong direction on line 40 exits 2 and names line 40 and the valid directions", () => {
    const file = "test/spec/fixtures/wrong-direction.yaml";
    expect(readFileSync(file, "utf8").split("\n")[39]).toContain("direction: from-erp"); // the fixture is what the test says
    const r = accord("validate", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:40:`);
    expect(r.stderr).toContain("objects.customer.fields[3].direction");
    expect(r.stderr).toContain("one of: crm->erp, erp->crm, both");
    expect(r.stdout).toBe("");
    const j = accord("validate", file, "--json");
    expect(j.code).toBe(2);
    const out = JSON.parse(j.stdout) as { ok: boolean; issues: Array<{ line: number; column: number; expected: string }> };
    expect(out.ok).toBe(false);
    expect(out.issues).toHaveLength(1);
    expect(out.issues[0]).toMatchObject({ line: 40, column: 62 });
  });

  it("a literal password is refused (exit 2) and not printed", () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-spec-"));
    const file = join(dir, "literal.yaml");
    writeFileSync(file, readFileSync("examples/espocrm-erpnext.yaml", "utf8").replace('apiKey: "${ESPOCRM_API_KEY}"', "apiKey: s3cr3t-Pa55"));
    const r = accord("validate", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("credentials must be given as ${ENV_VAR} references");
    expect(r.stderr + r.stdout).not.toContain("s3cr3t-Pa55");
  });

  it("a missing file is invalid input (exit 2)", () => {
    const r = accord("validate", "no/such/file.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no such file");
  });
});

describe("accord schema and accord doc", () => {
  it("schema prints a JSON Schema", () => {
    const r = accord("schema");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown> };
    expect(s.$schema).toMatch(/json-schema/);
    expect(s.properties.objects).toBeDefined();
  });

  it("doc renders md, csv and html, to stdout or --out", () => {
    const md = accord("doc", "examples/espocrm-erpnext.yaml");
    expect(md.code).toBe(0);
    expect(md.stdout).toContain("# Field mapping: acme");
    const csv = accord("doc", "examples/espocrm-erpnext.yaml", "--format", "csv");
    expect(csv.stdout.split("\r\n")[0]).toMatch(/^Object,CRM entity,ERP entity,CRM field/);
    const dir = mkdtempSync(join(tmpdir(), "accord-doc-"));
    const out = join(dir, "m.html");
    const html = accord("doc", "examples/espocrm-erpnext.yaml", "--format", "html", "--out", out);
    expect(html.code).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^<!DOCTYPE html>[\s\S]*billingAddress: Account ↔ Address/);
    const bad = accord("doc", "examples/espocrm-erpnext.yaml", "--format", "pdf");
    expect(bad.code).toBe(2);
    const invalid = accord("doc", "test/spec/fixtures/wrong-direction.yaml");
    expect(invalid.code).toBe(2);
  });

  it("--help teaches with examples", () => {
    for (const c of ["validate", "doc", "schema"]) {
      const r = accord(c, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Examples:");
    }
  });
});

describe("accord validate --check-env", () => {
  it("names every unset variable (exit 2) and passes when all are set, never printing values", () => {
    const missing = accord("validate", "examples/espocrm-erpnext.yaml", "--check-env");
    expect(missing.code).toBe(2);
    for (const v of ["ESPOCRM_URL", "ESPOCRM_API_KEY", "ERPNEXT_URL", "ERPNEXT_API_KEY", "ERPNEXT_API_SECRET"]) expect(missing.stderr).toContain(v);
    const env = { ESPOCRM_URL: "http://crm.local", ESPOCRM_API_KEY: "k-espo-123", ERPNEXT_URL: "http://erp.local", ERPNEXT_API_KEY: "k-erp-456", ERPNEXT_API_SECRET: "s-erp-789" };
    const r = spawnSync(node, ["--disable-warning=ExperimentalWarning", "src/cli/main.ts", "validate", "examples/espocrm-erpnext.yaml", "--check-env"], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    expect(r.status).toBe(0);
    for (const v of Object.values(env).filter((x) => !x.startsWith("http"))) expect(r.stdout + r.stderr).not.toContain(v);
  });
});
