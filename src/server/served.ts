/**
 * Which integrations a console serves, and who may see each (Step 10).
 *
 *  - file mode (`accord server FILE…`): the files given, no tenant (null); connectors from the
 *    process environment, as before;
 *  - registry mode (`accord server` with no FILE): the integrations registered in the store, each
 *    with its tenant; its connectors are built from ITS decrypted secrets (loadIntegration's env),
 *    never from process.env. Entries are cached and reloaded when the registration changes.
 *
 * Visibility: a platform user (tenant null) with the admin role sees every integration; any other
 * user sees only the integrations of their own tenant (tenant-less file-mode integrations are
 * their own "tenant" null, so platform users of every role keep seeing them).
 */
import { loadIntegration } from "../registry/index.ts";
import type { Keyring } from "../registry/types.ts";
import { loadSpec } from "../spec/load.ts";
import type { IntegrationSpec, Side } from "../spec/model.ts";
import type { IntegrationRecord, Store, User } from "../store/types.ts";
import type { Systems } from "./views.ts";

export interface ServedIntegration {
  spec: IntegrationSpec;
  /** Owner tenant; null = not a tenant's (file mode). */
  tenant: string | null;
  /** Live connectors, when the console could build them. */
  systems?: Systems;
  /** HMAC secrets per side for POST /webhooks/:integration/:side (ACCORD_WEBHOOK_SECRETS_CRM/_ERP, comma-separated). */
  webhookSecrets: Record<Side, string[]>;
  /** Why it has no systems (a credential that does not decrypt, a missing variable) — no secret in it. */
  problem?: string;
}

export interface IntegrationSource {
  readonly mode: "files" | "registry";
  /** undefined: every integration; a string: that tenant's; null: those without a tenant. */
  list(tenant?: string | null): Promise<ServedIntegration[]>;
  get(name: string): Promise<ServedIntegration | undefined>;
  close(): Promise<void>;
}

export function canSee(user: Pick<User, "role" | "tenant">, tenant: string | null): boolean {
  const mine = user.tenant ?? null;
  if (mine === null && user.role === "admin") return true;
  return mine === tenant;
}

/** The tenant filter of a user's lists: undefined = all (platform admin). */
export function visibleTenant(user: Pick<User, "role" | "tenant">): string | null | undefined {
  const mine = user.tenant ?? null;
  return mine === null && user.role === "admin" ? undefined : mine;
}

export function secretList(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function webhookSecretsOf(env: Record<string, string | undefined>): Record<Side, string[]> {
  return { crm: secretList(env.ACCORD_WEBHOOK_SECRETS_CRM), erp: secretList(env.ACCORD_WEBHOOK_SECRETS_ERP) };
}

/** File mode: the specs given (tenant null), their connectors as built by the caller. */
export function fileSource(
  specs: IntegrationSpec[],
  systems: Record<string, Systems> = {},
  env: Record<string, string | undefined> = process.env,
): IntegrationSource {
  const secrets = webhookSecretsOf(env);
  const served = new Map<string, ServedIntegration>(
    specs.map((spec) => [spec.name, { spec, tenant: null, systems: systems[spec.name], webhookSecrets: secrets }]),
  );
  return {
    mode: "files",
    list: async (tenant) => [...served.values()].filter((s) => tenant === undefined || s.tenant === tenant),
    get: async (name) => served.get(name),
    close: async () => {},
  };
}

export interface RegistrySourceOptions {
  keyring: Keyring;
  /** Build connectors from the integration's own env; absent = store only (no live reads, no inline sync). */
  connect?: (spec: IntegrationSpec, env: Record<string, string>) => Promise<Systems>;
}

/** Registry mode: the store's registered (enabled) integrations. */
export function registrySource(store: Store, opts: RegistrySourceOptions): IntegrationSource {
  if (!store.getIntegrationRecord || !store.listIntegrationRecords)
    throw new Error("this store keeps no registered integrations (needs the SQLite or PostgreSQL store, migration 0004)");
  const getRecord = store.getIntegrationRecord.bind(store);
  const listRecords = store.listIntegrationRecords.bind(store);
  const cache = new Map<string, { version: string; served: Promise<ServedIntegration> }>();

  async function closeSystems(p: Promise<ServedIntegration> | undefined): Promise<void> {
    const s = await p?.catch(() => undefined);
    if (s?.systems) await Promise.allSettled([s.systems.crm.close(), s.systems.erp.close()]);
  }

  async function build(r: IntegrationRecord): Promise<ServedIntegration> {
    const spec = loadSpec(r.specText, `(registered integration ${r.name})`);
    try {
      const { env } = await loadIntegration(store, r.name, opts.keyring);
      const served: ServedIntegration = { spec, tenant: r.tenant, webhookSecrets: webhookSecretsOf(env) };
      if (opts.connect) {
        try {
          served.systems = await opts.connect(spec, env);
        } catch (err) {
          served.problem = `not connected to the systems: ${(err as Error).message.split("\n")[0]}`;
        }
      }
      return served;
    } catch (err) {
      return { spec, tenant: r.tenant, webhookSecrets: { crm: [], erp: [] }, problem: (err as Error).message.split("\n")[0] };
    }
  }

  function served(r: IntegrationRecord): Promise<ServedIntegration> {
    const version = `${r.updatedAt}|${r.specHash}|${r.tenant}`;
    const hit = cache.get(r.name);
    if (hit && hit.version === version) return hit.served;
    const p = build(r);
    void closeSystems(hit?.served);
    cache.set(r.name, { version, served: p });
    return p;
  }

  return {
    mode: "registry",
    async list(tenant) {
      if (tenant === null) return [];
      const rows = (await listRecords(tenant === undefined ? {} : { tenant })).filter((r) => r.enabled);
      return Promise.all(rows.map(served));
    },
    async get(name) {
      const r = await getRecord(name);
      if (!r?.enabled) return undefined;
      return served(r);
    },
    async close() {
      const all = [...cache.values()];
      cache.clear();
      for (const c of all) await closeSystems(c.served);
    },
  };
}
