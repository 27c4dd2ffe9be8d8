/**
 * Sync benchmark (npm run bench:sync): the engine end to end over real HTTP against both sandboxes.
 *
 *   npm run bench:sync                          # sizes 2000, 5000, 10000
 *   node bench/sync/run.ts --sizes 10000 --json
 *
 * For each size N, in its own process (so peak RSS belongs to that size alone), with the
 * sandboxes in a child process (`accord sandbox up`, so the servers' memory and CPU are not the
 * engine's):
 *   (a) initial sync: N CRM accounts, no ERP customers → N creates CRM→ERP (each: intent, create,
 *       link, identity stamp back into the CRM) — records/s;
 *   (b) a no-change incremental pass over the N linked pairs (the overlap window re-reads every
 *       record touched in (a), on both sides; every one must be recognised as unchanged) — records/s;
 *   (c) peak RSS of the engine's process (sampled every 25 ms, and the kernel's maxRSS);
 * then, in the same run against the same servers, bench/sandbox-raw's plain-fetch create speed
 * (ERPNext Customer, one record per request) at the engine's concurrency — the ceiling (a) is
 * compared with.
 * Prints a table and writes bench/results/sync.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { measureRaw, type RawTarget } from "../sandbox-raw/measure.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");

/** Records the engine processes at once (SyncOptions.applyConcurrency); raw creates are measured at the same. */
const ENGINE_CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

interface WorkerResult {
  records: number;
  initial: { seconds: number; recordsPerSec: number; counts: Record<string, number>; crmCalls: number; erpCalls: number };
  noChange: {
    seconds: number;
    read: number;
    recordsPerSec: number;
    linkedPerSec: number;
    counts: Record<string, number>;
    crmCalls: number;
    erpCalls: number;
    withoutDeleteSweep: { seconds: number; read: number; recordsPerSec: number };
  };
  raw: { concurrency: number; createsPerSec: number; p50Ms: number; crmCreatesPerSec: number };
  ratio: number;
  rss: {
    baselineMb: number;
    peakInitialMb: number;
    peakNoChangeMb: number;
    maxRssMb: number;
    heapUsedAfterMb: number;
    peakHeapInitialMb: number;
    peakHeapNoChangeMb: number;
  };
  profile?: Record<string, number>;
}

const SPEC = (tz: string) => `
version: 1
name: bench
systems:
  crm: { type: espocrm, url: "\${B_CRM_URL}", credentials: { apiKey: "\${B_CRM_KEY}" } }
  erp:
    type: erpnext
    url: "\${B_ERP_URL}"
    credentials: { apiKey: "\${B_ERP_KEY}", apiSecret: "\${B_ERP_SECRET}" }
    options: { timezone: ${tz} }
owner: { name: Bench, email: bench@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: crm->erp
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review, required: true }
      - crm: type
        erp: customer_type
        direction: crm->erp
        toErp: [ { map: { Customer: Company, Partner: Partnership }, unmapped: default, default: Company } ]
      - { crm: website, erp: website, direction: crm->erp, toErp: [ { normalize: [trim, lower] } ] }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
`;

interface Sandbox {
  target: RawTarget;
  timezone: string;
  stop(): Promise<void>;
}

async function startSandboxChild(): Promise<Sandbox> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      resolve(repo, "src/cli/main.ts"),
      "sandbox",
      "up",
      "--json",
      "--scope",
      "accounts",
      "--accounts",
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const info = await new Promise<{ crm: RawTarget["crm"]; erp: RawTarget["erp"] & { timezone: string } }>((ok, fail) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) ok(JSON.parse(out.slice(0, nl)));
    });
    child.on("exit", (code) => fail(new Error(`accord sandbox up exited (${code}) before printing its URLs`)));
  });
  return {
    target: { crm: info.crm, erp: info.erp },
    timezone: info.erp.timezone,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function seedAccounts(t: RawTarget, n: number): Promise<void> {
  const chunk = 1000;
  for (let i = 0; i < n; i += chunk) {
    const Account = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => {
      const j = i + k;
      return {
        name: `Bench Sync ${String(j).padStart(6, "0")} Trading Ltd`,
        type: j % 5 === 0 ? "Partner" : "Customer",
        website: `https://Bench-${j}.Example.com`,
        billingAddressCity: "Leeds",
        billingAddressCountry: "United Kingdom",
      };
    });
    const res = await fetch(`${t.crm.url}/__sandbox/seed`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": t.crm.apiKey },
      body: JSON.stringify({ Account }),
    });
    if (!res.ok) throw new Error(`seeding the CRM failed: ${res.status} ${await res.text()}`);
  }
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** Peak RSS and peak V8 heap in use while `fn` runs (sampled every 25 ms), in bytes. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number; peakHeap: number }> {
  let peak = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 25);
  try {
    const value = await fn();
    sample();
    return { value, peak, peakHeap };
  } finally {
    clearInterval(timer);
  }
}

async function worker(n: number): Promise<WorkerResult> {
  const { loadSpec } = await import("../../src/spec/load.ts");
  const { openContext } = await import("../../src/engine/context.ts");
  const { runSync } = await import("../../src/engine/index.ts");
  const log = (s: string) => process.stderr.write(`[${n}] ${s}\n`);
  const sb = await startSandboxChild();
  const dir = mkdtempSync(join(tmpdir(), "accord-bench-sync-"));
  try {
    log("seeding the CRM…");
    await seedAccounts(sb.target, n);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    const opened = await openContext(loadSpec(SPEC(sb.timezone), "bench.yaml"), {
      env: {
        B_CRM_URL: sb.target.crm.url,
        B_CRM_KEY: sb.target.crm.apiKey,
        B_ERP_URL: sb.target.erp.url,
        B_ERP_KEY: sb.target.erp.apiKey,
        B_ERP_SECRET: sb.target.erp.apiSecret,
      },
      store: { file: join(dir, "accord.db") },
    });
    const { ctx } = opened;
    try {
      log(`(a) initial sync: ${n} creates CRM→ERP…`);
      const c0 = { crm: ctx.crm.stats().calls, erp: ctx.erp.stats().calls };
      let t0 = performance.now();
      const a = await withPeakRss(() => runSync(ctx, { applyConcurrency: ENGINE_CONCURRENCY }));
      const aSec = (performance.now() - t0) / 1000;
      const aCounts = a.value.objects[0].counts;
      const c1 = { crm: ctx.crm.stats().calls, erp: ctx.erp.stats().calls };
      if (aCounts.applied !== n) log(`warning: ${aCounts.applied} applied, expected ${n} (${JSON.stringify(aCounts)})`);
      a.value.objects[0].records.length = 0; // the report list is the caller's; do not let it inflate (b)'s figure
      global.gc?.();

      log("(b) no-change incremental pass…");
      t0 = performance.now();
      const b = await withPeakRss(() => runSync(ctx, { applyConcurrency: ENGINE_CONCURRENCY }));
      const bSec = (performance.now() - t0) / 1000;
      const bCounts = b.value.objects[0].counts;
      const c2 = { crm: ctx.crm.stats().calls, erp: ctx.erp.stats().calls };
      if (bCounts.applied !== 0) log(`warning: the no-change pass applied ${bCounts.applied}`);

      log("(b') the same pass without the deletion sweep (no full id lists)…");
      t0 = performance.now();
      const b2 = await runSync(ctx, { applyConcurrency: ENGINE_CONCURRENCY, detectDeletes: false });
      const b2Sec = (performance.now() - t0) / 1000;

      log(`raw creates at concurrency ${ENGINE_CONCURRENCY} (bench/sandbox-raw, same servers, same run)…`);
      const raw = await measureRaw(sb.target, {
        maxPages: 1,
        concurrency: [ENGINE_CONCURRENCY],
        createSeconds: 3,
        erpPageSizes: [1000],
        label: `sync${n}`,
      });
      const rawErp = raw.creates.find((c) => c.system === "erpnext");
      const rawCrm = raw.creates.find((c) => c.system === "espocrm");
      const rawPerSec = rawErp?.perSec ?? 0;
      const aPerSec = n / aSec;
      return {
        records: n,
        initial: {
          seconds: Math.round(aSec * 100) / 100,
          recordsPerSec: Math.round(aPerSec),
          counts: { ...aCounts },
          crmCalls: c1.crm - c0.crm,
          erpCalls: c1.erp - c0.erp,
        },
        noChange: {
          seconds: Math.round(bSec * 100) / 100,
          read: bCounts.read,
          recordsPerSec: Math.round(bCounts.read / bSec),
          linkedPerSec: Math.round(n / bSec),
          counts: { ...bCounts },
          crmCalls: c2.crm - c1.crm,
          erpCalls: c2.erp - c1.erp,
          withoutDeleteSweep: {
            seconds: Math.round(b2Sec * 100) / 100,
            read: b2.totals.read,
            recordsPerSec: Math.round(b2.totals.read / b2Sec),
          },
        },
        raw: {
          concurrency: ENGINE_CONCURRENCY,
          createsPerSec: rawPerSec,
          p50Ms: rawErp?.p50Ms ?? 0,
          crmCreatesPerSec: rawCrm?.perSec ?? 0,
        },
        ratio: rawPerSec > 0 ? Math.round((aPerSec / rawPerSec) * 100) / 100 : 0,
        rss: {
          baselineMb: mb(baseline),
          peakInitialMb: mb(a.peak),
          peakNoChangeMb: mb(b.peak),
          maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
          heapUsedAfterMb: mb(process.memoryUsage().heapUsed),
          peakHeapInitialMb: mb(a.peakHeap),
          peakHeapNoChangeMb: mb(b.peakHeap),
        },
      };
    } finally {
      await opened.close();
    }
  } finally {
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runWorker(n: number): Promise<WorkerResult> {
  return new Promise((ok, fail) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--disable-warning=ExperimentalWarning", fileURLToPath(import.meta.url), "--worker", String(n)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("close", (code) => {
      if (code !== 0) return fail(new Error(`bench worker for ${n} records exited ${code}`));
      try {
        ok(JSON.parse(out.trim().split("\n").pop() ?? "") as WorkerResult);
      } catch (e) {
        fail(e);
      }
    });
  });
}

function table(rows: WorkerResult[]): string {
  const pad = (s: string | number, w: number) => String(s).padStart(w);
  const out: string[] = [];
  out.push(
    `${pad("records", 8)} | ${pad("(a) create s", 12)} ${pad("rec/s", 7)} ${pad("raw/s", 7)} ${pad("ratio", 6)} | ${pad("(b) pass s", 10)} ${pad("read", 7)} ${pad("read/s", 8)} ${pad("linked/s", 9)} ${pad("no-sweep/s", 10)} | ${pad("RSS base", 8)} ${pad("peak a", 7)} ${pad("peak b", 7)} ${pad("heap a", 7)} ${pad("heap b", 7)} MB`,
  );
  out.push("-".repeat(out[0].length));
  for (const r of rows) {
    out.push(
      `${pad(r.records, 8)} | ${pad(r.initial.seconds, 12)} ${pad(r.initial.recordsPerSec, 7)} ${pad(r.raw.createsPerSec, 7)} ${pad(`${Math.round(r.ratio * 100)}%`, 6)} | ${pad(r.noChange.seconds, 10)} ${pad(r.noChange.read, 7)} ${pad(r.noChange.recordsPerSec, 8)} ${pad(r.noChange.linkedPerSec, 9)} ${pad(r.noChange.withoutDeleteSweep.recordsPerSec, 10)} | ${pad(r.rss.baselineMb, 8)} ${pad(r.rss.peakInitialMb, 7)} ${pad(r.rss.peakNoChangeMb, 7)} ${pad(r.rss.peakHeapInitialMb, 7)} ${pad(r.rss.peakHeapNoChangeMb, 7)}`,
    );
  }
  const last = rows[rows.length - 1];
  if (last) {
    out.push("");
    out.push(
      `API calls at ${last.records}: (a) CRM ${last.initial.crmCalls} + ERP ${last.initial.erpCalls} = ${((last.initial.crmCalls + last.initial.erpCalls) / last.records).toFixed(2)} per record; ` +
        `(b) CRM ${last.noChange.crmCalls} + ERP ${last.noChange.erpCalls}. Raw EspoCRM creates at the same concurrency: ${last.raw.crmCreatesPerSec}/s.`,
    );
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: "string" },
      sizes: { type: "string", default: "2000,5000,10000" },
      out: { type: "string", default: resolve(repo, "bench/results/sync.json") },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write("node bench/sync/run.ts [--sizes 2000,5000,10000] [--out FILE] [--json]\n");
    return;
  }
  if (values.worker) {
    const r = await worker(Number(values.worker));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const sizes = values.sizes.split(",").map((s) => Number(s.trim()));
  const loadBefore = loadavg();
  const rows: WorkerResult[] = [];
  for (const n of sizes) rows.push(await runWorker(n));
  const result = {
    bench: "sync",
    when: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    loadAvgBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
    loadAvgAfter: loadavg().map((x) => Math.round(x * 100) / 100),
    engineConcurrency: ENGINE_CONCURRENCY,
    targets: { initialVsRawCreate: 0.8, noChangeRecordsPerSec: 5000 },
    notes: [
      "(a) each record: create intent, ERPNext create, link + intent in one transaction, change log, identity stamp into the CRM (a second API call), link saved again",
      "raw = bench/sandbox-raw measureRaw: plain fetch POST /api/resource/Customer, one per request, same servers, same concurrency, measured right after (b)",
      "(b) read/s counts records read on both sides (the overlap window re-reads everything (a) touched); linked/s = N / pass seconds",
      "RSS is the engine process only (the sandboxes run in a child process); peaks of RSS and of V8 heap in use sampled every 25 ms",
      "(a)'s result lists one RecordReport per applied record (what `accord sync` prints): that list grows with the records applied, by design",
      "no-sweep/s: the same no-change pass with detectDeletes: false (no full id lists of both systems)",
    ],
    rows,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${table(rows)}\n\nWritten to ${values.out}\n`);
}

await main();
