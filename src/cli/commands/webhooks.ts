/** `accord webhooks plan|register|list|remove FILE --endpoint URL`: webhook subscriptions in both systems for the realtime objects. */
import type { Command } from "commander";

interface WebhooksOptions {
  endpoint?: string;
  object?: string[];
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

type Mode = "plan" | "register" | "remove" | "list";

async function run(mode: Mode, file: string, opts: WebhooksOptions): Promise<void> {
  const { printJson, reportError, formatTable } = await import("../output.ts");
  const { EXIT } = await import("../exit-codes.ts");
  try {
    if (mode !== "list" && !opts.endpoint) {
      process.stderr.write(
        "--endpoint is required: the address the systems deliver to, without /crm or /erp — e.g. https://accord.example.com/webhooks (accord run) or https://accord.example.com/webhooks/acme (accord server)\n",
      );
      process.exitCode = EXIT.invalid;
      return;
    }
    if (opts.endpoint && !/^https?:\/\/[^/]+/i.test(opts.endpoint)) {
      process.stderr.write(`--endpoint must be an http(s) URL (got "${opts.endpoint}")\n`);
      process.exitCode = EXIT.invalid;
      return;
    }
    const { loadSpecFile } = await import("../../spec/load.ts");
    const { connectSystems } = await import("../../server/systems.ts");
    const sub = await import("../../runtime/subscriptions.ts");
    const { secretList } = await import("../../server/served.ts");
    const spec = await loadSpecFile(file);
    const systems = await connectSystems(spec, process.env);
    try {
      if (mode === "list") {
        const rows = [];
        for (const side of ["crm", "erp"] as const) {
          const conn = systems[side];
          if (!conn.listWebhookSubscriptions) continue;
          for (const s of await conn.listWebhookSubscriptions())
            if (!opts.endpoint || s.url.startsWith(sub.sideEndpoint(opts.endpoint, side)))
              rows.push({ system: side, id: s.id, entity: s.entity, event: s.event, active: s.active, url: s.url });
        }
        if (opts.json) printJson({ integration: spec.name, subscriptions: rows });
        else
          process.stdout.write(
            rows.length
              ? `${formatTable(rows, ["system", "id", "entity", "event", "active", "url"])}\n`
              : "No webhook subscriptions held by Accord's users.\n",
          );
        return;
      }
      const endpoint = opts.endpoint as string;
      const common = { objects: opts.object, knownSecrets: { crm: secretList(process.env.ACCORD_WEBHOOK_SECRETS_CRM), erp: secretList(process.env.ACCORD_WEBHOOK_SECRETS_ERP) }, remove: mode === "remove" };
      if (mode === "plan") {
        const { plan } = await sub.planSubscriptions(spec, systems, endpoint, common);
        if (opts.json) printJson(plan);
        else {
          process.stdout.write(
            plan.steps.length
              ? `${formatTable(
                  plan.steps.map((s) => ({ system: s.side, entity: s.entity, event: s.event, action: s.action, why: s.reason })),
                  ["system", "entity", "event", "action", "why"],
                )}\nNothing was changed. Apply with: accord webhooks register ${file} --endpoint ${endpoint}\n`
              : `No realtime object needs webhooks${opts.object?.length ? " among the objects named" : ""}: polling covers the rest.\n`,
          );
        }
        return;
      }
      const r = await sub.applySubscriptions(spec, systems, endpoint, common);
      if (opts.json) printJson(r);
      else {
        const count = (a: string) => r.steps.filter((s) => s.action === a).length;
        const lines = [
          `Webhooks of ${spec.name} → ${endpoint}: ${count("create")} created, ${count("recreate")} made again, ${count("keep")} kept, ${count("remove")} removed${r.failed.length ? `, ${r.failed.length} FAILED` : ""}.`,
          ...r.steps.filter((s) => s.action === "unsupported").map((s) => `  ${s.side} ${s.entity} ${s.event}: ${s.reason}`),
          ...r.failed.map((f) => `  FAILED ${f.side} ${f.entity} ${f.event} (${f.action}): ${f.error}`),
        ];
        if (mode === "register" && (r.secrets.crm?.length || r.secrets.erp?.length))
          lines.push(
            "",
            "The endpoint must know the secrets that sign the deliveries. For `accord run`, set (keep them secret):",
            ...(["crm", "erp"] as const)
              .filter((s) => r.secrets[s]?.length)
              .map((s) => `export ACCORD_WEBHOOK_SECRETS_${s.toUpperCase()}="${r.secrets[s]?.join(",")}"`),
            "For a registered integration: accord integration set-secret NAME ACCORD_WEBHOOK_SECRETS_CRM (and _ERP), value on stdin.",
          );
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      if (r.failed.length) process.exitCode = EXIT.failure;
    } finally {
      await systems.crm.close().catch(() => {});
      await systems.erp.close().catch(() => {});
    }
  } catch (err) {
    process.exitCode = reportError(err, opts.json);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("webhooks")
    .summary("Subscribe both systems' webhooks for the realtime objects (plan, register, list, remove)")
    .description(
      "Realtime objects sync within seconds when the systems call Accord on every change; polling stays as the fallback. " +
        "These commands create those subscriptions in the systems through their APIs, for each realtime object's " +
        "entities and the events it needs (create, update, and delete unless deletes: ignore), pointing at " +
        "ENDPOINT/crm and ENDPOINT/erp. EspoCRM subscriptions skip the integration user's own changes (skipOwn) " +
        "and each has its own secret; ERPNext gets one secret per system (kept in ACCORD_WEBHOOK_SECRETS_ERP). " +
        "Running register again changes nothing that is already right.",
    );
  const common = (c: Command) =>
    c
      .argument("<file>", "integration file (YAML); the systems' URLs and credentials come from the environment as for `accord sync`")
      .option(
        "--endpoint <url>",
        "where the systems deliver, without /crm or /erp (accord run: http(s)://HOST:PORT/webhooks; accord server: …/webhooks/INTEGRATION)",
      )
      .option("--object <name>", "only these objects (repeatable or comma-separated; default: the realtime ones)", collect)
      .option("--json", "print as JSON (register: includes the secrets)");
  common(cmd.command("plan").description("Show what register would create, keep, make again or remove. Changes nothing.")).action(
    (f: string, o: WebhooksOptions) => run("plan", f, o),
  );
  common(
    cmd
      .command("register")
      .description(
        "Create the missing subscriptions, make again those whose secret is unknown, remove those no object needs; print the secrets.",
      ),
  ).action((f: string, o: WebhooksOptions) => run("register", f, o));
  common(
    cmd.command("list").description("List the subscriptions Accord's users hold in both systems (for --endpoint only, when given)."),
  ).action((f: string, o: WebhooksOptions) => run("list", f, o));
  common(
    cmd.command("remove").description("Remove every subscription pointing at --endpoint (e.g. before moving Accord to another host)."),
  ).action((f: string, o: WebhooksOptions) => run("remove", f, o));
  cmd.addHelpText(
    "after",
    `
Examples:
  accord webhooks plan acme.yaml --endpoint https://accord.acme.example/webhooks
  accord webhooks register acme.yaml --endpoint https://accord.acme.example/webhooks
  export ACCORD_WEBHOOK_SECRETS_CRM="…" ACCORD_WEBHOOK_SECRETS_ERP="…"   # as printed, then:
  accord run acme.yaml --port 8081
  accord webhooks list acme.yaml
  accord webhooks remove acme.yaml --endpoint https://old-host.acme.example/webhooks

A real EspoCRM refuses webhook URLs on internal hosts unless they are listed in its
webhookAllowedAddressList setting; ERPNext needs the integration user to be allowed to create Webhook documents.`,
  );
}
