/**
 * Bulk creates into the REAL Tryton (bash scripts/peers/tryton.sh start): createMany sends the
 * whole batch as ONE model.<name>.create (one transaction, all or none) and reads the records back
 * in ONE read, in payload order. Requests are counted at a proxy in front of the server
 * (FaultProxy, no faults) as well as by the connector's stats().
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrytonConnector } from "../../src/connectors/tryton/index.ts";
import type { RemoteRecord } from "../../src/connectors/types.ts";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";
import { FaultProxy, type PeerEnv, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const run = `bulk-${Date.now().toString(36)}`;
type Row = Record<string, unknown>;

(peer ? describe : describe.skip)("tryton: bulk creates (real server)", () => {
  const env = peer as PeerEnv;
  let proxy: FaultProxy;
  let conn: TrytonConnector;
  let raw: RawTryton;
  const parties: number[] = [];
  const sales: number[] = [];
  let templateId: number | undefined;

  /** model.<entity>.create requests the proxy saw since `from` (each body is one JSON-RPC request). */
  const createRequests = (entity: string, from: number) =>
    proxy.bodies.slice(from).filter((b) => (JSON.parse(b) as { method?: string }).method === `model.${entity}.create`);
  const partiesNamed = async (prefix: string) =>
    (await raw.call("model.party.party.search", [[["name", "like", `${prefix}%`]], 0, null, null])) as number[];

  beforeAll(async () => {
    proxy = await new FaultProxy(env.url).start();
    raw = await new RawTryton(env).open();
    conn = new TrytonConnector({
      url: proxy.url,
      credentials: { user: env.user, password: env.password },
      options: { database: env.db, company: raw.context.company, timeoutMs: 30_000 },
    });
    await conn.whoAmI();
  });

  afterAll(async () => {
    if (raw) {
      if (sales.length) await raw.call("model.sale.sale.delete", [sales]).catch(() => {});
      const ours = await partiesNamed(run).catch(() => [] as number[]);
      const all = [...new Set([...parties, ...ours])];
      if (all.length) await raw.call("model.party.party.delete", [all]).catch(() => {});
      if (templateId) await raw.call("model.product.template.delete", [[templateId]]).catch(() => {});
    }
    await conn?.close();
    await proxy?.close();
  });

  it("has a batch size and refuses more than that in one call", async () => {
    expect(conn.maxCreateBatch).toBeGreaterThanOrEqual(50);
    const many = Array.from({ length: conn.maxCreateBatch + 1 }, (_, i) => ({ name: `${run} over ${i}`, code: `${run}-over-${i}` }));
    const from = proxy.bodies.length;
    await expect(conn.createMany("party.party", many, { key: "code" })).rejects.toMatchObject({ errorClass: "ValidationRejected" });
    expect(createRequests("party.party", from)).toHaveLength(0);
  });

  it("20 parties in ONE create request and one read: returned in payload order with their values and tables", async () => {
    const payloads: Row[] = Array.from({ length: 20 }, (_, i) => ({
      name: `${run} Party ${String(i).padStart(2, "0")}`,
      code: `${run}-${i}`,
      // some with an address (a table): its rows are read back for those, as create() does
      ...(i % 4 === 0 ? { addresses: [{ street: `${i} Main Street`, city: "Springfield", postal_code: "12345" }] } : {}),
    }));
    // the payloads in a shuffled order: matching is by position, whatever the keys' order
    payloads.reverse();
    const from = proxy.bodies.length;
    const before = conn.stats().calls;
    const out = await conn.createMany("party.party", payloads, { key: "code", fields: ["name", "code"] });
    const calls = conn.stats().calls - before;
    const reqs = proxy.bodies.slice(from);

    expect(out).toHaveLength(20);
    const recs = out.map((r) => {
      if (r instanceof Error) throw r;
      return r as RemoteRecord;
    });
    parties.push(...recs.map((r) => Number(r.id)));
    for (const [i, p] of payloads.entries()) {
      expect(recs[i].values.name).toBe(p.name);
      expect(recs[i].values.code).toBe(p.code);
      expect(recs[i].modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (p.addresses) {
        const rows = recs[i].values.addresses as Row[];
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ street: (p.addresses as Row[])[0].street, city: "Springfield" });
      }
    }
    expect(new Set(recs.map((r) => r.id)).size).toBe(20);
    // one transaction: one shared creation timestamp
    expect(new Set(recs.map((r) => r.createdAt)).size).toBe(1);
    // ONE create request carrying all 20, and one read back (plus at most the cached schema reads)
    const creates = createRequests("party.party", from);
    expect(creates).toHaveLength(1);
    expect((JSON.parse(creates[0]) as { params: unknown[][] }).params[0]).toHaveLength(20);
    const reads = reqs.filter((b) => (JSON.parse(b) as { method?: string }).method === "model.party.party.search_read");
    expect(reads).toHaveLength(1);
    expect(calls).toBeLessThanOrEqual(6); // create + read + fields_get of party.party/party.address/… when not yet cached
    expect(calls).toBe(reqs.length);

    // the records really are in Tryton, once each
    const found = (await raw.call("model.party.party.search_read", [
      [["code", "in", payloads.map((p) => p.code)]],
      0,
      null,
      null,
      ["code", "name"],
    ])) as Row[];
    expect(found).toHaveLength(20);
    expect(new Map(found.map((f) => [String(f.id), f.code]))).toEqual(new Map(recs.map((r) => [r.id, r.values.code])));
  });

  it("a batch the server refuses for one record (a code already taken) creates nothing: all or none", async () => {
    const [taken] = (await raw.call("model.party.party.read", [[parties[0]], ["code"]])) as Row[];
    const prefix = `${run} Refused`;
    const payloads: Row[] = Array.from({ length: 10 }, (_, i) => ({ name: `${prefix} ${i}`, code: `${run}-refused-${i}` }));
    payloads[6].code = taken.code; // Tryton: "The code on party must be unique."
    const from = proxy.bodies.length;
    const err = await conn.createMany("party.party", payloads, { key: "code" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: "ValidationRejected" });
    expect(String((err as Error).message)).toMatch(/unique/i);
    // the code was given by a payload: no retry (that is only for codes the server numbered)
    expect(createRequests("party.party", from)).toHaveLength(1);
    expect(await partiesNamed(prefix)).toEqual([]);
  });

  it("a batch with a reference to a record that does not exist is refused before anything is sent", async () => {
    const prefix = `${run} Dangling`;
    const payloads: Row[] = Array.from({ length: 5 }, (_, i) => ({ name: `${prefix} ${i}`, code: `${run}-dangling-${i}` }));
    payloads[3].lang = "999999"; // party.party.lang → ir.lang: SQLite would store the dangling id
    const from = proxy.bodies.length;
    const err = await conn.createMany("party.party", payloads, { key: "code" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: "ValidationRejected", where: { field: "lang" } });
    expect(String((err as Error).message)).toMatch(/ir\.lang 999999.*does not exist/);
    expect(createRequests("party.party", from)).toHaveLength(0);
    expect(await partiesNamed(prefix)).toEqual([]);
  });

  it("a missing required value in one record refuses the whole batch on the server; nothing is created", async () => {
    // party.address.party is required: an address created without its party is refused by Tryton
    const prefix = `${run} Street`;
    const payloads: Row[] = Array.from({ length: 4 }, (_, i) => ({ street: `${prefix} ${i}`, party: String(parties[0]) }));
    delete payloads[2].party;
    const from = proxy.bodies.length;
    const err = await conn.createMany("party.address", payloads, { key: "street" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: "ValidationRejected" });
    expect(createRequests("party.address", from)).toHaveLength(1);
    const left = (await raw.call("model.party.address.search", [[["street", "like", `${prefix}%`]], 0, null, null])) as number[];
    expect(left).toEqual([]);
  });

  it("an empty or repeated key value is refused before any request", async () => {
    const from = proxy.bodies.length;
    const repeated = [
      { name: `${run} Rep 1`, code: `${run}-rep` },
      { name: `${run} Rep 2`, code: `${run}-rep` },
    ];
    const e1 = await conn.createMany("party.party", repeated, { key: "code" }).catch((e: unknown) => e);
    expect(e1).toMatchObject({ errorClass: "ValidationRejected", where: { field: "code" } });
    expect(String((e1 as Error).message)).toMatch(/repeated/);
    for (const bad of [undefined, null, ""]) {
      const payloads: Row[] = [
        { name: `${run} Empty 1`, code: `${run}-empty-1` },
        { name: `${run} Empty 2`, ...(bad === undefined ? {} : { code: bad }) },
      ];
      const e = await conn.createMany("party.party", payloads, { key: "code" }).catch((x: unknown) => x);
      expect(e).toMatchObject({ errorClass: "ValidationRejected", where: { field: "code" } });
    }
    const e3 = await conn
      .createMany("party.party", [{ id: "1", name: `${run} Id`, code: `${run}-id` }], { key: "code" })
      .catch((x: unknown) => x);
    expect(e3).toMatchObject({ errorClass: "ValidationRejected", where: { field: "id" } });
    expect(proxy.bodies.length).toBe(from);
    expect(await conn.createMany("party.party", [], { key: "code" })).toEqual([]);
    expect(proxy.bodies.length).toBe(from);
  });

  it("concurrent batches whose codes the server numbers: a batch that loses the sequence race is tried again whole", async () => {
    // no payload gives `code`: Tryton numbers it from its sequence, and on SQLite two concurrent
    // transactions can draw the same number ("The code on party must be unique.", rolled back)
    const others = Array.from(
      { length: 3 },
      () =>
        new TrytonConnector({
          url: proxy.url,
          credentials: { user: env.user, password: env.password },
          options: { database: env.db, company: raw.context.company, timeoutMs: 30_000 },
        }),
    );
    const lanes = [conn, ...others];
    const prefix = `${run} Race`;
    try {
      const ids: string[] = [];
      for (let round = 0; round < 2; round++) {
        const outs = await Promise.all(
          lanes.map((c, k) =>
            c.createMany(
              "party.party",
              Array.from({ length: 6 }, (_, i) => ({ name: `${prefix} ${round}-${k}-${i}` })),
              { key: "name" },
            ),
          ),
        );
        for (const out of outs)
          for (const r of out) {
            if (r instanceof Error) throw r;
            ids.push(r.id);
          }
      }
      parties.push(...ids.map(Number));
      expect(new Set(ids).size).toBe(48);
      const found = (await raw.call("model.party.party.search_read", [[["name", "like", `${prefix}%`]], 0, null, null, ["code"]])) as Row[];
      expect(found).toHaveLength(48);
      expect(new Set(found.map((f) => f.code)).size).toBe(48);
    } finally {
      for (const c of others) await c.close();
    }
  }, 60_000);

  it("sales with lines in one create: each line without a unit gets its product's sale unit, read once for all", async () => {
    const [party] = (await raw.call("model.party.party.create", [
      [{ name: `${run} Sale Customer`, addresses: [["create", [{ street: "1 Sale Street", city: "Springfield" }]]] }],
    ])) as number[];
    parties.push(party);
    const [p] = (await raw.call("model.party.party.read", [[party], ["addresses"]])) as Row[];
    const address = (p.addresses as number[])[0];
    [templateId] = (await raw.call("model.product.template.create", [
      [
        {
          name: `${run} Gadget`,
          type: "goods",
          default_uom: 1,
          sale_uom: 1,
          salable: true,
          list_price: "25.50",
          products: [["create", [{}]]],
        },
      ],
    ])) as number[];
    const [tpl] = (await raw.call("model.product.template.read", [[templateId], ["products"]])) as Row[];
    const product = (tpl.products as number[])[0];
    const payloads: Row[] = [1, 2, 3].map((n) => ({
      party: String(party),
      invoice_address: String(address),
      shipment_address: String(address),
      reference: `${run}-sale-${n}`,
      description: `${run} deal ${n}`,
      lines: Array.from({ length: n }, (_, k) => ({ product: String(product), quantity: k + 1, unit_price: 25.5, description: "Gadget" })),
    }));
    const from = proxy.bodies.length;
    const out = await conn.createMany("sale.sale", payloads, { key: "reference" });
    const recs = out.map((r) => {
      if (r instanceof Error) throw r;
      return r as RemoteRecord;
    });
    sales.push(...recs.map((r) => Number(r.id)));
    expect(recs.map((r) => r.values.reference)).toEqual(payloads.map((x) => x.reference));
    expect(recs.map((r) => (r.values.lines as Row[]).length)).toEqual([1, 2, 3]);
    for (const r of recs) for (const line of r.values.lines as Row[]) expect(line.unit).toBe("1");
    expect(recs.every((r) => r.state === "draft")).toBe(true);
    const methods = proxy.bodies.slice(from).map((b) => (JSON.parse(b) as { method?: string }).method);
    expect(methods.filter((m) => m === "model.sale.sale.create")).toHaveLength(1);
    // the product's unit: one read for the six lines; the links: one search per target model
    expect(methods.filter((m) => m === "model.product.product.search_read")).toHaveLength(1);
    expect(methods.filter((m) => m === "model.party.party.search")).toHaveLength(1);
    expect(methods.filter((m) => m === "model.party.address.search")).toHaveLength(1);
  });
});

const SPEC = `
version: 1
name: tryton-bulk
systems:
  crm:
    type: espocrm
    url: "\${TB_CRM_URL}"
    credentials: { apiKey: "\${TB_CRM_KEY}" }
  erp:
    type: tryton
    url: "\${TB_TRYTON_URL}"
    credentials: { user: "\${TB_TRYTON_USER}", password: "\${TB_TRYTON_PASSWORD}" }
    options: { database: "__DB__" }
owner: { name: Test Owner, email: owner@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp:
      entity: party.party
      identity: id
      createKey: code
      filter: [ { field: create_date, op: ">=", value: "__SINCE__" }, { field: name, op: like, value: "__RUN__%" } ]
    create: crm->erp
    fields:
      - { crm: name, erp: name, direction: both, conflict: review, required: true }
`;

(peer ? describe : describe.skip)("tryton: an engine sync in 4 lanes creates the CRM's accounts in bulk (real server)", () => {
  const env = peer as PeerEnv;
  const prefix = `${run} Sync`;
  let crm: EspoCrmSandbox;
  let proxy: FaultProxy;
  let opened: OpenedContext;
  let raw: RawTryton;

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    crm = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    proxy = await new FaultProxy(env.url).start();
    raw = await new RawTryton(env).open();
    const spec = loadSpec(SPEC.replace("__DB__", env.db).replace("__SINCE__", since).replace("__RUN__", prefix), "tryton-bulk.yaml");
    opened = await openContext(spec, {
      env: {
        TB_CRM_URL: crm.url,
        TB_CRM_KEY: crm.apiKey,
        TB_TRYTON_URL: proxy.url,
        TB_TRYTON_USER: env.user,
        TB_TRYTON_PASSWORD: env.password,
      },
      store: await testStoreOptions(),
    });
    for (let i = 0; i < 60; i++) await opened.ctx.crm.create("Account", { name: `${prefix} ${String(i).padStart(2, "0")}` });
  });

  afterAll(async () => {
    const ours = raw
      ? ((await raw.call("model.party.party.search", [[["name", "like", `${prefix}%`]], 0, null, null]).catch(() => [])) as number[])
      : [];
    if (ours.length) await raw.call("model.party.party.delete", [ours]).catch(() => {});
    await opened?.close();
    await crm?.close();
    await proxy?.close();
  });

  it("60 accounts become 60 parties, each keyed by its account id, in far fewer create calls than records", async () => {
    const from = proxy.bodies.length;
    const res = await runSync(opened.ctx, { applyConcurrency: 4 });
    const c = res.objects[0].counts;
    expect(c.quarantined).toBe(0);
    expect(c.read).toBe(c.applied + c.unchanged + c.held + c.quarantined);
    const creates = proxy.bodies.slice(from).filter((b) => (JSON.parse(b) as { method?: string }).method === "model.party.party.create");
    const carried = creates.map((b) => ((JSON.parse(b) as { params: unknown[][] }).params[0] ?? []).length);
    expect(carried.reduce((a, b) => a + b, 0)).toBe(60);
    expect(creates.length).toBeLessThanOrEqual(10);
    expect(Math.max(...carried)).toBeGreaterThan(1);
    const links = await opened.ctx.store.listLinks("tryton-bulk", "customer");
    expect(links).toHaveLength(60);
    const parties = (await raw.call("model.party.party.search_read", [
      [["name", "like", `${prefix}%`]],
      0,
      null,
      null,
      ["name", "code"],
    ])) as Row[];
    expect(parties).toHaveLength(60);
    const byId = new Map(parties.map((p) => [String(p.id), p]));
    for (const l of links) {
      const [acc] = await opened.ctx.crm.readByIds("Account", [l.crmId as string]);
      const party = byId.get(l.erpId as string);
      expect(party?.code).toBe(acc.id);
      expect(party?.name).toBe(acc.values.name);
      expect(acc.values.cAccordId).toBe(l.erpId);
    }
    // a second run creates nothing
    const from2 = proxy.bodies.length;
    const again = await runSync(opened.ctx, { applyConcurrency: 4 });
    expect(again.objects[0].counts.quarantined).toBe(0);
    expect(proxy.bodies.slice(from2).filter((b) => b.includes('"model.party.party.create"'))).toHaveLength(0);
    expect((await raw.call("model.party.party.search", [[["name", "like", `${prefix}%`]], 0, null, null])) as number[]).toHaveLength(60);
  }, 120_000);
});
