/** `accord apply FILE --why "…"`: record a change of the integration file (date, author, rationale, plan). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("apply")
    .summary("Record a change of the integration file with its rationale and plan")
    .description(
      "Record the integration file as its new version in the change log: date, author ($USER or --author),\n" +
        "the rationale (--why), and its plan — the objects and field maps it adds, removes or changes against\n" +
        "the last applied version, plus a dry-run summary of the next sync when both systems are reachable\n" +
        "(nothing is written to them). An unchanged file records nothing. `accord changes FILE` lists them.",
    )
    .argument("<file>", "integration file (YAML)")
    .requiredOption("--why <text>", "why the file changed (required: the change log is for people)")
    .option("--author <name>", "who made the change (default $USER)")
    .option("--no-dry-run", "do not contact the systems for the dry-run summary")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord apply acme.yaml --why "map the new ERP field stock_qty_v2 after the v15.3 upgrade"
  accord apply acme.yaml --why "hourly contacts" --author ana --no-dry-run

The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).`,
    )
    .action(async (file: string, opts: { why: string; author?: string; dryRun?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (!opts.why.trim()) {
        process.stderr.write("--why must say why the file changed\n");
        process.exitCode = EXIT.invalid;
        return;
      }
      try {
        const { readFile } = await import("node:fs/promises");
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { openStore } = await import("../../store/index.ts");
        const { applySpec } = await import("../../monitor/changes.ts");
        const spec = await loadSpecFile(file);
        const text = await readFile(file, "utf8");
        const store = await openStore();
        try {
          const dryRun =
            opts.dryRun === false
              ? undefined
              : async () => {
                  const { openContext } = await import("../../engine/context.ts");
                  const { planSync } = await import("../../engine/index.ts");
                  const opened = await openContext(spec);
                  try {
                    const res = await planSync(opened.ctx, { detectDeletes: false });
                    return {
                      reachable: true,
                      totals: { ...res.totals },
                      objects: res.objects.map((o) => ({ object: o.object, ...o.counts })),
                    };
                  } finally {
                    await opened.close();
                  }
                };
          const r = await applySpec(store, spec, text, { author: opts.author ?? process.env.USER ?? "unknown", why: opts.why, dryRun });
          if (opts.json) printJson({ ok: true, recorded: r.recorded, version: r.version, diff: r.diff });
          else if (!r.recorded) process.stdout.write(`Nothing recorded: ${r.lines.join("; ")} (version #${r.previous?.id}).\n`);
          else {
            process.stdout.write(`Recorded version #${r.version?.id} of ${spec.name} by ${r.version?.author}: ${opts.why}\n`);
            for (const l of r.lines) process.stdout.write(`  ${l}\n`);
            const d = (
              (r.version?.plan ?? null) as {
                dryRun?: { totals?: Record<string, number>; reachable?: boolean; error?: string } | null;
              } | null
            )?.dryRun;
            if (d?.totals)
              process.stdout.write(
                `  dry run: ${Object.entries(d.totals)
                  .map(([k, n]) => `${k} ${n}`)
                  .join(", ")}\n`,
              );
            else if (d) process.stdout.write(`  dry run skipped: systems not reachable (${d.error ?? ""})\n`);
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
