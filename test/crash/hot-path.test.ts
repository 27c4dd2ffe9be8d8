/**
 * The sync's hot path (bench:sync (b)): a no-change pass reads each page's links and pins in one
 * query each (Store.getLinksByIds / pinnedAmong), not two queries per record — and still sees a
 * pinned record as pinned and a linked record as linked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { Store } from "../../src/store/types.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = (tz: string) => `
version: 1
name: hot
systems:
  crm: { type: espocrm, url: "\${C_URL}", credentials: { apiKey: "\${C_KEY}" } }
  erp:
    type: erpnext
    url: "\${E_URL}"
    credentials: { apiKey: "\${E_KEY}", apiSecret: "\${E_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Test, email: t@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: crm->erp
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
`;

let sb: Sandboxes;
let opened: OpenedContext;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  sb.servers.crm.control.seed({ Account: Array.from({ length: 40 }, (_, i) => ({ name: `Hot Path ${i} Ltd` })) });
  opened = await openContext(loadSpec(SPEC(sb.erp.timezone), "hot.yaml"), {
    env: { C_URL: sb.crm.url, C_KEY: sb.crm.apiKey, E_URL: sb.erp.url, E_KEY: sb.erp.apiKey, E_SECRET: sb.erp.apiSecret },
    store: await testStoreOptions(),
  });
});

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

function counting(store: Store, calls: Record<string, number>): Store {
  return new Proxy(store, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return v.apply(t, args);
      };
    },
  });
}

describe("the no-change pass", () => {
  it("reads links and pins per page, not per record, with the same outcomes", async () => {
    const { ctx } = opened;
    const first = await runSync(ctx);
    expect(first.totals.applied).toBe(40);
    const [link] = await ctx.store.listLinks("hot", "customer", { limit: 1 });
    await ctx.store.setPinned("hot", "customer", "crm", link.crmId as string, true);

    const calls: Record<string, number> = {};
    const r = await runSync({ ...ctx, store: counting(ctx.store, calls) });
    const c = r.totals;
    expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
    expect(c.applied).toBe(0);
    expect(c.held).toBe(1); // the pinned record, seen through the page's pins
    expect(c.unchanged).toBe(c.read - 1);
    expect(calls.getLinksByIds ?? 0).toBeGreaterThan(0);
    expect(calls.isPinned ?? 0, "isPinned per record").toBeLessThan(c.read / 4);
    expect(calls.getLink ?? 0, "getLink per record").toBeLessThan(c.read / 4);
  });
});

describe("a page processed in lanes (applyConcurrency)", () => {
  it("creates every record once, and never races two records carrying the same shared id", async () => {
    const lanes = await startSandboxes({ accounts: 0, scope: "accounts" });
    const o = await openContext(loadSpec(SPEC(lanes.erp.timezone), "hot.yaml"), {
      env: { C_URL: lanes.crm.url, C_KEY: lanes.crm.apiKey, E_URL: lanes.erp.url, E_KEY: lanes.erp.apiKey, E_SECRET: lanes.erp.apiSecret },
      store: await testStoreOptions(),
    });
    try {
      lanes.servers.erp.seed({
        Customer: [
          { name: "Shared Co", customer_name: "Shared Co", customer_type: "Company", customer_group: "Commercial", territory: "Germany" },
        ],
      });
      lanes.servers.crm.control.seed({
        Account: [
          ...Array.from({ length: 30 }, (_, i) => ({ name: `Lane ${i} GmbH` })),
          { name: "Shared Co", cAccordId: "Shared Co" },
          { name: "Shared Co (copy)", cAccordId: "Shared Co" },
        ],
      });
      const r = await runSync(o.ctx, { applyConcurrency: 4 });
      const c = r.totals;
      expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
      const links = await o.ctx.store.listLinks("hot", "customer", { limit: 1000 });
      expect(links).toHaveLength(31); // 30 created + 1 linked by the shared id
      expect(links.filter((l) => l.erpId === "Shared Co")).toHaveLength(1);
      const q = await o.ctx.store.listQuarantine("hot", { status: "open" });
      expect(q.map((x) => x.errorClass)).toEqual(["Duplicate"]); // the second record carrying "Shared Co"
      const names = [...(lanes.servers.erp.db.all("Customer") as Iterable<Record<string, unknown>>)].map((x) => String(x.customer_name));
      expect(new Set(names).size).toBe(names.length);
      expect(names).toHaveLength(31);
      const again = await runSync(o.ctx, { applyConcurrency: 4 });
      expect(again.totals.applied).toBe(0);
    } finally {
      await o.close();
      await lanes.close();
    }
  });
});
