/**
 * `accord integration …`, `accord user add --tenant` and `accord server` (no FILE) as an operator
 * runs them: child processes, a temporary ACCORD_HOME, on SQLite and on the real PostgreSQL
 * (DATABASE_URL with a fresh schema). Keys from the environment only; no secret value is ever
 * printed or stored in clear.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, dropTestSchema, urlWithSchema } from "../support/store.ts";
import { newKey, secretsFor } from "./fixtures.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const FILE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");

type Run = { code: number; stdout: string; stderr: string };

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`accord integration [${dialect}]`, () => {
    let home: string;
    let schema: string | undefined;
    let storeEnv: Record<string, string> = {};
    let server: ChildProcess | undefined;
    const k1 = newKey();
    const k2 = newKey();

    function accord(args: string[], extra: Record<string, string> = {}, stdin = ""): Promise<Run> {
      return new Promise((res, rej) => {
        const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
          env: { PATH: process.env.PATH ?? "", HOME: home, ACCORD_HOME: home, ...storeEnv, ...extra },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("error", rej);
        p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
        p.stdin.end(stdin);
      });
    }

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), "accord-registry-cli-"));
      if (dialect === "postgres") {
        schema = await createTestSchema();
        storeEnv = { DATABASE_URL: urlWithSchema(schema) };
      } else storeEnv = { DATABASE_URL: "" };
    });

    afterAll(async () => {
      if (server && server.exitCode === null) server.kill("SIGKILL");
      if (schema) await dropTestSchema(schema);
      await rm(home, { recursive: true, force: true });
    });

    it("keygen prints a 32-byte base64 key; without a key, add says how to make one", async () => {
      const g = await accord(["integration", "keygen"]);
      expect(g.code).toBe(0);
      expect(Buffer.from(g.stdout.trim(), "base64").length).toBe(32);
      const noKey = await accord(["integration", "add", FILE, "--tenant", "acme", "--secrets-from-env"], secretsFor("a"));
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toMatch(/ACCORD_SECRET_KEY.*accord integration keygen/s);
      const short = await accord(["integration", "list"], { ACCORD_SECRET_KEY: "c2hvcnQ=" });
      expect(short.code).toBe(0); // list needs no key
      const shortAdd = await accord(["integration", "add", FILE, "--tenant", "acme"], { ACCORD_SECRET_KEY: "c2hvcnQ=" });
      expect(shortAdd.stderr).toMatch(/5 bytes.*32/);
      expect(shortAdd.stderr).not.toContain("c2hvcnQ=");
    });

    it("add refuses missing variables by name, then registers with --secrets-from-env and --secret", async () => {
      const { ERPNEXT_API_SECRET: _s, ...partial } = secretsFor("a");
      const miss = await accord(["integration", "add", FILE, "--tenant", "acme", "--secrets-from-env"], {
        ...partial,
        ACCORD_SECRET_KEY: k1,
      });
      expect(miss.code).toBe(2);
      expect(miss.stderr).toContain("missing: ERPNEXT_API_SECRET");
      const ok = await accord(
        ["integration", "add", FILE, "--tenant", "acme", "--secrets-from-env", "--secret", "ERPNEXT_API_SECRET=from-flag-s3cr3t", "--json"],
        { ...partial, ACCORD_SECRET_KEY: k1, ACCORD_WEBHOOK_SECRETS_CRM: "hook-s3cr3t" },
      );
      expect(ok.code, ok.stderr).toBe(0);
      const reg = JSON.parse(ok.stdout).integration;
      expect(reg).toMatchObject({ name: "acme", tenant: "acme", enabled: true });
      expect(reg.secretNames).toEqual([
        "ACCORD_WEBHOOK_SECRETS_CRM",
        "ERPNEXT_API_KEY",
        "ERPNEXT_API_SECRET",
        "ERPNEXT_URL",
        "ESPOCRM_API_KEY",
        "ESPOCRM_URL",
      ]);
      expect(ok.stdout).not.toMatch(/s3cr3t/);
      const changes = await accord(["changes", "--help"]);
      expect(changes.code).toBe(0);
    });

    it("list and show give names, tenants and secret NAMES, never values", async () => {
      const list = await accord(["integration", "list", "--json"]);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout).integrations.map((i: { name: string }) => i.name)).toEqual(["acme"]);
      expect((await accord(["integration", "list", "--tenant", "other", "--json"])).stdout).toMatch(/"integrations": \[\]/);
      const show = await accord(["integration", "show", "acme", "--json"]);
      expect(show.code).toBe(0);
      const shown = JSON.parse(show.stdout).integration;
      expect(shown.objects.find((o: { name: string }) => o.name === "customer")).toMatchObject({ schedule: expect.any(String) });
      for (const out of [list.stdout, show.stdout, (await accord(["integration", "show", "acme"])).stdout])
        expect(out).not.toMatch(/s3cr3t/);
    });

    it("set-secret reads the value from stdin; rotation: k2 first, rekey moves everything to k2, then k1 can go", async () => {
      const set = await accord(["integration", "set-secret", "acme", "ESPOCRM_API_KEY"], { ACCORD_SECRET_KEY: k1 }, "piped-s3cr3t\n");
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).not.toContain("piped");
      const rotated = { ACCORD_SECRET_KEYS: `k2:${k2},k1:${k1}` };
      const rk = await accord(["integration", "rekey", "--json"], rotated);
      expect(rk.code, rk.stderr).toBe(0);
      expect(JSON.parse(rk.stdout)).toMatchObject({ total: 1, rekeyed: 1, currentKey: "k2", before: { k1: 1 } });
      // k1 alone no longer opens it; k2 alone does
      const oldOnly = await accord(["integration", "set-secret", "acme", "X_EXTRA"], { ACCORD_SECRET_KEY: k1 }, "v\n");
      expect(oldOnly.code).not.toBe(0);
      expect(oldOnly.stderr).toMatch(/key k2, which is not in ACCORD_SECRET_KEYS/);
      const newOnly = await accord(["integration", "set-secret", "acme", "X_EXTRA"], { ACCORD_SECRET_KEYS: `k2:${k2}` }, "v\n");
      expect(newOnly.code, newOnly.stderr).toBe(0);
    });

    it("the database holds no plaintext secret", async () => {
      if (dialect === "sqlite") {
        const files = (await readdir(home)).filter((f) => f.includes(".db"));
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          const bytes = (await readFile(join(home, f))).toString("latin1");
          expect(bytes).toContain("acme"); // the row is there…
          for (const v of ["s3cr3t", "piped-s3cr3t", "hook-s3cr3t", "from-flag"]) expect(bytes).not.toContain(v); // …its secrets are not
        }
      } else {
        const pg = (await import("pg")).default;
        const c = new pg.Client({ connectionString: storeEnv.DATABASE_URL });
        await c.connect();
        try {
          const r = await c.query("select * from integrations");
          expect(r.rows.length).toBe(1);
          expect(JSON.stringify(r.rows)).not.toMatch(/s3cr3t|from-flag/);
        } finally {
          await c.end();
        }
      }
    });

    it("accord server with no FILE serves the registry; a tenant user sees their tenant's only", async () => {
      for (const [name, tenant] of [
        ["acme-ops", "acme"],
        ["zeta-ops", "zeta"],
      ]) {
        const u = await accord(
          ["user", "add", name, "--role", "admin", "--tenant", tenant, "--password-stdin"],
          {},
          "long enough password\n",
        );
        expect(u.code, u.stderr).toBe(0);
      }
      const list = await accord(["user", "list", "--json"]);
      expect(JSON.parse(list.stdout).users).toMatchObject([
        { name: "acme-ops", tenant: "acme" },
        { name: "zeta-ops", tenant: "zeta" },
      ]);
      const tokens: Record<string, string> = {};
      for (const name of ["acme-ops", "zeta-ops"]) {
        const t = await accord(["token", "create", "--user", name, "--json"]);
        expect(t.code, t.stderr).toBe(0);
        tokens[name] = JSON.parse(t.stdout).token;
      }
      const proc = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "server", "--port", "0", "--offline"], {
        env: { PATH: process.env.PATH ?? "", HOME: home, ACCORD_HOME: home, ...storeEnv, ACCORD_SECRET_KEYS: `k2:${k2}` },
        stdio: ["ignore", "pipe", "pipe"],
      });
      server = proc;
      let out = "";
      proc.stderr.on("data", (d) => (out += d));
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`server did not start: ${out}`)), 20_000);
        proc.stdout.on("data", (d) => {
          out += d;
          const m = /Accord console: (http:\/\/\S+?)\/? /.exec(out);
          if (m) {
            clearTimeout(timer);
            res(m[1] as string);
          }
        });
      });
      expect(out).toMatch(/registry: integrations: acme/);
      const get = async (who: string, path: string) => {
        const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${tokens[who]}` } });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      expect((await get("acme-ops", "/api/integrations")).body.integrations).toMatchObject([{ name: "acme", tenant: "acme" }]);
      expect((await get("zeta-ops", "/api/integrations")).body.integrations).toEqual([]);
      expect((await get("acme-ops", "/api/integrations/acme/dashboard")).status).toBe(200);
      expect((await get("zeta-ops", "/api/integrations/acme/dashboard")).status).toBe(404);
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("close", r));
    });
  });
}
