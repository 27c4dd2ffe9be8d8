/** `accord doc FILE`: render the field-mapping document of an integration file. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("doc")
    .summary("The field-mapping document of an integration file (md, csv, html)")
    .description(
      "Render the field-mapping document: per object, every field's name in CRM and ERP, data types, direction and master, transformations, conflict or master-edit rule, and schedule; with the integration's owners and systems. Formats: Markdown (default), CSV (for spreadsheets), HTML.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--format <format>", "md | csv | html", "md")
    .option("--out <file>", "write to a file instead of stdout")
    .option("--schemas <file>", "JSON file { crm?: SchemaDescription, erp?: SchemaDescription } to fill in data types")
    .addHelpText(
      "after",
      `
Examples:
  accord doc examples/espocrm-erpnext.yaml
  accord doc acme.yaml --format html --out mapping.html
  accord doc acme.yaml --format csv > mapping.csv

Without --schemas the type columns show "—".`,
    )
    .action(async (file: string, opts: { format: string; out?: string; schemas?: string }) => {
      const { reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (!["md", "csv", "html"].includes(opts.format)) {
        process.stderr.write(`error: --format must be md, csv or html (got "${opts.format}")\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      try {
        const { loadSpecFile } = await import("../../spec/load.ts");
        const { renderMappingDoc } = await import("../../spec/doc.ts");
        const spec = await loadSpecFile(file);
        let schemas: import("../../spec/doc.ts").MappingDocSchemas | undefined;
        if (opts.schemas) {
          const { readFile } = await import("node:fs/promises");
          try {
            schemas = JSON.parse(await readFile(opts.schemas, "utf8")) as import("../../spec/doc.ts").MappingDocSchemas;
          } catch (e) {
            process.stderr.write(`error: cannot read --schemas ${opts.schemas}: ${(e as Error).message}\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
        }
        const text = renderMappingDoc(spec, opts.format as "md" | "csv" | "html", schemas);
        if (opts.out) {
          const { writeFile } = await import("node:fs/promises");
          await writeFile(opts.out, text);
          process.stderr.write(`wrote ${opts.out}\n`);
        } else process.stdout.write(text);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}
