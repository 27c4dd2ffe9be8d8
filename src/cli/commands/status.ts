/** `accord status FILE`: one screen telling an owner whether all is well. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("status")
    .summary("One screen: is the integration healthy?")
    .description(
      "Per object: its schedule, the last run and its counts, whether it is fresh, reviews waiting,\n" +
        "records quarantined, mappings paused by schema drift; the active alerts; the last recorded change\n" +
        "of the file. A live schema check runs when both systems are reachable (skip with --offline).\n" +
        "Verdict: ALL WELL, NEEDS ATTENTION, or FAILING.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--monitor <path>", "monitor settings file (default: the `monitor:` section of FILE, else FILE with .monitor.yaml when present)")
    .option("--offline", "only the store: do not contact the systems")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord status acme.yaml
  accord status acme.yaml --offline --json | jq .verdict

Exit codes: 0 all well, 4 needs attention, 1 failing (a failed run, a critical alert, paused mappings).`,
    )
    .action(async (file: string, opts: { monitor?: string; offline?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { openStore } = await import("../../store/index.ts");
        const { loadMonitorSettings } = await import("../../monitor/settings.ts");
        const { checkDrift } = await import("../../monitor/drift.ts");
        const { statusOf, renderStatus } = await import("../../monitor/status.ts");
        const spec = await loadSpecFile(file);
        const settings = loadMonitorSettings(file, opts.monitor);
        const store = await openStore();
        try {
          let drift: Awaited<ReturnType<typeof checkDrift>> | { error: string } | undefined;
          if (!opts.offline) {
            try {
              drift = await checkDrift(spec, store, settings);
            } catch (err) {
              drift = { error: err instanceof Error ? err.message : String(err) };
            }
          }
          const s = await statusOf(spec, store, settings, drift);
          if (opts.json) printJson(s);
          else process.stdout.write(`${renderStatus(s)}\n`);
          process.exitCode = s.verdict === "ok" ? EXIT.ok : s.verdict === "attention" ? EXIT.attention : EXIT.failure;
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
