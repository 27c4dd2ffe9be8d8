/**
 * Fallback for bench/scale/run.ts while `accord worker` is not a CLI command yet: one worker process
 * built the way the command is meant to build it — the store and the pg-boss queue on DATABASE_URL,
 * the keyring from ACCORD_SECRET_KEY(S), src/runtime/worker.ts's Worker over every registered
 * integration — until SIGTERM (graceful stop, as the command's).
 *
 *   DATABASE_URL=… ACCORD_SECRET_KEY=… node bench/scale/worker-proc.ts --concurrency 4
 */
import { parseArgs } from "node:util";
import { keyringFromEnv } from "../../src/registry/index.ts";
import { PgBossQueue } from "../../src/runtime/jobs/pgboss-queue.ts";
import { startWorker } from "../../src/runtime/worker.ts";
import { openStore } from "../../src/store/index.ts";

const { values } = parseArgs({ options: { concurrency: { type: "string", default: "4" } } });
const url = process.env.DATABASE_URL;
if (!url) throw new Error("bench/scale/worker-proc.ts needs DATABASE_URL (PostgreSQL)");
const store = await openStore({ url });
const queue = new PgBossQueue({
  url,
  store,
  schema: process.env.ACCORD_PGBOSS_SCHEMA || undefined,
  onError: (e) => process.stderr.write(`queue error: ${e.message}\n`),
});
const worker = await startWorker({ store, queue, keyring: keyringFromEnv(), concurrency: Number(values.concurrency) });
process.stderr.write(`worker ${worker.holder} started: ${worker.integrations.length} integrations\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await worker.stop({ graceMs: 10_000 });
  await store.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
