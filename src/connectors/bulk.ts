/**
 * What every `Connector.createMany` checks before it sends anything (see types.ts): at most `max`
 * payloads, and in each a value in `key` that is neither empty nor another payload's — the created
 * records are matched back to their payloads by it. Throws ValidationRejected, so the caller knows
 * nothing was created.
 */
import { ValidationRejected } from "../errors.ts";

/** A key value as text, the form payloads and created records are compared in ("" when empty). */
export function bulkKeyOf(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}

export function checkBulkPayloads(
  system: string,
  entity: string,
  payloads: ReadonlyArray<Record<string, unknown>>,
  key: string,
  max: number,
  opts: { noun: string; limitHint?: string },
): void {
  if (payloads.length > max)
    throw new ValidationRejected(`${system}: create ${payloads.length} ${entity} ${opts.noun} in one call: at most ${max} are allowed.`, {
      where: { system, object: entity },
      hint: `Split the ${opts.noun} into calls of ${max} or fewer${opts.limitHint ? ` (${opts.limitHint})` : ""}.`,
    });
  const seen = new Set<string>();
  for (const p of payloads) {
    const k = bulkKeyOf(p[key]);
    if (!k || seen.has(k))
      throw new ValidationRejected(
        `${system}: create ${entity} ${opts.noun} in one call: each needs its own value in ${key} (${k ? `"${k}" is repeated` : "one is empty"}).`,
        { where: { system, object: entity, field: key }, hint: `Create such ${opts.noun} one by one.` },
      );
    seen.add(k);
  }
}
