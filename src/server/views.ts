/**
 * What the console shows, assembled from the store (and, when the server has them, the two
 * systems' connectors): the dashboard per object, a review item with its "why", a record's
 * history, the customer 360. Plain data; the HTTP layer only validates and serialises.
 */
import type { Connector, RemoteRecord } from "../connectors/types.ts";
import { NotFound } from "../errors.ts";
import { describeConflict } from "../spec/doc.ts";
import type { FieldMap, IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { Alert, ChangeLogEntry, Json, Link, QuarantineEntry, ReviewItem, Run, Store } from "../store/types.ts";

export interface Systems {
  crm: Connector;
  erp: Connector;
}

/** Runs a chart shows per object. */
const SERIES = 30;
/** Runs the error rate is taken over. */
const RATE_WINDOW = 10;

export interface ObjectHealth {
  object: string;
  crmEntity: string;
  erpEntity: string;
  schedule: string;
  links: number;
  openReviews: number;
  openQuarantine: number;
  lastRun: Run | null;
  lastOk: Run | null;
  /** Quarantined / read over the last runs (failed runs count as all-failed reads, at least one). */
  errorRate: number;
  errorRateRuns: number;
  /** Milliseconds since the last successful run finished (null: never). */
  freshnessMs: number | null;
  /** Duration of the last finished run: how far behind a change can be at worst, on top of the schedule. */
  lagMs: number | null;
  /** Oldest first, for charts. */
  series: Array<{
    runId: number;
    at: string;
    status: Run["status"];
    read: number;
    applied: number;
    held: number;
    quarantined: number;
    durationMs: number | null;
  }>;
}

export interface Dashboard {
  integration: string;
  at: string;
  objects: ObjectHealth[];
  alerts: Alert[] | null;
  drift: Alert[] | null;
  schemaSnapshots: Array<{ side: Side; acceptedAt: string }>;
}

function scheduleText(o: ObjectSpec): string {
  return "tier" in o.schedule ? o.schedule.tier : `cron ${o.schedule.cron}`;
}

function duration(r: Run): number | null {
  return r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null;
}

export function errorRate(runs: Run[]): number {
  let read = 0;
  let bad = 0;
  for (const r of runs) {
    if (r.status === "failed" || r.status === "abandoned") {
      const n = Math.max(1, r.counts.read);
      read += n;
      bad += Math.max(1, r.counts.read - r.counts.applied - r.counts.unchanged - r.counts.held);
    } else {
      read += r.counts.read;
      bad += r.counts.quarantined;
    }
  }
  return read === 0 ? 0 : bad / read;
}

export async function dashboard(store: Store, spec: IntegrationSpec, now = Date.now()): Promise<Dashboard> {
  const objects: ObjectHealth[] = [];
  const [openReviews, openQuarantine] = await Promise.all([
    store.listReviews(spec.name, { status: "open" }),
    store.listQuarantine(spec.name, { status: "open" }),
  ]);
  for (const o of spec.objects) {
    const runs = (await store.listRuns(spec.name, { object: o.name, limit: 200 })).filter((r) => r.kind === "sync");
    const lastRun = runs[0] ?? null;
    const lastOk = runs.find((r) => r.status === "ok" && r.finishedAt) ?? null;
    const finished = runs.filter((r) => r.status !== "running");
    const lastFinished = finished[0];
    objects.push({
      object: o.name,
      crmEntity: o.crm.entity,
      erpEntity: o.erp.entity,
      schedule: scheduleText(o),
      links: await store.countLinks(spec.name, o.name),
      openReviews: openReviews.filter((r) => r.object === o.name).length,
      openQuarantine: openQuarantine.filter((q) => q.object === o.name).length,
      lastRun,
      lastOk,
      errorRate: errorRate(finished.slice(0, RATE_WINDOW)),
      errorRateRuns: Math.min(RATE_WINDOW, finished.length),
      freshnessMs: lastOk?.finishedAt ? Math.max(0, now - Date.parse(lastOk.finishedAt)) : null,
      lagMs: lastFinished ? duration(lastFinished) : null,
      series: runs
        .slice(0, SERIES)
        .reverse()
        .map((r) => ({
          runId: r.id,
          at: r.startedAt,
          status: r.status,
          read: r.counts.read,
          applied: r.counts.applied,
          held: r.counts.held,
          quarantined: r.counts.quarantined,
          durationMs: duration(r),
        })),
    });
  }
  const alerts = store.listAlerts ? await store.listAlerts(spec.name, { status: "active", limit: 200 }) : null;
  const snapshots: Array<{ side: Side; acceptedAt: string }> = [];
  for (const side of ["crm", "erp"] as const) {
    const s = await store.latestSchemaSnapshot(spec.name, side);
    if (s) snapshots.push({ side, acceptedAt: s.acceptedAt });
  }
  return {
    integration: spec.name,
    at: new Date(now).toISOString(),
    objects,
    alerts: alerts ? alerts.filter((a) => a.rule !== "schema-drift") : null,
    drift: alerts ? alerts.filter((a) => a.rule === "schema-drift") : null,
    schemaSnapshots: snapshots,
  };
}

export function findObject(spec: IntegrationSpec, name: string): ObjectSpec {
  const o = spec.objects.find((x) => x.name === name);
  if (!o)
    throw new NotFound(`integration ${spec.name} has no object "${name}"`, {
      where: { object: name },
      hint: `Objects: ${spec.objects.map((x) => x.name).join(", ")}.`,
    });
  return o;
}

function fieldOf(o: ObjectSpec, key: string | null): FieldMap | undefined {
  if (!key) return undefined;
  return o.fields.find((f) => `${f.crm}|${f.erp}` === key || f.crm === key || f.erp === key);
}

/** Why a field is mapped the way it is, in words (for the review screen). */
export function fieldRule(f: FieldMap | undefined): Record<string, Json> | null {
  if (!f) return null;
  return {
    crm: f.crm,
    erp: f.erp,
    direction: f.direction,
    master: f.master ?? null,
    conflict: describeConflict(f.conflict),
    onMasterEdit: f.onMasterEdit,
  };
}

export interface ReviewView {
  item: ReviewItem;
  link: Link | null;
  rule: Record<string, Json> | null;
  /** What a person may decide for this kind of item. */
  choices: Array<"pick" | "value" | "accept" | "reject">;
}

export async function reviewView(store: Store, spec: IntegrationSpec | undefined, item: ReviewItem): Promise<ReviewView> {
  const link = item.linkId !== null ? ((await store.getLink(item.integration, item.object, { id: item.linkId })) ?? null) : null;
  const o = spec?.objects.find((x) => x.name === item.object);
  const choices: ReviewView["choices"] =
    item.kind === "match"
      ? ["accept", "reject"]
      : item.kind === "conflict"
        ? ["pick", "value"]
        : item.kind === "bounce"
          ? ["accept"]
          : ["pick", "value", "accept"];
  return { item, link, rule: o ? fieldRule(fieldOf(o, item.field)) : null, choices };
}

/** The link of a record by any of its ids (CRM id, ERP id or shared id). */
export async function findLink(store: Store, integration: string, object: string, id: string): Promise<Link | undefined> {
  return (
    (await store.getLink(integration, object, { crmId: id })) ??
    (await store.getLink(integration, object, { erpId: id })) ??
    (await store.getLink(integration, object, { sharedId: id }))
  );
}

export async function recordHistory(
  store: Store,
  integration: string,
  object: string,
  id: string,
): Promise<{ link: Link | null; entries: ChangeLogEntry[] }> {
  const link = await findLink(store, integration, object, id);
  const ids = [...new Set([id, link?.crmId, link?.erpId].filter((x): x is string => typeof x === "string"))];
  const entries = (await Promise.all(ids.map((rid) => store.history(integration, object, rid))))
    .flat()
    .sort((a, b) => (a.at ?? "").localeCompare(b.at ?? "") || (a.id ?? 0) - (b.id ?? 0));
  return { link: link ?? null, entries };
}

/** The object a "customer" is: the one named customer, else the first object without a parent. */
export function customerObject(spec: IntegrationSpec): ObjectSpec {
  return spec.objects.find((o) => o.name === "customer") ?? spec.objects.find((o) => !o.parent) ?? spec.objects[0];
}

/**
 * A display name for a link from its base snapshot: the mapped fields named like a name (a
 * company's name; a person's first and last name, joined), else the shared or a record id.
 */
export function linkLabel(o: ObjectSpec, link: Link): string {
  const named = o.fields.filter((x) => /name/i.test(x.crm) || /name/i.test(x.erp));
  const whole = named.find((x) => /^(name|.*_name|fullName|full_name)$/i.test(x.crm) && !/^(first|last|middle)/i.test(x.crm));
  const parts = (whole ? [whole] : named.slice(0, 3))
    .map((f) => {
      const b = link.base[`${f.crm}|${f.erp}`] as { crm?: Json; erp?: Json } | undefined;
      const v = b?.crm ?? b?.erp;
      return typeof v === "string" ? v.trim() : "";
    })
    .filter(Boolean);
  return parts.length ? parts.join(" ") : (link.sharedId ?? link.erpId ?? link.crmId ?? `link ${link.id}`);
}

const SCAN_LIMIT = 50_000;

/** Links of an object whose ids or synced values contain `q` (case-insensitive); newest-linked last. */
export async function searchLinks(
  store: Store,
  spec: IntegrationSpec,
  o: ObjectSpec,
  q: string,
  limit = 50,
): Promise<Array<{ link: Link; label: string }>> {
  const needle = q.trim().toLowerCase();
  const out: Array<{ link: Link; label: string }> = [];
  let afterId: number | undefined;
  let scanned = 0;
  while (out.length < limit && scanned < SCAN_LIMIT) {
    const page = await store.listLinks(spec.name, o.name, { afterId, limit: 1000 });
    if (!page.length) break;
    scanned += page.length;
    afterId = page[page.length - 1].id;
    for (const l of page) {
      if (out.length >= limit) break;
      if (!needle) {
        out.push({ link: l, label: linkLabel(o, l) });
        continue;
      }
      const hay = [
        l.crmId,
        l.erpId,
        l.sharedId,
        ...Object.entries(l.base)
          .filter(([k]) => k.includes("|"))
          .map(([, v]) => JSON.stringify(v)),
      ]
        .filter((x): x is string => typeof x === "string")
        .join("\u0000")
        .toLowerCase();
      if (hay.includes(needle)) out.push({ link: l, label: linkLabel(o, l) });
    }
  }
  return out;
}

export interface FieldRow {
  crm: string;
  erp: string;
  direction: string;
  master: Side | null;
  base: { crm?: Json; erp?: Json } | null;
  crmValue?: unknown;
  erpValue?: unknown;
}

export interface Customer360 {
  object: string;
  label: string;
  link: Link;
  /** Live records, when the server has the connectors (null: not reachable / not configured; reason given). */
  crm: RemoteRecord | null;
  erp: RemoteRecord | null;
  live: { crm: string | null; erp: string | null };
  fields: FieldRow[];
  /** Records pointing at the customer: by parent reference (contacts, addresses) or by a lookup field (sales orders). */
  children: Array<{ object: string; via: "parent" | "lookup"; items: Array<{ link: Link; label: string }> }>;
  /** Objects kept on the customer's own CRM record (e.g. invoice totals per account), with their synced values. */
  related: Array<{ object: string; erpEntity: string; link: Link; fields: FieldRow[] }>;
  history: ChangeLogEntry[];
  reviews: ReviewItem[];
  quarantine: QuarantineEntry[];
  /** Service cases (CRM, by the link's CRM id), read live; null with the reason in `activityNotes`. */
  cases: import("../flows/customer-activity.ts").CustomerActivity["cases"];
  /** Payments received (ERP, by the link's ERP id): date, amount, mode, reference, invoices settled; read live. */
  payments: import("../flows/customer-activity.ts").CustomerActivity["payments"];
  activityNotes: { cases: string | null; payments: string | null };
}

async function readOne(
  c: Connector | undefined,
  entity: string,
  id: string | null,
): Promise<{ record: RemoteRecord | null; note: string | null }> {
  if (!c) return { record: null, note: "the server was started without the system's credentials" };
  if (!id) return { record: null, note: "no record in this system" };
  try {
    const [r] = await c.readByIds(entity, [id]);
    return { record: r ?? null, note: r ? null : `${entity} ${id} was not found` };
  } catch (err) {
    return { record: null, note: `could not read ${entity} ${id}: ${(err as Error).message}` };
  }
}

export async function customer360(
  store: Store,
  spec: IntegrationSpec,
  objectName: string,
  id: string,
  systems?: Systems,
): Promise<Customer360> {
  const o = findObject(spec, objectName);
  const link = await findLink(store, spec.name, o.name, id);
  if (!link)
    throw new NotFound(`no ${o.name} linked under the id ${id}`, {
      where: { object: o.name, record: id },
      hint: "Search by name on the customer page, or use a CRM id, an ERP id or the shared id.",
    });
  const [crm, erp] = await Promise.all([readOne(systems?.crm, o.crm.entity, link.crmId), readOne(systems?.erp, o.erp.entity, link.erpId)]);
  const fields: FieldRow[] = o.fields.map((f) => {
    const row: FieldRow = {
      crm: f.crm,
      erp: f.erp,
      direction: f.direction,
      master: f.master ?? null,
      base: (link.base[`${f.crm}|${f.erp}`] as FieldRow["base"]) ?? null,
    };
    if (crm.record) row.crmValue = crm.record.values[f.crm] ?? null;
    if (erp.record) row.erpValue = erp.record.values[f.erp] ?? null;
    return row;
  });
  // Records that point at this customer: children by their parent reference (contacts, addresses),
  // and objects with a lookup field into the customer object (e.g. sales orders: accountId → customer).
  const children: Customer360["children"] = [];
  const pointers: Array<{ obj: ObjectSpec; crm: string; erp: string; crmIsId: boolean; erpIsId: boolean; via: "parent" | "lookup" }> = [];
  for (const other of spec.objects) {
    if (other.name === o.name) continue;
    if (other.parent?.object === o.name) {
      const p = other.parent;
      pointers.push({ obj: other, crm: p.crm, erp: p.erp, crmIsId: p.crm === "id", erpIsId: p.erp === "id", via: "parent" });
      continue;
    }
    const lf = other.fields.find((f) => f.lookup?.object === o.name);
    if (lf) pointers.push({ obj: other, crm: lf.crm, erp: lf.erp, crmIsId: false, erpIsId: false, via: "lookup" });
  }
  for (const ptr of pointers) {
    const key = `${ptr.crm}|${ptr.erp}`;
    const items: Array<{ link: Link; label: string }> = [];
    let afterId: number | undefined;
    for (let scanned = 0; scanned < SCAN_LIMIT && items.length < 200; ) {
      const page = await store.listLinks(spec.name, ptr.obj.name, { afterId, limit: 1000 });
      if (!page.length) break;
      scanned += page.length;
      afterId = page[page.length - 1].id;
      for (const l of page) {
        const b = l.base[key] as { crm?: Json; erp?: Json } | undefined;
        const crmParent = ptr.crmIsId ? null : b?.crm;
        const erpParent = ptr.erpIsId ? null : b?.erp;
        const byValue =
          (link.crmId && crmParent === link.crmId) ||
          (link.erpId && erpParent === link.erpId) ||
          (link.sharedId && erpParent === link.sharedId);
        const byId = (ptr.crmIsId && link.crmId && l.crmId === link.crmId) || (ptr.erpIsId && link.erpId && l.erpId === link.erpId);
        if (byValue || byId) items.push({ link: l, label: linkLabel(ptr.obj, l) });
      }
    }
    children.push({ object: ptr.obj.name, via: ptr.via, items });
  }
  // Objects kept on the customer's own record (e.g. invoice totals per account): their link by the CRM id.
  const related: Customer360["related"] = [];
  for (const other of spec.objects) {
    if (other.name === o.name || other.parent || other.crm.entity !== o.crm.entity || !link.crmId) continue;
    const l = await store.getLink(spec.name, other.name, { crmId: link.crmId });
    if (!l) continue;
    related.push({
      object: other.name,
      erpEntity: other.erp.entity,
      link: l,
      fields: other.fields.map((f) => ({
        crm: f.crm,
        erp: f.erp,
        direction: f.direction,
        master: f.master ?? null,
        base: (l.base[`${f.crm}|${f.erp}`] as FieldRow["base"]) ?? null,
      })),
    });
  }
  const { entries } = await recordHistory(store, spec.name, o.name, link.crmId ?? link.erpId ?? id);
  const reviews = (await store.listReviews(spec.name, { object: o.name, status: "open" })).filter(
    (r) => r.linkId === link.id || (r.kind === "match" && (r.crm === link.crmId || r.erp === link.erpId)),
  );
  const quarantine = (await store.listQuarantine(spec.name, { object: o.name })).filter(
    (q) => q.status !== "resolved" && ((q.side === "crm" && q.recordId === link.crmId) || (q.side === "erp" && q.recordId === link.erpId)),
  );
  // service cases and payment history, through the link's ids (a failed read is a note, not a failure)
  const { customerActivity } = await import("../flows/customer-activity.ts");
  const activity = await customerActivity(spec, systems, { crmId: link.crmId, erpId: link.erpId }, { lenient: true });
  return {
    object: o.name,
    label: linkLabel(o, link),
    link,
    crm: crm.record,
    erp: erp.record,
    live: { crm: crm.note, erp: erp.note },
    fields,
    children,
    related,
    history: entries,
    reviews,
    quarantine,
    cases: activity.cases,
    payments: activity.payments,
    activityNotes: activity.notes,
  };
}
