/**
 * Invariant 2 against the REAL Tryton (bash scripts/peers/tryton.sh start): `accord sync` of
 * examples/espocrm-tryton.yaml (customers, contact e-mails) runs as a CHILD PROCESS with a temp
 * ACCORD_HOME (the test store: SQLite there, or a PostgreSQL schema with ACCORD_TEST_STORE=postgres) and is SIGKILLed at a seeded random instant, run after run, mostly
 * while it creates parties and contact mechanisms in Tryton. The EspoCRM sandbox lives in this
 * test process (it survives the kills); Tryton is the peer's server. Between and during the runs a
 * person edits both systems (the CRM sandbox's second user; Tryton's user "clerk"; in Tryton only
 * records whose create completed — see editable(): a known gap otherwise). Then a clean sync, and:
 *
 *  - no duplicate party in Tryton (by name, and by the shared id the CRM carries), no duplicate
 *    e-mail mechanism (party + address); as many parties as accounts, mechanisms as contacts;
 *  - every account and party linked exactly once, the CRM carrying the party id;
 *  - no lost update: the last edit of every field survives (names: or held for review where both
 *    sides edited); masters hold (Tryton's customer number in the CRM's SIC code, CRM edits
 *    reverted; the CRM's e-mails in Tryton, lower-cased, Tryton edits reverted);
 *  - nothing pending, nothing quarantined, every run row balanced, the last run applies nothing.
 *
 * The file is the example with three changes, written to a temp copy: the Tryton side of each
 * object is limited to this test's records (party name prefix; the peer's database is shared by
 * every Tryton test and keeps their records), the billing address object is left out, and the
 * bounce cap is raised (a person edits the same records many times within minutes here).
 *
 * Seed and size: TRYTON_CRASH_SEED (default 20261127), TRYTON_CRASH_RUNS (default 34; at least 30
 * must really be killed mid-run: a run that finishes before its kill does not count).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { Prng } from "../../src/sandbox/common/prng.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import type { Store } from "../../src/store/types.ts";
import {
  allLinks,
  duplicates,
  lastEdit,
  notConverged,
  type PersonEdit,
  sleep,
  startSync,
  text as str,
  unbalancedRuns,
} from "../crash/harness.ts";
import { type TestStoreTarget, testStoreTarget } from "../support/store.ts";
import { type PeerEnv, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const SEED = Number(process.env.TRYTON_CRASH_SEED ?? 20261127);
const RUNS = Number(process.env.TRYTON_CRASH_RUNS ?? 34);
const CRM_ONLY = 36; // accounts (each with one contact and its e-mail) to be created in Tryton
const ERP_ONLY = 6; // parties a person enters in Tryton, to be created in the CRM
const INTEGRATION = "acme-tryton";
const EXAMPLE = resolve(import.meta.dirname, "../../examples/espocrm-tryton.yaml");
/** Every name of this run's parties starts with it: the Tryton side's filter. */
const P = `CR${Date.now().toString(36)}`;

type Rec = Record<string, unknown>;

const rng = new Prng(SEED);
let crm: EspoCrmSandbox;
let clerk: RawTryton;
let dir: string;
let file: string;
let env: Record<string, string>;
let target: TestStoreTarget;

const edits: PersonEdit[] = [];
let editSeq = 0;
const createdByPerson = { crm: 0, erp: 0 };
/** Parties the person entered in Tryton (ids). */
const personParties = new Set<string>();

/**
 * Tryton records a person may edit: those the CRM carries (Accord's create of them completed: the
 * stamp follows the link) and the person's own parties. A record Accord created but whose create
 * was cut short before its link is left alone: edited before the restart, it is not found by the
 * content recovery and is created again — a known engine gap (test/engine/recovery-after-edit.test.ts).
 */
function editable(entity: "Account" | "Contact"): Set<string> {
  const out = new Set(
    crm.control
      .dump(entity)
      .map((r) => str(r.cAccordId))
      .filter(Boolean),
  );
  if (entity === "Account") for (const id of personParties) out.add(id);
  return out;
}

function pad(n: number): string {
  return String(n).padStart(3, "0");
}

/** The example, limited to this test's Tryton records (see the header). */
async function scratchSpec(db: string): Promise<string> {
  const doc = parse(await readFile(EXAMPLE, "utf8")) as Rec & { objects: Record<string, Rec & { erp: Rec }>; systems: Rec; sync: Rec };
  const erp = (doc.systems as Record<string, Rec>).erp;
  erp.options = { ...(erp.options as Rec), database: db };
  doc.sync = { ...doc.sync, bounce: { max: 100, window: "10m" } };
  delete doc.objects.billingAddress;
  // the business flows (products, quote-to-cash) have tests of their own (quote-to-cash.test.ts)
  delete doc.objects.product;
  delete doc.objects.salesOrder;
  const { customer, contactEmail } = doc.objects;
  customer.erp.filter = [...((customer.erp.filter as Rec[]) ?? []), { field: "name", op: "like", value: `${P}%` }];
  contactEmail.erp.filter = [...((contactEmail.erp.filter as Rec[]) ?? []), { field: "party.name", op: "like", value: `${P}%` }];
  return stringify(doc);
}

// ---------------------------------------------------------------- both systems, as a person sees them

function crmAccounts(): Rec[] {
  return crm.control.dump("Account");
}
function crmContacts(): Rec[] {
  return crm.control.dump("Contact");
}
/**
 * A person's call in Tryton. Two parties created at once on Tryton's SQLite backend can draw the
 * same number from the party sequence ("The code on party must be unique."): the person saves again.
 */
async function asClerk(method: string, params: unknown[]): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await clerk.call(method, params);
    } catch (err) {
      if (attempt >= 5 || !/must be unique/.test(String(err))) throw err;
      await sleep(100 * attempt);
    }
  }
}
function crmAct(op: "create" | "update", entity: string, id: string | null, data: Rec): Rec {
  return crm.control.actAs(crm.control.personUserId, op, entity, id, data) as Rec;
}
async function parties(): Promise<Rec[]> {
  return (await clerk.call("model.party.party.search_read", [
    [["name", "like", `${P}%`]],
    0,
    null,
    [["id", "ASC"]],
    ["name", "code"],
  ])) as Rec[];
}
async function mechanisms(): Promise<Rec[]> {
  return (await clerk.call("model.party.contact_mechanism.search_read", [
    [
      ["party.name", "like", `${P}%`],
      ["type", "=", "email"],
    ],
    0,
    null,
    [["id", "ASC"]],
    ["party", "type", "value", "name"],
  ])) as Rec[];
}

/** One random edit or create by a person, recorded in `edits`. */
async function personAction(force?: "crm-new"): Promise<void> {
  const kind = force ?? rng.weighted(
    ["crm-name", "erp-name", "erp-code", "crm-sic", "crm-email", "crm-lastname", "erp-email", "crm-new", "erp-new"],
    [4, 4, 3, 2, 3, 2, 2, 1, 1],
  );
  const n = ++editSeq;
  const record = (side: PersonEdit["side"], id: string, field: string, value: string) => edits.push({ seq: n, side, id, field, value });
  switch (kind) {
    case "crm-name": {
      const acc = rng.pick(crmAccounts());
      const value = `${P} Renamed ${n} ${rng.hex(4)}`;
      crmAct("update", "Account", String(acc.id), { name: value });
      record("crm", String(acc.id), "name", value);
      return;
    }
    case "crm-sic": {
      // an edit of the Tryton-mastered customer number: to be reverted to the party's code
      const acc = rng.pick(crmAccounts());
      const value = `CRM-SIC-${n}`;
      crmAct("update", "Account", String(acc.id), { sicCode: value });
      record("crm", String(acc.id), "sicCode", value);
      return;
    }
    case "crm-email":
    case "crm-lastname": {
      const c = rng.pick(crmContacts());
      const id = String(c.id);
      if (kind === "crm-email") {
        const value = `Mail${n}.${rng.hex(3)}@Example.COM`;
        crmAct("update", "Contact", id, { emailAddress: value });
        record("crm", id, "emailAddress", value);
      } else {
        const value = `Lastname${n}`;
        crmAct("update", "Contact", id, { lastName: value });
        record("crm", id, "lastName", value);
      }
      return;
    }
    case "erp-name":
    case "erp-code": {
      const ok = editable("Account");
      const all = (await parties()).filter((p) => ok.has(str(p.id)));
      if (!all.length) return;
      const party = rng.pick(all);
      const id = String(party.id);
      if (kind === "erp-name") {
        const value = `${P} ERP Renamed ${n} ${rng.hex(4)}`;
        await asClerk("model.party.party.write", [[Number(id)], { name: value }]);
        record("erp", id, "name", value);
      } else {
        const value = `${P}-K${n}`; // party codes are unique in Tryton
        await asClerk("model.party.party.write", [[Number(id)], { code: value }]);
        record("erp", id, "code", value);
      }
      return;
    }
    case "erp-email": {
      // an edit of a CRM-mastered e-mail in Tryton: to be reverted
      const ok = editable("Contact");
      const all = (await mechanisms()).filter((m) => ok.has(str(m.id)));
      if (!all.length) return;
      const m = rng.pick(all);
      const value = `erp-edit-${n}@example.org`;
      await asClerk("model.party.contact_mechanism.write", [[m.id], { value }]);
      record("erp", String(m.id), "value", value);
      return;
    }
    case "crm-new": {
      const acc = crmAct("create", "Account", null, { name: `${P} New CRM ${n}` });
      crmAct("create", "Contact", null, {
        firstName: "Nora",
        lastName: `New${n}`,
        accountId: acc.id,
        emailAddress: `nora${n}@new.example.com`,
      });
      createdByPerson.crm++;
      return;
    }
    case "erp-new": {
      const ids = (await asClerk("model.party.party.create", [[{ name: `${P} New ERP ${n}` }]])) as number[];
      for (const id of ids) personParties.add(String(id));
      createdByPerson.erp++;
      return;
    }
  }
}

// ---------------------------------------------------------------- setup

(peer ? describe : describe.skip)("Tryton: crash at any instant, then restart (invariant 2)", () => {
  const tryton = peer as PeerEnv;

  beforeAll(async () => {
    crm = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
    clerk = await new RawTryton(tryton).open();
    const accounts: Rec[] = [];
    for (let i = 0; i < CRM_ONLY; i++)
      accounts.push({
        name: `${P} Account ${pad(i)}`,
        type: "Customer",
        // a legacy number in a field Tryton masters: replaced by the party's code after the create
        ...(i % 3 === 0 ? { sicCode: `LEGACY-${pad(i)}` } : {}),
      });
    const ids = crm.control.seed({ Account: accounts }).Account;
    crm.control.seed({
      Contact: ids.map((accountId, i) => ({
        firstName: `Person${i}`,
        lastName: `Acct${pad(i)}`,
        accountId,
        emailAddress: `p${i}@Acct${pad(i)}.example.com`,
      })),
    });
    const own = (await clerk.call("model.party.party.create", [
      Array.from({ length: ERP_ONLY }, (_, i) => ({ name: `${P} Tryton Only ${pad(i)}` })),
    ])) as number[];
    for (const id of own) personParties.add(String(id));

    dir = await mkdtemp(join(tmpdir(), "accord-tryton-crash-"));
    target = await testStoreTarget(join(dir, "home", "accord.db"));
    file = join(dir, "espocrm-tryton.yaml");
    await writeFile(file, await scratchSpec(tryton.db));
    env = {
      PATH: process.env.PATH ?? "",
      ACCORD_HOME: join(dir, "home"),
      ESPOCRM_URL: crm.url,
      ESPOCRM_API_KEY: crm.apiKey,
      TRYTON_URL: tryton.url,
      TRYTON_USER: tryton.user,
      TRYTON_PASSWORD: tryton.password,
      NODE_COMPILE_CACHE: join(dir, "compile-cache"),
      ...target.env,
    };
  }, 60_000);

  afterAll(async () => {
    await crm?.close();
    if (dir && !process.env.CRASH_KEEP) await rm(dir, { recursive: true, force: true });
  });

  it(`${RUNS} SIGKILLed syncs, mostly mid-create, with a person editing both systems, then a clean sync: no duplicate party, no lost update`, async () => {
    let killed = 0;
    let interruptedCreates = 0; // kills that left a create intent pending (between the intent and the link)
    const kills: number[] = [];
    let workMs = 0; // the last uninterrupted run's work
    for (let run = 0; run < RUNS; run++) {
      const before = rng.int(0, 3);
      for (let i = 0; i < before; i++) await personAction();
      // Kills are drawn in the first 2.5 s of the run's work while there is work left (creates
      // dominate the first runs), and inside the last uninterrupted run's work afterwards.
      const { done } = startSync({
        file,
        env,
        killAfterMs: () => {
          const k = rng.int(0, Math.max(200, workMs > 0 ? Math.floor(Math.min(workMs * 0.9, 2500)) : 2500));
          kills.push(k);
          return k;
        },
      });
      const during = Array.from({ length: rng.int(0, 2) }, () => rng.int(0, 1500));
      const duringDone = Promise.all(during.map((ms) => sleep(ms).then(() => personAction())));
      const r = await done;
      await duringDone;
      if (r.signal === "SIGKILL") killed++;
      else {
        kills.pop();
        if (r.workMs > 0) workMs = r.workMs;
        // a run that finished on its own ends 0 (all synced) or 4 (held/quarantined), never with a failure
        expect([0, 4], `run ${run} exited ${r.code}: ${r.stderr.slice(-1500)}`).toContain(r.code);
      }
      const store = await target.open();
      try {
        if ((await store.pendingCreateIntents(INTEGRATION)).length > 0) interruptedCreates++;
      } finally {
        await store.close();
      }
    }
    // Under load the seeded kill instants can all miss the creates: a few extra rounds, each with new CRM
    // accounts to create and an early kill, make sure kills inside a create are exercised.
    for (let extra = 0; interruptedCreates < Math.min(3, RUNS) && extra < 8; extra++) {
      for (let i = 0; i < 3; i++) await personAction("crm-new");
      const r = await startSync({ file, env, killAfterMs: () => rng.int(30, 400) }).done;
      if (r.signal !== "SIGKILL") continue;
      killed++;
      const store = await target.open();
      try {
        if ((await store.pendingCreateIntents(INTEGRATION)).length > 0) interruptedCreates++;
      } finally {
        await store.close();
      }
    }
    expect(killed, "runs really killed mid-way").toBeGreaterThanOrEqual(Math.min(30, RUNS - 2));
    expect(interruptedCreates, "kills that landed inside a create (intent stored, not linked yet)").toBeGreaterThanOrEqual(
      Math.min(3, RUNS),
    );

    const clean1 = await startSync({ file, env }).done;
    expect([0, 4], clean1.stderr.slice(-1500)).toContain(clean1.code);
    const clean2 = await startSync({ file, env }).done;
    expect([0, 4], clean2.stderr.slice(-1500)).toContain(clean2.code);

    const store = await target.open();
    try {
      await checkWorld(store);
    } finally {
      await store.close();
    }
    process.stdout.write(
      `tryton crash test: seed ${SEED}, prefix ${P}, ${RUNS} runs, ${killed} killed (after ${kills.join(",")} ms), ` +
        `${interruptedCreates} kills left a create intent pending, ${edits.length} field edits + ` +
        `${createdByPerson.crm + createdByPerson.erp} records created by a person\n`,
    );
  }, 300_000);
});

// ---------------------------------------------------------------- the checks

async function checkWorld(store: Store): Promise<void> {
  const accounts = crmAccounts();
  const contacts = crmContacts();
  const partyList = await parties();
  const mechList = await mechanisms();
  const problems: string[] = [];
  const edit = (m: (e: PersonEdit) => boolean) => lastEdit(edits, m);

  // 1. no duplicates: parties by name and by the shared id the CRM carries; mechanisms by party + address
  problems.push(
    ...duplicates(
      "Tryton party name",
      partyList.map((p) => str(p.name)),
    ),
  );
  problems.push(
    ...duplicates(
      "CRM account shared id (cAccordId)",
      accounts.map((a) => str(a.cAccordId)),
    ),
  );
  problems.push(
    ...duplicates(
      "CRM account name",
      accounts.map((a) => str(a.name)),
    ),
  );
  problems.push(
    ...duplicates(
      "Tryton e-mail mechanism (party + value)",
      mechList.map((m) => `${str(m.party)} ${str(m.value)}`),
    ),
  );
  problems.push(
    ...duplicates(
      "CRM contact shared id (cAccordId)",
      contacts.map((c) => str(c.cAccordId)),
    ),
  );
  const expected = CRM_ONLY + ERP_ONLY + createdByPerson.crm + createdByPerson.erp;
  if (accounts.length !== expected) problems.push(`the CRM has ${accounts.length} accounts, expected ${expected}`);
  if (partyList.length !== expected) problems.push(`Tryton has ${partyList.length} parties of this run, expected ${expected}`);
  if (mechList.length !== contacts.length)
    problems.push(`Tryton has ${mechList.length} e-mail mechanisms, the CRM ${contacts.length} contacts (each once in Tryton)`);

  // 2. every account and party linked exactly once; the CRM carries the party id
  const links = await allLinks(store, INTEGRATION, "customer");
  problems.push(
    ...duplicates(
      "customer link of CRM account",
      links.map((l) => str(l.crmId)),
    ),
  );
  problems.push(
    ...duplicates(
      "customer link of Tryton party",
      links.map((l) => str(l.erpId)),
    ),
  );
  const byCrm = new Map(links.map((l) => [str(l.crmId), l]));
  const byErp = new Map(links.map((l) => [str(l.erpId), l]));
  for (const a of accounts) {
    const l = byCrm.get(str(a.id));
    if (!l) problems.push(`CRM account ${a.id} "${a.name}" is not linked`);
    else if (str(a.cAccordId) !== str(l.erpId)) problems.push(`CRM account ${a.id} carries "${a.cAccordId}", linked to party ${l.erpId}`);
  }
  for (const p of partyList) if (!byErp.has(str(p.id))) problems.push(`Tryton party ${p.id} "${p.name}" is not linked`);

  // 3. values per policy; the last edit of each field survives (names: or held where both sides edited)
  const openReviews = await store.listReviews(INTEGRATION, { status: "open" });
  const accById = new Map(accounts.map((a) => [str(a.id), a]));
  const partyById = new Map(partyList.map((p) => [str(p.id), p]));
  for (const l of links) {
    const a = accById.get(str(l.crmId));
    const p = partyById.get(str(l.erpId));
    if (!a || !p) {
      problems.push(`link #${l.id} points at a missing record (crm ${l.crmId}, tryton ${l.erpId})`);
      continue;
    }
    const crmLast = edit((e) => e.side === "crm" && e.id === l.crmId && e.field === "name");
    const erpLast = edit((e) => e.side === "erp" && e.id === l.erpId && e.field === "name");
    const nameEdit = edit(
      (e) => (e.side === "crm" && e.id === l.crmId && e.field === "name") || (e.side === "erp" && e.id === l.erpId && e.field === "name"),
    );
    const held = openReviews.find((r) => r.linkId === l.id && r.field === "name|name");
    if (held) {
      if (!nameEdit) problems.push(`link #${l.id}: name held for review (#${held.id}) though nobody edited it`);
      if (crmLast && str(a.name) !== crmLast.value)
        problems.push(`link #${l.id}: CRM name edit "${crmLast.value}" lost while held: "${a.name}"`);
      if (erpLast && str(p.name) !== erpLast.value)
        problems.push(`link #${l.id}: Tryton name edit "${erpLast.value}" lost while held: "${p.name}"`);
    } else {
      if (str(a.name) !== str(p.name)) problems.push(`link #${l.id}: names differ: CRM "${a.name}" vs Tryton "${p.name}"`);
      if (nameEdit && str(a.name) !== nameEdit.value)
        problems.push(`link #${l.id}: lost update: last name edit "${nameEdit.value}" (${nameEdit.side}); now "${a.name}"`);
    }
    // the customer number: Tryton masters it; the clerk's last code survives, the CRM shows it
    const codeEdit = edit((e) => e.side === "erp" && e.id === l.erpId && e.field === "code");
    if (codeEdit && str(p.code) !== codeEdit.value) problems.push(`link #${l.id}: Tryton code edit "${codeEdit.value}" lost: "${p.code}"`);
    if (str(a.sicCode) !== str(p.code)) problems.push(`link #${l.id}: CRM sicCode "${a.sicCode}" ≠ the Tryton party's code "${p.code}"`);
  }
  for (const r of openReviews)
    if (r.field !== "name|name") problems.push(`unexpected open review #${r.id} (${r.kind}, ${r.field}): ${r.reason}`);

  // 4. contact e-mails: each CRM contact once in Tryton, on its account's party, with its values
  const cLinks = await allLinks(store, INTEGRATION, "contactEmail");
  const cByCrm = new Map(cLinks.map((l) => [str(l.crmId), l]));
  const mechById = new Map(mechList.map((m) => [str(m.id), m]));
  for (const c of contacts) {
    const l = cByCrm.get(str(c.id));
    const m = l ? mechById.get(str(l.erpId)) : undefined;
    if (!l || !m) {
      problems.push(`CRM contact ${c.id} ${c.firstName} ${c.lastName} has no e-mail mechanism in Tryton`);
      continue;
    }
    if (str(c.cAccordId) !== str(l.erpId)) problems.push(`CRM contact ${c.id} carries "${c.cAccordId}", linked to mechanism ${l.erpId}`);
    const mail = edit((e) => e.side === "crm" && e.id === str(c.id) && e.field === "emailAddress");
    if (mail && str(c.emailAddress) !== mail.value)
      problems.push(`CRM contact ${c.id}: e-mail edit "${mail.value}" lost: "${c.emailAddress}"`);
    const last = edit((e) => e.side === "crm" && e.id === str(c.id) && e.field === "lastName");
    if (last && str(c.lastName) !== last.value) problems.push(`CRM contact ${c.id}: last-name edit "${last.value}" lost: "${c.lastName}"`);
    if (str(m.value) !== str(c.emailAddress).trim().toLowerCase())
      problems.push(`contact ${c.id}: Tryton e-mail "${m.value}" ≠ the CRM master's "${c.emailAddress}" (lower-cased)`);
    const fullName = `${str(c.firstName)} ${str(c.lastName)}`.trim();
    if (str(m.name) !== fullName) problems.push(`contact ${c.id}: Tryton mechanism name "${m.name}" ≠ "${fullName}"`);
    const parent = byCrm.get(str(c.accountId));
    if (!parent) problems.push(`contact ${c.id}: its account ${c.accountId} is not linked`);
    else if (str(m.party) !== str(parent.erpId))
      problems.push(`contact ${c.id}: its mechanism is on party ${m.party}, its account's party is ${parent.erpId}`);
  }

  // 5. nothing pending, nothing quarantined, every run balanced, converged
  const pending = await store.pendingCreateIntents(INTEGRATION);
  if (pending.length) problems.push(`${pending.length} create intents still pending`);
  for (const q of await store.listQuarantine(INTEGRATION, { status: "open" }))
    problems.push(`quarantined ${q.object} ${q.side} ${q.recordId}: ${q.errorClass}: ${q.reason}`);
  const runs = await store.listRuns(INTEGRATION, { limit: 10_000 });
  problems.push(...unbalancedRuns(runs));
  problems.push(...notConverged(runs, ["customer", "contactEmail"]));
  process.stdout.write(
    `tryton crash test: ${links.length} customer links, ${cLinks.length} contact links, ${openReviews.length} held for review, ` +
      `${runs.length} run rows (${runs.filter((r) => r.status === "ok").length} finished)\n`,
  );
  expect(problems, problems.slice(0, 40).join("\n")).toEqual([]);
}
