/** `accord fix FILE --plan | --apply | --undo RUN`: the integration file's standardisation rules, made. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("fix")
    .summary("Standardise formats by the file's standardize: rules (plan, apply, undo)")
    .description(
      "Standardise formats in both systems before go-live, by the rules the integration file declares:\n" +
        "  standardize:\n" +
        "    crm: { Account: { name: [trim, collapse-spaces, suffix], phoneNumber: [phone-e164] } }\n" +
        "    erp: { Customer: { customer_name: [trim, suffix] } }\n" +
        "Rules: trim, collapse-spaces, upper, lower, title, suffix (one spelling per legal form), phone-e164,\n" +
        "country-iso2, country-name, email, postal-code, website — applied in the order written.\n" +
        "--plan lists every change (record, field, before → after) and writes nothing. --apply makes them\n" +
        "through the connectors (a record changed since it was read is skipped) and keeps an undo log;\n" +
        "--undo RUN puts the old values back where nobody changed them since.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--plan", "list the changes; write nothing (default)")
    .option("--apply", "make the changes and keep an undo log")
    .option("--undo <run>", "revert a run made with --apply (its id, e.g. fix-20261127T031500123Z)")
    .option("--list", "list the runs that can be undone")
    .option("--side <side>", "only this system: crm | erp")
    .option("--entity <name>", "only this entity / doctype")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord fix acme.yaml --plan
  accord fix acme.yaml --apply
  accord fix acme.yaml --list
  accord fix acme.yaml --undo fix-20261127T031500123Z

Undo logs live in \${ACCORD_HOME:-.accord}/undo/; every write is also in \`accord history\`.
Exit codes: 0 done, 2 invalid file or option, 3 a system unreachable, 4 some records could not be changed, 1 other failure.`,
    )
    .action(
      async (
        file: string,
        opts: { plan?: boolean; apply?: boolean; undo?: string; list?: boolean; side?: string; entity?: string; json?: boolean },
      ) => {
        const { printJson, reportError, formatTable } = await import("../output.ts");
        const { EXIT } = await import("../exit-codes.ts");
        try {
          const modes = [opts.plan, opts.apply, opts.undo !== undefined, opts.list].filter(Boolean).length;
          if (modes > 1) {
            process.stderr.write("give one of --plan, --apply, --undo RUN, --list\n(add --help for usage)\n");
            process.exitCode = EXIT.invalid;
            return;
          }
          if (opts.side !== undefined && opts.side !== "crm" && opts.side !== "erp") {
            process.stderr.write(`--side must be crm or erp (got "${opts.side}")\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
          const q = await import("../../quality/standardize.ts");
          if (opts.list) {
            const { loadSpecFile } = await import("../../spec/load.ts");
            const spec = await loadSpecFile(file);
            const logs = q.listUndoLogs(spec.name);
            if (opts.json)
              printJson({
                ok: true,
                runs: logs.map((l) => ({ runId: l.runId, at: l.at, changes: l.entries.length, undoneAt: l.undoneAt ?? null })),
              });
            else if (logs.length === 0) process.stdout.write(`No fix runs of ${spec.name} in ${q.undoDir()}.\n`);
            else
              process.stdout.write(
                `${formatTable(
                  logs.map((l) => ({ run: l.runId, at: l.at, changes: l.entries.length, undone: l.undoneAt ?? "" })),
                  ["run", "at", "changes", "undone"],
                )}\n`,
              );
            return;
          }
          const { openContextFromFile } = await import("../../engine/context.ts");
          const opened = await openContextFromFile(file);
          try {
            const ctx = opened.ctx;
            if (opts.undo !== undefined) {
              const res = await q.undoFixes(ctx, opts.undo);
              if (opts.json) printJson({ ok: res.failed.length === 0, ...res });
              else {
                process.stdout.write(`Undo of ${res.runId}: ${res.reverted} values put back.\n`);
                for (const s of res.skipped)
                  process.stdout.write(
                    `  left alone (changed since): ${s.side} ${s.entity} ${s.recordId} ${s.field} = ${JSON.stringify(s.now)}\n`,
                  );
                for (const f of res.failed) process.stdout.write(`  FAILED ${f.side} ${f.entity} ${f.recordId}: ${f.error}\n`);
              }
              if (res.failed.length) process.exitCode = EXIT.attention;
              return;
            }
            if (!ctx.spec.standardize || (!ctx.spec.standardize.crm && !ctx.spec.standardize.erp)) {
              process.stderr.write(
                `${file} declares no standardize: rules. Add for example\n  standardize:\n    crm:\n      Account: { name: [trim, collapse-spaces, suffix], phoneNumber: [phone-e164] }\n(see accord fix --help).\n`,
              );
              process.exitCode = EXIT.invalid;
              return;
            }
            const plan = await q.planFixes(ctx, { side: opts.side as "crm" | "erp" | undefined, entity: opts.entity });
            if (!opts.apply) {
              if (opts.json) printJson({ ok: true, dryRun: true, ...plan });
              else {
                const read = plan.read.map((r) => `${r.records} ${r.side.toUpperCase()} ${r.entity}`).join(", ");
                const records = new Set(plan.changes.map((c) => `${c.side}|${c.entity}|${c.recordId}`)).size;
                process.stdout.write(
                  `Fix plan for ${plan.integration} (read ${read}): ${plan.changes.length} changes in ${records} records.\n`,
                );
                if (plan.changes.length) {
                  const clip = (v: string, n: number) => (v.length > n ? `${v.slice(0, n - 1)}…` : v);
                  const rows = plan.changes.map((c) => ({
                    system: c.side,
                    entity: c.entity,
                    record: clip(c.recordId, 24),
                    name: clip(c.label, 30),
                    field: c.field,
                    change: `${clip(JSON.stringify(c.before), 48)} → ${clip(JSON.stringify(c.after), 48)}`,
                    rules: c.rules.join(","),
                  }));
                  process.stdout.write(`\n${formatTable(rows, ["system", "entity", "record", "name", "field", "change", "rules"])}\n`);
                  process.stdout.write(`\nNothing was written. Make these changes with: accord fix ${file} --apply\n`);
                }
              }
              return;
            }
            const res = await q.applyFixes(ctx, plan);
            if (opts.json) printJson({ ok: res.failed.length === 0, ...res });
            else {
              process.stdout.write(
                `Fix run ${res.runId}: ${res.applied} values changed in ${res.records} records${res.failed.length ? `, ${res.failed.length} records NOT changed` : ""}.\n` +
                  `Undo log: ${res.undoFile}\nUndo with: accord fix ${file} --undo ${res.runId}\n`,
              );
              for (const f of res.failed) process.stdout.write(`  not changed: ${f.side} ${f.entity} ${f.recordId}: ${f.error}\n`);
            }
            if (res.failed.length) process.exitCode = EXIT.attention;
          } finally {
            await opened.close();
          }
        } catch (err) {
          process.exitCode = reportError(err, opts.json);
        }
      },
    );
}
