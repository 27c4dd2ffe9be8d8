/**
 * Tryton's own traps, against the REAL server (bash scripts/peers/tryton.sh start), each as
 * observed in /work/shared/reference/tryton.md: context, envelope, write_date null, shared
 * transaction timestamps, children not touching parents, Decimal, quote/confirm with state
 * re-read, confirm without accounting, deletions by comparison, session re-login, wrong
 * password, lock-out, error shapes, dangling links, authorship.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrytonConnector } from "../../src/connectors/tryton/index.ts";
import type { RemoteRecord } from "../../src/connectors/types.ts";
import { AuthError, NotFound, RateLimited, SchemaDrift, ValidationRejected, VersionConflict } from "../../src/errors.ts";
import { FaultProxy, type PeerEnv, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const run = `t${Date.now().toString(36)}`;
const FAST = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 20_000 };

function connector(env: PeerEnv, url: string, extra: Record<string, unknown> = {}, creds?: { user: string; password: string }) {
  return new TrytonConnector({
    url,
    credentials: creds ?? { user: env.user, password: env.password },
    options: { database: env.db, ...FAST, ...extra },
  });
}

const throwaway = () => `accord-bad-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

(peer ? describe : describe.skip)("tryton traps (real server)", () => {
  const env = peer as PeerEnv;
  let proxy: FaultProxy;
  let c: TrytonConnector;
  let clerk: RawTryton;
  let widget: string; // product.product with an account category
  let unit: string;

  beforeAll(async () => {
    proxy = await new FaultProxy(env.url).start();
    c = connector(env, proxy.url);
    clerk = await new RawTryton(env).open();
    const [p] = await c.findByField("product.product", "code", "WIDGET");
    widget = p.id;
    unit = String(p.values.default_uom ?? "1");
  });
  afterAll(async () => {
    await c?.close();
    await proxy?.close();
  });

  async function customer(label: string): Promise<RemoteRecord> {
    return c.create("party.party", {
      name: label,
      addresses: [{ street: "1 Main Street", city: "Springfield", postal_code: "12345" }],
      contact_mechanisms: [{ type: "email", value: `${label.replace(/\W+/g, ".")}@example.com` }],
    });
  }

  async function sale(party: RemoteRecord, product: string, extra: Record<string, unknown> = {}): Promise<RemoteRecord> {
    const addr = (party.values.addresses as { id: string }[])[0].id;
    return c.create("sale.sale", {
      party: party.id,
      invoice_address: addr,
      shipment_address: addr,
      description: `${run} deal`,
      lines: [{ product, quantity: 5, unit, unit_price: 10.25, description: "Widget" }],
      ...extra,
    });
  }

  describe("protocol", () => {
    it("every model call carries the context last; without it Tryton refuses", async () => {
      const raw = await clerk.post("model.party.party.search", [[], 0, 1, null]);
      expect(raw.json?.error).toEqual(["Missing context argument", ""]);
      // The connector's calls all end with a context object holding the company.
      const from = proxy.bodies.length;
      await c.readByIds("party.party", ["1"]);
      const sent = proxy.bodies.slice(from).map((b) => JSON.parse(b) as { params: unknown[] });
      expect(sent.length).toBeGreaterThan(0);
      for (const b of sent) expect(b.params[b.params.length - 1]).toMatchObject({ company: expect.any(Number) });
    });

    it("the body has exactly {id, method, params}; one extra key drops the envelope", async () => {
      const bare = await clerk.post("", [], {
        body: { jsonrpc: "2.0", id: 1, method: "model.party.party.search_count", params: [[], clerk.context] },
      });
      expect(typeof bare.json).not.toBe("object"); // a bare number, no {id, result}
      for (const b of proxy.bodies) expect(Object.keys(JSON.parse(b)).sort()).toEqual(["id", "method", "params"]);
    });

    it("company-dependent fields need the company in the context (list_price)", async () => {
      const [p] = await c.readByIds("product.product", [widget], ["list_price", "code"]);
      expect(p.values.list_price).toBe(10);
      const raw = (await clerk.call("model.product.product.read", [[Number(widget)], ["list_price"]], false).catch(() => null)) as null;
      expect(raw).toBeNull(); // no context at all: refused
    });
  });

  describe("timestamps and change reads", () => {
    it("write_date is null on a never-written record: modifiedAt falls back to create_date", async () => {
      const [id] = (await clerk.call("model.party.party.create", [[{ name: `${run} never-written` }]])) as number[];
      const [raw] = (await clerk.call("model.party.party.read", [[id], ["write_date", "create_date"]])) as { write_date: unknown }[];
      expect(raw.write_date).toBeNull();
      const [r] = await c.readByIds("party.party", [String(id)]);
      expect(r.modifiedAt).toBe(r.createdAt);
      // ...and a change read from just before finds it through the create_date branch of the OR.
      const since = { modifiedAt: new Date(Date.parse(r.modifiedAt) - 1).toISOString(), id: "0" };
      const got: string[] = [];
      for await (const p of c.readChanges("party.party", { since, filter: [{ field: "name", op: "like", value: `${run} never%` }] }))
        got.push(...p.records.map((x) => x.id));
      expect(got).toEqual([String(id)]);
    });

    it("records of one transaction share one timestamp; a cursor inside the group continues exactly after it", async () => {
      const ids = (await clerk.call("model.party.party.create", [[1, 2, 3, 4].map((i) => ({ name: `${run} tx-${i}` }))])) as number[];
      const recs = await c.readByIds("party.party", ids.map(String));
      expect(new Set(recs.map((r) => r.modifiedAt)).size).toBe(1);
      const filter = [{ field: "name", op: "like" as const, value: `${run} tx-%` }];
      const cursor = { modifiedAt: recs[0].modifiedAt, id: String(ids[1]) };
      const after: string[] = [];
      for await (const p of c.readChanges("party.party", { since: cursor, filter, pageSize: 1 })) after.push(...p.records.map((x) => x.id));
      expect(after).toEqual([String(ids[2]), String(ids[3])]);
      // with an overlap window the whole group is read again (harmless: the engine dedupes by content)
      const again: string[] = [];
      for await (const p of c.readChanges("party.party", { since: cursor, filter, overlapMs: 60_000 }))
        again.push(...p.records.map((x) => x.id));
      expect(again.sort()).toEqual(ids.map(String).sort());
    });

    it("changing a child (address) does not touch the parent: the child model is read on its own", async () => {
      const p = await customer(`${run} child`);
      const addr = (p.values.addresses as { id: string }[])[0].id;
      await new Promise((r) => setTimeout(r, 20));
      const cursor = { modifiedAt: p.modifiedAt, id: p.id };
      const a = await c.update("party.address", addr, { city: "Shelbyville" });
      expect(a.values.city).toBe("Shelbyville");
      const [again] = await c.readByIds("party.party", [p.id], ["name", "addresses"]);
      expect(again.modifiedAt).toBe(p.modifiedAt); // parent untouched
      expect((again.values.addresses as { city: string }[])[0].city).toBe("Shelbyville");
      const parents: string[] = [];
      for await (const pg of c.readChanges("party.party", { since: cursor, filter: [{ field: "id", op: "=", value: p.id }] }))
        parents.push(...pg.records.map((x) => x.id));
      expect(parents).toEqual([]);
      const children: string[] = [];
      for await (const pg of c.readChanges("party.address", { since: cursor, filter: [{ field: "party", op: "=", value: p.id }] }))
        children.push(...pg.records.map((x) => x.id));
      expect(children).toEqual([addr]);
    });

    it("a table written as rows replaces the table: kept rows written, missing rows deleted, new rows created", async () => {
      const p = await customer(`${run} table`);
      const [first] = p.values.addresses as { id: string }[];
      const u = await c.update("party.party", p.id, {
        addresses: [
          { id: first.id, city: "Capital City" },
          { street: "9 New Road", city: "Ogdenville" },
        ],
      });
      const rows = u.values.addresses as { id: string; city: string }[];
      expect(rows.map((r) => r.city).sort()).toEqual(["Capital City", "Ogdenville"]);
      expect(rows.find((r) => r.city === "Capital City")?.id).toBe(first.id);
      const u2 = await c.update("party.party", p.id, { addresses: [{ id: first.id }] });
      expect((u2.values.addresses as unknown[]).length).toBe(1);
      expect(
        await c.readByIds(
          "party.address",
          rows.filter((r) => r.id !== first.id).map((r) => r.id),
        ),
      ).toEqual([]);
    });

    it("deletions are found by comparing id lists (no tombstones); archived records still count as present", async () => {
      const ids = (await clerk.call("model.party.party.create", [[{ name: `${run} del-1` }, { name: `${run} del-2` }]])) as number[];
      const before = new Set<string>();
      for await (const chunk of c.listIds("party.party")) for (const id of chunk) before.add(id);
      expect(before.has(String(ids[0]))).toBe(true);
      await clerk.call("model.party.party.write", [[ids[1]], { active: false }]);
      await clerk.call("model.party.party.delete", [[ids[0]]]);
      const after = new Set<string>();
      for await (const chunk of c.listIds("party.party")) for (const id of chunk) after.add(id);
      expect([...before].filter((id) => !after.has(id))).toEqual([String(ids[0])]);
      const [archived] = await c.readByIds("party.party", [String(ids[1])]);
      expect(archived.values.active).toBe(false);
      expect(archived.modifiedBy).toBe("clerk");
    });
  });

  describe("values", () => {
    it("Decimal, date and many2one round trip (numbers, YYYY-MM-DD, id strings)", async () => {
      const p = await customer(`${run} decimal`);
      const s = await sale(p, widget, { sale_date: "2026-03-04" });
      expect(s.values.sale_date).toBe("2026-03-04");
      expect(s.values.party).toBe(p.id);
      const [withLines] = await c.readByIds("sale.sale", [s.id], ["lines", "total_amount", "untaxed_amount"]);
      const line = (withLines.values.lines as Record<string, unknown>[])[0];
      expect(line.unit_price).toBe(10.25);
      expect(line.quantity).toBe(5);
      expect(withLines.values.total_amount).toBe(51.25);
      const raw = (await clerk.call("model.sale.line.read", [[Number(line.id)], ["unit_price"]])) as { unit_price: unknown }[];
      expect(raw[0].unit_price).toMatchObject({ __class__: "Decimal" });
      expect(Number((raw[0].unit_price as { decimal: string }).decimal)).toBe(10.25);
    });

    it("a link to a record that does not exist is refused before Tryton stores it (SQLite has no foreign keys)", async () => {
      const e = await c.create("sale.sale", { party: "999999", description: `${run} dangling` }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationRejected);
      expect((e as ValidationRejected).where.field).toBe("party");
    });

    it("modifiedBy is the login of write_uid (or create_uid)", async () => {
      const p = await customer(`${run} author`);
      expect(p.modifiedBy).toBe(env.user);
      await clerk.call("model.party.party.write", [[Number(p.id)], { name: `${run} author (clerk)` }]);
      const [r] = await c.readByIds("party.party", [p.id]);
      expect(r.modifiedBy).toBe("clerk");
    });
  });

  describe("sales workflow", () => {
    it("submit = quote then confirm, state re-read: the sale reaches processing with an invoice; a second submit is a no-op", async () => {
      const p = await customer(`${run} sale-ok`);
      const s = await sale(p, widget);
      expect(s.state).toBe("draft");
      const done = await c.submit("sale.sale", s.id);
      expect(done.state).toBe("processing");
      const [full] = await c.readByIds("sale.sale", [s.id], ["state", "number", "invoices", "shipments"]);
      expect((full.values.invoices as string[]).length).toBe(1);
      expect(full.values.number).toBeTruthy();
      const again = await c.submit("sale.sale", s.id);
      expect(again.state).toBe("processing");
      // cancelling a processing sale is refused (Tryton would silently ignore the button)
      expect(await c.cancel("sale.sale", s.id).catch((x: unknown) => x)).toBeInstanceOf(ValidationRejected);
    });

    it("submit policy `quote` stops at a quotation (state re-read)", async () => {
      const q = connector(env, proxy.url, { submit: { "sale.sale": "quote" } });
      const p = await customer(`${run} sale-quote`);
      const s = await sale(p, widget);
      expect((await q.submit("sale.sale", s.id)).state).toBe("quotation");
      await q.close();
    });

    it("confirm without accounting answers OK in Tryton; the connector detects it by state and surfaces the error", async () => {
      const t = await c.create("product.template", {
        name: `${run} no-account`,
        type: "goods",
        default_uom: unit,
        sale_uom: unit,
        salable: true,
        list_price: "7.50",
        products: [["create", [{}]]],
      });
      // the table written on create comes back as rows
      const variant = (t.values.products as { id: string }[])[0].id;
      expect((await c.findByField("product.product", "template", t.id)).map((r) => r.id)).toEqual([variant]);
      const p = await customer(`${run} sale-noacc`);
      const s = await sale(p, variant);
      const e = await c.submit("sale.sale", s.id).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationRejected);
      expect((e as Error).message).toMatch(/Account Category/i);
      const [after] = await c.readByIds("sale.sale", [s.id], ["state"]);
      expect(after.state).toBe("confirmed");
    });

    it("quote without addresses is a ValidationRejected with Tryton's reason; cancel from quotation works", async () => {
      const p = await customer(`${run} sale-noaddr`);
      const bare = await c.create("sale.sale", { party: p.id, description: `${run} no address` });
      const e = await c.submit("sale.sale", bare.id).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationRejected);
      expect((e as Error).message).toMatch(/invoice address/);
      const s = await sale(p, widget);
      await c.update("sale.sale", s.id, {});
      const quoted = await (async () => {
        await c.callModel("sale.sale", "quote", [[Number(s.id)]]);
        return (await c.readByIds("sale.sale", [s.id], ["state"]))[0];
      })();
      expect(quoted.state).toBe("quotation");
      const cancelled = await c.cancel("sale.sale", s.id);
      expect(cancelled.state).toBe("cancelled");
      await c.delete("sale.sale", s.id);
      expect(await c.readByIds("sale.sale", [s.id])).toEqual([]);
    });
  });

  describe("errors", () => {
    it("maps Tryton's error shapes to Accord's classes", async () => {
      // missing record
      expect(await c.update("party.party", "99999999", { name: "x" }).catch((x: unknown) => x)).toBeInstanceOf(NotFound);
      const w = await c.callModel("party.party", "write", [[99999999], { name: "x" }]).catch((x: unknown) => x);
      expect(w).toBeInstanceOf(NotFound);
      // required value
      const req = await c.create("sale.sale", { description: `${run} no party` }).catch((x: unknown) => x);
      expect(req).toBeInstanceOf(ValidationRejected);
      expect((req as Error).message).toMatch(/A value is required/);
      expect((req as ValidationRejected).where.field).toBe("Party");
      // bad selection
      const p = await customer(`${run} errors`);
      const sel = await sale(p, widget, { invoice_method: "bogus" }).catch((x: unknown) => x);
      expect(sel).toBeInstanceOf(ValidationRejected);
      expect((sel as Error).message).toMatch(/not one of the allowed options/);
      // unique
      const dup = await c.create("party.party", { name: `${run} dup`, code: String(p.values.code) }).catch((x: unknown) => x);
      expect(dup).toBeInstanceOf(ValidationRejected);
      expect((dup as Error).message).toMatch(/unique/);
      // unknown field: checked against fields_get before sending, and the server's KeyError when it gets one
      expect(await c.create("party.party", { name: "x", nosuchfield: 1 }).catch((x: unknown) => x)).toBeInstanceOf(SchemaDrift);
      const ke = await c.findByField("party.party", "addresses.nosuchfield", "x").catch((x: unknown) => x);
      expect(ke).toBeInstanceOf(SchemaDrift);
      expect((ke as Error).message).toMatch(/nosuchfield/);
      // unknown model
      expect(await c.describe(["no.such.model"]).catch((x: unknown) => x)).toBeInstanceOf(NotFound);
      const um = await c.readByIds("no.such.model", ["1"]).catch((x: unknown) => x);
      expect(um).toBeInstanceOf(SchemaDrift);
      // method not exposed over RPC: HTTP 403
      const f = await c.callModel("party.party", "_write", [[1]]).catch((x: unknown) => x);
      expect(f).toBeInstanceOf(ValidationRejected);
      expect((f as ValidationRejected).status).toBe(403);
    });

    it("optimistic locking: a stale version is a VersionConflict; Tryton's own _timestamp check is a VersionConflict too", async () => {
      const p = await customer(`${run} lock`);
      await clerk.call("model.party.party.write", [[Number(p.id)], { name: `${run} lock (clerk)` }]);
      const e = await c.update("party.party", p.id, { name: "mine" }, { ifVersion: p.version }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VersionConflict);
      const stale = await c
        .callModel("party.party", "write", [[Number(p.id)], { name: "mine" }])
        .then(() => "written")
        .catch((x: unknown) => x);
      expect(stale).toBe("written"); // no _timestamp: no check
      const r = await clerk.post("model.party.party.write", [
        [Number(p.id)],
        { name: "x" },
        { ...clerk.context, _timestamp: { [`party.party,${p.id}`]: "1" } },
      ]);
      expect((r.json?.error as unknown[] | undefined)?.[0]).toBe("ConcurrencyException");
      const mapped = c as unknown as { rpc: { mapError: (e: unknown, a: string, o: object) => Error } };
      expect(mapped.rpc.mapError(r.json?.error, "write", {})).toBeInstanceOf(VersionConflict);
    });
  });

  describe("authentication", () => {
    it("an expired session is renewed by exactly one re-login, and the call succeeds", async () => {
      const k = connector(env, proxy.url);
      await k.whoAmI();
      // Log the connector's own session out on the server (the proxy saw its header).
      const r = await fetch(`${env.url}/${env.db}/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: proxy.lastAuthorization },
        body: JSON.stringify({ id: 1, method: "common.db.logout", params: [] }),
      });
      expect(r.status).toBe(200);
      const from = proxy.bodies.length;
      const recs = await k.readByIds("party.party", ["1"]);
      expect(recs.length).toBe(1);
      const logins = proxy.bodies.slice(from).filter((b) => b.includes('"common.db.login"')).length;
      expect(logins).toBe(1);
      await k.close();
    });

    it("a session refused again right after the re-login is an AuthError (no loop)", async () => {
      const k = connector(env, proxy.url, {}, { user: "clerk", password: env.password });
      await k.whoAmI();
      const from = proxy.bodies.length;
      proxy.expireNext = 2;
      const e = await k.readByIds("party.party", ["1"]).catch((x: unknown) => x);
      proxy.expireNext = 0;
      expect(e).toBeInstanceOf(AuthError);
      const sent = proxy.bodies.slice(from);
      expect(sent.filter((b) => b.includes('"common.db.login"')).length).toBe(1);
      expect(sent.length).toBe(3);
      await k.close();
    });

    it("a wrong password is an AuthError after exactly one call, remembered (no second attempt feeding the lock-out)", async () => {
      const creds = { user: throwaway(), password: "not-the-password-0000" };
      const k = connector(env, proxy.url, {}, creds);
      const from = proxy.requests;
      const e = await k.whoAmI().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AuthError);
      expect((e as AuthError).status).toBe(401);
      expect(proxy.requests - from).toBe(1);
      expect(await k.readByIds("party.party", ["1"]).catch((x: unknown) => x)).toBeInstanceOf(AuthError);
      const k2 = connector(env, proxy.url, {}, creds);
      expect(await k2.whoAmI().catch((x: unknown) => x)).toBeInstanceOf(AuthError);
      expect(proxy.requests - from).toBe(1);
      expect(JSON.stringify(e) + String((e as Error).message)).not.toContain(creds.password);
      await k.close();
      await k2.close();
    });

    it("Tryton's login lock-out (HTTP 429, no Retry-After) is surfaced at once, not slept through or retried", async () => {
      const k = connector(env, proxy.url, {}, { user: throwaway(), password: "whatever-0000" });
      proxy.lockout = true;
      const from = proxy.requests;
      const t0 = Date.now();
      const e = await k.whoAmI().catch((x: unknown) => x);
      proxy.lockout = false;
      expect(e).toBeInstanceOf(RateLimited);
      expect((e as Error).message).toMatch(/too many failed logins/);
      expect(proxy.requests - from).toBe(1);
      expect(Date.now() - t0).toBeLessThan(2000);
      await k.close();
    });
  });

  describe("describe", () => {
    it("fields_get → neutral types, selection options, required/readonly, relations, submittable", async () => {
      const s = await c.describe(["sale.sale", "party.party"]);
      const sale = s.entities["sale.sale"];
      expect(sale.submittable).toBe(true);
      expect(sale.fields.invoice_method).toMatchObject({ type: "enum", nativeType: "selection", required: true });
      expect(sale.fields.invoice_method.options).toEqual(["manual", "order", "shipment"]);
      expect(sale.fields.party).toMatchObject({ type: "link", target: "party.party", required: true });
      expect(sale.fields.lines).toMatchObject({ type: "table", target: "sale.line" });
      expect(sale.fields.total_amount).toMatchObject({ type: "currency", readOnly: true });
      expect(sale.fields.sale_date.type).toBe("date");
      expect(s.entities["party.party"].fields.write_date).toMatchObject({ type: "datetime", readOnly: true });
      expect(s.entities["party.party"].submittable).toBeUndefined();
    });
  });
});
