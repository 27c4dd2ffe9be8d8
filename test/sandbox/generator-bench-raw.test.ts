/** The raw-throughput measurement other benches reuse: runs against live sandboxes and reports sane figures. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRaw, measureRaw } from "../../bench/sandbox-raw/measure.ts";
import { companiesForRecords } from "../../bench/sandbox-raw/run.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";

let sb: Sandboxes;
beforeAll(async () => {
  sb = await startSandboxes({ accounts: companiesForRecords(450), seed: 8, scope: "accounts" });
});
afterAll(async () => {
  await sb?.close();
});

describe("measureRaw", () => {
  it("scans every record at the maximum page size and counts creates per concurrency level", async () => {
    expect(sb.counts.crm.Account).toBeGreaterThanOrEqual(449);
    const f = await measureRaw(sb, { createSeconds: 0.3, concurrency: [1, 3], label: "t" });
    const [crm, erp500, erp1000] = f.lists;
    expect(crm?.pageSize).toBe(200);
    expect(crm?.records).toBe(sb.counts.crm.Account);
    expect(crm?.pages).toBe(Math.ceil((sb.counts.crm.Account as number) / 200));
    expect(erp500?.pageSize).toBe(500);
    expect(erp500?.records).toBe(sb.counts.erp.Customer);
    expect(erp1000?.pages).toBe(1);
    for (const l of f.lists) expect(l.recordsPerSec).toBeGreaterThan(0);
    expect(f.creates.map((c) => `${c.system}/${c.concurrency}`)).toEqual(["espocrm/1", "espocrm/3", "erpnext/1", "erpnext/3"]);
    for (const c of f.creates) {
      expect(c.errors).toBe(0);
      expect(c.creates).toBeGreaterThan(0);
      expect(c.perSec).toBeGreaterThan(0);
    }
    // the creates really happened
    const after = await fetch(`${sb.crm.url}/api/v1/Account?maxSize=1`, { headers: { "X-Api-Key": sb.crm.apiKey } });
    const total = ((await after.json()) as { total: number }).total;
    const created = f.creates.filter((c) => c.system === "espocrm").reduce((n, c) => n + c.creates, 0);
    expect(total).toBe((sb.counts.crm.Account as number) + created);
    expect(formatRaw(f)).toContain("records/s");
  }, 60_000);
});
