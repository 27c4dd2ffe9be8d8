import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { planSync } from "../../src/engine/index.ts";
import { openTestStore, testStoreKind } from "../support/store.ts";
import { makeWorld, type World } from "./helpers.ts";
import { defineSyncSuite, linkedPair } from "./sync-suite.ts";

defineSyncSuite(`engine sync [${testStoreKind()}]`, () => openTestStore());

let worlds: World[] = [];
async function world(...args: Parameters<typeof makeWorld>): Promise<World> {
  const w = await makeWorld(...args);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  for (const w of worlds) await w.store.close();
  worlds = [];
});

describe("dry run on a file store", () => {
  it("leaves the SQLite database file byte-identical", async () => {
    const dir = await mkdtemp(join(tmpdir(), "accord-engine-"));
    try {
      const file = join(dir, "accord.db");
      const w = await world({}, file);
      const p = await linkedPair(w);
      w.crm.edit("Account", p.crmId, { name: "Acme Planned", industry: "Mining" });
      w.erp.add("Customer", { customer_name: "New ERP" }, "erika");
      w.crm.add("Account", { name: "New CRM", cErpId: null });
      const hash = async () => {
        const h = createHash("sha256");
        for (const f of [file, `${file}-wal`]) h.update(await readFile(f).catch(() => Buffer.alloc(0)));
        return h.digest("hex");
      };
      const before = await hash();
      const plan = await planSync(w.ctx);
      expect(plan.totals.read).toBeGreaterThanOrEqual(3);
      expect(plan.totals.quarantined).toBe(1);
      expect(await hash()).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
