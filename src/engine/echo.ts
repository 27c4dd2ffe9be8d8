/**
 * Echo suppression (invariant 3), in layers:
 *  1. by content (primary): a record whose mapped values all equal its side of the base snapshot
 *     brought nothing new — whoever wrote it. This is what makes Accord's own writes harmless.
 *  2. by author: when RemoteRecord.modifiedBy is Accord's own user AND the content matches, the
 *     record is labelled an echo. Authorship alone never drops a change: if the content differs,
 *     the record is reconciled like any other (a person may have edited after us).
 *  3. a bounce cap: more than `maxBounces` Accord writes to one pair within `windowMs` raises a
 *     review item of kind "bounce" and holds the pair instead of looping.
 * Pure functions.
 */
import type { RemoteRecord } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";
import type { Json } from "../store/types.ts";
import type { EngineField } from "./fields.ts";
import { BASE_WRITES_KEY, readField, sameValue } from "./values.ts";

export type EchoVerdict = "echo" | "unchanged" | "changed";

/**
 * Classify one side's record against the base. "changed" when any mapped field present in the
 * record differs from that side's base value, or a field has no base yet.
 */
export function classifyEcho(
  side: Side,
  rec: RemoteRecord,
  fields: EngineField[],
  base: Record<string, Json>,
  ownUser: string | undefined,
): EchoVerdict {
  for (const f of fields) {
    const name = side === "crm" ? f.map.crm : f.map.erp;
    const cur = readField(rec, name);
    if (!cur.present) continue; // absent fields are never a change
    const b = base[f.key];
    if (!b || typeof b !== "object" || Array.isArray(b) || !(side in b)) return "changed";
    if (!sameValue(cur.value, (b as Record<string, Json>)[side])) return "changed";
  }
  return ownUser !== undefined && rec.modifiedBy !== undefined && rec.modifiedBy === ownUser ? "echo" : "unchanged";
}

/** Accord's recent writes to a pair (ISO timestamps kept in the base under a reserved key). */
export function recentWrites(base: Record<string, Json>, nowMs: number, windowMs: number): string[] {
  const w = base[BASE_WRITES_KEY];
  if (!Array.isArray(w)) return [];
  return w.filter((t): t is string => typeof t === "string" && nowMs - Date.parse(t) <= windowMs);
}

/** True when one more write would exceed the cap. */
export function bounceCapReached(base: Record<string, Json>, nowMs: number, bounce: { maxBounces: number; windowMs: number }): boolean {
  return recentWrites(base, nowMs, bounce.windowMs).length >= bounce.maxBounces;
}

/** The base with this write recorded (older entries pruned). */
export function withWriteRecorded(base: Record<string, Json>, nowMs: number, windowMs: number): Record<string, Json> {
  return { ...base, [BASE_WRITES_KEY]: [...recentWrites(base, nowMs, windowMs), new Date(nowMs).toISOString()] };
}
