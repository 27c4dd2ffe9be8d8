/**
 * The CLI commands plan / sync / review / history as a user runs them: a child process
 * with credentials in the environment, the store in a temporary ACCORD_HOME, over real HTTP
 * against the sandboxes.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { testStoreTarget } from "../support/store.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

let sb: Sandboxes;
let dir: string;
let file: string;
let env: Record<string, string>;

function accord(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
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
}

/** The test's integration file: one customer object between the sandboxes, credentials from the environment. */
function integrationFile(name: string, tz: string, customer: { erp: string; create: string; extra: string }): string {
  return `version: 1
name: ${name}
systems:
  crm: { type: espocrm, url: "\${CRM_URL}", credentials: { apiKey: "\${CRM_KEY}" } }
  erp:
    type: erpnext
    url: "\${ERP_URL}"
    credentials: { apiKey: "\${ERP_KEY}", apiSecret: "\${ERP_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Test Owner, email: owner@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: ${customer.erp}
    create: ${customer.create}
${customer.extra}`;
}

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 6, seed: 11, scope: "accounts" });
  dir = await mkdtemp(join(tmpdir(), "accord-cli-e2e-"));
  file = join(dir, "cli.yaml");
  await writeFile(
    file,
    integrationFile("clie2e", sb.erp.timezone, {
      erp: "{ entity: Customer, identity: name }",
      create: "both",
      extra: `    conflict: review
    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`,
    }),
  );
  env = {
    PATH: process.env.PATH ?? "",
    ACCORD_HOME: join(dir, "home"),
    CRM_URL: sb.crm.url,
    CRM_KEY: sb.crm.apiKey,
    ERP_URL: sb.erp.url,
    ERP_KEY: sb.erp.apiKey,
    ERP_SECRET: sb.erp.apiSecret,
    ...(await testStoreTarget(join(dir, "home", "accord.db"))).env,
  };
});

afterAll(async () => {
  await sb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("accord plan / sync / review / history", () => {
  it("plan prints per record what would change and writes nothing", async () => {
    const r = await accord("plan", file, "--json");
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.totals.read).toBeGreaterThan(0);
    expect(plan.objects[0].records.some((x: { ops: Array<{ kind: string }> }) => x.ops.some((o) => o.kind === "create"))).toBe(true);
    const text = await accord("plan", file);
    expect(text.stdout).toContain("dry run: nothing was written");
    expect(text.stdout).toMatch(/create in (crm|erp)/);
    // nothing was synced: a history lookup finds no link yet
    const h = await accord("history", file, "customer", "nope", "--json");
    expect(JSON.parse(h.stdout).entries).toEqual([]);
  });

  it("sync prints counts that balance, progress on stderr, and exits 4 when records need attention", async () => {
    const r = await accord("sync", file, "--json");
    const res = JSON.parse(r.stdout);
    const t = res.totals;
    expect(t.read).toBe(t.applied + t.unchanged + t.held + t.quarantined);
    expect(r.code).toBe(t.held + t.quarantined > 0 ? 4 : 0);
    expect(r.stderr).toContain("customer: done");
    const again = await accord("sync", file);
    expect(again.stdout).toMatch(/customer: read \d+ = applied 0 \+/);
    expect(again.stderr).not.toContain("tip:");
  });

  it("a large load one record at a time, where creates could share calls, ends with a tip naming --concurrency", async () => {
    const big = await startSandboxes({ accounts: 0, seed: 12, scope: "accounts" });
    try {
      big.servers.crm.control.seed({ Account: Array.from({ length: 220 }, (_, i) => ({ name: `Tip ${i} Ltd`, type: "Customer" })) });
      const keyed = join(dir, "keyed.yaml");
      await writeFile(
        keyed,
        integrationFile("clikeyed", big.erp.timezone, {
          erp: "{ entity: Customer, identity: name, createKey: custom_accord_id }",
          create: "crm->erp",
          extra: `    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
`,
        }),
      );
      const saved = { ...env };
      Object.assign(env, {
        CRM_URL: big.crm.url,
        CRM_KEY: big.crm.apiKey,
        ERP_URL: big.erp.url,
        ERP_KEY: big.erp.apiKey,
        ERP_SECRET: big.erp.apiSecret,
        ACCORD_HOME: join(dir, "home-keyed"),
      });
      try {
        const r = await accord("sync", keyed, "--no-deletes");
        expect(r.code, r.stderr.slice(-800)).toBe(0);
        expect(r.stderr).toMatch(/tip: 220 records were applied one at a time; .*--concurrency 4/);
      } finally {
        for (const k of Object.keys(env)) delete env[k];
        Object.assign(env, saved);
      }
    } finally {
      await big.close();
    }
  });

  it("review and history work from the command line", async () => {
    const list = await accord("review", "list", "-f", file, "--json");
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).integration).toBe("clie2e");
    const bad = await accord("review", "resolve", "1", "--pick", "both");
    expect(bad.code).toBe(2);
    const missing = await accord("review", "resolve", "9999", "--pick", "crm", "--by", "ana");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("does not exist");

    const sync = JSON.parse((await accord("sync", file, "--json", "--verbose")).stdout);
    const linked = sync.objects[0].records.find((x: { counterpartId: string | null }) => x.counterpartId);
    expect(linked).toBeTruthy();
    const h = await accord("history", file, "customer", linked.recordId);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/link #\d+: crm \S+ ↔ erp /);
    expect(h.stdout).toMatch(/create \(both\)|stamp shared id/);
  });
});
