/**
 * Idempotent creates (invariant 2).
 *
 *  1. store a CreateIntent (target, source id, shared id when known, payload) — BEFORE the remote call;
 *  2. create the record remotely;
 *  3. in ONE store transaction: complete the intent, save the link (with its base snapshot), log the create;
 *  4. stamp the shared id into the source record's identity field (the ERP's identity is the shared id).
 *
 * After a crash anywhere, the next run first recovers pending intents: it looks the record up
 *  - by the target side's `createKey` when it declares one (the create wrote the source record's id
 *    there, in the same call): exact, whatever a person edited in the new record meanwhile; else
 *  - by the shared id in the target's identity field when the id was known before the create
 *    (ERP → CRM creates carry the ERP identity), else
 *  - by content: records of the target entity having every payload value, created since the
 *    intent (ERP-assigned ids are unknown before the create) — a person's edit of the new record
 *    before the restart defeats it (a second record is created); declare a createKey there,
 * adopts what it finds (no second create), or marks the intent failed when nothing was created
 * and re-processes the source record.
 */
import { isFieldPath } from "../connectors/field-path.ts";
import type { RemoteRecord } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";
import type { CreateIntent, Json, Link } from "../store/types.ts";
import { BulkCreates } from "./bulk-creates.ts";
import { commit } from "./commits.ts";
import { withWriteRecorded } from "./echo.ts";
import { fieldName, readFieldList, translate } from "./fields.ts";
import { readValue, writeValue } from "./paths.ts";
import { connectorOf, entityOf } from "./plan.ts";
import type { CreateOp, ObjectRun } from "./types.ts";
import { holdsValue, isEmpty, needsIdentityStamp, objectSide, otherSide, readField, sharedIdOf, toJson } from "./values.ts";

/** Errors after which the remote system certainly did not create the record. */
export function certainlyNotCreated(err: unknown): boolean {
  const cls = err && typeof err === "object" && "errorClass" in err ? (err as { errorClass: unknown }).errorClass : undefined;
  return cls === "ValidationRejected" || cls === "Duplicate" || cls === "AuthError" || cls === "NotFound" || cls === "SchemaDrift";
}

/** Remember a record Accord wrote in this run (the runner's read stops at a page of only these). */
export function noteWritten(or: ObjectRun, side: Side, id: string): void {
  (or.written ??= new Set()).add(`${side}:${id}`);
}

/**
 * The shared bulk creates into `target` for this run (bulk-creates.ts), when the runner turned them
 * on and the target system has a bulk create: keyed by the target's createKey, or by its identity
 * field when the create writes it (`crm: { identity: id }`) — plain fields only.
 */
export function bulkCreatesOf(or: ObjectRun, target: Side): { creates: BulkCreates; key: string } | undefined {
  if (!or.bulk) return undefined;
  const have = or.bulk.bySide.get(target);
  if (have !== undefined) return have ?? undefined;
  const conn = connectorOf(or, target);
  const side = objectSide(or.obj, target);
  const key = createWrittenKey(or, target);
  const made =
    conn.createMany && key && !isFieldPath(key) && !side.aggregate
      ? {
          key,
          creates: new BulkCreates(conn as typeof conn & Required<Pick<typeof conn, "createMany">>, entityOf(or, target), {
            key,
            // read back as a list (one call), never one record at a time: name the fields
            fields:
              readFieldList(or.obj, target, or.fields) ??
              [...new Set([...or.fields.map((f) => fieldName(f, target)), side.identity])].filter((n) => n !== "id"),
            maxInFlight: or.bulk.maxInFlight,
          }),
        }
      : null;
  or.bulk.bySide.set(target, made);
  return made ?? undefined;
}

/**
 * The field every create into `target` sets to a value of its own source record (see planUnlinked):
 * the createKey (the source id), or the identity when the create writes the shared id into it — into
 * the CRM the ERP's id, into the ERP under `crm: { identity: id }` the CRM id. Not an identity the
 * target assigns itself (an ERPNext name), which is unknown until the answer.
 */
function createWrittenKey(or: ObjectRun, target: Side): string | undefined {
  const side = objectSide(or.obj, target);
  if (side.createKey) return side.createKey;
  if (target === "crm") return or.obj.crm.identity !== "id" ? or.obj.crm.identity : undefined;
  return or.obj.crm.identity === "id" && or.obj.erp.identity !== "id" ? or.obj.erp.identity : undefined;
}

/** A payload's value of the bulk key (the records are matched back by it), when it has a usable one. */
function keyOf(payload: Record<string, Json>, key: string): string | undefined {
  const v = payload[key];
  return (typeof v === "string" && v !== "") || typeof v === "number" ? String(v) : undefined;
}

/** Execute a planned create. Returns the new link. */
export async function executeCreate(or: ObjectRun, create: CreateOp, source: RemoteRecord): Promise<Link> {
  const { store, spec } = or.ctx;
  // committed (group commit: with other lanes' writes) before the remote call — invariant 2
  const intent = await commit(store, (tx) =>
    tx.addCreateIntent({
      integration: spec.name,
      object: or.obj.name,
      target: create.target,
      sourceId: create.sourceId,
      sharedId: create.sharedId,
      payload: create.payload,
    }),
  );
  let created: RemoteRecord;
  try {
    const bulk = bulkCreatesOf(or, create.target);
    const key = bulk && keyOf(create.payload, bulk.key);
    created =
      bulk && key
        ? await bulk.creates.create(create.payload, key)
        : await connectorOf(or, create.target).create(create.entity, create.payload);
  } catch (err) {
    // Only when the system certainly refused is the intent closed; otherwise (timeout, crash) recovery decides.
    if (certainlyNotCreated(err)) await store.failCreateIntent(intent.id);
    throw err;
  }
  return completeCreate(or, intent, created, source);
}

/**
 * Link the created record to its source, complete the intent (one transaction), then stamp the shared id.
 * `recovered`: the create was interrupted and `created` / `source` were read only now, so they may
 * hold a person's edits made after the create. The base then holds only what Accord knows was
 * synced: the intent's payload on the target, and nothing (null) on the source for the fields
 * that went into the payload — the next pass reconciles them (an edit flows, equal values only
 * rebase) instead of taking today's values as already synced, which would lose such an edit.
 */
export async function completeCreate(
  or: ObjectRun,
  intent: CreateIntent,
  created: RemoteRecord,
  source: RemoteRecord,
  recovered = false,
): Promise<Link> {
  const { store, spec } = or.ctx;
  const target = intent.target;
  const sourceSide = otherSide(target);
  const crm = target === "crm" ? created : source;
  const erp = target === "erp" ? created : source;
  // into the ERP: its identity value (the ERP's own id, or — with `crm: { identity: id }` — the CRM id the create wrote)
  const sid = target === "erp" ? (intent.sharedId ?? sharedIdOf(or.obj, created)) : (intent.sharedId ?? sharedIdOf(or.obj, source));
  const base: Record<string, Json> = {};
  for (const f of or.fields) {
    const cName = f.map.crm;
    const eName = f.map.erp;
    const tName = fieldName(f, target);
    const inPayload = readValue(intent.payload, tName);
    const inCreated = readValue(created.values, tName);
    // A field the target masters (a number, a status the target assigns on create): no base yet. The
    // loop below bases it when the source already agrees (or the master is empty), or once the
    // target's value is written into the source; if that does not happen (a crash, a failed
    // translation), the next pass meets a pair never synced for this field, where the master wins.
    if (f.map.direction === `${target}->${sourceSide}` && !f.parent && inCreated.present) continue;
    const sent = recovered && inPayload.present;
    const createdValue = sent ? inPayload.value : inCreated.present ? inCreated.value : inPayload.value;
    const crmV = target === "crm" ? createdValue : sent ? null : readField(crm, cName).value;
    const erpV = target === "erp" ? createdValue : sent ? null : readField(erp, eName).value;
    base[f.key] = { crm: crmV, erp: erpV };
  }
  const dropped = Object.keys(intent.payload).filter((k) => !(k in created.values));
  if (dropped.length) {
    or.ctx.logger?.warn(
      { object: or.obj.name, system: target, record: created.id, fields: dropped },
      "created record lacks fields Accord sent (unknown or read-only there?); check the field map",
    );
  }
  // Fields that flow only back from the new record (its status, a number the system assigned) go into
  // the source with the identity stamp, in the same write ("the order's name and status come back").
  const back: Record<string, Json> = {};
  const backChanges: Array<{ field: string; before: Json; after: Json }> = [];
  /** Base entries of the values written back: saved only once the write into the source succeeded. */
  const backBase: Record<string, { made: Json; name: string }> = {};
  for (const f of or.fields) {
    if (f.map.direction !== `${target}->${sourceSide}` || f.parent) continue;
    const made = readValue(created.values, fieldName(f, target));
    if (!made.present) continue;
    const srcName = fieldName(f, sourceSide);
    const cur = readField(sourceSide === "crm" ? crm : erp, srcName);
    // saved with the link in the transaction below
    const agree = () => {
      base[f.key] = { [target]: made.value, [sourceSide]: cur.present ? cur.value : null } as Record<Side, Json>;
    };
    if (isEmpty(made.value)) {
      agree(); // the master has nothing to give: the source's value stays as it is (no null written)
      continue;
    }
    let v: Json;
    try {
      v = await translate(store, spec.name, f, target, made.value, created);
    } catch {
      continue; // no base: the next pass reconciles it (and quarantines it with the reason)
    }
    if (cur.present && holdsValue(cur.value, v)) {
      agree();
      continue;
    }
    writeValue(back, (sourceSide === "crm" ? crm : erp).values, srcName, v);
    backChanges.push({ field: srcName, before: cur.value, after: v });
    backBase[f.key] = { made: made.value, name: srcName };
  }
  const nowMs = or.now().getTime();
  noteWritten(or, target, created.id);
  // One transaction: the intent completed, the link saved, the create logged in the history.
  let link = await commit(store, async (tx) => {
    await tx.completeCreateIntent(intent.id, created.id);
    const saved = await tx.saveLink({
      integration: spec.name,
      object: or.obj.name,
      crmId: crm.id,
      erpId: erp.id,
      sharedId: sid,
      base: withWriteRecorded(base, nowMs, spec.sync.bounce.windowMs),
      crmVersion: crm.version ?? null,
      erpVersion: erp.version ?? null,
      pinned: false,
      status: "active",
    });
    await tx.logChanges(
      Object.entries(intent.payload).map(([field, after]) => ({
        integration: spec.name,
        object: or.obj.name,
        runId: or.runId,
        linkId: saved.id,
        target,
        recordId: created.id,
        field,
        before: null,
        after,
        source: sourceSide,
        rule: `create (${or.obj.create})`,
      })),
    );
    return saved;
  });

  /** The link after the write into the source: the written values' base (as the system returned them). */
  const withBackBase = (l: Link, updated: RemoteRecord): Link => {
    const b = { ...l.base };
    for (const [key, x] of Object.entries(backBase)) {
      const got = readValue(updated.values, x.name);
      b[key] = { [target]: x.made, [sourceSide]: got.present ? got.value : (readValue(back, x.name).value ?? null) } as Record<Side, Json>;
    }
    return { ...l, base: b };
  };

  // Stamp the shared id into each record whose identity field lacks it (the link is committed first).
  const stampAll = async (): Promise<Link> => {
    for (const s of [sourceSide, target] as const) {
      const rec = s === "crm" ? crm : erp;
      const extra = s === sourceSide ? back : {};
      if (!needsIdentityStamp(or.obj, s, rec, sid) && Object.keys(extra).length === 0) continue;
      const identity = objectSide(or.obj, s).identity;
      const stamp: Record<string, Json> = { ...extra };
      if (needsIdentityStamp(or.obj, s, rec, sid)) writeValue(stamp, rec.values, identity, sid);
      if (s === sourceSide && backChanges.length) {
        await store.logChanges(
          backChanges.map((c) => ({
            integration: spec.name,
            object: or.obj.name,
            runId: or.runId,
            linkId: link.id,
            target: s,
            recordId: rec.id,
            field: c.field,
            before: c.before,
            after: c.after,
            source: target,
            rule: "value of the created record",
          })),
        );
        if (!needsIdentityStamp(or.obj, s, rec, sid)) {
          const updated = await connectorOf(or, s).update(entityOf(or, s), rec.id, stamp);
          noteWritten(or, s, rec.id);
          link = await store.saveLink({
            ...withBackBase(link, updated),
            [s === "crm" ? "crmVersion" : "erpVersion"]: updated.version ?? null,
          });
          continue;
        }
      }
      const updated = await connectorOf(or, s).update(entityOf(or, s), rec.id, stamp);
      noteWritten(or, s, rec.id);
      const next = {
        ...(s === sourceSide ? withBackBase(link, updated) : link),
        [s === "crm" ? "crmVersion" : "erpVersion"]: updated.version ?? null,
      };
      // One transaction: the link's version (and written-back base) with the stamp's history entry.
      link = await commit(store, async (tx) => {
        const saved = await tx.saveLink(next);
        await tx.logChanges([
          {
            integration: spec.name,
            object: or.obj.name,
            runId: or.runId,
            linkId: saved.id,
            target: s,
            recordId: rec.id,
            field: identity,
            before: readValue(rec.values, identity).value,
            after: sid,
            source: "erp",
            rule: "stamp shared id",
          },
        ]);
        return saved;
      });
    }
    return link;
  };
  // Pipelined (runner lanes): the stamp goes on while this lane creates its next record. Only for a
  // plain identity stamp — no values written back, no submit, no `errors:` field written after it —
  // so nothing else touches this link or record meanwhile; the runner awaits every stamp of a page
  // before it saves the page's cursor. A crash before the stamp lands leaves a committed link whose
  // record lacks the shared id: the next run's planner stamps it (the page is read again).
  if (or.stamps && Object.keys(back).length === 0 && or.obj.submit !== "submit" && !or.obj.errors) {
    await stampBehind(or.stamps, stampAll, { side: sourceSide, record: sourceSide === "crm" ? crm : erp });
    return link;
  }
  return stampAll();
}

/**
 * Start `work` (a stamp) without waiting for it, once fewer than `limit` are in flight. Lanes waiting
 * for a free place queue up and are woken one per finished stamp, in turn (with a lane per record of
 * a page, racing every waiting lane on every finished stamp cost more CPU than the stamps).
 */
async function stampBehind(
  st: NonNullable<ObjectRun["stamps"]>,
  work: () => Promise<unknown>,
  failed: Omit<NonNullable<ObjectRun["stamps"]>["errors"][number], "err">,
): Promise<void> {
  const waiting = (st.waiting ??= { lanes: [], handedOver: 0 });
  if (st.inFlight.size + waiting.handedOver >= st.limit || waiting.lanes.length > 0) {
    await new Promise<void>((wake) => waiting.lanes.push(wake));
    waiting.handedOver--; // the place a finished stamp handed to this lane is taken now
  }
  const self: { p?: Promise<void> } = {};
  self.p = (async () => {
    try {
      await work();
    } catch (err) {
      st.errors.push({ ...failed, err });
    } finally {
      if (self.p) st.inFlight.delete(self.p);
      const next = waiting.lanes.shift();
      if (next) {
        waiting.handedOver++; // kept for the woken lane: no newcomer takes it meanwhile
        next();
      }
    }
  })();
  st.inFlight.add(self.p);
}

/** Find the record an interrupted create may have made. */
export async function findCreated(or: ObjectRun, intent: CreateIntent): Promise<RemoteRecord | undefined> {
  const { store, spec } = or.ctx;
  const target: Side = intent.target;
  const conn = connectorOf(or, target);
  const entity = entityOf(or, target);
  const identity = objectSide(or.obj, target).identity;
  const unlinked = async (recs: RemoteRecord[]) => {
    const out: RemoteRecord[] = [];
    for (const r of recs) {
      const l = await store.getLink(spec.name, or.obj.name, target === "crm" ? { crmId: r.id } : { erpId: r.id });
      if (!l) out.push(r);
    }
    return out;
  };
  // By the creation key, when the create wrote one (an intent stored before the key was declared has none).
  const createKey = objectSide(or.obj, target).createKey;
  const keyed = createKey ? readValue(intent.payload, createKey) : undefined;
  if (createKey && keyed?.present && (typeof keyed.value === "string" || typeof keyed.value === "number")) {
    const found = await unlinked(await conn.findByField(entity, createKey, keyed.value));
    found.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? "") || a.id.localeCompare(b.id));
    return found[0];
  }
  if (intent.sharedId && identity !== "id") {
    const found = await unlinked(await conn.findByField(entity, identity, intent.sharedId));
    return found[0];
  }
  // By content: the payload's values, among records created since the intent.
  const entries = Object.entries(intent.payload).filter(([, v]) => !isEmpty(v) && (typeof v === "string" || typeof v === "number"));
  if (entries.length === 0) return undefined;
  const [probeField, probeValue] = entries[0];
  const since = Date.parse(intent.createdAt) - 10 * 60_000; // tolerate clock skew between Accord and the system
  const candidates = (await conn.findByField(entity, probeField, probeValue as string | number)).filter(
    (r) =>
      Object.entries(intent.payload).every(([k, v]) => !(k in r.values) || holdsValue(toJson(r.values[k]), v)) &&
      (!r.createdAt || Date.parse(r.createdAt) >= since),
  );
  const free = await unlinked(candidates);
  free.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? "") || a.id.localeCompare(b.id));
  return free[0];
}

/**
 * Recover the object's pending intents (real runs only). Returns source ids (by side) whose
 * create never happened, for the runner to process again in this run.
 */
export async function recoverIntents(or: ObjectRun): Promise<Array<{ side: Side; id: string }>> {
  const { store, spec } = or.ctx;
  const again: Array<{ side: Side; id: string }> = [];
  for (const intent of await store.pendingCreateIntents(spec.name, or.obj.name)) {
    const sourceSide = otherSide(intent.target);
    const found = await findCreated(or, intent);
    if (!found) {
      await store.failCreateIntent(intent.id);
      or.ctx.logger?.info(
        { object: or.obj.name, intent: intent.id },
        "interrupted create had not reached the system; the source record is processed again",
      );
      again.push({ side: sourceSide, id: intent.sourceId });
      continue;
    }
    const [source] = await connectorOf(or, sourceSide).readByIds(entityOf(or, sourceSide), [intent.sourceId]);
    if (!source) {
      // the source vanished meanwhile: keep the created record linked to nothing, but never create again
      await store.completeCreateIntent(intent.id, found.id);
      or.ctx.logger?.warn(
        { object: or.obj.name, intent: intent.id, created: found.id },
        "interrupted create recovered, but its source record no longer exists",
      );
      continue;
    }
    await completeCreate(or, intent, found, source, true);
    or.result.recovered++;
    or.ctx.logger?.info(
      { object: or.obj.name, intent: intent.id, created: found.id },
      "interrupted create recovered by identity (no duplicate created)",
    );
  }
  return again;
}
