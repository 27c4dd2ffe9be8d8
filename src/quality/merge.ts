/**
 * Merging duplicates within one system, before go-live (`accord merge`).
 *
 * The clusters are the matcher's (findDuplicates on the object's records): pairs with an agreeing
 * tax id, the same normalised name with a compatible address, or a fuzzy score above the link
 * threshold. A cluster is ACCEPTED unless a person rejected it (a dismissed review item of kind
 * "match" saying one member looks like a duplicate of another).
 *
 * Per accepted cluster:
 *  - the survivor: the record already linked in the store (its links stay valid), else the most
 *    complete one (non-empty mapped fields), else the most recently modified, else the smallest id;
 *  - the best values: every mapped field empty on the survivor takes the value of the most recently
 *    modified other record that has one (the survivor's own values are never overwritten);
 *  - the merge itself: the system's own merge through the connector's optional `merge` (EspoCRM's
 *    merge action relinks contacts, deals …; ERPNext's rename-with-merge moves addresses, contacts,
 *    orders …). Without it, the plan lists what a person must merge by hand;
 *  - the store: links of merged-away records move to the survivor (or are flagged when the survivor
 *    has its own), their shared identifier follows, open match reviews about them are closed, pins lifted.
 */
import type { RemoteRecord } from "../connectors/types.ts";
import type { ObjectSpec, Side } from "../spec/model.ts";
import type { Json, Link } from "../store/types.ts";
import { allLinks, labelOf, pickObject, type QualityContext, readOrgs } from "./audit.ts";
import { findDuplicates } from "./dedupe.ts";

export interface MergeGroup {
  system: Side;
  object: string;
  entity: string;
  clusterId: string;
  survivorId: string;
  otherIds: string[];
  /** Record id → name, for people. */
  labels: Record<string, string>;
  /** Why the survivor was chosen. */
  survivorReason: string;
  /** Values written onto the survivor, each from the record that had it. */
  takes: Array<{ field: string; from: string; value: Json }>;
  /** Why the records are one organisation (the matcher's explanations). */
  why: string[];
  /** `api`: the system's own merge; `manual`: the system has none, a person merges. */
  how: "api" | "manual";
  /** Store links that move to the survivor, and those flagged because the survivor has its own. */
  links: {
    repoint: Array<{ linkId: number; object: string; from: string }>;
    flag: Array<{ linkId: number; object: string; recordId: string }>;
  };
}

export interface MergePlan {
  integration: string;
  object: string;
  groups: MergeGroup[];
  /** Clusters not merged, and why (rejected by a person, not in --cluster). */
  skipped: Array<{ system: Side; clusterId: string; recordIds: string[]; reason: string }>;
}

export interface MergeOptions {
  object?: string;
  side?: Side;
  /** Only these clusters (their ids: the smallest record id of each). */
  clusters?: string[];
  onProgress?: (message: string) => void;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "string" && v.trim() === "");
}

function json(v: unknown): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

/** The scalar fields of an entity the integration cares about (mapped on that side, standardised, the identity). */
export function mergeFields(ctx: QualityContext, side: Side, entity: string): string[] {
  const out = new Set<string>();
  for (const o of ctx.spec.objects) {
    if (o[side].entity !== entity) continue;
    for (const f of o.fields) out.add(f[side]);
    if (o[side].identity !== "id" && o[side].identity !== "name") out.add(o[side].identity);
  }
  for (const f of Object.keys(ctx.spec.standardize?.[side]?.[entity] ?? {})) out.add(f);
  // paths into child tables are not merged; the ERP's `name` is its id
  return [...out].filter((n) => !n.includes(".") && !n.includes("[") && n !== "id" && !(side === "erp" && n === "name"));
}

function scalar(v: unknown): boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** Plan the merges of an object's duplicate clusters in each system. Reads only. */
export async function planMerges(ctx: QualityContext, opts: MergeOptions = {}): Promise<MergePlan> {
  const { spec, store } = ctx;
  const obj = pickObject(spec, opts.object);
  const say = opts.onProgress ?? (() => {});
  const plan: MergePlan = { integration: spec.name, object: obj.name, groups: [], skipped: [] };
  const reviews = (await store.listReviews(spec.name, { object: obj.name })).filter((r) => r.kind === "match");
  const linkObjects = (side: Side) => spec.objects.filter((o) => o[side].entity === obj[side].entity);

  for (const side of ["crm", "erp"] as const) {
    if (opts.side && opts.side !== side) continue;
    const conn = side === "crm" ? ctx.crm : ctx.erp;
    say(`reading ${obj[side].entity} from the ${side.toUpperCase()} and looking for duplicates…`);
    const { records, orgs } = await readOrgs(ctx, obj, side);
    if (orgs.length === 0 && records.length > 0) continue; // no adapter for this system type
    const byId = new Map(records.map((r) => [r.id, r]));
    // links per record id, across the objects on this entity
    const linksOf = new Map<string, Array<{ link: Link; object: string }>>();
    for (const o of linkObjects(side)) {
      for (const l of await allLinks(store, spec.name, o.name)) {
        const id = side === "crm" ? l.crmId : l.erpId;
        if (!id) continue;
        const list = linksOf.get(id) ?? [];
        list.push({ link: l, object: o.name });
        linksOf.set(id, list);
      }
    }
    const fields = mergeFields(ctx, side, obj[side].entity);
    for (const c of findDuplicates(orgs)) {
      const ids = c.recordIds.filter((id) => byId.has(id));
      if (ids.length < 2) continue;
      if (opts.clusters && !opts.clusters.includes(c.id)) {
        plan.skipped.push({ system: side, clusterId: c.id, recordIds: ids, reason: "not named in --cluster" });
        continue;
      }
      const rejected = reviews.find((r) => {
        if (r.status !== "dismissed") return false;
        const id = side === "crm" ? r.crm : r.erp;
        const other = side === "crm" ? r.erp : r.crm;
        const dupOf =
          r.detail && typeof r.detail === "object" && !Array.isArray(r.detail) ? (r.detail as Record<string, Json>).duplicateOf : null;
        return (
          other === null &&
          typeof id === "string" &&
          ids.includes(id) &&
          Array.isArray(dupOf) &&
          dupOf.some((d) => typeof d === "string" && ids.includes(d))
        );
      });
      if (rejected) {
        plan.skipped.push({
          system: side,
          clusterId: c.id,
          recordIds: ids,
          reason: `a person said these are different organisations (review #${rejected.id} dismissed)`,
        });
        continue;
      }
      const recs = ids.map((id) => byId.get(id) as RemoteRecord);
      const filled = (r: RemoteRecord) => fields.filter((f) => !isEmpty(r.values[f])).length;
      const ranked = [...recs].sort(
        (a, b) =>
          Number(linksOf.has(b.id)) - Number(linksOf.has(a.id)) ||
          filled(b) - filled(a) ||
          b.modifiedAt.localeCompare(a.modifiedAt) ||
          a.id.localeCompare(b.id),
      );
      const survivor = ranked[0] as RemoteRecord;
      const others = ranked.slice(1);
      const reason = linksOf.has(survivor.id)
        ? "already linked in the store"
        : filled(survivor) > Math.max(...others.map(filled))
          ? `most complete (${filled(survivor)} of ${fields.length} fields)`
          : "most recently modified among the most complete";
      const byRecency = [...others].sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
      const takes: MergeGroup["takes"] = [];
      for (const f of fields) {
        if (!isEmpty(survivor.values[f])) continue;
        const donor = byRecency.find((r) => !isEmpty(r.values[f]) && scalar(r.values[f]));
        if (donor) takes.push({ field: f, from: donor.id, value: json(donor.values[f]) });
      }
      const repoint: MergeGroup["links"]["repoint"] = [];
      const flag: MergeGroup["links"]["flag"] = [];
      const survivorObjects = new Set((linksOf.get(survivor.id) ?? []).map((x) => x.object));
      for (const o of others) {
        for (const { link, object } of linksOf.get(o.id) ?? []) {
          if (survivorObjects.has(object)) flag.push({ linkId: link.id, object, recordId: o.id });
          else {
            repoint.push({ linkId: link.id, object, from: o.id });
            survivorObjects.add(object);
          }
        }
      }
      plan.groups.push({
        system: side,
        object: obj.name,
        entity: obj[side].entity,
        clusterId: c.id,
        survivorId: survivor.id,
        otherIds: others.map((r) => r.id),
        labels: Object.fromEntries(recs.map((r) => [r.id, labelOf(r)])),
        survivorReason: reason,
        takes,
        why: c.pairs.map((p) => p.explanation),
        how: typeof conn.merge === "function" ? "api" : "manual",
        links: { repoint, flag },
      });
    }
  }
  return plan;
}

export interface MergeResult {
  merged: Array<{ system: Side; survivorId: string; otherIds: string[] }>;
  manual: MergeGroup[];
  failed: Array<{ system: Side; clusterId: string; error: string }>;
  linksRepointed: number;
  linksFlagged: number;
  reviewsClosed: number;
}

/** Make the planned merges (api groups); manual groups are returned for a person. */
export async function applyMerges(
  ctx: QualityContext,
  plan: MergePlan,
  opts: { onProgress?: (m: string) => void } = {},
): Promise<MergeResult> {
  const { spec, store } = ctx;
  const say = opts.onProgress ?? (() => {});
  const res: MergeResult = {
    merged: [],
    manual: plan.groups.filter((g) => g.how === "manual"),
    failed: [],
    linksRepointed: 0,
    linksFlagged: 0,
    reviewsClosed: 0,
  };
  const openReviews = (await store.listReviews(spec.name, { status: "open" })).filter((r) => r.kind === "match");
  for (const g of plan.groups) {
    if (g.how !== "api") continue;
    const conn = g.system === "crm" ? ctx.crm : ctx.erp;
    const values: Record<string, unknown> = {};
    for (const t of g.takes) values[t.field] = t.value;
    say(`merging ${g.otherIds.join(", ")} into ${g.survivorId} (${g.system.toUpperCase()} ${g.entity})…`);
    let survivor: RemoteRecord;
    try {
      if (!conn.merge) throw new Error("the connector has no merge");
      survivor = await conn.merge(g.entity, g.survivorId, g.otherIds, values);
    } catch (err) {
      res.failed.push({ system: g.system, clusterId: g.clusterId, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    res.merged.push({ system: g.system, survivorId: g.survivorId, otherIds: g.otherIds });
    const rule = `merge of duplicates ${g.otherIds.join(", ")} into ${g.survivorId} (accord merge)`;
    const objOf = (name: string): ObjectSpec | undefined => spec.objects.find((o) => o.name === name);
    await store.logChanges(
      g.takes.map((t) => ({
        integration: spec.name,
        object: g.object,
        runId: null,
        linkId: null,
        target: g.system,
        recordId: g.survivorId,
        field: t.field,
        before: null,
        after: t.value,
        source: "person" as const,
        rule: `${rule}: value of ${t.from}`,
      })),
    );
    // Links follow the survivor; the shared identifier follows an ERP survivor into the CRM.
    for (const r of g.links.repoint) {
      const link = await store.getLink(spec.name, r.object, { id: r.linkId });
      const o = objOf(r.object);
      if (!link || !o) continue;
      const moved: Link = { ...link, ...(g.system === "crm" ? { crmId: g.survivorId } : { erpId: g.survivorId }) };
      let stamp: string | null = null;
      if (g.system === "erp") {
        const v = survivor.values[o.erp.identity];
        const sid = o.erp.identity === "name" || o.erp.identity === "id" || isEmpty(v) ? survivor.id : String(v);
        if (sid !== link.sharedId) {
          moved.sharedId = sid;
          stamp = sid;
        }
      }
      await store.saveLink(moved);
      res.linksRepointed++;
      if (stamp !== null && moved.crmId && o.crm.identity !== "id" && !o.parent) {
        try {
          await ctx.crm.update(o.crm.entity, moved.crmId, { [o.crm.identity]: stamp });
          await store.logChanges([
            {
              integration: spec.name,
              object: o.name,
              runId: null,
              linkId: link.id,
              target: "crm",
              recordId: moved.crmId,
              field: o.crm.identity,
              before: link.sharedId,
              after: stamp,
              source: "erp",
              rule,
            },
          ]);
        } catch (err) {
          res.failed.push({
            system: "crm",
            clusterId: g.clusterId,
            error: `re-stamping ${moved.crmId}: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
      }
    }
    for (const f of g.links.flag) {
      const link = await store.getLink(spec.name, f.object, { id: f.linkId });
      if (!link) continue;
      await store.saveLink({ ...link, status: "flagged" });
      res.linksFlagged++;
    }
    // Reviews about the merged records are settled; pins lifted.
    const ids = new Set([g.survivorId, ...g.otherIds]);
    for (const r of openReviews) {
      const id = g.system === "crm" ? r.crm : r.erp;
      const other = g.system === "crm" ? r.erp : r.crm;
      if (typeof id === "string" && ids.has(id) && (other === null || g.otherIds.includes(id))) {
        await store.closeReview(r.id, "resolved");
        res.reviewsClosed++;
      }
    }
    for (const id of ids) await store.setPinned(spec.name, g.object, g.system, id, false);
  }
  return res;
}
