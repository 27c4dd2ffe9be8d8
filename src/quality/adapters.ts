/**
 * Adapters from system records to the matcher's `OrgRecord`, by field name:
 *   - EspoCRM Account (API attribute names, camelCase): name, billingAddress*, phoneNumber,
 *     emailAddress, website, plus custom fields for the tax id and the shared (ERP) id;
 *   - ERPNext Customer (snake_case) with its Address documents (linked through the `links`
 *     Dynamic Link table, or the customer's `customer_primary_address`).
 * Unknown or non-string values are ignored, never guessed.
 */
import type { OrgRecord } from "./types.ts";

type Doc = Readonly<Record<string, unknown>>;

function str(v: unknown): string | undefined {
  if (typeof v === "string") {
    const t = v.trim();
    return t === "" ? undefined : t;
  }
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function set<K extends keyof OrgRecord>(r: OrgRecord, k: K, v: OrgRecord[K] | undefined): void {
  if (v !== undefined) r[k] = v;
}

export interface EspoAccountAdapterOptions {
  /** Attribute holding the ERP customer id stamped in the CRM (default: the first present of cErpCustomerId, erpCustomerId, cErpId, erpId). */
  sharedIdField?: string;
  /** Attribute holding the tax id (default: the first present of cTaxId, taxId, cVatId, vatId, sicCode is NOT used). */
  taxIdField?: string;
}

const ESPO_SHARED_ID_FIELDS = ["cErpCustomerId", "erpCustomerId", "cErpId", "erpId", "cAccordId", "accordId"];
const ESPO_TAX_ID_FIELDS = ["cTaxId", "taxId", "cVatId", "vatId", "cVatNumber", "vatNumber"];

function firstPresent(doc: Doc, fields: readonly string[]): string | undefined {
  for (const f of fields) {
    const v = str(doc[f]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** EspoCRM Account → OrgRecord (billing address, falling back to the shipping address). */
export function fromEspoAccount(account: Doc, opts: EspoAccountAdapterOptions = {}): OrgRecord {
  const r: OrgRecord = { id: str(account.id) ?? "", name: str(account.name) ?? "" };
  const billing = str(account.billingAddressStreet) !== undefined || str(account.billingAddressCity) !== undefined;
  const p = billing ? "billingAddress" : "shippingAddress";
  set(r, "street", str(account[`${p}Street`])?.replace(/\s*\n\s*/g, ", "));
  set(r, "city", str(account[`${p}City`]));
  set(r, "postalCode", str(account[`${p}PostalCode`]));
  set(r, "country", str(account[`${p}Country`]));
  set(r, "phone", str(account.phoneNumber));
  set(r, "email", str(account.emailAddress));
  set(r, "website", str(account.website));
  set(r, "taxId", opts.taxIdField ? str(account[opts.taxIdField]) : firstPresent(account, ESPO_TAX_ID_FIELDS));
  set(r, "sharedId", opts.sharedIdField ? str(account[opts.sharedIdField]) : firstPresent(account, ESPO_SHARED_ID_FIELDS));
  return r;
}

export interface ErpCustomerAdapterOptions {
  /** Field holding the CRM id stamped in the ERP, if any (default: the first present of crm_id, custom_crm_id, accord_id, custom_accord_id). */
  sharedIdField?: string;
}

const ERP_SHARED_ID_FIELDS = ["crm_id", "custom_crm_id", "accord_id", "custom_accord_id"];

/** Addresses of each customer: by Dynamic Link rows (link_doctype "Customer"), keyed by customer name. */
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
 * ERPNext Customer (+ its Addresses) → OrgRecord. The address used is the customer's primary
 * address (`customer_primary_address`), else the one flagged primary, else a Billing one, else any.
 * Phone / e-mail come from the address when the customer has none (`mobile_no`, `email_id`).
 */
export function fromErpCustomer(customer: Doc, addresses: readonly Doc[] = [], opts: ErpCustomerAdapterOptions = {}): OrgRecord {
  const r: OrgRecord = { id: str(customer.name) ?? "", name: str(customer.customer_name) ?? str(customer.name) ?? "" };
  const primary = str(customer.customer_primary_address);
  const sorted = [...addresses].sort((x, y) => addressRank(x, primary) - addressRank(y, primary));
  const a = sorted[0];
  if (a) {
    const line1 = str(a.address_line1);
    const line2 = str(a.address_line2);
    set(r, "street", line1 && line2 ? `${line1}, ${line2}` : (line1 ?? line2));
    set(r, "city", str(a.city));
    set(r, "postalCode", str(a.pincode));
    set(r, "country", str(a.country));
  }
  set(r, "phone", str(customer.mobile_no) ?? (a ? str(a.phone) : undefined));
  set(r, "email", str(customer.email_id) ?? (a ? str(a.email_id) : undefined));
  set(r, "website", str(customer.website));
  set(r, "taxId", str(customer.tax_id));
  set(r, "sharedId", opts.sharedIdField ? str(customer[opts.sharedIdField]) : firstPresent(customer, ERP_SHARED_ID_FIELDS));
  return r;
}

/** All ERPNext customers with their addresses → OrgRecords. */
export function fromErpCustomers(customers: readonly Doc[], addresses: readonly Doc[], opts: ErpCustomerAdapterOptions = {}): OrgRecord[] {
  const byCustomer = addressesByCustomer(addresses);
  return customers.map((c) => fromErpCustomer(c, byCustomer.get(str(c.name) ?? "") ?? [], opts));
}
