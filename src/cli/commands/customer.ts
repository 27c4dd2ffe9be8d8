/** `accord customer <id or name> -f FILE`: one customer as both systems see it (customer 360). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("customer")
    .summary("Customer 360: one customer as both systems see it")
    .description(
      "One customer as the CRM and the ERP see it, read live from both systems and the store: the\n" +
        "customer's two records field by field, its link and last sync; its contacts (objects whose parent\n" +
        "is the customer object); its deals with their ERP orders and statuses (objects that look the\n" +
        "customer up, e.g. `lookup: customer`); totals kept on its CRM record (invoiced, outstanding, paid);\n" +
        "open review items and quarantined records among all of them. What appears follows the integration\n" +
        "file's objects. Also, read live through the customer's link: its SERVICE CASES in the CRM (open\n" +
        "first: status, priority, type, subject, created) and its PAYMENT HISTORY in the ERP (payments\n" +
        "received, newest first: date, amount, mode, reference, the invoices each settles; where payments\n" +
        "live comes from the file's reports.revenue.payments).",
    )
    .argument("<id-or-name>", "CRM id, ERP id, shared id, or the exact name (in either system)")
    .requiredOption("-f, --file <file>", "integration file (YAML)")
    .option("-o, --object <name>", "the customer object of the file", "customer")
    .option("--json", "print the view as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord customer "Acme Flow GmbH" -f acme.yaml
  accord customer 6b08fec99f2e083e2 -f acme.yaml --json | jq '.related[] | select(.object=="salesOrder")'
  accord customer "Acme Flow GmbH" -f acme.yaml --json | jq '.cases.items[] | select(.open)'
  accord customer CUST-00042 -f acme.yaml --json | jq '.payments.items[] | [.date, .amount, .invoices[0]]'
  accord customer CUST-00042 -f acme.yaml          # by ERP id / shared id

Credentials come from the variables the file names; the store is the default one (DATABASE_URL, else
SQLite in $ACCORD_HOME or .accord/). Exit codes: 0 shown, 1 not found or a failure, 2 invalid file,
3 a system unreachable.`,
    )
    .action(async (query: string, opts: { file: string; object: string; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { openContextFromFile } = await import("../../engine/context.ts");
        const { customer360, renderCustomer360 } = await import("../../flows/customer360.ts");
        const opened = await openContextFromFile(opts.file);
        try {
          const view = await customer360(opened.ctx, query, opts.object);
          if (opts.json) printJson({ ok: true, ...view });
          else process.stdout.write(`${renderCustomer360(view)}\n`);
          process.exitCode = EXIT.ok;
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
