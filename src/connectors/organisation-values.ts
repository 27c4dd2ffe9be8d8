/** Small value helpers for connectors' organisation views (Connector.organisations): never guess a value. */
import type { OrganisationView } from "./types.ts";

export type Doc = Readonly<Record<string, unknown>>;

/** A trimmed non-empty string (numbers as text); anything else is absent. */
export function str(v: unknown): string | undefined {
  if (typeof v === "string") {
    const t = v.trim();
    return t === "" ? undefined : t;
  }
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

export function setIf<K extends keyof OrganisationView>(r: OrganisationView, k: K, v: OrganisationView[K] | undefined): void {
  if (v !== undefined) r[k] = v;
}

export function firstPresent(doc: Doc, fields: readonly string[]): string | undefined {
  for (const f of fields) {
    const v = str(doc[f]);
    if (v !== undefined) return v;
  }
  return undefined;
}
