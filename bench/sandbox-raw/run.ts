/**
 * Raw sandbox benchmark: how fast the emulated EspoCRM and ERPNext answer plain HTTP, with no
 * connector in between. Later benchmarks (connectors, sync) compare against these figures.
 *
 *   npm run bench:sandbox-raw                       # 50,000 accounts / customers per system
 *   node bench/sandbox-raw/run.ts --records 5000 --create-seconds 1 --rounds 1
 *   node bench/sandbox-raw/run.ts --in-process      # servers in this process (client and servers share one thread)
 *
 * By default the sandboxes run in a child process (`accord sandbox up --scope accounts`), so the
 * client's own work does not slow the servers down. Prints a table and writes
 * bench/results/sandbox-raw.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatRaw, measureRaw, type RawFigures, type RawTarget } from "./measure.ts";

export type { CreateFigure, ListFigure, MeasureOptions, RawFigures, RawTarget } from "./measure.ts";
export { formatRaw, measureRaw } from "./measure.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");

/** Companies to generate so that each system gets about `records` account records (90% per side + 5% duplicates). */
export function companiesForRecords(records: number): number {
  return Math.ceil(records / (0.9 * 1.05));
}

interface Started {
  target: RawTarget;
  seeded: { crm: Record<string, number>; erp: Record<string, number> };
  startMs: number;
  stop(): Promise<void>;
}

async function startChild(companies: number, seed: number): Promise<Started> {
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
      String(companies),
      "--seed",
      String(seed),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const info = await new Promise<{ crm: RawTarget["crm"]; erp: RawTarget["erp"]; counts: Started["seeded"]; startMs: number }>(
    (ok, fail) => {
      let out = "";
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const nl = out.indexOf("\n");
        if (nl >= 0) ok(JSON.parse(out.slice(0, nl)));
      });
      child.on("exit", (code) => fail(new Error(`accord sandbox up exited (${code}) before printing its URLs`)));
    },
  );
  return {
    target: { crm: info.crm, erp: info.erp },
    seeded: info.counts,
    startMs: info.startMs,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function startInProcess(companies: number, seed: number): Promise<Started> {
  const { startSandboxes } = await import("../../src/sandbox/index.ts");
  const t0 = performance.now();
  const sb = await startSandboxes({ accounts: companies, seed, scope: "accounts" });
  return { target: sb, seeded: sb.counts, startMs: Math.round(performance.now() - t0), stop: () => sb.close() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "50000" },
      seed: { type: "string", default: "1" },
      "create-seconds": { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      "max-pages": { type: "string" },
      "in-process": { type: "boolean", default: false },
      out: { type: "string", default: resolve(repo, "bench/results/sandbox-raw.json") },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "node bench/sandbox-raw/run.ts [--records 50000] [--seed 1] [--create-seconds 3] [--rounds 3] [--max-pages N] [--in-process] [--out FILE] [--json]\n",
    );
    return;
  }
  const records = Number(values.records);
  const companies = companiesForRecords(records);
  const seed = Number(values.seed);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(
    `Starting both sandboxes (${values["in-process"] ? "in this process" : "child process"}) with ~${records} accounts each (${companies} companies, seed ${seed})…`,
  );
  const loadBefore = loadavg();
  const started = values["in-process"] ? await startInProcess(companies, seed) : await startChild(companies, seed);
  log(
    `Up and seeded in ${started.startMs} ms: CRM Account ${started.seeded.crm.Account}, ERP Customer ${started.seeded.erp.Customer}. Measuring…`,
  );
  let figures: RawFigures;
  try {
    figures = await measureRaw(started.target, {
      createSeconds: Number(values["create-seconds"]),
      maxPages: values["max-pages"] ? Number(values["max-pages"]) : undefined,
      rounds: Number(values.rounds),
    });
  } finally {
    await started.stop();
  }
  const result = {
    bench: "sandbox-raw",
    when: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    loadAvgBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
    loadAvgAfter: loadavg().map((x) => Math.round(x * 100) / 100),
    servers: values["in-process"] ? "in-process (shares the client's thread)" : "child process (accord sandbox up)",
    records,
    companies,
    seed,
    rounds: Number(values.rounds),
    seeded: started.seeded,
    startAndSeedMs: started.startMs,
    notes: [
      "EspoCRM list page = 200 (its hard maximum, recordListMaxSizeLimit); ERPNext has no hard cap: 500 and 1000 measured.",
      'Lists: full scan by offset in sync order (EspoCRM modifiedAt asc; ERPNext modified asc, name asc with fields=["*"]).',
      "Creates: EspoCRM POST Account (duplicate check on), ERPNext POST Customer; fixed time per concurrency level.",
      `Each figure is the best of ${values.rounds} rounds (the ceiling; the machine's load average is recorded above).`,
    ],
    ...figures,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`\n${formatRaw(figures)}\n\nWritten to ${values.out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench:sandbox-raw failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
