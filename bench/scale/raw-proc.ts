/**
 * One client process of the scale benchmark's raw-speed ceiling (plain fetch, no engine), so the
 * raw load comes from as many processes as the workers are — one Node process cannot push a fleet
 * of 20 pairs on its own. Run by bench/scale/run.ts; prints one JSON line.
 *
 *   node bench/scale/raw-proc.ts '{"mode":"creates","pairs":[…],"lanes":4,"seconds":4,"label":"w1p0","startAt":1790000000000}'
 *
 * modes: creates — one ERPNext Customer per request; pairs — ERPNext create + EspoCRM PUT (the
 * engine's two calls per created record); lists — full scans of every given pair's CRM (pages of
 * 200) and ERP (pages of 500), one scan per pair at once.
 */
interface Pair {
  crm: { url: string; apiKey: string };
  erp: { url: string; apiKey: string; apiSecret: string };
}
interface Task {
  mode: "creates" | "pairs" | "lists";
  pairs: Pair[];
  lanes: number;
  seconds: number;
  label: string;
  startAt: number;
}

const task = JSON.parse(process.argv[2] ?? "{}") as Task;
const crmHeaders = (p: Pair) => ({ "X-Api-Key": p.crm.apiKey, "Content-Type": "application/json" });
const erpHeaders = (p: Pair) => ({ Authorization: `token ${p.erp.apiKey}:${p.erp.apiSecret}`, "Content-Type": "application/json" });

async function create(p: Pair, name: string): Promise<string | null> {
  const res = await fetch(`${p.erp.url}/api/resource/Customer`, {
    method: "POST",
    headers: erpHeaders(p),
    body: JSON.stringify({ customer_name: name, customer_type: "Company", customer_group: "Commercial", territory: "United Kingdom" }),
  });
  const doc = (await res.json()) as { data?: { name?: string } };
  return res.status === 200 ? (doc.data?.name ?? null) : null;
}

// ids to PUT into, before the clock starts
const ids = new Map<Pair, string[]>();
if (task.mode === "pairs")
  for (const p of task.pairs) {
    const res = await fetch(`${p.crm.url}/api/v1/Account?select=id&maxSize=200`, { headers: crmHeaders(p) });
    ids.set(
      p,
      ((await res.json()) as { list: Array<{ id: string }> }).list.map((r) => r.id),
    );
  }
await new Promise((r) => setTimeout(r, Math.max(0, task.startAt - Date.now())));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = 0;
let records = { crm: 0, erp: 0 };
if (task.mode === "lists") {
  const scan = async (page: (offset: number) => Promise<number>, size: number) => {
    let n = 0;
    for (let offset = 0; ; offset += size) {
      const got = await page(offset);
      n += got;
      if (got < size) return n;
    }
  };
  const fields = encodeURIComponent('["*"]');
  const order = encodeURIComponent("modified asc, name asc");
  const counts = await Promise.all(
    task.pairs.map(async (p) => ({
      crm: await scan(async (offset) => {
        const res = await fetch(`${p.crm.url}/api/v1/Account?maxSize=200&offset=${offset}&orderBy=modifiedAt&order=asc`, {
          headers: crmHeaders(p),
        });
        return ((await res.json()) as { list: unknown[] }).list.length;
      }, 200),
      erp: await scan(async (offset) => {
        const res = await fetch(
          `${p.erp.url}/api/resource/Customer?fields=${fields}&order_by=${order}&limit_start=${offset}&limit_page_length=500`,
          { headers: erpHeaders(p) },
        );
        return ((await res.json()) as { data: unknown[] }).data.length;
      }, 500),
    })),
  );
  records = counts.reduce((a, c) => ({ crm: a.crm + c.crm, erp: a.erp + c.erp }), { crm: 0, erp: 0 });
} else {
  const deadline = t0 + task.seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: task.lanes }, async (_, lane) => {
      const p = task.pairs[lane % task.pairs.length] as Pair;
      while (performance.now() < deadline) {
        const i = next++;
        try {
          const name = await create(p, `Raw ${task.label} #${i} Trading Ltd`);
          if (task.mode === "creates") {
            if (name) ok++;
            continue;
          }
          const list = ids.get(p) as string[];
          const u = await fetch(`${p.crm.url}/api/v1/Account/${list[i % list.length]}`, {
            method: "PUT",
            headers: crmHeaders(p),
            body: JSON.stringify({ sicCode: name }),
          });
          await u.arrayBuffer();
          if (name && u.status === 200) ok++;
        } catch {
          /* counted as not ok */
        }
      }
    }),
  );
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ ok, records, seconds, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
