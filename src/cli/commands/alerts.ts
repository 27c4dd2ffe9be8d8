/** `accord alerts [list] FILE` / `accord alerts ack ID FILE`: the integration's alert incidents. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("alerts")
    .summary("List and acknowledge alert incidents")
    .description(
      "Alerts are incidents: one per rule and object (error-rate, auth, freshness, stale-value,\n" +
        "count-divergence, schema-drift, reconcile-repairs), however often the rule fires; `accord run`\n" +
        "sends a new incident to the owner (webhook, e-mail, log) and, when nobody acknowledges it within\n" +
        "`escalateAfter`, to the secondary owner. Acknowledging stops the escalation; the incident closes by\n" +
        "itself when its condition clears.",
    )
    .argument("<args...>", "FILE | list FILE | ack ID FILE")
    .option("--all", "include resolved incidents")
    .option("--by <name>", "who acknowledges (default $USER)")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord alerts acme.yaml
  accord alerts ack 12 acme.yaml --by ana
  accord alerts list acme.yaml --all --json

The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).
Exit codes: 0 no active incident (list) or acknowledged (ack), 4 active incidents, 2 bad arguments.`,
    )
    .action(async (args: string[], opts: { all?: boolean; by?: string; json?: boolean }) => {
      const { printJson, reportError, formatTable } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      const ack = args[0] === "ack";
      const list = args[0] === "list";
      const file = ack ? args[2] : list ? args[1] : args[0];
      const id = ack ? Number(args[1]) : undefined;
      if (!file || (ack && !Number.isInteger(id))) {
        process.stderr.write("usage: accord alerts [list] FILE | accord alerts ack ID FILE\n");
        process.exitCode = EXIT.invalid;
        return;
      }
      try {
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { openStore } = await import("../../store/index.ts");
        const { alertStore } = await import("../../monitor/alerts.ts");
        const spec = await loadSpecFile(file);
        const store = await openStore();
        try {
          const alerts = alertStore(store);
          if (ack) {
            const a = await alerts.getAlert(id as number);
            if (!a || a.integration !== spec.name) {
              process.stderr.write(`alert ${id} does not exist for integration ${spec.name} (list them with \`accord alerts FILE\`)\n`);
              process.exitCode = EXIT.invalid;
              return;
            }
            const by = opts.by ?? process.env.USER ?? "unknown";
            const after = await alerts.ackAlert(a.id, by);
            if (opts.json) printJson({ ok: true, alert: after });
            else
              process.stdout.write(
                `alert #${after.id} ${after.rule}${after.object ? ` (${after.object})` : ""}: ${after.status} by ${after.ackedBy}\n`,
              );
            process.exitCode = EXIT.ok;
            return;
          }
          const rows = await alerts.listAlerts(spec.name, opts.all ? {} : { status: "active" });
          if (opts.json) printJson({ ok: true, alerts: rows });
          else if (rows.length === 0) process.stdout.write(`No ${opts.all ? "" : "active "}alerts for ${spec.name}.\n`);
          else
            process.stdout.write(
              `${formatTable(
                rows.map((a) => ({
                  id: a.id,
                  status: a.status,
                  severity: a.severity,
                  rule: a.rule,
                  object: a.object,
                  times: a.occurrences,
                  since: a.firstAt,
                  last: a.lastAt,
                  message: a.message,
                })),
                ["id", "status", "severity", "rule", "object", "times", "since", "last", "message"],
              )}\n`,
            );
          process.exitCode = rows.some((a) => a.status !== "resolved") ? EXIT.attention : EXIT.ok;
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
