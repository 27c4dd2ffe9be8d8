/**
 * Value helpers of the engine: content equality (the basis of echo suppression, invariant 3),
 * JSON normalisation, field keys and the shared identifier.
 * Pure functions only.
 */
import type { RemoteRecord } from "../connectors/types.ts";
import type { FieldMap, ObjectSide, ObjectSpec, Side } from "../spec/model.ts";
import type { Json } from "../store/types.ts";
import { readValue } from "./paths.ts";

export function otherSide(side: Side): Side {
  return side === "crm" ? "erp" : "crm";
}

/** The key of a field map in Link.base: "crmField|erpField". */
export function fieldKey(fm: Pick<FieldMap, "crm" | "erp">): string {
  return `${fm.crm}|${fm.erp}`;
}

/** Reserved keys in Link.base (they contain no "|", so they never collide with a field key). */
export const BASE_WRITES_KEY = "~writes"; // ISO timestamps of Accord's writes to this link's records (bounce cap)
export const BASE_APPLIED_KEY = "~applied"; // ids of review items whose resolution has been applied

/** null, undefined and "" are the same "no value" for comparison (systems differ in how they return empties). */
export function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === "";
}

/** Any value as Json: undefined → null, Date → ISO string, nested objects cleaned. */
export function toJson(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object") {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return String(v);
}

/**
 * Content equality of two values in the SAME representation: empties are equal, objects compare
 * by keys regardless of order, arrays element-wise. No type coercion ("1" ≠ 1).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  if (isEmpty(a) || isEmpty(b)) return false;
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (typeof a === "object" && typeof b === "object") {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!sameValue(ao[k], bo[k])) return false;
    return true;
  }
  return false;
}

/**
 * Does the target already hold `wanted` (a value translated for it)? Like sameValue, except that
 * objects (e.g. child-table rows) are compared only on the keys `wanted` has: the system adds its own
 * keys (row names, positions, parents) that a translation never produces.
 */
export function holdsValue(target: unknown, wanted: unknown): boolean {
  const none = (v: unknown) => isEmpty(v) || (Array.isArray(v) && v.length === 0);
  if (none(wanted) || none(target)) return none(wanted) && none(target);
  if (Array.isArray(wanted)) {
    if (!Array.isArray(target) || target.length !== wanted.length) return false;
    return wanted.every((w, i) => holdsValue(target[i], w));
  }
  if (typeof wanted === "object" && wanted !== null) {
    if (typeof target !== "object" || target === null || Array.isArray(target)) return false;
    return Object.entries(wanted as Record<string, unknown>).every(([k, w]) => holdsValue((target as Record<string, unknown>)[k], w));
  }
  return sameValue(target, wanted);
}

/**
 * A field of a record: present when the record returned it. "id" falls back to the record id
 * (connectors keep the id outside `values`). `name` may be a path into a child table (paths.ts).
 */
export function readField(rec: RemoteRecord, name: string): { present: boolean; value: Json } {
  const r = readValue(rec.values, name);
  if (r.present) return r;
  if (name === "id") return { present: true, value: rec.id };
  return { present: false, value: null };
}

/** The entity side of an object for one system. */
export function objectSide(obj: ObjectSpec, side: Side): ObjectSide {
  return side === "crm" ? obj.crm : obj.erp;
}

/**
 * The shared identifier of a linked pair is the ERP record's identity value
 * (the identity field's value, or the record id when that field is empty or not returned).
 */
export function sharedIdOf(obj: ObjectSpec, erp: RemoteRecord): string {
  const v = readValue(erp.values, obj.erp.identity).value;
  return isEmpty(v) || (typeof v !== "string" && typeof v !== "number") ? erp.id : String(v);
}

/** The shared id a record carries in its identity field (undefined when empty or the identity is the record id). */
export function carriedSharedId(obj: ObjectSpec, side: Side, rec: RemoteRecord): string | undefined {
  const identity = objectSide(obj, side).identity;
  if (identity === "id") return rec.id;
  const v = readValue(rec.values, identity).value;
  return isEmpty(v) || (typeof v !== "string" && typeof v !== "number") ? undefined : String(v);
}

/**
 * Whether the identity field of `rec` must be written to carry `sharedId`: only a field the record
 * returns (so a system's native id field that is not in `values` is never written), that differs.
 */
export function needsIdentityStamp(obj: ObjectSpec, side: Side, rec: RemoteRecord, sharedId: string): boolean {
  const identity = objectSide(obj, side).identity;
  if (identity === "id") return false;
  const cur = readValue(rec.values, identity);
  if (!cur.present) return false;
  return !sameValue(cur.value, sharedId);
}

export function errorClassOf(err: unknown): string {
  if (err && typeof err === "object" && "errorClass" in err && typeof (err as { errorClass: unknown }).errorClass === "string") {
    return (err as { errorClass: string }).errorClass;
  }
  if (err instanceof Error) return err.name && err.name !== "Error" ? err.name : "Error";
  return "Error";
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
