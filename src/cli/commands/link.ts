/** `accord link FILE --plan | --apply`: go-live — pair the records both systems already have, stamp the shared id, import the rest. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("link")
    .summary("Go-live: link matching customers, stamp the shared id, import the rest (plan, apply)")
    .description(
      "Go-live linking of an object whose records already exist in both systems. --apply:\n" +
        "  1. links the pairs a person accepted in the review queue (accord review resolve ID --accept);\n" +
        "  2. matches the rest (existing links, shared keys, exact name + address, fuzzy score) and links\n" +
        "     every sure pair: a link in the store and the shared identifier (the ERP's id) stamped into\n" +
        "     the CRM record; unsure pairs and in-system duplicates go to the review queue, their records\n" +
        "     held (pinned) until a person decides, each with the per-field contributions of its score;\n" +
        "  3. runs the first sync of the object: ERP-only customers are imported into the CRM (the ERP is\n" +
        "     the source of truth for existing customers), CRM-only customers are created in the ERP when\n" +
        "     the object's create policy allows it; linked pairs take the ERP's values on shared fields.\n" +
        "--plan (default) shows the counts and writes nothing. Running it again is harmless.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--plan", "show what would be linked and imported; write nothing (default)")
    .option("--apply", "link, stamp, hold for review, and import")
    .option("-o, --object <name>", "the object to link (default: the first top-level one)")
    .option("--no-sync", "with --apply: link and stamp only; leave imports to the next `accord sync`")
    .option("--json", "print the plan / result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord audit acme.yaml && accord merge acme.yaml --apply     # clean first
  accord link acme.yaml --plan
  accord link acme.yaml --apply
  accord review list -f acme.yaml                              # the unsure pairs
  accord review resolve 21 --accept --by ana                   # same customer: linked by the next link --apply
  accord review resolve 22 --reject --by ana                   # different customers: never proposed again

Exit codes: 0 done, 2 invalid file or option, 3 a system unreachable, 4 linked but items wait for review, 1 other failure.`,
    )
    .action(async (file: string, opts: { plan?: boolean; apply?: boolean; object?: string; sync: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        if (opts.plan && opts.apply) {
          process.stderr.write("give --plan or --apply, not both\n");
          process.exitCode = EXIT.invalid;
          return;
        }
        const { openContextFromFile } = await import("../../engine/context.ts");
        const { applyLink, planLink } = await import("../../quality/link.ts");
        const opened = await openContextFromFile(file);
        try {
          const say = opts.json ? undefined : (m: string) => process.stderr.write(`${m}\n`);
          if (!opts.apply) {
            const p = await planLink(opened.ctx, { object: opts.object, onProgress: say });
            if (opts.json) printJson({ ok: true, dryRun: true, ...p });
            else {
              const g = p.goLive;
              process.stdout.write(
                [
                  `Link plan for ${p.integration} (${p.object}, create policy ${p.createPolicy}): ${g.read.crm} CRM and ${g.read.erp} ERP records`,
                  `  ${p.approved.length} pairs accepted in the review queue are linked first`,
                  `  ${g.linked.length} pairs linked and stamped${g.alreadyLinked ? ` (${g.alreadyLinked} already linked)` : ""}`,
                  `  ${g.proposals} possible matches and ${g.duplicatesHeld} suspected duplicates held for review`,
                  `  ${p.imports.toCrm} ERP-only customers imported into the CRM`,
                  `  ${p.imports.toErp} CRM-only customers created in the ERP`,
                  ...p.notes.map((n) => `  note: ${n}`),
                  "",
                  `Nothing was written. Go live with: accord link ${file} --apply`,
                ].join("\n") + "\n",
              );
            }
            return;
          }
          const r = await applyLink(opened.ctx, { object: opts.object, sync: opts.sync, onProgress: say });
          const held = r.goLive.proposals + r.goLive.duplicatesHeld;
          if (opts.json) printJson({ ok: r.approvedFailed.length === 0 && r.goLive.stampFailed.length === 0, ...r });
          else {
            const g = r.goLive;
            const t = r.sync?.totals;
            process.stdout.write(
              [
                `Linked ${r.object} of ${r.integration}: ${r.approvedLinked.length} accepted pairs, ${g.linked.length} matched pairs (${g.alreadyLinked} were linked before).`,
                ...Object.entries(g.children ?? {})
                  .filter(([, n]) => n > 0)
                  .map(([child, n]) => `Linked with their ${r.object}: ${n} ${child} records (ERP values win on shared fields).`),
                `Held for review: ${g.proposals} possible matches, ${g.duplicatesHeld} suspected duplicates (${g.reviewItems} new review items).`,
                r.sync
                  ? `Go-live sync: ${r.created.crm} customers imported into the CRM, ${r.created.erp} created in the ERP; read ${t?.read}, applied ${t?.applied}, unchanged ${t?.unchanged}, held ${t?.held}, quarantined ${t?.quarantined}.`
                  : "Go-live sync skipped (--no-sync): the next `accord sync` imports the rest.",
                ...g.stampFailed.map((f) => `  stamp failed for CRM ${f.crmId}: ${f.error} (the next sync stamps it)`),
                ...r.approvedFailed.map((f) => `  accepted pair #${f.reviewId} (${f.crmId} ↔ ${f.erpId}) not linked: ${f.error}`),
                held ? `Decide the held items: accord review list -f ${file}` : "",
              ]
                .filter(Boolean)
                .join("\n") + "\n",
            );
          }
          const quarantined = r.sync?.totals.quarantined ?? 0;
          if (held || quarantined || r.approvedFailed.length || r.goLive.stampFailed.length) process.exitCode = EXIT.attention;
        } finally {
          await opened.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
