/**
 * bench/latency — how fast `accord run` carries a change across, under a steady stream of edits.
 *
 *   node bench/latency/run.ts [--accounts 200] [--seconds 30] [--rate 4] [--poll-seconds 60]
 *
 * Two phases against the EspoCRM and ERPNext sandboxes (real HTTP, store SQLite :memory:):
 *
 *  (a) webhooks: EspoCRM delivers `Account.update` webhooks at once (sandbox delay 0) to the
 *      runtime; a person renames random linked accounts `--rate` times a second for `--seconds`.
 *      Figures: per run, from the webhook received to the end of the run that wrote the change
 *      (the runtime's `visibleAt → finishedAt`, an upper bound of "received → written"), and per
 *      edit end to end (edit → the new name readable in the ERP, sampled every 25 ms).
 *      Bar: received → written p95 < 1 s.
 *  (b) no webhooks, polling every 10 s: the same stream, end to end per edit. Bar: p95 < 15 s.
 *
 * Prints the figures and writes bench/results/latency.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openContext } from "../../src/engine/context.ts";
import { DEFAULT_SETTINGS } from "../../src/monitor/settings.ts";
import { type RunReport, startRuntime } from "../../src/runtime/runtime.ts";
import { startSandboxes } from "../../src/sandbox/index.ts";
import { loadSpec } from "../../src/spec/load.ts";

const { values: args } = parseArgs({
  options: {
    accounts: { type: "string", default: "200" },
    seconds: { type: "string", default: "30" },
    rate: { type: "string", default: "4" },
    "poll-seconds": { type: "string", default: "10" },
  },
});
const ACCOUNTS = Number(args.accounts);
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const POLL_S = Number(args["poll-seconds"]);

const SPEC = `
version: 1
name: latency
systems:
  crm: { type: espocrm, url: "\${L_CRM_URL}", credentials: { apiKey: "\${L_CRM_KEY}" } }
  erp:
    type: erpnext
    url: "\${L_ERP_URL}"
    credentials: { apiKey: "\${L_ERP_KEY}", apiSecret: "\${L_ERP_SECRET}" }
    options: { timezone: "__TZ__" }
owner: { name: Bench, email: bench@example.com }
sync: { overlap: 2s }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: realtime
    create: both
    conflict: last-updated-wins
    deletes: ignore
    fields:
      - { crm: name, erp: customer_name, direction: both }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const fig = (xs: number[]) => ({
  n: xs.length,
  p50: Math.round(q(xs, 0.5)),
  p95: Math.round(q(xs, 0.95)),
  max: Math.round(Math.max(...xs)),
});

async function phase(name: string, opts: { webhooks: boolean; pollMs: number }) {
  // empty systems, then ACCOUNTS distinct CRM accounts: the start run creates and links their ERP
  // customers (go-live of a real data set with duplicates is `accord link`'s job, not this bench's)
  const sb = await startSandboxes({ accounts: 1, seed: 21, scope: "accounts", webhookDelayMs: 0 });
  const control = (url: string, body: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify(body),
    });
  await control(`${sb.crm.url}/__sandbox/reset`, { keepSchema: true });
  await control(`${sb.erp.url}/__sandbox/reset`, {});
  await control(`${sb.crm.url}/__sandbox/seed`, {
    Account: Array.from({ length: ACCOUNTS }, (_, i) => ({ name: `Bench Company ${i + 1} Ltd` })),
  });
  const env = {
    L_CRM_URL: sb.crm.url,
    L_CRM_KEY: sb.crm.apiKey,
    L_ERP_URL: sb.erp.url,
    L_ERP_KEY: sb.erp.apiKey,
    L_ERP_SECRET: sb.erp.apiSecret,
  };
  const opened = await openContext(loadSpec(SPEC.replace("__TZ__", sb.erp.timezone), "latency.yaml"), { env, store: { file: ":memory:" } });
  const runs: RunReport[] = [];
  const secrets = { crm: [] as string[], erp: [] as string[] };
  const rt = await startRuntime({
    ctx: opened.ctx,
    settings: { ...DEFAULT_SETTINGS, objects: {}, reconcileEveryMs: 3_600_000 },
    pollMs: opts.pollMs,
    http: { port: 0 },
    webhookSecrets: secrets,
    coalesceMs: 20,
    driftEveryMs: 3_600_000,
    env,
    onRun: (r) => runs.push(r),
  });
  await rt.idle();
  // the start run linked and created the accounts (go-live); edit those linked in both systems
  const links = (await opened.ctx.store.listLinks("latency", "customer")).filter((l) => l.crmId && l.erpId);
  if (links.length < 10) throw new Error(`only ${links.length} linked accounts: raise --accounts`);
  if (opts.webhooks) {
    const res = await fetch(`${sb.crm.apiUrl}/Webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Api-Key": sb.crm.apiKey },
      body: JSON.stringify({ event: "Account.update", url: `${rt.url}/webhooks/crm?event=Account.update`, skipOwn: true }),
    });
    secrets.crm.push(((await res.json()) as { secretKey: string }).secretKey);
  }
  runs.length = 0;
  const pending = new Map<string, { erpId: string; name: string; at: number }>();
  const e2e: number[] = [];
  let stop = false;
  let lastEdit = Date.now();
  const watcher = (async () => {
    while (!stop || pending.size > 0) {
      const res = await fetch(`${sb.erp.url}/__sandbox/dump?doctype=Customer`);
      const docs = ((await res.json()) as { data: Array<{ name: string; customer_name: string }> }).data;
      const byName = new Map(docs.map((d) => [d.name, d.customer_name]));
      const now = Date.now();
      for (const [k, p] of pending) {
        if (byName.get(p.erpId) === p.name) {
          e2e.push(now - p.at);
          pending.delete(k);
        }
      }
      if (stop && Date.now() - lastEdit > opts.pollMs * 3 + 10_000) break; // give up on stragglers
      await sleep(25);
    }
  })();
  const total = Math.round(SECONDS * RATE);
  for (let i = 0; i < total; i++) {
    const l = links[i % links.length];
    const name = `Latency ${name_(i)} GmbH`;
    const at = Date.now();
    await fetch(`${sb.crm.url}/__sandbox/act`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": sb.crm.apiKey },
      body: JSON.stringify({ op: "update", entity: "Account", id: l.crmId, data: { name } }),
    });
    pending.set(`${l.crmId}:${i}`, { erpId: l.erpId as string, name, at });
    // a later edit of the same account supersedes an earlier one still in flight
    for (const [k, p] of pending) if (k !== `${l.crmId}:${i}` && k.startsWith(`${l.crmId}:`) && p.erpId === l.erpId) pending.delete(k);
    lastEdit = Date.now();
    await sleep(Math.max(0, 1000 / RATE - (Date.now() - at)));
  }
  stop = true;
  await watcher;
  const missed = pending.size;
  await rt.stop();
  await opened.close();
  await sb.close();
  const ok = runs.filter((r) => r.status === "ok" && (r.counts?.applied ?? 0) > 0);
  const webhookLag = ok.filter((r) => r.trigger === "webhook").map((r) => r.finishedAt - r.visibleAt);
  const runMs = ok.map((r) => r.finishedAt - r.startedAt);
  return {
    phase: name,
    webhooks: opts.webhooks,
    pollMs: opts.pollMs,
    edits: total,
    notSeen: missed,
    endToEndMs: fig(e2e),
    webhookReceivedToWrittenMs: opts.webhooks ? fig(webhookLag) : null,
    runDurationMs: fig(runMs),
    runs: {
      total: runs.length,
      byTrigger: Object.fromEntries([...new Set(runs.map((r) => r.trigger))].map((t) => [t, runs.filter((r) => r.trigger === t).length])),
    },
  };
}

function name_(i: number): string {
  return `${String.fromCharCode(65 + (i % 26))}${i}`;
}

const a = await phase("(a) webhooks", { webhooks: true, pollMs: 60_000 });
const b = await phase("(b) poll only", { webhooks: false, pollMs: POLL_S * 1000 });
const result = {
  at: new Date().toISOString(),
  node: process.version,
  accounts: ACCOUNTS,
  seconds: SECONDS,
  editsPerSecond: RATE,
  phases: [a, b],
  bars: {
    webhookReceivedToWrittenP95Under1s: (a.webhookReceivedToWrittenMs?.p95 ?? Number.POSITIVE_INFINITY) < 1000,
    pollOnlyEndToEndP95Under15s: b.endToEndMs.p95 < 15_000,
  },
};
for (const p of result.phases) {
  console.log(
    `${p.phase}: ${p.edits} edits, end to end p50 ${p.endToEndMs.p50} ms p95 ${p.endToEndMs.p95} ms max ${p.endToEndMs.max} ms (not seen: ${p.notSeen})`,
  );
  if (p.webhookReceivedToWrittenMs)
    console.log(
      `    webhook received → written: p50 ${p.webhookReceivedToWrittenMs.p50} ms p95 ${p.webhookReceivedToWrittenMs.p95} ms (${p.webhookReceivedToWrittenMs.n} runs)`,
    );
  console.log(`    run duration p50 ${p.runDurationMs.p50} ms p95 ${p.runDurationMs.p95} ms; runs ${JSON.stringify(p.runs.byTrigger)}`);
}
console.log(`bars: ${JSON.stringify(result.bars)}`);
const out = resolve(import.meta.dirname, "../results/latency.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
