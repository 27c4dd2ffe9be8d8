/** Output format of the sandbox data generator. */

/** An EspoCRM record: API attribute names (camelCase), `id` assigned by the generator (17 hex chars). */
export type CrmRecord = { id: string } & Record<string, unknown>;
/** An ERPNext document: field names (snake_case), `name` assigned by the generator in ERPNext's naming style. */
export type ErpDoc = { name: string } & Record<string, unknown>;

export interface GeneratedCrm {
  Account: CrmRecord[];
  Contact: CrmRecord[];
  Opportunity: CrmRecord[];
  Product: CrmRecord[];
  Case: CrmRecord[];
}

/**
 * ERPNext doctypes, in an order that seeds cleanly (masters before the documents that link to them).
 */
export interface GeneratedErp {
  Company: ErpDoc[];
  Country: ErpDoc[];
  "Customer Group": ErpDoc[];
  Territory: ErpDoc[];
  UOM: ErpDoc[];
  "Item Group": ErpDoc[];
  Warehouse: ErpDoc[];
  "Price List": ErpDoc[];
  Customer: ErpDoc[];
  Contact: ErpDoc[];
  Address: ErpDoc[];
  Item: ErpDoc[];
  "Item Price": ErpDoc[];
  Bin: ErpDoc[];
  "Sales Order": ErpDoc[];
  "Sales Invoice": ErpDoc[];
  "Payment Entry": ErpDoc[];
}

export type TruthEntity = "company" | "contact" | "product" | "deal";

/**
 * One real-world thing and every record that describes it: CRM ids (EspoCRM `id`) and ERP names
 * (ERPNext `name`). More than one id on a side = duplicates within that system; an empty side =
 * the thing exists only in the other system.
 */
export interface TruthEntry {
  /** Stable label, e.g. "company-000123". */
  id: string;
  entity: TruthEntity;
  crm: string[];
  erp: string[];
}

export const EDGE_CASE_KINDS = [
  "xss",
  "ampersand",
  "quotes",
  "lessThan",
  "emoji",
  "accents",
  "rtl",
  "greek",
  "cyrillic",
  "cjk",
  "longName",
  "longStreet",
  "longDescription",
  "longEmail",
  "missingFields",
  "multilineStreet",
  "whitespace",
  "sqlLike",
  "sameNameDifferentCompany",
  "transliterated",
  "truncatedInErp",
] as const;
export type EdgeCaseKind = (typeof EDGE_CASE_KINDS)[number];

export interface GenerateOptions {
  /** Number of real-world companies (default 500). Each may have 0–2 records per system. */
  companies?: number;
  /** PRNG seed (default 1). Same seed and options → byte-identical output. */
  seed?: number;
  /** Number of products / items (default 50). */
  products?: number;
  /** Warehouses, 2 or 3 (default 3). */
  warehouses?: number;
  /** Reference "today" (YYYY-MM-DD, default 2026-11-01): records are dated before it; invoice overdue status is relative to it. */
  asOf?: string;
  /** The ERPNext company owning orders, invoices, warehouses and accounts (default: the ERPNext sandbox's "Accord Demo GmbH", ADG, EUR). All money is in its currency. */
  erpCompany?: { name?: string; abbr?: string; currency?: string };
}

export interface GeneratedSummary {
  companies: number;
  bothSystems: number;
  crmOnly: number;
  erpOnly: number;
  crmDuplicates: number;
  erpDuplicates: number;
  /** Record counts per entity/doctype. */
  crm: Record<string, number>;
  erp: Record<string, number>;
}

export interface GeneratedData {
  seed: number;
  asOf: string;
  /** The ERPNext company that owns orders, invoices and warehouses. */
  erpCompany: { name: string; abbr: string; currency: string };
  crm: GeneratedCrm;
  erp: GeneratedErp;
  truth: TruthEntry[];
  /** Where each edge case landed (ids / names), so tests and demos can look at them. */
  edgeCases: Record<EdgeCaseKind, { crm: string[]; erp: string[] }>;
  summary: GeneratedSummary;
}
