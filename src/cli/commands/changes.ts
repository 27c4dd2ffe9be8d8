/** `accord changes FILE`: the integration file's change log (accord apply). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("changes")
    .summary("List the recorded changes of the integration file")
    .description(
      "Every version recorded by `accord apply`: date, author, rationale, and what it changed (objects and field maps; the dry-run summary when the systems were reachable).",
    )
    .argument("<file>", "integration file (YAML); its `name` selects the integration")
    .option("--json", "print as JSON (with each version's full plan and text)")
    .addHelpText(
      "after",
      `
Examples:
  accord changes acme.yaml
  accord changes acme.yaml --json | jq '.[0].plan'

The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).`,
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { openStore } = await import("../../store/index.ts");
        const spec = await loadSpecFile(file);
        const store = await openStore();
        try {
          const versions = await store.listSpecVersions(spec.name);
          if (opts.json) printJson(versions);
          else if (versions.length === 0)
            process.stdout.write(`No recorded change for ${spec.name} yet (record one with \`accord apply FILE --why "…"\`).\n`);
          else {
            for (const v of versions) {
              const plan = (v.plan ?? {}) as {
                summary?: string[];
                dryRun?: { reachable?: boolean; totals?: Record<string, number>; error?: string } | null;
              };
              process.stdout.write(`#${v.id}  ${v.at}  ${v.author ?? "?"}  ${v.hash.slice(0, 12)}\n    why: ${v.why ?? ""}\n`);
              for (const l of plan.summary ?? []) process.stdout.write(`    ${l}\n`);
              const d = plan.dryRun;
              if (d?.totals)
                process.stdout.write(
                  `    dry run: ${Object.entries(d.totals)
                    .map(([k, n]) => `${k} ${n}`)
                    .join(", ")}\n`,
                );
              else if (d && d.reachable === false) process.stdout.write(`    dry run: systems not reachable (${d.error ?? ""})\n`);
            }
          }
          process.exitCode = EXIT.ok;
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
