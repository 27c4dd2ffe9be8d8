/**
 * Go-live for the objects kept on the linked object's own CRM record (e.g. a billing address:
 * the Account's address fields ↔ an ERP Address linked to the customer). The go-live links customers
 * with a base that lets the ERP's values win (src/quality/golive.ts); without the same for their
 * addresses, the first sync would meet every address typed differently in both systems as a true
 * conflict ("Street" vs "St.") and hold hundreds of them for a person. Here each go-live pair's child
 * counterpart (the ERP record carrying the pair's shared id) is linked with the same base (goLiveBase).
 * Only children without a link are touched, so a second go-live changes nothing. Called by goLive
 * (so `accord link --apply` and the demo both get it).
 */

import type { Connector, FilterExpr, RemoteRecord } from "../connectors/types.ts";
import { sharedIdOf } from "../engine/values.ts";
import type { IntegrationSpec, ObjectSpec } from "../spec/model.ts";
import type { Json, Store } from "../store/types.ts";

export interface ChildGoLiveContext {
  spec: IntegrationSpec;
  store: Store;
  crm: Connector;
  erp: Connector;
}

export async function linkChildrenAtGoLive(
  ctx: ChildGoLiveContext,
  live: { object: string; linked: ReadonlyArray<{ crmId: string; sharedId: string }> },
  goLiveBase: (obj: ObjectSpec, crm: RemoteRecord, erp: RemoteRecord) => Record<string, Json>,
  say: (m: string) => void = () => {},
): Promise<Record<string, number>> {
  const { spec, store } = ctx;
  const out: Record<string, number> = {};
  const parent = spec.objects.find((o) => o.name === live.object);
  if (!parent || live.linked.length === 0) return out;
  const children = spec.objects.filter(
    (o) => o.parent?.object === parent.name && o.crm.entity === parent.crm.entity && o.crm.identity === parent.crm.identity,
  );
  for (const child of children) {
    // the child's ERP records by the shared id they carry (the parent's), first one wins as the engine reads it
    const fields = [...new Set([child.erp.identity.replace(/\[.*$/, ""), ...child.fields.map((f) => f.erp.replace(/\[.*$/, ""))])];
    const bySid = new Map<string, RemoteRecord>();
    for await (const page of ctx.erp.readChanges(child.erp.entity, { fields, filter: child.erp.filter as FilterExpr[] | undefined })) {
      for (const r of page.records) {
        const sid = sharedIdOf(child, r);
        if (sid !== r.id && !bySid.has(sid)) bySid.set(sid, r);
      }
    }
    const pairs = live.linked.filter((p) => bySid.has(p.sharedId));
    const accounts = new Map(
      (
        await ctx.crm.readByIds(
          child.crm.entity,
          pairs.map((p) => p.crmId),
        )
      ).map((r) => [r.id, r]),
    );
    let n = 0;
    await store.transaction(async (tx) => {
      for (const p of pairs) {
        const crm = accounts.get(p.crmId);
        const erp = bySid.get(p.sharedId);
        if (!crm || !erp) continue;
        if (await tx.getLink(spec.name, child.name, { crmId: crm.id })) continue;
        if (await tx.getLink(spec.name, child.name, { erpId: erp.id })) continue;
        await tx.saveLink({
          integration: spec.name,
          object: child.name,
          crmId: crm.id,
          erpId: erp.id,
          sharedId: p.sharedId,
          base: goLiveBase(child, crm, erp),
          crmVersion: null,
          erpVersion: null,
          pinned: false,
          status: "active",
        });
        n++;
      }
    });
    if (n) say(`go-live ${child.name}: ${n} linked with their ${parent.name} (ERP values win on shared fields)`);
    out[child.name] = n;
  }
  return out;
}
