/**
 * Conditions on a record (`when`, `freeze`, `holdIf`): field equality (`$state` is the record's
 * document state) and JSONata expressions over the record's values. Expressions may reach related
 * records of the same system: `$linked(object, id)` — the values of the counterpart (other system)
 * of record `id` of another object, through its link; `$find(entity, field, value)` — the records
 * of `entity` in the same system whose `field` equals `value` (values only).
 * Reads only: a dry run evaluates exactly what a real run does.
 */
import jsonata from "jsonata";
import type { RemoteRecord } from "../connectors/types.ts";
import type { RecordCondition, Side } from "../spec/model.ts";
import type { Json } from "../store/types.ts";
import type { ObjectRun } from "./types.ts";
import { otherSide, readField, sameValue, toJson } from "./values.ts";

type Expression = ReturnType<typeof jsonata>;
const compiled = new Map<string, Expression>();

function expression(expr: string): Expression {
  let e = compiled.get(expr);
  if (!e) {
    e = jsonata(expr);
    compiled.set(expr, e);
  }
  return e;
}

/** A condition failed to evaluate (the record is quarantined with this reason). */
export class ConditionFailed extends Error {
  readonly errorClass = "ConditionFailed";
  constructor(message: string) {
    super(message);
    this.name = "ConditionFailed";
  }
}

/** Evaluate a JSONata expression over a record (the record's values are the input; `$state`, `$id` bound). */
export async function evaluate(or: ObjectRun, side: Side, rec: RemoteRecord, expr: string): Promise<unknown> {
  const { store, spec } = or.ctx;
  const conn = side === "crm" ? or.ctx.crm : or.ctx.erp;
  const bindings: Record<string, unknown> = {
    state: rec.state ?? null,
    id: rec.id,
    linked: async (object: unknown, id: unknown): Promise<unknown> => {
      if (typeof object !== "string" || id === undefined || id === null || id === "") return undefined;
      const o = spec.objects.find((x) => x.name === object);
      if (!o) throw new ConditionFailed(`$linked: no object \`${object}\` in integration ${spec.name}`);
      const link = await store.getLink(spec.name, object, side === "crm" ? { crmId: String(id) } : { erpId: String(id) });
      const otherId = link?.status === "active" ? (side === "crm" ? link.erpId : link.crmId) : null;
      if (!otherId) return undefined;
      const other = otherSide(side);
      const [r] = await (other === "crm" ? or.ctx.crm : or.ctx.erp).readByIds((other === "crm" ? o.crm : o.erp).entity, [otherId]);
      return r ? { ...r.values, $state: r.state ?? null } : undefined;
    },
    find: async (entity: unknown, field: unknown, value: unknown): Promise<unknown> => {
      if (typeof entity !== "string" || typeof field !== "string") return [];
      if (typeof value !== "string" && typeof value !== "number") return [];
      const found = await conn.findByField(entity, field, value);
      return found.map((r) => r.values);
    },
  };
  try {
    return await expression(expr).evaluate(rec.values, bindings);
  } catch (err) {
    if (err instanceof ConditionFailed) throw err;
    const msg = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
    throw new ConditionFailed(`condition \`${expr}\` failed on ${side} record ${rec.id}: ${msg}`);
  }
}

/** JSONata truthiness for a condition result (an empty sequence or array is false). */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0 && v.some(truthy);
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

/** Whether `rec` matches `cond`; the first unmet part is described in `why`. */
export async function matches(
  or: ObjectRun,
  side: Side,
  rec: RemoteRecord,
  cond: RecordCondition,
): Promise<{ ok: boolean; why: string }> {
  for (const e of cond.equals) {
    const cur: Json = e.field === "$state" ? (rec.state ?? null) : readField(rec, e.field).value;
    if (!e.values.some((v) => sameValue(cur, toJson(v)))) {
      const want = e.values.map((v) => JSON.stringify(v)).join(" or ");
      return { ok: false, why: `${e.field} is ${JSON.stringify(cur)}, not ${want}` };
    }
  }
  if (cond.expr !== undefined && !truthy(await evaluate(or, side, rec, cond.expr))) {
    return { ok: false, why: `\`${cond.expr}\` is false` };
  }
  return { ok: true, why: "" };
}

/** Field names a condition reads from a record (for read lists); `$expr` identifiers are included roughly. */
export function conditionFields(cond: RecordCondition | undefined): string[] {
  if (!cond) return [];
  const out = cond.equals.map((e) => e.field).filter((f) => f !== "$state");
  if (cond.expr) out.push(...expressionFields(cond.expr));
  return out;
}

/** Plain identifiers of a JSONata expression that may be record fields (not `$names`, not inside strings). */
export function expressionFields(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, " ");
  const out = new Set<string>();
  for (const m of noStrings.matchAll(/(^|[^$A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const w = m[2];
    if (["and", "or", "in", "true", "false", "null", "function"].includes(w)) continue;
    out.add(w);
  }
  return [...out];
}
