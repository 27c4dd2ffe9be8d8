/**
 * The engine sync suite on PostgreSQL (default postgres://postgres@127.0.0.1:5432/accord_test, or
 * env ACCORD_TEST_PG_URL): each world gets its own schema, dropped at the end.
 * PostgreSQL unreachable: FAILS when CI=true, skipped with a message otherwise.
 */
import pg from "pg";
import { afterAll, describe, it } from "vitest";
import { openStore } from "../../src/store/index.ts";
import { defineSyncSuite } from "./sync-suite.ts";

const PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";
const IN_CI = process.env.CI === "true" || process.env.CI === "1";

async function reachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

const unavailable = await reachable();
const where = PG_URL.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");

if (unavailable !== undefined) {
  if (IN_CI) {
    describe("engine sync [postgres]", () => {
      it(`PostgreSQL must be reachable in CI at ${where}`, () => {
        throw new Error(`PostgreSQL unreachable at ${where}: ${unavailable}`);
      });
    });
  } else {
    process.stderr.write(`\n[engine sync [postgres]] SKIPPED: PostgreSQL unreachable at ${where}: ${unavailable}\n\n`);
    describe.skip("engine sync [postgres] (PostgreSQL unreachable)", () => {
      it("needs PostgreSQL", () => {});
    });
  }
} else {
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const schemas: string[] = [];
  afterAll(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    } finally {
      await c.end();
    }
  });
  defineSyncSuite("engine sync [postgres]", () => {
    const schema = `accord_e_${tag}_${schemas.length + 1}`;
    schemas.push(schema);
    return openStore({ url: PG_URL, schema });
  });
}
