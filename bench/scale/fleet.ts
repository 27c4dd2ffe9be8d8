/**
 * One child process of the scale benchmark's sandbox fleet: starts `--pairs` EspoCRM + ERPNext
 * sandbox pairs (accounts scope: masters only, no generated companies), seeds `--accounts` CRM
 * accounts into each pair's CRM (the ERP starts empty: the initial sync creates them all), prints
 * ONE JSON line `{ pid, pairs: [{ crm: {url, apiKey}, erp: {url, apiKey, apiSecret, timezone} }] }`
 * and serves until SIGTERM / SIGINT.
 *
 *   node bench/scale/fleet.ts --pairs 10 --accounts 500 --offset 0
 *
 * Run by bench/scale/run.ts (several of these, so the sandboxes' CPU is spread over processes and is
 * not the bench's or the workers').
 */
import { parseArgs } from "node:util";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "10" },
    accounts: { type: "string", default: "500" },
    offset: { type: "string", default: "0" },
  },
});
const pairs = Number(values.pairs);
const accounts = Number(values.accounts);
const offset = Number(values.offset);

const started: Sandboxes[] = [];
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(started.map((s) => s.close()));
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());

for (let p = 0; p < pairs; p++) {
  // webhookDelayMs 0: webhooks (when the bench subscribes) are sent at once, as in bench/latency
  const sb = await startSandboxes({ accounts: 0, seed: offset + p + 1, scope: "accounts", webhookDelayMs: 0 });
  started.push(sb);
  const pair = offset + p;
  sb.servers.crm.control.seed({
    Account: Array.from({ length: accounts }, (_, j) => ({
      name: `Scale ${String(pair).padStart(2, "0")}-${String(j).padStart(5, "0")} Trading Ltd`,
      type: j % 5 === 0 ? "Partner" : "Customer",
      website: `https://Scale-${pair}-${j}.Example.com`,
      billingAddressCity: "Leeds",
      billingAddressCountry: "United Kingdom",
    })),
  });
}

process.stdout.write(
  `${JSON.stringify({
    pid: process.pid,
    pairs: started.map((s) => ({
      crm: { url: s.crm.url, apiKey: s.crm.apiKey },
      erp: { url: s.erp.url, apiKey: s.erp.apiKey, apiSecret: s.erp.apiSecret, timezone: s.erp.timezone },
    })),
  })}\n`,
);
