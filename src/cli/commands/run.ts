/** `accord run FILE`: the long-running process (schedules, webhooks, monitoring, alerts). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("run")
    .summary("Run the integration continuously: schedules, webhooks, monitoring, alerts")
    .description(
      "Run every object on its tier until stopped: realtime objects on webhooks with a polling fallback\n" +
        "(--poll, at most 60 s) and a reconciliation pass behind the webhooks; hourly, daily and cron objects\n" +
        "on their schedule; every object once at start. Schema drift is checked at start and on a schedule\n" +
        "(the mappings it breaks pause, the rest keeps syncing); health rules alert the owner (webhook,\n" +
        "e-mail, log) — an authentication failure pauses that system's jobs until its credentials work again.\n" +
        "HTTP: POST /webhooks/crm and /webhooks/erp (signatures verified), GET /metrics (Prometheus),\n" +
        "GET /health. A lock in the store keeps a second process off the same integration.\n" +
        "Ctrl-C / SIGTERM: no new run; the run in flight finishes its page and stops; then exit.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--poll <duration>", "polling fallback of realtime objects (≤ 60s)", "60s")
    .option("--port <n>", "HTTP port for webhooks, /metrics, /health (0 = any)", "8787")
    .option("--host <addr>", "HTTP listen address", "127.0.0.1")
    .option("--no-http", "no HTTP server (no webhooks, no /metrics)")
    .option("--console-port <n>", "port of the web console and HTTP API (0 = any; create a user first: accord user add)", "8080")
    .option("--no-console", "do not serve the web console")
    .option("--monitor <path>", "monitor settings file (default: the `monitor:` section of FILE, else FILE with .monitor.yaml when present)")
    .option("--log-level <level>", "structured (JSON) log lines on stderr: error | warn | info | debug", "info")
    .addHelpText(
      "after",
      `
Webhook secrets (never in the file): ACCORD_WEBHOOK_SECRETS_CRM and ACCORD_WEBHOOK_SECRETS_ERP,
comma-separated (EspoCRM gives every subscription its own secretKey). Register the webhooks in the
systems pointing at http://HOST:PORT/webhooks/crm?event=Account.update (EspoCRM: one URL per event)
and http://HOST:PORT/webhooks/erp?event=on_update (ERPNext: JSON body {{ frappe.as_json(doc) }}).

Examples:
  accord run acme.yaml
  accord run acme.yaml --poll 10s --port 9000 --log-level warn
  curl -s localhost:8787/metrics | grep accord_records_total

Exit codes: 0 stopped cleanly, 2 invalid file or option, 1 another process holds the integration, or a failure.`,
    )
    .action(
      async (
        file: string,
        opts: {
          poll: string;
          port: string;
          host: string;
          http?: boolean;
          console?: boolean;
          consolePort: string;
          monitor?: string;
          logLevel: string;
        },
      ) => {
        const { reportError } = await import("../output.ts");
        const { EXIT } = await import("../exit-codes.ts");
        try {
          const { parseDuration } = await import("../../spec/load.ts");
          let pollMs: number;
          try {
            pollMs = parseDuration(opts.poll);
          } catch {
            pollMs = Number.NaN;
          }
          const port = Number(opts.port);
          const consolePort = Number(opts.consolePort);
          if (
            !Number.isFinite(pollMs) ||
            pollMs < 100 ||
            pollMs > 60_000 ||
            !Number.isInteger(port) ||
            port < 0 ||
            !Number.isInteger(consolePort) ||
            consolePort < 0
          ) {
            process.stderr.write("--poll must be a duration between 100ms and 60s; --port and --console-port integers ≥ 0\n");
            process.exitCode = EXIT.invalid;
            return;
          }
          const pino = (await import("pino")).default;
          const logger = pino({ level: opts.logLevel, base: undefined }, pino.destination(2));
          const { openContextFromFile } = await import("../../engine/context.ts");
          const { loadMonitorSettings } = await import("../../monitor/settings.ts");
          const { startRuntime } = await import("../../runtime/runtime.ts");
          const settings = loadMonitorSettings(file, opts.monitor);
          const opened = await openContextFromFile(file, { logger });
          const list = (v: string | undefined) =>
            (v ?? "")
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean);
          let rt: Awaited<ReturnType<typeof startRuntime>>;
          try {
            rt = await startRuntime({
              ctx: opened.ctx,
              settings,
              pollMs,
              http: opts.http === false ? false : { port, host: opts.host },
              webhookSecrets: { crm: list(process.env.ACCORD_WEBHOOK_SECRETS_CRM), erp: list(process.env.ACCORD_WEBHOOK_SECRETS_ERP) },
            });
          } catch (err) {
            await opened.close();
            throw err;
          }
          // The web console (dashboard, review queue, history, customer 360) on the same store.
          let web: { url: string; close(): Promise<void> } | undefined;
          if (opts.console !== false) {
            const { startConsole } = await import("../../server/app.ts");
            const { ctx } = opened;
            const serve = (p: number) =>
              startConsole({
                store: ctx.store,
                spec: ctx.spec,
                systems: { [ctx.spec.name]: { crm: ctx.crm, erp: ctx.erp } },
                port: p,
                host: opts.host,
              });
            try {
              try {
                web = await serve(consolePort);
              } catch (err) {
                // the default port taken (another console, a test): any free port, printed below
                if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || consolePort === 0) throw err;
                web = await serve(0);
              }
              process.stderr.write(`accord run: web console at ${web.url} (users: accord user add NAME --role admin)\n`);
            } catch (err) {
              await rt.stop();
              await opened.close();
              throw err;
            }
          }
          logger.info(
            { integration: opened.ctx.spec.name, url: rt.url || undefined, console: web?.url, pollMs, holder: rt.holder },
            "accord run started",
          );
          const stop = (signal: string) => {
            logger.info({ signal }, "stopping: finishing the page in flight");
            void web?.close();
            void rt.stop();
          };
          process.once("SIGINT", () => stop("SIGINT"));
          process.once("SIGTERM", () => stop("SIGTERM"));
          await rt.stopped;
          await opened.close();
          if (rt.lostLock) {
            process.stderr.write(
              "accord run stopped: another process took over the integration's lock (this one could not renew it in time)\n",
            );
            process.exitCode = EXIT.failure;
            return;
          }
          logger.info({}, "accord run stopped");
          process.exitCode = EXIT.ok;
        } catch (err) {
          if (err instanceof Error && (err.name === "LockHeld" || /port is already in use/.test(err.message))) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = EXIT.failure;
            return;
          }
          process.exitCode = reportError(err);
        }
      },
    );
}
