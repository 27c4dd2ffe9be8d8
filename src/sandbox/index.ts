/**
 * Both emulated systems at once, seeded with generated production-like data: what
 * `accord sandbox up`, the end-to-end tests, the demos and the benchmarks start.
 *
 * With `statePath` (a directory) the data and the credentials survive a restart: the first start
 * generates and seeds, later starts load the saved state and keep the same keys. State is written
 * on `close()` (and the CRM's right after seeding).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ErpNextSandbox, startErpNextSandbox } from "./erpnext/server.ts";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "./espocrm/server.ts";
import { generate } from "./generator/generate.ts";
import { writeTruth } from "./generator/truth.ts";
import type { CrmRecord, ErpDoc, GeneratedData } from "./generator/types.ts";

export interface StartSandboxesOptions {
  /** Real-world companies to generate (default 500); each becomes 0–2 records per system. */
  accounts?: number;
  /** Generator seed (default 1). */
  seed?: number;
  /** Ports (default 0 = any free port). */
  crmPort?: number;
  erpPort?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Directory that keeps data and credentials across restarts. */
  statePath?: string;
  /** Delay before webhooks are sent, both systems (EspoCRM default is its real ~2 min cron; ERPNext 0). */
  webhookDelayMs?: number;
  /**
   * What to seed: "full" (default) = accounts, contacts, deals, products, cases / customers,
   * contacts, addresses, items, prices, stock, orders, invoices, payments; "accounts" = only
   * EspoCRM Account and ERPNext Customer (+ masters) — quick starts and raw benchmarks.
   */
  scope?: "full" | "accounts";
  /** Products / items to generate (default 50). */
  products?: number;
  /** ERPNext site time zone (default the sandbox's, Europe/Berlin). */
  timezone?: string;
  /** Keep the generated data set on the result (`data`); off by default (50k companies ≈ 600 MB). */
  keepData?: boolean;
}

export interface Sandboxes {
  crm: { url: string; apiUrl: string; apiKey: string; secretKey: string };
  erp: { url: string; apiKey: string; apiSecret: string; timezone: string; user: string };
  /** Ground truth (which records are the same company / contact / product / deal), JSON; CSV beside it. */
  truthFile: string;
  truthCsvFile: string;
  /** Directory holding the state (the given statePath, or a temporary directory removed on close). */
  stateDir: string;
  /** False when the data was loaded from statePath instead of generated now. */
  seeded: boolean;
  /** Records seeded per entity / doctype (empty when restored). */
  counts: { crm: Record<string, number>; erp: Record<string, number> };
  /** The generated data set (only with keepData, and only when seeded in this start). */
  data?: GeneratedData;
  /** The running servers, for in-process use (tests, benches). */
  servers: { crm: EspoCrmSandbox; erp: ErpNextSandbox };
  close(): Promise<void>;
}

interface SavedMeta {
  format: "accord-sandbox/1";
  accounts: number;
  seed: number;
  scope: "full" | "accounts";
  crm: { apiKey: string; secretKey: string };
  erp: { apiKey: string; apiSecret: string };
  counts: { crm: Record<string, number>; erp: Record<string, number> };
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** ERPNext master doctypes the generator emits; only names the site lacks are seeded. */
const ERP_MASTERS = new Set(["Company", "Country", "Customer Group", "Territory", "UOM", "Item Group", "Warehouse", "Price List"]);

export async function startSandboxes(opts: StartSandboxesOptions = {}): Promise<Sandboxes> {
  const accounts = Math.max(0, Math.floor(opts.accounts ?? 500));
  const seed = Math.floor(opts.seed ?? 1);
  const scope = opts.scope ?? "full";
  const host = opts.host ?? "127.0.0.1";
  const stateDir = opts.statePath ? resolve(opts.statePath) : mkdtempSync(join(tmpdir(), "accord-sandbox-"));
  mkdirSync(stateDir, { recursive: true });
  const metaFile = join(stateDir, "sandbox.json");
  const persist = Boolean(opts.statePath);
  const saved: SavedMeta | null = persist && existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, "utf8")) as SavedMeta) : null;

  const creds = saved
    ? { crm: saved.crm, erp: saved.erp }
    : { crm: { apiKey: hex(16), secretKey: hex(16) }, erp: { apiKey: hex(8).slice(0, 15), apiSecret: hex(8).slice(0, 15) } };

  const crm = await startEspoCrmSandbox({
    port: opts.crmPort ?? 0,
    host,
    apiKey: creds.crm.apiKey,
    hmacSecret: creds.crm.secretKey,
    statePath: persist ? join(stateDir, "espocrm.json") : undefined,
    webhookDelayMs: opts.webhookDelayMs,
  });
  let erp: ErpNextSandbox;
  try {
    erp = await startErpNextSandbox({
      port: opts.erpPort ?? 0,
      host,
      apiKey: creds.erp.apiKey,
      apiSecret: creds.erp.apiSecret,
      timezone: opts.timezone,
      statePath: persist ? join(stateDir, "erpnext.json") : undefined,
      webhookDelayMs: opts.webhookDelayMs,
    });
  } catch (e) {
    await crm.close();
    throw e;
  }
  const closeBoth = async () => {
    await Promise.allSettled([crm.close(), erp.close()]);
  };

  const truthBase = join(stateDir, "truth.json");
  let counts: Sandboxes["counts"] = saved?.counts ?? { crm: {}, erp: {} };
  let data: GeneratedData | undefined;
  let truthFiles = { json: truthBase, csv: truthBase.replace(/\.json$/, ".csv") };
  try {
    if (!saved) {
      data = generate({
        companies: accounts,
        seed,
        products: opts.products,
        erpCompany: { name: erp.settings.company, abbr: erp.settings.abbr, currency: erp.settings.currency },
      });
      counts = seedBoth(data, crm, erp, scope);
      truthFiles = writeTruth(data, truthBase);
      if (persist) {
        const meta: SavedMeta = { format: "accord-sandbox/1", accounts, seed, scope, crm: creds.crm, erp: creds.erp, counts };
        writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
        // Persist the CRM right away (the ERP sandbox writes on close).
        await fetch(`${crm.url}/__sandbox/save`, { method: "POST", headers: { "X-Sandbox-Token": crm.apiKey } }).catch(() => undefined);
      }
    }
  } catch (e) {
    await closeBoth();
    throw e;
  }

  let closed = false;
  return {
    crm: { url: crm.url, apiUrl: crm.apiUrl, apiKey: crm.apiKey, secretKey: crm.secretKey },
    erp: { url: erp.url, apiKey: erp.apiKey, apiSecret: erp.apiSecret, timezone: erp.timezone, user: erp.user },
    truthFile: truthFiles.json,
    truthCsvFile: truthFiles.csv,
    stateDir,
    seeded: !saved,
    counts,
    data: opts.keepData ? data : undefined,
    servers: { crm, erp },
    async close() {
      if (closed) return;
      closed = true;
      await closeBoth();
      if (!persist) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Seed generated data into both servers in-process; returns counts per entity / doctype. */
export function seedBoth(
  data: GeneratedData,
  crm: EspoCrmSandbox,
  erp: ErpNextSandbox,
  scope: "full" | "accounts" = "full",
): Sandboxes["counts"] {
  const counts: Sandboxes["counts"] = { crm: {}, erp: {} };
  for (const [entity, records] of Object.entries(data.crm) as Array<[string, CrmRecord[]]>) {
    if (scope === "accounts" && entity !== "Account") continue;
    crm.control.seed({ [entity]: records });
    counts.crm[entity] = records.length;
  }
  const erpAccountsScope = new Set([...ERP_MASTERS, "Customer"]);
  for (const [doctype, docs] of Object.entries(data.erp) as Array<[string, ErpDoc[]]>) {
    if (scope === "accounts" && !erpAccountsScope.has(doctype)) continue;
    let list = ERP_MASTERS.has(doctype) ? docs.filter((d) => !erp.db.get(doctype, d.name)) : docs;
    if (scope === "accounts" && doctype === "Customer") {
      // Contacts and addresses are not seeded in this scope: no links pointing at them.
      list = list.map(({ customer_primary_contact: _c, customer_primary_address: _a, primary_address: _p, ...rest }) => rest as ErpDoc);
    }
    if (list.length) erp.seed({ [doctype]: list });
    counts.erp[doctype] = list.length;
  }
  return counts;
}
