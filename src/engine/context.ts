/**
 * Build an EngineContext from an integration file: load the spec, resolve credentials and URLs
 * from the environment, create both connectors through the registry, open the store.
 * Used by the CLI commands (plan, sync, history) and by whatever else runs the engine from a file.
 */
import { createConnector } from "../connectors/registry.ts";
import { loadSpecFile, resolveCredentials, resolveUrl } from "../spec/load.ts";
import type { IntegrationSpec } from "../spec/model.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";
import type { EngineContext, EngineLogger } from "./types.ts";

export interface OpenedContext {
  ctx: EngineContext;
  close(): Promise<void>;
}

export interface OpenContextOptions {
  env?: Record<string, string | undefined>;
  /** Store location (default: DATABASE_URL, else SQLite in $ACCORD_HOME/.accord). */
  store?: { url?: string; file?: string };
  logger?: EngineLogger;
}

export async function openContextFromFile(file: string, opts: OpenContextOptions = {}): Promise<OpenedContext> {
  const spec = await loadSpecFile(file);
  return openContext(spec, opts);
}

export async function openContext(spec: IntegrationSpec, opts: OpenContextOptions = {}): Promise<OpenedContext> {
  const env = opts.env ?? process.env;
  const file = spec.source?.file;
  const sides = ["crm", "erp"] as const;
  const configs = sides.map((side) => {
    const system = spec.systems[side];
    return {
      type: system.type,
      config: {
        url: resolveUrl(system, env, { side }),
        credentials: resolveCredentials(system, env, { side, file }),
        options: system.options,
      },
    };
  });
  const crm = await createConnector(configs[0].type, configs[0].config);
  const erp = await createConnector(configs[1].type, configs[1].config);
  let store: Store;
  try {
    store = await openStore(opts.store ?? {});
  } catch (err) {
    await Promise.allSettled([crm.close(), erp.close()]);
    throw err;
  }
  return {
    ctx: { spec, store, crm, erp, logger: opts.logger },
    close: async () => {
      await Promise.allSettled([crm.close(), erp.close()]);
      await store.close();
    },
  };
}

/** Open only the store for an integration file (history, review): no connectors, no credentials needed. */
export async function openStoreForFile(
  file: string,
  opts: { store?: { url?: string; file?: string } } = {},
): Promise<{ spec: IntegrationSpec; store: Store }> {
  const spec = await loadSpecFile(file);
  const store = await openStore(opts.store ?? {});
  return { spec, store };
}
