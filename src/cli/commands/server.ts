/**
 * `accord server [FILE…]`: the web console and its HTTP API for one or more integration files, or
 * (no FILE) for every integration registered in the store (`accord integration add`), each user
 * seeing only their tenant's.
 */
import { type Command, InvalidArgumentError } from "commander";

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be 0–65535 (got "${v}").`);
  return n;
}

interface ServerCliOptions {
  port: number;
  host: string;
  offline?: boolean;
  trustProxy?: boolean;
  secureCookies: string;
  queue?: boolean;
}

export function register(program: Command): void {
  program
    .command("server")
    .summary("The web console and HTTP API: sync health, review queue, history, mapping, customer 360")
    .description(
      "Serve the web console and its HTTP API (OpenAPI at /api/openapi.json) for the integration " +
        "file(s) given, on the store (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/). " +
        "With the systems' credentials in the environment the console also reads both systems live " +
        "(customer 360) and can start a sync; without them (or with --offline) it shows the store only. " +
        "Sign-in needs a console user: create the first admin with `accord user add NAME --role admin`. " +
        "Behind an https reverse proxy, pass --trust-proxy so cookies are marked Secure.\n\n" +
        "Without FILE it serves every integration registered in the store (`accord integration add`): each one's " +
        "connectors are built from its own encrypted credentials (ACCORD_SECRET_KEY must be set), and every user sees " +
        "only the integrations of their tenant (`accord user add NAME --role R --tenant T`); a platform admin (no tenant) sees all. " +
        "Another tenant's integration, review item or alert answers 404, as if it did not exist.",
    )
    .argument("[files...]", "integration file(s); none = the integrations registered in the store")
    .option("-p, --port <port>", "port to listen on (0 = any free port)", port, 8080)
    .option("--host <host>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--offline", "do not connect to the systems (store only)")
    .option("--trust-proxy", "trust X-Forwarded-For/-Proto from a reverse proxy")
    .option("--secure-cookies <when>", "auto (https requests) | always | never", "auto")
    .option(
      "--queue",
      "hand work to the job queue (pg-boss on DATABASE_URL, else the SQLite queue): Sync now enqueues jobs, and POST /webhooks/INTEGRATION/crm|erp accepts signed webhooks; run `accord worker` to execute them",
    )
    .addHelpText(
      "after",
      `
Examples:
  accord user add ana --role admin
  accord server acme.yaml                       # http://127.0.0.1:8080
  accord server acme.yaml beta.yaml --port 9000 --host 0.0.0.0 --trust-proxy
  ACCORD_SECRET_KEY=… DATABASE_URL=postgres://… accord server --queue --host 0.0.0.0   # registry mode, many tenants
  accord token create --user ci && curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/integrations

Ctrl-C stops the server.`,
    )
    .action(async (files: string[], opts: ServerCliOptions) => {
      const { reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (!["auto", "always", "never"].includes(opts.secureCookies)) {
        process.stderr.write(`--secure-cookies must be auto, always or never (got "${opts.secureCookies}")\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      const closers: Array<() => Promise<void>> = [];
      const closeAll = async () => {
        for (const c of closers.reverse()) await c().catch(() => {});
      };
      try {
        const registryMode = files.length === 0;
        const { loadSpecFile } = await import("../../spec/load.ts");
        const specs = [];
        for (const f of files) specs.push(await loadSpecFile(f));
        const names = new Set<string>();
        for (const s of specs) {
          if (names.has(s.name)) {
            process.stderr.write(`Two files name the integration "${s.name}": each integration once.\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
          names.add(s.name);
        }
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        closers.push(() => store.close());
        const { userStore } = await import("../../server/users.ts");
        const userCount = (await userStore(store).listUsers()).length;
        const systems: Record<string, import("../../server/views.ts").Systems> = {};
        let source: import("../../server/served.ts").IntegrationSource | undefined;
        if (registryMode) {
          const { keyringFromEnv, listIntegrations } = await import("../../registry/index.ts");
          const keyring = keyringFromEnv(process.env);
          const { registrySource } = await import("../../server/served.ts");
          const { connectSystems } = await import("../../server/systems.ts");
          const src = registrySource(store, { keyring, ...(opts.offline ? {} : { connect: (spec, env) => connectSystems(spec, env) }) });
          source = src;
          closers.push(() => src.close());
          for (const r of await listIntegrations(store)) if (r.enabled) names.add(r.name);
          if (!names.size)
            process.stdout.write("No integration registered yet: accord integration add FILE --tenant T --secrets-from-env\n");
        }
        let queue: import("../../runtime/jobs/types.ts").JobQueue | undefined;
        if (opts.queue) {
          if (store.dialect === "postgres") {
            const { PgBossQueue } = await import("../../runtime/jobs/pgboss-queue.ts");
            const url = process.env.DATABASE_URL ?? "";
            queue = new PgBossQueue({ url, store, schema: process.env.ACCORD_PGBOSS_SCHEMA || undefined });
          } else {
            const { SqliteQueue } = await import("../../runtime/jobs/sqlite-queue.ts");
            queue = new SqliteQueue({ store });
          }
          const q = queue;
          await q.start();
          closers.push(() => q.stop({ graceMs: 1000 }));
        }
        if (!opts.offline && !registryMode) {
          const { connectSystems } = await import("../../server/systems.ts");
          for (const s of specs) {
            try {
              const sys = await connectSystems(s);
              systems[s.name] = sys;
              closers.push(async () => {
                await Promise.allSettled([sys.crm.close(), sys.erp.close()]);
              });
            } catch (err) {
              process.stderr.write(
                `${s.name}: not connecting to the systems (${(err as Error).message.split("\n")[0]}); the console shows the store only.\n`,
              );
            }
          }
        }
        const { createServer } = await import("../../server/app.ts");
        const app = await createServer({
          store,
          specs,
          systems,
          ...(source ? { source } : {}),
          ...(queue ? { queue } : {}),
          trustProxy: opts.trustProxy === true,
          secureCookies: opts.secureCookies === "always" ? true : opts.secureCookies === "never" ? false : "auto",
          logger: { level: process.env.LOG_LEVEL ?? "warn" },
        });
        closers.push(() => app.close());
        const address = await app.listen({ port: opts.port, host: opts.host });
        process.stdout.write(
          `Accord console: ${address.replace("0.0.0.0", "127.0.0.1")}/  (${registryMode ? "registry: " : ""}integrations: ${[...names].join(", ") || "none yet"})\n`,
        );
        if (userCount === 0)
          process.stdout.write("No console user yet: create the first admin with `accord user add NAME --role admin`.\n");
        process.removeAllListeners("SIGINT");
        const stop = () => {
          void closeAll().finally(() => process.exit(EXIT.ok));
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      } catch (err) {
        process.exitCode = reportError(err);
        await closeAll();
      }
    });
}
