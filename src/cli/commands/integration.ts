/** `accord integration add|list|show|set-secret|remove|enable|disable|rekey|keygen`: integrations registered in the store (Step 10). */
import type { Command } from "commander";

const ENV_HELP = `Environment:
  ACCORD_SECRET_KEY=BASE64             the key that encrypts credentials at rest (32 random bytes, base64; id k1)
  ACCORD_SECRET_KEYS="k2:NEW,k1:OLD"   several keys while rotating: the first encrypts, all decrypt
  DATABASE_URL                         PostgreSQL (postgres://…); unset = SQLite in $ACCORD_HOME or .accord/
Every accord process that runs or serves registered integrations (accord server, accord worker)
needs the same key(s). The key is never stored in the database and never printed.`;

const ROTATION_HELP = `Key rotation:
  1. accord integration keygen                          # prints a new key, e.g. NEW
  2. everywhere: ACCORD_SECRET_KEYS="k2:NEW,k1:OLD"     # restart servers and workers with both keys
  3. accord integration rekey                           # re-encrypts every integration with k2
  4. everywhere: ACCORD_SECRET_KEYS="k2:NEW"            # k1 is no longer needed; destroy it`;

interface AddOptions {
  tenant: string;
  secret: string[];
  secretsFromEnv?: boolean;
  disabled?: boolean;
  why?: string;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function withStore<T>(fn: (store: import("../../store/types.ts").Store) => Promise<T>): Promise<T> {
  const { openStore } = await import("../../store/index.ts");
  const store = await openStore();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Report an error; a key or stored-envelope problem (the key given, not a remote system) exits as invalid input (2). */
async function fail(err: unknown, json?: boolean): Promise<number> {
  const { reportError } = await import("../output.ts");
  const { EXIT } = await import("../exit-codes.ts");
  const code = reportError(err, json);
  return (err as { where?: { system?: string } } | null)?.where?.system === "accord secrets" ? EXIT.invalid : code;
}

/** Read one secret value: the whole of stdin (trailing newline dropped) when piped, else a prompt without echo. */
async function readSecretValue(variable: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  const { readPassword } = await import("./user.ts");
  process.stderr.write(`Value of ${variable} (not echoed)\n`);
  return readPassword({ confirm: false });
}

export function register(program: Command): void {
  const integration = program
    .command("integration")
    .summary("Integrations registered in the store: add, list, show, set-secret, remove, rekey, keygen (many tenants, one deployment)")
    .description(
      "Register integration files in the store so one deployment runs many tenants' integrations: each has its owner " +
        "(tenant), its schedules (from its file) and its credentials — the values of the variables the file names — encrypted at rest " +
        "with AES-256-GCM under a key from the environment. `accord server` with no FILE serves them (each user sees only " +
        "their tenant's), and `accord worker` runs them. The integration's name is the file's `name:`.",
    )
    .addHelpText(
      "after",
      `
Examples:
  export ACCORD_SECRET_KEY=$(accord integration keygen)     # once; keep it in your secret manager
  ESPOCRM_URL=… ESPOCRM_API_KEY=… ERPNEXT_URL=… ERPNEXT_API_KEY=… ERPNEXT_API_SECRET=… \\
    accord integration add acme.yaml --tenant acme --secrets-from-env
  accord integration list --tenant acme
  accord integration show acme --json                      # secret NAMES only, never values
  printf '%s' "$NEW_KEY" | accord integration set-secret acme ERPNEXT_API_KEY
  accord user add acme-ops --role reviewer --tenant acme   # sees only acme's integrations
  accord server                                            # serves every registered integration

${ENV_HELP}

${ROTATION_HELP}`,
    );

  integration
    .command("add")
    .description(
      "Register (or update, same tenant) the integration FILE describes, with the value of every variable it names (credentials, URLs). " +
        "Refuses an invalid file, or one whose variables are not all given (it lists the missing names).",
    )
    .argument("<file>", "integration file (YAML)")
    .requiredOption("--tenant <tenant>", "owner: the tenant whose users see it (letters, digits, _ . -)")
    .option(
      "--secret <NAME=VALUE>",
      "a variable's value (repeatable; visible in the process list — prefer --secrets-from-env)",
      collect,
      [],
    )
    .option("--secrets-from-env", "take the file's variables (and ACCORD_WEBHOOK_SECRETS_CRM/_ERP when set) from the current environment")
    .option("--disabled", "register it disabled (not served, not run) until `accord integration enable`")
    .option("--why <text>", "why this version (kept in the change log with the file)")
    .option("--json", "print the registration as JSON")
    .addHelpText(
      "after",
      `
Examples:
  accord integration add acme.yaml --tenant acme --secrets-from-env
  accord integration add beta.yaml --tenant beta --secret ESPOCRM_URL=https://crm.beta.example --secrets-from-env
  Re-running add with the same file updates it; variables not given keep their stored values.
  Webhook secrets (comma-separated, several while rotating) go in ACCORD_WEBHOOK_SECRETS_CRM / _ERP.

${ENV_HELP}`,
    )
    .action(async (file: string, opts: AddOptions) => {
      const { printJson } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { readFile } = await import("node:fs/promises");
        const specText = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read the integration file ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
        });
        const secrets: Record<string, string> = {};
        if (opts.secretsFromEnv) {
          const { secretsFromEnv } = await import("../../registry/index.ts");
          Object.assign(secrets, secretsFromEnv(specText, process.env, file).secrets);
        }
        for (const item of opts.secret) {
          const eq = item.indexOf("=");
          if (eq <= 0) {
            process.stderr.write(`--secret takes NAME=VALUE (got an item without "=" for ${item.slice(0, 40).replace(/=.*/, "")})\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
          secrets[item.slice(0, eq)] = item.slice(eq + 1);
        }
        const { keyringFromEnv, registerIntegration } = await import("../../registry/index.ts");
        const keyring = keyringFromEnv(process.env);
        const reg = await withStore((store) =>
          registerIntegration(store, {
            specText,
            file,
            tenant: opts.tenant,
            secrets,
            keyring,
            author: process.env.USER || process.env.LOGNAME || "accord integration add",
            ...(opts.why ? { why: opts.why } : {}),
            ...(opts.disabled ? { enabled: false } : {}),
          }),
        );
        const { specText: _t, ...shown } = reg;
        if (opts.json) printJson({ ok: true, integration: shown });
        else
          process.stdout.write(
            `Integration ${reg.name} registered for tenant ${reg.tenant}${reg.enabled ? "" : " (disabled)"}; secrets held: ${reg.secretNames.join(", ") || "none"} (encrypted with key ${keyring.current.id}).\n`,
          );
      } catch (err) {
        process.exitCode = await fail(err, opts.json);
      }
    });

  integration
    .command("list")
    .description("List registered integrations (name, tenant, enabled, secret names — never values).")
    .option("--tenant <tenant>", "only this tenant's")
    .option("--json", "print them as JSON")
    .addHelpText("after", "\nExamples:\n  accord integration list\n  accord integration list --tenant acme --json\n")
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const { formatTable, printJson } = await import("../output.ts");
      try {
        const { listIntegrations } = await import("../../registry/index.ts");
        const list = await withStore((store) => listIntegrations(store, opts.tenant ? { tenant: opts.tenant } : {}));
        const rows = list.map(({ specText: _t, ...r }) => r);
        if (opts.json) printJson({ ok: true, integrations: rows });
        else if (!rows.length)
          process.stdout.write("No integration registered yet. Register one: accord integration add FILE --tenant T --secrets-from-env\n");
        else
          process.stdout.write(
            `${formatTable(
              rows.map((r) => ({ ...r, enabled: r.enabled ? "yes" : "no", secrets: r.secretNames.join(",") })),
              ["name", "tenant", "enabled", "secrets", "updatedAt"],
            )}\n`,
          );
      } catch (err) {
        process.exitCode = await fail(err, opts.json);
      }
    });

  integration
    .command("show")
    .description("One registered integration: tenant, file hash, objects and their schedules, secret names (never values).")
    .argument("<name>", "integration name")
    .option("--json", "print it as JSON")
    .option("--file", "print the registered file's text instead")
    .addHelpText("after", "\nExamples:\n  accord integration show acme\n  accord integration show acme --file > acme.yaml\n")
    .action(async (name: string, opts: { json?: boolean; file?: boolean }) => {
      const { printJson } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { getIntegration } = await import("../../registry/index.ts");
        const reg = await withStore((store) => getIntegration(store, name));
        if (!reg) {
          const { NotFound } = await import("../../errors.ts");
          throw new NotFound(`no integration named ${name} is registered in this store`, {
            hint: "List them with `accord integration list`.",
          });
        }
        if (opts.file) {
          process.stdout.write(reg.specText);
          return;
        }
        const { loadSpec } = await import("../../spec/load.ts");
        const { describeSchedule } = await import("../../spec/doc.ts");
        const spec = loadSpec(reg.specText, `(registered integration ${name})`);
        const objects = spec.objects.map((o) => ({
          name: o.name,
          crm: o.crm.entity,
          erp: o.erp.entity,
          schedule: describeSchedule(o.schedule),
        }));
        const { specText: _t, ...shown } = reg;
        if (opts.json) printJson({ ok: true, integration: { ...shown, owner: spec.owner, objects } });
        else {
          process.stdout.write(
            `${reg.name}  tenant ${reg.tenant}  ${reg.enabled ? "enabled" : "DISABLED"}\n` +
              `  owner:   ${spec.owner.name} <${spec.owner.email}>\n` +
              `  file:    sha256 ${reg.specHash.slice(0, 16)}…  (accord integration show ${reg.name} --file)\n` +
              `  secrets: ${reg.secretNames.join(", ") || "none"}\n` +
              `  updated: ${reg.updatedAt}\n  objects:\n${objects.map((o) => `    ${o.name.padEnd(18)} ${o.crm} ↔ ${o.erp}  (${o.schedule})`).join("\n")}\n`,
          );
        }
      } catch (err) {
        process.exitCode = await fail(err, opts.json);
        if (process.exitCode === EXIT.failure && (err as { errorClass?: string }).errorClass === "NotFound")
          process.exitCode = EXIT.invalid;
      }
    });

  integration
    .command("set-secret")
    .description("Set one variable's value (read from stdin, or asked for without echo); --unset removes it.")
    .argument("<name>", "integration name")
    .argument("<variable>", "variable name, e.g. ERPNEXT_API_KEY or ACCORD_WEBHOOK_SECRETS_CRM")
    .option("--unset", "remove the variable instead")
    .addHelpText(
      "after",
      `
Examples:
  printf '%s' "$KEY" | accord integration set-secret acme ERPNEXT_API_KEY
  accord integration set-secret acme ESPOCRM_API_KEY          # asks, no echo
  printf 'new,old' | accord integration set-secret acme ACCORD_WEBHOOK_SECRETS_CRM
  accord integration set-secret acme ACCORD_WEBHOOK_SECRETS_ERP --unset

${ENV_HELP}`,
    )
    .action(async (name: string, variable: string, opts: { unset?: boolean }) => {
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { keyringFromEnv, setSecret } = await import("../../registry/index.ts");
        const keyring = keyringFromEnv(process.env);
        let value: string | undefined;
        if (!opts.unset) {
          value = await readSecretValue(variable);
          if (!value) {
            process.stderr.write(`no value given for ${variable}: nothing changed (use --unset to remove it)\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
        }
        const reg = await withStore((store) => setSecret(store, name, variable, value, keyring));
        process.stdout.write(
          `${variable} of ${reg.name} ${opts.unset ? "removed" : "set"}; secrets held: ${reg.secretNames.join(", ") || "none"}.\n`,
        );
      } catch (err) {
        process.exitCode = await fail(err);
      }
    });

  integration
    .command("remove")
    .description("Remove a registration and its credentials (its links, runs and history stay in the store).")
    .argument("<name>", "integration name")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExample:\n  accord integration remove acme\n")
    .action(async (name: string, opts: { json?: boolean }) => {
      const { printJson } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const { removeIntegration } = await import("../../registry/index.ts");
        const removed = await withStore((store) => removeIntegration(store, name));
        if (opts.json) printJson({ ok: removed, removed });
        else process.stdout.write(removed ? `Integration ${name} removed.\n` : `No integration named ${name} is registered.\n`);
        if (!removed) process.exitCode = EXIT.invalid;
      } catch (err) {
        process.exitCode = await fail(err, opts.json);
      }
    });

  for (const [cmd, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    integration
      .command(cmd)
      .description(
        enabled
          ? "Enable a registered integration (served and run again)."
          : "Disable a registered integration: kept, but not served or run.",
      )
      .argument("<name>", "integration name")
      .addHelpText("after", `\nExample:\n  accord integration ${cmd} acme\n`)
      .action(async (name: string) => {
          try {
          const { setEnabled } = await import("../../registry/index.ts");
          await withStore((store) => setEnabled(store, name, enabled));
          process.stdout.write(`Integration ${name} ${enabled ? "enabled" : "disabled"}.\n`);
        } catch (err) {
          process.exitCode = await fail(err);
        }
      });
  }

  integration
    .command("rekey")
    .description(
      "Re-encrypt every registered integration's credentials with the current key (the first of ACCORD_SECRET_KEYS). " +
        "All are decrypted first: if one does not open, nothing is written.",
    )
    .option("--json", "print the counts as JSON")
    .addHelpText("after", `\nExample:\n  ACCORD_SECRET_KEYS="k2:$NEW,k1:$OLD" accord integration rekey\n\n${ROTATION_HELP}`)
    .action(async (opts: { json?: boolean }) => {
      const { printJson } = await import("../output.ts");
      try {
        const { keyringFromEnv, rekey } = await import("../../registry/index.ts");
        const keyring = keyringFromEnv(process.env);
        const report = await withStore((store) => rekey(store, keyring));
        if (opts.json) printJson({ ok: true, ...report });
        else
          process.stdout.write(
            `${report.total} integration(s): ${report.rekeyed} moved to key ${report.currentKey}, ${report.alreadyCurrent} already on it` +
              ` (before: ${
                Object.entries(report.before)
                  .map(([k, n]) => `${k}=${n}`)
                  .join(", ") || "none"
              }).\n` +
              (report.total ? `Once every process has ${report.currentKey}, the old keys can leave ACCORD_SECRET_KEYS.\n` : ""),
          );
      } catch (err) {
        process.exitCode = await fail(err, opts.json);
      }
    });

  integration
    .command("keygen")
    .description("Print a new random 32-byte key (base64) for ACCORD_SECRET_KEY / ACCORD_SECRET_KEYS. Nothing is stored.")
    .addHelpText(
      "after",
      `\nExamples:\n  export ACCORD_SECRET_KEY=$(accord integration keygen)\n  openssl rand -base64 32     # the same thing\n\n${ROTATION_HELP}`,
    )
    .action(async () => {
      const { generateKey } = await import("../../registry/crypto.ts");
      process.stdout.write(`${generateKey()}\n`);
    });
}
