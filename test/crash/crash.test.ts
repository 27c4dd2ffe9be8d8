/**
 * Invariant 2 under real crashes: `accord sync` runs as a CHILD PROCESS against both sandboxes
 * (which live in this test process, so they survive the kills) and is SIGKILLed at a seeded
 * random instant, over and over, while "a person" (a different user than the integration's)
 * edits and creates records on both sides between and during the runs. Then a clean sync, and:
 *
 *  - no duplicate in either system (by the shared identifier and by name);
 *  - no lost update: the last edit of every field is in both systems, or held for review
 *    (only where both sides edited the field), or reverted where the field's master says so;
 *  - final values are what the policies dictate (name: review on conflict; website: CRM
 *    master, ERP edits reverted, lower-cased; tax id: ERP master, CRM edits reverted;
 *    contacts: CRM master, created in the ERP exactly once, under the right customer);
 *  - every record linked, no pending create intent, nothing quarantined;
 *  - every run row in the store balances: read = applied + unchanged + held + quarantined.
 *
 * Seed and size: CRASH_SEED (default 20261127), CRASH_RUNS (default 32).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prng } from "../../src/sandbox/common/prng.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import type { Store } from "../../src/store/types.ts";
import { type TestStoreTarget, testStoreTarget } from "../support/store.ts";
import {
  duplicates,
  lastEdit as lastEditOf,
  allLinks as linksOf,
  notConverged,
  type PersonEdit,
  sleep,
  startSync as startSyncChild,
  unbalancedRuns,
} from "./harness.ts";

const SEED = Number(process.env.CRASH_SEED ?? 20261127);
const RUNS = Number(process.env.CRASH_RUNS ?? 36);
const LINKED = 60; // companies in both systems, already carrying the shared id
const CRM_ONLY = 60; // accounts to be created in the ERP
const ERP_ONLY = 40; // customers to be created in the CRM
const CONTACTS_PER_ACCOUNT = 1;

type Rec = Record<string, unknown>;

const rng = new Prng(SEED);
let sb: Sandboxes;
let dir: string;
let file: string;
let env: Record<string, string>;
let target: TestStoreTarget;
let erpPerson: { apiKey: string; apiSecret: string };

/** One person's edit (CRM record id / ERP document name): the last edit of each (record, field) is what must survive. */
type Edit = PersonEdit;
const edits: Edit[] = [];
let editSeq = 0;
const createdByPerson = { crm: [] as string[], erp: [] as string[], crmContacts: [] as string[] };
const runLog: Array<{
  run: number;
  killedAfterMs: number | null;
  code: number | null;
  signal: string | null;
  edits: number;
  stderr: string;
}> = [];

function pad(n: number): string {
  return String(n).padStart(3, "0");
}

function spec(tz: string): string {
  return `version: 1
name: crash
systems:
  crm:
    type: espocrm
    url: "\${ESPOCRM_URL}"
    credentials: { apiKey: "\${ESPOCRM_API_KEY}" }
  erp:
    type: erpnext
    url: "\${ERPNEXT_URL}"
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Crash Test, email: crash@example.com }
sync:
  overlap: 5m
  skewTolerance: 2s
  bounce: { max: 100, window: 10m }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    deletes: flag
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - { crm: website, erp: website, direction: crm->erp, onMasterEdit: revert, toErp: [ { normalize: [trim, lower] } ] }
      - { crm: sicCode, erp: tax_id, direction: erp->crm, onMasterEdit: revert }
  contact:
    crm: { entity: Contact, identity: cAccordId }
    erp: { entity: Contact, identity: name }
    parent: { object: customer, crm: accountId, erp: "links[link_doctype=Customer].link_name" }
    create: crm->erp
    onMasterEdit: revert
    fields:
      - { crm: firstName, erp: first_name, direction: crm->erp }
      - { crm: lastName, erp: last_name, direction: crm->erp, required: true }
`;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Rec> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} → ${res.status}: ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Rec) : {};
}

// ---------------------------------------------------------------- the person's actions (over HTTP)

function crmAct(op: "create" | "update", entity: string, id: string | null, data: Rec): Promise<Rec> {
  const c = sb.servers.crm;
  return post(`${c.url}/__sandbox/act`, { userId: c.control.personUserId, op, entity, id, data }, { "X-Sandbox-Token": c.apiKey });
}

function erpEdit(doctype: string, name: string, values: Rec): Promise<Rec> {
  return post(`${sb.erp.url}/__sandbox/edit`, { doctype, name, values });
}

function crmAccounts(): Rec[] {
  return sb.servers.crm.control.dump("Account");
}
function crmContacts(): Rec[] {
  return sb.servers.crm.control.dump("Contact");
}
async function erpDocs(doctype: string): Promise<Rec[]> {
  const res = await fetch(`${sb.erp.url}/__sandbox/dump?doctype=${encodeURIComponent(doctype)}`);
  return ((await res.json()) as { data: Rec[] }).data;
}

/** One random edit or create by a person, recorded in `edits`. */
async function personAction(): Promise<void> {
  const kind = rng.weighted(
    ["crm-name", "erp-name", "crm-website", "erp-website", "erp-tax", "crm-tax", "crm-contact", "crm-new", "erp-new"],
    [4, 4, 3, 2, 3, 1, 3, 1, 1],
  );
  const n = ++editSeq;
  const record = (side: Edit["side"], id: string, field: string, value: string) => edits.push({ seq: n, side, id, field, value });
  switch (kind) {
    case "crm-name":
    case "crm-website":
    case "crm-tax": {
      // an edit of the ERP-mastered tax id only on accounts already carrying the shared id (linked):
      // for a record not yet created on the other side, what "revert" means is the create's business
      const accounts = crmAccounts().filter((a) => kind !== "crm-tax" || str(a.cAccordId) !== "");
      if (accounts.length === 0) return;
      const acc = rng.pick(accounts);
      const id = String(acc.id);
      if (kind === "crm-name") {
        const value = `Crashco Renamed ${n} ${rng.hex(4)}`;
        await crmAct("update", "Account", id, { name: value });
        record("crm", id, "name", value);
      } else if (kind === "crm-website") {
        const value = `https://Site-${n}.Example.com`;
        await crmAct("update", "Account", id, { website: value });
        record("crm", id, "website", value);
      } else {
        const value = `CRM-TAX-${n}`; // an edit of an ERP-mastered field: to be reverted
        await crmAct("update", "Account", id, { sicCode: value });
        record("crm", id, "sicCode", value);
      }
      return;
    }
    case "erp-name":
    case "erp-website":
    case "erp-tax": {
      // the CRM-mastered website is edited in the ERP only on customers the CRM already carries (see above)
      const carried = new Set(crmAccounts().map((a) => str(a.cAccordId)));
      const customers = (await erpDocs("Customer")).filter((c) => kind !== "erp-website" || carried.has(str(c.name)));
      if (customers.length === 0) return;
      const cust = rng.pick(customers);
      const name = String(cust.name);
      if (kind === "erp-name") {
        const value = `Crashco ERP Renamed ${n} ${rng.hex(4)}`;
        await erpEdit("Customer", name, { customer_name: value });
        record("erp", name, "customer_name", value);
      } else if (kind === "erp-website") {
        const value = `https://erp-edit-${n}.example.org`; // an edit of a CRM-mastered field: to be reverted
        await erpEdit("Customer", name, { website: value });
        record("erp", name, "website", value);
      } else {
        const value = `DE${String(100000000 + n * 7919).slice(0, 9)}`;
        await erpEdit("Customer", name, { tax_id: value });
        record("erp", name, "tax_id", value);
      }
      return;
    }
    case "crm-contact": {
      const contacts = crmContacts();
      const c = rng.pick(contacts);
      const value = `Lastname${n}`;
      await crmAct("update", "Contact", String(c.id), { lastName: value });
      record("crm", String(c.id), "lastName", value);
      return;
    }
    case "crm-new": {
      const r = await crmAct("create", "Account", null, { name: `Crashco New CRM ${n}`, website: `https://new-${n}.example.com` });
      const id = String((r.record as Rec).id);
      createdByPerson.crm.push(id);
      const c = await crmAct("create", "Contact", null, { firstName: "Nora", lastName: `New${n}`, accountId: id });
      createdByPerson.crmContacts.push(String((c.record as Rec).id));
      return;
    }
    case "erp-new": {
      const res = await fetch(`${sb.erp.url}/api/resource/Customer`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `token ${erpPerson.apiKey}:${erpPerson.apiSecret}` },
        body: JSON.stringify({ customer_name: `Crashco New ERP ${n}`, customer_type: "Company", tax_id: `NEW-${n}` }),
      });
      if (!res.ok) throw new Error(`person create Customer → ${res.status}: ${await res.text()}`);
      createdByPerson.erp.push(String(((await res.json()) as { data: Rec }).data.name));
      return;
    }
  }
}

// ---------------------------------------------------------------- the child process

/** `accord sync` of the crash file as a child process, SIGKILLed `killAfterMs` after its first progress line (harness.ts). */
function startSync(killAfterMs?: () => number) {
  return startSyncChild({ file, env, killAfterMs });
}

// ---------------------------------------------------------------- setup

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 0, seed: SEED, scope: "accounts" });
  const crmAccountsSeed: Rec[] = [];
  const erpCustomers: Rec[] = [];
  for (let i = 0; i < LINKED + ERP_ONLY; i++) {
    const name = `Crashco ${pad(i)} GmbH`;
    erpCustomers.push({
      name,
      customer_name: name,
      customer_type: "Company",
      customer_group: "Commercial",
      territory: "Germany",
      tax_id: `DE${String(200000000 + i)}`,
      // the website is CRM-mastered: customers only the ERP has start without one
      website: i < LINKED ? `https://crashco-${pad(i)}.example.com` : null,
    });
    if (i < LINKED)
      crmAccountsSeed.push({
        name,
        cAccordId: name,
        website: `https://crashco-${pad(i)}.example.com`,
        sicCode: `DE${String(200000000 + i)}`,
        type: "Customer",
      });
  }
  for (let i = 0; i < CRM_ONLY; i++)
    crmAccountsSeed.push({ name: `Crashco CRM Only ${pad(i)} AG`, website: `https://CRM-only-${pad(i)}.Example.com`, type: "Customer" });
  sb.servers.erp.seed({ Customer: erpCustomers });
  const ids = sb.servers.crm.control.seed({ Account: crmAccountsSeed }).Account;
  const contacts: Rec[] = [];
  ids.forEach((accountId, i) => {
    for (let k = 0; k < CONTACTS_PER_ACCOUNT; k++) contacts.push({ firstName: `Person${k}`, lastName: `Acct${pad(i)}`, accountId });
  });
  sb.servers.crm.control.seed({ Contact: contacts });
  erpPerson = (await post(`${sb.erp.url}/__sandbox/users`, { email: "jane.doe@example.com" })) as typeof erpPerson;

  dir = await mkdtemp(join(tmpdir(), "accord-crash-"));
  target = await testStoreTarget(join(dir, "home", "accord.db"));
  file = join(dir, "crash.yaml");
  await writeFile(file, spec(sb.erp.timezone));
  env = {
    PATH: process.env.PATH ?? "",
    ACCORD_HOME: join(dir, "home"),
    ESPOCRM_URL: sb.crm.url,
    ESPOCRM_API_KEY: sb.crm.apiKey,
    ERPNEXT_URL: sb.erp.url,
    ERPNEXT_API_KEY: sb.erp.apiKey,
    ERPNEXT_API_SECRET: sb.erp.apiSecret,
    // V8's code cache: the ~40 restarts do not each pay for compiling the CLI again
    NODE_COMPILE_CACHE: join(dir, "compile-cache"),
    ...target.env,
  };
}, 60_000);

afterAll(async () => {
  await sb?.close();
  if (dir && !process.env.CRASH_KEEP) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the test

describe("crash at any instant, then restart (invariant 2)", () => {
  it(`${RUNS} SIGKILLed sync runs with a person editing both systems, then a clean sync: no duplicate, no lost update`, async () => {
    let killed = 0;
    let workMs = 1500; // the last uninterrupted run's work: kills are drawn inside it
    for (let run = 0; run < RUNS; run++) {
      // a person works between runs …
      const before = rng.int(0, 4);
      for (let i = 0; i < before; i++) await personAction();
      // … and during the run; the sync is killed at a random instant of its work
      let killAfter = -1;
      const { done } = startSync(() => {
        killAfter = rng.int(0, Math.max(30, Math.floor(workMs * 0.8)));
        return killAfter;
      });
      const during = Array.from({ length: rng.int(0, 3) }, () => rng.int(0, Math.floor(workMs)));
      const duringDone = Promise.all(during.map((ms) => sleep(ms).then(personAction)));
      const r = await done;
      await duringDone;
      if (r.signal === "SIGKILL") killed++;
      else if (r.workMs > 0) workMs = r.workMs;
      runLog.push({
        run,
        killedAfterMs: r.signal === "SIGKILL" ? killAfter : null,
        code: r.code,
        signal: r.signal,
        edits: before + during.length,
        stderr: r.stderr.slice(-2000),
      });
      // a run that finished on its own ends 0 (all synced) or 4 (held/quarantined), never with a failure
      if (r.signal !== "SIGKILL") expect([0, 4], `run ${run} exited ${r.code}: ${r.stderr.slice(-1500)}`).toContain(r.code);
    }
    expect(killed, "runs really killed mid-way").toBeGreaterThanOrEqual(Math.min(30, RUNS - 6));

    // the clean syncs: the first converges, the second must find nothing to do (no echo)
    const clean1 = await startSync().done;
    expect([0, 4], clean1.stderr.slice(-1500)).toContain(clean1.code);
    const clean2 = await startSync().done;
    expect([0, 4], clean2.stderr.slice(-1500)).toContain(clean2.code);

    const store = await target.open();
    try {
      await checkWorld(store);
    } finally {
      await store.close();
    }
    process.stdout.write(
      `crash test: seed ${SEED}, ${RUNS} runs, ${killed} killed (after ${runLog
        .filter((r) => r.killedAfterMs !== null)
        .map((r) => r.killedAfterMs)
        .join(
          ",",
        )} ms), ${edits.length} field edits + ${createdByPerson.crm.length + createdByPerson.erp.length} records created by a person\n`,
    );
  }, 280_000);
});

// ---------------------------------------------------------------- the checks

function lastEdit(matches: (e: Edit) => boolean): Edit | undefined {
  return lastEditOf(edits, matches);
}

const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));

async function checkWorld(store: Store): Promise<void> {
  const accounts = crmAccounts();
  const customers = await erpDocs("Customer");
  const contactsCrm = crmContacts();
  const contactsErp = await erpDocs("Contact");
  const problems: string[] = [];

  // 1. no duplicates, by shared identifier and by name
  const dupes = (label: string, values: string[]) => problems.push(...duplicates(label, values));
  dupes(
    "CRM account shared id (cAccordId)",
    accounts.map((a) => str(a.cAccordId)),
  );
  dupes(
    "CRM account name",
    accounts.map((a) => str(a.name)),
  );
  dupes(
    "ERP customer_name",
    customers.map((c) => str(c.customer_name)),
  );
  dupes(
    "CRM contact shared id",
    contactsCrm.map((c) => str(c.cAccordId)),
  );
  const erpContactKey = (c: Rec) => {
    const links = Array.isArray(c.links) ? (c.links as Rec[]) : [];
    const cust = links.find((l) => l.link_doctype === "Customer");
    return `${str(c.first_name)} ${str(c.last_name)} @ ${str(cust?.link_name)}`;
  };
  dupes("ERP contact (name + customer)", contactsErp.map(erpContactKey));
  const expectedAccounts = LINKED + CRM_ONLY + ERP_ONLY + createdByPerson.crm.length + createdByPerson.erp.length;
  if (accounts.length !== expectedAccounts) problems.push(`CRM has ${accounts.length} accounts, expected ${expectedAccounts}`);
  if (customers.length !== expectedAccounts) problems.push(`ERP has ${customers.length} customers, expected ${expectedAccounts}`);
  if (contactsErp.length !== contactsCrm.length)
    problems.push(`ERP has ${contactsErp.length} contacts, the CRM ${contactsCrm.length} (every CRM contact once in the ERP)`);

  // 2. every record linked exactly once; the CRM carries the shared id
  const links = await allLinks(store, "customer");
  const byCrm = new Map(links.map((l) => [l.crmId, l]));
  const byErp = new Map(links.map((l) => [l.erpId, l]));
  const custByName = new Map(customers.map((c) => [str(c.name), c]));
  for (const a of accounts) {
    const l = byCrm.get(str(a.id));
    if (!l) {
      problems.push(`CRM account ${a.id} "${a.name}" is not linked`);
      continue;
    }
    if (str(a.cAccordId) !== l.erpId) problems.push(`CRM account ${a.id} carries "${a.cAccordId}", linked to ERP ${l.erpId}`);
  }
  for (const c of customers) if (!byErp.has(str(c.name))) problems.push(`ERP customer "${c.name}" is not linked`);

  // 3. values per policy; the last edit of every field survives (or is held for review where both sides edited)
  const openReviews = await store.listReviews("crash", { status: "open" });
  const reviewFor = (linkId: number, field: string) => openReviews.find((r) => r.linkId === linkId && r.field === field);
  const accById = new Map(accounts.map((a) => [str(a.id), a]));
  for (const l of links) {
    const a = accById.get(str(l.crmId));
    const c = custByName.get(str(l.erpId));
    if (!a || !c) {
      problems.push(`link #${l.id} points at a missing record (crm ${l.crmId}, erp ${l.erpId})`);
      continue;
    }
    // name ↔ customer_name: both directions, conflicts reviewed
    const nameEdit = lastEdit(
      (e) =>
        (e.side === "crm" && e.id === l.crmId && e.field === "name") ||
        (e.side === "erp" && e.id === l.erpId && e.field === "customer_name"),
    );
    const held = reviewFor(l.id, "name|customer_name");
    if (held) {
      // held for a person: a true conflict (both sides edited), or an edit that raced the pair's very
      // first sync (no base yet: "values differ" is a conflict by policy). Never without an edit.
      if (!nameEdit) problems.push(`link #${l.id}: name held for review (#${held.id}) though nobody edited it`);
      // held, not lost: each side still shows its own last edit
      const crmLast = lastEdit((e) => e.side === "crm" && e.id === l.crmId && e.field === "name");
      const erpLast = lastEdit((e) => e.side === "erp" && e.id === l.erpId && e.field === "customer_name");
      if (crmLast && str(a.name) !== crmLast.value)
        problems.push(`link #${l.id}: CRM name edit "${crmLast.value}" lost while held: "${a.name}"`);
      if (erpLast && str(c.customer_name) !== erpLast.value)
        problems.push(`link #${l.id}: ERP name edit "${erpLast.value}" lost while held: "${c.customer_name}"`);
    } else {
      if (str(a.name) !== str(c.customer_name)) problems.push(`link #${l.id}: names differ: CRM "${a.name}" vs ERP "${c.customer_name}"`);
      if (nameEdit && str(a.name) !== nameEdit.value)
        problems.push(`link #${l.id}: lost update: last name edit "${nameEdit.value}" (${nameEdit.side}); now "${a.name}"`);
    }
    // website: CRM master, lower-cased into the ERP; ERP edits reverted
    const webEdit = lastEdit((e) => e.side === "crm" && e.id === l.crmId && e.field === "website");
    if (webEdit && str(a.website) !== webEdit.value)
      problems.push(`link #${l.id}: CRM website edit "${webEdit.value}" lost: "${a.website}"`);
    if (str(c.website) !== str(a.website).trim().toLowerCase())
      problems.push(`link #${l.id}: ERP website "${c.website}" ≠ the CRM master's "${a.website}" (lower-cased)`);
    // tax id: ERP master into CRM sicCode; CRM edits reverted
    const taxEdit = lastEdit((e) => e.side === "erp" && e.id === l.erpId && e.field === "tax_id");
    if (taxEdit && str(c.tax_id) !== taxEdit.value) problems.push(`link #${l.id}: ERP tax id edit "${taxEdit.value}" lost: "${c.tax_id}"`);
    if (str(a.sicCode) !== str(c.tax_id))
      problems.push(`link #${l.id}: CRM sicCode "${a.sicCode}" ≠ the ERP master's tax_id "${c.tax_id}"`);
  }
  for (const r of openReviews)
    if (r.field !== "name|customer_name") problems.push(`unexpected open review #${r.id} (${r.kind}, ${r.field})`);

  // 4. contacts: each CRM contact once in the ERP, under its account's customer, with its values
  const contactLinks = await allLinks(store, "contact");
  // every ERP contact hangs under its account's customer: a row of ERPNext's Dynamic Link table
  let orphans = 0;
  const cByCrm = new Map(contactLinks.map((l) => [l.crmId, l]));
  const erpContactByName = new Map(contactsErp.map((c) => [str(c.name), c]));
  for (const cc of contactsCrm) {
    const l = cByCrm.get(str(cc.id));
    const ec = l ? erpContactByName.get(str(l.erpId)) : undefined;
    if (!l || !ec) {
      problems.push(`CRM contact ${cc.id} ${cc.firstName} ${cc.lastName} has no ERP contact`);
      continue;
    }
    const lastNameEdit = lastEdit((e) => e.side === "crm" && e.id === cc.id && e.field === "lastName");
    if (lastNameEdit && str(cc.lastName) !== lastNameEdit.value) problems.push(`CRM contact ${cc.id}: edit "${lastNameEdit.value}" lost`);
    if (str(ec.last_name) !== str(cc.lastName) || str(ec.first_name) !== str(cc.firstName))
      problems.push(`contact ${cc.id}: ERP "${ec.first_name} ${ec.last_name}" ≠ CRM "${cc.firstName} ${cc.lastName}"`);
    const parent = byCrm.get(str(cc.accountId));
    const cust = (Array.isArray(ec.links) ? (ec.links as Rec[]) : []).find((x) => x.link_doctype === "Customer");
    if (!parent) problems.push(`contact ${cc.id}: its account ${cc.accountId} is not linked`);
    else if (!cust) orphans++;
    else if (str(cust.link_name) !== parent.erpId)
      problems.push(`contact ${cc.id}: ERP contact is under "${cust.link_name}", its account's customer is "${parent.erpId}"`);
  }

  if (orphans > 0) problems.push(`${orphans} ERP contacts carry no Customer link`);

  // 5. nothing pending, nothing quarantined, every run balanced
  const pending = await store.pendingCreateIntents("crash");
  if (pending.length) problems.push(`${pending.length} create intents still pending`);
  const quarantined = await store.listQuarantine("crash", { status: "open" });
  for (const q of quarantined) problems.push(`quarantined ${q.object} ${q.side} ${q.recordId}: ${q.errorClass}: ${q.reason}`);
  const runs = await store.listRuns("crash", { limit: 10_000 });
  problems.push(...unbalancedRuns(runs));
  const finished = runs.filter((r) => r.status === "ok");
  expect(finished.length, "the clean syncs finished").toBeGreaterThanOrEqual(4);
  // the very last run of each object found nothing to apply (converged, no echo)
  problems.push(...notConverged(runs, ["customer", "contact"]));
  process.stdout.write(
    `crash test: ${links.length} customer links, ${contactLinks.length} contact links, ${openReviews.length} held for review, ${runs.length} run rows (${finished.length} finished, ${runs.filter((r) => r.status !== "ok").length} killed/failed)\n`,
  );
  expect(problems, problems.slice(0, 40).join("\n")).toEqual([]);
}

function allLinks(store: Store, object: string) {
  return linksOf(store, "crash", object);
}
