/** `accord sync FILE`: run the sync once (all objects, parents first) and print the run's counts. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("sync")
    .summary("Sync the integration once and print the run's counts")
    .description(
      "Sync the integration once: read what changed in both systems since the last run, reconcile each\n" +
        "record against its last synced values (masters, conflict policies, review queue), and write the\n" +
        "changes. Every record read ends applied, unchanged, held for review, or quarantined with a reason;\n" +
        "the counts are stored with the run. Progress goes to stderr, the result to stdout.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("-o, --object <name...>", "only these objects (default: all, parents first)")
    .option("--no-deletes", "skip the deletion check (comparing full id lists)")
    .option("--verbose", "also list records with nothing to do")
    .option("--log-level <level>", "structured (JSON) log lines on stderr: silent | error | warn | info | debug", "warn")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord plan acme.yaml && accord sync acme.yaml
  accord sync acme.yaml --object customer contact
  accord sync acme.yaml --json | jq .totals

Exit codes: 0 all synced, 4 finished but records were held for review or quarantined
(see \`accord review list -f FILE\`), 2 invalid file or option, 3 a system unreachable or
refusing credentials, 1 other failure (the run is recorded as failed; the next run resumes
from the last fully processed page).`,
    )
    .action(async (file: string, opts: { logLevel: string; object?: string[]; deletes?: boolean; verbose?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { openContextFromFile } = await import("../../engine/context.ts");
        const { runSync } = await import("../../engine/index.ts");
        const { renderResult } = await import("../../engine/render.ts");
        if (!["silent", "error", "warn", "info", "debug"].includes(opts.logLevel)) {
          process.stderr.write(`--log-level must be one of silent, error, warn, info, debug (got "${opts.logLevel}")\n`);
          process.exitCode = 2;
          return;
        }
        const pino = (await import("pino")).default;
        const logger = pino({ level: opts.logLevel, base: undefined }, pino.destination(2));
        const opened = await openContextFromFile(file, { logger });
        const tty = process.stderr.isTTY === true;
        let lastLine = "";
        try {
          const res = await runSync(opened.ctx, {
            objects: opts.object,
            detectDeletes: opts.deletes !== false,
            verbose: opts.verbose,
            onProgress: (e) => {
              const c = e.counts;
              const line = `${e.object}: ${e.phase}${e.side ? ` ${e.side}` : ""} — read ${c.read}, applied ${c.applied}, unchanged ${c.unchanged}, held ${c.held}, quarantined ${c.quarantined}`;
              if (tty) {
                // a bar per object: its phases (read both systems, retries, deletion check, done)
                const width = 24;
                const share = { start: 0, read: 0.5, retry: 0.75, deletes: 0.9, done: 1 }[e.phase];
                const bar = "█".repeat(Math.round(share * width)).padEnd(width, "░");
                process.stderr.write(`\r\x1b[2K[${bar}] ${line}`);
                if (e.phase === "done") process.stderr.write("\n");
              } else if (line !== lastLine) {
                process.stderr.write(`${line}\n`);
              }
              lastLine = line;
            },
          });
          if (opts.json) printJson({ ok: true, ...res });
          else process.stdout.write(`${renderResult(res)}\n`);
          process.exitCode = res.totals.held + res.totals.quarantined > 0 ? EXIT.attention : EXIT.ok;
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
