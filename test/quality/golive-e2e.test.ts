/**
 * Step 6 end to end, over HTTP, as a person runs it: generated systems with duplicates (the
 * sandbox generator, with its labelled ground truth) → `accord audit` → `accord fix --apply` →
 * `accord merge --apply` → `accord link --apply`, each a child process of the real CLI against
 * the emulated EspoCRM and ERPNext. Then, read back through the connectors and the store:
 * both systems carry the shared identifier, no customer is linked twice, the ERP-only
 * customers exist in the CRM, and the CRM-only customers in the ERP.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector, RemoteRecord } from "../../src/connectors/types.ts";
import { ensureErpLinkValues } from "../../src/demo/masters.ts";
import type { TruthEntry } from "../../src/sandbox/generator/types.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import type { Link } from "../../src/store/types.ts";
import { type TestStoreTarget, testStoreTarget } from "../support/store.ts";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const EXAMPLE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");
const COMPANIES = 80;

const STANDARDIZE = `
standardize:
  crm:
    Account:
      name: [trim, collapse-spaces, suffix]
      phoneNumber: [phone-e164]
      emailAddress: [email]
      billingAddressCountry: [trim, country-name]
      billingAddressPostalCode: [postal-code]
  erp:
    Customer:
      customer_name: [trim, collapse-spaces, suffix]
`;

let sb: Sandboxes;
let dir: string;
let file: string;
let env: Record<string, string>;
let truth: TruthEntry[];
let crm: Connector;
let erp: Connector;
let target: TestStoreTarget;

function accord(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir, ACCORD_HOME: join(dir, ".accord"), ...target.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await accord(...args, "--json");
  if (r.code !== 0 && r.code !== 4) throw new Error(`accord ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  return JSON.parse(r.stdout) as T;
}

async function readAll(conn: Connector, entity: string): Promise<RemoteRecord[]> {
  const out: RemoteRecord[] = [];
  for await (const page of conn.readChanges(entity, {})) out.push(...page.records);
  return out;
}

interface AuditJson {
  summary: {
    counts: Record<"crm" | "erp", Record<string, number>>;
    clusters: Record<"crm" | "erp", number>;
    cross: { probablePairs: number; toReview: number; crmOnly: number; erpOnly: number; alreadyLinked: number };
  };
  duplicates: Array<{ system: string; recordIds: string[] }>;
  issues: Array<{ system: string; problem: string; recordId: string; field: string | null; detail: string }>;
}

describe("go-live over HTTP: audit → fix → merge → link", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "accord-golive-"));
    target = await testStoreTarget(join(dir, ".accord", "accord.db"));
    sb = await startSandboxes({ accounts: COMPANIES, seed: 7 });
    env = {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    };
    truth = (JSON.parse(await readFile(sb.truthFile, "utf8")) as { entities: TruthEntry[] }).entities.filter((t) => t.entity === "company");
    file = join(dir, "acme.yaml");
    await writeFile(file, (await readFile(EXAMPLE, "utf8")) + STANDARDIZE);
    crm = await createConnector("espocrm", { url: sb.crm.url, credentials: { apiKey: sb.crm.apiKey } });
    erp = await createConnector("erpnext", {
      url: sb.erp.url,
      credentials: { apiKey: sb.erp.apiKey, apiSecret: sb.erp.apiSecret },
      options: { timezone: sb.erp.timezone },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([crm?.close(), erp?.close()]);
    await sb?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs the whole flow and leaves every customer linked once, with the shared identifier in both systems", async () => {
    // ---------------------------------------------------------------- audit
    const dupTruth = {
      crm: truth.filter((t) => t.crm.length > 1).length,
      erp: truth.filter((t) => t.erp.length > 1).length,
    };
    const both = truth.filter((t) => t.crm.length > 0 && t.erp.length > 0).length;
    const a1 = await json<AuditJson>("audit", file);
    for (const side of ["crm", "erp"] as const) {
      // the generator's labels, roughly: a cluster or two may be missed or split
      expect(Math.abs(a1.summary.clusters[side] - dupTruth[side])).toBeLessThanOrEqual(Math.max(2, Math.ceil(dupTruth[side] * 0.3)));
    }
    expect(a1.summary.cross.probablePairs).toBeGreaterThanOrEqual(Math.floor(both * 0.85));
    expect(a1.summary.cross.probablePairs).toBeLessThanOrEqual(both + dupTruth.crm + dupTruth.erp);
    expect(a1.summary.cross.alreadyLinked).toBe(0);
    // the audit warns of ERP names too long for the CRM's identity field (the generator's 140-character name)
    const tooLong = new Set(
      a1.issues.filter((i) => i.system === "erp" && i.problem === "unmappable-value" && i.field === "name").map((i) => i.recordId),
    );
    expect(tooLong.size).toBeGreaterThan(0);
    const human = await accord("audit", file, "--limit", "5", "--csv", join(dir, "audit.csv"));
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Across systems: \d+ probable pairs/);
    expect(await readFile(join(dir, "audit.csv"), "utf8")).toMatch(/^system,object,entity,record_id,name,problem,field,value,detail\n/);

    // ---------------------------------------------------------------- fix
    const fp = await json<{ changes: Array<{ side: string; field: string; before: string; after: string }> }>("fix", file, "--plan");
    expect(fp.changes.length).toBeGreaterThan(0);
    const fa = await json<{ applied: number; failed: unknown[]; runId: string }>("fix", file, "--apply");
    expect(fa.failed).toEqual([]);
    expect(fa.applied).toBe(fp.changes.length);
    const fp2 = await json<{ changes: unknown[] }>("fix", file, "--plan");
    expect(fp2.changes).toEqual([]); // the rules are idempotent: nothing left to change
    const a2 = await json<AuditJson>("audit", file);
    expect(a2.summary.counts.crm["whitespace"]).toBe(0);
    expect(a2.summary.counts.crm["country-format"]).toBeLessThan(a1.summary.counts.crm["country-format"] ?? 0);

    // ---------------------------------------------------------------- merge
    const mp = await json<{ groups: Array<{ system: string; survivorId: string; otherIds: string[]; how: string }> }>(
      "merge",
      file,
      "--plan",
    );
    expect(mp.groups.length).toBe(a2.summary.clusters.crm + a2.summary.clusters.erp);
    expect(mp.groups.every((g) => g.how === "api")).toBe(true);
    const ma = await json<{ merged: unknown[]; failed: unknown[] }>("merge", file, "--apply");
    expect(ma.failed).toEqual([]);
    expect(ma.merged.length).toBe(mp.groups.length);
    const removed = new Set(mp.groups.flatMap((g) => g.otherIds));
    const a3 = await json<AuditJson>("audit", file);
    expect(a3.summary.clusters).toEqual({ crm: 0, erp: 0 });

    // ---------------------------------------------------------------- link
    const spec = await loadSpecFile(file);
    await ensureErpLinkValues(spec, crm, erp, ["customer"]); // the ERP admin's masters for CRM → ERP creates
    const lp = await json<{ goLive: { linked: unknown[]; erpOnly: number; crmOnly: number }; imports: { toCrm: number; toErp: number } }>(
      "link",
      file,
      "--plan",
    );
    expect(lp.goLive.linked.length).toBeGreaterThanOrEqual(Math.floor(both * 0.85));
    const la = await json<{
      goLive: { linked: unknown[]; stampFailed: Array<{ crmId: string }>; children: Record<string, number> };
      created: { crm: number; erp: number };
    }>(
      "link",
      file,
      "--apply",
    );
    expect(la.goLive.linked.length).toBe(lp.goLive.linked.length);
    // the billing address kept on the same Account is linked with its customer (ERP values win), not left to a review storm
    expect(la.goLive.children.billingAddress).toBeGreaterThan(Math.floor(la.goLive.linked.length * 0.5));
    expect(la.created.crm).toBeGreaterThanOrEqual(lp.imports.toCrm - 1);

    // ---------------------------------------------------------------- the result, read back
    const failedStamp = (crmId: string | null) => la.goLive.stampFailed.some((f) => f.crmId === crmId);
    const store = await target.open();
    let links: Link[];
    let pinned: { crm: Set<string>; erp: Set<string> };
    try {
      links = await store.listLinks(spec.name, "customer", { limit: 100_000 });
      // every automatic link says why, in the record's history
      const stampedPair = links.find((l) => !failedStamp(l.crmId));
      const why = (await store.history(spec.name, "customer", stampedPair?.crmId as string)).find((h) => h.field === "cAccordId");
      expect(why?.rule).toMatch(/^go-live: stamp shared id \(matched by [\w-]+: .+\)$/);
      const accounts0 = await readAll(crm, "Account");
      const customers0 = await readAll(erp, "Customer");
      pinned = { crm: new Set(), erp: new Set() };
      for (const a of accounts0) if (await store.isPinned(spec.name, "customer", "crm", a.id)) pinned.crm.add(a.id);
      for (const c of customers0) if (await store.isPinned(spec.name, "customer", "erp", c.id)) pinned.erp.add(c.id);
    } finally {
      await store.close();
    }
    const accounts = new Map((await readAll(crm, "Account")).map((r) => [r.id, r]));
    const customers = new Map((await readAll(erp, "Customer")).map((r) => [r.id, r]));

    // no customer is linked twice
    const crmIds = links.map((l) => l.crmId);
    const erpIds = links.map((l) => l.erpId);
    expect(new Set(crmIds).size).toBe(crmIds.length);
    expect(new Set(erpIds).size).toBe(erpIds.length);
    // both systems carry the shared identifier: the ERP customer's name, stamped into the CRM account —
    // except where the audit said it cannot fit, and go-live reported the failed stamp
    const failed = new Set(la.goLive.stampFailed.map((f) => f.crmId));
    for (const l of links.filter((x) => failed.has(x.crmId as string))) expect(tooLong.has(l.erpId as string)).toBe(true);
    for (const l of links) {
      if (tooLong.has(l.erpId as string)) continue;
      expect(l.erpId).not.toBeNull();
      expect(customers.has(l.erpId as string)).toBe(true);
      expect(l.sharedId).toBe(l.erpId);
      const acc = accounts.get(l.crmId as string);
      expect(acc, `CRM account ${l.crmId} of link #${l.id}`).toBeDefined();
      expect(acc?.values.cAccordId).toBe(l.sharedId);
    }
    // no two CRM accounts carry the same shared identifier
    const stamped = [...accounts.values()].map((a) => a.values.cAccordId).filter((v) => typeof v === "string" && v !== "");
    expect(new Set(stamped).size).toBe(stamped.length);

    // ERP-only customers (ground truth) exist in the CRM, unless held for a person
    const byShared = new Map([...accounts.values()].map((a) => [a.values.cAccordId, a]));
    const erpOnly = truth.filter((t) => t.crm.length === 0);
    expect(erpOnly.length).toBeGreaterThan(0);
    let imported = 0;
    for (const t of erpOnly) {
      const alive = t.erp.filter((n) => customers.has(n) && !removed.has(n));
      expect(alive.length, `${t.id}: one ERP record survives the merge`).toBe(1);
      const name = alive[0] as string;
      if (pinned.erp.has(name) || tooLong.has(name)) continue;
      expect(byShared.get(name), `${t.id}: ERP-only customer ${name} is in the CRM`).toBeDefined();
      imported++;
    }
    expect(imported).toBeGreaterThanOrEqual(erpOnly.length - 1);
    // and every customer of the ERP that no person holds is linked
    const linkedErp = new Set(erpIds);
    const unlinked = [...customers.keys()].filter((n) => !linkedErp.has(n) && !pinned.erp.has(n));
    expect(unlinked).toEqual([]);

    // a second go-live finds nothing new
    const again = await json<{ goLive: { linked: unknown[]; alreadyLinked: number }; created: { crm: number; erp: number } }>(
      "link",
      file,
      "--apply",
    );
    expect(again.goLive.linked).toEqual([]);
    expect(again.created).toEqual({ crm: 0, erp: 0 });
  }, 300_000);
});

describe("go-live with a person's decisions: proposals → review resolve --accept / --reject → link", () => {
  let sb2: Sandboxes;
  let dir2: string;
  let target2: TestStoreTarget;
  let env2: Record<string, string>;
  let crm2: Connector;
  let erp2: Connector;
  const SPEC2 = `
version: 1
name: golive2
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp: { type: erpnext, url: "\${ERPNEXT_URL}", credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }, options: { timezone: Europe/Berlin } }
owner: { name: Ops, email: ops@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review }
`;

  function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((res, rej) => {
      const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
        cwd: dir2,
        env: { PATH: process.env.PATH ?? "", HOME: dir2, ACCORD_HOME: join(dir2, ".accord"), USER: "ana", ...target2.env, ...env2 },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => {
        stdout += d;
      });
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      p.on("error", rej);
      p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    dir2 = await mkdtemp(join(tmpdir(), "accord-golive2-"));
    target2 = await testStoreTarget(join(dir2, ".accord", "accord.db"));
    sb2 = await startSandboxes({ accounts: 0 });
    env2 = {
      ESPOCRM_URL: sb2.crm.url,
      ESPOCRM_API_KEY: sb2.crm.apiKey,
      ERPNEXT_URL: sb2.erp.url,
      ERPNEXT_API_KEY: sb2.erp.apiKey,
      ERPNEXT_API_SECRET: sb2.erp.apiSecret,
    };
    crm2 = await createConnector("espocrm", { url: sb2.crm.url, credentials: { apiKey: sb2.crm.apiKey } });
    erp2 = await createConnector("erpnext", {
      url: sb2.erp.url,
      credentials: { apiKey: sb2.erp.apiKey, apiSecret: sb2.erp.apiSecret },
      options: { timezone: sb2.erp.timezone },
    });
    await writeFile(join(dir2, "golive2.yaml"), SPEC2);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([crm2?.close(), erp2?.close()]);
    await sb2?.close();
    if (dir2) await rm(dir2, { recursive: true, force: true });
  });

  it("holds unsure pairs with their contributions, links an accepted one, never proposes a rejected one again", async () => {
    const cust = { customer_group: "Commercial", territory: "All Territories", customer_type: "Company" };
    const mk = async (crmName: string, erpName: string, city: string, country: string, erpCountry: string) => {
      const a = await crm2.create("Account", { name: crmName, billingAddressCity: city, billingAddressCountry: country });
      const c = await erp2.create("Customer", { customer_name: erpName, ...cust });
      await erp2.create("Address", {
        address_title: erpName,
        address_type: "Billing",
        address_line1: "1 Main Street",
        city,
        country: erpCountry,
        links: [{ link_doctype: "Customer", link_name: c.id }],
      });
      return { crm: a.id, erp: c.id };
    };
    const kestrel = await mk("Kestrel Analytics Ltd", "Kestrel Analytic Limited", "Leeds", "GB", "United Kingdom");
    const harbor = await mk("Blue Harbor Logistics", "Blue Harbour Logistik", "Hamburg", "DE", "Germany");
    // two CRM accounts that look like one company (and are not in the ERP): held as suspected duplicates
    const osprey = {
      name: "Osprey Marine Ltd",
      website: "ospreymarine.example",
      billingAddressCity: "Bristol",
      billingAddressCountry: "GB",
    };
    const osprey1 = (await crm2.create("Account", osprey)).id;
    const osprey2 = (await crm2.create("Account", { ...osprey, name: "Osprey Marine Limited" })).id;
    const file2 = join(dir2, "golive2.yaml");

    const first = await run("link", file2, "--apply", "--json");
    expect(first.code, first.stderr).toBe(4); // items wait for a person
    const r1 = JSON.parse(first.stdout) as { goLive: { proposals: number; duplicatesHeld: number; linked: unknown[] } };
    expect(r1.goLive.duplicatesHeld).toBe(2);
    expect(r1.goLive.proposals).toBe(2);
    expect(r1.goLive.linked).toEqual([]);

    const list = JSON.parse((await run("review", "list", "-f", file2, "--json")).stdout) as {
      items: Array<{
        id: number;
        kind: string;
        crm: string;
        erp: string | null;
        detail: { contributions: Array<{ field: string; contribution: number }>; explanation: string };
      }>;
    };
    expect(list.items).toHaveLength(4);
    const dupItems = list.items.filter((i) => i.erp === null);
    expect(dupItems.map((i) => i.crm).sort()).toEqual([osprey1, osprey2].sort());
    for (const i of dupItems) expect(i.detail.contributions.length).toBeGreaterThan(0);
    for (const i of list.items.filter((x) => x.erp !== null)) {
      expect(i.kind).toBe("match");
      expect(i.detail.contributions.some((c) => c.field === "name" && c.contribution > 0)).toBe(true);
      expect(i.detail.explanation).toMatch(/needs a person/);
    }
    const kItem = list.items.find((i) => i.crm === kestrel.crm && i.erp === kestrel.erp);
    const hItem = list.items.find((i) => i.crm === harbor.crm && i.erp === harbor.erp);
    expect(kItem && hItem).toBeTruthy();
    // held: nothing was created for them while a person decides
    expect(await crm2.findByField("Account", "name", "Kestrel Analytic Limited")).toEqual([]);

    const acc = await run("review", "resolve", String(kItem?.id), "--accept", "--by", "ana");
    expect(acc.code, acc.stderr).toBe(0);
    expect(acc.stdout).toMatch(/accord link --apply/);
    const rej = await run("review", "resolve", String(hItem?.id), "--reject", "--by", "ana");
    expect(rej.code, rej.stderr).toBe(0);
    // the two Osprey accounts are two companies after all
    for (const i of dupItems) expect((await run("review", "resolve", String(i.id), "--reject", "--by", "ana")).code).toBe(0);
    const bad = await run("review", "resolve", String(hItem?.id), "--reject");
    expect(bad.code).not.toBe(0); // already decided

    const second = await run("link", file2, "--apply", "--json");
    expect([0, 4]).toContain(second.code);
    const r2 = JSON.parse(second.stdout) as {
      approvedLinked: Array<{ crmId: string; erpId: string }>;
      goLive: { proposals: number; reviewItems: number; duplicatesHeld: number };
      created: { crm: number; erp: number };
    };
    expect(r2.approvedLinked).toEqual([{ reviewId: kItem?.id, crmId: kestrel.crm, erpId: kestrel.erp }]);
    expect(r2.goLive.proposals).toBe(0); // the rejected pair is not proposed again
    expect(r2.goLive.reviewItems).toBe(0);
    expect(r2.goLive.duplicatesHeld).toBe(0);
    // the accepted pair carries the shared identifier; the rejected ones are two customers, each now in both systems
    expect((await crm2.readByIds("Account", [kestrel.crm]))[0]?.values.cAccordId).toBe(kestrel.erp);
    // Blue Harbour into the CRM; Blue Harbor and both Ospreys into the ERP — the rejected holds are not held again
    expect(r2.created).toEqual({ crm: 1, erp: 3 });
    for (const id of [osprey1, osprey2]) expect((await crm2.readByIds("Account", [id]))[0]?.values.cAccordId).toBeTruthy();
    expect((await crm2.findByField("Account", "cAccordId", harbor.erp)).map((r) => r.values.name)).toEqual(["Blue Harbour Logistik"]);
    expect((await erp2.findByField("Customer", "customer_name", "Blue Harbor Logistics")).length).toBe(1);

    const store = await target2.open();
    try {
      const links = await store.listLinks("golive2", "customer", { limit: 1000 });
      expect(links).toHaveLength(5);
      expect(new Set(links.map((l) => l.crmId)).size).toBe(5);
      expect(new Set(links.map((l) => l.erpId)).size).toBe(5);
      expect((await store.getReview(hItem?.id as number))?.status).toBe("dismissed");
      expect(await store.isPinned("golive2", "customer", "crm", harbor.crm)).toBe(false);
    } finally {
      await store.close();
    }
  }, 120_000);
});
