/** `accord sandbox up`: emulated EspoCRM and ERPNext, seeded with production-like data, on this machine. */
import { type Command, InvalidArgumentError } from "commander";

function intOption(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max} (got "${v}").`);
    }
    return n;
  };
}

interface UpOptions {
  accounts: number;
  seed: number;
  crmPort: number;
  erpPort: number;
  host: string;
  state?: string;
  scope: string;
  webhookDelay?: number;
  timezone?: string;
  json?: boolean;
}

/** Quote a value for a POSIX shell. */
function sh(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function register(program: Command): void {
  const sandbox = program
    .command("sandbox")
    .summary("Emulated EspoCRM and ERPNext with production-like data and ground truth (sandbox up)")
    .description(
      "Emulated EspoCRM and ERPNext servers for trials, demos and tests: real HTTP APIs with the real " +
        "systems' auth, paging, errors and webhooks, seeded with generated production-like data " +
        "(several countries and scripts, duplicates, one-sided customers, deals with lines, orders, " +
        "invoices) and a labelled ground truth of which records are the same company.",
    )
    .addHelpText(
      "after",
      `
Examples:
  accord sandbox up                          # 500 companies, prints URLs, keys and export lines
  accord sandbox up --accounts 5000 --seed 7 --state .accord/sandbox
  accord sandbox up --json > sandbox.json &  # one JSON line for scripts: jq -r .exports sandbox.json`,
    );

  sandbox
    .command("up")
    .summary("Start both emulated systems, seeded; print URLs, keys and export lines; serve until Ctrl-C")
    .description(
      "Start both emulated systems, seed them, print their URLs and credentials (and `export` lines " +
        "for the variables examples/espocrm-erpnext.yaml uses), then serve until Ctrl-C or SIGTERM. " +
        "Without --state, data and keys are new each time; with --state DIR they are kept in DIR and a " +
        "restart serves the same data with the same keys (saved on stop).",
    )
    .option(
      "--accounts <n>",
      "real-world companies to generate (each becomes 0–2 records per system)",
      intOption("--accounts", 0, 1_000_000),
      500,
    )
    .option("--seed <n>", "generator seed: the same seed gives the same data", intOption("--seed", 0, 0xffffffff), 1)
    .option("--crm-port <port>", "EspoCRM port (0 = any free port)", intOption("--crm-port", 0, 65535), 0)
    .option("--erp-port <port>", "ERPNext port (0 = any free port)", intOption("--erp-port", 0, 65535), 0)
    .option("--host <address>", "listen address", "127.0.0.1")
    .option("--state <dir>", "keep data and keys in DIR across restarts")
    .option("--scope <scope>", 'what to seed: "full" (everything) or "accounts" (accounts/customers only)', "full")
    .option(
      "--webhook-delay <ms>",
      "delay before webhooks are sent (EspoCRM's real cron waits ~2 min)",
      intOption("--webhook-delay", 0, 86_400_000),
    )
    .option("--timezone <tz>", "ERPNext site time zone (default Europe/Berlin)")
    .option("--json", "print one JSON object (one line) with URLs, credentials, counts and the truth file")
    .addHelpText(
      "after",
      `
Examples:
  accord sandbox up
  accord sandbox up --accounts 2000 --seed 42 --crm-port 8081 --erp-port 8082
  accord sandbox up --state .accord/sandbox       # restart later: same data, same keys
  accord sandbox up --json > sandbox.json &  # in the background; then: eval "$(jq -r .exports sandbox.json)"

Then, in another shell, paste the printed export line and try:
  curl -s -H "X-Api-Key: $ESPOCRM_API_KEY" "$ESPOCRM_URL/api/v1/Account?maxSize=3&select=name"
  curl -s -H "Authorization: token $ERPNEXT_API_KEY:$ERPNEXT_API_SECRET" "$ERPNEXT_URL/api/resource/Customer?limit_page_length=3"
  accord validate examples/espocrm-erpnext.yaml --check-env

Control API (tests, fault injection): POST <url>/__sandbox/faults with {"rate":0.1,"kinds":["429","503"]};
EspoCRM's needs header X-Sandbox-Token: <EspoCRM API key>.

Stops cleanly on Ctrl-C or SIGTERM (exit 0). Exit 2: invalid option; exit 1: could not start (e.g. port in use).`,
    )
    .action(async (opts: UpOptions) => {
      const { reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (opts.scope !== "full" && opts.scope !== "accounts") {
        process.stderr.write(`--scope must be "full" or "accounts" (got "${opts.scope}").\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      const { startSandboxes } = await import("../../sandbox/index.ts");
      // This command serves until stopped: replace the CLI's immediate-exit SIGINT handler
      // with a clean shutdown that saves state.
      process.removeAllListeners("SIGINT");
      let stopping = false;
      let sb: Awaited<ReturnType<typeof startSandboxes>> | undefined;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        if (!opts.json) process.stderr.write(`\n${signal}: stopping the sandbox${opts.state ? ` (saving state to ${opts.state})` : ""}…\n`);
        void (sb?.close() ?? Promise.resolve()).finally(() => process.exit(EXIT.ok));
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));

      try {
        if (!opts.json)
          process.stderr.write(
            `Starting the sandbox: generating ${opts.accounts} companies (seed ${opts.seed}) and seeding both systems…\n`,
          );
        const t0 = performance.now();
        sb = await startSandboxes({
          accounts: opts.accounts,
          seed: opts.seed,
          crmPort: opts.crmPort,
          erpPort: opts.erpPort,
          host: opts.host,
          statePath: opts.state,
          scope: opts.scope as "full" | "accounts",
          webhookDelayMs: opts.webhookDelay,
          timezone: opts.timezone,
        });
        const ms = Math.round(performance.now() - t0);
        if (stopping) return;
        const env = {
          ESPOCRM_URL: sb.crm.url,
          ESPOCRM_API_KEY: sb.crm.apiKey,
          ERPNEXT_URL: sb.erp.url,
          ERPNEXT_API_KEY: sb.erp.apiKey,
          ERPNEXT_API_SECRET: sb.erp.apiSecret,
        };
        const exports = `export ${Object.entries(env)
          .map(([k, v]) => `${k}=${sh(v)}`)
          .join(" ")}`;
        const curl = {
          crm: `curl -s -H "X-Api-Key: ${sb.crm.apiKey}" "${sb.crm.url}/api/v1/Account?maxSize=3&select=name,billingAddressCity"`,
          erp: `curl -s -H "Authorization: token ${sb.erp.apiKey}:${sb.erp.apiSecret}" "${sb.erp.url}/api/resource/Customer?limit_page_length=3"`,
        };
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({
              ok: true,
              crm: { type: "espocrm", ...sb.crm },
              erp: { type: "erpnext", ...sb.erp },
              env,
              exports,
              curl,
              truthFile: sb.truthFile,
              truthCsvFile: sb.truthCsvFile,
              stateDir: sb.stateDir,
              persistent: Boolean(opts.state),
              seeded: sb.seeded,
              counts: sb.counts,
              startMs: ms,
              pid: process.pid,
            })}\n`,
          );
        } else {
          const counts = (c: Record<string, number>) =>
            Object.entries(c)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${n}`)
              .join(", ");
          process.stdout.write(
            `Accord sandbox is up (${ms} ms). ${sb.seeded ? `Seeded ${opts.accounts} companies with seed ${opts.seed}.` : `Restored from ${sb.stateDir}.`}

EspoCRM (emulated)  ${sb.crm.url}
  API base        ${sb.crm.apiUrl}
  API key         ${sb.crm.apiKey}      (header X-Api-Key)
  HMAC secret     ${sb.crm.secretKey}      (X-Hmac-Authorization)
ERPNext (emulated)  ${sb.erp.url}
  API key         ${sb.erp.apiKey}      (header Authorization: token KEY:SECRET)
  API secret      ${sb.erp.apiSecret}
  API user        ${sb.erp.user}
  time zone       ${sb.erp.timezone}
${sb.seeded ? `\nSeeded CRM: ${counts(sb.counts.crm)}\nSeeded ERP: ${counts(sb.counts.erp)}\n` : ""}
Ground truth (which records are the same company): ${sb.truthFile} and ${sb.truthCsvFile}
State: ${opts.state ? `${sb.stateDir} (kept across restarts)` : `${sb.stateDir} (temporary: use --state DIR to keep data and keys)`}

Paste into your shell (the variables examples/espocrm-erpnext.yaml uses):
${exports}

Try:
  ${curl.crm}
  ${curl.erp}
  ./accord validate examples/espocrm-erpnext.yaml --check-env

Stop with Ctrl-C.
`,
          );
        }
        // Serve until a signal arrives (the servers keep the event loop alive).
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e?.code === "EADDRINUSE" || e?.code === "EACCES") {
          const msg = `could not listen on ${opts.host}: ${e.code === "EADDRINUSE" ? "port already in use" : "permission denied"} (${e.message}). Pick other ports with --crm-port / --erp-port, or 0 for any free port.`;
          if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { class: "Error", message: msg } })}\n`);
          else process.stderr.write(`sandbox up: ${msg}\n`);
          await sb?.close();
          process.exit(EXIT.failure);
        }
        process.exitCode = reportError(err, opts.json);
        await sb?.close();
        process.exit(process.exitCode ?? EXIT.failure);
      }
    });
}
