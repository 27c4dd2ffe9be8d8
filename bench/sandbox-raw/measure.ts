/**
 * Raw HTTP throughput of the emulated systems, measured with plain fetch over loopback: the
 * ceiling any connector benchmark is compared against (a connector can only be slower).
 *
 *   const figures = await measureRaw({ crm: { url, apiKey }, erp: { url, apiKey, apiSecret } });
 *
 * Lists: full scans by offset at the maximum page size in the order an incremental sync uses
 * (EspoCRM `orderBy=modifiedAt asc`, maxSize 200 — its hard limit; ERPNext
 * `order_by=modified asc, name asc`, `fields=["*"]`, pages of 500 and 1000 — ERPNext has no hard
 * cap, these are the sizes a connector would pick). Creates: one new Account / Customer per
 * request, with 1, 4 and 16 requests in flight, each level for a fixed time.
 */
export interface RawTarget {
  crm: { url: string; apiKey: string };
  erp: { url: string; apiKey: string; apiSecret: string };
}

export interface ListFigure {
  system: "espocrm" | "erpnext";
  entity: string;
  pageSize: number;
  pages: number;
  records: number;
  seconds: number;
  pagesPerSec: number;
  recordsPerSec: number;
  p50Ms: number;
  p95Ms: number;
}

export interface CreateFigure {
  system: "espocrm" | "erpnext";
  entity: string;
  concurrency: number;
  creates: number;
  errors: number;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p95Ms: number;
}

export interface RawFigures {
  lists: ListFigure[];
  creates: CreateFigure[];
}

export interface MeasureOptions {
  /** Stop a list scan after this many pages (default: the whole table). */
  maxPages?: number;
  /** Seconds per create level (default 3). */
  createSeconds?: number;
  /** Create concurrency levels (default [1, 4, 16]). */
  concurrency?: number[];
  /** ERPNext page sizes (default [500, 1000]). */
  erpPageSizes?: number[];
  /** Run label used in created names, so repeated runs do not collide (default: time-based). */
  label?: string;
  /** Repeat every measurement this many times and keep the best (default 1): the ceiling, less machine noise. */
  rounds?: number;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url.replace(/\?.*/, "")} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

async function scan(
  system: ListFigure["system"],
  entity: string,
  pageSize: number,
  page: (offset: number) => Promise<number>,
  maxPages: number,
): Promise<ListFigure> {
  await page(0); // warm-up: first-call costs (JIT, caches) are not throughput
  const times: number[] = [];
  let records = 0;
  let pages = 0;
  const t0 = performance.now();
  for (let offset = 0; pages < maxPages; offset += pageSize) {
    const s = performance.now();
    const n = await page(offset);
    times.push(performance.now() - s);
    pages++;
    records += n;
    if (n < pageSize) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    system,
    entity,
    pageSize,
    pages,
    records,
    seconds: Math.round(seconds * 100) / 100,
    pagesPerSec: r1(pages / seconds),
    recordsPerSec: Math.round(records / seconds),
    p50Ms: r1(quantile(times, 0.5)),
    p95Ms: r1(quantile(times, 0.95)),
  };
}

async function createLoad(
  system: CreateFigure["system"],
  entity: string,
  concurrency: number,
  seconds: number,
  one: (i: number) => Promise<boolean>,
): Promise<CreateFigure> {
  const times: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const s = performance.now();
      const ok = await one(i).catch(() => false);
      times.push(performance.now() - s);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const creates = times.length - errors;
  return {
    system,
    entity,
    concurrency,
    creates,
    errors,
    seconds: Math.round(elapsed * 100) / 100,
    perSec: r1(creates / elapsed),
    p50Ms: r1(quantile(times, 0.5)),
    p95Ms: r1(quantile(times, 0.95)),
  };
}

/** List pages/s and records/s at the maximum page size, creates/s at several concurrencies. */
export async function measureRaw(target: RawTarget, opts: MeasureOptions = {}): Promise<RawFigures> {
  const maxPages = opts.maxPages ?? Number.POSITIVE_INFINITY;
  const createSeconds = opts.createSeconds ?? 3;
  const levels = opts.concurrency ?? [1, 4, 16];
  const erpSizes = opts.erpPageSizes ?? [500, 1000];
  const label = opts.label ?? Date.now().toString(36);
  const rounds = Math.max(1, Math.floor(opts.rounds ?? 1));
  const best = async <T extends { seconds: number }>(run: (round: number) => Promise<T>, score: (x: T) => number): Promise<T> => {
    let top: T | undefined;
    for (let r = 0; r < rounds; r++) {
      const x = await run(r);
      if (!top || score(x) > score(top)) top = x;
    }
    return top as T;
  };
  const crmHeaders = { "X-Api-Key": target.crm.apiKey };
  const erpHeaders = { Authorization: `token ${target.erp.apiKey}:${target.erp.apiSecret}` };

  const lists: ListFigure[] = [];
  const crmPage = async (offset: number) => {
    const url = `${target.crm.url}/api/v1/Account?maxSize=200&offset=${offset}&orderBy=modifiedAt&order=asc`;
    return ((await getJson(url, crmHeaders)) as { list: unknown[] }).list.length;
  };
  lists.push(
    await best(
      () => scan("espocrm", "Account", 200, crmPage, maxPages),
      (x) => x.recordsPerSec,
    ),
  );
  const fields = encodeURIComponent('["*"]');
  const order = encodeURIComponent("modified asc, name asc");
  for (const size of erpSizes) {
    const erpPage = async (offset: number) => {
      const url = `${target.erp.url}/api/resource/Customer?fields=${fields}&order_by=${order}&limit_start=${offset}&limit_page_length=${size}`;
      return ((await getJson(url, erpHeaders)) as { data: unknown[] }).data.length;
    };
    lists.push(
      await best(
        () => scan("erpnext", "Customer", size, erpPage, maxPages),
        (x) => x.recordsPerSec,
      ),
    );
  }

  const creates: CreateFigure[] = [];
  for (const c of levels) {
    creates.push(
      await best(
        (round) =>
          createLoad("espocrm", "Account", c, createSeconds, async (i) => {
            const res = await fetch(`${target.crm.url}/api/v1/Account`, {
              method: "POST",
              headers: { ...crmHeaders, "Content-Type": "application/json" },
              body: JSON.stringify({
                name: `Bench ${label} r${round} c${c} #${i} Trading Ltd`,
                emailAddress: `bench-${label}-${round}-${c}-${i}@example.com`,
                billingAddressCity: "Leeds",
                billingAddressCountry: "United Kingdom",
                type: "Customer",
              }),
            });
            await res.arrayBuffer();
            return res.status === 200;
          }),
        (x) => x.perSec,
      ),
    );
  }
  for (const c of levels) {
    creates.push(
      await best(
        (round) =>
          createLoad("erpnext", "Customer", c, createSeconds, async (i) => {
            const res = await fetch(`${target.erp.url}/api/resource/Customer`, {
              method: "POST",
              headers: { ...erpHeaders, "Content-Type": "application/json" },
              body: JSON.stringify({
                customer_name: `Bench ${label} r${round} c${c} #${i} Trading Ltd`,
                customer_type: "Company",
                customer_group: "Commercial",
                territory: "United Kingdom",
              }),
            });
            await res.arrayBuffer();
            return res.status === 200;
          }),
        (x) => x.perSec,
      ),
    );
  }
  return { lists, creates };
}

/** The figures as a text table. */
export function formatRaw(f: RawFigures): string {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const out: string[] = [];
  out.push("Lists (full scan, sync order)");
  out.push(
    `${"system".padEnd(9)} ${"entity".padEnd(9)} ${pad("page", 5)} ${pad("pages", 6)} ${pad("records", 8)} ${pad("s", 6)} ${pad("pages/s", 8)} ${pad("records/s", 10)} ${pad("p50 ms", 7)} ${pad("p95 ms", 7)}`,
  );
  for (const l of f.lists) {
    out.push(
      `${l.system.padEnd(9)} ${l.entity.padEnd(9)} ${pad(l.pageSize, 5)} ${pad(l.pages, 6)} ${pad(l.records, 8)} ${pad(l.seconds, 6)} ${pad(l.pagesPerSec, 8)} ${pad(l.recordsPerSec, 10)} ${pad(l.p50Ms, 7)} ${pad(l.p95Ms, 7)}`,
    );
  }
  out.push("");
  out.push("Creates (one record per request)");
  out.push(
    `${"system".padEnd(9)} ${"entity".padEnd(9)} ${pad("conc", 5)} ${pad("creates", 8)} ${pad("errors", 6)} ${pad("s", 6)} ${pad("creates/s", 10)} ${pad("p50 ms", 7)} ${pad("p95 ms", 7)}`,
  );
  for (const c of f.creates) {
    out.push(
      `${c.system.padEnd(9)} ${c.entity.padEnd(9)} ${pad(c.concurrency, 5)} ${pad(c.creates, 8)} ${pad(c.errors, 6)} ${pad(c.seconds, 6)} ${pad(c.perSec, 10)} ${pad(c.p50Ms, 7)} ${pad(c.p95Ms, 7)}`,
    );
  }
  return out.join("\n");
}
