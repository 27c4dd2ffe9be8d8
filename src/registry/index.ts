/**
 * The registry (Step 10): integrations registered in the store, many tenants' in one deployment.
 * Each has its owner (tenant), its file (validated through src/spec; its schedules come from it)
 * and its credentials, encrypted at rest (./crypto.ts). Workers and the server run an integration
 * from `loadIntegration`: the parsed spec and an environment holding ONLY its decrypted secrets —
 * never process.env, so one tenant's `${VAR}` can never pick up another's credential.
 */
import { createHash } from "node:crypto";
import { Duplicate, NotFound, SpecError, type SpecIssue } from "../errors.ts";
import { loadSpec } from "../spec/load.ts";
import type { IntegrationSpec, Side } from "../spec/model.ts";
import type { IntegrationRecord, Store } from "../store/types.ts";
import { decryptSecrets, encryptSecrets, parseEnvelope } from "./crypto.ts";
import type { Keyring, LoadedIntegration, RegisteredIntegration } from "./types.ts";

export { decryptSecrets, encryptSecrets, generateKey, keyringFromEnv, parseEnvelope, type SecretEnvelope } from "./crypto.ts";
export type * from "./types.ts";

/** Secrets the runtime reads besides the file's `${VAR}`s (comma-separated webhook HMAC secrets, as `accord run` uses). */
export const WEBHOOK_SECRET_VARS: Record<Side, string> = { crm: "ACCORD_WEBHOOK_SECRETS_CRM", erp: "ACCORD_WEBHOOK_SECRETS_ERP" };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

type RegistryStore = Store &
  Required<Pick<Store, "saveIntegration" | "getIntegrationRecord" | "listIntegrationRecords" | "deleteIntegration">>;

function registryStore(store: Store): RegistryStore {
  if (!store.saveIntegration || !store.getIntegrationRecord || !store.listIntegrationRecords || !store.deleteIntegration)
    throw new Error("this store does not keep registered integrations (needs the Kysely store, migration 0004)");
  return store as RegistryStore;
}

export function hashSpecText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Every environment variable the file refers to: each system's credential variables and the `${VAR}`s of its URL, in file order. */
export function referencedVariables(spec: IntegrationSpec): { name: string; side: Side; what: string }[] {
  const out: { name: string; side: Side; what: string }[] = [];
  const seen = new Set<string>();
  for (const side of ["crm", "erp"] as const) {
    const sys = spec.systems[side];
    for (const m of sys.url.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      const name = m[1] as string;
      if (!seen.has(name)) out.push({ name, side, what: `${side} url` });
      seen.add(name);
    }
    for (const [key, ref] of Object.entries(sys.credentials)) {
      if (!seen.has(ref.env)) out.push({ name: ref.env, side, what: `${side} credential \`${key}\`` });
      seen.add(ref.env);
    }
  }
  return out;
}

function toRegistered(r: IntegrationRecord): RegisteredIntegration {
  let secretNames: string[] = [];
  try {
    secretNames = parseEnvelope(r.secrets, r.name).names ?? [];
  } catch {
    secretNames = [];
  }
  return {
    name: r.name,
    tenant: r.tenant,
    specText: r.specText,
    specHash: r.specHash,
    secretNames,
    enabled: r.enabled,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function checkTenant(tenant: string): void {
  if (!TENANT.test(tenant))
    throw new SpecError(`invalid tenant ${JSON.stringify(tenant)}`, [
      {
        file: "(registry)",
        line: 0,
        column: 0,
        path: "tenant",
        message: `tenant ${JSON.stringify(tenant)} is not a valid name`,
        expected: "letters, digits, _ . - (up to 63), starting with a letter or digit, e.g. acme",
      },
    ]);
}

function checkSecretNames(secrets: Record<string, string>): void {
  const bad = Object.keys(secrets).filter((k) => !VAR_NAME.test(k));
  if (bad.length)
    throw new SpecError(`invalid secret name(s): ${bad.join(", ")}`, [
      {
        file: "(registry)",
        line: 0,
        column: 0,
        path: "secrets",
        message: `secret name(s) ${bad.join(", ")} are not environment variable names`,
        expected: "NAME=VALUE with NAME like ESPO_API_KEY (letters, digits, _)",
      },
    ]);
}

export interface RegisterOptions {
  specText: string;
  /** For messages (line:column errors name it). */
  file?: string;
  tenant: string;
  /** Values of the file's `${VAR}`s (and optionally the webhook secrets). Merged over the ones already held when re-registering. */
  secrets: Record<string, string>;
  keyring: Keyring;
  enabled?: boolean;
  /** Recorded with the file's version in the change log (`accord changes`, the console's change log). */
  author?: string;
  why?: string;
}

/**
 * Register (or update, same tenant only) the integration the file describes. The name comes from
 * the file. Refuses an invalid file (SpecError with line:column), a file whose `${VAR}`s are not all
 * supplied (SpecError listing the missing names), and a name held by another tenant (Duplicate).
 */
export async function registerIntegration(store: Store, opts: RegisterOptions): Promise<RegisteredIntegration> {
  const s = registryStore(store);
  checkTenant(opts.tenant);
  checkSecretNames(opts.secrets);
  const file = opts.file ?? "(registered integration)";
  const spec = loadSpec(opts.specText, file);
  return s.transaction(async (tx) => {
    const t = registryStore(tx);
    const existing = await t.getIntegrationRecord(spec.name);
    if (existing && existing.tenant !== opts.tenant)
      throw new Duplicate(`an integration named ${spec.name} is already registered to another tenant`, {
        hint: "Integration names are unique in a deployment: change `name:` in the file (e.g. prefix it with the tenant).",
      });
    const held = existing ? decryptSecrets(parseEnvelope(existing.secrets, existing.name), opts.keyring, existing.name) : {};
    const secrets: Record<string, string> = { ...held };
    for (const [k, v] of Object.entries(opts.secrets)) if (v !== "") secrets[k] = v;
    const missing = referencedVariables(spec).filter((v) => secrets[v.name] === undefined || secrets[v.name] === "");
    if (missing.length) {
      const issues: SpecIssue[] = missing.map((m) => ({
        file,
        line: 0,
        column: 0,
        path: `systems.${m.side}`,
        message: `no value for \${${m.name}} (${m.what})`,
        expected: `--secret ${m.name}=… (or export it and pass --secrets-from-env)`,
      }));
      throw new SpecError(
        `${file}: integration ${spec.name} needs a value for every variable it names; missing: ${missing.map((m) => m.name).join(", ")}.`,
        issues,
      );
    }
    const envelope = encryptSecrets(secrets, opts.keyring, spec.name);
    const saved = await t.saveIntegration({
      name: spec.name,
      tenant: opts.tenant,
      specText: opts.specText,
      specHash: hashSpecText(opts.specText),
      secrets: JSON.stringify(envelope),
      enabled: opts.enabled ?? existing?.enabled ?? true,
    });
    const { applySpec } = await import("../monitor/changes.ts");
    await applySpec(tx, spec, opts.specText, {
      author: opts.author ?? "accord integration add",
      why: opts.why ?? (existing ? `updated for tenant ${opts.tenant}` : `registered for tenant ${opts.tenant}`),
    });
    return toRegistered(saved);
  });
}

export async function listIntegrations(store: Store, opts: { tenant?: string } = {}): Promise<RegisteredIntegration[]> {
  return (await registryStore(store).listIntegrationRecords(opts)).map(toRegistered);
}

export async function getIntegration(store: Store, name: string): Promise<RegisteredIntegration | undefined> {
  const r = await registryStore(store).getIntegrationRecord(name);
  return r ? toRegistered(r) : undefined;
}

function notRegistered(name: string): NotFound {
  return new NotFound(`no integration named ${name} is registered in this store`, {
    where: { object: name },
    hint: "List them with `accord integration list`; register one with `accord integration add FILE --tenant T`.",
  });
}

/** The integration ready to run: spec parsed from its stored file, env = its decrypted secrets only. */
export async function loadIntegration(store: Store, name: string, keyring: Keyring): Promise<LoadedIntegration> {
  const r = await registryStore(store).getIntegrationRecord(name);
  if (!r) throw notRegistered(name);
  const env = decryptSecrets(parseEnvelope(r.secrets, r.name), keyring, r.name);
  const spec = loadSpec(r.specText, `(registered integration ${r.name})`);
  return { integration: toRegistered(r), spec, env };
}

/** Set (or, with value undefined, remove) one secret of a registered integration. */
export async function setSecret(
  store: Store,
  name: string,
  variable: string,
  value: string | undefined,
  keyring: Keyring,
): Promise<RegisteredIntegration> {
  checkSecretNames({ [variable]: "" });
  return registryStore(store).transaction(async (tx) => {
    const t = registryStore(tx);
    const r = await t.getIntegrationRecord(name);
    if (!r) throw notRegistered(name);
    const secrets = decryptSecrets(parseEnvelope(r.secrets, r.name), keyring, r.name);
    if (value === undefined || value === "") delete secrets[variable];
    else secrets[variable] = value;
    const saved = await t.saveIntegration({ ...r, secrets: JSON.stringify(encryptSecrets(secrets, keyring, r.name)) });
    return toRegistered(saved);
  });
}

/** Enable or disable (a disabled integration is kept but not served or run). */
export async function setEnabled(store: Store, name: string, enabled: boolean): Promise<RegisteredIntegration> {
  const s = registryStore(store);
  const r = await s.getIntegrationRecord(name);
  if (!r) throw notRegistered(name);
  return toRegistered(await s.saveIntegration({ ...r, enabled }));
}

/** Remove the registration (its credentials go with it; its links, runs and history stay in the store). */
export async function removeIntegration(store: Store, name: string): Promise<boolean> {
  return registryStore(store).deleteIntegration(name);
}

export interface RekeyReport {
  total: number;
  /** Re-encrypted with the current key. */
  rekeyed: number;
  /** Already under the current key (re-encrypted anyway: fresh IV; counted apart). */
  alreadyCurrent: number;
  currentKey: string;
  /** Key ids found before the run, with counts. */
  before: Record<string, number>;
}

/**
 * Re-encrypt every registered integration's credentials with the keyring's current key. All are
 * decrypted first: if any does not open (its key is missing), nothing is written and the error says which.
 */
export async function rekey(store: Store, keyring: Keyring): Promise<RekeyReport> {
  return registryStore(store).transaction(async (tx) => {
    const t = registryStore(tx);
    const rows = await t.listIntegrationRecords();
    const before: Record<string, number> = {};
    const opened = rows.map((r) => {
      const env = parseEnvelope(r.secrets, r.name);
      before[env.kid] = (before[env.kid] ?? 0) + 1;
      return { r, kid: env.kid, secrets: decryptSecrets(env, keyring, r.name) };
    });
    let rekeyed = 0;
    let alreadyCurrent = 0;
    for (const o of opened) {
      if (o.kid === keyring.current.id) alreadyCurrent++;
      else rekeyed++;
      await t.saveIntegration({ ...o.r, secrets: JSON.stringify(encryptSecrets(o.secrets, keyring, o.r.name)) });
    }
    return { total: rows.length, rekeyed, alreadyCurrent, currentKey: keyring.current.id, before };
  });
}

/** The secret variable names a file needs, from the current environment (`--secrets-from-env`): values for those present, names of those absent. */
export function secretsFromEnv(
  specText: string,
  env: Record<string, string | undefined>,
  file?: string,
): { secrets: Record<string, string>; missing: string[] } {
  const spec = loadSpec(specText, file ?? "(integration file)");
  const secrets: Record<string, string> = {};
  const missing: string[] = [];
  for (const v of referencedVariables(spec)) {
    const value = env[v.name];
    if (value === undefined || value === "") missing.push(v.name);
    else secrets[v.name] = value;
  }
  for (const name of Object.values(WEBHOOK_SECRET_VARS)) {
    const value = env[name];
    if (value) secrets[name] = value;
  }
  return { secrets, missing };
}
