/**
 * Scale benchmark (npm run bench:scale): many integrations, 1, 2 and 4 `accord worker` processes,
 * one PostgreSQL (the server on this machine), the sandboxes' raw speed as the ceiling.
 *
 *   npm run bench:scale
 *   node bench/scale/run.ts --integrations 20 --accounts 500 --workers 1,2,4 --edit-rate 10 --edit-seconds 30
 *   node bench/scale/run.ts --workers 1 --integrations 4 --accounts 200 --edit-seconds 10   # quick look
 *
 * For each worker count W, from scratch:
 *   1. a fleet of `--integrations` EspoCRM + ERPNext sandbox pairs in `--fleet-procs` CHILD processes
 *      (bench/scale/fleet.ts), each CRM seeded with `--accounts` accounts, each ERP empty;
 *   2. a fresh PostgreSQL database (`--db`, dropped and created again) holding the store and the
 *      pg-boss schema; one integration file per pair registered with `accord integration add FILE
 *      --tenant T --secret NAME=VALUE…` (URLs and keys as encrypted secrets; the key in
 *      ACCORD_SECRET_KEY, made up for the run);
 *   3. W `accord worker --concurrency C` processes (node src/cli/main.ts worker), each its own
 *      process as in production; the initial sync of every integration (accounts × integrations
 *      creates CRM→ERP, each stamped back) — records/s over all, from the first job to the last
 *      link, read from the store;
 *   4. an edit stream on both sides (`--edit-rate` edits/s for `--edit-seconds`, spread round-robin
 *      over the integrations, alternately a CRM account renamed and an ERP customer renamed, by a
 *      person through the sandbox control API), delivered by the trigger `--trigger`:
 *        webhook — the systems' webhooks to `accord server` (POST /webhooks/:integration/:side),
 *                  which enqueues them as jobs;
 *        enqueue — the bench enqueues one targeted sync job per edit on the queue itself (what the
 *                  server's webhook route does, without the HTTP hop);
 *        poll    — nothing: the workers' realtime schedule finds the edits (1-minute cron);
 *      p95 lag = the edit made → the change log entry of the write into the other system (the store's
 *      change_log.at; every edit's final value is then checked in the target system itself);
 *   5. the workers stopped, the sandboxes' raw speed over the SAME fleet, all pairs at once:
 *      raw ERPNext creates/s and raw create+stamp pairs/s (the engine's 2 calls per record, plain
 *      fetch, no engine) at C lanes per worker-equivalent, and raw list records/s (full CRM scans);
 *   CPU (user+sys) of the workers, of the sandbox processes and of PostgreSQL, and the load
 *   average, sampled through each phase: on this 2-core machine they say which one is the limit.
 *
 * Prints a table and writes bench/results/scale.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import type { Job } from "../../src/runtime/jobs/types.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const NODE_BIN = dirname(process.execPath);

const { values: args } = parseArgs({
  options: {
    integrations: { type: "string", default: "20" },
    accounts: { type: "string", default: "500" },
    workers: { type: "string", default: "1,2,4" },
    concurrency: { type: "string", default: "4" },
    "record-concurrency": { type: "string", default: "1" },
    "fleet-procs": { type: "string", default: "2" },
    "edit-rate": { type: "string", default: "10" },
    "edit-seconds": { type: "string", default: "30" },
    "raw-seconds": { type: "string", default: "4" },
    "raw-max-procs": { type: "string", default: "4" },
    trigger: { type: "string", default: "auto" },
    db: { type: "string", default: "postgres://postgres@127.0.0.1:5432/accord_bench" },
    "sync-timeout": { type: "string", default: "900" },
    "keep-logs": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    out: { type: "string", default: resolve(repo, "bench/results/scale.json") },
  },
});
const N_INT = Number(args.integrations);
const ACCOUNTS = Number(args.accounts);
const WORKER_COUNTS = String(args.workers)
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const CONC = Number(args.concurrency);
/** Records in flight per run (accord worker --record-concurrency). */
const RECORD_CONC = Math.max(1, Number(args["record-concurrency"]));
const FLEET_PROCS = Math.max(1, Math.min(N_INT, Number(args["fleet-procs"])));
const EDIT_RATE = Number(args["edit-rate"]);
const EDIT_SECONDS = Number(args["edit-seconds"]);
const RAW_SECONDS = Number(args["raw-seconds"]);
const DB_URL = String(args.db);
const SYNC_TIMEOUT_S = Number(args["sync-timeout"]);
/** Client processes of the raw ceiling at 2 lanes per pair. */
const RAW_MAX_PROCS = Math.max(1, Number(args["raw-max-procs"]));

const log = (s: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const load = () => loadavg().map(r2);
const quantile = (xs: number[], q: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};

// ---------------------------------------------------------------------------------------------- fleet

interface Pair {
  crm: { url: string; apiKey: string };
  erp: { url: string; apiKey: string; apiSecret: string; timezone: string };
}
interface Fleet {
  pairs: Pair[];
  pids: number[];
  stop(): Promise<void>;
}

async function startFleet(): Promise<Fleet> {
  const per = Math.ceil(N_INT / FLEET_PROCS);
  const children: ChildProcess[] = [];
  const starts: Array<Promise<{ pid: number; pairs: Pair[] }>> = [];
  for (let offset = 0; offset < N_INT; offset += per) {
    const count = Math.min(per, N_INT - offset);
    const child = spawn(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        resolve(here, "fleet.ts"),
        "--pairs",
        String(count),
        "--accounts",
        String(ACCOUNTS),
        "--offset",
        String(offset),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    starts.push(
      new Promise((ok, fail) => {
        let out = "";
        child.stdout?.on("data", (c: Buffer) => {
          out += c.toString();
          const nl = out.indexOf("\n");
          if (nl >= 0) ok(JSON.parse(out.slice(0, nl)));
        });
        child.on("exit", (code) => fail(new Error(`sandbox fleet process exited (${code}) before printing its URLs`)));
      }),
    );
  }
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.on("exit", () => r());
            c.kill("SIGTERM");
          }),
      ),
    );
  };
  try {
    const parts = await Promise.all(starts);
    return { pairs: parts.flatMap((p) => p.pairs), pids: parts.map((p) => p.pid), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------- CPU

/** CPU time (user + system) of a process so far, ms, from /proc; 0 when it is gone. */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}
/** Peak resident set size of a process (VmHWM), MB. */
function procPeakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? r1(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}
/** PostgreSQL backends: every process whose command line starts with "postgres:". */
function postgresPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (cmd.startsWith("postgres") || cmd.includes("/postgres")) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

interface CpuSample {
  t: number;
  workers: number;
  server: number;
  sandboxes: number;
  postgres: number;
  bench: number;
}
/** The `accord server` of the round (webhook trigger), for its CPU. */
let serverPid = 0;
function cpuSample(workerPids: number[], fleet: Fleet): CpuSample {
  const u = process.cpuUsage();
  const sum = (pids: number[]) => pids.reduce((k, p) => k + procCpuMs(p), 0);
  return {
    t: performance.now(),
    workers: sum(workerPids),
    server: serverPid ? procCpuMs(serverPid) : 0,
    sandboxes: sum(fleet.pids),
    postgres: sum(postgresPids()),
    bench: (u.user + u.system) / 1000,
  };
}
/** Cores used between two samples, per kind (a core fully busy = 1.0). */
function coresBetween(a: CpuSample, b: CpuSample) {
  const wall = Math.max(1, b.t - a.t);
  return {
    workers: r2((b.workers - a.workers) / wall),
    server: r2(Math.max(0, b.server - a.server) / wall),
    sandboxes: r2((b.sandboxes - a.sandboxes) / wall),
    postgres: r2(Math.max(0, b.postgres - a.postgres) / wall),
    bench: r2((b.bench - a.bench) / wall),
  };
}

// ---------------------------------------------------------------------------------------------- raw ceiling

interface RawResult {
  /** Client processes (plain fetch, bench/scale/raw-proc.ts) and requests in flight in all of them. */
  processes: number;
  lanes: number;
  createsPerSec: number;
  pairsPerSec: number;
  crmListRecordsPerSec: number;
  erpListRecordsPerSec: number;
  sandboxCoresCreates: number;
  sandboxCoresPairs: number;
  /** Cores the raw client processes used while creating: near their count = the clients, not the fleet, are the limit. */
  clientCoresCreates: number;
  load: number[];
}

const crmHeaders = (p: Pair) => ({ "X-Api-Key": p.crm.apiKey, "Content-Type": "application/json" });
const erpHeaders = (p: Pair) => ({ Authorization: `token ${p.erp.apiKey}:${p.erp.apiSecret}`, "Content-Type": "application/json" });

interface RawProcOut {
  ok: number;
  records: { crm: number; erp: number };
  seconds: number;
  cpuMs: number;
}

/** One phase of raw load from `procs` client processes, the pairs dealt round-robin, `lanes` in flight over all. */
async function rawPhase(
  fleet: Fleet,
  mode: "creates" | "pairs" | "lists",
  procs: number,
  lanes: number,
  label: string,
): Promise<{ perSec: number; crmPerSec: number; erpPerSec: number; clientCores: number; sandboxCores: number }> {
  const startAt = Date.now() + 2000; // every client starts its clock at the same moment
  const cpu0 = cpuSample([], fleet);
  const outs = await Promise.all(
    Array.from({ length: procs }, (_, k) => {
      const pairs = fleet.pairs.filter((_, i) => i % procs === k);
      const myLanes = Math.max(1, Math.floor(lanes / procs) + (k < lanes % procs ? 1 : 0));
      const task = { mode, pairs, lanes: myLanes, seconds: RAW_SECONDS, label: `${label}p${k}`, startAt };
      return new Promise<RawProcOut>((ok, fail) => {
        const child = spawn(
          process.execPath,
          ["--disable-warning=ExperimentalWarning", resolve(here, "raw-proc.ts"), JSON.stringify(task)],
          {
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        let out = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
        });
        child.on("exit", (code) => (code === 0 ? ok(JSON.parse(out) as RawProcOut) : fail(new Error(`raw client exited ${code}`))));
      });
    }),
  );
  const cpu1 = cpuSample([], fleet);
  const wall = Math.max(...outs.map((o) => o.seconds));
  const cpuMs = outs.reduce((a, o) => a + o.cpuMs, 0);
  // the sandboxes' CPU counted from 2 s before the clients start: subtract nothing, they idle then
  return {
    perSec: r1(outs.reduce((a, o) => a + o.ok, 0) / wall),
    crmPerSec: Math.round(outs.reduce((a, o) => a + o.records.crm, 0) / wall),
    erpPerSec: Math.round(outs.reduce((a, o) => a + o.records.erp, 0) / wall),
    clientCores: r2(cpuMs / (wall * 1000)),
    sandboxCores: r2((cpu1.sandboxes - cpu0.sandboxes) / (wall * 1000)),
  };
}

async function rawCeiling(fleet: Fleet, procs: number, lanes: number, label: string): Promise<RawResult> {
  const creates = await rawPhase(fleet, "creates", procs, lanes, `${label}c`);
  const pairs = await rawPhase(fleet, "pairs", procs, lanes, `${label}p`);
  const lists = await rawPhase(fleet, "lists", procs, lanes, `${label}l`);
  return {
    processes: procs,
    lanes,
    createsPerSec: creates.perSec,
    pairsPerSec: pairs.perSec,
    crmListRecordsPerSec: lists.crmPerSec,
    erpListRecordsPerSec: lists.erpPerSec,
    sandboxCoresCreates: creates.sandboxCores,
    sandboxCoresPairs: pairs.sandboxCores,
    clientCoresCreates: creates.clientCores,
    load: load(),
  };
}

// ---------------------------------------------------------------------------------------------- database, registry

function dbUrlFor(name: string): string {
  const u = new URL(DB_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
const DB_NAME = new URL(DB_URL).pathname.replace(/^\//, "") || "accord_bench";

async function freshDatabase(): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(DB_NAME)) throw new Error(`--db names database ${DB_NAME}: use lower-case letters, digits and _`);
  const admin = new pg.Client({ connectionString: dbUrlFor("postgres") });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${DB_NAME} with (force)`);
    await admin.query(`create database ${DB_NAME}`);
  } finally {
    await admin.end();
  }
}

const integrationName = (i: number) => `scale-${String(i).padStart(2, "0")}`;
const tenantName = (i: number) => `tenant-${String(i % 5).padStart(2, "0")}`;

/** The integration file of pair i: its systems' URLs and keys are `${VAR}`s resolved from its registered secrets. */
function specText(i: number, timezone: string): string {
  return `version: 1
name: ${integrationName(i)}
systems:
  crm:
    type: espocrm
    url: "\${CRM_URL}"
    credentials: { apiKey: "\${CRM_API_KEY}" }
    options: { concurrency: ${Math.max(8, CONC)} }
  erp:
    type: erpnext
    url: "\${ERP_URL}"
    credentials: { apiKey: "\${ERP_API_KEY}", apiSecret: "\${ERP_API_SECRET}" }
    options: { timezone: ${timezone}, concurrency: ${Math.max(8, CONC)} }
owner: { name: Scale bench ${tenantName(i)}, email: ops+${tenantName(i)}@example.com }
sync: { overlap: 2s }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    schedule: realtime
    create: crm->erp
    conflict: last-updated-wins
    deletes: ignore
    fields:
      - { crm: name, erp: customer_name, direction: both, required: true }
      - crm: type
        erp: customer_type
        direction: crm->erp
        toErp: [ { map: { Customer: Company, Partner: Partnership }, unmapped: default, default: Company } ]
      - { crm: website, erp: website, direction: crm->erp, toErp: [ { normalize: [trim, lower] } ] }
`;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(argv: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", resolve(repo, "src/cli/main.ts"), ...argv], {
      cwd: repo,
      env: { ...process.env, ...env, PATH: `${NODE_BIN}:${process.env.PATH ?? ""}` },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.end(input ?? "");
    child.on("exit", (code) => ok({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * The systems' webhooks of pair i → `accord server --queue` (POST /webhooks/INTEGRATION/crm|erp), subscribed
 * through the integration's own connectors (Connector.subscribeWebhook: EspoCRM returns the secret that
 * signs its deliveries, ERPNext signs with the one given). Returns the webhook secrets to register.
 */
async function subscribeWebhooks(i: number, p: Pair, env: Record<string, string>, base: string): Promise<Record<string, string>> {
  const { loadSpec } = await import("../../src/spec/load.ts");
  const { connectSystems } = await import("../../src/server/systems.ts");
  const spec = loadSpec(specText(i, p.erp.timezone), `${integrationName(i)}.yaml`);
  const { crm, erp } = await connectSystems(spec, env);
  try {
    if (!crm.subscribeWebhook || !erp.subscribeWebhook) throw new Error("a connector cannot subscribe webhooks");
    const crmSub = await crm.subscribeWebhook("Account", "update", `${base}/webhooks/${integrationName(i)}/crm`);
    const erpSecret = randomBytes(16).toString("hex");
    await erp.subscribeWebhook("Customer", "update", `${base}/webhooks/${integrationName(i)}/erp`, { secret: erpSecret });
    if (!crmSub.secret) throw new Error("EspoCRM returned no webhook secret");
    return { ACCORD_WEBHOOK_SECRETS_CRM: crmSub.secret, ACCORD_WEBHOOK_SECRETS_ERP: erpSecret };
  } finally {
    await Promise.allSettled([crm.close(), erp.close()]);
  }
}

/** A free TCP port on 127.0.0.1 (for the server, whose URL the webhooks need before it starts). */
async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

/** `accord server --queue` (registry mode: no FILE) on the given port, until stopped. */
async function startServer(port: number, env: Record<string, string>, dir: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const out = createWriteStream(join(dir, "server.log"));
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      resolve(repo, "src/cli/main.ts"),
      "server",
      "--queue",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
    ],
    { cwd: repo, env: { ...process.env, ...env, PATH: `${NODE_BIN}:${process.env.PATH ?? ""}` }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const stop = () =>
    new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.on("exit", () => {
        clearTimeout(kill);
        r();
      });
      child.kill("SIGTERM");
    });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`accord server exited (${child.exitCode}); see ${join(dir, "server.log")}`);
    const up = await fetch(`http://127.0.0.1:${port}/api/openapi.json`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) return { pid: child.pid ?? 0, stop };
    await sleep(250);
  }
  await stop();
  throw new Error("accord server did not answer within 60 s");
}

/** `accord integration add FILE --tenant T --secret NAME=VALUE…` for every pair, a few at a time. */
let viaLibrary = false;
async function registerAll(fleet: Fleet, dir: string, env: Record<string, string>, webhookBase: string | null): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < fleet.pairs.length) {
        const i = next++;
        const p = fleet.pairs[i] as Pair;
        const file = join(dir, `${integrationName(i)}.yaml`);
        writeFileSync(file, specText(i, p.erp.timezone));
        const secrets: Record<string, string> = {
          CRM_URL: p.crm.url,
          CRM_API_KEY: p.crm.apiKey,
          ERP_URL: p.erp.url,
          ERP_API_KEY: p.erp.apiKey,
          ERP_API_SECRET: p.erp.apiSecret,
        };
        if (webhookBase) Object.assign(secrets, await subscribeWebhooks(i, p, secrets, webhookBase));
        const argv = ["integration", "add", file, "--tenant", tenantName(i)];
        for (const [k, v] of Object.entries(secrets)) argv.push("--secret", `${k}=${v}`);
        const r = await cli(argv, env);
        if (r.code !== 0 && /unknown command 'integration'/.test(r.stderr)) {
          // the CLI command has not landed: the registry's own function, same encryption, same table
          const { registerIntegration, keyringFromEnv } = await import("../../src/registry/index.ts");
          const { openStore } = await import("../../src/store/index.ts");
          const store = await openStore({ url: env.DATABASE_URL });
          try {
            await registerIntegration(store, {
              specText: readFileSync(file, "utf8"),
              file,
              tenant: tenantName(i),
              secrets,
              keyring: keyringFromEnv(env),
            });
          } finally {
            await store.close();
          }
          viaLibrary = true;
          continue;
        }
        if (r.code !== 0)
          throw new Error(`accord integration add ${integrationName(i)} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 600)}`);
      }
    }),
  );
  return r2((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------------------------------------- workers

interface Workers {
  pids: number[];
  logs: string[];
  /** Workers still alive 20 s after SIGTERM (then SIGKILLed). */
  killedAfterTerm(): number;
  stop(): Promise<void>;
  alive(): number;
}
/** `accord worker` when the CLI has it, else bench/scale/worker-proc.ts (the same Worker, queue and store, built by hand). */
let workerArgv: string[] = [resolve(repo, "src/cli/main.ts"), "worker"];
let workerVia = "accord worker";
async function chooseWorkerCommand(env: Record<string, string>): Promise<void> {
  const r = await cli(["worker", "--help"], env);
  if (r.code !== 0) {
    workerArgv = [resolve(here, "worker-proc.ts")];
    workerVia = "bench/scale/worker-proc.ts (no `accord worker` command yet)";
  }
}

function startWorkers(n: number, env: Record<string, string>, dir: string): Workers {
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let killedAfterTerm = 0;
  for (let w = 0; w < n; w++) {
    const logFile = join(dir, `worker-${w + 1}.log`);
    logs.push(logFile);
    const out = createWriteStream(logFile);
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", ...workerArgv, "--concurrency", String(CONC), ...(RECORD_CONC > 1 ? ["--record-concurrency", String(RECORD_CONC)] : [])], {
      cwd: repo,
      env: { ...process.env, ...env, PATH: `${NODE_BIN}:${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.push(child);
  }
  return {
    pids: children.map((c) => c.pid ?? 0),
    logs,
    killedAfterTerm: () => killedAfterTerm,
    alive: () => children.filter((c) => c.exitCode === null && c.signalCode === null).length,
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((r) => {
              if (c.exitCode !== null || c.signalCode !== null) return r();
              const kill = setTimeout(() => {
                killedAfterTerm++;
                c.kill("SIGKILL");
              }, 20_000);
              c.on("exit", () => {
                clearTimeout(kill);
                r();
              });
              c.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

/** The queue, when the bench enqueues jobs itself (`--trigger enqueue`, and the first run of every object if the workers do not). */
interface Enqueuer {
  enqueue(job: Job): Promise<unknown>;
  close(): Promise<void>;
}
async function openQueue(url: string): Promise<Enqueuer | null> {
  try {
    const { openJobQueue } = await import("../../src/runtime/jobs/index.ts");
    const { openStore } = await import("../../src/store/index.ts");
    const store = await openStore({ url });
    const q = openJobQueue({ store, env: { ...process.env, DATABASE_URL: url } });
    await q.start();
    return {
      enqueue: (job) => q.enqueue(job),
      close: async () => {
        await q.stop({ graceMs: 0 });
        await store.close();
      },
    };
  } catch (e) {
    log(`the job queue could not be opened from the bench: ${(e as Error).message}`);
    return null;
  }
}

// ---------------------------------------------------------------------------------------------- one round

interface EditResult {
  edits: number;
  seen: number;
  notSeen: number;
  verifiedInTarget: number;
  lagMs: { p50: number; p95: number; max: number };
  cores: ReturnType<typeof coresBetween>;
  load: number[];
}
interface RoundResult {
  workers: number;
  concurrency: number;
  integrations: number;
  records: number;
  trigger: string;
  registerSeconds: number;
  initial: {
    seconds: number;
    linked: number;
    recordsPerSec: number;
    secondsFromFirstRun: number;
    recordsPerSecFromFirstRun: number;
    cores: ReturnType<typeof coresBetween>;
    loadStart: number[];
    loadEnd: number[];
    pgConnectionsPeak: number;
  } | null;
  edits: EditResult | null;
  /** Raw speed at workers × concurrency lanes (the same number of requests in flight as the workers could have). */
  raw: RawResult;
  /** Raw speed at 2 lanes per pair: the fleet's ceiling as far as one client process can push it. */
  rawMax: RawResult;
  ratioToRawCreates: number | null;
  ratioToRawPairs: number | null;
  workerPeakRssMb: number[];
  workersAliveAtEnd: number;
  notes: string[];
}

async function count(db: pg.Client, q: string): Promise<number> {
  try {
    const r = await db.query<{ n: string | number }>(q);
    return Number(r.rows[0]?.n ?? 0);
  } catch {
    return 0; // tables not there yet (the first worker migrates)
  }
}

async function round(W: number): Promise<RoundResult> {
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "accord-bench-scale-"));
  log(`round W=${W}: starting ${N_INT} sandbox pairs in ${FLEET_PROCS} processes, ${ACCOUNTS} CRM accounts each…`);
  const fleet = await startFleet();
  let workers: Workers | null = null;
  let queue: Enqueuer | null = null;
  let server: { pid: number; stop(): Promise<void> } | null = null;
  const db = new pg.Client({ connectionString: DB_URL });
  try {
    await freshDatabase();
    await db.connect();
    const env = {
      DATABASE_URL: DB_URL,
      ACCORD_SECRET_KEY: randomBytes(32).toString("base64"),
      ACCORD_HOME: join(dir, "home"),
      LOG_LEVEL: "warn",
    };
    // the store's tables: the first opener migrates (under its advisory lock)
    const { openStore } = await import("../../src/store/index.ts");
    await (await openStore({ url: DB_URL })).close();
    log(`registering ${N_INT} integrations (accord integration add, secrets encrypted)…`);
    let trigger = String(args.trigger);
    // auto = enqueue: the server → worker webhook path is measured with --trigger webhook (see README)
    if (trigger === "auto") trigger = "enqueue";
    const serverPort = trigger === "webhook" ? await freePort() : 0;
    let registerSeconds = 0;
    try {
      registerSeconds = await registerAll(fleet, dir, env, trigger === "webhook" ? `http://127.0.0.1:${serverPort}` : null);
    } catch (e) {
      notes.push(`registration failed: ${(e as Error).message.split("\n")[0]}`);
    }
    if (viaLibrary) notes.push("registered through src/registry's registerIntegration (the CLI `accord integration add` was not there)");
    const registered = await count(db, "select count(*) as n from integrations");
    if (registered !== N_INT) notes.push(`${registered} of ${N_INT} integrations registered`);
    if (registered === 0) {
      log("no integration registered: measuring the raw ceiling only");
      const raw = await rawCeiling(fleet, W, W * CONC, `w${W}`);
      const rawMax = await rawCeiling(fleet, RAW_MAX_PROCS, 2 * fleet.pairs.length, `w${W}max`);
      return {
        workers: W,
        concurrency: CONC,
        integrations: N_INT,
        records: N_INT * ACCOUNTS,
        trigger: "none",
        registerSeconds,
        initial: null,
        edits: null,
        raw,
        rawMax,
        ratioToRawCreates: null,
        ratioToRawPairs: null,
        workerPeakRssMb: [],
        workersAliveAtEnd: 0,
        notes,
      };
    }

    const total = N_INT * ACCOUNTS;
    if (trigger === "webhook") {
      server = await startServer(serverPort, env, dir);
      serverPid = server.pid;
      log(`accord server --queue on 127.0.0.1:${serverPort}: the systems' webhooks go there`);
    }
    await chooseWorkerCommand(env);
    if (workerArgv[0]?.endsWith("worker-proc.ts")) notes.push(`workers: ${workerVia}`);
    log(`starting ${W} worker(s) (${workerVia} --concurrency ${CONC}${RECORD_CONC > 1 ? ` --record-concurrency ${RECORD_CONC}` : ""})…`);
    const loadStart = load();
    const cpu0 = cpuSample([], fleet);
    const t0 = performance.now();
    workers = startWorkers(W, env, dir);
    queue = await openQueue(DB_URL);
    // the workers run every registered integration's objects once at start; if none has started in
    // 20 s, the bench asks for the initial runs itself
    let kicked = false;
    let linked = 0;
    let pgPeak = 0;
    const deadline = t0 + SYNC_TIMEOUT_S * 1000;
    while (performance.now() < deadline) {
      linked = await count(db, "select count(*) as n from links where crm_id is not null and erp_id is not null");
      pgPeak = Math.max(pgPeak, await count(db, `select count(*) as n from pg_stat_activity where datname = '${DB_NAME}'`));
      if (linked >= total) break;
      if (workers.alive() === 0) {
        notes.push("every worker exited during the initial sync (see the worker logs)");
        break;
      }
      if (!kicked && performance.now() - t0 > 20_000) {
        const runs = await count(db, "select count(*) as n from runs");
        if (runs === 0 && queue) {
          log("no run started by the workers in 20 s: enqueueing one start job per integration");
          for (let i = 0; i < N_INT; i++)
            await queue.enqueue({
              kind: "sync",
              integration: integrationName(i),
              object: "customer",
              trigger: "manual",
              visibleAt: Date.now(),
            });
          notes.push("the initial runs were enqueued by the bench (the workers did not start them)");
        }
        kicked = true;
      }
      await sleep(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuSample(workers.pids, fleet);
    const cpuW0 = { ...cpu0, workers: 0 };
    // the same, from the first run's start (leaves out process start, store open, registry load)
    const firstRun = (await db.query<{ s: string | null }>("select min(started_at) as s from runs")).rows[0]?.s;
    const fromFirstRun = firstRun ? (Date.now() - Date.parse(firstRun)) / 1000 : seconds;
    const initial = {
      seconds: r2(seconds),
      linked,
      recordsPerSec: Math.round(linked / seconds),
      secondsFromFirstRun: r2(fromFirstRun),
      recordsPerSecFromFirstRun: Math.round(linked / fromFirstRun),
      cores: coresBetween(cpuW0, cpu1),
      loadStart,
      loadEnd: load(),
      pgConnectionsPeak: pgPeak,
    };
    if (linked < total) notes.push(`initial sync incomplete: ${linked} of ${total} linked after ${r1(seconds)} s`);
    log(
      `initial sync: ${linked}/${total} linked in ${r1(seconds)} s → ${initial.recordsPerSec} records/s (${initial.recordsPerSecFromFirstRun}/s from the first run's start)`,
    );

    // ---- edit stream
    let edits: EditResult | null = null;
    if (trigger === "enqueue" && !queue) {
      trigger = "poll";
      notes.push("the bench could not open the job queue: the edits were left to the 1-minute poll");
    }
    if (linked > 0 && EDIT_SECONDS > 0 && workers.alive() > 0) {
      edits = await editStream(db, fleet, workers, queue, trigger);
    }
    if (trigger === "webhook") {
      // did the deliveries become runs? pg-boss keeps the webhook jobs and their last error
      try {
        const wh = await db.query<{ state: string; n: string; err: string | null }>(
          "select state, count(*) as n, max(output->>'message') as err from pgboss.job where name = 'accord-webhook' group by state",
        );
        const byState = Object.fromEntries(wh.rows.map((r) => [r.state, Number(r.n)]));
        const failing = wh.rows.find((r) => r.state !== "completed" && r.err);
        notes.push(`webhook jobs by state: ${JSON.stringify(byState)}${failing ? ` — failing with: ${failing.err}` : ""}`);
      } catch {
        /* no pgboss schema */
      }
    }
    const workerPeakRssMb = workers.pids.map(procPeakRssMb);
    const workersAliveAtEnd = workers.alive();
    const stopT0 = performance.now();
    await workers.stop();
    const stopSeconds = r1((performance.now() - stopT0) / 1000);
    if (workers.killedAfterTerm() > 0)
      notes.push(`${workers.killedAfterTerm()} of ${W} worker(s) had not exited 20 s after SIGTERM (SIGKILLed)`);
    else notes.push(`workers exited ${stopSeconds} s after SIGTERM`);
    workers = null;
    if (queue) await queue.close().catch(() => {});
    queue = null;

    log("raw speed of the same fleet (workers stopped)…");
    const raw = await rawCeiling(fleet, W, W * CONC, `w${W}`);
    const rawMax = await rawCeiling(fleet, RAW_MAX_PROCS, 2 * fleet.pairs.length, `w${W}max`);
    log(
      `raw, ${rawMax.processes} client processes × ${rawMax.lanes} lanes in all: ${rawMax.createsPerSec} ERPNext creates/s, ${rawMax.pairsPerSec} pairs/s`,
    );
    log(
      `raw, ${raw.processes} client process(es) × ${raw.lanes} lanes in all: ${raw.createsPerSec} ERPNext creates/s, ${raw.pairsPerSec} create+stamp pairs/s, lists ${raw.crmListRecordsPerSec} CRM / ${raw.erpListRecordsPerSec} ERP records/s`,
    );
    return {
      workers: W,
      concurrency: CONC,
      integrations: N_INT,
      records: total,
      trigger,
      registerSeconds,
      initial,
      edits,
      raw,
      rawMax,
      ratioToRawCreates: raw.createsPerSec ? r2(initial.recordsPerSec / raw.createsPerSec) : null,
      ratioToRawPairs: raw.pairsPerSec ? r2(initial.recordsPerSec / raw.pairsPerSec) : null,
      workerPeakRssMb,
      workersAliveAtEnd,
      notes,
    };
  } finally {
    if (server) await server.stop();
    serverPid = 0;
    if (workers) await workers.stop();
    if (queue) await queue.close().catch(() => {});
    await db.end().catch(() => {});
    await fleet.stop();
    if (!args["keep-logs"]) rmSync(dir, { recursive: true, force: true });
    else log(`logs kept in ${dir}`);
  }
}

// ---------------------------------------------------------------------------------------------- edits

async function editStream(db: pg.Client, fleet: Fleet, workers: Workers, queue: Enqueuer | null, trigger: string): Promise<EditResult> {
  // linked pairs per integration, to edit
  const rows = (
    await db.query<{ integration: string; crm_id: string; erp_id: string }>(
      "select integration, crm_id, erp_id from links where crm_id is not null and erp_id is not null order by id",
    )
  ).rows;
  const byInt = new Map<string, Array<{ crm: string; erp: string }>>();
  for (const r of rows) {
    const l = byInt.get(r.integration) ?? [];
    l.push({ crm: r.crm_id, erp: r.erp_id });
    byInt.set(r.integration, l);
  }
  const lastId = await count(db, "select coalesce(max(id), 0) as n from change_log");
  let cursor = lastId;
  // pending edits keyed by integration|target side|target record id (a later edit of the record supersedes)
  const pending = new Map<string, { value: string; at: number; p: Pair; side: "crm" | "erp"; id: string }>();
  const finals = new Map<string, { value: string; p: Pair; side: "crm" | "erp"; id: string }>();
  const lags: number[] = [];
  let stop = false;
  let lastEdit = Date.now();
  const watchTimeoutMs = trigger === "poll" ? 150_000 : 60_000;
  const watcher = (async () => {
    while (true) {
      const res = await db.query<{ id: number; integration: string; target: string; record_id: string; after_value: string; at: string }>(
        "select id, integration, target, record_id, after_value, at from change_log where id > $1 and field in ('name', 'customer_name') order by id",
        [cursor],
      );
      const now = Date.now();
      for (const e of res.rows) {
        cursor = Math.max(cursor, Number(e.id));
        const key = `${e.integration}|${e.target}|${e.record_id}`;
        const p = pending.get(key);
        if (!p) continue;
        let after: unknown = e.after_value;
        try {
          after = JSON.parse(e.after_value);
        } catch {
          /* plain text */
        }
        if (after !== p.value) continue;
        const at = Date.parse(e.at);
        lags.push((Number.isFinite(at) ? at : now) - p.at);
        pending.delete(key);
      }
      if (stop && (pending.size === 0 || Date.now() - lastEdit > watchTimeoutMs)) break;
      await sleep(100);
    }
  })();

  const ints = [...byInt.keys()].sort();
  const pairOf = (name: string) => fleet.pairs[Number(name.slice(name.lastIndexOf("-") + 1))] as Pair;
  const totalEdits = Math.round(EDIT_RATE * EDIT_SECONDS);
  const cpu0 = cpuSample(workers.pids, fleet);
  log(`edit stream: ${totalEdits} edits at ${EDIT_RATE}/s over ${ints.length} integrations, both sides, trigger ${trigger}…`);
  const t0 = Date.now();
  for (let k = 0; k < totalEdits; k++) {
    const integ = ints[k % ints.length] as string;
    const links = byInt.get(integ) as Array<{ crm: string; erp: string }>;
    const link = links[Math.floor(k / ints.length) % links.length] as { crm: string; erp: string };
    const p = pairOf(integ);
    const side: "crm" | "erp" = k % 2 === 0 ? "crm" : "erp";
    const value = `Edited ${side} ${k} ${integ} Ltd`;
    const at = Date.now();
    if (side === "crm") {
      const res = await fetch(`${p.crm.url}/__sandbox/act`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Sandbox-Token": p.crm.apiKey },
        body: JSON.stringify({ op: "update", entity: "Account", id: link.crm, data: { name: value } }),
      });
      await res.arrayBuffer();
      pending.set(`${integ}|erp|${link.erp}`, { value, at, p, side: "erp", id: link.erp });
      finals.set(`${integ}|erp|${link.erp}`, { value, p, side: "erp", id: link.erp });
      if (trigger === "enqueue" && queue)
        await queue.enqueue({
          kind: "sync",
          integration: integ,
          object: "customer",
          trigger: "webhook",
          records: { crm: [link.crm] },
          visibleAt: at,
        });
    } else {
      const res = await fetch(`${p.erp.url}/__sandbox/edit`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ doctype: "Customer", name: link.erp, values: { customer_name: value } }),
      });
      await res.arrayBuffer();
      pending.set(`${integ}|crm|${link.crm}`, { value, at, p, side: "crm", id: link.crm });
      finals.set(`${integ}|crm|${link.crm}`, { value, p, side: "crm", id: link.crm });
      if (trigger === "enqueue" && queue)
        await queue.enqueue({
          kind: "sync",
          integration: integ,
          object: "customer",
          trigger: "webhook",
          records: { erp: [link.erp] },
          visibleAt: at,
        });
    }
    lastEdit = Date.now();
    await sleep(Math.max(0, t0 + ((k + 1) * 1000) / EDIT_RATE - Date.now()));
  }
  stop = true;
  await watcher;
  const cpu1 = cpuSample(workers.pids, fleet);
  // every edit's last value must be in the other system itself, not only in the change log
  let verified = 0;
  for (const f of finals.values()) {
    if (f.side === "erp") {
      const res = await fetch(`${f.p.erp.url}/api/resource/Customer/${encodeURIComponent(f.id)}`, { headers: erpHeaders(f.p) });
      const d = (await res.json()) as { data?: { customer_name?: string } };
      if (d.data?.customer_name === f.value) verified++;
    } else {
      const res = await fetch(`${f.p.crm.url}/api/v1/Account/${f.id}`, { headers: crmHeaders(f.p) });
      const d = (await res.json()) as { name?: string };
      if (d.name === f.value) verified++;
    }
  }
  const result: EditResult = {
    edits: totalEdits,
    seen: lags.length,
    notSeen: pending.size,
    verifiedInTarget: verified,
    lagMs: { p50: Math.round(quantile(lags, 0.5)), p95: Math.round(quantile(lags, 0.95)), max: Math.round(Math.max(0, ...lags)) },
    cores: coresBetween(cpu0, cpu1),
    load: load(),
  };
  log(
    `edits: ${result.seen} seen, ${result.notSeen} not seen, ${verified}/${finals.size} final values in the target; lag p50 ${result.lagMs.p50} ms p95 ${result.lagMs.p95} ms`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------- main

function table(results: RoundResult[]): string {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const out = [
    `${N_INT} integrations × ${ACCOUNTS} accounts = ${N_INT * ACCOUNTS} records; worker --concurrency ${CONC}; edits ${EDIT_RATE}/s for ${EDIT_SECONDS} s; ${cpus().length} CPUs`,
    `${pad("workers", 7)} | ${pad("records/s", 9)} ${pad("s", 7)} | ${pad("raw create/s", 12)} ${pad("ratio", 5)} ${pad("raw pair/s", 10)} ${pad("ratio", 5)} | ${pad("lag p50 ms", 10)} ${pad("p95 ms", 7)} ${pad("seen", 9)} | ${pad("cores: workers", 14)} ${pad("sandboxes", 9)} ${pad("pg", 5)} | ${pad("load 1m", 11)} | ${pad("RSS MB/worker", 13)}`,
  ];
  for (const r of results) {
    const i = r.initial;
    const e = r.edits;
    out.push(
      `${pad(r.workers, 7)} | ${pad(i?.recordsPerSec ?? "-", 9)} ${pad(i?.seconds ?? "-", 7)} | ${pad(r.raw.createsPerSec, 12)} ${pad(r.ratioToRawCreates === null ? "-" : `${Math.round(r.ratioToRawCreates * 100)}%`, 5)} ${pad(r.raw.pairsPerSec, 10)} ${pad(r.ratioToRawPairs === null ? "-" : `${Math.round(r.ratioToRawPairs * 100)}%`, 5)} | ${pad(e?.lagMs.p50 ?? "-", 10)} ${pad(e?.lagMs.p95 ?? "-", 7)} ${pad(e ? `${e.seen}/${e.edits}` : "-", 9)} | ${pad(i?.cores.workers ?? "-", 14)} ${pad(i?.cores.sandboxes ?? "-", 9)} ${pad(i?.cores.postgres ?? "-", 5)} | ${pad(i ? `${i.loadStart[0]}→${i.loadEnd[0]}` : "-", 11)} | ${pad(Math.max(0, ...r.workerPeakRssMb), 13)}`,
    );
  }
  out.push(
    "raw over the same fleet, workers stopped (table: W client processes × concurrency lanes, the workers' shape):\n  " +
      results
        .map(
          (r) =>
            `W=${r.workers}: ${r.rawMax.processes} clients × ${r.rawMax.lanes} lanes: ${r.rawMax.createsPerSec} creates/s, ${r.rawMax.pairsPerSec} pairs/s (client cores ${r.rawMax.clientCoresCreates}, sandbox cores ${r.rawMax.sandboxCoresCreates}); lists ${r.raw.crmListRecordsPerSec} CRM / ${r.raw.erpListRecordsPerSec} ERP records/s`,
        )
        .join("\n  "),
  );
  for (const r of results) for (const n of r.notes) out.push(`note W=${r.workers}: ${n}`);
  return out.join("\n");
}

const startedAt = new Date().toISOString();
const results: RoundResult[] = [];
for (const W of WORKER_COUNTS) results.push(await round(W));
const report = {
  bench: "scale",
  startedAt,
  finishedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "",
  database: DB_URL.replace(/\/\/[^@]*@/, "//***@"),
  integrations: N_INT,
  accountsPerIntegration: ACCOUNTS,
  workerConcurrency: CONC,
  fleetProcesses: FLEET_PROCS,
  editRate: EDIT_RATE,
  editSeconds: EDIT_SECONDS,
  results,
};
mkdirSync(dirname(String(args.out)), { recursive: true });
writeFileSync(String(args.out), `${JSON.stringify(report, null, 2)}\n`);
if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else process.stdout.write(`${table(results)}\n`);
log(`wrote ${String(args.out)}`);
