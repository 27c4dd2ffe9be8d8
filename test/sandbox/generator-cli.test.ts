/**
 * End to end: `accord sandbox up` as a person runs it — a child process, credentials read from
 * its output, real HTTP to both emulated systems, a signal to stop it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const children: ChildProcess[] = [];
const dirs: string[] = [];

interface UpJson {
  ok: boolean;
  crm: { url: string; apiUrl: string; apiKey: string; secretKey: string };
  erp: { url: string; apiKey: string; apiSecret: string; timezone: string };
  env: Record<string, string>;
  exports: string;
  truthFile: string;
  stateDir: string;
  seeded: boolean;
  counts: { crm: Record<string, number>; erp: Record<string, number> };
}

function up(args: string[]): Promise<{ child: ChildProcess; info: UpJson; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "sandbox", "up", "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`sandbox up did not print its JSON in time; stderr: ${err}`)), 60_000);
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolvePromise({ child, info: JSON.parse(out.slice(0, nl)) as UpJson, exited });
        } catch (e) {
          reject(e);
        }
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sandbox up exited early (${code}); stderr: ${err}`));
    });
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("accord sandbox up --json", () => {
  it("prints working credentials; without them both systems refuse like the real ones; SIGTERM stops cleanly", async () => {
    const { child, info, exited } = await up(["--accounts", "120", "--seed", "4"]);
    expect(info.ok).toBe(true);
    expect(info.seeded).toBe(true);
    expect(info.env).toEqual({
      ESPOCRM_URL: info.crm.url,
      ESPOCRM_API_KEY: info.crm.apiKey,
      ERPNEXT_URL: info.erp.url,
      ERPNEXT_API_KEY: info.erp.apiKey,
      ERPNEXT_API_SECRET: info.erp.apiSecret,
    });
    expect(info.exports).toMatch(/^export ESPOCRM_URL=\S+ ESPOCRM_API_KEY=\S+ ERPNEXT_URL=\S+ ERPNEXT_API_KEY=\S+ ERPNEXT_API_SECRET=\S+$/);
    expect(existsSync(info.truthFile)).toBe(true);

    // ERPNext: the customer list with the printed credentials (curl -H "Authorization: token k:s")
    const erpOk = await fetch(`${info.erp.url}/api/resource/Customer?limit_page_length=500`, {
      headers: { Authorization: `token ${info.erp.apiKey}:${info.erp.apiSecret}` },
    });
    expect(erpOk.status).toBe(200);
    const erpList = (await erpOk.json()) as { data: Array<{ name: string }> };
    expect(erpList.data).toHaveLength(info.counts.erp.Customer as number);
    // no credentials → runs as Guest → 403; wrong secret → 401 AuthenticationError
    expect((await fetch(`${info.erp.url}/api/resource/Customer`)).status).toBe(403);
    const erpBad = await fetch(`${info.erp.url}/api/resource/Customer`, { headers: { Authorization: `token ${info.erp.apiKey}:nope` } });
    expect(erpBad.status).toBe(401);

    // EspoCRM: the account list with X-Api-Key; without it 401
    const crmOk = await fetch(`${info.crm.url}/api/v1/Account?maxSize=200&select=name`, { headers: { "X-Api-Key": info.crm.apiKey } });
    expect(crmOk.status).toBe(200);
    const crmList = (await crmOk.json()) as { total: number; list: unknown[] };
    expect(crmList.total).toBe(info.counts.crm.Account);
    expect((await fetch(`${info.crm.url}/api/v1/Account`)).status).toBe(401);
    expect((await fetch(`${info.crm.url}/api/v1/Account`, { headers: { "X-Api-Key": "0".repeat(32) } })).status).toBe(401);

    // the ground truth refers to the records as the systems serve them (ids and names kept on seeding)
    const truth = JSON.parse(readFileSync(info.truthFile, "utf8")) as { entities: Array<{ entity: string; crm: string[]; erp: string[] }> };
    const pairs = truth.entities.filter((t) => t.entity === "company" && t.crm.length && t.erp.length).slice(0, 5);
    expect(pairs.length).toBe(5);
    for (const t of pairs) {
      const a = await fetch(`${info.crm.url}/api/v1/Account/${t.crm[0]}`, { headers: { "X-Api-Key": info.crm.apiKey } });
      expect(a.status).toBe(200);
      await a.arrayBuffer();
      const c = await fetch(`${info.erp.url}/api/resource/Customer/${encodeURIComponent(t.erp[0] as string)}`, {
        headers: { Authorization: `token ${info.erp.apiKey}:${info.erp.apiSecret}` },
      });
      expect(c.status).toBe(200);
      await c.arrayBuffer();
    }

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(info.stateDir)).toBe(false); // temporary state is removed on stop
    await expect(fetch(`${info.crm.url}/api/v1/Account`)).rejects.toThrow();
  }, 90_000);

  it("--state DIR: a restart serves the same data with the same keys, including changes made over the API", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-sandbox-state-"));
    dirs.push(dir);
    const first = await up(["--accounts", "60", "--seed", "9", "--state", dir]);
    const crmHeaders = { "X-Api-Key": first.info.crm.apiKey, "Content-Type": "application/json" };
    const created = await fetch(`${first.info.crm.url}/api/v1/Account`, {
      method: "POST",
      headers: crmHeaders,
      body: JSON.stringify({ name: "Made During The Trial GmbH" }),
    });
    expect(created.status).toBe(200);
    const id = ((await created.json()) as { id: string }).id;
    const erpAuth = { Authorization: `token ${first.info.erp.apiKey}:${first.info.erp.apiSecret}`, "Content-Type": "application/json" };
    const cust = await fetch(`${first.info.erp.url}/api/resource/Customer`, {
      method: "POST",
      headers: erpAuth,
      body: JSON.stringify({ customer_name: "Made During The Trial GmbH", customer_type: "Company" }),
    });
    expect(cust.status).toBe(200);
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);

    const second = await up(["--state", dir]);
    expect(second.info.seeded).toBe(false);
    expect(second.info.crm.apiKey).toBe(first.info.crm.apiKey);
    expect(second.info.erp.apiSecret).toBe(first.info.erp.apiSecret);
    const again = await fetch(`${second.info.crm.url}/api/v1/Account/${id}`, { headers: { "X-Api-Key": second.info.crm.apiKey } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { name: string }).name).toBe("Made During The Trial GmbH");
    const erpAgain = await fetch(`${second.info.erp.url}/api/resource/Customer/${encodeURIComponent("Made During The Trial GmbH")}`, {
      headers: { Authorization: `token ${second.info.erp.apiKey}:${second.info.erp.apiSecret}` },
    });
    expect(erpAgain.status).toBe(200);
    const total = await fetch(`${second.info.crm.url}/api/v1/Account?maxSize=1`, { headers: { "X-Api-Key": second.info.crm.apiKey } });
    expect(((await total.json()) as { total: number }).total).toBe((first.info.counts.crm.Account as number) + 1);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(existsSync(join(dir, "truth.json"))).toBe(true);
  }, 120_000);

  it("a port in use: exit 1 and a message that says which option to change", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const c = spawn(
          process.execPath,
          ["--disable-warning=ExperimentalWarning", MAIN, "sandbox", "up", "--accounts", "5", "--erp-port", String(port)],
          {
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        children.push(c);
        let stderr = "";
        c.stderr?.on("data", (b: Buffer) => {
          stderr += b.toString();
        });
        c.on("exit", (code) => done({ code, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("port already in use");
      expect(r.stderr).toContain("--erp-port");
    } finally {
      blocker.close();
    }
  }, 60_000);

  it("refuses invalid options with exit 2 and says what is wrong", () => {
    const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "sandbox", "up", "--accounts", "many"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--accounts must be a whole number");
    const s = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "sandbox", "up", "--scope", "some"], {
      encoding: "utf8",
    });
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('--scope must be "full" or "accounts"');
    const h = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "sandbox", "up", "--help"], { encoding: "utf8" });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain("Examples:");
    expect(h.stdout).toContain("--state <dir>");
  });
});
