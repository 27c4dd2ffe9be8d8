/**
 * Tryton parties as organisations (Connector.organisations), for the matcher (audit, go-live):
 *  - name: party.party `name`;
 *  - postal address: one party.address of the party (active only): the first flagged `invoice`,
 *    else the first by (sequence, id); street (text: line breaks → ", "), postal_code, city, and the
 *    country's name when the address has one (country is a link to country.country);
 *  - phone / e-mail / website: the party's active contact mechanisms (party.contact_mechanism),
 *    first by (sequence, id) of type phone (else mobile), email, website;
 *  - tax id: the party's `tax_identifier` (Tryton's own pick among its party.identifier rows of a
 *    tax type), else an identifier whose type names a tax number (…vat…, …tin…, …tax…);
 *  - shared id: the identity field given, when it is not the primary key (id).
 * Related records are read in batches (ids `in` chunks), never one call per party. Values that
 * are absent or not text are left out, never guessed.
 */
import { type Doc, setIf, str } from "../organisation-values.ts";
import type { OrganisationView } from "../types.ts";

/** Related rows of the parties, as read (party = the party id as a number). */
export interface PartyRelated {
  addresses: readonly Doc[];
  mechanisms: readonly Doc[];
  identifiers: readonly Doc[];
  /** party id → id of its tax identifier (party.tax_identifier), when known. */
  taxIdentifier?: ReadonlyMap<number, number>;
}

export const ADDRESS_COLUMNS = ["party", "street", "postal_code", "city", "country.name", "invoice", "sequence", "active"];
export const MECHANISM_COLUMNS = ["party", "type", "value", "sequence", "active"];
export const IDENTIFIER_COLUMNS = ["party", "type", "code", "sequence"];

const TAX_TYPE = /(^|_)(vat|tin|tax|nif|cif|gst|ust|cuit|rut|abn|uid)($|_)/i;

function bySeq(a: Doc, b: Doc): number {
  const sa = typeof a.sequence === "number" ? a.sequence : Number.MAX_SAFE_INTEGER;
  const sb = typeof b.sequence === "number" ? b.sequence : Number.MAX_SAFE_INTEGER;
  return sa - sb || Number(a.id) - Number(b.id);
}

function active(r: Doc): boolean {
  return !(r.active === false || r.active === 0);
}

function groupByParty(rows: readonly Doc[]): Map<number, Doc[]> {
  const out = new Map<number, Doc[]>();
  for (const r of rows) {
    const p = typeof r.party === "number" ? r.party : Number(r.party);
    if (!Number.isSafeInteger(p)) continue;
    const list = out.get(p);
    if (list) list.push(r);
    else out.set(p, [r]);
  }
  for (const list of out.values()) list.sort(bySeq);
  return out;
}

/** The country's name from a dotted read ("country." → {name}). */
function countryName(a: Doc): string | undefined {
  const c = a["country."];
  return c && typeof c === "object" && !Array.isArray(c) ? str((c as Doc).name) : undefined;
}

/** One party (its read values, id as text) + its related rows → an organisation. */
export function trytonPartyOrganisation(
  party: Doc,
  rel: { addresses: readonly Doc[]; mechanisms: readonly Doc[]; identifiers: readonly Doc[]; taxIdentifier?: number },
  opts: { sharedIdField?: string } = {},
): OrganisationView {
  const r: OrganisationView = { id: str(party.id) ?? "", name: str(party.name) ?? "" };
  const addresses = rel.addresses.filter(active);
  const a = addresses.find((x) => x.invoice === true || x.invoice === 1) ?? addresses[0];
  if (a) {
    setIf(r, "street", str(a.street)?.replace(/\s*\n\s*/g, ", "));
    setIf(r, "postalCode", str(a.postal_code));
    setIf(r, "city", str(a.city));
    setIf(r, "country", countryName(a));
  }
  const mech = rel.mechanisms.filter(active);
  const first = (...types: string[]) => {
    for (const t of types) {
      const m = mech.find((x) => x.type === t && str(x.value) !== undefined);
      if (m) return str(m.value);
    }
    return undefined;
  };
  setIf(r, "phone", first("phone", "mobile"));
  setIf(r, "email", first("email"));
  setIf(r, "website", first("website"));
  const tax =
    (rel.taxIdentifier !== undefined ? rel.identifiers.find((i) => Number(i.id) === rel.taxIdentifier) : undefined) ??
    rel.identifiers.find((i) => typeof i.type === "string" && TAX_TYPE.test(i.type) && str(i.code) !== undefined);
  setIf(r, "taxId", tax ? str(tax.code) : undefined);
  if (opts.sharedIdField && opts.sharedIdField !== "id") setIf(r, "sharedId", str(party[opts.sharedIdField]));
  return r;
}

/** Parties (values with `id`) and all their related rows → organisations, in the parties' order. */
export function trytonPartyOrganisations(
  parties: readonly Doc[],
  related: PartyRelated,
  opts: { sharedIdField?: string } = {},
): OrganisationView[] {
  const addresses = groupByParty(related.addresses);
  const mechanisms = groupByParty(related.mechanisms);
  const identifiers = groupByParty(related.identifiers);
  return parties.map((p) => {
    const id = Number(p.id);
    return trytonPartyOrganisation(
      p,
      {
        addresses: addresses.get(id) ?? [],
        mechanisms: mechanisms.get(id) ?? [],
        identifiers: identifiers.get(id) ?? [],
        taxIdentifier: related.taxIdentifier?.get(id),
      },
      opts,
    );
  });
}
