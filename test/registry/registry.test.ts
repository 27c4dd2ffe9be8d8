/** The registry on SQLite and on the real PostgreSQL: register, list, load, secrets, rotation (rekey), raw rows hold no plaintext. */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, Duplicate, SpecError } from "../../src/errors.ts";
import {
  getIntegration,
  listIntegrations,
  loadIntegration,
  registerIntegration,
  rekey,
  removeIntegration,
  secretsFromEnv,
  setSecret,
} from "../../src/registry/index.ts";
import type { KyselyStore, Store } from "../../src/store/index.ts";
import { type Dialect, freshStore, keyring, newKey, secretsFor, specNamed } from "./fixtures.ts";

for (const dialect of ["sqlite", "postgres"] as Dialect[]) {
  describe(`registry [${dialect}]`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    const k1 = newKey();
    const ring1 = keyring(`k1:${k1}`);

    beforeAll(async () => {
      ({ store, dispose } = await freshStore(dialect));
    });
    afterAll(async () => {
      await dispose?.();
    });

    it("takes the name from the file and keeps the tenant, hash and secret names (never values)", async () => {
      const reg = await registerIntegration(store, {
        specText: specNamed("alpha-sync"),
        tenant: "alpha",
        secrets: secretsFor("a"),
        keyring: ring1,
      });
      expect(reg.name).toBe("alpha-sync");
      expect(reg.tenant).toBe("alpha");
      expect(reg.enabled).toBe(true);
      expect(reg.specHash).toMatch(/^[0-9a-f]{64}$/);
      expect(reg.secretNames).toEqual(Object.keys(secretsFor("a")).sort());
      expect(JSON.stringify(reg)).not.toContain("s3cr3t");
      await registerIntegration(store, { specText: specNamed("beta-sync"), tenant: "beta", secrets: secretsFor("b"), keyring: ring1 });
      expect((await listIntegrations(store)).map((i) => i.name)).toEqual(["alpha-sync", "beta-sync"]);
      expect((await listIntegrations(store, { tenant: "beta" })).map((i) => i.name)).toEqual(["beta-sync"]);
      expect((await getIntegration(store, "alpha-sync"))?.tenant).toBe("alpha");
      const versions = await store.listSpecVersions("alpha-sync");
      expect(versions).toMatchObject([{ hash: reg.specHash, author: "accord integration add", why: "registered for tenant alpha" }]);
    });

    it("refuses a file whose VARs are not all supplied, listing the missing names", async () => {
      const { ERPNEXT_API_SECRET: _s, ESPOCRM_URL: _u, ...partial } = secretsFor("c");
      const err = await registerIntegration(store, {
        specText: specNamed("gamma-sync"),
        tenant: "gamma",
        secrets: partial,
        keyring: ring1,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as Error).message).toContain("missing: ESPOCRM_URL, ERPNEXT_API_SECRET");
      expect(await getIntegration(store, "gamma-sync")).toBeUndefined();
    });

    it("refuses an invalid file with its line", async () => {
      const err = await registerIntegration(store, {
        specText: specNamed("delta").replace("version: 1", "version: 7"),
        file: "delta.yaml",
        tenant: "delta",
        secrets: secretsFor("d"),
        keyring: ring1,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as Error).message).toMatch(/delta\.yaml/);
    });

    it("a name held by another tenant is refused", async () => {
      await expect(
        registerIntegration(store, { specText: specNamed("alpha-sync"), tenant: "beta", secrets: secretsFor("x"), keyring: ring1 }),
      ).rejects.toBeInstanceOf(Duplicate);
      expect((await getIntegration(store, "alpha-sync"))?.tenant).toBe("alpha");
    });

    it("loadIntegration: the parsed spec and env = its own decrypted secrets only", async () => {
      process.env.ACCORD_REGISTRY_TEST_LEAK = "from-process-env";
      const loaded = await loadIntegration(store, "beta-sync", ring1);
      expect(loaded.spec.name).toBe("beta-sync");
      expect(loaded.spec.objects.length).toBeGreaterThan(0);
      expect(loaded.env).toEqual(secretsFor("b"));
      expect(loaded.env.ACCORD_REGISTRY_TEST_LEAK).toBeUndefined();
      delete process.env.ACCORD_REGISTRY_TEST_LEAK;
    });

    it("the raw row holds no plaintext secret; an envelope copied onto another tenant's row does not open", async () => {
      const db = (store as KyselyStore).kysely;
      const rows = (await sql<{ name: string; secrets: string }>`select * from integrations`.execute(db)).rows;
      const dump = JSON.stringify(rows);
      for (const v of [...Object.values(secretsFor("a")), ...Object.values(secretsFor("b"))].filter((v) => v.includes("s3cr3t")))
        expect(dump).not.toContain(v);
      const alpha = rows.find((r) => r.name === "alpha-sync");
      await sql`update integrations set secrets = ${alpha?.secrets} where name = ${"beta-sync"}`.execute(db);
      await expect(loadIntegration(store, "beta-sync", ring1)).rejects.toThrow(/belongs to another integration/);
      await registerIntegration(store, {
        specText: specNamed("beta-sync"),
        tenant: "beta",
        secrets: secretsFor("b"),
        keyring: ring1,
      }).catch(() => undefined);
    });

    it("setSecret changes one value (stdin path of the CLI) and keeps the others", async () => {
      await removeIntegration(store, "beta-sync");
      await registerIntegration(store, { specText: specNamed("beta-sync"), tenant: "beta", secrets: secretsFor("b"), keyring: ring1 });
      await setSecret(store, "beta-sync", "ERPNEXT_API_SECRET", "rotated-erp-secret", ring1);
      const env = (await loadIntegration(store, "beta-sync", ring1)).env;
      expect(env.ERPNEXT_API_SECRET).toBe("rotated-erp-secret");
      expect(env.ESPOCRM_API_KEY).toBe(secretsFor("b").ESPOCRM_API_KEY);
    });

    it("rotation: k2 current + k1 old reads everything; rekey moves every envelope to k2; then k1 alone fails and k2 alone works", async () => {
      const k2 = newKey();
      const rotated = keyring(`k2:${k2},k1:${k1}`);
      expect((await loadIntegration(store, "alpha-sync", rotated)).env).toEqual(secretsFor("a"));
      const report = await rekey(store, rotated);
      expect(report).toMatchObject({ total: 2, rekeyed: 2, alreadyCurrent: 0, currentKey: "k2", before: { k1: 2 } });
      const db = (store as KyselyStore).kysely;
      const kids = (await sql<{ secrets: string }>`select secrets from integrations`.execute(db)).rows.map(
        (r) => JSON.parse(r.secrets).kid,
      );
      expect(kids).toEqual(["k2", "k2"]);
      await expect(loadIntegration(store, "alpha-sync", ring1)).rejects.toBeInstanceOf(AuthError);
      expect((await loadIntegration(store, "alpha-sync", keyring(`k2:${k2}`))).env).toEqual(secretsFor("a"));
      expect(await rekey(store, keyring(`k2:${k2}`))).toMatchObject({ total: 2, rekeyed: 0, alreadyCurrent: 2 });
    });

    it("rekey writes nothing when one envelope cannot be opened", async () => {
      await expect(rekey(store, keyring(`k3:${newKey()}`))).rejects.toThrow(/not in ACCORD_SECRET_KEYS/);
    });

    it("secretsFromEnv takes the file's variables (and the webhook secrets) from an environment", () => {
      const env = { ...secretsFor("e"), ACCORD_WEBHOOK_SECRETS_CRM: "w1,w2", UNRELATED: "x" };
      delete (env as Record<string, string>).ERPNEXT_URL;
      const r = secretsFromEnv(specNamed("eps"), env);
      expect(r.missing).toEqual(["ERPNEXT_URL"]);
      expect(Object.keys(r.secrets).sort()).toEqual([
        "ACCORD_WEBHOOK_SECRETS_CRM",
        "ERPNEXT_API_KEY",
        "ERPNEXT_API_SECRET",
        "ESPOCRM_API_KEY",
        "ESPOCRM_URL",
      ]);
    });

    it("remove deletes the registration", async () => {
      expect(await removeIntegration(store, "alpha-sync")).toBe(true);
      expect(await removeIntegration(store, "alpha-sync")).toBe(false);
      expect(await getIntegration(store, "alpha-sync")).toBeUndefined();
    });
  });
}
