/**
 * Apply: carry out a RecordPlan (real runs only). Order: quarantine | create | new link
 * (committed first) → review items → remote updates (each with ifVersion = the version read;
 * the base of the fields written is committed right after each successful write) → rebases,
 * applied resolutions, versions, shared id → change log.
 * A VersionConflict propagates to the runner, which re-reads and re-plans the record.
 */
import type { Side } from "../spec/model.ts";
import type { ChangeLogEntry, Json, Link } from "../store/types.ts";
import { executeCreate, noteWritten } from "./creates.ts";
import { withWriteRecorded } from "./echo.ts";
import { readValue } from "./paths.ts";
import { connectorOf, createdSide, entityOf } from "./plan.ts";
import { oneWayMaster } from "./reconcile.ts";
import type { ObjectRun, RecordPlan } from "./types.ts";
import { BASE_APPLIED_KEY, BASE_WRITES_KEY, otherSide } from "./values.ts";

export async function applyPlan(or: ObjectRun, plan: RecordPlan): Promise<void> {
  const { store, spec } = or.ctx;
  const integration = spec.name;
  if (plan.quarantine) {
    const q = plan.quarantine;
    await store.quarantine({
      integration,
      object: or.obj.name,
      side: q.side,
      recordId: q.recordId,
      errorClass: q.errorClass,
      reason: q.reason,
      payload: q.payload,
    });
    return;
  }
  if (plan.deletion) {
    if (plan.link) await applyDeletion(or, plan.link, plan.deletion.deletedSide);
    return;
  }
  if (plan.create && plan.source) {
    const link = await executeCreate(or, plan.create, plan.source);
    if (or.obj.submit === "submit" && createdSide(or) === plan.create.target) {
      const id = plan.create.target === "crm" ? link.crmId : link.erpId;
      if (id) await submitDocument(or, plan.create.target, id, link);
    }
    return;
  }
  if (!plan.crm || !plan.erp) return; // pinned, not linked, nothing to do
  let link: Link | undefined = plan.link;
  if (!link && plan.newLink) {
    const nl = plan.newLink;
    link = await store.transaction((tx) =>
      tx.saveLink({
        integration,
        object: or.obj.name,
        crmId: nl.crmId,
        erpId: nl.erpId,
        sharedId: nl.sharedId,
        base: {},
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      }),
    );
  }
  if (!link) return;
  const linkId = link.id;

  for (const r of plan.reviews) {
    const item = await store.addReview({
      integration,
      object: or.obj.name,
      linkId,
      kind: r.kind,
      field: r.field,
      base: r.base,
      crm: r.crm,
      erp: r.erp,
      reason: r.reason,
      detail: r.detail,
    });
    const list = or.openReviews.get(linkId) ?? [];
    list.push(item);
    or.openReviews.set(linkId, list);
  }

  let base: Record<string, Json> = { ...link.base };
  if (plan.resetBounce !== undefined) base[BASE_WRITES_KEY] = [];
  const versions: Record<Side, string | null> = { crm: plan.crm.version ?? link.crmVersion, erp: plan.erp.version ?? link.erpVersion };
  const applied = new Set<number>();
  const markApplied = (id: number | undefined) => {
    if (id !== undefined) applied.add(id);
  };
  if (plan.resetBounce !== undefined) markApplied(plan.resetBounce);
  const withApplied = (b: Record<string, Json>): Record<string, Json> => {
    const prev = Array.isArray(b[BASE_APPLIED_KEY]) ? (b[BASE_APPLIED_KEY] as Json[]) : [];
    const ids = new Set<number>(prev.filter((x): x is number => typeof x === "number"));
    for (const id of applied) ids.add(id);
    return { ...b, [BASE_APPLIED_KEY]: [...ids].sort((x, y) => x - y) };
  };

  const writtenKeys = new Set<string>();
  let bounceRecorded = false;
  for (const u of plan.updates) {
    // Invariant 4, checked again at the last moment before a write.
    for (const d of plan.fields) {
      if (d.writes.some((w) => w.target === u.target) && oneWayMaster(d.map) === u.target) {
        throw new Error(`invariant 4 violated: ${d.key} would be written into its master ${u.target}`);
      }
    }
    const res = await connectorOf(or, u.target).update(
      u.entity,
      u.recordId,
      u.values,
      u.ifVersion !== undefined ? { ifVersion: u.ifVersion } : undefined,
    );
    noteWritten(or, u.target, u.recordId);
    versions[u.target] = res.version ?? null;
    const dropped = Object.keys(u.values).filter((k) => !(k in res.values));
    if (dropped.length) {
      or.ctx.logger?.warn(
        { object: or.obj.name, system: u.target, record: u.recordId, fields: dropped },
        "written fields did not come back from the system (unknown or read-only there?); check the field map",
      );
    }
    for (const d of plan.fields) {
      const w = d.writes.find((x) => x.target === u.target);
      if (!w || !d.base) continue;
      const name = u.target === "crm" ? d.map.crm : d.map.erp;
      const back = readValue(res.values, name);
      const stored = back.present ? back.value : w.value;
      const start = writtenKeys.has(d.key) ? (base[d.key] as Record<string, Json>) : { ...d.base };
      writtenKeys.add(d.key);
      base[d.key] = { ...start, [u.target]: stored };
      if (d.writes.every((x) => x.target === u.target)) markApplied(d.appliesReviewId);
    }
    // the bounce cap counts one write per record plan, however many systems it touched
    if (!bounceRecorded) base = withWriteRecorded(base, or.now().getTime(), spec.sync.bounce.windowMs);
    bounceRecorded = true;
    link = await store.saveLink({ ...link, base: withApplied(base), crmVersion: versions.crm, erpVersion: versions.erp });
    const entries: ChangeLogEntry[] = u.changes.map((c) => ({
      integration,
      object: or.obj.name,
      runId: or.runId,
      linkId,
      target: u.target,
      recordId: u.recordId,
      field: c.field,
      before: c.before,
      after: c.after,
      source: c.source,
      rule: c.rule,
    }));
    await store.logChanges(entries);
  }

  // Fields that moved only in the base (already equal, ignored master edits), and multi-write resolutions.
  const logs: ChangeLogEntry[] = [];
  for (const d of plan.fields) {
    if (d.action === "rebase" && d.base) {
      base[d.key] = d.base as unknown as Json;
      markApplied(d.appliesReviewId);
      if (d.log) {
        logs.push({
          integration,
          object: or.obj.name,
          runId: or.runId,
          linkId,
          target: d.log.target,
          recordId: d.log.target === "crm" ? plan.crm.id : plan.erp.id,
          field: d.log.target === "crm" ? d.map.crm : d.map.erp,
          before: d.log.before,
          after: d.log.after,
          source: d.log.source,
          rule: d.rule,
        });
      }
    }
    if (d.action === "write") markApplied(d.appliesReviewId);
  }
  for (const r of plan.reviews) {
    if (r.kind !== "master-edit" || !r.field) continue;
    const d = plan.fields.find((x) => x.key === r.field);
    if (!d) continue;
    const o = otherSide(oneWayMaster(d.map) ?? "crm");
    logs.push({
      integration,
      object: or.obj.name,
      runId: or.runId,
      linkId,
      target: o,
      recordId: o === "crm" ? plan.crm.id : plan.erp.id,
      field: o === "crm" ? d.map.crm : d.map.erp,
      before: r.base && typeof r.base === "object" && !Array.isArray(r.base) ? ((r.base as Record<string, Json>)[o] ?? null) : null,
      after: o === "crm" ? r.crm : r.erp,
      source: o,
      rule: d.rule,
    });
  }
  if (logs.length) await store.logChanges(logs);
  if (plan.submit) link = await submitDocument(or, plan.submit.target, plan.submit.recordId, link);
  await store.saveLink({
    ...link,
    base: withApplied(base),
    sharedId: plan.sharedId ?? link.sharedId,
    crmVersion: versions.crm,
    erpVersion: versions.erp,
  });
}

/** A linked record vanished on `deletedSide`: apply the object's delete policy. Never re-creates. */
export async function applyDeletion(or: ObjectRun, link: Link, deletedSide: Side): Promise<void> {
  const { store, spec } = or.ctx;
  const survivor = otherSide(deletedSide);
  const survivorId = survivor === "crm" ? link.crmId : link.erpId;
  const policy = or.obj.deletes;
  let status: Link["status"] = deletedSide === "crm" ? "deleted-crm" : "deleted-erp";
  let rule = `deleted in ${deletedSide}; deletes: ${policy}`;
  if (policy === "propagate" && survivorId) {
    const conn = connectorOf(or, survivor);
    if (conn.delete) {
      await conn.delete(entityOf(or, survivor), survivorId);
      rule = `deleted in ${deletedSide}; propagated to ${survivor}`;
    } else {
      status = "flagged";
      rule = `deleted in ${deletedSide}; the ${survivor} connector cannot delete, so the link is flagged`;
    }
  } else if (policy === "flag") {
    status = "flagged";
  }
  await store.saveLink({ ...link, status });
  await store.logChanges([
    {
      integration: spec.name,
      object: or.obj.name,
      runId: or.runId,
      linkId: link.id,
      target: survivor,
      recordId: survivorId ?? "",
      field: "(record)",
      before: survivorId,
      after: policy === "propagate" && status !== "flagged" ? null : survivorId,
      source: deletedSide,
      rule,
    },
  ]);
}

/** Submit a document Accord created (submit policy), and log it in the record's history. */
async function submitDocument(or: ObjectRun, target: Side, id: string, link: Link): Promise<Link> {
  const { store, spec } = or.ctx;
  const conn = connectorOf(or, target);
  if (!conn.submit) {
    or.ctx.logger?.warn(
      { object: or.obj.name, system: target, record: id },
      "submit: submit, but this system has no document states; left as is",
    );
    return link;
  }
  const res = await conn.submit(entityOf(or, target), id);
  const saved = await store.saveLink({ ...link, [target === "crm" ? "crmVersion" : "erpVersion"]: res.version ?? null });
  await store.logChanges([
    {
      integration: spec.name,
      object: or.obj.name,
      runId: or.runId,
      linkId: link.id,
      target,
      recordId: id,
      field: "(state)",
      before: "draft",
      after: res.state ?? "submitted",
      source: otherSide(target),
      rule: "submit: submit",
    },
  ]);
  return saved;
}
