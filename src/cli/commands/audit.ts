/** `accord audit FILE`: what is wrong with the data in both systems before go-live. Reads only. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("audit")
    .summary("Audit both systems before go-live: duplicates, missing fields, formats, pairs")
    .description(
      "Audit the data in both systems before they are connected. Per system: duplicate clusters, records\n" +
        "missing a field the integration requires (mapped `required`, the shared identifier, a child's parent),\n" +
        "inconsistent formats (whitespace, phone, e-mail, country, postal code, name casing, legal-suffix\n" +
        "variants) and values a value map cannot carry. Across systems: probable pairs, pairs to review,\n" +
        "CRM-only and ERP-only records. Prints a short summary, then every problem as a table.\n" +
        "Reads only: nothing is written anywhere.",
    )
    .argument("<file>", "integration file (YAML)")
    .option(
      "-o, --object <name>",
      "the object to audit with its children (default: all objects; duplicates and pairs on the first top-level one)",
    )
    .option("--csv <file>", "also write every problem as CSV to this file")
    .option("--limit <n>", "rows of the details table (default 200; 0 = summary only)", "200")
    .option("--json", "print the whole report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord audit acme.yaml
  accord audit acme.yaml --object customer --limit 0       # the summary only
  accord audit acme.yaml --csv audit.csv                   # every problem, for a spreadsheet
  accord audit acme.yaml --json | jq '.issues[] | select(.problem=="missing-field")'

What next: \`accord fix FILE --plan\` (formats, by the file's standardize: rules), \`accord merge FILE --plan\`
(duplicates), \`accord link FILE --plan\` (pairs, ERP-only and CRM-only customers).
Credentials come from the environment variables the file names (see \`accord validate FILE\`).
Exit codes: 0 audited, 2 invalid file or option, 3 a system unreachable or refusing credentials, 1 other failure.`,
    )
    .action(async (file: string, opts: { object?: string; csv?: string; limit: string; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 0) {
          process.stderr.write(`--limit must be a whole number ≥ 0 (got "${opts.limit}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { openContextFromFile } = await import("../../engine/context.ts");
        const { auditIntegration } = await import("../../quality/audit.ts");
        const { auditCsv, renderAuditSummary, renderAuditTable } = await import("../../quality/report.ts");
        const opened = await openContextFromFile(file);
        try {
          const report = await auditIntegration(opened.ctx, {
            object: opts.object,
            onProgress: opts.json ? undefined : (m) => process.stderr.write(`${m}\n`),
          });
          if (opts.csv) {
            const { writeFileSync } = await import("node:fs");
            writeFileSync(opts.csv, auditCsv(report));
          }
          if (opts.json) printJson({ ok: true, ...report });
          else {
            process.stdout.write(`${renderAuditSummary(report)}\n`);
            if (limit > 0 && report.issues.length > 0) process.stdout.write(`\n${renderAuditTable(report.issues, { limit })}\n`);
            if (opts.csv) process.stdout.write(`\n${report.issues.length} problems written to ${opts.csv}\n`);
          }
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
