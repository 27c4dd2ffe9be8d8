/**
 * EspoCRM records as organisations (Connector.organisations): an Account by its API attribute
 * names (camelCase) — name, billingAddress* (falling back to shippingAddress*), phoneNumber,
 * emailAddress, website, and custom fields for the tax id and the shared (ERP) id.
 * Unknown or non-string values are ignored, never guessed.
 */
import { type Doc, firstPresent, setIf, str } from "../organisation-values.ts";
import type { OrganisationView, RemoteRecord } from "../types.ts";

export interface EspoAccountOptions {
  /** Attribute holding the ERP id stamped in the CRM (default: the first present of cErpCustomerId, erpCustomerId, cErpId, erpId, cAccordId, accordId). */
  sharedIdField?: string;
  /** Attribute holding the tax id (default: the first present of cTaxId, taxId, cVatId, vatId, cVatNumber, vatNumber; sicCode is NOT used). */
  taxIdField?: string;
}

const SHARED_ID_FIELDS = ["cErpCustomerId", "erpCustomerId", "cErpId", "erpId", "cAccordId", "accordId"];
const TAX_ID_FIELDS = ["cTaxId", "taxId", "cVatId", "vatId", "cVatNumber", "vatNumber"];

/** One EspoCRM Account → an organisation. */
export function espoAccountOrganisation(account: Doc, opts: EspoAccountOptions = {}): OrganisationView {
  const r: OrganisationView = { id: str(account.id) ?? "", name: str(account.name) ?? "" };
  const billing = str(account.billingAddressStreet) !== undefined || str(account.billingAddressCity) !== undefined;
  const p = billing ? "billingAddress" : "shippingAddress";
  setIf(r, "street", str(account[`${p}Street`])?.replace(/\s*\n\s*/g, ", "));
  setIf(r, "city", str(account[`${p}City`]));
  setIf(r, "postalCode", str(account[`${p}PostalCode`]));
  setIf(r, "country", str(account[`${p}Country`]));
  setIf(r, "phone", str(account.phoneNumber));
  setIf(r, "email", str(account.emailAddress));
  setIf(r, "website", str(account.website));
  setIf(r, "taxId", opts.taxIdField ? str(account[opts.taxIdField]) : firstPresent(account, TAX_ID_FIELDS));
  setIf(r, "sharedId", opts.sharedIdField ? str(account[opts.sharedIdField]) : firstPresent(account, SHARED_ID_FIELDS));
  return r;
}

/** Connector.organisations for EspoCRM: every entity with account-like attributes (Account, Lead …). */
export async function espoOrganisations(
  _entity: string,
  records: readonly RemoteRecord[],
  opts: { sharedIdField?: string } = {},
): Promise<OrganisationView[]> {
  const sharedIdField = opts.sharedIdField && opts.sharedIdField !== "id" ? opts.sharedIdField : undefined;
  return records.map((r) => espoAccountOrganisation({ ...r.values, id: r.id }, { sharedIdField }));
}
