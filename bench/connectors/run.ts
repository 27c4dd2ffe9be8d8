/**
 * Connector benchmark (npm run bench:connectors): for each sandbox, read N records (default
 * 50 000) and create M (default 5 000), through the connector and with plain fetch against the
 * same server in the same run, and print records/s, API calls per record and the ratio.
 *
 *   npm run bench:connectors                  # 50k reads, 5k creates per system
 *   BENCH_READ=10000 BENCH_CREATE=1000 npm run bench:connectors
 *   npm run bench:connectors -- --json        # figures as JSON on stdout
 *
 * "raw" = the cheapest correct full read with plain fetch: offset paging at the system's
 * maximum page size (EspoCRM 200, ERPNext the connector's 1000), JSON parsed, nothing else.
 * The connector does what the engine needs on top: keyset paging on (modified, id), record
 * conversion (UTC timestamps, versions, authors), error classification and retry bookkeeping.
 * Both sandboxes run in this process, so server and client share one CPU in both measurements.
 */
import { ErpNextConnector } from "../../src/connectors/erpnext/index.ts";
import { EspoCrmConnector } from "../../src/connectors/espocrm/index.ts";
import type { Connector } from "../../src/connectors/types.ts";
import { startErpNextSandbox } from "../../src/sandbox/erpnext/index.ts";
import { startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";

const READ = Number(process.env.BENCH_READ ?? 50_000);
const CREATE = Number(process.env.BENCH_CREATE ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const JSON_OUT = process.argv.includes("--json");

interface Figure {
  system: string;
  op: "read" | "create";
  records: number;
  seconds: number;
  perSecond: number;
  calls: number;
  callsPerRecord: number;
}

function figure(system: string, op: Figure["op"], records: number, ms: number, calls: number): Figure {
  return {
    system,
    op,
    records,
    seconds: ms / 1000,
    perSecond: Math.round(records / (ms / 1000)),
    calls,
    callsPerRecord: Number((calls / Math.max(1, records)).toFixed(4)),
  };
}

async function pool<T>(n: number, conc: number, fn: (i: number) => Promise<T>): Promise<void> {
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

async function connectorRead(c: Connector, entity: string, pageSize: number): Promise<number> {
  let n = 0;
  for await (const page of c.readChanges(entity, { pageSize })) n += page.records.length;
  return n;
}

function log(line: string): void {
  if (!JSON_OUT) process.stdout.write(`${line}\n`);
}

async function benchEspo(): Promise<Figure[]> {
  const sb = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
  try {
    log(`espocrm: seeding ${READ} accounts …`);
    for (let i = 0; i < READ; i += 5000) {
      const rows = Array.from({ length: Math.min(5000, READ - i) }, (_, j) => ({
        name: `Bench Account ${i + j}`,
        type: "Customer",
        website: `https://acct${i + j}.example`,
        billingAddressCity: "Berlin",
        billingAddressCountry: "Germany",
        description: "Seeded for the connector benchmark.",
      }));
      sb.control.seed({ Account: rows });
    }
    const headers = { "X-Api-Key": sb.apiKey, "X-No-Total": "true" };
    // raw: offset paging at 200, modifiedAt asc
    const [rawN, rawMs] = await timed(async () => {
      let n = 0;
      for (let offset = 0; ; offset += 200) {
        const res = await fetch(`${sb.apiUrl}/Account?maxSize=200&offset=${offset}&orderBy=modifiedAt&order=asc`, { headers });
        const body = (await res.json()) as { list: unknown[]; total: number };
        n += body.list.length;
        if (body.list.length < 200 || body.total === -2) return n;
      }
    });
    const rawCalls = Math.ceil(rawN / 200);
    const c = new EspoCrmConnector({ url: sb.url, credentials: { apiKey: sb.apiKey }, options: { concurrency: CONCURRENCY } });
    await c.whoAmI();
    const calls0 = c.stats().calls;
    const [n, ms] = await timed(() => connectorRead(c, "Account", 200));
    const readCalls = c.stats().calls - calls0;
    // creates
    const [, rawCreateMs] = await timed(() =>
      pool(CREATE, CONCURRENCY, async (i) => {
        const res = await fetch(`${sb.apiUrl}/Account`, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json", "X-Skip-Duplicate-Check": "true" },
          body: JSON.stringify({ name: `Raw New ${i}`, type: "Customer" }),
        });
        await res.arrayBuffer();
      }),
    );
    const calls1 = c.stats().calls;
    const [, createMs] = await timed(() =>
      pool(CREATE, CONCURRENCY, (i) => c.create("Account", { name: `Conn New ${i}`, type: "Customer" })),
    );
    const createCalls = c.stats().calls - calls1;
    await c.close();
    return [
      figure("espocrm raw", "read", rawN, rawMs, rawCalls),
      figure("espocrm connector", "read", n, ms, readCalls),
      figure("espocrm raw", "create", CREATE, rawCreateMs, CREATE),
      figure("espocrm connector", "create", CREATE, createMs, createCalls),
    ];
  } finally {
    await sb.close();
  }
}

async function benchErp(): Promise<Figure[]> {
  const sb = await startErpNextSandbox({ timezone: "Europe/Berlin" });
  const page = 1000;
  try {
    log(`erpnext: seeding ${READ} customers …`);
    for (let i = 0; i < READ; i += 5000) {
      const rows = Array.from({ length: Math.min(5000, READ - i) }, (_, j) => ({
        customer_name: `Bench Customer ${i + j}`,
        customer_type: "Company",
        website: `https://cust${i + j}.example`,
      }));
      sb.seed({ Customer: rows });
    }
    const auth = { Authorization: `token ${sb.apiKey}:${sb.apiSecret}` };
    const [rawN, rawMs] = await timed(async () => {
      let n = 0;
      for (let start = 0; ; start += page) {
        const q = new URLSearchParams({
          fields: '["*"]',
          order_by: "modified asc, name asc",
          limit_start: String(start),
          limit_page_length: String(page),
        });
        const res = await fetch(`${sb.url}/api/resource/Customer?${q}`, { headers: auth });
        const body = (await res.json()) as { data: unknown[] };
        n += body.data.length;
        if (body.data.length < page) return n;
      }
    });
    const rawCalls = Math.floor(rawN / page) + 1;
    const c = new ErpNextConnector({
      url: sb.url,
      credentials: { apiKey: sb.apiKey, apiSecret: sb.apiSecret },
      options: { timezone: sb.timezone, concurrency: CONCURRENCY, pageSize: page },
    });
    await c.whoAmI();
    const calls0 = c.stats().calls;
    const [n, ms] = await timed(() => connectorRead(c, "Customer", page));
    const readCalls = c.stats().calls - calls0;
    const [, rawCreateMs] = await timed(() =>
      pool(CREATE, CONCURRENCY, async (i) => {
        const res = await fetch(`${sb.url}/api/resource/Customer`, {
          method: "POST",
          headers: { ...auth, "Content-Type": "application/json" },
          body: JSON.stringify({ customer_name: `Raw New ${i}`, customer_type: "Company" }),
        });
        await res.arrayBuffer();
      }),
    );
    const calls1 = c.stats().calls;
    const [, createMs] = await timed(() =>
      pool(CREATE, CONCURRENCY, (i) => c.create("Customer", { customer_name: `Conn New ${i}`, customer_type: "Company" })),
    );
    const createCalls = c.stats().calls - calls1;
    await c.close();
    return [
      figure("erpnext raw", "read", rawN, rawMs, rawCalls),
      figure("erpnext connector", "read", n, ms, readCalls),
      figure("erpnext raw", "create", CREATE, rawCreateMs, CREATE),
      figure("erpnext connector", "create", CREATE, createMs, createCalls),
    ];
  } finally {
    await sb.close();
  }
}

function table(figs: Figure[]): void {
  log("");
  log("system              op       records    seconds   records/s  calls/record  vs raw");
  for (const f of figs) {
    const raw = figs.find((g) => g.op === f.op && g.system === f.system.replace("connector", "raw"));
    const ratio = raw && f !== raw ? `${((f.perSecond / raw.perSecond) * 100).toFixed(1)}%` : "";
    log(
      `${f.system.padEnd(20)}${f.op.padEnd(9)}${String(f.records).padStart(7)}${f.seconds.toFixed(2).padStart(11)}${String(f.perSecond).padStart(12)}${f.callsPerRecord.toFixed(4).padStart(14)}  ${ratio}`,
    );
  }
}

const figs = [...(await benchEspo()), ...(await benchErp())];
table(figs);
if (JSON_OUT) {
  const ratios = Object.fromEntries(
    figs
      .filter((f) => f.system.endsWith("connector"))
      .map((f) => {
        const raw = figs.find((g) => g.op === f.op && g.system === f.system.replace("connector", "raw"));
        return [`${f.system} ${f.op}`, raw ? Number((f.perSecond / raw.perSecond).toFixed(3)) : null];
      }),
  );
  process.stdout.write(
    `${JSON.stringify({ read: READ, create: CREATE, concurrency: CONCURRENCY, figures: figs, ratioToRaw: ratios }, null, 2)}\n`,
  );
}
