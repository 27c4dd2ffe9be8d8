/**
 * ERPNext records as organisations (Connector.organisations): a Customer (snake_case) with its
 * Address documents, linked through the Address's `links` Dynamic Link table (link_doctype
 * "Customer"), the customer's `customer_primary_address` first. Unknown or non-string values are
 * ignored, never guessed.
 */
import { type Doc, firstPresent, setIf, str } from "../organisation-values.ts";
import type { OrganisationView, RemoteRecord } from "../types.ts";

export interface ErpCustomerOptions {
  /** Field holding the CRM id stamped in the ERP, if any (default: the first present of crm_id, custom_crm_id, accord_id, custom_accord_id). */
  sharedIdField?: string;
}

const SHARED_ID_FIELDS = ["crm_id", "custom_crm_id", "accord_id", "custom_accord_id"];

/** The Address fields an organisation view needs. */
export const ADDRESS_FIELDS = [
  "name",
  "address_type",
  "address_line1",
  "address_line2",
  "city",
  "pincode",
  "country",
  "phone",
  "email_id",
  "links",
  "disabled",
  "is_primary_address",
];

/** Addresses of each customer: by Dynamic Link rows (link_doctype "Customer"), keyed by customer name. Disabled addresses are left out. */
export function addressesByCustomer(addresses: readonly Doc[]): Map<string, Doc[]> {
  const out = new Map<string, Doc[]>();
  for (const a of addresses) {
    if (a.disabled === 1 || a.disabled === true) continue;
    const links = Array.isArray(a.links) ? (a.links as unknown[]) : [];
    for (const l of links) {
      if (typeof l !== "object" || l === null) continue;
      const link = l as Doc;
      if (link.link_doctype !== "Customer") continue;
      const name = str(link.link_name);
      if (!name) continue;
      const list = out.get(name);
      if (list) list.push(a);
      else out.set(name, [a]);
    }
  }
  return out;
}

function addressRank(a: Doc, primaryName: string | undefined): number {
  if (primaryName && a.name === primaryName) return 0;
  if (a.is_primary_address === 1 || a.is_primary_address === true) return 1;
  if (a.address_type === "Billing") return 2;
  return 3;
}

/**
 * One Customer (+ its Addresses) → an organisation. The address used is the customer's primary
 * address (`customer_primary_address`), else the one flagged primary, else a Billing one, else any.
 * Phone / e-mail come from the address when the customer has none (`mobile_no`, `email_id`).
 */
export function erpCustomerOrganisation(customer: Doc, addresses: readonly Doc[] = [], opts: ErpCustomerOptions = {}): OrganisationView {
  const r: OrganisationView = { id: str(customer.name) ?? "", name: str(customer.customer_name) ?? str(customer.name) ?? "" };
  const primary = str(customer.customer_primary_address);
  const sorted = [...addresses].sort((x, y) => addressRank(x, primary) - addressRank(y, primary));
  const a = sorted[0];
  if (a) {
    const line1 = str(a.address_line1);
    const line2 = str(a.address_line2);
    setIf(r, "street", line1 && line2 ? `${line1}, ${line2}` : (line1 ?? line2));
    setIf(r, "city", str(a.city));
    setIf(r, "postalCode", str(a.pincode));
    setIf(r, "country", str(a.country));
  }
  setIf(r, "phone", str(customer.mobile_no) ?? (a ? str(a.phone) : undefined));
  setIf(r, "email", str(customer.email_id) ?? (a ? str(a.email_id) : undefined));
  setIf(r, "website", str(customer.website));
  setIf(r, "taxId", str(customer.tax_id));
  setIf(r, "sharedId", opts.sharedIdField ? str(customer[opts.sharedIdField]) : firstPresent(customer, SHARED_ID_FIELDS));
  return r;
}

/** Customers with all addresses → organisations. */
export function erpCustomerOrganisations(customers: readonly Doc[], addresses: readonly Doc[], opts: ErpCustomerOptions = {}): OrganisationView[] {
  const byCustomer = addressesByCustomer(addresses);
  return customers.map((c) => erpCustomerOrganisation(c, byCustomer.get(str(c.name) ?? "") ?? [], opts));
}
