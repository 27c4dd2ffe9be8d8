/**
 * Customer 360: one customer as both systems see it, assembled from the integration file's objects —
 * never from knowledge of a particular system:
 *  - the customer object's two records side by side (every mapped field), its link, last sync;
 *  - child objects (`parent: customer`, e.g. contacts) and objects that look the customer up
 *    (`lookup: customer`, e.g. deals → orders): their records in the CRM, each with its ERP counterpart
 *    and the mapped values (order name and status come back onto the deal);
 *  - objects kept on the customer's own CRM record (aggregates such as invoiced / outstanding totals);
 *  - open review items and quarantined records of all of these;
 *  - its service cases (CRM, by the customer's CRM id) and payment history (ERP, by its ERP id), read
 *    live (customer-activity.ts).
 */
import type { RemoteRecord } from "../connectors/types.ts";
import type { EngineContext } from "../engine/types.ts";
import { NotFound } from "../errors.ts";
import { type CustomerActivity, customerActivity } from "./customer-activity.ts";
import type { ObjectSpec } from "../spec/model.ts";
import type { Json, Link } from "../store/types.ts";

export interface RelatedRecord {
  object: string;
  crmId: string;
  erpId: string | null;
  link: Link["status"] | "not linked";
  /** Mapped (and condition) values of the CRM record, plus the ERP record's mapped values under `erp.`. */
  values: Record<string, Json>;
}

export interface Customer360 {
  object: string;
  crm: { entity: string; id: string | null; values: Record<string, Json> };
  erp: { entity: string; id: string | null; values: Record<string, Json> };
  link: { id: number; sharedId: string | null; status: Link["status"]; pinned: boolean; lastSync: string } | null;
  /** Field map by field map: CRM field, ERP field, both values. */
  fields: Array<{ crm: string; erp: string; direction: string; crmValue: Json; erpValue: Json }>;
  /** Per related object (children, lookups, aggregates on the customer's record). */
  related: Array<{ object: string; relation: "child" | "lookup" | "on record"; records: RelatedRecord[] }>;
  reviews: Array<{ id: number; object: string; kind: string; field: string | null; reason: string }>;
  quarantined: Array<{ object: string; side: string; recordId: string; errorClass: string; reason: string }>;
  /** Service cases in the CRM (open first, newest first); null when the CRM has no known case entity or no record. */
  cases: CustomerActivity["cases"];
  /** Payments received in the ERP (newest first); null when the ERP has no known payment entity or no record. */
  payments: CustomerActivity["payments"];
  /** Why cases or payments are null (no known source, no record in that system, a failed read). */
  activityNotes: CustomerActivity["notes"];
}

const plain = (v: unknown): Json => (v === undefined ? null : (JSON.parse(JSON.stringify(v ?? null)) as Json));

function pick(rec: RemoteRecord | undefined, names: string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!rec) return out;
  for (const n of names) if (n in rec.values && !Array.isArray(rec.values[n])) out[n] = plain(rec.values[n]);
  return out;
}

/** Find the customer by CRM id, ERP id / shared id, or exact name (the object's first mapped field) in either system. */
async function locate(
  ctx: EngineContext,
  obj: ObjectSpec,
  query: string,
): Promise<{ crm?: RemoteRecord; erp?: RemoteRecord; link?: Link }> {
  const { store, spec } = ctx;
  const byLink = async (l: Link | undefined) => {
    if (!l) return undefined;
    const [crm] = l.crmId ? await ctx.crm.readByIds(obj.crm.entity, [l.crmId]) : [];
    const [erp] = l.erpId ? await ctx.erp.readByIds(obj.erp.entity, [l.erpId]) : [];
    return { crm, erp, link: l };
  };
  const direct =
    (await byLink(await store.getLink(spec.name, obj.name, { crmId: query }))) ??
    (await byLink(await store.getLink(spec.name, obj.name, { erpId: query }))) ??
    (await byLink(await store.getLink(spec.name, obj.name, { sharedId: query })));
  if (direct) return direct;
  const nameMap = obj.fields[0];
  for (const side of ["crm", "erp"] as const) {
    const conn = side === "crm" ? ctx.crm : ctx.erp;
    const entity = side === "crm" ? obj.crm.entity : obj.erp.entity;
    const [byId] = await conn.readByIds(entity, [query]).catch(() => []);
    const found = byId ? [byId] : nameMap ? await conn.findByField(entity, side === "crm" ? nameMap.crm : nameMap.erp, query) : [];
    if (found.length === 0) continue;
    const rec = found[0];
    const l = await store.getLink(spec.name, obj.name, side === "crm" ? { crmId: rec.id } : { erpId: rec.id });
    if (l) return (await byLink(l)) ?? {};
    return side === "crm" ? { crm: rec } : { erp: rec };
  }
  return {};
}

export async function customer360(ctx: EngineContext, query: string, objectName = "customer"): Promise<Customer360> {
  const { store, spec } = ctx;
  const obj = spec.objects.find((o) => o.name === objectName);
  if (!obj) {
    throw new NotFound(`no object \`${objectName}\` in integration ${spec.name}`, {
      hint: `name the customer object with --object (objects: ${spec.objects.map((o) => o.name).join(", ")})`,
    });
  }
  const { crm, erp, link } = await locate(ctx, obj, query);
  if (!crm && !erp) {
    throw new NotFound(
      `no ${obj.name} "${query}" in either system (tried CRM/ERP ids, the shared id and the exact ${obj.fields[0]?.crm ?? "name"})`,
      {
        hint: "give a CRM id, an ERP id or the exact name; `accord audit` lists records",
      },
    );
  }
  const out: Customer360 = {
    object: obj.name,
    crm: {
      entity: obj.crm.entity,
      id: crm?.id ?? null,
      values: pick(
        crm,
        obj.fields.map((f) => f.crm),
      ),
    },
    erp: {
      entity: obj.erp.entity,
      id: erp?.id ?? null,
      values: pick(
        erp,
        obj.fields.map((f) => f.erp),
      ),
    },
    link: link ? { id: link.id, sharedId: link.sharedId, status: link.status, pinned: link.pinned, lastSync: link.updatedAt } : null,
    fields: obj.fields.map((f) => ({
      crm: f.crm,
      erp: f.erp,
      direction: f.direction,
      crmValue: crm ? plain(crm.values[f.crm]) : null,
      erpValue: erp ? plain(erp.values[f.erp]) : null,
    })),
    related: [],
    reviews: [],
    quarantined: [],
    cases: null,
    payments: null,
    activityNotes: { cases: null, payments: null },
  };
  const links: Array<{ object: string; link: Link }> = link ? [{ object: obj.name, link }] : [];
  const ids = new Set<string>([crm?.id, erp?.id].filter((x): x is string => Boolean(x)));

  for (const o of spec.objects) {
    if (o.name === obj.name) continue;
    let relation: "child" | "lookup" | "on record" | undefined;
    let via: string | undefined;
    if (o.parent?.object === obj.name && o.crm.entity !== obj.crm.entity) {
      relation = "child";
      via = o.parent.crm;
    } else if (o.fields.some((f) => f.lookup?.object === obj.name)) {
      relation = "lookup";
      via = o.fields.find((f) => f.lookup?.object === obj.name)?.crm;
    } else if (o.crm.entity === obj.crm.entity && o.crm.identity === obj.crm.identity) {
      relation = "on record";
    }
    if (!relation || !crm) continue;
    const recs: RemoteRecord[] = relation === "on record" ? [crm] : via ? await ctx.crm.findByField(o.crm.entity, via, crm.id) : [];
    const names = [
      "name",
      ...o.fields.filter((f) => !f.lines && !f.lookup).map((f) => f.crm),
      ...(o.when?.crm?.equals.map((e) => e.field) ?? []),
      ...(o.errors?.crm ? [o.errors.crm] : []),
      // values other objects keep on the same CRM records (the deal's invoice status, outstanding, amount paid)
      ...(relation === "on record"
        ? []
        : spec.objects
            .filter((x) => x !== o && x.name !== obj.name && x.crm.entity === o.crm.entity)
            .flatMap((x) => x.fields.filter((f) => !f.lines && !f.lookup && f.direction === "erp->crm").map((f) => f.crm))),
    ];
    const records: RelatedRecord[] = [];
    for (const r of recs) {
      const l = await store.getLink(spec.name, o.name, { crmId: r.id });
      if (relation === "on record" && !l) continue;
      const values = pick(r, relation === "on record" ? o.fields.map((f) => f.crm) : [...new Set(names)]);
      if (l) {
        links.push({ object: o.name, link: l });
        if (l.erpId) ids.add(l.erpId);
      }
      ids.add(r.id);
      records.push({ object: o.name, crmId: r.id, erpId: l?.erpId ?? null, link: l?.status ?? "not linked", values });
    }
    if (records.length) out.related.push({ object: o.name, relation, records });
  }

  for (const { object, link: l } of links) {
    for (const r of await store.listReviews(spec.name, { status: "open", object, linkId: l.id })) {
      out.reviews.push({ id: r.id, object, kind: r.kind, field: r.field, reason: r.reason });
    }
  }
  for (const q of await store.listQuarantine(spec.name, { status: "open" })) {
    if (ids.has(q.recordId))
      out.quarantined.push({ object: q.object, side: q.side, recordId: q.recordId, errorClass: q.errorClass, reason: q.reason });
  }

  // a failed read of cases or payments is a note: the rest of the view still shows
  const activity = await customerActivity(
    spec,
    { crm: ctx.crm, erp: ctx.erp },
    { crmId: crm?.id ?? null, erpId: erp?.id ?? null },
    { lenient: true },
  );
  out.cases = activity.cases;
  out.payments = activity.payments;
  out.activityNotes = activity.notes;
  return out;
}

const show = (v: Json): string => (v === null || v === "" ? "—" : typeof v === "string" ? v : JSON.stringify(v));

/** Text rendering for the terminal. */
export function renderCustomer360(c: Customer360): string {
  const lines: string[] = [];
  const title = show(c.fields[0]?.crmValue ?? null) !== "—" ? show(c.fields[0].crmValue) : show(c.fields[0]?.erpValue ?? null);
  lines.push(`${title}  (${c.object})`);
  lines.push(`  CRM ${c.crm.entity} ${c.crm.id ?? "— (not in the CRM)"}   ERP ${c.erp.entity} ${c.erp.id ?? "— (not in the ERP)"}`);
  lines.push(
    c.link
      ? `  link #${c.link.id} ${c.link.status}${c.link.pinned ? " (pinned)" : ""}, shared id ${c.link.sharedId ?? "—"}, last sync ${c.link.lastSync}`
      : "  not linked (run `accord link` or a sync)",
  );
  lines.push("", "  fields (crm ↔ erp)");
  for (const f of c.fields) {
    const differ = show(f.crmValue) !== show(f.erpValue) ? "  ≠" : "";
    lines.push(`    ${f.crm} = ${show(f.crmValue)}   ${f.direction}   ${f.erp} = ${show(f.erpValue)}${differ}`);
  }
  for (const r of c.related) {
    lines.push("", `  ${r.object} (${r.relation}: ${r.records.length})`);
    for (const x of r.records) {
      const vals = Object.entries(x.values)
        .map(([k, v]) => `${k}=${show(v)}`)
        .join(", ");
      lines.push(`    ${x.crmId}${x.erpId ? ` ↔ ${x.erpId}` : ""} [${x.link}] ${vals}`);
    }
  }
  if (c.cases) {
    lines.push("", `  service cases (${c.cases.entity}: ${c.cases.open} open, ${c.cases.closed} closed)`);
    for (const k of c.cases.items) {
      const no = k.number === null ? "" : `#${show(k.number)} `;
      lines.push(
        `    ${k.open ? "open  " : "closed"} ${no}${show(k.subject)} — ${show(k.status)}, ${show(k.priority)}${k.type ? `, ${k.type}` : ""}, created ${show(k.created)} (${k.id})`,
      );
    }
  }
  if (!c.cases && c.activityNotes.cases) lines.push("", `  service cases: ${c.activityNotes.cases}`);
  if (!c.payments && c.activityNotes.payments) lines.push("", `  payment history: ${c.activityNotes.payments}`);
  if (c.payments) {
    lines.push("", `  payment history (${c.payments.entity}: ${c.payments.items.length}, total ${c.payments.total.toFixed(2)})`);
    for (const p of c.payments.items) {
      lines.push(
        `    ${show(p.date)}  ${p.amount.toFixed(2).padStart(12)}  ${show(p.mode)}  ref ${show(p.reference)}  settles ${p.invoices.length ? p.invoices.join(", ") : "—"}  (${p.id})`,
      );
    }
  }
  lines.push("", `  open reviews: ${c.reviews.length}`);
  for (const r of c.reviews) lines.push(`    #${r.id} ${r.object} ${r.kind}${r.field ? ` ${r.field}` : ""}: ${r.reason}`);
  lines.push(`  quarantined: ${c.quarantined.length}`);
  for (const q of c.quarantined) lines.push(`    ${q.object} ${q.side} ${q.recordId} ${q.errorClass}: ${q.reason}`);
  return lines.join("\n");
}
