/**
 * EspoCRM connector: the generic contract suite against the emulated EspoCRM, then the
 * system's own traps (page cap 200, datetime format, 409 duplicate, 409 modified, lock-out,
 * HMAC auth, bracket encoding, metadata mapping, webhook signature).
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EspoCrmConnector } from "../../src/connectors/espocrm/index.ts";
import { listQuery } from "../../src/connectors/espocrm/query.ts";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector } from "../../src/connectors/types.ts";
import { AuthError, Duplicate, ValidationRejected, VersionConflict } from "../../src/errors.ts";
import { type EspoCrmSandbox, signatureHeaders, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { CapturedLog, type ContractHarness, connectorContractSuite, walk } from "./contract-suite.ts";

const FAST = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 5000 };

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
function espoNow(offsetMs = 0): string {
  const d = new Date(Date.now() + offsetMs);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

async function harness(sb: EspoCrmSandbox): Promise<ContractHarness> {
  const make = (o: { options?: Record<string, unknown>; badCredentials?: boolean; logger?: CapturedLog } = {}): Connector =>
    new EspoCrmConnector({
      url: sb.url,
      credentials: { apiKey: o.badCredentials ? "0123456789abcdef0123456789abcdef" : sb.apiKey },
      options: { ...FAST, ...o.options, ...(o.logger ? { logger: o.logger } : {}) },
    });
  return {
    connector: make(),
    makeConnector: make,
    secrets: [sb.apiKey, sb.secretKey],
    entity: "Account",
    textField: "name",
    idAttribute: "id",
    newValues: (label) => ({ name: label, type: "Customer" }),
    async seed(n, prefix, opts) {
      // In the past, a few records per second: later changes move them to the end of the order.
      const at = espoNow(-3_600_000);
      const rows = Array.from({ length: n }, (_, i) => {
        const t = opts?.sameTimestamp ? at : espoNow(-3_600_000 + Math.floor(i / 3) * 1000);
        return { name: `${prefix}-${i}`, createdAt: t, modifiedAt: t };
      });
      return sb.control.seed({ Account: rows }).Account;
    },
    async touch(id) {
      sb.control.actAs(sb.control.personUserId, "update", "Account", id, { description: `touched ${Date.now()} ${Math.random()}` });
    },
    async faults(cfg) {
      sb.control.faults(cfg ? { ...cfg, kinds: [...cfg.kinds] } : null);
    },
    async requestCount() {
      return sb.stats.requests;
    },
    signWebhook(body, secret) {
      const h = signatureHeaders("hook123", secret, body.toString("utf8"));
      return {
        headers: { "content-type": "application/json", signature: h.Signature, "x-signature": h["X-Signature"] },
        url: "/hooks/espo?event=Account.update",
      };
    },
    webhookBody: (id) => Buffer.from(JSON.stringify([{ id, name: "Acme \u00e9" }])),
    hasVersion: true,
    slowRequestsStillComplete: true,
    close: async () => {},
  };
}

let shared: EspoCrmSandbox;

connectorContractSuite("espocrm", async () => {
  shared = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
  const h = await harness(shared);
  h.close = async () => {
    await h.connector.close();
    await shared.close();
  };
  return h;
});

describe("espocrm connector: the system's traps", () => {
  let sb: EspoCrmSandbox;
  let h: ContractHarness;
  let c: Connector;
  beforeAll(async () => {
    sb = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    h = await harness(sb);
    c = h.connector;
  });
  afterAll(async () => {
    await c.close();
    await sb.close();
  });

  it("is reachable through the registry", async () => {
    const rc = await createConnector("espocrm", { url: sb.url, credentials: { apiKey: sb.apiKey } });
    expect(rc.type).toBe("espocrm");
    expect(await rc.whoAmI()).toBe(sb.apiUserId);
  });

  it("pages at 200 at most (EspoCRM refuses more with 403), one call per full page", async () => {
    const ids = await h.seed(450, "cap");
    const big = new EspoCrmConnector({ url: sb.url, credentials: { apiKey: sb.apiKey }, options: { ...FAST, pageSize: 5000 } });
    await big.describe(["Account"]); // learns the datetime fields; not a list call
    const before = sb.stats.requests;
    const { records, pages } = await walk(big, "Account", { pageSize: 1000, filter: [{ field: "name", op: "like", value: "cap-%" }] });
    expect(records.length).toBe(ids.length);
    expect(pages).toBe(3);
    expect(sb.stats.requests - before).toBe(3);
  });

  it("a maxSize above 200 sent raw really is a 403 (why the connector clamps every page to 200)", async () => {
    const res = await fetch(`${sb.apiUrl}/Account?${listQuery({ maxSize: 201 })}`, { headers: { "X-Api-Key": sb.apiKey } });
    expect(res.status).toBe(403);
  });

  it("cursors are sent as 'YYYY-MM-DD HH:mm:ss' (ISO with T/Z is rejected by EspoCRM)", async () => {
    const raw = await fetch(
      `${sb.apiUrl}/Account?${listQuery({ maxSize: 1, where: [{ type: "greaterThanOrEquals", attribute: "modifiedAt", value: "2024-01-01T00:00:00Z" }] })}`,
      { headers: { "X-Api-Key": sb.apiKey } },
    );
    expect(raw.status).toBe(400);
    await h.seed(3, "fmt");
    const since = { modifiedAt: "2020-01-01T00:00:00.000Z", id: "" };
    const { records } = await walk(c, "Account", { since, overlapMs: 1000, filter: [{ field: "name", op: "like", value: "fmt-%" }] });
    expect(records.length).toBe(3);
  });

  it("a cursor inside a second shared by many records continues exactly after it (second-precision keyset)", async () => {
    const ids = await h.seed(10, "sec", { sameTimestamp: true });
    const filter = [{ field: "name", op: "like" as const, value: "sec-%" }];
    const it1 = c.readChanges("Account", { pageSize: 4, filter })[Symbol.asyncIterator]();
    const first = (await it1.next()).value as { records: { id: string }[]; cursor: { modifiedAt: string; id: string } };
    expect(first.records.length).toBe(4);
    const rest = await walk(c, "Account", { pageSize: 4, filter, since: first.cursor });
    expect(rest.records.map((r) => r.id).sort()).toEqual(ids.filter((id) => !first.records.some((r) => r.id === id)).sort());
  });

  it("datetime values cross the interface as UTC ISO both ways; Espo gets 'YYYY-MM-DD HH:mm:ss'", async () => {
    sb.control.upgrade({ entity: "Account", addField: { name: "cSyncedAt", type: "datetime" } });
    const fresh = h.makeConnector();
    const r = await fresh.create("Account", { name: "Datetime Co", cSyncedAt: "2024-05-01T15:45:00.000+02:00" });
    expect(r.values.cSyncedAt).toBe("2024-05-01T13:45:00.000Z");
    expect(r.values.modifiedAt).toBe(r.modifiedAt);
    const raw = (await (await fetch(`${sb.apiUrl}/Account/${r.id}`, { headers: { "X-Api-Key": sb.apiKey } })).json()) as Record<
      string,
      unknown
    >;
    expect(raw.cSyncedAt).toBe("2024-05-01 13:45:00");
    expect((await fresh.findByField("Account", "cSyncedAt", "2024-05-01T13:45:00.000Z")).map((x) => x.id)).toEqual([r.id]);
    const u = await fresh.update("Account", r.id, { cSyncedAt: "2024-06-01T00:00:00Z" });
    expect(u.values.cSyncedAt).toBe("2024-06-01T00:00:00.000Z");
    const { records } = await walk(fresh, "Account", { filter: [{ field: "cSyncedAt", op: ">=", value: "2024-05-31T23:59:59.000Z" }] });
    expect(records.map((x) => x.id)).toEqual([r.id]);
  });

  it("create answered 409 duplicate → Duplicate carrying the existing ids", async () => {
    const first = await c.create("Account", { name: "Dup Industries" });
    const e = await c.create("Account", { name: "Dup Industries" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Duplicate);
    expect((e as Duplicate).duplicates).toContain(first.id);
    expect((e as Duplicate).status).toBe(409);
  });

  it("X-Version-Number: a stale version → VersionConflict; the current one writes", async () => {
    const r = await c.create("Account", { name: "Versioned Ltd" });
    expect(r.version).toBe("1");
    const r2 = await c.update("Account", r.id, { description: "one" }, { ifVersion: "1" });
    expect(r2.version).toBe("2");
    const e = await c.update("Account", r.id, { description: "two" }, { ifVersion: "1" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VersionConflict);
    expect((e as Error).message).toMatch(/version 2/);
  });

  it("repeated auth failures lock the address out (403, no reason) → AuthError at once, never retried", async () => {
    const log = new CapturedLog();
    const bad = h.makeConnector({ badCredentials: true, logger: log });
    let lastErr: unknown;
    const before = sb.stats.requests;
    for (let i = 0; i < 12; i++) lastErr = await bad.whoAmI().catch((x: unknown) => x);
    expect(sb.stats.requests - before).toBe(12);
    expect(lastErr).toBeInstanceOf(AuthError);
    expect((lastErr as AuthError).status).toBe(403);
    expect((lastErr as Error).message).toMatch(/locked out/);
    expect(bad.stats().retries).toBe(0);
    // While locked out even the right key is refused — still AuthError, still one call each.
    const good = h.makeConnector();
    const e = await good.whoAmI().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect(good.stats().calls).toBe(1);
    sb.control.clearAuthFailures();
    expect(await good.whoAmI()).toBe(sb.apiUserId);
    expect(JSON.stringify(log.lines)).not.toContain(sb.apiKey);
  });

  it("HMAC auth (secretKey) works and signs method + path", async () => {
    const hc = new EspoCrmConnector({ url: sb.url, credentials: { apiKey: sb.apiKey, secretKey: sb.secretKey }, options: FAST });
    expect(await hc.whoAmI()).toBe(sb.apiUserId);
    const rec = await hc.create("Account", { name: "Hmac Co" });
    expect(rec.id).toBeTruthy();
    const wrong = new EspoCrmConnector({ url: sb.url, credentials: { apiKey: sb.apiKey, secretKey: "f".repeat(32) }, options: FAST });
    const e = await wrong.whoAmI().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect(JSON.stringify(e) + String(e)).not.toContain(sb.secretKey);
    sb.control.clearAuthFailures();
    const digest = createHmac("sha256", sb.secretKey).update("GET /App/user").digest("hex");
    const res = await fetch(`${sb.apiUrl}/App/user`, {
      headers: { "X-Hmac-Authorization": Buffer.from(`${sb.apiKey}:${digest}`).toString("base64") },
    });
    expect(res.status).toBe(200);
  });

  it("validation failures name the field", async () => {
    const e = await c.create("Account", { type: "Customer" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationRejected);
    expect((e as ValidationRejected).where.field).toBe("name");
  });

  it("filter values in brackets/quotes/ampersands are encoded as data (bracket syntax, percent-encoded)", () => {
    const q = listQuery({ maxSize: 5, where: [{ type: "equals", attribute: "name", value: "a]&where[1][type]=isNull&x=[" }] });
    const s = q.toString();
    expect(s).not.toContain("&where[1]");
    expect(s).toContain("where%5B0%5D%5Bvalue%5D=");
    expect(new URLSearchParams(s).get("where[0][value]")).toBe("a]&where[1][type]=isNull&x=[");
  });

  it("describe maps Metadata entityDefs to neutral types (links by their Id attribute, address parts, enums)", async () => {
    const s = await c.describe(["Account", "Opportunity"]);
    const a = s.entities.Account.fields;
    expect(a.name).toMatchObject({ type: "string", nativeType: "varchar", required: true });
    expect(a.type).toMatchObject({ type: "enum" });
    expect(a.type.options).toContain("Customer");
    expect(a.billingAddressCity).toMatchObject({ type: "string", nativeType: "address" });
    expect(a.emailAddress.type).toBe("email");
    expect(a.phoneNumber.type).toBe("phone");
    expect(a.modifiedAt).toMatchObject({ type: "datetime", readOnly: true });
    const o = s.entities.Opportunity.fields;
    expect(o.accountId).toMatchObject({ type: "link", target: "Account" });
    expect(o.amount.type).toBe("currency");
    expect(o.closeDate.type).toBe("date");
    const all = await c.describe();
    expect(Object.keys(all.entities)).toEqual(expect.arrayContaining(["Account", "Contact", "Opportunity"]));
    await expect(c.describe(["NoSuchEntity"])).rejects.toThrow(/NoSuchEntity/);
  });

  it("modifiedBy tells Accord's writes from a person's (echo suppression by author)", async () => {
    const me = await c.whoAmI();
    const r = await c.create("Account", { name: "Echo Co" });
    expect(r.modifiedBy).toBe(me);
    sb.control.actAs(sb.control.personUserId, "update", "Account", r.id, { description: "by a person" });
    const [after] = await c.readByIds("Account", [r.id]);
    expect(after.modifiedBy).toBe(sb.control.personUserId);
  });

  it("parseWebhook reads entity and kind from the subscription URL, and verifies the hex Signature", () => {
    const body = Buffer.from('[{"id":"a1","name":"X"},{"id":"a2"}]');
    const hd = signatureHeaders("wh1", "sek", body.toString());
    const ev = c.parseWebhook!({ headers: { Signature: hd.Signature }, rawBody: body, url: "/in?event=Account.delete" }, "sek");
    expect(ev).toEqual([
      { id: "a1", kind: "delete", entity: "Account", values: { id: "a1", name: "X" } },
      { id: "a2", kind: "delete", entity: "Account", values: { id: "a2" } },
    ]);
    // The legacy binary X-Signature alone is not accepted (the hex Signature is the documented one).
    expect(() => c.parseWebhook!({ headers: { "X-Signature": hd["X-Signature"] }, rawBody: body, url: "/in" }, "sek")).toThrow(AuthError);
  });

  it("delete is idempotent (a second delete of the same record is not an error)", async () => {
    const r = await c.create("Account", { name: "Gone Soon" });
    await c.delete!("Account", r.id);
    await c.delete!("Account", r.id);
    expect(await c.readByIds("Account", [r.id])).toEqual([]);
  });
});
