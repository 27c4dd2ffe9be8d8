/**
 * Child process of bench/connectors/run.ts: starts both sandboxes, seeds them, prints one JSON
 * line with their addresses and keys, and serves until stdin closes. Keeping the servers in
 * their own process means the bench measures the client (raw fetch vs connector) without the
 * servers' garbage collection landing on either side at random.
 */
import { startErpNextSandbox } from "../../src/sandbox/erpnext/index.ts";
import { startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";

const READ = Number(process.env.BENCH_READ ?? 50_000);
const espo = await startEspoCrmSandbox({ webhookDelayMs: 3_600_000 });
const erp = await startErpNextSandbox({ timezone: "Europe/Berlin" });
for (let i = 0; i < READ; i += 5000) {
  const n = Math.min(5000, READ - i);
  espo.control.seed({
    Account: Array.from({ length: n }, (_, j) => ({
      name: `Bench Account ${i + j}`,
      type: "Customer",
      website: `https://acct${i + j}.example`,
      billingAddressCity: "Berlin",
      billingAddressCountry: "Germany",
      description: "Seeded for the connector benchmark.",
    })),
  });
  erp.seed({
    Customer: Array.from({ length: n }, (_, j) => ({
      customer_name: `Bench Customer ${i + j}`,
      customer_type: "Company",
      website: `https://cust${i + j}.example`,
    })),
  });
}
process.stdout.write(
  `${JSON.stringify({
    espocrm: { url: espo.url, apiUrl: espo.apiUrl, apiKey: espo.apiKey },
    erpnext: { url: erp.url, apiKey: erp.apiKey, apiSecret: erp.apiSecret, timezone: erp.timezone },
  })}\n`,
);
process.stdin.resume();
process.stdin.on("end", async () => {
  await espo.close();
  await erp.close();
  process.exit(0);
});
