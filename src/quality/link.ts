/**
 * `accord link`: go-live linking, with the person's decisions from the review queue.
 *
 *  1. pairs a person ACCEPTED in the review queue (`accord review resolve ID --accept` on a
 *     "match" item) are linked first: a Link with the ERP-wins base (goLiveBase), the shared
 *     identifier stamped into the CRM record, the pins go-live put on both records lifted;
 *  2. go-live (src/quality/golive.ts, reused as is): the matcher's pairs are linked and stamped,
 *     unsure pairs and in-system duplicates go to the review queue (kind "match", detail = the
 *     per-field contributions) with their records pinned;
 *  3. the first sync of the object creates the missing counterparts: ERP-only customers are
 *     imported into the CRM (the ERP is the source of truth for existing customers) unless the
 *     object's create policy is `never` or `link-only`; CRM-only customers go into the ERP when the
 *     policy allows creates in the ERP (`both`, `crm->erp`). Both carry the shared identifier.
 *
 * A pair a person REJECTED (`--reject`) is dismissed: go-live never proposes it again, and its
 * records are unpinned (they sync as different customers) unless another open item holds them.
 */

import { runSync } from "../engine/index.ts";
import type { EngineContext, SyncResult } from "../engine/types.ts";
import { ValidationRejected } from "../errors.ts";
import type { CreatePolicy, IntegrationSpec, ObjectSpec } from "../spec/model.ts";
import type { Json, ReviewItem, Store } from "../store/types.ts";
import { pickObject, type QualityContext } from "./audit.ts";
import { type GoLiveResult, goLive, goLiveBase } from "./golive.ts";

/** The create policy the go-live sync runs with: ERP-only customers are imported unless creates are off. */
export function goLivePolicy(policy: CreatePolicy): CreatePolicy {
  if (policy === "crm->erp") return "both";
  return policy;
}

function importsToCrm(p: CreatePolicy): boolean {
  return p === "both" || p === "erp->crm";
}
function createsInErp(p: CreatePolicy): boolean {
  return p === "both" || p === "crm->erp";
}

export interface ApprovedPair {
  reviewId: number;
  crmId: string;
  erpId: string;
}

export interface LinkPlan {
  integration: string;
  object: string;
  createPolicy: CreatePolicy;
  /** Pairs accepted in the review queue, linked first. */
  approved: ApprovedPair[];
  goLive: GoLiveResult;
  /** Records the go-live sync creates: ERP-only into the CRM, CRM-only into the ERP (per the policy). */
  imports: { toCrm: number; toErp: number };
  notes: string[];
}

export interface LinkResult {
  integration: string;
  object: string;
  approvedLinked: ApprovedPair[];
  approvedFailed: Array<ApprovedPair & { error: string }>;
  goLive: GoLiveResult;
  /** The go-live sync (absent with `sync: false`). */
  sync?: SyncResult;
  /** Records created by that sync, per target system. */
  created: { crm: number; erp: number };
}

export interface LinkOptions {
  object?: string;
  /** Run the go-live sync (creates); default true. */
  sync?: boolean;
  onProgress?: (message: string) => void;
}

function str(v: Json): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function isAccepted(r: ReviewItem): boolean {
  const res = r.resolution;
  return (
    r.status === "resolved" && !!res && typeof res === "object" && !Array.isArray(res) && (res as Record<string, Json>).accept === true
  );
}

/** Accepted match reviews whose pair is not linked yet. */
async function approvedPairs(store: Store, spec: IntegrationSpec, obj: ObjectSpec): Promise<ApprovedPair[]> {
  const out: ApprovedPair[] = [];
  const items = await store.listReviews(spec.name, { object: obj.name, status: "resolved" });
  for (const r of items) {
    if (r.kind !== "match" || !isAccepted(r)) continue;
    const crmId = str(r.crm);
    const erpId = str(r.erp);
    if (!crmId || !erpId) continue;
    const [a, b] = await Promise.all([store.getLink(spec.name, obj.name, { crmId }), store.getLink(spec.name, obj.name, { erpId })]);
    if (a || b) continue;
    out.push({ reviewId: r.id, crmId, erpId });
  }
  return out;
}

/** What `accord link --apply` would do. Reads only. */
export async function planLink(ctx: QualityContext, opts: LinkOptions = {}): Promise<LinkPlan> {
  const obj = pickObject(ctx.spec, opts.object);
  const approved = await approvedPairs(ctx.store, ctx.spec, obj);
  const g = await goLive(ctx, { object: obj.name, dryRun: true, onProgress: opts.onProgress });
  const eff = goLivePolicy(obj.create);
  const notes: string[] = [];
  if (!importsToCrm(eff)) notes.push(`create policy "${obj.create}": ERP-only customers are NOT imported into the CRM.`);
  if (!createsInErp(eff)) notes.push(`create policy "${obj.create}": CRM-only customers are NOT created in the ERP.`);
  if (obj.create === "crm->erp")
    notes.push(
      'create policy "crm->erp": at go-live ERP-only customers are imported into the CRM all the same (the ERP is the source of truth for existing customers).',
    );
  return {
    integration: ctx.spec.name,
    object: obj.name,
    createPolicy: obj.create,
    approved,
    goLive: g,
    imports: {
      toCrm: importsToCrm(eff) ? Math.max(0, g.erpOnly - approved.length) : 0,
      toErp: createsInErp(eff) ? Math.max(0, g.crmOnly - approved.length) : 0,
    },
    notes,
  };
}

/** Link every accepted pair, run go-live, then the go-live sync that creates the missing counterparts. */
export async function applyLink(ctx: EngineContext, opts: LinkOptions = {}): Promise<LinkResult> {
  const { spec, store } = ctx;
  const obj = pickObject(spec, opts.object);
  const say = opts.onProgress ?? (() => {});
  const result: LinkResult = {
    integration: spec.name,
    object: obj.name,
    approvedLinked: [],
    approvedFailed: [],
    goLive: undefined as unknown as GoLiveResult,
    created: { crm: 0, erp: 0 },
  };

  // 1. pairs a person accepted
  const approved = await approvedPairs(store, spec, obj);
  if (approved.length) say(`linking ${approved.length} pairs accepted in the review queue…`);
  for (const p of approved) {
    try {
      const [[crm], [erp]] = await Promise.all([
        ctx.crm.readByIds(obj.crm.entity, [p.crmId]),
        ctx.erp.readByIds(obj.erp.entity, [p.erpId]),
      ]);
      if (!crm || !erp)
        throw new ValidationRejected(`${!crm ? `CRM ${obj.crm.entity} ${p.crmId}` : `ERP ${obj.erp.entity} ${p.erpId}`} no longer exists`);
      const idv = erp.values[obj.erp.identity];
      const sid =
        obj.erp.identity === "name" || obj.erp.identity === "id" || idv === null || idv === undefined || idv === "" ? erp.id : String(idv);
      const link = await store.saveLink({
        integration: spec.name,
        object: obj.name,
        crmId: crm.id,
        erpId: erp.id,
        sharedId: sid,
        base: goLiveBase(obj, crm, erp),
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      });
      if (obj.crm.identity !== "id" && crm.values[obj.crm.identity] !== sid) {
        await ctx.crm.update(obj.crm.entity, crm.id, { [obj.crm.identity]: sid });
        await store.logChanges([
          {
            integration: spec.name,
            object: obj.name,
            runId: null,
            linkId: link.id,
            target: "crm",
            recordId: crm.id,
            field: obj.crm.identity,
            before: (crm.values[obj.crm.identity] ?? null) as Json,
            after: sid,
            source: "person",
            rule: `go-live: stamp shared id (pair accepted in review #${p.reviewId})`,
          },
        ]);
      }
      await store.setPinned(spec.name, obj.name, "crm", crm.id, false);
      await store.setPinned(spec.name, obj.name, "erp", erp.id, false);
      result.approvedLinked.push(p);
    } catch (err) {
      result.approvedFailed.push({ ...p, error: err instanceof Error ? err.message : String(err) });
    }
  }

  // 2. go-live: the matcher's pairs, proposals and duplicate holds
  result.goLive = await goLive(ctx, { object: obj.name, onProgress: say });

  // 3. the go-live sync: creates per the (go-live) create policy
  if (opts.sync !== false) {
    const eff = goLivePolicy(obj.create);
    const syncSpec: IntegrationSpec = { ...spec, objects: spec.objects.map((o) => (o.name === obj.name ? { ...o, create: eff } : o)) };
    say(`go-live sync of ${obj.name} (create policy ${eff})…`);
    const sync = await runSync({ ...ctx, spec: syncSpec }, { objects: [obj.name] });
    result.sync = sync;
    // a create is reported as one op per field: count records
    for (const o of sync.objects)
      for (const r of o.records) {
        if (r.outcome !== "applied") continue;
        const target = r.ops.find((op) => op.kind === "create")?.target;
        if (target === "crm" || target === "erp") result.created[target]++;
      }
  }
  return result;
}

/**
 * A person's "no" on a match item: dismissed (go-live never proposes the pair again; `accord merge`
 * never merges a rejected duplicate), and its records unpinned unless another open item holds them.
 */
export async function rejectMatch(store: Store, id: number, by: string): Promise<ReviewItem> {
  const item = await store.getReview(id);
  if (!item) throw new ValidationRejected(`review item ${id} does not exist`, { hint: "List the open items with `accord review list`." });
  if (item.kind !== "match")
    throw new ValidationRejected(`review item ${id} is a ${item.kind}, not a match proposal: --reject is for match items`, {
      hint: "Resolve it with --pick, --value or --accept, or dismiss it with `accord review dismiss ID`.",
    });
  if (item.status !== "open")
    throw new ValidationRejected(`review item ${id} is already ${item.status}`, { hint: "Only open items can be decided." });
  if (!by.trim()) throw new ValidationRejected("a decision needs the name of the person deciding", { hint: "Pass --by NAME." });
  await store.resolveReview(id, { reject: true }, by);
  await store.closeReview(id, "dismissed");
  const open = (await store.listReviews(item.integration, { object: item.object, status: "open" })).filter((r) => r.kind === "match");
  for (const side of ["crm", "erp"] as const) {
    const rid = str(item[side]);
    if (!rid) continue;
    if (open.some((r) => r[side] === rid)) continue;
    await store.setPinned(item.integration, item.object, side, rid, false);
  }
  const after = await store.getReview(id);
  if (!after) throw new Error(`review item ${id} vanished while rejecting`);
  return after;
}
