/**
 * The fields the engine syncs for an object: the spec's field maps plus, for a child object,
 * the parent reference (the CRM parent id field ↔ the ERP parent field), which is translated
 * through the parent object's links instead of a value transform.
 * And the map step: translating a value from one side's representation into the other's.
 */
import type { RemoteRecord } from "../connectors/types.ts";
import type { FieldMap, LineFieldMap, ObjectSpec, Side } from "../spec/model.ts";
import { applyTransform } from "../spec/transform.ts";
import type { Json, Store } from "../store/types.ts";
import { conditionFields, expressionFields } from "./conditions.ts";
import { pathOf, readFieldsOf } from "./paths.ts";
import { fieldKey, isEmpty, objectSide, otherSide, toJson } from "./values.ts";

export interface EngineField {
  key: string;
  map: FieldMap;
  /** Set for the synthetic parent-reference field. */
  parent?: { object: string };
}

export function engineFields(obj: ObjectSpec): EngineField[] {
  const out: EngineField[] = obj.fields.map((map) => ({ key: fieldKey(map), map }));
  if (obj.parent) {
    // A parent reference held in a side's record id ("id") cannot be written there: the other side follows it.
    const direction = obj.parent.crm === "id" ? "crm->erp" : obj.parent.erp === "id" ? "erp->crm" : "both";
    const map: FieldMap = {
      crm: obj.parent.crm,
      erp: obj.parent.erp,
      direction,
      master: direction === "crm->erp" ? "crm" : direction === "erp->crm" ? "erp" : undefined,
      conflict: obj.conflict,
      onMasterEdit: direction === "both" ? obj.onMasterEdit : "revert",
      toErp: [],
      toCrm: [],
      required: true,
      note: `parent reference to ${obj.parent.object}`,
    };
    if (!out.some((f) => f.key === fieldKey(map))) out.push({ key: fieldKey(map), map, parent: { object: obj.parent.object } });
  }
  return out;
}

export function fieldName(f: EngineField, side: Side): string {
  return side === "crm" ? f.map.crm : f.map.erp;
}

/**
 * The fields to ask a system for when reading an object's changes, or undefined for "the system's
 * default" (every plain field). Only a side that maps a path into a child table needs a list: a
 * system may leave child tables out of its default reads, so the list names them — plus every other
 * field the engine reads on that side (mapped fields, identity, parent reference, and the fields
 * a transform reads as `$record.<field>`).
 */
export function readFieldList(obj: ObjectSpec, side: Side, fields: EngineField[]): string[] | undefined {
  const names = fields.map((f) => fieldName(f, side));
  const identity = objectSide(obj, side).identity;
  // a line-item table may also be left out of a system's default reads (list rows): ask for it by name
  const tables = fields.some((f) => f.map.lines !== undefined);
  if (!tables && ![...names, identity].some((n) => pathOf(n) !== undefined)) return undefined;
  const fromRecord: string[] = [...conditionFields(obj.when?.[side]), ...conditionFields(obj.freeze?.[side])];
  for (const r of obj.holdIf ?? []) if (r.side === side) fromRecord.push(...expressionFields(r.expr));
  const errorField = obj.errors?.[side];
  if (errorField) fromRecord.push(errorField);
  for (const f of fields) {
    const steps = side === "crm" ? f.map.toErp : f.map.toCrm;
    for (const st of steps) {
      if (!("jsonata" in st)) continue;
      for (const m of st.jsonata.matchAll(/\$record\.([A-Za-z_][A-Za-z0-9_]*)/g)) fromRecord.push(m[1]);
    }
  }
  return readFieldsOf([...names, identity, ...fromRecord]).filter((n) => n !== "id");
}

/** A translation failed: the record is quarantined with this class and reason. */
export class TranslationFailed extends Error {
  readonly errorClass: string;
  readonly side: Side;
  constructor(errorClass: string, side: Side, message: string) {
    super(message);
    this.name = "TranslationFailed";
    this.errorClass = errorClass;
    this.side = side;
  }
}

/**
 * Translate `value` (a `from`-side value of field f, read from `rec`) into the other side's representation.
 * Throws TranslationFailed (ParentNotLinked / TransformFailed / the transform's own class).
 */
export async function translate(
  store: Pick<Store, "getLink">,
  integration: string,
  f: EngineField,
  from: Side,
  value: Json,
  rec: RemoteRecord,
): Promise<Json> {
  const to = otherSide(from);
  if (f.parent) {
    if (isEmpty(value)) return null;
    const by = from === "crm" ? { crmId: String(value) } : { erpId: String(value) };
    const link = await store.getLink(integration, f.parent.object, by);
    const target = link ? (to === "crm" ? link.crmId : link.erpId) : null;
    if (link?.status !== "active" || !target) {
      throw new TranslationFailed(
        "ParentNotLinked",
        from,
        `parent not linked yet: ${f.parent.object} ${from} record ${String(value)} has no active link to a ${to} record (it syncs once the parent is linked)`,
      );
    }
    return target;
  }
  if (f.map.lookup) return linkedId(store, integration, f.map.lookup.object, from, value, fieldName(f, from));
  if (f.map.lines) return translateLines(store, integration, f, from, value);
  const steps = from === "crm" ? f.map.toErp : f.map.toCrm;
  if (steps.length === 0) return value;
  try {
    return toJson(await applyTransform(steps, value, rec.values));
  } catch (err) {
    const cls =
      err && typeof err === "object" && "errorClass" in err ? String((err as { errorClass: unknown }).errorClass) : "TransformFailed";
    const msg = err instanceof Error ? err.message : String(err);
    throw new TranslationFailed(
      cls,
      from,
      `transform ${from}->${to} of field ${fieldName(f, from)} failed on value ${JSON.stringify(value)}: ${msg}`,
    );
  }
}

/** A record id of `object` on side `from` → the id of its linked counterpart (lookups). */
async function linkedId(store: Pick<Store, "getLink">, integration: string, object: string, from: Side, value: Json, field: string): Promise<Json> {
  if (isEmpty(value)) return null;
  const to = otherSide(from);
  const link = await store.getLink(integration, object, from === "crm" ? { crmId: String(value) } : { erpId: String(value) });
  const target = link?.status === "active" ? (to === "crm" ? link.crmId : link.erpId) : null;
  if (!target) {
    throw new TranslationFailed(
      "LookupNotLinked",
      from,
      `lookup of ${field}: ${object} ${from} record ${String(value)} has no active link to a ${to} record (it syncs once ${object} ${String(value)} is linked — sync ${object} first, or link it)`,
    );
  }
  return target;
}

/** Line items: every row of the source table becomes a row of the target table, column by column. */
async function translateLines(store: Pick<Store, "getLink">, integration: string, f: EngineField, from: Side, value: Json): Promise<Json> {
  if (isEmpty(value)) return [];
  if (!Array.isArray(value)) {
    throw new TranslationFailed("TransformFailed", from, `line items ${fieldName(f, from)}: expected a table (a list of rows), got ${JSON.stringify(value)}`);
  }
  const to = otherSide(from);
  const out: Json[] = [];
  for (const [i, row] of value.entries()) {
    if (!row || typeof row !== "object" || Array.isArray(row)) continue;
    const src = row as Record<string, Json>;
    const dst: Record<string, Json> = {};
    for (const l of f.map.lines ?? []) {
      const name = lineName(l, from);
      const cur = src[name];
      const where = `${fieldName(f, from)}[${i}].${name}`;
      let v: Json = cur ?? null;
      if (l.lookup) v = await linkedId(store, integration, l.lookup.object, from, v, where);
      const steps = from === "crm" ? l.toErp : l.toCrm;
      if (steps.length > 0) {
        try {
          v = toJson(await applyTransform(steps, v, src));
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          throw new TranslationFailed("TransformFailed", from, `transform ${from}->${to} of line column ${where} failed on value ${JSON.stringify(cur)}: ${msg}`);
        }
      }
      if (!isEmpty(v)) dst[lineName(l, to)] = v;
    }
    out.push(dst);
  }
  return out;
}

function lineName(l: LineFieldMap, side: Side): string {
  return side === "crm" ? l.crm : l.erp;
}
