/** Shared bits of the registry and tenancy tests: a small valid integration file per name, keys, stores on both dialects. */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { keyringFromEnv } from "../../src/registry/index.ts";
import type { Keyring } from "../../src/registry/types.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createTestSchema, dropTestSchema, TEST_PG_URL } from "../support/store.ts";

export const EXAMPLE = readFileSync(fileURLToPath(new URL("../../examples/espocrm-erpnext.yaml", import.meta.url)), "utf8");

/** The example file renamed (name: NAME), with its URLs given as ${VAR}s. */
export function specNamed(name: string): string {
  return EXAMPLE.replace(/^name: acme$/m, `name: ${name}`);
}

/** Values for every variable the example file names. */
export function secretsFor(tag: string): Record<string, string> {
  return {
    ESPOCRM_URL: `http://127.0.0.1:9/${tag}-crm`,
    ESPOCRM_API_KEY: `crm-key-${tag}-s3cr3t`,
    ERPNEXT_URL: `http://127.0.0.1:9/${tag}-erp`,
    ERPNEXT_API_KEY: `erp-key-${tag}-s3cr3t`,
    ERPNEXT_API_SECRET: `erp-secret-${tag}-s3cr3t`,
  };
}

export function newKey(): string {
  return randomBytes(32).toString("base64");
}

export function keyring(spec: string): Keyring {
  return keyringFromEnv({ ACCORD_SECRET_KEYS: spec });
}

export type Dialect = "sqlite" | "postgres";

/** A fresh store on SQLite (:memory:) or on the real PostgreSQL (own schema, dropped by the returned dispose). */
export async function freshStore(dialect: Dialect): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (dialect === "sqlite") {
    const store = await openStore({ file: ":memory:" });
    return { store, dispose: () => store.close() };
  }
  const schema = await createTestSchema();
  const store = await openStore({ url: TEST_PG_URL, schema });
  return {
    store,
    dispose: async () => {
      await store.close();
      await dropTestSchema(schema);
    },
  };
}
