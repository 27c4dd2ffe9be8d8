/** `accord merge FILE --plan | --apply`: merge duplicate records within each system, with the system's own merge. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("merge")
    .summary("Merge duplicate records within each system (plan, apply)")
    .description(
      "Merge each accepted duplicate cluster within a system (the clusters `accord audit` lists; a cluster\n" +
        "is accepted unless a person dismissed its review item) with the system's own merge: EspoCRM's merge\n" +
        "action, ERPNext's rename-with-merge. They move the related records (contacts, deals, addresses,\n" +
        "orders …) to one survivor and remove the others. The survivor is the record already linked, else\n" +
        "the most complete, else the most recent; fields it lacks take the others' values. Store links\n" +
        "follow the survivor. Where a system has no merge, the plan lists what a person must merge by hand.\n" +
        "--plan (default) writes nothing.",
    )
    .argument("<file>", "integration file (YAML)")
    .option("--plan", "show the merges; write nothing (default)")
    .option("--apply", "make the merges")
    .option("-o, --object <name>", "the object whose records are merged (default: the first top-level one)")
    .option("--side <side>", "only this system: crm | erp")
    .option("--cluster <id...>", "only these clusters (ids from the plan)")
    .option("--json", "print the plan / result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord merge acme.yaml --plan
  accord merge acme.yaml --apply --side crm
  accord merge acme.yaml --apply --cluster 66f5e0a1000a79798
  accord review dismiss 17     # a duplicate hold that is really two organisations: never merged

Exit codes: 0 done, 2 invalid file or option, 3 a system unreachable, 4 some merges failed or need a person, 1 other failure.`,
    )
    .action(
      async (
        file: string,
        opts: { plan?: boolean; apply?: boolean; object?: string; side?: string; cluster?: string[]; json?: boolean },
      ) => {
        const { printJson, reportError } = await import("../output.ts");
        const { EXIT } = await import("../exit-codes.ts");
        try {
          if (opts.plan && opts.apply) {
            process.stderr.write("give --plan or --apply, not both\n");
            process.exitCode = EXIT.invalid;
            return;
          }
          if (opts.side !== undefined && opts.side !== "crm" && opts.side !== "erp") {
            process.stderr.write(`--side must be crm or erp (got "${opts.side}")\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
          const { openContextFromFile } = await import("../../engine/context.ts");
          const { applyMerges, planMerges } = await import("../../quality/merge.ts");
          const opened = await openContextFromFile(file);
          try {
            const say = opts.json ? undefined : (m: string) => process.stderr.write(`${m}\n`);
            const plan = await planMerges(opened.ctx, {
              object: opts.object,
              side: opts.side as "crm" | "erp" | undefined,
              clusters: opts.cluster,
              onProgress: say,
            });
            if (!opts.apply) {
              if (opts.json) printJson({ ok: true, dryRun: true, ...plan });
              else process.stdout.write(`${renderMergePlan(plan)}\nNothing was written. Merge with: accord merge ${file} --apply\n`);
              return;
            }
            const res = await applyMerges(opened.ctx, plan, { onProgress: say });
            if (opts.json) printJson({ ok: res.failed.length === 0, ...res });
            else {
              process.stdout.write(
                `Merged ${res.merged.length} clusters (${res.merged.reduce((n, m) => n + m.otherIds.length, 0)} records removed); ` +
                  `${res.linksRepointed} links moved to survivors, ${res.linksFlagged} flagged, ${res.reviewsClosed} review items settled.\n`,
              );
              for (const f of res.failed) process.stdout.write(`  FAILED ${f.system} cluster ${f.clusterId}: ${f.error}\n`);
              if (res.manual.length)
                process.stdout.write(`${res.manual.length} clusters need a person (no merge in that system); see --plan.\n`);
            }
            if (res.failed.length || res.manual.length) process.exitCode = EXIT.attention;
          } finally {
            await opened.close();
          }
        } catch (err) {
          process.exitCode = reportError(err, opts.json);
        }
      },
    );
}

type Plan = import("../../quality/merge.ts").MergePlan;

function renderMergePlan(plan: Plan): string {
  const lines: string[] = [];
  const api = plan.groups.filter((g) => g.how === "api");
  const manual = plan.groups.filter((g) => g.how === "manual");
  lines.push(
    `Merge plan for ${plan.integration} (${plan.object}): ${api.length} clusters merged by the system, ${manual.length} to merge by hand, ${plan.skipped.length} skipped.`,
  );
  for (const g of plan.groups) {
    lines.push("");
    lines.push(`${g.system.toUpperCase()} ${g.entity} cluster ${g.clusterId} — ${g.how === "api" ? "system merge" : "MERGE BY HAND"}`);
    lines.push(`  keep   ${g.survivorId}  ${g.labels[g.survivorId] ?? ""}  (${g.survivorReason})`);
    for (const id of g.otherIds) lines.push(`  merge  ${id}  ${g.labels[id] ?? ""}`);
    for (const t of g.takes) lines.push(`  value  ${t.field} = ${JSON.stringify(t.value)}  (from ${t.from})`);
    for (const r of g.links.repoint) lines.push(`  link   #${r.linkId} (${r.object}) moves from ${r.from} to the survivor`);
    for (const f of g.links.flag) lines.push(`  link   #${f.linkId} (${f.object}) of ${f.recordId} is flagged: the survivor has its own`);
    if (g.why[0]) lines.push(`  why    ${g.why[0]}`);
  }
  if (plan.skipped.length) {
    lines.push("");
    for (const s of plan.skipped)
      lines.push(`skipped ${s.system.toUpperCase()} cluster ${s.clusterId} (${s.recordIds.join(", ")}): ${s.reason}`);
  }
  return lines.join("\n");
}
