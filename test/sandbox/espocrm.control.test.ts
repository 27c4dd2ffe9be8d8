/** The sandbox control API (`/__sandbox/...`): seed, dump, reset, faults, upgrade, clock, act-as. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { call, control } from "./espocrm-client.ts";

let sb: EspoCrmSandbox;
beforeAll(async () => {
  sb = await startEspoCrmSandbox({ webhookDelayMs: 50 });
});
afterAll(async () => {
  await sb.close();
});
beforeEach(() => {
  sb.control.reset();
});

describe("control API", () => {
  it("needs X-Sandbox-Token = apiKey", async () => {
    const r = await fetch(`${sb.url}/__sandbox/dump?entity=Account`);
    expect(r.status).toBe(401);
  });

  it("seed keeps ids, timestamps and versionNumber; dump returns them; reset empties", async () => {
    const s = await control(sb, "POST", "/seed", {
      Account: [
        { id: "seed0000000000001", name: "S", createdAt: "2020-02-02 02:02:02", modifiedAt: "2021-03-03 03:03:03", versionNumber: 7 },
      ],
      Case: [{ name: "C1", accountId: "seed0000000000001", number: 41 }, { name: "C2" }],
    });
    expect(s.status).toBe(200);
    expect(s.json.ids.Account).toEqual(["seed0000000000001"]);
    const a = await call(sb, "GET", "/Account/seed0000000000001");
    expect(a.json).toMatchObject({ createdAt: "2020-02-02 02:02:02", modifiedAt: "2021-03-03 03:03:03", versionNumber: 7 });
    const cases = await call(sb, "GET", "/Case");
    expect(cases.json.list.map((c: { number: number }) => c.number)).toEqual([42, 41]);
    const d = await control(sb, "GET", "/dump?entity=Account");
    expect(d.json.records).toHaveLength(1);
    await control(sb, "POST", "/reset");
    expect((await call(sb, "GET", "/Account")).json.total).toBe(0);
    const bad = await control(sb, "POST", "/seed", { Account: [{ name: "" }] });
    expect(bad.status).toBe(400);
  });

  it("faults: 429 with Retry-After as a proxy sends it, then normal service", async () => {
    await control(sb, "POST", "/faults", { kinds: ["429"], forRequests: 1, retryAfterSec: 7 });
    const r = await call(sb, "GET", "/Account");
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
    expect(r.headers.get("content-type")).toBe("text/html");
    expect((await call(sb, "GET", "/Account")).status).toBe(200);
  });

  it("faults: every 2nd request 503; stats count them; DELETE clears", async () => {
    await control(sb, "POST", "/faults", { kinds: ["503"], everyNth: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(sb, "GET", "/Account")).status);
    expect(statuses).toEqual([200, 503, 200, 503]);
    expect((await control(sb, "GET", "/faults")).json.injected).toBe(2);
    await control(sb, "DELETE", "/faults");
    expect((await call(sb, "GET", "/Account")).status).toBe(200);
  });

  it("faults: drop before the write (nothing created) vs dropAfterApply (created, answer lost)", async () => {
    await control(sb, "POST", "/faults", { kinds: ["drop"], forRequests: 1 });
    await expect(call(sb, "POST", "/Account", { body: { name: "Lost" } })).rejects.toThrow();
    expect((await call(sb, "GET", "/Account")).json.total).toBe(0);
    await control(sb, "POST", "/faults", { kinds: ["drop"], forRequests: 1, dropAfterApply: true });
    await expect(call(sb, "POST", "/Account", { body: { name: "Applied" } })).rejects.toThrow();
    const l = await call(sb, "GET", "/Account");
    expect(l.json.list.map((x: { name: string }) => x.name)).toEqual(["Applied"]);
  });

  it("faults: truncated body of the real response", async () => {
    await call(sb, "POST", "/Account", { body: { name: "T" } });
    await control(sb, "POST", "/faults", { kinds: ["truncate"], forRequests: 1 });
    await expect(call(sb, "GET", "/Account")).rejects.toThrow();
    expect((await call(sb, "GET", "/Account")).status).toBe(200);
  });

  it("upgrade renameField: metadata and data move; writes to the old name are silently ignored", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "R", cAccordId: "acc-1" } });
    const u = await control(sb, "POST", "/upgrade", { entity: "Account", renameField: { from: "cAccordId", to: "cAccordKey" } });
    expect(u.status).toBe(200);
    const meta = await call(sb, "GET", "/Metadata?key=entityDefs.Account.fields");
    expect(meta.json).not.toHaveProperty("cAccordId");
    expect(meta.json.cAccordKey.type).toBe("varchar");
    const r = await call(sb, "GET", `/Account/${a.json.id}`);
    expect(r.json.cAccordKey).toBe("acc-1");
    expect(r.json).not.toHaveProperty("cAccordId");
    const w = await call(sb, "PUT", `/Account/${a.json.id}`, { body: { cAccordId: "x" } });
    expect(w.status).toBe(200);
    expect(w.json).not.toHaveProperty("cAccordId");
    const q = await call(sb, "GET", "/Account?where[0][type]=equals&where[0][attribute]=cAccordId&where[0][value]=x");
    expect(q.status).toBe(400);
  });

  it("upgrade removeField / addRequiredField / changeType / setOptions", async () => {
    const a = await call(sb, "POST", "/Product", { body: { name: "P", cStockQty: 5, cErpItemCode: "12" } });
    await control(sb, "POST", "/upgrade", { entity: "Product", removeField: "cStockQty" });
    expect((await call(sb, "GET", `/Product/${a.json.id}`)).json).not.toHaveProperty("cStockQty");

    await control(sb, "POST", "/upgrade", { entity: "Product", addRequiredField: { name: "cWarehouse", type: "varchar" } });
    const c = await call(sb, "POST", "/Product", { body: { name: "Q" } });
    expect(c.status).toBe(400);
    expect(c.headers.get("x-status-reason")).toBe("Field validation failure; entityType: Product, field: cWarehouse, type: required.");
    // Existing records keep null and can still be updated on other fields.
    expect((await call(sb, "PUT", `/Product/${a.json.id}`, { body: { partNumber: "X" } })).status).toBe(200);

    await control(sb, "POST", "/upgrade", { entity: "Product", changeType: { field: "cErpItemCode", type: "int" } });
    const p = await call(sb, "GET", `/Product/${a.json.id}`);
    expect(p.json.cErpItemCode).toBe(12);
    expect((await call(sb, "GET", "/Metadata?key=entityDefs.Product.fields.cErpItemCode.type")).text).toBe("int");

    await control(sb, "POST", "/upgrade", { entity: "Product", setOptions: { field: "status", options: ["Active", "Retired"] } });
    const bad = await call(sb, "PUT", `/Product/${a.json.id}`, { body: { status: "Inactive" } });
    expect(bad.headers.get("x-status-reason")).toBe("Field validation failure; entityType: Product, field: status, type: valid.");
    expect((await call(sb, "PUT", `/Product/${a.json.id}`, { body: { status: "Retired" } })).status).toBe(200);
    expect((await control(sb, "POST", "/upgrade", { entity: "Product" })).status).toBe(400);
  });

  it("custom fields can be added and are described by Metadata", async () => {
    await control(sb, "POST", "/fields", { entity: "Account", name: "cErpCustomer", type: "varchar", maxLength: 140 });
    const m = await call(sb, "GET", "/Metadata?key=entityDefs.Account.fields.cErpCustomer");
    expect(m.json).toEqual({ type: "varchar", maxLength: 140, isCustom: true });
    const a = await call(sb, "POST", "/Account", { body: { name: "C", cErpCustomer: "CUST-1" } });
    expect(a.json.cErpCustomer).toBe("CUST-1");
  });

  it("clock skew moves createdAt/modifiedAt", async () => {
    await control(sb, "POST", "/clock", { offsetMs: -86_400_000 * 365 });
    const a = await call(sb, "POST", "/Account", { body: { name: "Past" } });
    expect(Number(a.json.createdAt.slice(0, 4))).toBe(new Date().getUTCFullYear() - 1);
  });

  it("act as a person: modifiedById tells a person's edit from the API user's", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "Echo" } });
    const r = await control(sb, "POST", "/act", { op: "update", entity: "Account", id: a.json.id, data: { sicCode: "5" } });
    expect(r.status).toBe(200);
    const g = await call(sb, "GET", `/Account/${a.json.id}`);
    expect(g.json.modifiedById).toBe(sb.control.personUserId);
    expect(g.json.modifiedByName).toBe("Jane Doe");
    expect(g.json.createdById).toBe(sb.apiUserId);
    const bad = await control(sb, "POST", "/act", { op: "update", entity: "Account", id: a.json.id, data: { type: "Alien" } });
    expect(bad.status).toBe(400);
  });
});

describe("state file", () => {
  it("statePath: state written on close is loaded on the next start", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const statePath = join(mkdtempSync(join(tmpdir(), "espo-")), "state.json");
    const one = await startEspoCrmSandbox({ statePath, apiKey: "a".repeat(32) });
    const a = await call(one, "POST", "/Account", { body: { name: "Persisted" } });
    await one.close();
    const two = await startEspoCrmSandbox({ statePath, apiKey: "a".repeat(32) });
    try {
      expect((await call(two, "GET", `/Account/${a.json.id}`)).json.name).toBe("Persisted");
      expect(two.apiUserId).toBe(one.apiUserId);
      expect((await call(two, "GET", `/Account/${a.json.id}`)).json.createdByName).toBe("Accord API");
    } finally {
      await two.close();
    }
  });
});
