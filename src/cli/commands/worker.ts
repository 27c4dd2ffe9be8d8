/** `accord worker`: run the jobs of the registered integrations (any number of workers, on any hosts). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("worker")
    .summary("Run registered integrations' jobs from the shared queue (scale out: any number of workers)")
    .description(
      "Run sync runs, webhook deliveries and their retries as jobs. With DATABASE_URL (PostgreSQL) the " +
        "queue is pg-boss in its own schema of that database, shared by every worker on any host: at most " +
        "one run per (integration, object) at a time, retries with exponential backoff, a dead letter " +
        "queue, cron schedules from each object's tier. Without DATABASE_URL the same jobs run in this " +
        "process on the SQLite store (one worker only).\n" +
        "Integrations come from the registry (`accord integration add`); each runs with its own " +
        "decrypted credentials only — never with this process's environment.\n" +
        "Ctrl-C / SIGTERM: no new job; runs in flight stop after their page; then exit.",
    )
    .option("--concurrency <n>", "jobs at once in this process", "4")
    .option("--http-port <port>", "serve GET /metrics (Prometheus) and GET /health (JSON) on this port (default: none)")
    .option("--http-host <host>", "address for --http-port (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--record-concurrency <n>", "records in flight within one run (as accord sync --concurrency; raise for large initial loads)", "1")
    .option("--integration <name...>", "register the schedules of these integrations only (default: every enabled one)")
    .option(
      "--heartbeat <seconds>",
      "a job whose worker stops for this long is retried elsewhere (≥ 10)",
      process.env.ACCORD_JOB_HEARTBEAT_SECONDS ?? "15",
    )
    .option("--no-schedules", "do not register tier schedules (another worker does)")
    .option("--no-start-runs", "do not ask for one run of every object at start")
    .option("--log-level <level>", "structured (JSON) log lines on stderr: error | warn | info | debug", "info")
    .addHelpText(
      "after",
      `
Environment:
  DATABASE_URL          postgres://USER:PASS@HOST:5432/DB → pg-boss queue + PostgreSQL store, shared by all workers;
                        unset → SQLite store (ACCORD_HOME, default .accord) and the in-process queue
  ACCORD_SECRET_KEY     the key that decrypts the integrations' credentials (or ACCORD_SECRET_KEYS=id:key,…
                        during a rotation, current first); the same on every worker and server
  ACCORD_PGBOSS_SCHEMA  pg-boss's schema (default pgboss)
  ACCORD_JOB_HEARTBEAT_SECONDS, ACCORD_JOB_SUPERVISE_SECONDS (how often lapsed heartbeats are looked for, default 5),
  ACCORD_JOB_RETRY_LIMIT (default 5), ACCORD_JOB_RETRY_DELAY_SECONDS (first retry, default 5, doubled each time),
  ACCORD_RUN_LEASE_MS   the store lease per (integration, object) (default 15000)

What happens on a crash (kill -9, power loss): the job stays active until its heartbeat lapses
(--heartbeat + ACCORD_JOB_SUPERVISE_SECONDS, ~20 s by default), then pg-boss retries it on any worker;
that worker waits for the crashed run's store lease to lapse, marks its run row abandoned, and runs
the object again from its cursors — nothing is lost or written twice (creates are idempotent).
A job that fails all its retries goes to the dead letter queue (accord-dead).

Examples:
  export DATABASE_URL=postgres://accord@db:5432/accord ACCORD_SECRET_KEY=…
  accord worker                                # every registered integration, 4 jobs at once
  accord worker --concurrency 8
  accord worker --http-port 9464              # Prometheus scrapes http://HOST:9464/metrics; /health for probes
  accord worker --record-concurrency 8         # an initial load of a large integration: 8 records in flight per run
  accord worker --integration acme-crm globex  # schedules of these two only
  accord worker --heartbeat 10 --log-level warn`,
    )
    .action(
      async (opts: {
        concurrency: string;
        recordConcurrency: string;
        httpPort?: string;
        httpHost: string;
        integration?: string[];
        heartbeat: string;
        schedules?: boolean;
        startRuns?: boolean;
        logLevel: string;
      }) => {
        const { reportError } = await import("../output.ts");
        const { EXIT } = await import("../exit-codes.ts");
        const concurrency = Number(opts.concurrency);
        const heartbeat = Number(opts.heartbeat);
        const recordConcurrency = Number(opts.recordConcurrency);
        const httpPort = opts.httpPort === undefined ? undefined : Number(opts.httpPort);
        if (httpPort !== undefined && (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535)) {
          process.stderr.write(`--http-port must be 0–65535 (got "${opts.httpPort}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        if (
          !Number.isInteger(concurrency) ||
          concurrency < 1 ||
          !Number.isInteger(recordConcurrency) ||
          recordConcurrency < 1 ||
          recordConcurrency > 64 ||
          !Number.isFinite(heartbeat) ||
          heartbeat < 10
        ) {
          process.stderr.write("--concurrency must be an integer ≥ 1, --record-concurrency 1–64, and --heartbeat a number of seconds ≥ 10\n");
          process.exitCode = EXIT.invalid;
          return;
        }
        const env = process.env;
        const num = (v: string | undefined, d: number) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
        try {
          const pino = (await import("pino")).default;
          const logger = pino({ level: opts.logLevel, base: undefined }, pino.destination(2));
          const { openStore } = await import("../../store/index.ts");
          const { keyringFromEnv } = await import("../../registry/index.ts");
          const { openJobQueue } = await import("../../runtime/jobs/index.ts");
          const keyring = keyringFromEnv(env);
          const store = await openStore();
          if (store.dialect !== "postgres")
            process.stderr.write(
              "accord worker: no DATABASE_URL — jobs run in this process on the SQLite store (one worker only; set DATABASE_URL to a PostgreSQL database to run many)\n",
            );
          // TESTS ONLY (test/scale): without the store lease per (integration, object) ("1": both guards off, "lease": this one).
          const off = env.ACCORD_TEST_UNSAFE_NO_KEY_GUARD;
          const keyGuard = off !== "1" && off !== "lease";
          const queue = openJobQueue({
            store,
            env,
            heartbeatSeconds: heartbeat,
            onError: (err) => logger.warn({ err: err.message }, "job queue error (retrying)"),
          });
          const { startWorker } = await import("../../runtime/worker.ts");
          let worker: Awaited<ReturnType<typeof startWorker>>;
          try {
            worker = await startWorker({
              store,
              queue,
              keyring,
              concurrency,
              recordConcurrency,
              ...(httpPort !== undefined ? { http: { port: httpPort, host: opts.httpHost } } : {}),
              integrations: opts.integration,
              logger,
              leaseMs: num(env.ACCORD_RUN_LEASE_MS, 15_000),
              schedules: opts.schedules !== false,
              runAtStart: opts.startRuns !== false,
              keyGuard,
            });
          } catch (err) {
            await queue.stop({ graceMs: 0 }).catch(() => {});
            await store.close().catch(() => {});
            throw err;
          }
          process.stderr.write(
            `accord worker ${worker.holder}: ${queue.backend} queue, ${worker.integrations.length} integration(s), ${concurrency} job(s) at once${worker.url ? `; metrics ${worker.url}/metrics, health ${worker.url}/health` : ""}\n`,
          );
          await new Promise<void>((resolve) => {
            const stop = (signal: string) => {
              logger.info({ signal }, "stopping: no new job; runs in flight stop after their page");
              void worker
                .stop({ graceMs: 30_000 })
                .catch(() => {})
                .finally(resolve);
            };
            process.once("SIGINT", () => stop("SIGINT"));
            process.once("SIGTERM", () => stop("SIGTERM"));
          });
          await store.close().catch(() => {});
          logger.info({}, "accord worker stopped");
          process.exitCode = EXIT.ok;
        } catch (err) {
          process.exitCode = reportError(err);
        }
      },
    );
}
