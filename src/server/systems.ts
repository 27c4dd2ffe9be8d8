/** The two systems' connectors for an integration, from its file's URLs and credential variables. */
import { createConnector } from "../connectors/registry.ts";
import { resolveCredentials, resolveUrl } from "../spec/load.ts";
import type { IntegrationSpec } from "../spec/model.ts";
import type { Systems } from "./views.ts";

export async function connectSystems(spec: IntegrationSpec, env: Record<string, string | undefined> = process.env): Promise<Systems> {
  const file = spec.source?.file;
  const make = (side: "crm" | "erp") => {
    const system = spec.systems[side];
    return createConnector(system.type, {
      url: resolveUrl(system, env, { side }),
      credentials: resolveCredentials(system, env, { side, file }),
      options: system.options,
    });
  };
  const crm = await make("crm");
  try {
    return { crm, erp: await make("erp") };
  } catch (err) {
    await crm.close().catch(() => {});
    throw err;
  }
}
