/**
 * Integrations registered in the store (Step 10): many tenants' integrations in one deployment,
 * each with its owner (tenant), its file, its schedules (from the file) and its credentials,
 * encrypted at rest (AES-256-GCM, key from the environment). Shared contract between the registry
 * (src/registry), the worker (src/runtime) and the server: add optional members only.
 */
import type { IntegrationSpec } from "../spec/model.ts";

export interface RegisteredIntegration {
  name: string;
  /** The tenant (customer organisation) that owns it; users of that tenant see it. */
  tenant: string;
  /** The integration file's text as registered (its hash below). */
  specText: string;
  specHash: string;
  /** The names of the secrets held (values never leave the registry unencrypted except through loadIntegration). */
  secretNames: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Encryption keys: the first is current (new ciphertexts); the others still decrypt (rotation). */
export interface Keyring {
  current: { id: string; key: Buffer };
  all: Map<string, Buffer>;
}

/** An integration ready to run: its parsed, validated spec and the environment its `${VAR}`s resolve in (its secrets only). */
export interface LoadedIntegration {
  integration: RegisteredIntegration;
  spec: IntegrationSpec;
  env: Record<string, string>;
}
