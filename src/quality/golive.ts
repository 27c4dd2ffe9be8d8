/**
 * Go-live linking: before the first sync of an object whose records already exist in BOTH
 * systems (customers kept by hand in the CRM and in the ERP for years), pair them, so the first
 * sync neither creates a second copy of every customer nor raises a review for every field that
 * was typed differently on each side.
 *
 *  1. read every record of the object on both sides (CRM accounts; ERP customers with their addresses);
 *  2. pair them with the matcher (matchAcross: known links, shared keys, exact name + address, fuzzy);
 *     records already linked in the store are passed as known links, so a second go-live is a no-op;
 *  3. for every new pair, save a Link whose BASE SNAPSHOT makes the ERP the source of truth for
 *     existing customers (below), then stamp the shared identifier (the ERP record's identity,
 *     e.g. the ERPNext customer name) into the CRM record's identity field;
 *  4. pairs the matcher is unsure of (between its review and link thresholds) and records that
 *     look like duplicates of another record in their own system are NOT synced yet: a review
 *     item of kind "match" explains each, and the records involved are pinned (excluded from
 *     sync) so the first sync does not create a copy of a customer that may already exist.
 *
 * The base chosen for a new pair (documented decision, DESIGN.md invariant 5 untouched):
 *  - a field synced both ways, whose ERP value is not empty: base = { crm: <CRM value now>,
 *    erp: null } — to the three-way merge this reads "only the ERP changed since the last sync",
 *    so the ERP value is written into the CRM (or, when both already agree, only the base moves);
 *  - a field synced both ways whose ERP value is empty: base = { crm: null, erp: <empty> } — the
 *    CRM value fills the gap in the ERP (the ERP is the truth where it knows something; nothing the
 *    CRM knows is thrown away where the ERP knows nothing);
 *  - a one-way field: no base — its master wins on the first sync, as for every new pair.
 * So no field of a go-live pair is a "conflict", and no review storm follows the go-live.
 *
 * Quality knows nothing of syncing: this module writes links, pins, review items and one
 * identity field; the engine does all value writes on the next sync, with its usual reasons
 * and history.
 */
import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import { ValidationRejected } from "../errors.ts";
import type { IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { Json, Link, Store } from "../store/types.ts";
import { readAll } from "./audit.ts";
import { findDuplicates } from "./dedupe.ts";
import { linkChildrenAtGoLive } from "./golive-children.ts";
import { matchAcross } from "./match.ts";
import type { MatchDecision, OrgRecord } from "./types.ts";

export interface GoLiveContext {
  spec: IntegrationSpec;
  store: Store;
  crm: Connector;
  erp: Connector;
}

export interface GoLiveOptions {
  /** The object to link (default: the first object of the spec without a parent). */
  object?: string;
  /** Only compute; write nothing (no link, no stamp, no pin, no review item). */
  dryRun?: boolean;
  /** Progress lines for a person. */
  onProgress?: (message: string) => void;
  /** Concurrent identity stamps (default 8). */
  concurrency?: number;
}

export interface GoLivePair {
  crmId: string;
  erpId: string;
  sharedId: string;
  step: MatchDecision["step"];
  explanation: string;
}

export interface GoLiveResult {
  object: string;
  dryRun: boolean;
  read: { crm: number; erp: number };
  /** Pairs that were linked before this go-live (left alone). */
  alreadyLinked: number;
  /** Pairs linked now (their CRM record carries the shared id unless listed in stampFailed). */
  linked: GoLivePair[];
  /** Pairs the matcher is unsure of: held for a person (review kind "match"), both records pinned. */
  proposals: number;
  /** Records that look like a duplicate inside their own system and matched nothing: held, pinned. */
  duplicatesHeld: number;
  /** Records only one system has: the first sync creates them per the object's create policy. */
  crmOnly: number;
  erpOnly: number;
  /** Identity stamps that failed (the next sync stamps them; the links are saved). */
  stampFailed: Array<{ crmId: string; error: string }>;
  /** Review items added (match proposals and duplicates). */
  reviewItems: number;
  /** Child objects kept on the same CRM record (e.g. a billing address), linked with their pair: object → links made. */
  children: Record<string, number>;
}

/** Every record of the object on one side, and the same records as organisations (the connector's view). */
async function readOrganisations(
  conn: Connector,
  side: Side,
  type: string,
  entity: string,
  identityField: string,
  filter?: FilterExpr[],
): Promise<{ records: RemoteRecord[]; orgs: OrgRecord[] }> {
  if (!conn.organisations)
    throw new ValidationRejected(`go-live: the ${type} connector (${side.toUpperCase()}) cannot read ${entity} records as organisations to match them.`, {
      hint: "Link these records by their shared identifier instead (stamp it into both systems), or add an organisation view to the connector (docs/connectors.md).",
    });
  const records = await readAll(conn, entity, filter?.length ? { filter } : {});
  return { records, orgs: await conn.organisations(entity, records, { sharedIdField: identityField }) };
}

function pickObject(spec: IntegrationSpec, name: string | undefined): ObjectSpec {
  const obj = name ? spec.objects.find((o) => o.name === name) : spec.objects.find((o) => !o.parent);
  if (!obj)
    throw new Error(
      `go-live: ${name ? `object "${name}" is not in` : "no top-level object in"} integration ${spec.name}; known: ${spec.objects.map((o) => o.name).join(", ")}`,
    );
  return obj;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === "";
}

function json(v: unknown): Json {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v)) as Json;
}

/** The base snapshot that makes the ERP the truth for an existing customer (see the module comment). */
export function goLiveBase(obj: ObjectSpec, crm: RemoteRecord, erp: RemoteRecord): Record<string, Json> {
  const base: Record<string, Json> = {};
  for (const f of obj.fields) {
    if (f.direction !== "both") continue; // one-way fields: the master wins on the first sync anyway
    const key = `${f.crm}|${f.erp}`;
    const e = erp.values[f.erp];
    const c = crm.values[f.crm];
    base[key] = isEmpty(e) ? { crm: null, erp: json(e ?? null) } : { crm: json(c ?? null), erp: null };
  }
  return base;
}

/** The shared identifier of an ERP record: its identity field, or its id. */
function sharedIdOf(obj: ObjectSpec, erp: RemoteRecord): string {
  const v = erp.values[obj.erp.identity];
  return isEmpty(v) || (typeof v !== "string" && typeof v !== "number") ? erp.id : String(v);
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        await fn(items[i]);
      }
    }),
  );
}

async function allLinks(store: Store, integration: string, object: string): Promise<Link[]> {
  const out: Link[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.listLinks(integration, object, { afterId, limit: 1000 });
    if (page.length === 0) return out;
    out.push(...page);
    afterId = page[page.length - 1].id;
  }
}

/** Pair the records that exist in both systems before the first sync (see the module comment). */
export async function goLive(ctx: GoLiveContext, opts: GoLiveOptions = {}): Promise<GoLiveResult> {
  const { spec, store } = ctx;
  const obj = pickObject(spec, opts.object);
  const say = opts.onProgress ?? (() => {});
  const integration = spec.name;
  say(`go-live ${obj.name}: reading ${obj.crm.entity} records from the CRM and ${obj.erp.entity} records from the ERP…`);
  const [crmSide, erpSide] = await Promise.all([
    // only the records the object syncs (its filter): go-live must not link what the sync would never touch
    readOrganisations(ctx.crm, "crm", spec.systems.crm.type, obj.crm.entity, obj.crm.identity, obj.crm.filter as FilterExpr[] | undefined),
    readOrganisations(ctx.erp, "erp", spec.systems.erp.type, obj.erp.entity, obj.erp.identity, obj.erp.filter as FilterExpr[] | undefined),
  ]);
  const crmById = new Map(crmSide.records.map((r) => [r.id, r]));
  const erpById = new Map(erpSide.records.map((r) => [r.id, r]));

  const existing = await allLinks(store, integration, obj.name);
  const knownLinks = existing.filter((l) => l.crmId && l.erpId).map((l) => ({ crmId: l.crmId as string, erpId: l.erpId as string }));
  const linkedCrm = new Set(existing.map((l) => l.crmId).filter((x): x is string => !!x));
  const linkedErp = new Set(existing.map((l) => l.erpId).filter((x): x is string => !!x));
  // Pairs a person already rejected (a dismissed match review): never proposed again.
  const reviews = await store.listReviews(integration, { object: obj.name });
  const matchReviews = reviews.filter((r) => r.kind === "match");
  const pairOf = (r: { crm: Json; erp: Json }) => ({ crmId: String(r.crm), erpId: String(r.erp) });
  const rejected = matchReviews.filter((r) => r.status === "dismissed" && r.crm && r.erp).map(pairOf);
  const openMatch = new Set(matchReviews.filter((r) => r.status === "open").map((r) => `${String(r.crm)}|${String(r.erp)}`));
  // Records a person said are NOT duplicates (a dismissed one-sided match item): not held again.
  const notDuplicate = new Set(
    matchReviews
      .filter((r) => r.status === "dismissed" && !r.crm !== !r.erp)
      .map((r) => (r.crm ? `crm:${String(r.crm)}` : `erp:${String(r.erp)}`)),
  );

  say(`go-live ${obj.name}: matching ${crmSide.orgs.length} CRM and ${erpSide.orgs.length} ERP records…`);
  const result = matchAcross(crmSide.orgs, erpSide.orgs, { knownLinks, rejected });
  const known = new Set(knownLinks.map((p) => `${p.crmId}|${p.erpId}`));
  const fresh = result.links.filter((d) => !known.has(`${d.crmId}|${d.erpId}`) && !linkedCrm.has(d.crmId) && !linkedErp.has(d.erpId));

  const out: GoLiveResult = {
    object: obj.name,
    dryRun: opts.dryRun === true,
    read: { crm: crmSide.records.length, erp: erpSide.records.length },
    alreadyLinked: existing.length,
    linked: [],
    proposals: 0,
    duplicatesHeld: 0,
    crmOnly: 0,
    erpOnly: 0,
    stampFailed: [],
    children: {},
    reviewItems: 0,
  };

  // Pairs → links, with the ERP-wins base, then the identity stamp into the CRM.
  const toLink: Array<{ crm: RemoteRecord; erp: RemoteRecord; d: MatchDecision; sid: string }> = [];
  for (const d of fresh) {
    const crm = crmById.get(d.crmId);
    const erp = erpById.get(d.erpId);
    if (!crm || !erp) continue;
    toLink.push({ crm, erp, d, sid: sharedIdOf(obj, erp) });
  }
  const pairedCrm = new Set([...linkedCrm, ...toLink.map((p) => p.crm.id)]);
  const pairedErp = new Set([...linkedErp, ...toLink.map((p) => p.erp.id)]);
  for (const p of toLink)
    out.linked.push({ crmId: p.crm.id, erpId: p.erp.id, sharedId: p.sid, step: p.d.step, explanation: p.d.explanation });

  // Unsure pairs and in-system duplicates: held for a person, records pinned.
  const holds: Array<{ side: Side | "pair"; crmId: string | null; erpId: string | null; reason: string; detail: Json }> = [];
  for (const d of result.proposals) {
    if (pairedCrm.has(d.crmId) || pairedErp.has(d.erpId)) continue;
    holds.push({
      side: "pair",
      crmId: d.crmId,
      erpId: d.erpId,
      reason: `possible match, not linked automatically: ${d.explanation} Approve the pair, or dismiss it to sync both as different customers.`,
      detail: {
        step: d.step,
        score: d.score,
        crmName: json(crmById.get(d.crmId)?.values.name),
        erpName: erpSide.orgs.find((o) => o.id === d.erpId)?.name ?? null,
        // why: each field's part in the score (Done-when of Step 6: every review item shows why)
        explanation: d.explanation,
        contributions: json(d.contributions),
      },
    });
  }
  const proposedCrm = new Set(holds.map((h) => h.crmId));
  const proposedErp = new Set(holds.map((h) => h.erpId));
  for (const side of ["crm", "erp"] as const) {
    const orgs = side === "crm" ? crmSide.orgs : erpSide.orgs;
    const paired = side === "crm" ? pairedCrm : pairedErp;
    const proposed = side === "crm" ? proposedCrm : proposedErp;
    for (const cluster of findDuplicates(orgs)) {
      // the cluster's records that nothing paired: syncing them would create a copy in the other system
      const loose = cluster.recordIds.filter((id) => !paired.has(id) && !proposed.has(id) && !notDuplicate.has(`${side}:${id}`));
      for (const id of loose) {
        const others = cluster.recordIds.filter((x) => x !== id);
        const why = cluster.pairs.find((p) => p.aId === id || p.bId === id)?.explanation ?? "";
        holds.push({
          side,
          crmId: side === "crm" ? id : null,
          erpId: side === "erp" ? id : null,
          reason: `looks like a duplicate of ${others.join(", ")} inside the ${side.toUpperCase()} (${why}); not synced until a person merges the records or dismisses this item`,
          detail: {
            duplicateOf: others,
            contributions: json(cluster.pairs.find((p) => p.aId === id || p.bId === id)?.contributions ?? []),
          },
        });
        proposed.add(id);
      }
    }
  }
  out.proposals = holds.filter((h) => h.side === "pair").length;
  out.duplicatesHeld = holds.filter((h) => h.side !== "pair").length;
  out.crmOnly = result.crmOnly.filter((id) => !pairedCrm.has(id) && !proposedCrm.has(id) && !holds.some((h) => h.crmId === id)).length;
  out.erpOnly = result.erpOnly.filter((id) => !pairedErp.has(id) && !proposedErp.has(id) && !holds.some((h) => h.erpId === id)).length;

  if (opts.dryRun) return out;

  say(`go-live ${obj.name}: saving ${toLink.length} links (ERP values win on shared fields)…`);
  const saved = await store.transaction(async (tx) => {
    const links: Link[] = [];
    for (const p of toLink) {
      links.push(
        await tx.saveLink({
          integration,
          object: obj.name,
          crmId: p.crm.id,
          erpId: p.erp.id,
          sharedId: p.sid,
          base: goLiveBase(obj, p.crm, p.erp),
          crmVersion: null,
          erpVersion: null,
          pinned: false,
          status: "active",
        }),
      );
    }
    return links;
  });
  const linkIdOf = new Map(saved.map((l) => [l.crmId, l.id]));

  // The shared identifier into the CRM's identity field (the ERP's identity is its own id).
  const identity = obj.crm.identity;
  if (identity !== "id") {
    const stamps = toLink.filter((p) => String(p.crm.values[identity] ?? "") !== p.sid);
    say(`go-live ${obj.name}: stamping the shared identifier into ${stamps.length} CRM records (${obj.crm.entity}.${identity})…`);
    let done = 0;
    await pool(stamps, opts.concurrency ?? 8, async (p) => {
      try {
        await ctx.crm.update(obj.crm.entity, p.crm.id, { [identity]: p.sid });
        await store.logChanges([
          {
            integration,
            object: obj.name,
            runId: null,
            linkId: linkIdOf.get(p.crm.id) ?? null,
            target: "crm",
            recordId: p.crm.id,
            field: identity,
            before: json(p.crm.values[identity] ?? null),
            after: p.sid,
            source: "erp",
            rule: `go-live: stamp shared id (matched by ${p.d.step}: ${p.d.explanation})`,
          },
        ]);
      } catch (err) {
        out.stampFailed.push({ crmId: p.crm.id, error: err instanceof Error ? err.message : String(err) });
      }
      done++;
      if (done % 100 === 0) say(`go-live ${obj.name}: stamped ${done}/${stamps.length}`);
    });
  }

  for (const h of holds) {
    const key = `${h.crmId ?? ""}|${h.erpId ?? ""}`;
    if (!openMatch.has(key)) {
      await store.addReview({
        integration,
        object: obj.name,
        linkId: null,
        kind: "match",
        field: null,
        base: null,
        crm: h.crmId,
        erp: h.erpId,
        reason: h.reason,
        detail: h.detail,
      });
      out.reviewItems++;
    }
    if (h.crmId) await store.setPinned(integration, obj.name, "crm", h.crmId, true);
    if (h.erpId) await store.setPinned(integration, obj.name, "erp", h.erpId, true);
  }
  out.children = await linkChildrenAtGoLive(ctx, { object: obj.name, linked: out.linked }, goLiveBase, say);
  say(
    `go-live ${obj.name}: ${out.linked.length} pairs linked, ${out.proposals} possible matches and ${out.duplicatesHeld} suspected duplicates held for review, ${out.crmOnly} CRM-only and ${out.erpOnly} ERP-only records left to the sync`,
  );
  return out;
}
