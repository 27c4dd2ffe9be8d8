#!/usr/bin/env node
/**
 * The `accord` command. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; implementations are imported lazily inside actions so that
 * `accord --help` and quick commands start fast.
 */
import { Command } from "commander";
import { EXIT, EXIT_HELP } from "./exit-codes.ts";
import { commands } from "./commands/index.ts";

const program = new Command();
program
  .name("accord")
  .description(
    "Accord keeps a CRM and an ERP on one version of reality: it audits and links customers,\n" +
      "syncs mapped fields by declared masters and conflict policies, and runs quote-to-cash.\n" +
      "Every command takes --help. Start with `accord validate FILE` and `accord doc FILE`.",
  )
  .version("0.1.0")
  .showHelpAfterError("(add --help for usage)")
  .addHelpText("after", `\n${EXIT_HELP}\n\nEnvironment:\n  DATABASE_URL   use PostgreSQL for the store (default: SQLite in .accord/accord.db)\n  ACCORD_HOME    folder for local state (default: .accord in the current directory)\n`);

program.exitOverride((err) => {
  // commander: help/version exit 0; usage errors exit 2 (invalid input)
  if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") process.exit(EXIT.ok);
  process.exit(EXIT.invalid);
});

for (const register of commands) register(program);

/**
 * Descriptions are written hard-wrapped in the source; let the terminal's width wrap them instead:
 * within a paragraph, a line break that does not start a list item or an indented line is a space.
 */
function reflow(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((para) => para.replace(/\n(?![ \t]|[-*•] |\d+[.)] )/g, " "))
    .join("\n\n");
}
function reflowAll(cmd: Command): void {
  const d = cmd.description();
  if (d) cmd.description(reflow(d));
  for (const sub of cmd.commands) reflowAll(sub);
}
reflowAll(program);

process.on("SIGINT", () => process.exit(EXIT.interrupted));
// `accord … | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(EXIT.ok);
  throw err;
});

await program.parseAsync(process.argv);
