/** `accord review list|show|resolve|dismiss`: the review queue (held conflicts, master edits, bounces). */
import type { Command } from "commander";

const HELP_STORE = `The store is the default one (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/).`;

async function integrationName(opts: { file?: string; integration?: string }): Promise<string> {
  if (opts.integration) return opts.integration;
  if (opts.file) {
    const { loadSpecFile } = await import("../../spec/load.ts");
    return (await loadSpecFile(opts.file)).name;
  }
  const { SpecError } = await import("../../errors.ts");
  throw new SpecError("Name the integration: --file FILE (its integration file) or --integration NAME.", [
    { file: "(command line)", line: 0, column: 0, path: "", message: "no integration given", expected: "accord review list -f acme.yaml" },
  ]);
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // plain text
  }
}

type ResolveOptions = { pick?: string; value?: string; side?: string; accept?: boolean; reject?: boolean; by?: string; json?: boolean };

export function register(program: Command): void {
  const review = program
    .command("review")
    .summary("The review queue: list, show, resolve, dismiss held conflicts and edits")
    .description(
      "The review queue: fields held for a person — true conflicts under the `review` policy (or when\n" +
        "last-updated-wins cannot tell within the skew tolerance), edits of mastered fields under\n" +
        "`onMasterEdit: review`, and pairs stopped by the bounce cap. A resolution is applied by the next\n" +
        "sync of the object; the record's other fields keep syncing meanwhile.",
    )
    .addHelpText(
      "after",
      `
Examples:
  accord review list -f acme.yaml
  accord review show 12
  accord review resolve 12 --pick erp --by ana
  accord review resolve 13 --value "Acme Holding GmbH" --by ana
  accord review resolve 14 --accept --by ana        # a bounce or a master edit: keep things as they are
  accord review dismiss 15

${HELP_STORE}`,
    );

  review
    .command("list")
    .description("List review items (open ones by default).")
    .option("-f, --file <file>", "integration file (its name scopes the queue)")
    .option("-i, --integration <name>", "integration name (instead of --file)")
    .option("-o, --object <name>", "only this object")
    .option("--status <status>", "open | resolved | dismissed | all", "open")
    .option("--json", "print the items as JSON")
    .addHelpText(
      "after",
      `\nExamples:\n  accord review list -f acme.yaml\n  accord review list -i acme --status all --json\n\n${HELP_STORE}`,
    )
    .action(async (opts: { file?: string; integration?: string; object?: string; status: string; json?: boolean }) => {
      const { printJson, formatTable, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        if (!["open", "resolved", "dismissed", "all"].includes(opts.status)) {
          process.stderr.write(`--status must be one of open, resolved, dismissed, all (got "${opts.status}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const name = await integrationName(opts);
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const status = opts.status === "all" ? undefined : (opts.status as "open" | "resolved" | "dismissed");
          const items = await store.listReviews(name, { status, object: opts.object });
          if (opts.json) printJson({ ok: true, integration: name, items });
          else if (items.length === 0)
            process.stdout.write(`No ${opts.status === "all" ? "" : `${opts.status} `}review items for ${name}.\n`);
          else {
            const rows = items.map((i) => ({
              id: i.id,
              object: i.object,
              kind: i.kind,
              field: i.field ?? "",
              crm: i.crm,
              erp: i.erp,
              status: i.status,
              reason: i.reason,
            }));
            process.stdout.write(`${formatTable(rows, ["id", "object", "kind", "field", "crm", "erp", "status", "reason"])}\n`);
          }
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  review
    .command("show")
    .description("Show one review item: base, CRM and ERP values, reason, detail, resolution.")
    .argument("<id>", "review item id")
    .option("--json", "print the item as JSON")
    .addHelpText("after", `\nExample:\n  accord review show 12\n\n${HELP_STORE}`)
    .action(async (id: string, opts: { json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const n = Number(id);
        if (!Number.isInteger(n)) {
          process.stderr.write(`review item id must be a number (got "${id}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const item = await store.getReview(n);
          if (!item) {
            process.stderr.write(`No review item ${n}. List them with \`accord review list -f FILE\`.\n`);
            process.exitCode = EXIT.failure;
            return;
          }
          if (opts.json) printJson({ ok: true, item });
          else {
            const j = (v: unknown) => JSON.stringify(v);
            process.stdout.write(
              [
                `#${item.id} ${item.kind} — ${item.integration} / ${item.object}${item.field ? ` / ${item.field}` : ""}${item.linkId !== null ? ` (link #${item.linkId})` : ""}`,
                `status:  ${item.status}${item.resolvedBy ? ` by ${item.resolvedBy} at ${item.resolvedAt}` : ""}`,
                `reason:  ${item.reason}`,
                `base:    ${j(item.base)}`,
                `crm:     ${j(item.crm)}`,
                `erp:     ${j(item.erp)}`,
                `detail:  ${j(item.detail)}`,
                item.resolution !== null
                  ? `resolution: ${j(item.resolution)}`
                  : item.kind === "match"
                    ? `resolve with: accord review resolve ${item.id} --accept (the same customer) | --reject (different customers) --by NAME`
                    : `resolve with: accord review resolve ${item.id} --pick crm|erp | --value V${item.kind !== "conflict" ? " | --accept" : ""} --by NAME`,
              ].join("\n") + "\n",
            );
          }
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  review
    .command("resolve")
    .description("Decide a review item; the next sync of its object applies the decision.")
    .argument("<id>", "review item id")
    .option("--pick <side>", "crm | erp: that system's current value wins (for a master edit: the master reverts it)")
    .option("--value <value>", "this value wins (JSON or plain text; in the CRM's representation unless --side erp)")
    .option("--side <side>", "the representation of --value: crm (default) | erp")
    .option("--accept", "keep things as they are (a master edit stays; a bounce is released); a match: the records are the same")
    .option("--reject", "a match item: the records are different (never proposed or merged again; their hold is lifted)")
    .option("--by <name>", "who decides (default: $USER)")
    .option("--json", "print the resolved item as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord review resolve 12 --pick erp --by ana
  accord review resolve 13 --value "Acme Holding GmbH" --by ana
  accord review resolve 13 --value 125000 --side erp --by ana
  accord review resolve 21 --accept --by ana        # a match: same customer, linked by the next \`accord link --apply\`
  accord review resolve 22 --reject --by ana        # a match: different customers

${HELP_STORE}`,
    )
    .action(async (id: string, opts: ResolveOptions) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      const invalid = (msg: string) => {
        process.stderr.write(`${msg}\n(add --help for usage)\n`);
        process.exitCode = EXIT.invalid;
      };
      try {
        const n = Number(id);
        if (!Number.isInteger(n)) return invalid(`review item id must be a number (got "${id}")`);
        const chosen = [opts.pick !== undefined, opts.value !== undefined, opts.accept === true, opts.reject === true].filter(
          Boolean,
        ).length;
        if (chosen !== 1) return invalid("give exactly one of --pick crm|erp, --value V, --accept, --reject");
        if (opts.pick !== undefined && opts.pick !== "crm" && opts.pick !== "erp")
          return invalid(`--pick must be crm or erp (got "${opts.pick}")`);
        if (opts.side !== undefined && opts.side !== "crm" && opts.side !== "erp")
          return invalid(`--side must be crm or erp (got "${opts.side}")`);
        const { userInfo } = await import("node:os");
        const by = opts.by ?? process.env.USER ?? userInfo().username;
        const { openStore } = await import("../../store/index.ts");
        const { resolveReview } = await import("../../engine/index.ts");
        const store = await openStore();
        try {
          if (opts.reject) {
            const { rejectMatch } = await import("../../quality/link.ts");
            const item = await rejectMatch(store, n, by);
            if (opts.json) printJson({ ok: true, item });
            else
              process.stdout.write(
                `Review item #${item.id} rejected by ${by}: the records are different; they will not be proposed again.\n`,
              );
            return;
          }
          const resolution =
            opts.pick !== undefined
              ? { pick: opts.pick as "crm" | "erp" }
              : opts.value !== undefined
                ? {
                    value: parseValue(opts.value) as import("../../store/types.ts").Json,
                    ...(opts.side ? { side: opts.side as "crm" | "erp" } : {}),
                  }
                : { accept: true as const };
          const item = await resolveReview(store, n, resolution, by);
          if (opts.json) printJson({ ok: true, item });
          else
            process.stdout.write(
              `Review item #${item.id} resolved by ${by}: ${JSON.stringify(resolution)}. The next \`accord ${item.kind === "match" ? "link --apply" : "sync"}\` of ${item.object} applies it.\n`,
            );
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  review
    .command("dismiss")
    .description("Dismiss a review item without deciding (a still-conflicting field will be held again).")
    .argument("<id>", "review item id")
    .option("--json", "print the result as JSON")
    .addHelpText("after", `\nExample:\n  accord review dismiss 15\n\n${HELP_STORE}`)
    .action(async (id: string, opts: { json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const n = Number(id);
        if (!Number.isInteger(n)) {
          process.stderr.write(`review item id must be a number (got "${id}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          await store.closeReview(n, "dismissed");
          if (opts.json) printJson({ ok: true, id: n, status: "dismissed" });
          else process.stdout.write(`Review item #${n} dismissed.\n`);
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });
}
