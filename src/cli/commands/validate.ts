/** `accord validate FILE`: check an integration file; exit 0 valid, 2 invalid. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("validate")
    .summary("Check an integration file; every problem with file:line:column and a fix (exit 2 if invalid)")
    .description(
      "Check an integration file: YAML syntax, keys, directions, conflict policies, transforms, schedules, connector types and ${ENV_VAR} credentials. Every problem is listed with its file:line:column and what would be right. Environment variables are only referenced, not needed.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--json", "print the result as JSON")
    .option("--check-env", "also check that every referenced environment variable (url, credentials) is set; values are never printed")
    .addHelpText(
      "after",
      `
Examples:
  accord validate examples/espocrm-erpnext.yaml
  accord validate acme.yaml --check-env        # before a first run: are all variables set?
  accord validate acme.yaml --json | jq '.issues[] | "\\(.line): \\(.message)"'

Exit codes: 0 valid, 2 invalid (problems printed to stderr, or as JSON on stdout with --json).`,
    )
    .action(async (file: string, opts: { json?: boolean; checkEnv?: boolean }) => {
      const { loadSpecFile, resolveCredentials, resolveUrl } = await import("../../spec/load.ts");
      const { SpecError } = await import("../../errors.ts");
      const { describeSchedule } = await import("../../spec/doc.ts");
      const { printJson, formatTable, reportError } = await import("../output.ts");
      try {
        const spec = await loadSpecFile(file);
        if (opts.checkEnv) {
          const issues = [];
          for (const side of ["crm", "erp"] as const) {
            for (const check of [() => resolveUrl(spec.systems[side], process.env, { side, file }), () => resolveCredentials(spec.systems[side], process.env, { side, file })]) {
              try {
                check();
              } catch (e) {
                if (e instanceof SpecError) issues.push(...e.issues);
                else throw e;
              }
            }
          }
          if (issues.length) throw new SpecError(`${file} is valid, but ${issues.length} environment variable${issues.length === 1 ? " is" : "s are"} not set.`, issues);
        }
        const objects = spec.objects.map((o) => ({
          object: o.name,
          crm: o.crm.entity,
          erp: o.erp.entity,
          fields: o.fields.length,
          both: o.fields.filter((f) => f.direction === "both").length,
          "crm->erp": o.fields.filter((f) => f.direction === "crm->erp").length,
          "erp->crm": o.fields.filter((f) => f.direction === "erp->crm").length,
          schedule: describeSchedule(o.schedule),
          parent: o.parent?.object ?? "",
        }));
        if (opts.json) {
          printJson({ ok: true, file, name: spec.name, systems: { crm: spec.systems.crm.type, erp: spec.systems.erp.type }, objects });
        } else {
          const total = objects.reduce((n, o) => n + o.fields, 0);
          process.stdout.write(
            `${file} is valid: integration "${spec.name}", ${spec.systems.crm.type} ↔ ${spec.systems.erp.type}, ` +
              `${objects.length} object${objects.length === 1 ? "" : "s"}, ${total} mapped field${total === 1 ? "" : "s"}.\n\n` +
              `${formatTable(objects, ["object", "crm", "erp", "fields", "both", "crm->erp", "erp->crm", "schedule", "parent"])}\n`,
          );
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
