/** `accord schema`: print the JSON Schema of the integration file (for editors). */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("schema")
    .summary("Print the JSON Schema of the integration file (for editors)")
    .description("Print the JSON Schema of the integration file, for editor completion and checks.")
    .option("--out <file>", "write the schema to a file instead of stdout")
    .addHelpText(
      "after",
      `
Examples:
  accord schema > accord.schema.json
  # then, first line of your integration file (VS Code YAML extension):
  # yaml-language-server: $schema=./accord.schema.json`,
    )
    .action(async (opts: { out?: string }) => {
      const { integrationJsonSchema } = await import("../../spec/json-schema.ts");
      const { reportError } = await import("../output.ts");
      try {
        const text = `${JSON.stringify(integrationJsonSchema(), null, 2)}\n`;
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
