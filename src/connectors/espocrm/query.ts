/**
 * EspoCRM query encoding: PHP bracket syntax (`where[0][type]=equals&where[0][value]=x`),
 * every key and value percent-encoded by URLSearchParams, so record data (quotes, &, =, %,
 * brackets, unicode) can never change the structure of the query.
 */
import { ValidationRejected } from "../../errors.ts";
import { scalar } from "../options.ts";
import type { FilterExpr } from "../types.ts";

export interface WhereItem {
  type: string;
  attribute?: string;
  value?: unknown;
}

/** Append a value under a PHP-bracketed name: objects and arrays recurse with explicit indices. */
export function appendBracketed(params: URLSearchParams, name: string, value: unknown): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) appendBracketed(params, `${name}[${i}]`, value[i]);
    return;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) appendBracketed(params, `${name}[${k}]`, v);
    return;
  }
  const s = scalar(value);
  params.append(name, s === null ? "" : String(s));
}

const OPS: Record<FilterExpr["op"], string> = {
  "=": "equals",
  "!=": "notEquals",
  ">": "greaterThan",
  ">=": "greaterThanOrEquals",
  "<": "lessThan",
  "<=": "lessThanOrEquals",
  in: "in",
  "not in": "notIn",
  like: "like",
  "is set": "isNotNull",
  "is not set": "isNull",
};

/** Neutral filters → Espo where items. `like` passes the caller's own wildcards through. */
export function toWhere(filters: FilterExpr[] | undefined, entity: string): WhereItem[] {
  const out: WhereItem[] = [];
  for (const f of filters ?? []) {
    const type = OPS[f.op];
    if (!type)
      throw new ValidationRejected(`espocrm: filter operator "${String(f.op)}" on ${entity}.${f.field} is not supported.`, {
        where: { system: "espocrm", object: entity, field: f.field },
      });
    if (f.op === "is set" || f.op === "is not set") out.push({ type, attribute: f.field });
    else if (f.op === "in" || f.op === "not in") {
      const list = Array.isArray(f.value) ? f.value : [f.value];
      out.push({ type, attribute: f.field, value: list.map((v) => scalar(v)) });
    } else out.push({ type, attribute: f.field, value: scalar(f.value) });
  }
  return out;
}

export interface ListParams {
  where?: WhereItem[];
  maxSize: number;
  offset?: number;
  orderBy?: string;
  order?: "asc" | "desc";
  select?: string[];
}

export function listQuery(p: ListParams): URLSearchParams {
  const q = new URLSearchParams();
  q.set("maxSize", String(p.maxSize));
  q.set("offset", String(p.offset ?? 0));
  if (p.orderBy) {
    q.set("orderBy", p.orderBy);
    q.set("order", p.order ?? "asc");
  }
  if (p.select?.length) q.set("select", p.select.join(","));
  if (p.where?.length) appendBracketed(q, "where", p.where);
  return q;
}
