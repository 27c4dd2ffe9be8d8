/**
 * Step 8 "done when": a simulated ERPNext upgrade that renames the stock field is caught before any
 * wrong write — against the sandboxes over real HTTP, with the example's own objects
 * (examples/espocrm-erpnext.yaml: product, price, stock as a Bin aggregate summed per item onto the CRM
 * Product's cStockQty, customer) and monitor settings from the file's `monitor:` section:
 *
 *  - Bin.actual_qty renamed to actual_quantity → the drift check pauses the stock mapping (the CRM keeps
 *    its last good figure: never null, never 0), price and customer keep syncing, the owner's test
 *    webhook receiver gets ONE alert naming the likely new name; `accord drift` reports the rename;
 *  - the stale-value guard variant: the upgrade adds a new field and the old one keeps its old numbers
 *    while the Bin rows keep changing → no drift finding, but a stale-value alert from the file's keyFields.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import { loadMonitorSettings } from "../../src/monitor/settings.ts";
import { type Runtime, startRuntime } from "../../src/runtime/runtime.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { testStoreOptions, testStoreTarget } from "../support/store.ts";

const EXAMPLE = resolve(import.meta.dirname, "../../examples/espocrm-erpnext.yaml");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
type Rec = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The example with the owner's webhook pointing at the test receiver and a real `monitor:` section. */
function integrationFile(dir: string, hookUrl: string, monitor: string): string {
  const text = readFileSync(EXAMPLE, "utf8").replace("https://chat.acme.example/hooks/accord", `${hookUrl}/owner`);
  const file = join(dir, "acme.yaml");
  writeFileSync(file, `${text}\n${monitor}`);
  return file;
}

interface Setup {
  sb: Sandboxes;
  opened: OpenedContext;
  rt: Runtime;
  hook: Server;
  received: Array<{ path: string; text: string }>;
  file: string;
  dir: string;
  env: Record<string, string>;
  /** The CLI children's store (test/support/store.ts). */
  storeEnv: Record<string, string>;
  productIds: Record<string, string>;
  accountId: string;
}

async function setup(monitor: string): Promise<Setup> {
  const received: Setup["received"] = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", text: (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { text: string }).text });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
  const a = hook.address();
  const hookUrl = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;

  const sb = await startSandboxes({ accounts: 0, scope: "accounts", webhookDelayMs: 0 });
  const erpControl = async (path: string, body: unknown) => {
    const res = await fetch(`${sb.erp.url}/__sandbox/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`ERP control ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Rec;
  };
  await erpControl("seed", {
    Customer: [{ name: "Drift Kunde GmbH", customer_name: "Drift Kunde GmbH", customer_type: "Company" }],
    Item: ["ALPHA", "BETA"].map((c) => ({
      name: c,
      item_code: c,
      item_name: `Item ${c}`,
      item_group: "Products",
      stock_uom: "Nos",
      is_stock_item: 1,
    })),
  });
  for (const [item, rate] of [
    ["ALPHA", 100],
    ["BETA", 250],
  ] as const)
    await erpControl("events", { kind: "price-changed", item, rate });
  await erpControl("events", { kind: "stock-moved", item: "ALPHA", warehouse: "Stores - ADG", qty: 10 });
  await erpControl("events", { kind: "stock-moved", item: "ALPHA", warehouse: "Finished Goods - ADG", qty: 5 });
  await erpControl("events", { kind: "stock-moved", item: "BETA", warehouse: "Stores - ADG", qty: 3 });
  const crm = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sb.crm.apiUrl}/${path}`, {
      method,
      headers: { "X-Api-Key": sb.crm.apiKey, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`CRM ${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Rec;
  };
  const accountId = String(
    (await crm("POST", "Account", { name: "Drift Kunde GmbH", cAccordId: "Drift Kunde GmbH", type: "Customer" })).id,
  );
  const productIds: Record<string, string> = {};
  for (const code of ["ALPHA", "BETA"])
    productIds[code] = String((await crm("POST", "Product", { name: `Item ${code}`, cErpItemCode: code })).id);

  const dir = mkdtempSync(join(tmpdir(), "accord-drift-stock-"));
  const file = integrationFile(dir, hookUrl, monitor);
  const env = {
    ESPOCRM_URL: sb.crm.url,
    ESPOCRM_API_KEY: sb.crm.apiKey,
    ERPNEXT_URL: sb.erp.url,
    ERPNEXT_API_KEY: sb.erp.apiKey,
    ERPNEXT_API_SECRET: sb.erp.apiSecret,
  };
  const opened = await openContextFromFile(file, { env, store: await testStoreOptions() });
  const rt = await startRuntime({
    ctx: opened.ctx,
    settings: loadMonitorSettings(file), // the file's own `monitor:` section
    http: false,
    pollMs: 60_000,
    driftEveryMs: 600_000,
    healthEveryMs: 600_000,
    probeEveryMs: 600_000,
    env,
  });
  await rt.idle();
  const storeEnv = (await testStoreTarget(join(dir, "home", "accord.db"))).env;
  return { sb, opened, rt, hook, received, file, dir, env, storeEnv, productIds, accountId };
}

async function teardown(s: Setup | undefined): Promise<void> {
  await s?.rt?.stop();
  await s?.opened?.close();
  await s?.sb?.close();
  await new Promise<void>((r) => (s?.hook ? s.hook.close(() => r()) : r()));
}

async function crmGet(s: Setup, path: string): Promise<Rec> {
  const res = await fetch(`${s.sb.crm.apiUrl}/${path}`, { headers: { "X-Api-Key": s.sb.crm.apiKey } });
  return (await res.json()) as Rec;
}
async function erpControl(s: Setup, path: string, body: unknown): Promise<Rec> {
  const res = await fetch(`${s.sb.erp.url}/__sandbox/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`ERP control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Rec;
}
async function runObjects(s: Setup, objects: string[]): Promise<void> {
  for (const o of objects) s.rt.enqueue(o, "manual");
  await s.rt.idle();
}

function accord(s: Setup, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ACCORD_HOME: join(s.dir, "home"), ...s.storeEnv, ...s.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += String(d);
    });
    p.stderr.on("data", (d) => {
      err += String(d);
    });
    p.on("close", (code) => done({ code, out, err }));
  });
}

describe("an ERPNext upgrade renames the stock field (Bin.actual_qty → actual_quantity)", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup("monitor:\n  drift: pause\n  objects:\n    stock: { drift: pause, freshness: 10m }\n");
  }, 60_000);
  afterAll(() => teardown(s));

  it("the stock mapping pauses before any wrong write, price and customer keep syncing, the owner hears once", async () => {
    expect(s.rt.settings.file).toBe(`${s.file}#monitor`);
    // synced once: stock summed over the warehouses
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
    expect((await crmGet(s, `Product/${s.productIds.BETA}`)).cStockQty).toBe(3);
    expect(await s.opened.ctx.store.latestSchemaSnapshot("acme", "erp")).toBeDefined();

    const up = await erpControl(s, "upgrade", { doctype: "Bin", renameField: { from: "actual_qty", to: "actual_quantity" } });
    expect(JSON.stringify(up.changes)).toMatch(/actual_quantity/);
    // the world moves on: stock moves, a price and a customer change in the ERP
    await erpControl(s, "events", { kind: "stock-moved", item: "ALPHA", warehouse: "Stores - ADG", qty: 4 });
    await erpControl(s, "events", { kind: "price-changed", item: "ALPHA", rate: 120 });
    await erpControl(s, "edit", { doctype: "Customer", name: "Drift Kunde GmbH", values: { tax_id: "DE-999" } });

    const report = await s.rt.checkDrift();
    const f = report.findings.find((x) => x.kind === "field-removed" && x.object === "stock");
    expect(f).toMatchObject({ side: "erp", entity: "Bin", field: "actual_qty", suggestion: "actual_quantity", action: "pause-mapping" });
    expect(Object.keys(report.pauses.stock?.fields ?? {})).toEqual(["cStockQty|actual_qty"]);
    expect(report.pauses.stock?.whole).toBeUndefined();
    expect(Object.keys(report.pauses).filter((o) => o !== "stock")).toEqual([]);

    await runObjects(s, ["stock", "price", "customer"]);
    // the rest keeps syncing
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cErpPrice).toBe(120);
    expect((await crmGet(s, `Account/${s.accountId}`)).cTaxId).toBe("DE-999");
    // the paused mapping: the CRM keeps the last good figures, never null or 0
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
    expect((await crmGet(s, `Product/${s.productIds.BETA}`)).cStockQty).toBe(3);
    for (const code of ["ALPHA", "BETA"]) {
      const hist = await s.opened.ctx.store.history("acme", "stock", s.productIds[code]);
      const writes = hist.filter((h) => h.field === "cStockQty").map((h) => h.after);
      expect(writes, code).toEqual([code === "ALPHA" ? 15 : 3]); // the go-live write only
    }
    const stockRuns = await s.opened.ctx.store.listRuns("acme", { object: "stock", limit: 5 });
    expect(stockRuns[0].status).toBe("ok");

    // the owner's webhook receiver got the alert, once, naming the likely new name
    const drift = () => s.received.filter((r) => r.text.includes(" schema-drift"));
    for (let i = 0; i < 100 && drift().length === 0; i++) await sleep(20);
    expect(drift()).toHaveLength(1);
    expect(drift()[0].path).toBe("/owner");
    expect(drift()[0].text).toMatch(/Bin\.actual_qty .*renamed to actual_quantity\?/);
    expect(drift()[0].text).toMatch(/paused/);
    // more checks and runs: one incident, one delivery
    await s.rt.checkDrift();
    await runObjects(s, ["stock", "price"]);
    await s.rt.checkDrift();
    await sleep(200);
    expect(drift()).toHaveLength(1);
    const incidents = ((await s.opened.ctx.store.listAlerts?.("acme", { status: "active" })) ?? []).filter(
      (a) => a.rule === "schema-drift",
    );
    expect(incidents.map((a) => a.object)).toEqual(["stock"]);
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
  }, 60_000);

  it("`accord drift FILE` reports the rename with the suggested new name and the paused mapping", async () => {
    const d = await accord(s, ["drift", s.file]);
    expect(d.out).toMatch(/ERP Bin\.actual_qty \(mapped field actual_qty of object stock\) is gone — renamed to actual_quantity\?/);
    expect(d.out).toMatch(/stock: mapping cStockQty ↔ actual_qty/);
    const j = await accord(s, ["drift", s.file, "--json"]);
    const parsed = JSON.parse(j.out) as { findings: Array<Rec> };
    expect(parsed.findings.find((x) => x.object === "stock" && x.kind === "field-removed")).toMatchObject({
      suggestion: "actual_quantity",
    });
  }, 30_000);
});

describe("a stock run meets the renamed field before any drift check", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup("monitor:\n  drift: pause\n");
  }, 60_000);
  afterAll(() => teardown(s));

  it("fails loudly without writing (no 0, no null), and the runtime checks drift at once: the mapping pauses and the next run is clean", async () => {
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
    await erpControl(s, "upgrade", { doctype: "Bin", renameField: { from: "actual_qty", to: "actual_quantity" } });
    const moved = await erpControl(s, "events", { kind: "stock-moved", item: "ALPHA", warehouse: "Stores - ADG", qty: 4 });
    // a webhook naming the changed Bin row (targeted read), no drift check yet
    s.rt.enqueue("stock", "webhook", { ids: { side: "erp", ids: [String((moved.bin as Rec).name)] } });
    await s.rt.idle();
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
    for (let i = 0; i < 100 && !s.rt.drift?.pauses.stock; i++) {
      await sleep(20);
      await s.rt.idle();
    }
    expect(Object.keys(s.rt.drift?.pauses.stock?.fields ?? {})).toEqual(["cStockQty|actual_qty"]);
    await runObjects(s, ["stock"]);
    const [last] = await s.opened.ctx.store.listRuns("acme", { object: "stock", limit: 1 });
    expect(last.status).toBe("ok");
    expect((await crmGet(s, `Product/${s.productIds.ALPHA}`)).cStockQty).toBe(15);
    const hist = await s.opened.ctx.store.history("acme", "stock", s.productIds.ALPHA);
    expect(hist.filter((h) => h.field === "cStockQty").map((h) => h.after)).toEqual([15]);
  }, 60_000);
});

describe("stale-value guard from the file's keyFields: the old stock field stays and keeps its old numbers", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup("monitor:\n  objects:\n    stock:\n      keyFields: [ { field: actual_qty, window: 3s, minReads: 3 } ]\n");
  }, 60_000);
  afterAll(() => teardown(s));

  it("Bin rows keep changing, actual_qty does not → stale-value alert to the owner (no drift finding)", async () => {
    expect(s.rt.settings.objects.stock?.keyFields).toEqual([{ field: "actual_qty", windowMs: 3000, minReads: 3 }]);
    await sleep(3200); // the go-live writes fall out of the 3 s window
    await erpControl(s, "upgrade", {
      doctype: "Bin",
      addField: { fieldname: "actual_quantity", fieldtype: "Float", label: "Actual Quantity" },
    });
    for (let i = 1; i <= 4; i++) {
      // the rows change (a new figure lives elsewhere now), the old field keeps returning the old numbers
      await erpControl(s, "events", { kind: "bin-adjusted", item: i % 2 ? "ALPHA" : "BETA", warehouse: "Stores - ADG", ordered_qty: i });
      await runObjects(s, ["stock"]);
    }
    const report = await s.rt.checkDrift();
    expect(report.findings.filter((f) => f.action !== "none")).toEqual([]);
    await s.rt.health.checkFreshness();
    const stale = ((await s.opened.ctx.store.listAlerts?.("acme", { status: "active" })) ?? []).find((a) => a.rule === "stale-value");
    expect(stale).toMatchObject({ object: "stock.actual_qty" });
    for (let i = 0; i < 100 && !s.received.some((r) => r.text.includes(" stale-value")); i++) await sleep(20);
    const sent = s.received.filter((r) => r.text.includes(" stale-value"));
    expect(sent).toHaveLength(1);
    expect(sent[0].path).toBe("/owner");
    expect(sent[0].text).toMatch(/key field actual_qty of stock has not changed/);
  }, 60_000);
});
