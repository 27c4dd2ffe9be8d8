/** `accord token create|list|revoke`: API tokens for automation against the console's HTTP API. */
import type { Command } from "commander";

const HELP_STORE = "Tokens live in the store (DATABASE_URL, else SQLite in $ACCORD_HOME or .accord/); only their SHA-256 hash is kept.";

export function register(program: Command): void {
  const token = program
    .command("token")
    .summary("API tokens for automation: create, list, revoke")
    .description(
      "API tokens let scripts call the console's HTTP API (`accord server`) as a user, with that user's " +
        "role: send `Authorization: Bearer TOKEN`. The token is shown once, when created; the store keeps " +
        "only its hash. Tokens need no CSRF header (they are not cookies).",
    )
    .addHelpText(
      "after",
      `
Examples:
  accord token create --user ci --label nightly-report --expires 90d
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/integrations/acme/dashboard
  accord token list --user ci
  accord token revoke 3

${HELP_STORE}`,
    );

  token
    .command("create")
    .description("Create an API token for a user (printed once).")
    .requiredOption("--user <name>", "the console user the token acts as")
    .option("--label <label>", "what the token is for", "api")
    .option("--expires <duration>", "lifetime, e.g. 30d, 12h (default: never)")
    .option("--json", "print the token as JSON")
    .addHelpText("after", `\nExample:\n  accord token create --user ci --label grafana --expires 90d\n\n${HELP_STORE}`)
    .action(async (opts: { user: string; label: string; expires?: string; json?: boolean }) => {
      const { printJson, reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        let ttl: number | null = null;
        if (opts.expires !== undefined) {
          const { parseDuration } = await import("../../spec/load.ts");
          try {
            ttl = parseDuration(opts.expires);
          } catch (err) {
            process.stderr.write(`--expires: ${(err as Error).message}\n`);
            process.exitCode = EXIT.invalid;
            return;
          }
        }
        const { createApiToken } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const { token: t, record, user } = await createApiToken(store, opts.user, opts.label, ttl);
          if (opts.json)
            printJson({
              ok: true,
              id: record.id,
              user: user.name,
              role: user.role,
              label: record.label,
              expiresAt: record.expiresAt,
              token: t,
            });
          else
            process.stdout.write(
              `API token #${record.id} for ${user.name} (${user.role})${record.expiresAt ? `, expires ${record.expiresAt}` : ""}:\n\n  ${t}\n\nIt is shown only now. Send it as: Authorization: Bearer <token>\n`,
            );
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  token
    .command("list")
    .description("List API tokens (ids, users, labels, last use — never the tokens).")
    .option("--user <name>", "only this user's tokens")
    .option("--json", "print the tokens as JSON")
    .addHelpText("after", `\nExample:\n  accord token list --user ci\n\n${HELP_STORE}`)
    .action(async (opts: { user?: string; json?: boolean }) => {
      const { printJson, formatTable, reportError } = await import("../output.ts");
      try {
        const { userStore } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          const us = userStore(store);
          const users = new Map((await us.listUsers()).map((u) => [u.id, u.name]));
          let userId: number | undefined;
          if (opts.user !== undefined) {
            userId = [...users.entries()].find(([, n]) => n === opts.user)?.[0];
            if (userId === undefined) {
              const { NotFound } = await import("../../errors.ts");
              throw new NotFound(`no console user named "${opts.user}"`, { hint: "List users with `accord user list`." });
            }
          }
          const tokens = (await us.listApiTokens(userId)).map((t) => ({
            id: t.id,
            user: users.get(t.userId) ?? `#${t.userId}`,
            label: t.label,
            createdAt: t.createdAt,
            expiresAt: t.expiresAt,
            lastUsedAt: t.lastUsedAt,
          }));
          if (opts.json) printJson({ ok: true, tokens });
          else if (!tokens.length) process.stdout.write("No API tokens.\n");
          else process.stdout.write(`${formatTable(tokens, ["id", "user", "label", "createdAt", "expiresAt", "lastUsedAt"])}\n`);
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  token
    .command("revoke")
    .description("Revoke an API token: it stops working at once.")
    .argument("<id>", "token id (from `accord token list`)")
    .addHelpText("after", `\nExample:\n  accord token revoke 3\n\n${HELP_STORE}`)
    .action(async (id: string) => {
      const { reportError } = await import("../output.ts");
      const { EXIT } = await import("../exit-codes.ts");
      try {
        const n = Number(id);
        if (!Number.isInteger(n) || n < 1) {
          process.stderr.write(`token id must be a positive number (got "${id}")\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        const { userStore } = await import("../../server/users.ts");
        const { openStore } = await import("../../store/index.ts");
        const store = await openStore();
        try {
          if (await userStore(store).revokeApiToken(n)) process.stdout.write(`API token #${n} revoked.\n`);
          else {
            process.stderr.write(`No API token #${n}. List them with \`accord token list\`.\n`);
            process.exitCode = EXIT.failure;
          }
        } finally {
          await store.close();
        }
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}
