/** `accord user add|list|passwd|role|disable|enable`: the people who sign in to the web console. */
import type { Command } from "commander";

const HELP_STORE = "Users live in the store (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/), next to the integration data.";
const HELP_TENANT =
  "Tenants (many integrations in one deployment, `accord integration`): a user with --tenant T sees only T's integrations,\n" +
  "whatever the role; a platform user (no tenant) with the admin role sees all of them.";

/** Read a password: the first line of stdin (--password-stdin), or a prompt on the terminal without echo. */
export async function readPassword(opts: { stdin?: boolean; confirm?: boolean }): Promise<string> {
  if (opts.stdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const line = Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0];
    return line;
  }
  if (!process.stdin.isTTY) {
    throw new Error(
      "no terminal to ask for the password: pipe it in with --password-stdin (e.g. printf '%s\\n' \"$PW\" | accord user add NAME --role admin --password-stdin)",
    );
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      const stdin = process.stdin;
      process.stderr.write(prompt);
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding("utf8");
      let value = "";
      const done = (err?: Error) => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.removeListener("data", onData);
        process.stderr.write("\n");
        if (err) reject(err);
        else resolve(value);
      };
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n") return done();
          if (ch === "\u0003") return done(new Error("cancelled"));
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else if (ch >= " ") value += ch;
        }
      };
      stdin.on("data", onData);
    });
  const pw = await ask("Password: ");
  if (opts.confirm) {
    const again = await ask("Again: ");
    if (again !== pw) throw new Error("the two passwords differ; nothing was changed");
  }
  return pw;
}

export function register(program: Command): void {
  const user = program
    .command("user")
    .summary("Console users: add (the first admin), list, passwd, role, tenant, disable, enable")
    .description(
      "The people who sign in to the web console (`accord server`), each with a role:\n" +
        "  admin     all of it, and the user list\n" +
        "  reviewer  reads; resolves review items, acknowledges alerts, starts a sync\n" +
        "  viewer    reads; decides nothing\n" +
        "A user with a tenant (--tenant T) sees only T's registered integrations, whatever the role; a platform user (no tenant) who is admin sees all.\n" +
        "Passwords are stored as scrypt hashes. Create the first admin here, before starting the server.",
    )
    .addHelpText(
      "after",
      `
Examples:
  accord user add ana --role admin                 # asks for the password (twice, no echo)
  printf '%s\\n' "$PW" | accord user add ci --role viewer --password-stdin
  accord user list --json
  accord user passwd ana                           # also signs ana out everywhere
  accord user role bob --role reviewer
  accord user disable bob

${HELP_STORE}`,
    );

  user
    .command("add")
    .description("Add a console user (asks for the password, or reads it from stdin).")
    .argument("<name>", "user name (letters, digits, . _ @ -)")
    .requiredOption("--role <role>", "admin | reviewer | viewer")
    .option("--tenant <tenant>", "limit the user to this tenant's registered integrations (default: a platform user)")
    .option("--password-stdin", "read the password from the first line of stdin")
    .option("--json", "print the user as JSON")
    .addHelpText(
      "after",
      `\nExamples:\n  accord user add ana --role admin                       # platform admin: sees every integration\n  accord user add acme-ops --role reviewer --tenant acme  # sees only tenant acme's\n  echo "$PW" | accord user add ci --role viewer --password-stdin\n\n${HELP_STORE}\n${HELP_TENANT}`,
    )
    .action(async (name: string, opts: { role: string; tenant?: string; passwordStdin?: boolean; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      try {
        const { ROLES, isRole } = await import("../../server/auth.ts");
        if (!isRole(opts.role)) {
          const { EXIT } = await import("../exit-codes.ts");
          process.stderr.write(`--role must be one of ${ROLES.join(", ")} (got "${opts.role}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { addConsoleUser, checkUserName, publicUser } = await import("../../server/users.ts");
        checkUserName(name);
        const password = await readPassword({ stdin: opts.passwordStdin, confirm: !opts.passwordStdin });
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const u = await addConsoleUser(store, name, opts.role, password, opts.tenant ?? null);
          if (opts.json) printJson({ ok: true, user: publicUser(u) });
          else
            process.stdout.write(
              `Console user ${u.name} added as ${u.role}${opts.tenant ? ` of tenant ${opts.tenant}` : " (platform user)"}. Start the console with \`accord server\` and sign in.\n`,
            );
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  user
    .command("list")
    .description("List console users (never their passwords).")
    .option("--json", "print the users as JSON")
    .addHelpText("after", `\nExample:\n  accord user list\n\n${HELP_STORE}`)
    .action(async (opts: { json?: boolean }) => {
      const { printJson, formatTable, reportError } = await import("../output.ts");
      try {
        const { publicUser, userStore } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const users = (await userStore(store).listUsers()).map(publicUser);
          if (opts.json) printJson({ ok: true, users });
          else if (!users.length) process.stdout.write("No console users yet. Add the first admin: accord user add NAME --role admin\n");
          else
            process.stdout.write(
              `${formatTable(
                users.map((u) => ({ ...u, disabled: u.disabled ? "yes" : "" })),
                ["id", "name", "role", "tenant", "disabled", "createdAt"],
              )}\n`,
            );
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  user
    .command("passwd")
    .description("Set a user's password (signs the user out of every browser).")
    .argument("<name>", "user name")
    .option("--password-stdin", "read the password from the first line of stdin")
    .addHelpText("after", `\nExample:\n  accord user passwd ana\n\n${HELP_STORE}`)
    .action(async (name: string, opts: { passwordStdin?: boolean }) => {
      const { reportError } = await import("../output.ts");
      try {
        const password = await readPassword({ stdin: opts.passwordStdin, confirm: !opts.passwordStdin });
        const { setPassword } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          await setPassword(store, name, password);
          process.stdout.write(`Password of ${name} changed; their sessions ended.\n`);
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });

  user
    .command("role")
    .description("Change a user's role.")
    .argument("<name>", "user name")
    .requiredOption("--role <role>", "admin | reviewer | viewer")
    .addHelpText("after", `\nExample:\n  accord user role bob --role reviewer\n\n${HELP_STORE}`)
    .action(async (name: string, opts: { role: string }) => {
      const { reportError } = await import("../output.ts");
      try {
        const { ROLES, isRole } = await import("../../server/auth.ts");
        if (!isRole(opts.role)) {
          const { EXIT } = await import("../exit-codes.ts");
          process.stderr.write(`--role must be one of ${ROLES.join(", ")} (got "${opts.role}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { setRole } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          await setRole(store, name, opts.role);
          process.stdout.write(`${name} is now a ${opts.role}.\n`);
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });

  user
    .command("tenant")
    .description("Move a user to a tenant (--tenant T) or make them a platform user (--none); signs them out.")
    .argument("<name>", "user name")
    .option("--tenant <tenant>", "the tenant whose integrations the user sees")
    .option("--none", "no tenant: a platform user (an admin then sees every integration)")
    .addHelpText("after", `\nExamples:\n  accord user tenant bob --tenant acme\n  accord user tenant ana --none\n\n${HELP_TENANT}`)
    .action(async (name: string, opts: { tenant?: string; none?: boolean }) => {
      const { reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      if (Boolean(opts.tenant) === Boolean(opts.none)) {
        process.stderr.write("give exactly one of --tenant T or --none\n");
        process.exitCode = EXIT.invalid;
        return;
      }
      try {
        const { setUserTenant } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          await setUserTenant(store, name, opts.tenant ?? null);
          process.stdout.write(
            opts.tenant ? `${name} now sees tenant ${opts.tenant}'s integrations only.\n` : `${name} is now a platform user.\n`,
          );
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });

  for (const [cmd, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    user
      .command(cmd)
      .description(disabled ? "Disable a user: no sign-in, sessions and API tokens stop working." : "Enable a disabled user again.")
      .argument("<name>", "user name")
      .addHelpText("after", `\nExample:\n  accord user ${cmd} bob\n\n${HELP_STORE}`)
      .action(async (name: string) => {
        const { reportError } = await import("../output.ts");
        try {
          const { setDisabled } = await import("../../server/users.ts");
          const { openStore } = await import("../../store/index.ts");
          const store = await openStore();
          try {
            await setDisabled(store, name, disabled);
            process.stdout.write(`${name} ${disabled ? "disabled" : "enabled"}.\n`);
          } finally {
            await store.close();
          }
        } catch (err) {
          process.exitCode = reportError(err);
        }
      });
  }
}
