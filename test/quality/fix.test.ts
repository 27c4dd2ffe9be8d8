/**
 * Standardisation (`accord fix`): the rules one by one (pure), then plan → apply → undo against
 * the emulated systems over HTTP, with the undo log and the store's history.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector } from "../../src/connectors/types.ts";
import {
  applyFixes,
  countryName,
  type FixContext,
  listUndoLogs,
  phoneE164,
  planFixes,
  standardizeValue,
  suffixVariant,
  undoFixes,
} from "../../src/quality/standardize.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { IntegrationSpec } from "../../src/spec/model.ts";
import type { Store } from "../../src/store/types.ts";
import { openTestStore } from "../support/store.ts";

describe("standardisation rules", () => {
  it("trims, collapses spaces and changes case", () => {
    expect(standardizeValue(["trim", "collapse-spaces"], "  Acme   Tools  GmbH ")).toBe("Acme Tools GmbH");
    expect(standardizeValue(["upper"], "de")).toBe("DE");
    expect(standardizeValue(["lower"], "ACME")).toBe("acme");
    expect(standardizeValue(["title"], "VOSWUV TRADING o'neil-smith")).toBe("Voswuv Trading O'Neil-Smith");
  });

  it("writes each legal form one way, and leaves names without one alone", () => {
    expect(suffixVariant("Swomeas L.L.P.")).toBe("Swomeas LLP");
    expect(suffixVariant("Dryme Technologies, LLC")).toBe("Dryme Technologies LLC");
    expect(suffixVariant("Wallace Partners Incorporated")).toBe("Wallace Partners Inc.");
    expect(suffixVariant("Acme Limited")).toBe("Acme Ltd");
    expect(suffixVariant("Hofmann GMBH")).toBe("Hofmann GmbH");
    expect(suffixVariant("Jansen & Bos BV")).toBe("Jansen & Bos B.V.");
    expect(suffixVariant("Sony KK")).toBe("Sony K.K.");
    expect(suffixVariant("Bodegas González S.A")).toBe("Bodegas González S.A.");
    expect(suffixVariant("Acme GmbH")).toBe("Acme GmbH");
    expect(suffixVariant("Stone Brothers Tooling")).toBe("Stone Brothers Tooling");
    expect(suffixVariant("Inc")).toBe("Inc"); // a name that is only a suffix is not touched
    expect(suffixVariant("Транс Атанасов АД")).toBe("Транс Атанасов АД");
  });

  it("formats phones as E.164, using the record's country for national numbers", () => {
    expect(phoneE164("+1 644-555-7839")).toBe("+16445557839");
    expect(phoneE164("0049 30 1234567")).toBe("+49301234567");
    expect(phoneE164("030 1234567", "Deutschland")).toBe("+49301234567");
    expect(phoneE164("(415) 555-0100", "USA")).toBe("+14155550100");
    expect(phoneE164("06 12345678", "France")).toBe("+33612345678");
    expect(phoneE164("+44 20 7156 3672 ext. 12")).toBe("+442071563672");
    expect(phoneE164("030 1234567")).toBeUndefined(); // no country: cannot tell
    expect(phoneE164("12")).toBeUndefined();
    expect(standardizeValue(["phone-e164"], "030 1234567", { billingAddressCountry: "DE" })).toBe("+49301234567");
    expect(standardizeValue(["phone-e164"], "030 1234567", {})).toBe("030 1234567"); // left as it is
  });

  it("writes countries as ISO codes or as names", () => {
    expect(standardizeValue(["country-iso2"], "Deutschland")).toBe("DE");
    expect(standardizeValue(["country-iso2"], "U.K.")).toBe("GB");
    expect(standardizeValue(["country-name"], "USA")).toBe("United States");
    expect(standardizeValue(["country-name"], "България")).toBe("Bulgaria");
    expect(standardizeValue(["country-name"], "Atlantis")).toBe("Atlantis");
    expect(countryName("ae")).toBe("United Arab Emirates");
  });

  it("lower-cases e-mail and websites, upper-cases postal codes; non-strings pass", () => {
    expect(standardizeValue(["email"], " Info@ACME.Example ")).toBe("info@acme.example");
    expect(standardizeValue(["website"], "HTTPS://Acme.example/")).toBe("https://acme.example");
    expect(standardizeValue(["postal-code"], " sw1a  1aa ")).toBe("SW1A 1AA");
    expect(standardizeValue(["trim"], 42)).toBe(42);
    expect(standardizeValue(["trim"], null)).toBe(null);
  });

  it("is idempotent: a standardised value does not change again", () => {
    const rules = ["trim", "collapse-spaces", "suffix"] as const;
    for (const name of ["  Swomeas  L.L.P.", "Acme, Inc", "Hofmann GMBH "]) {
      const once = standardizeValue([...rules], name);
      expect(standardizeValue([...rules], once)).toBe(once);
    }
  });
});

const SPEC = (crmUrl: string, erpUrl: string) => `
version: 1
name: fixtest
systems:
  crm: { type: espocrm, url: "${crmUrl}", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "${erpUrl}", credentials: { apiKey: "\${K}", apiSecret: "\${S}" } }
owner: { name: Ops, email: ops@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
standardize:
  crm:
    Account: { name: [trim, collapse-spaces, suffix], emailAddress: [email], billingAddressCountry: [country-name] }
  erp:
    Customer: { customer_name: [trim, collapse-spaces, suffix] }
`;

describe("accord fix against the emulated systems", () => {
  let sb: Sandboxes;
  let dir: string;
  let crm: Connector;
  let erp: Connector;
  let store: Store;
  let spec: IntegrationSpec;
  let ctx: FixContext;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "accord-fix-"));
    sb = await startSandboxes({ accounts: 0 });
    crm = await createConnector("espocrm", { url: sb.crm.url, credentials: { apiKey: sb.crm.apiKey } });
    erp = await createConnector("erpnext", {
      url: sb.erp.url,
      credentials: { apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret },
      options: { timezone: sb.erp.timezone },
    });
    store = await openTestStore({ file: join(dir, "accord.db") });
    spec = loadSpec(SPEC(sb.crm.url, sb.erp.url), "fixtest.yaml");
    ctx = { spec, store, crm, erp };
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([crm?.close(), erp?.close(), store?.close()]);
    await sb?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("plans every change, applies them with an undo log, and undoes them", async () => {
    const a = await crm.create("Account", {
      name: "  Swomeas  L.L.P.",
      emailAddress: "Sales@SWOMEAS.example",
      billingAddressCountry: "U.K.",
    });
    const b = await crm.create("Account", { name: "Clean Ltd", billingAddressCountry: "United Kingdom" });
    const c = await erp.create("Customer", {
      customer_name: "Hofmann GMBH",
      customer_group: "Commercial",
      territory: "All Territories",
      customer_type: "Company",
    });

    const plan = await planFixes(ctx);
    const shown = plan.changes.map((x) => `${x.side} ${x.recordId} ${x.field}: ${x.before} → ${x.after}`).sort();
    expect(shown).toEqual(
      [
        `crm ${a.id} name:   Swomeas  L.L.P. → Swomeas LLP`,
        `crm ${a.id} emailAddress: Sales@SWOMEAS.example → sales@swomeas.example`,
        `crm ${a.id} billingAddressCountry: U.K. → United Kingdom`,
        `erp ${c.id} customer_name: Hofmann GMBH → Hofmann GmbH`,
      ].sort(),
    );
    expect(plan.changes.some((x) => x.recordId === b.id)).toBe(false);
    // a plan writes nothing
    expect((await crm.readByIds("Account", [a.id]))[0]?.values.name).toBe("  Swomeas  L.L.P.");

    const run = await applyFixes(ctx, plan, { dir });
    expect(run.failed).toEqual([]);
    expect(run.applied).toBe(4);
    expect(run.records).toBe(2);
    const after = (await crm.readByIds("Account", [a.id]))[0];
    expect(after?.values.name).toBe("Swomeas LLP");
    expect(after?.values.billingAddressCountry).toBe("United Kingdom");
    expect((await erp.readByIds("Customer", [c.id]))[0]?.values.customer_name).toBe("Hofmann GmbH");
    expect((await planFixes(ctx)).changes).toEqual([]);

    const log = JSON.parse(await readFile(run.undoFile, "utf8")) as { entries: unknown[]; runId: string };
    expect(log.entries).toHaveLength(4);
    expect(listUndoLogs("fixtest", dir).map((l) => l.runId)).toEqual([run.runId]);
    const history = await store.history("fixtest", "customer", a.id);
    expect(history.map((h) => h.field).sort()).toEqual(["billingAddressCountry", "emailAddress", "name"]);
    expect(history[0]?.rule).toContain(run.runId);

    // a person edits one fixed value meanwhile: undo leaves that one alone
    await crm.update("Account", a.id, { billingAddressCountry: "GB" });
    const undo = await undoFixes(ctx, run.runId, { dir });
    expect(undo.failed).toEqual([]);
    expect(undo.reverted).toBe(3);
    expect(undo.skipped.map((s) => s.field)).toEqual(["billingAddressCountry"]);
    const back = (await crm.readByIds("Account", [a.id]))[0];
    expect(back?.values.name).toBe("  Swomeas  L.L.P.");
    expect(back?.values.billingAddressCountry).toBe("GB");
    expect((await erp.readByIds("Customer", [c.id]))[0]?.values.customer_name).toBe("Hofmann GMBH");
    await expect(undoFixes(ctx, run.runId, { dir })).rejects.toThrow(/already undone/);
    await expect(undoFixes(ctx, "fix-nope", { dir })).rejects.toThrow(/no undo log/);
  });

  it("skips a record changed after the plan read it (the write is conditional on its version)", async () => {
    const a = await crm.create("Account", { name: "Racing  Co" });
    const plan = await planFixes(ctx, { side: "crm" });
    expect(plan.changes.filter((x) => x.recordId === a.id)).toHaveLength(1);
    await crm.update("Account", a.id, { name: "Racing Company Inc" }); // a person, after the plan
    const run = await applyFixes(ctx, { ...plan, changes: plan.changes.filter((x) => x.recordId === a.id) }, { dir });
    expect(run.applied).toBe(0);
    expect(run.failed.map((f) => f.recordId)).toEqual([a.id]);
    expect((await crm.readByIds("Account", [a.id]))[0]?.values.name).toBe("Racing Company Inc");
  });
});
