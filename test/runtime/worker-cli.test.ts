/**
 * `accord worker` as a process on SQLite (no DATABASE_URL): it says it runs the jobs in-process, runs
 * the registered integration's objects, and stops cleanly on SIGTERM. `--help` teaches the env and
 * what a crash does.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey, keyringFromEnv, registerIntegration } from "../../src/registry/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { openStore } from "../../src/store/index.ts";

const CLI_MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = generateKey();
let sb: Sandboxes;
let dir: string;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  sb.servers.crm.control.seed({ Account: [0, 1, 2, 3].map((k) => ({ name: `Cli ${k} GmbH`, type: "Customer" })) });
  dir = await mkdtemp(join(tmpdir(), "accord-worker-cli-"));
  const store = await openStore({ file: join(dir, "home", "accord.db") });
  await registerIntegration(store, {
    specText: `version: 1
name: cli
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp:
    type: erpnext
    url: "\${ERPNEXT_URL}"
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
    options: { timezone: ${sb.erp.timezone} }
owner: { name: Cli, email: cli@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    schedule: hourly
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
`,
    tenant: "t1",
    keyring: keyringFromEnv({ ACCORD_SECRET_KEY: key }),
    secrets: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    },
  });
  await store.close();
}, 30_000);

afterAll(async () => {
  await sb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("accord worker (process, SQLite)", () => {
  it("runs the registered integration in-process and stops on SIGTERM", { timeout: 40_000 }, async () => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI_MAIN, "worker", "--concurrency", "2"], {
      env: { PATH: process.env.PATH ?? "", ACCORD_HOME: join(dir, "home"), ACCORD_SECRET_KEY: key, DATABASE_URL: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const end = Date.now() + 25_000;
    while (Date.now() < end && !/run ok: cli\/customer/.test(stderr)) await sleep(100);
    expect(stderr).toMatch(/no DATABASE_URL — jobs run in this process on the SQLite store/);
    expect(stderr, stderr.slice(-2000)).toMatch(/run ok: cli\/customer/);
    const t = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - t).toBeLessThan(10_000);
    const erp = (await (await fetch(`${sb.erp.url}/__sandbox/dump?doctype=Customer`)).json()) as { data: Array<{ customer_name: string }> };
    expect(erp.data.map((c) => c.customer_name).sort()).toEqual(["Cli 0 GmbH", "Cli 1 GmbH", "Cli 2 GmbH", "Cli 3 GmbH"]);
  });

  it("--help names the environment, gives examples and says what a crash does", () => {
    const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", CLI_MAIN, "worker", "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const s of ["DATABASE_URL", "ACCORD_SECRET_KEY", "--concurrency", "--integration", "crash", "dead letter", "Examples:"])
      expect(r.stdout).toContain(s);
  });
});
