/**
 * The connectors' registry: the one place that lists which connector types exist.
 * The spec validates `systems.*.type` against `connectorTypes()`; nothing else names a system.
 * Each connector folder exports a `definition: ConnectorDefinition`; it is loaded lazily so
 * that validating a file does not pay for loading every connector.
 */
import type { Connector, ConnectorConfig, ConnectorDefinition } from "./types.ts";

interface RegistryEntry {
  title: string;
  credentialKeys: { required: string[]; optional?: string[] };
  load: () => Promise<ConnectorDefinition>;
}

const registry: Record<string, RegistryEntry> = {
  espocrm: {
    title: "EspoCRM (REST API v1, API key or HMAC)",
    credentialKeys: { required: ["apiKey"], optional: ["secretKey"] },
    load: async () => (await import("./espocrm/index.ts")).definition,
  },
  erpnext: {
    title: "ERPNext / Frappe (REST API, token key:secret)",
    credentialKeys: { required: ["apiKey", "apiSecret"] },
    load: async () => (await import("./erpnext/index.ts")).definition,
  },
  tryton: {
    title: "Tryton (JSON-RPC, session login; options: database, company)",
    credentialKeys: { required: ["user", "password"] },
    load: async () => (await import("./tryton/index.ts")).definition,
  },
};

export function connectorTypes(): string[] {
  return Object.keys(registry);
}

export function connectorInfo(type: string): Omit<RegistryEntry, "load"> | undefined {
  const e = registry[type];
  return e ? { title: e.title, credentialKeys: e.credentialKeys } : undefined;
}

export async function createConnector(type: string, config: ConnectorConfig): Promise<Connector> {
  const e = registry[type];
  if (!e) throw new Error(`Unknown connector type "${type}". Known types: ${connectorTypes().join(", ")}.`);
  const def = await e.load();
  return def.create(config);
}
