/** `accord sync FILE`: run the sync once (all objects, parents first) and print the run's counts. */
import { type Command, InvalidArgumentError } from "commander";

function lanes(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n < 1 || n > 64)
    throw new InvalidArgumentError(`--concurrency must be a whole number from 1 to 64 (got "${v}").`);
  return n;
}

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
    .option(
      "-r, --record <id...>",
      "refresh these records on demand (read by id, cursors untouched); needs exactly one --object. Ids are of the --side system",
    )
    .option("--side <crm|erp>", "the system the --record ids belong to", "crm")
    .option("--no-deletes", "skip the deletion check (comparing full id lists)")
    .option(
      "-c, --concurrency <n>",
      "records processed at once (1–64; records sharing a shared id still go one after the other). Raise the systems' options.concurrency (default 8 requests in flight) to match above 8. From 2 up, the new records of a page go into a system with a bulk create (ERPNext insert_many; the object needs a createKey) in shared calls, at most this many at once",
      lanes,
      1,
    )
    .option("--verbose", "also list records with nothing to do (and every record applied: no report limit)")
    .option("--log-level <level>", "structured (JSON) log lines on stderr: silent | error | warn | info | debug", "warn")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord plan acme.yaml && accord sync acme.yaml
  accord sync acme.yaml --object customer contact
  accord sync acme.yaml --json | jq .totals
  accord sync acme.yaml --concurrency 8      # an initial load: 8 records in flight
  accord sync acme.yaml --object salesOrder --record 6b08fec99f2e083e2        # one deal, now
  accord sync acme.yaml --object stock --side erp --record ALPHA              # one item's stock

Output lists what was done per record, up to 1000 applied and 1000 held or quarantined records per
object (the rest are counted: "… and N more"); \`accord history\` has every change, --verbose lists all.

Exit codes: 0 all synced, 4 finished but records were held for review or quarantined
(see \`accord review list -f FILE\`), 2 invalid file or option, 3 a system unreachable or
refusing credentials, 1 other failure (the run is recorded as failed; the next run resumes
from the last fully processed page).`,
    )
    .action(
      async (
        file: string,
        opts: {
          logLevel: string;
          object?: string[];
          record?: string[];
          side: string;
          deletes?: boolean;
          verbose?: boolean;
          json?: boolean;
          concurrency: number;
        },
      ) => {
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
          if (opts.record && (opts.object?.length ?? 0) !== 1) {
            process.stderr.write("--record needs exactly one --object (the object the records belong to), e.g. --object salesOrder --record ID\n");
            process.exitCode = EXIT.invalid;
            return;
          }
          if (opts.side !== "crm" && opts.side !== "erp") {
            process.stderr.write(`--side must be crm or erp (got "${opts.side}")\n`);
            process.exitCode = EXIT.invalid;
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
              detectDeletes: opts.deletes !== false && !opts.record,
              ...(opts.record ? { records: { [opts.side]: opts.record } } : {}),
              verbose: opts.verbose,
              applyConcurrency: opts.concurrency,
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
            else {
              process.stdout.write(`${renderResult(res)}\n`);
              // one record at a time through a large load that could have shared create calls: say how
              const bulkable = opened.ctx.spec.objects.some(
                (o) => (o.create === "both" || o.create === "crm->erp") && o.erp.createKey && opened.ctx.erp.createMany,
              );
              if (opts.concurrency === 1 && bulkable && res.totals.applied >= 200)
                process.stderr.write(
                  `tip: ${res.totals.applied} records were applied one at a time; for a large load, --concurrency 4 (or more) lets the new records of a page be created in shared bulk calls (the object has a createKey)\n`,
                );
            }
            process.exitCode = res.totals.held + res.totals.quarantined > 0 ? EXIT.attention : EXIT.ok;
          } finally {
            await opened.close();
          }
        } catch (err) {
          process.exitCode = reportError(err, opts.json);
        }
      },
    );
}
