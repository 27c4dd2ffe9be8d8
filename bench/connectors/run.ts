/**
 * Connector benchmark (npm run bench:connectors): for each sandbox, read N records (default
 * 50 000) and create M (default 5 000), through the connector and with plain fetch against the
 * same server in the same run, and print records/s, API calls per record and the ratio.
 *
 *   npm run bench:connectors                  # 50k reads, 5k creates per system
 *   BENCH_READ=10000 BENCH_CREATE=1000 npm run bench:connectors
 *   npm run bench:connectors -- --json        # figures as JSON on stdout
 *
 * "raw" = the cheapest full read with plain fetch: offset paging at the system's maximum page
 * size (EspoCRM 200; ERPNext has none, both sides use 1000), JSON parsed, nothing else. The
 * connector does what the engine needs on top: verified paging (one row of overlap per page),
 * record conversion (UTC timestamps, versions, authors), classification and bookkeeping.
 * Creates: CREATE each side, the same bodies and concurrency, raw and connector alternating.
 * The sandboxes run in a child process (bench/connectors/serve.ts); raw and connector runs
 * alternate for BENCH_ROUNDS (5) rounds and each keeps its best, so warm-up hits both alike; the
 * client process's CPU time of the best run is printed too (the connector's own cost, which the
 * shared machine's noise blurs less than wall time).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ErpNextConnector } from "../../src/connectors/erpnext/index.ts";
import { EspoCrmConnector } from "../../src/connectors/espocrm/index.ts";
import type { Connector } from "../../src/connectors/types.ts";

const READ = Number(process.env.BENCH_READ ?? 50_000);
const CREATE = Number(process.env.BENCH_CREATE ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const JSON_OUT = process.argv.includes("--json");
const ERP_PAGE = 1000;

interface Figure {
  system: string;
  op: "read" | "create";
  records: number;
  seconds: number;
  /** CPU time of this (client) process during the best run, ms: the connector's own cost. */
  clientCpuMs?: number;
  /** Connector speed / raw speed, median over rounds of adjacent (raw, connector) runs. */
  pairedRatio?: number;
  perSecond: number;
  calls: number;
  callsPerRecord: number;
}

interface Servers {
  espocrm: { url: string; apiUrl: string; apiKey: string };
  erpnext: { url: string; apiKey: string; apiSecret: string; timezone: string };
}

function figure(system: string, op: Figure["op"], records: number, ms: number, calls: number, cpuMs?: number): Figure {
  return {
    system,
    op,
    records,
    seconds: Number((ms / 1000).toFixed(3)),
    ...(cpuMs === undefined ? {} : { clientCpuMs: Math.round(cpuMs) }),
    perSecond: Math.round(records / (ms / 1000)),
    calls: Math.round(calls),
    callsPerRecord: Number((calls / Math.max(1, records)).toFixed(4)),
  };
}

function log(line: string): void {
  if (!JSON_OUT) process.stdout.write(`${line}\n`);
}

async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await fn(i);
      }
    }),
  );
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

type Run = [records: number, ms: number, cpuMs: number];

async function measured(fn: () => Promise<number>): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const [n, ms] = await timed(fn);
  const cpu = process.cpuUsage(cpu0);
  return [n, ms, (cpu.user + cpu.system) / 1000];
}

/** Alternate raw and connector runs; keep each one's best (records, wall ms, client CPU ms). */
async function alternate(raw: () => Promise<number>, conn: () => Promise<number>): Promise<{ raw: Run; conn: Run; pairedRatio: number }> {
  let bestRaw: Run = [0, Number.POSITIVE_INFINITY, 0];
  let bestConn: Run = [0, Number.POSITIVE_INFINITY, 0];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Adjacent runs see about the same machine load; the order flips each round.
    const [a, b] =
      r % 2 === 0 ? [await measured(raw), await measured(conn)] : (([y, x]) => [x, y])([await measured(conn), await measured(raw)]);
    if (a[1] < bestRaw[1]) bestRaw = a;
    if (b[1] < bestConn[1]) bestConn = b;
    ratios.push(a[1] / b[1]);
  }
  ratios.sort((x, y) => x - y);
  return { raw: bestRaw, conn: bestConn, pairedRatio: ratios[Math.floor(ratios.length / 2)] };
}

async function connectorRead(c: Connector, entity: string, pageSize: number): Promise<number> {
  let n = 0;
  for await (const page of c.readChanges(entity, { pageSize })) n += page.records.length;
  return n;
}

/** CREATE creates each side, in six rounds whose order alternates (the servers' cost grows with the tables). */
async function createRounds(
  c: Connector,
  raw: (r: number, i: number) => Promise<void>,
  viaConnector: (r: number, i: number) => Promise<unknown>,
): Promise<{ n: number; rawMs: number; connMs: number; calls: number }> {
  const part = Math.ceil(CREATE / 6);
  let rawMs = 0;
  let connMs = 0;
  let calls = 0;
  // Tables grow as we create: whoever goes second pays for the other's rows, so the order alternates.
  for (let r = 0; r < 6; r++) {
    const rawRun = async () => {
      rawMs += (await timed(() => pool(part, CONCURRENCY, (i) => raw(r, i))))[1];
    };
    const connRun = async () => {
      const before = c.stats().calls;
      connMs += (await timed(() => pool(part, CONCURRENCY, (i) => viaConnector(r, i))))[1];
      calls += c.stats().calls - before;
    };
    if (r % 2 === 0) {
      await rawRun();
      await connRun();
    } else {
      await connRun();
      await rawRun();
    }
  }
  return { n: part * 6, rawMs, connMs, calls };
}

async function benchEspo(s: Servers["espocrm"]): Promise<Figure[]> {
  const headers = { "X-Api-Key": s.apiKey, "X-No-Total": "true" };
  const c = new EspoCrmConnector({ url: s.url, credentials: { apiKey: s.apiKey }, options: { concurrency: CONCURRENCY } });
  await c.whoAmI();
  const rawRead = async () => {
    let n = 0;
    for (let offset = 0; ; offset += 200) {
      const res = await fetch(`${s.apiUrl}/Account?maxSize=200&offset=${offset}&orderBy=modifiedAt&order=asc`, { headers });
      const body = (await res.json()) as { list: unknown[]; total: number };
      n += body.list.length;
      if (body.list.length < 200 || body.total === -2) return n;
    }
  };
  const calls0 = c.stats().calls;
  const reads = await alternate(rawRead, () => connectorRead(c, "Account", 200));
  const readCalls = (c.stats().calls - calls0) / ROUNDS;
  const cr = await createRounds(
    c,
    async (r, i) => {
      const res = await fetch(`${s.apiUrl}/Account`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ name: `Raw New ${r}-${i}`, type: "Customer" }),
      });
      await res.arrayBuffer();
    },
    (r, i) => c.create("Account", { name: `Conn New ${r}-${i}`, type: "Customer" }),
  );
  await c.close();
  return [
    figure("espocrm raw", "read", reads.raw[0], reads.raw[1], Math.ceil(reads.raw[0] / 200), reads.raw[2]),
    {
      ...figure("espocrm connector", "read", reads.conn[0], reads.conn[1], readCalls, reads.conn[2]),
      pairedRatio: Number(reads.pairedRatio.toFixed(3)),
    },
    figure("espocrm raw", "create", cr.n, cr.rawMs, cr.n),
    figure("espocrm connector", "create", cr.n, cr.connMs, cr.calls),
  ];
}

async function benchErp(s: Servers["erpnext"]): Promise<Figure[]> {
  const auth = { Authorization: `token ${s.apiKey}:${s.apiSecret}` };
  const c = new ErpNextConnector({
    url: s.url,
    credentials: { apiKey: s.apiKey, apiSecret: s.apiSecret },
    options: { timezone: s.timezone, concurrency: CONCURRENCY, pageSize: ERP_PAGE },
  });
  await c.whoAmI();
  const rawRead = async () => {
    let n = 0;
    for (let start = 0; ; start += ERP_PAGE) {
      const q = new URLSearchParams({
        fields: '["*"]',
        order_by: "modified asc, name asc",
        limit_start: String(start),
        limit_page_length: String(ERP_PAGE),
      });
      const res = await fetch(`${s.url}/api/resource/Customer?${q}`, { headers: auth });
      const body = (await res.json()) as { data: unknown[] };
      n += body.data.length;
      if (body.data.length < ERP_PAGE) return n;
    }
  };
  const calls0 = c.stats().calls;
  const reads = await alternate(rawRead, () => connectorRead(c, "Customer", ERP_PAGE));
  const readCalls = (c.stats().calls - calls0) / ROUNDS;
  const cr = await createRounds(
    c,
    async (r, i) => {
      const res = await fetch(`${s.url}/api/resource/Customer`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ customer_name: `Raw New ${r}-${i}`, customer_type: "Company" }),
      });
      await res.arrayBuffer();
    },
    (r, i) => c.create("Customer", { customer_name: `Conn New ${r}-${i}`, customer_type: "Company" }),
  );
  await c.close();
  return [
    figure("erpnext raw", "read", reads.raw[0], reads.raw[1], Math.floor(reads.raw[0] / ERP_PAGE) + 1, reads.raw[2]),
    {
      ...figure("erpnext connector", "read", reads.conn[0], reads.conn[1], readCalls, reads.conn[2]),
      pairedRatio: Number(reads.pairedRatio.toFixed(3)),
    },
    figure("erpnext raw", "create", cr.n, cr.rawMs, cr.n),
    figure("erpnext connector", "create", cr.n, cr.connMs, cr.calls),
  ];
}

function ratioOf(figs: Figure[], f: Figure): number | undefined {
  const raw = figs.find((g) => g.op === f.op && g.system === f.system.replace("connector", "raw"));
  return raw && raw !== f ? f.perSecond / raw.perSecond : undefined;
}

log(`starting both sandboxes and seeding ${READ} records each …`);
const child = spawn(process.execPath, [new URL("./serve.ts", import.meta.url).pathname], {
  env: { ...process.env, BENCH_READ: String(READ) },
  stdio: ["pipe", "pipe", "inherit"],
});
const first = await new Promise<string>((resolve, reject) => {
  const rl = createInterface({ input: child.stdout });
  rl.once("line", resolve);
  child.once("exit", (code) => reject(new Error(`sandbox process exited with ${code}`)));
});
const servers = JSON.parse(first) as Servers;
let figs: Figure[];
try {
  figs = [...(await benchEspo(servers.espocrm)), ...(await benchErp(servers.erpnext))];
} finally {
  child.stdin.end();
}

log("");
log(
  `reads: best of ${ROUNDS} alternating rounds; creates: ${Math.ceil(CREATE / 6) * 6} per side in 6 rounds, order alternating, at concurrency ${CONCURRENCY}`,
);
log("system              op       records    seconds   records/s  calls/record  client CPU ms  vs raw (best/best, median of pairs)");
for (const f of figs) {
  const r = ratioOf(figs, f);
  log(
    `${f.system.padEnd(20)}${f.op.padEnd(9)}${String(f.records).padStart(7)}${f.seconds.toFixed(2).padStart(11)}${String(f.perSecond).padStart(12)}${f.callsPerRecord.toFixed(4).padStart(14)}${(f.clientCpuMs === undefined ? "" : String(f.clientCpuMs)).padStart(15)}  ${r === undefined ? "" : `${(r * 100).toFixed(1)}%`}${f.pairedRatio === undefined ? "" : `, ${(f.pairedRatio * 100).toFixed(1)}%`}`,
  );
}
if (JSON_OUT) {
  const ratios = Object.fromEntries(
    figs.filter((f) => f.system.endsWith("connector")).map((f) => [`${f.system} ${f.op}`, Number((ratioOf(figs, f) ?? 0).toFixed(3))]),
  );
  process.stdout.write(
    `${JSON.stringify({ read: READ, create: CREATE, concurrency: CONCURRENCY, rounds: ROUNDS, figures: figs, ratioToRaw: ratios }, null, 2)}\n`,
  );
}
