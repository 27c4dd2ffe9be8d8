/** `accord plan FILE`: a dry run — what a sync would change, per record and field, and why. Writes nothing. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("plan")
    .summary("What a sync would change, per record and field, and why (dry run)")
    .description(
      "Show what `accord sync` would do, without doing it: reads both systems and the store, runs the\n" +
        "very same planner as a sync, and prints per record and field the change, its rule and the reason\n" +
        "(one-sided change, master, conflict policy, review, quarantine, create, link, deletion).\n" +
        "Writes nothing anywhere: no remote write, no link, no cursor, no run record.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("-o, --object <name...>", "only these objects (default: all, parents first)")
    .option("--verbose", "also list records with nothing to do")
    .option("--log-level <level>", "structured (JSON) log lines on stderr: silent | error | warn | info | debug", "warn")
    .option("--json", "print the plan as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord plan acme.yaml
  accord plan acme.yaml --object customer
  accord plan acme.yaml --json | jq '.objects[].records[] | select(.outcome=="held")'

Credentials come from the environment variables the file names (see \`accord validate FILE\`).
Exit codes: 0 planned, 2 invalid file or option, 3 a system unreachable or refusing credentials, 1 other failure.`,
    )
    .action(async (file: string, opts: { logLevel: string; object?: string[]; verbose?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      try {
        const { openContextFromFile } = await import("../../engine/context.ts");
        const { planSync } = await import("../../engine/index.ts");
        const { renderResult } = await import("../../engine/render.ts");
        if (!["silent", "error", "warn", "info", "debug"].includes(opts.logLevel)) {
          process.stderr.write(`--log-level must be one of silent, error, warn, info, debug (got "${opts.logLevel}")\n`);
          process.exitCode = 2;
          return;
        }
        const pino = (await import("pino")).default;
        const logger = pino({ level: opts.logLevel, base: undefined }, pino.destination(2));
        const opened = await openContextFromFile(file, { logger });
        try {
          const res = await planSync(opened.ctx, { objects: opts.object, verbose: opts.verbose });
          if (opts.json) printJson({ ok: true, ...res });
          else process.stdout.write(`${renderResult(res)}\n`);
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
