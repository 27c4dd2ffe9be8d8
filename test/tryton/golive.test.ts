/**
 * Go-live against the REAL Tryton and the EspoCRM sandbox: companies kept by hand in both systems
 * (spelled a little differently) are paired by the matcher through the Tryton connector's
 * organisation view (party + invoice address + contact mechanisms + tax identifier, read in
 * batches), linked, and the Tryton party id is stamped into the CRM account; the first sync then
 * creates no second copy. The peer's database keeps other tests' parties: every name and e-mail
 * here carries this run's tag, and the sync reads only this run's parties.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrytonConnector } from "../../src/connectors/tryton/index.ts";
import { type OpenedContext, openContext } from "../../src/engine/context.ts";
import { runSync } from "../../src/engine/index.ts";
import { goLive } from "../../src/quality/golive.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import { testStoreOptions } from "../support/store.ts";
import { type PeerEnv, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const run = `g${Date.now().toString(36)}`;
/** Per-run street numbers and phone digits: the peer keeps earlier runs' parties, which must not look like these. */
const n = 10 + Math.floor(Math.random() * 980);

interface Company {
  erp: string;
  crm: string;
  street: [string, string];
  zip: string;
  city: string;
  phone: string;
  domain: string;
  vat?: string;
}

const COMPANIES: Company[] = [
  {
    erp: `${run} Nordwind Handel GmbH`,
    crm: `${run} Nordwind Handel`,
    street: [`Hauptstraße ${n}`, `Hauptstr. ${n}`],
    zip: "10115",
    city: "Berlin",
    phone: `+49 30 1234${n}`,
    domain: `nordwind-${run}.example`,
    vat: "DE136695976",
  },
  {
    erp: `${run} Blue Harbor Foods Inc.`,
    crm: `${run} Blue Harbour Foods`,
    street: [`${n} Harbor Road`, `${n} Harbor Rd`],
    zip: "02110",
    city: "Boston",
    phone: `+1 617 555 0${n}`,
    domain: `blueharbor-${run}.example`,
  },
  {
    erp: `${run} Café Lumière SARL`,
    crm: `${run} Cafe Lumiere`,
    street: [`${n} rue de la Paix`, `${n}, Rue de la Paix`],
    zip: "75002",
    city: "Paris",
    phone: `+33 1 42 60 0${n}`,
    domain: `lumiere-${run}.example`,
  },
];

(peer ? describe : describe.skip)("go-live: Tryton parties ↔ EspoCRM accounts (real Tryton)", () => {
  const env = peer as PeerEnv;
  let crm: EspoCrmSandbox;
  let opened: OpenedContext;
  let raw: RawTryton;
  const partyIds: number[] = [];
  let erpOnlyId = 0;
  let germany = 0;

  beforeAll(async () => {
    raw = await new RawTryton(env, env.user).open();
    const de = (await raw.call("model.country.country.search", [[["code", "=", "DE"]], 0, 1, null])) as number[];
    germany = de[0] ?? ((await raw.call("model.country.country.create", [[{ name: "Germany", code: "DE" }]])) as number[])[0];
    for (const c of COMPANIES) {
      const [id] = (await raw.call("model.party.party.create", [
        [
          {
            name: c.erp,
            addresses: [
              [
                "create",
                [{ street: c.street[0], postal_code: c.zip, city: c.city, invoice: true, ...(c.vat ? { country: germany } : {}) }],
              ],
            ],
            contact_mechanisms: [
              [
                "create",
                [
                  { type: "phone", value: c.phone },
                  { type: "email", value: `info@${c.domain}` },
                  { type: "website", value: `https://www.${c.domain}` },
                ],
              ],
            ],
            ...(c.vat ? { identifiers: [["create", [{ type: "eu_vat", code: c.vat }]]] } : {}),
          },
        ],
      ])) as number[];
      partyIds.push(id);
    }
    [erpOnlyId] = (await raw.call("model.party.party.create", [
      [
        {
          name: `${run} Solo Werkzeuge KG`,
          addresses: [["create", [{ street: `Ringweg ${n}`, postal_code: "80331", city: "München", invoice: true }]]],
        },
      ],
    ])) as number[];

    const since = new Date(Date.now() - 60_000).toISOString();
    const spec = await loadSpecFile("examples/espocrm-tryton.yaml");
    spec.systems.erp.options = { ...spec.systems.erp.options, database: env.db };
    spec.objects = spec.objects.filter((o) => ["customer", "billingAddress"].includes(o.name));
    for (const o of spec.objects)
      o.erp.filter = [
        ...(o.erp.filter ?? []),
        { field: "create_date", op: ">=", value: since },
        { field: o.erp.entity === "party.party" ? "name" : "party.name", op: "like", value: `${run}%` },
      ];
    crm = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    opened = await openContext(spec, {
      env: { ESPOCRM_URL: crm.url, ESPOCRM_API_KEY: crm.apiKey, TRYTON_URL: env.url, TRYTON_USER: env.user, TRYTON_PASSWORD: env.password },
      store: await testStoreOptions(),
    });
    for (const c of COMPANIES)
      await opened.ctx.crm.create("Account", {
        name: c.crm,
        billingAddressStreet: c.street[1],
        billingAddressPostalCode: c.zip,
        billingAddressCity: c.city,
        billingAddressCountry: c.vat ? "Germany" : null,
        phoneNumber: c.phone,
        emailAddress: `INFO@${c.domain}`,
        website: `${c.domain}`,
      });
  });
  afterAll(async () => {
    // leave no look-alikes for the next run (addresses, mechanisms and identifiers go with the party)
    if (raw && partyIds.length)
      await raw.call("model.party.party.delete", [[...partyIds, ...(erpOnlyId ? [erpOnlyId] : [])]]).catch(() => {});
    await opened?.close();
    await crm?.close();
  });

  it("organisations: a party with its invoice address, country name, contact mechanisms and tax id, read in batches", async () => {
    const erp = opened.ctx.erp as TrytonConnector;
    const recs = await erp.readByIds("party.party", [...partyIds, erpOnlyId].map(String));
    const before = erp.stats().calls;
    const orgs = await erp.organisations("party.party", recs, { sharedIdField: "id" });
    const calls = erp.stats().calls - before;
    expect(calls).toBeLessThanOrEqual(4); // address, mechanisms, identifiers, parties: not one call per party
    const byId = new Map(orgs.map((o) => [o.id, o]));
    expect(byId.get(String(partyIds[0]))).toEqual({
      id: String(partyIds[0]),
      name: COMPANIES[0].erp,
      street: `Hauptstraße ${n}`,
      postalCode: "10115",
      city: "Berlin",
      country: "Germany",
      phone: `+49 30 1234${n}`,
      email: `info@${COMPANIES[0].domain}`,
      website: `https://www.${COMPANIES[0].domain}`,
      taxId: "DE136695976",
    });
    expect(byId.get(String(erpOnlyId))).toEqual({
      id: String(erpOnlyId),
      name: `${run} Solo Werkzeuge KG`,
      street: `Ringweg ${n}`,
      postalCode: "80331",
      city: "München",
    });
    expect(byId.get(String(partyIds[1]))?.taxId).toBeUndefined();
  });

  it("goLive pairs the differently spelled companies, stamps the party id into the CRM, and the first sync creates no copy", async () => {
    const { ctx } = opened;
    const plan = await goLive(ctx, { object: "customer", dryRun: true });
    expect(plan.linked).toHaveLength(3);
    expect((await ctx.store.listLinks(ctx.spec.name, "customer", { afterId: 0, limit: 10 })).length).toBe(0);

    const res = await goLive(ctx, { object: "customer" });
    expect(res.stampFailed).toEqual([]);
    expect(res.proposals).toBe(0);
    const accounts = (await ctx.crm.findByField("Account", "website", COMPANIES[0].domain)).concat(
      await ctx.crm.findByField("Account", "website", COMPANIES[1].domain),
      await ctx.crm.findByField("Account", "website", COMPANIES[2].domain),
    );
    expect(accounts).toHaveLength(3);
    const pairs = new Map(res.linked.map((p) => [p.crmId, p.erpId]));
    for (const [i, c] of COMPANIES.entries()) {
      const acc = accounts.find((a) => a.values.name === c.crm);
      expect(acc, c.crm).toBeDefined();
      expect(pairs.get(acc?.id ?? "")).toBe(String(partyIds[i]));
      const [now] = await ctx.crm.readByIds("Account", [acc?.id ?? ""]);
      expect(now.values.cAccordId).toBe(String(partyIds[i]));
    }
    expect(res.children.billingAddress).toBe(3);

    // a second go-live changes nothing
    const again = await goLive(ctx, { object: "customer" });
    expect(again.linked).toHaveLength(0);

    // the first sync: the ERP-only party comes into the CRM; no party is created in Tryton
    const r = await runSync(ctx);
    for (const o of r.objects) expect(o.counts.quarantined, JSON.stringify(o.records?.slice(0, 3))).toBe(0);
    const mine = (await raw.call("model.party.party.search", [[["name", "like", `${run}%`]], 0, null, null])) as number[];
    expect(mine.sort()).toEqual([...partyIds, erpOnlyId].sort());
    const solo = await ctx.crm.findByField("Account", "cAccordId", String(erpOnlyId));
    expect(solo.map((a) => a.values.name)).toEqual([`${run} Solo Werkzeuge KG`]);
    // linked pairs took the ERP's name (the ERP is the truth for existing customers)
    const [nordwind] = await ctx.crm.findByField("Account", "cAccordId", String(partyIds[0]));
    expect(nordwind.values.name).toBe(COMPANIES[0].erp);
  });
});
