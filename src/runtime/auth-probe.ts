/**
 * Authentication pauses, shared by `accord run` (runtime.ts) and `accord worker` (worker.ts): which
 * system an AuthError came from, and the cheap call that tells whether it accepts the credentials again.
 */
import type { Connector } from "../connectors/types.ts";
import type { IntegrationSpec, Side } from "../spec/model.ts";

/** The id the probe reads: a record that does not exist. */
export const AUTH_PROBE_ID = "accord-auth-probe";

/**
 * The side an AuthError came from, by its `where.system` (a connector type); undefined for any other
 * error, or when both systems are of that type (the API stats of the run then tell which one).
 */
export function authSideOf(err: unknown, spec: IntegrationSpec): Side | undefined {
  const e = err as { errorClass?: string; where?: { system?: string } } | undefined;
  if (e?.errorClass !== "AuthError") return undefined;
  const sides = (["crm", "erp"] as const).filter((sd) => spec.systems[sd].type === e.where?.system);
  return sides.length === 1 ? sides[0] : undefined;
}

/**
 * Ask a paused system whether it accepts the credentials again: a real call (whoAmI is cached by the
 * connectors) reading a record that does not exist. Resolves when the system answered with our
 * credentials (NotFound and ValidationRejected are such answers); throws its error otherwise (an
 * AuthError: still refused). Without an entity to read, there is nothing to ask: it resolves.
 */
export async function probeAuth(conn: Connector, entity: string | undefined): Promise<void> {
  if (!entity) return;
  await conn.readByIds(entity, [AUTH_PROBE_ID]).catch((err: unknown) => {
    const cls = (err as { errorClass?: string }).errorClass;
    if (cls !== "NotFound" && cls !== "ValidationRejected") throw err; // an answer made with our credentials
    return [];
  });
}
