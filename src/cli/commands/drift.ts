/** `accord drift FILE` / `accord drift accept FILE`: schema drift against the integration file and the accepted snapshot. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("drift")
    .summary("Check both systems' schemas against the integration file and the accepted snapshot")
    .description(
      "Describe both systems and compare them with the integration file and with the last accepted schema\n" +
        "snapshot: mapped fields removed or renamed (with the likely new name), types changed, picklist\n" +
        "options changed, new required fields on a system Accord creates records in. Under the object's\n" +
        "policy (monitor settings `drift`: pause | ignore-additions | alert-only) the mappings a finding\n" +
        "breaks are paused by `accord run` — nothing is written with a missing or wrong field — while the\n" +
        "rest keeps syncing. Once the map is fixed, `accord drift accept FILE` records the systems' current\n" +
        "schema as the new accepted snapshot.",
    )
    .argument("<args...>", "FILE, or: accept FILE")
    .option("--monitor <path>", "monitor settings file (default: the `monitor:` section of FILE, else FILE with .monitor.yaml when present)")
    .option("--force", "accept even though the file still maps fields that are gone")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord drift acme.yaml                 # report; exit 4 when something drifted
  accord drift accept acme.yaml          # after fixing the map: the current schema becomes the baseline
  accord drift acme.yaml --json | jq '.findings[] | select(.kind=="field-removed")'

The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).
Exit codes: 0 no drift, 4 drift found (or accept refused), 2 invalid file, 3 a system unreachable.`,
    )
    .action(async (args: string[], opts: { monitor?: string; force?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      const accept = args[0] === "accept";
      const file = accept ? args[1] : args[0];
      if (!file || args.length > (accept ? 2 : 1)) {
        process.stderr.write("usage: accord drift FILE | accord drift accept FILE\n");
        process.exitCode = EXIT.invalid;
        return;
      }
      try {
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { openStore } = await import("../../store/index.ts");
        const { loadMonitorSettings } = await import("../../monitor/settings.ts");
        const { checkDrift, acceptSnapshot, renderDrift } = await import("../../monitor/drift.ts");
        const spec = await loadSpecFile(file);
        const settings = loadMonitorSettings(file, opts.monitor);
        const store = await openStore();
        try {
          const report = await checkDrift(spec, store, settings);
          const { current: _c, ...shown } = report;
          if (!accept) {
            if (opts.json) printJson({ ok: true, ...shown });
            else process.stdout.write(`${renderDrift(report)}\n`);
            process.exitCode = report.findings.some((f) => f.action !== "none") ? EXIT.attention : EXIT.ok;
            return;
          }
          const stillBroken = report.findings.filter((f) => f.kind === "field-removed" || f.kind === "entity-missing");
          if (stillBroken.length && !opts.force) {
            process.stderr.write(
              `Not accepted: the integration file still uses what is gone:\n${stillBroken.map((f) => `  ${f.message}`).join("\n")}\nFix the map (e.g. the new field name), then accept again — or --force.\n`,
            );
            process.exitCode = EXIT.attention;
            return;
          }
          await acceptSnapshot(store, spec.name, report.current);
          if (opts.json) printJson({ ok: true, accepted: true, findings: report.findings });
          else
            process.stdout.write(
              `Accepted the current schema of both systems for ${spec.name} (${report.findings.length} difference(s) now part of the baseline).\n`,
            );
          process.exitCode = EXIT.ok;
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
