/** `accord history FILE OBJECT ID`: the change log of one record — who changed what, from where, under which rule. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("history")
    .summary("The change log of one record: before, after, source, rule, run")
    .description(
      "Show the history of one record as Accord wrote it: per field the value before and after, the\n" +
        "system written, where the value came from, the rule that decided it, and the run.\n" +
        "ID is the record's id in either system; the history of its linked counterpart is shown with it.",
    )
    .argument("<file>", "integration file (YAML)")
    .argument("<object>", "object name in the file, e.g. customer")
    .argument("<id>", "record id in the CRM or the ERP")
    .option("--json", "print the history as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord history acme.yaml customer CUST-00042
  accord history acme.yaml customer 64f0c2a1b3e4d5f67 --json

The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).`,
    )
    .action(async (file: string, object: string, id: string, opts: { json?: boolean }) => {
      const { printJson, formatTable, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { openStoreForFile } = await import("../../engine/context.ts");
        const { spec, store } = await openStoreForFile(file);
        try {
          if (!spec.objects.some((o) => o.name === object)) {
            process.stderr.write(`No object "${object}" in ${file}. Objects: ${spec.objects.map((o) => o.name).join(", ")}.\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
          const link =
            (await store.getLink(spec.name, object, { crmId: id })) ??
            (await store.getLink(spec.name, object, { erpId: id })) ??
            (await store.getLink(spec.name, object, { sharedId: id }));
          const ids = [...new Set([id, link?.crmId, link?.erpId].filter((x): x is string => typeof x === "string"))];
          const entries = (await Promise.all(ids.map((rid) => store.history(spec.name, object, rid))))
            .flat()
            .sort((a, b) => (a.at ?? "").localeCompare(b.at ?? "") || (a.id ?? 0) - (b.id ?? 0));
          if (opts.json) {
            printJson({ ok: true, integration: spec.name, object, id, link: link ?? null, entries });
            return;
          }
          process.stdout.write(
            link
              ? `${object} link #${link.id}: crm ${link.crmId ?? "–"} ↔ erp ${link.erpId ?? "–"} (shared id ${link.sharedId ?? "–"}, ${link.status}${link.pinned ? ", pinned" : ""})\n\n`
              : `${object} ${id}: not linked\n\n`,
          );
          if (entries.length === 0) {
            process.stdout.write("No changes recorded.\n");
            return;
          }
          const rows = entries.map((e) => ({
            at: e.at,
            run: e.runId ?? "",
            target: `${e.target} ${e.recordId}`,
            field: e.field,
            before: e.before,
            after: e.after,
            source: e.source,
            rule: e.rule,
          }));
          process.stdout.write(`${formatTable(rows, ["at", "run", "target", "field", "before", "after", "source", "rule"])}\n`);
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
