/**
 * A crash between a remote create and its link, then a person's edit, then the restart: the
 * recovery finds the created record (no duplicate) and must not take the values it reads NOW as
 * "already synced" — the person's edit made after the create would be lost for good.
 * Over real HTTP against the sandboxes; the crash is simulated by failing right after the create.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../../src/connectors/types.ts";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";

const SPEC = (tz: string) => `
version: 1
name: recovered
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
    create: both
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp, onMasterEdit: revert }
`;

let sb: Sandboxes;
let opened: OpenedContext;

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, scope: "accounts" });
  opened = await openContext(loadSpec(SPEC(sb.erp.timezone), "recovered.yaml"), {
    env: { C_URL: sb.crm.url, C_KEY: sb.crm.apiKey, E_URL: sb.erp.url, E_KEY: sb.erp.apiKey, E_SECRET: sb.erp.apiSecret },
    store: await testStoreOptions(),
  });
});

afterAll(async () => {
  await opened?.close();
  await sb?.close();
});

/** The connector, crashing the run right after its first successful create. */
function crashAfterCreate(conn: Connector): Connector {
  let crashed = false;
  return new Proxy(conn, {
    get(t, prop, receiver) {
      if (prop === "create")
        return async (entity: string, values: Record<string, unknown>) => {
          const rec = await t.create(entity, values);
          if (!crashed) {
            crashed = true;
            throw new Error("simulated crash right after the remote create");
          }
          return rec;
        };
      const v = Reflect.get(t, prop, receiver);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

const act = (id: string, data: Record<string, unknown>) =>
  sb.servers.crm.control.actAs(sb.servers.crm.control.personUserId, "update", "Account", id, data);

describe("a create interrupted after the remote call, then edited, then recovered", () => {
  it("keeps the edit made between the crash and the restart (no duplicate, no lost update)", async () => {
    const { ctx } = opened;
    const [id] = sb.servers.crm.control.seed({
      Account: [{ name: "Recovery Works Ltd", website: "https://recovery.example.com" }],
    }).Account;

    await expect(runSync({ ...ctx, erp: crashAfterCreate(ctx.erp) })).rejects.toThrow(/simulated crash/);
    expect(await ctx.store.pendingCreateIntents("recovered")).toHaveLength(1);

    // a person edits the account before Accord restarts: the name (shared) and the website (CRM master)
    act(id, { name: "Recovery Works Limited", website: "https://recovery-works.example.com" });

    const r1 = await runSync(ctx);
    expect(r1.objects[0].recovered).toBe(1);
    await runSync(ctx);
    const customers = sb.servers.erp.db.all("Customer") as Iterable<Record<string, unknown>>;
    const copies = [...customers].filter((c) => String(c.customer_name).startsWith("Recovery Works"));
    expect(copies, "exactly one ERP customer (recovered, not created again)").toHaveLength(1);
    expect(copies[0].customer_name).toBe("Recovery Works Limited");
    expect(copies[0].website).toBe("https://recovery-works.example.com");
    const last = await runSync(ctx);
    expect(last.totals.applied).toBe(0);
  });
});
