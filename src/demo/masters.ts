/**
 * Go-live preparation the ERP admin does by hand before a first sync: every value the CRM will
 * send into an ERP *link* field (a field whose value must name an existing record of another
 * list, e.g. a contact's designation) must exist in that list, or the ERP refuses the record.
 * The example integration file says so ("create the same names there"); the demo does it for
 * the fields it syncs, from the schema the ERP describes — no field or system is named here.
 */
import type { Connector } from "../connectors/types.ts";
import type { IntegrationSpec } from "../spec/model.ts";

export interface MasterValuesResult {
  /** target entity → values created there */
  created: Record<string, string[]>;
}

async function readAllValues(conn: Connector, entity: string, field: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const page of conn.readChanges(entity, { fields: [field] })) {
    for (const r of page.records) {
      const v = r.values[field];
      if (typeof v === "string" && v.trim() !== "") out.add(v);
    }
  }
  return out;
}

/**
 * For each field of `objects` that flows CRM → ERP without a transform and lands in an ERP link
 * field: create the CRM's values that the link target lacks (named by the target's first required field).
 */
export async function ensureErpLinkValues(
  spec: IntegrationSpec,
  crm: Connector,
  erp: Connector,
  objects: string[],
  say: (m: string) => void = () => {},
): Promise<MasterValuesResult> {
  const created: Record<string, string[]> = {};
  for (const obj of spec.objects.filter((o) => objects.includes(o.name))) {
    const schema = await erp.describe([obj.erp.entity]);
    const entity = schema.entities[obj.erp.entity];
    if (!entity) continue;
    for (const f of obj.fields) {
      // values translated on the way (transforms, lookups of linked records, line tables) are not the CRM's own
      if (f.direction === "erp->crm" || f.toErp.length > 0 || f.lookup || f.lines) continue;
      const d = entity.fields[f.erp];
      if (!d || d.type !== "link" || !d.target) continue;
      const values = await readAllValues(crm, obj.crm.entity, f.crm);
      if (values.size === 0) continue;
      const existing = new Set((await erp.readByIds(d.target, [...values])).map((r) => r.id));
      const missing = [...values].filter((v) => !existing.has(v)).sort();
      if (missing.length === 0) continue;
      const targetSchema = (await erp.describe([d.target])).entities[d.target];
      const nameField = targetSchema ? Object.values(targetSchema.fields).find((x) => x.required && !x.readOnly)?.name : undefined;
      if (!nameField) continue;
      say(
        `preparing the ERP: ${missing.length} ${d.target} value(s) the CRM uses in ${obj.crm.entity}.${f.crm} (${missing.slice(0, 4).join(", ")}${missing.length > 4 ? ", …" : ""})`,
      );
      for (const v of missing) {
        await erp.create(d.target, { [nameField]: v });
        (created[d.target] ??= []).push(v);
      }
    }
  }
  return { created };
}
