/** `accord demo`: sandboxes with representative data, audit, go-live linking, a sync of every object with quote-to-cash, the console — on one machine, nothing to set. */
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

interface DemoCliOptions {
  accounts: number;
  seed: number;
  fresh?: boolean;
  resume?: boolean;
  exit?: boolean;
  port: number;
  state: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("demo")
    .summary("Try Accord on this machine: emulated EspoCRM + ERPNext, audit, linking, sync, quote-to-cash, console")
    .description(
      "Start the emulated EspoCRM and ERPNext with representative data (the same companies typed " +
        "differently in both, one-sided customers, duplicates, deals and orders), audit both systems " +
        "(prints the ten-second summary), link the customers both systems already hold (matcher; the " +
        "ERP's values win for existing customers), then sync every object of examples/espocrm-erpnext.yaml " +
        "parents first: customers, addresses, contacts, products with ERP prices and stock, quote-to-cash " +
        "(closed-won deals become ERP sales orders, their names and status come back; deals priced below " +
        "the floor are held for approval), invoice status onto deals and accounts. Prints the counts per " +
        "object, the quote-to-cash result, the systems' URLs and credentials, and the web console's URL " +
        "and login. Nothing needs to be set: the demo sets the credentials itself. The sandboxes and the " +
        "console stay up until Ctrl-C (or --exit).",
    )
    .option(
      "--accounts <n>",
      "real-world companies to generate (each becomes 0–2 records per system)",
      intOption("--accounts", 1, 100_000),
      500,
    )
    .option("--seed <n>", "generator seed: the same seed gives the same data", intOption("--seed", 0, 0xffffffff), 1)
    .option("--fresh", "start from scratch: delete the state folder first (default)")
    .option("--resume", "keep the state folder: the same data, keys and store; the sync reads only what changed")
    .option("--exit", "stop the sandboxes after the sync instead of serving until Ctrl-C (tests, CI)")
    .option("--port <n>", "web console port (default 8080; any free port when it is taken)", intOption("--port", 0, 65535), 8080)
    .option("--state <dir>", "state folder (sandbox data, keys, store)", ".accord/demo")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  ./accord demo                          # 500 companies; serve until Ctrl-C
  ./accord demo --accounts 2000 --seed 7
  ./accord demo --exit --json | jq .totals
  ./accord demo --resume                 # again, on the data of the last demo

Exit codes: 0 done (or stopped with Ctrl-C), 4 done with records held for review or quarantined
(the demo's data includes such cases on purpose), 2 invalid option, 1 failure.`,
    )
    .action(async (opts: DemoCliOptions) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (opts.fresh && opts.resume) {
        process.stderr.write("--fresh and --resume exclude each other (--fresh is the default).\n");
        process.exitCode = EXIT.invalid;
        return;
      }
      const { runDemo, renderDemo, demoJson } = await import("../../demo/index.ts");
      // Serve until stopped: replace the CLI's immediate-exit SIGINT handler with a clean stop.
      process.removeAllListeners("SIGINT");
      let stopping = false;
      let close: (() => Promise<void>) | undefined;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`\n${signal}: stopping the sandboxes (state kept in ${opts.state})…\n`);
        void (close?.() ?? Promise.resolve()).finally(() => process.exit(close ? EXIT.ok : EXIT.interrupted));
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      try {
        const d = await runDemo({
          accounts: opts.accounts,
          seed: opts.seed,
          resume: opts.resume === true,
          stateDir: opts.state,
          onProgress: (m) => process.stderr.write(`${m}\n`),
        });
        close = d.close;
        // The web console on the demo's store and sandboxes (not with --exit); its URL and login are printed last.
        const { startDemoConsole } = await import("../../server/demo-console.ts");
        const web = opts.exit
          ? undefined
          : await startDemoConsole({ file: d.file, env: d.env, storeFile: d.storeFile, stateDir: d.stateDir, port: opts.port });
        if (web)
          close = async () => {
            await web.close();
            await d.close();
          };
        const login = web ? { url: web.url, user: web.user, password: web.password } : undefined;
        if (opts.json) printJson(login ? { ...demoJson(d), console: login } : demoJson(d));
        else
          process.stdout.write(
            `${renderDemo(d, { exit: opts.exit === true })}\n${login ? `\nWeb console: ${login.url}   sign in as ${login.user} / ${login.password}   (kept in ${opts.state}/console.json)\n` : ""}`,
          );
        const code = d.sync.totals.held + d.sync.totals.quarantined > 0 ? EXIT.attention : EXIT.ok;
        if (opts.exit || stopping) {
          await d.close();
          process.exitCode = code;
          if (stopping) process.exit(EXIT.ok);
          return;
        }
        // Serve until a signal arrives (the servers keep the event loop alive).
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
        await close?.();
      }
    });
}
