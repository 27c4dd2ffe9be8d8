/** `accord report revenue FILE --from --to [--by] [--csv FILE] [--json] [--duckdb FILE]`: bookings vs. revenue. */
import type { Command } from "commander";

interface RevenueOpts {
  from: string;
  to: string;
  by: string;
  csv?: string;
  exceptionsCsv?: string;
  json?: boolean;
  duckdb?: string;
  max: string;
}

export function register(program: Command): void {
  const report = program
    .command("report")
    .summary("Reports over both systems (revenue reconciliation)")
    .description("Reports that read both systems through the integration file. See `accord report revenue --help`.");

  report
    .command("revenue")
    .summary("Bookings vs. ordered, invoiced and paid, per period, with exceptions")
    .description(
      "Bridges sales and finance: per period, bookings (closed-won deals' amounts by close date), ordered\n" +
        "(ERP orders by their date, in the states the file lists), invoiced (invoices by posting date) and\n" +
        "paid (payments by their own posting date — not invoices' paid amounts). Then the exceptions:\n" +
        "  deal-without-order             a won deal with no order (in a counted state)\n" +
        "  order-amount-mismatch          the order total differs from the deal amount beyond the tolerance\n" +
        "  invoice-without-order-or-deal  an invoice that refers to no known order and no known deal\n" +
        "  stale-price                    a deal line priced below the ERP price in effect at the close\n" +
        "                                 date by more than the allowed discount\n" +
        "Which entities and fields hold these figures comes from the file's `reports.revenue` section\n" +
        "(see examples/espocrm-erpnext.yaml). Reads are live, through the connectors; deals and orders\n" +
        "are paired by the deals object's links, identity field and `crm: id` field map.\n" +
        "--duckdb writes the unified model (customers, deals, deal_lines, orders, invoices, payments,\n" +
        "links) plus revenue_periods and revenue_exceptions as tables of a DuckDB file: open it in\n" +
        "Metabase (DuckDB driver), DBeaver or `duckdb FILE`.",
    )
    .argument("<file>", "integration file (YAML) with a reports.revenue section")
    .requiredOption("--from <date>", "first day, YYYY-MM-DD")
    .requiredOption("--to <date>", "last day (inclusive), YYYY-MM-DD")
    .option("--by <period>", "day | month | quarter", "month")
    .option("--csv <file>", "also write the periods as CSV (- = stdout instead of the table)")
    .option("--exceptions-csv <file>", "also write the exceptions as CSV")
    .option("--json", "print the report as JSON (periods, totals, basis, every exception)")
    .option("--duckdb <file>", "export the unified model and the report into this DuckDB file")
    .option("--max <n>", "exceptions listed in the table (the rest are counted)", "50")
    .addHelpText(
      "after",
      `
Examples:
  accord report revenue acme.yaml --from 2026-01-01 --to 2026-12-31
  accord report revenue acme.yaml --from 2026-01-01 --to 2026-12-31 --by quarter --csv revenue.csv
  accord report revenue acme.yaml --from 2026-10-01 --to 2026-10-31 --by day --json | jq '.counts'
  accord report revenue acme.yaml --from 2025-01-01 --to 2026-12-31 --duckdb acme.duckdb
    duckdb acme.duckdb "select kind, count(*) from revenue_exceptions group by 1"

Credentials come from the variables the file names; store links from the default store (DATABASE_URL,
else SQLite in $ACCORD_HOME or .accord/). Exit codes: 0 no exceptions, 4 exceptions found,
1 a failure, 2 invalid file or option, 3 a system unreachable.`,
    )
    .action(async (file: string, opts: RevenueOpts) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        if (!["day", "month", "quarter"].includes(opts.by)) {
          const { ValidationRejected } = await import("../../errors.ts");
          throw new ValidationRejected(`--by ${opts.by} is not a period`, { hint: "use --by day, month or quarter" });
        }
        const { writeFile } = await import("node:fs/promises");
        const { openContextFromFile } = await import("../../engine/context.ts");
        const rev = await import("../../flows/revenue.ts");
        const opened = await openContextFromFile(file);
        try {
          const model = await rev.loadRevenueModel(opened.ctx);
          const rep = rev.revenueReport(opened.ctx, model, { from: opts.from, to: opts.to, by: opts.by as "day" | "month" | "quarter" });
          let exported: Record<string, number> | undefined;
          if (opts.duckdb) exported = await rev.exportDuckDb(opts.duckdb, model, rep);
          if (opts.csv && opts.csv !== "-") await writeFile(opts.csv, rev.revenueCsv(rep));
          if (opts.exceptionsCsv) await writeFile(opts.exceptionsCsv, rev.revenueCsv(rep, "exceptions"));
          if (opts.json) printJson({ ok: true, ...rep, ...(exported ? { duckdb: { file: opts.duckdb, tables: exported } } : {}) });
          else if (opts.csv === "-") process.stdout.write(rev.revenueCsv(rep));
          else {
            process.stdout.write(`${rev.renderRevenue(rep, { maxExceptions: Number(opts.max) || 50 })}\n`);
            if (exported) {
              process.stdout.write(
                `\nDuckDB ${opts.duckdb}: ${Object.entries(exported)
                  .map(([t, n]) => `${t} ${n}`)
                  .join(", ")}\n`,
              );
            }
          }
          process.exitCode = rep.exceptions.length ? EXIT.attention : EXIT.ok;
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
