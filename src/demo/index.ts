/**
 * `accord demo`: the first trip through Accord on one machine, with nothing installed or set.
 *
 *  1. start the emulated EspoCRM and ERPNext (src/sandbox) with generated, production-like data
 *     — the same companies typed differently in both systems, one-sided customers, duplicates;
 *  2. point examples/espocrm-erpnext.yaml at them (the demo sets the variables the file names)
 *     and keep the store in the demo's state folder (default .accord/demo/accord.db);
 *  3. audit both systems (src/quality/audit.ts): duplicates, formats, missing fields, the
 *     cross-system picture — the ten-second summary is printed;
 *  4. prepare the ERP lists the CRM's values must exist in (see masters.ts);
 *  5. go-live linking (src/quality/golive.ts): pair the customers both systems already hold,
 *     stamp the shared identifier, the ERP's values win for existing customers;
 *  6. sync EVERY object of the file through the engine, parents first: customers, billing
 *     addresses, contacts, then the flows — products, prices and stock into the CRM, quote-to-cash
 *     (closed-won deals → ERP sales orders, their names and status back on the deals; deals priced
 *     below the floor held for approval), invoice status onto deals and accounts;
 *  7. report the counts per object, quote-to-cash, the systems' URLs and credentials, what next.
 *
 * With `resume`, a second demo reuses the state folder: the same data, keys and store; the
 * go-live finds its links already made and the sync reads only what changed.
 */
import { existsSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { openContext } from "../engine/context.ts";
import { runSync, type SyncResult } from "../engine/index.ts";
import type { RecordReport } from "../engine/types.ts";
import { auditIntegration } from "../quality/audit.ts";
import { type GoLiveResult, goLive } from "../quality/golive.ts";
import { renderAuditSummary } from "../quality/report.ts";
import { type Sandboxes, startSandboxes } from "../sandbox/index.ts";
import { loadSpecFile } from "../spec/load.ts";
import { ensureErpLinkValues } from "./masters.ts";

export const DEMO_FILE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");
/** The object the audit and the go-live linking pair (the other objects hang on it or on its links). */
export const DEMO_MAIN_OBJECT = "customer";
/** The quote-to-cash object of the demo's file (its creates are orders, its rule holds are price approvals). */
export const DEMO_ORDER_OBJECT = "salesOrder";

/** What quote-to-cash did in this run. */
export interface QuoteToCash {
  /** ERP sales orders created from closed-won deals: deal id → order name. */
  created: Array<{ deal: string; order: string | null }>;
  /** Deals held by the file's hold rule (price approval): deal id and the rule's reason. */
  held: Array<{ deal: string; reason: string }>;
  /** Deals quarantined (e.g. the account or a product not linked yet), with the reason. */
  quarantined: Array<{ deal: string; reason: string }>;
}

export interface DemoOptions {
  accounts: number;
  seed: number;
  /** Keep the state folder's data, keys and store (a second run resumes). Default false: start from scratch. */
  resume: boolean;
  /** Folder for the sandbox data and the store (default .accord/demo). */
  stateDir: string;
  onProgress?: (message: string) => void;
}

export interface DemoRun {
  sandboxes: Sandboxes;
  stateDir: string;
  storeFile: string;
  file: string;
  env: Record<string, string>;
  resumed: boolean;
  goLive: GoLiveResult;
  /** The audit's ten-second summary (src/quality/report.ts). */
  audit: string;
  sync: SyncResult;
  quoteToCash: QuoteToCash;
  /** Seconds per step: audit, golive, sync. */
  timings: Record<string, number>;
  masters: Record<string, string[]>;
  seconds: number;
  /** Stop the sandboxes (saving their state into the state folder). */
  close(): Promise<void>;
}

/** The environment variables examples/espocrm-erpnext.yaml reads, for these sandboxes. */
export function demoEnv(sb: Sandboxes): Record<string, string> {
  return {
    ESPOCRM_URL: sb.crm.url,
    ESPOCRM_API_KEY: sb.crm.apiKey,
    ERPNEXT_URL: sb.erp.url,
    ERPNEXT_API_KEY: sb.erp.apiKey,
    ERPNEXT_API_SECRET: sb.erp.apiSecret,
  };
}

export async function runDemo(opts: DemoOptions): Promise<DemoRun> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  const stateDir = resolve(opts.stateDir);
  const resumed = opts.resume && existsSync(join(stateDir, "sandbox", "sandbox.json"));
  if (!opts.resume) rmSync(stateDir, { recursive: true, force: true });

  say(
    resumed
      ? `Restarting the sandboxes from ${rel(stateDir)} (same data, same keys)…`
      : `Starting the sandboxes: generating ${opts.accounts} companies (seed ${opts.seed}) for EspoCRM and ERPNext…`,
  );
  const sb = await startSandboxes({ accounts: opts.accounts, seed: opts.seed, statePath: join(stateDir, "sandbox") });
  try {
    if (sb.seeded)
      say(
        `Seeded EspoCRM: ${sb.counts.crm.Account ?? 0} accounts, ${sb.counts.crm.Contact ?? 0} contacts; ERPNext: ${sb.counts.erp.Customer ?? 0} customers, ${sb.counts.erp.Contact ?? 0} contacts.`,
      );
    const env = demoEnv(sb);
    const storeFile = join(stateDir, "accord.db");
    const spec = await loadSpecFile(DEMO_FILE);
    // The file's CRM rate limit protects a real EspoCRM; the emulated one on this machine needs none.
    for (const side of ["crm", "erp"] as const) {
      const o = spec.systems[side].options;
      if (o.rateLimit && typeof o.rateLimit === "object")
        spec.systems[side].options = { ...o, rateLimit: { ...(o.rateLimit as object), perSecond: 0 } };
    }
    const opened = await openContext(spec, { env, store: { file: storeFile } });
    try {
      const { ctx } = opened;
      const timings: Record<string, number> = {};
      let t = performance.now();
      const lap = (step: string) => {
        const now = performance.now();
        timings[step] = Math.round((now - t) / 100) / 10;
        t = now;
      };
      say("Auditing both systems (duplicates, formats, missing fields, pairs across systems)…");
      const audit = renderAuditSummary(await auditIntegration(ctx, { object: DEMO_MAIN_OBJECT, onProgress: say }));
      lap("audit");
      const objects = spec.objects.map((o) => o.name);
      const masters = await ensureErpLinkValues(spec, ctx.crm, ctx.erp, objects, say);
      const live = await goLive(ctx, { object: DEMO_MAIN_OBJECT, onProgress: say });
      lap("golive");
      say(`Syncing every object of the file, parents first (${objects.join(", ")})…`);
      const q2c: QuoteToCash = { created: [], held: [], quarantined: [] };
      const onRecord = (r: RecordReport) => {
        if (r.object !== DEMO_ORDER_OBJECT || r.side !== "crm") return;
        if (r.outcome === "applied" && r.ops.some((op) => op.kind === "create" && op.target === "erp"))
          q2c.created.push({ deal: r.recordId, order: r.counterpartId });
        else if (r.outcome === "held" && r.reason.includes("(holdIf)")) q2c.held.push({ deal: r.recordId, reason: r.reason });
        else if (r.outcome === "quarantined") q2c.quarantined.push({ deal: r.recordId, reason: r.reason });
      };
      let last = "";
      const sync = await runSync(ctx, {
        applyConcurrency: 4,
        onRecord,
        onProgress: (e) => {
          const c = e.counts;
          const line = `  ${e.object}: ${e.phase}${e.side ? ` ${e.side}` : ""} — read ${c.read}, applied ${c.applied}, unchanged ${c.unchanged}, held ${c.held}, quarantined ${c.quarantined}`;
          if (line !== last) say(line);
          last = line;
        },
      });
      lap("sync");
      // The order names came back onto the deals (the recipe's identity field): read them from the CRM.
      const orderIdentity = spec.objects.find((o) => o.name === DEMO_ORDER_OBJECT)?.crm;
      if (orderIdentity && q2c.created.length) {
        const deals = await ctx.crm.readByIds(
          orderIdentity.entity,
          q2c.created.map((c) => c.deal),
          [orderIdentity.identity],
        );
        const names = new Map(deals.map((r) => [r.id, r.values[orderIdentity.identity]]));
        for (const c of q2c.created) {
          const n = names.get(c.deal);
          if (typeof n === "string" && n) c.order = n;
        }
      }
      return {
        sandboxes: sb,
        stateDir,
        storeFile,
        file: DEMO_FILE,
        env,
        resumed,
        goLive: live,
        audit,
        sync,
        quoteToCash: q2c,
        timings,
        masters: masters.created,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
        close: () => sb.close(),
      };
    } finally {
      await opened.close();
    }
  } catch (err) {
    await sb.close();
    throw err;
  }
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith("..") ? r : p;
}

function sh(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/** What the demo prints when done: counts, systems, and where to look next. */
export function renderDemo(d: DemoRun, opts: { exit: boolean }): string {
  const g = d.goLive;
  const lines: string[] = [];
  lines.push(`Accord demo ${d.resumed ? "resumed" : "done"} in ${d.seconds} s — integration "${d.sync.integration}" (${rel(d.file)})`);
  lines.push("");
  lines.push(d.audit.replace(/\n\nNext: [^\n]*$/, ""));
  lines.push("");
  lines.push(
    `Go-live linking (customers): ${g.read.crm} CRM accounts, ${g.read.erp} ERP customers → ${g.linked.length} pairs linked now${g.alreadyLinked ? ` (${g.alreadyLinked} already linked)` : ""}, ` +
      `${g.proposals} possible matches and ${g.duplicatesHeld} suspected duplicates held for a person, ${g.crmOnly} CRM-only and ${g.erpOnly} ERP-only left to the sync.`,
  );
  if (g.stampFailed.length) lines.push(`  ${g.stampFailed.length} identity stamps failed (the sync retries them).`);
  const m = Object.entries(d.masters);
  if (m.length) lines.push(`ERP list values created for the CRM's values: ${m.map(([k, v]) => `${k} ${v.length}`).join(", ")}.`);
  lines.push("");
  lines.push("Sync (read = applied + unchanged + held + quarantined):");
  const w = Math.max(...d.sync.objects.map((o) => o.object.length), 6);
  lines.push(
    `  ${"object".padEnd(w)}  ${["read", "applied", "unchanged", "held", "quarantined"].map((h) => h.padStart(12)).join("")}   run`,
  );
  for (const o of d.sync.objects) {
    const c = o.counts;
    lines.push(
      `  ${o.object.padEnd(w)}  ${[c.read, c.applied, c.unchanged, c.held, c.quarantined].map((n) => String(n).padStart(12)).join("")}   #${o.runId}`,
    );
  }
  const t = d.sync.totals;
  lines.push(
    `  ${"total".padEnd(w)}  ${[t.read, t.applied, t.unchanged, t.held, t.quarantined].map((n) => String(n).padStart(12)).join("")}`,
  );
  lines.push("");
  lines.push(renderQuoteToCash(d.quoteToCash));
  lines.push("");
  const sb = d.sandboxes;
  lines.push(`EspoCRM (emulated)  ${sb.crm.url}    API key ${sb.crm.apiKey}  (header X-Api-Key)`);
  lines.push(
    `ERPNext (emulated)  ${sb.erp.url}    API key ${sb.erp.apiKey}  secret ${sb.erp.apiSecret}  (Authorization: token KEY:SECRET)`,
  );
  lines.push(`State: ${rel(d.stateDir)} (sandbox data, keys and the store ${rel(d.storeFile)}); ground truth: ${rel(sb.truthFile)}`);
  lines.push("");
  const home = `ACCORD_HOME=${sh(rel(d.stateDir))}`;
  const exports = `export ${Object.entries(d.env)
    .map(([k, v]) => `${k}=${sh(v)}`)
    .join(" ")} ${home}`;
  lines.push(
    opts.exit
      ? "Where to look next (the sandboxes are stopped; `./accord demo --resume` brings them back with the same data):"
      : "Where to look next, in another shell while the demo runs:",
  );
  lines.push(`  ${exports}`);
  lines.push(`  ./accord review list -f ${rel(d.file)}          # conflicts, master edits, possible matches held for a person`);
  lines.push(`  ./accord history ${rel(d.file)} customer <CRM id or ERP name>   # who changed what, from where, under which rule`);
  lines.push(`  ./accord plan ${rel(d.file)} --object customer contact   # edit a record in either system first, then see the plan`);
  lines.push(`  ./accord sync ${rel(d.file)}                             # every object again: reads only what changed`);
  lines.push(`  ./accord customer <CRM id or ERP name> -f ${rel(d.file)}   # customer 360: deals, orders, invoices from both systems`);
  lines.push(`  curl -s -H "X-Api-Key: ${sb.crm.apiKey}" "${sb.crm.url}/api/v1/Account?maxSize=3&select=name,cAccordId"`);
  if (!opts.exit) lines.push("", "The sandboxes stay up until Ctrl-C.");
  return lines.join("\n");
}

/** One line on quote-to-cash, then the first deals held for approval with their reason. */
export function renderQuoteToCash(q: QuoteToCash): string {
  const lines = [
    `quote-to-cash: ${q.created.length} orders created, ${q.held.length} deals held for price approval` +
      (q.quarantined.length ? `, ${q.quarantined.length} deals quarantined (account or product not linked yet, see accord status)` : ""),
  ];
  for (const c of q.created.slice(0, 3)) lines.push(`  deal ${c.deal} → ERP sales order ${c.order ?? "(name pending)"}`);
  if (q.created.length > 3)
    lines.push(`  … and ${q.created.length - 3} more (their names and status are on the deals: cErpOrderName, cErpOrderStatus)`);
  for (const h of q.held.slice(0, 2)) lines.push(`  held: deal ${h.deal} — ${h.reason.replace(/^held by a rule \(holdIf\): /, "")}`);
  return lines.join("\n");
}

/** The demo's result as data (for --json). */
export function demoJson(d: DemoRun): Record<string, unknown> {
  return {
    ok: true,
    integration: d.sync.integration,
    file: d.file,
    resumed: d.resumed,
    seconds: d.seconds,
    stateDir: d.stateDir,
    store: d.storeFile,
    crm: { type: "espocrm", url: d.sandboxes.crm.url, apiKey: d.sandboxes.crm.apiKey },
    erp: { type: "erpnext", url: d.sandboxes.erp.url, apiKey: d.sandboxes.erp.apiKey, apiSecret: d.sandboxes.erp.apiSecret },
    env: d.env,
    goLive: { ...d.goLive, linked: d.goLive.linked.length, pairs: d.goLive.linked },
    audit: d.audit,
    quoteToCash: d.quoteToCash,
    timings: d.timings,
    masters: d.masters,
    objects: d.sync.objects.map((o) => ({ object: o.object, runId: o.runId, counts: o.counts, echoes: o.echoes, recovered: o.recovered })),
    totals: d.sync.totals,
  };
}
