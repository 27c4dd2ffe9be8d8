/**
 * Entity definitions of the emulated EspoCRM (reference §4, §6): field types, the API attributes
 * each field type expands to, and the default entity set (Account, Contact, Opportunity, Case,
 * and Sales Pack's Product) with the custom `c…` fields the example integration uses.
 */

export type EspoFieldType =
  | "varchar"
  | "text"
  | "url"
  | "enum"
  | "multiEnum"
  | "int"
  | "float"
  | "bool"
  | "date"
  | "datetime"
  | "currency"
  | "email"
  | "phone"
  | "personName"
  | "link"
  | "linkMultiple"
  | "address"
  | "autoincrement"
  | "jsonArray";

export const FIELD_TYPES: readonly EspoFieldType[] = [
  "varchar",
  "text",
  "url",
  "enum",
  "multiEnum",
  "int",
  "float",
  "bool",
  "date",
  "datetime",
  "currency",
  "email",
  "phone",
  "personName",
  "link",
  "linkMultiple",
  "address",
  "autoincrement",
  "jsonArray",
];

export interface FieldDef {
  type: EspoFieldType;
  required?: boolean;
  maxLength?: number;
  options?: string[];
  default?: unknown;
  readOnly?: boolean;
  readOnlyAfterCreate?: boolean;
  notStorable?: boolean;
  min?: number;
  max?: number;
  isCustom?: boolean;
  /** link / linkMultiple: the target entity type. */
  entity?: string;
  /** phone: allowed types. */
  typeList?: string[];
  defaultType?: string;
  /** currency: stored as a decimal string (not used by default entities). */
  decimal?: boolean;
  /** Free extra metadata (e.g. `probabilityMap`), copied into entityDefs as is. */
  extra?: Record<string, unknown>;
}

export interface LinkDef {
  type: "belongsTo" | "hasMany" | "hasChildren" | "manyMany";
  entity: string;
  foreign?: string;
  /** For hasMany: the attribute on the foreign entity pointing back here (e.g. `accountId`). */
  foreignKey?: string;
}

export interface EntityDef {
  fields: Record<string, FieldDef>;
  links: Record<string, LinkDef>;
  collection: { orderBy: string; order: "asc" | "desc" };
  optimisticConcurrencyControl: boolean;
  duplicateCheckFieldList?: string[];
  stream?: boolean;
}

export type EntityDefs = Record<string, EntityDef>;

/** The API attributes one field expands to; `readOnly` attributes are never taken from input. */
export function fieldAttributes(name: string, f: FieldDef): { name: string; readOnly: boolean }[] {
  const ro = !!f.readOnly;
  switch (f.type) {
    case "currency":
      return [
        { name, readOnly: ro },
        { name: `${name}Currency`, readOnly: ro },
        { name: `${name}Converted`, readOnly: true },
      ];
    case "email":
      return [
        { name, readOnly: ro },
        { name: `${name}Data`, readOnly: ro },
        { name: `${name}IsOptedOut`, readOnly: ro },
        { name: `${name}IsInvalid`, readOnly: ro },
      ];
    case "phone":
      return [
        { name, readOnly: ro },
        { name: `${name}Data`, readOnly: ro },
        { name: `${name}IsOptedOut`, readOnly: ro },
        { name: `${name}IsInvalid`, readOnly: ro },
        { name: `${name}Numeric`, readOnly: true },
      ];
    case "personName":
      return [{ name, readOnly: true }];
    case "link":
      return [
        { name: `${name}Id`, readOnly: ro },
        { name: `${name}Name`, readOnly: true },
      ];
    case "linkMultiple":
      return [
        { name: `${name}Ids`, readOnly: ro },
        { name: `${name}Names`, readOnly: true },
      ];
    case "address":
      return ["Street", "City", "State", "Country", "PostalCode"].map((p) => ({ name: `${name}${p}`, readOnly: ro }));
    case "autoincrement":
      return [{ name, readOnly: true }];
    default:
      return [{ name, readOnly: ro }];
  }
}

export const ADDRESS_PARTS: Record<string, number> = { Street: 255, City: 100, State: 100, Country: 100, PostalCode: 40 };

/** EspoCRM Account.industry options (v10 entityDefs), "" first as in EspoCRM. */
export const INDUSTRY: string[] = [
  "",
  "Advertising",
  "Aerospace",
  "Agriculture",
  "Apparel & Accessories",
  "Architecture",
  "Automotive",
  "Banking",
  "Biotechnology",
  "Building Materials & Equipment",
  "Chemical",
  "Construction",
  "Consulting",
  "Computer",
  "Culture",
  "Creative",
  "Defense",
  "Education",
  "Electronics",
  "Electric Power",
  "Energy",
  "Entertainment & Leisure",
  "Finance",
  "Food & Beverage",
  "Grocery",
  "Healthcare",
  "Hospitality",
  "Insurance",
  "Legal",
  "Manufacturing",
  "Mass Media",
  "Marketing",
  "Mining",
  "Music",
  "Publishing",
  "Petroleum",
  "Real Estate",
  "Retail",
  "Service",
  "Sports",
  "Software",
  "Support",
  "Shipping",
  "Travel",
  "Technology",
  "Telecommunications",
  "Television",
  "Transportation",
  "Testing, Inspection & Certification",
  "Venture Capital",
  "Wholesale",
  "Water",
];

const LEAD_SOURCE = ["", "Call", "Email", "Existing Customer", "Partner", "Public Relations", "Web Site", "Campaign", "Other"];

export const OPPORTUNITY_PROBABILITY: Record<string, number> = {
  Prospecting: 10,
  Qualification: 20,
  Proposal: 50,
  Negotiation: 80,
  "Closed Won": 100,
  "Closed Lost": 0,
};

function common(): Record<string, FieldDef> {
  return {
    createdAt: { type: "datetime", readOnly: true },
    modifiedAt: { type: "datetime", readOnly: true },
    createdBy: { type: "link", readOnly: true, entity: "User" },
    modifiedBy: { type: "link", readOnly: true, entity: "User" },
    assignedUser: { type: "link", entity: "User" },
    teams: { type: "linkMultiple", entity: "Team" },
  };
}

/** A fresh copy of the default entity definitions (each sandbox owns and mutates its copy). */
export function defaultEntityDefs(): EntityDefs {
  const account: EntityDef = {
    fields: {
      name: { type: "varchar", required: true, maxLength: 249 },
      website: { type: "url", maxLength: 255 },
      emailAddress: { type: "email" },
      phoneNumber: { type: "phone", typeList: ["Office", "Mobile", "Fax", "Other"], defaultType: "Office" },
      type: { type: "enum", options: ["", "Customer", "Investor", "Partner", "Reseller"], default: "" },
      industry: { type: "enum", options: INDUSTRY, default: "" },
      sicCode: { type: "varchar", maxLength: 40 },
      billingAddress: { type: "address" },
      shippingAddress: { type: "address" },
      description: { type: "text" },
      campaign: { type: "link", entity: "Campaign" },
      isLocked: { type: "bool", readOnly: true },
      ...common(),
      cAccordId: { type: "varchar", maxLength: 100, isCustom: true },
      // custom fields an Accord installation adds for the ERP-mastered values (examples/espocrm-erpnext.yaml)
      cTaxId: { type: "varchar", maxLength: 140, isCustom: true },
      cCreditLimit: { type: "float", isCustom: true },
      cCustomerGroup: { type: "varchar", maxLength: 140, isCustom: true },
      cPaymentTerms: { type: "varchar", maxLength: 140, isCustom: true },
      cErpDisabled: { type: "bool", isCustom: true },
      cOutstanding: { type: "float", isCustom: true },
      cInvoicedTotal: { type: "float", isCustom: true },
      cAmountPaid: { type: "float", isCustom: true },
      cLastPaymentDate: { type: "date", isCustom: true },
    },
    links: {
      contacts: { type: "hasMany", entity: "Contact", foreign: "account", foreignKey: "accountId" },
      opportunities: { type: "hasMany", entity: "Opportunity", foreign: "account", foreignKey: "accountId" },
      cases: { type: "hasMany", entity: "Case", foreign: "account", foreignKey: "accountId" },
    },
    collection: { orderBy: "createdAt", order: "desc" },
    optimisticConcurrencyControl: true,
    duplicateCheckFieldList: ["name", "emailAddress"],
    stream: true,
  };
  const contact: EntityDef = {
    fields: {
      salutationName: { type: "enum", options: ["", "Mr.", "Ms.", "Mrs.", "Dr."], default: "" },
      firstName: { type: "varchar", maxLength: 100 },
      lastName: { type: "varchar", maxLength: 100, required: true },
      middleName: { type: "varchar", maxLength: 100 },
      name: { type: "personName" },
      title: { type: "varchar", maxLength: 100 },
      account: { type: "link", entity: "Account" },
      accounts: { type: "linkMultiple", entity: "Account" },
      emailAddress: { type: "email" },
      phoneNumber: {
        type: "phone",
        typeList: ["Mobile", "Office", "Home", "Fax", "Other"],
        defaultType: "Mobile",
      },
      doNotCall: { type: "bool", default: false },
      address: { type: "address" },
      description: { type: "text" },
      campaign: { type: "link", entity: "Campaign" },
      ...common(),
      cAccordId: { type: "varchar", maxLength: 100, isCustom: true },
    },
    links: {
      account: { type: "belongsTo", entity: "Account", foreign: "contacts" },
      opportunities: { type: "hasMany", entity: "Opportunity", foreign: "contact", foreignKey: "contactId" },
      cases: { type: "hasMany", entity: "Case", foreign: "contact", foreignKey: "contactId" },
    },
    collection: { orderBy: "createdAt", order: "desc" },
    optimisticConcurrencyControl: false,
    duplicateCheckFieldList: ["name", "emailAddress"],
    stream: true,
  };
  const opportunity: EntityDef = {
    fields: {
      name: { type: "varchar", required: true, maxLength: 255 },
      amount: { type: "currency", required: true, min: 0 },
      account: { type: "link", entity: "Account" },
      contact: { type: "link", entity: "Contact" },
      contacts: { type: "linkMultiple", entity: "Contact" },
      stage: {
        type: "enum",
        options: ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
        default: "Prospecting",
        extra: { probabilityMap: OPPORTUNITY_PROBABILITY },
      },
      lastStage: { type: "enum", readOnly: true, options: Object.keys(OPPORTUNITY_PROBABILITY) },
      probability: { type: "int", min: 0, max: 100 },
      leadSource: { type: "enum", options: LEAD_SOURCE, default: "" },
      closeDate: { type: "date", required: true },
      description: { type: "text" },
      campaign: { type: "link", entity: "Campaign" },
      itemList: { type: "jsonArray" },
      ...common(),
      cAccordId: { type: "varchar", maxLength: 100, isCustom: true },
      cErpOrderName: { type: "varchar", maxLength: 140, isCustom: true },
      cErpOrderStatus: { type: "varchar", maxLength: 100, isCustom: true },
      cInvoiceStatus: {
        type: "enum",
        options: ["", "Unpaid", "Partly Paid", "Paid", "Overdue", "Cancelled"],
        default: "",
        isCustom: true,
      },
      cOutstanding: { type: "float", isCustom: true },
      cAmountPaid: { type: "float", isCustom: true },
      cSyncError: { type: "text", isCustom: true },
      cPriceApproved: { type: "bool", isCustom: true },
    },
    links: {
      account: { type: "belongsTo", entity: "Account", foreign: "opportunities" },
      contact: { type: "belongsTo", entity: "Contact", foreign: "opportunities" },
    },
    collection: { orderBy: "createdAt", order: "desc" },
    optimisticConcurrencyControl: true,
    stream: true,
  };
  const product: EntityDef = {
    fields: {
      name: { type: "varchar", required: true, maxLength: 255 },
      partNumber: { type: "varchar", maxLength: 100 },
      status: { type: "enum", options: ["Active", "Inactive"], default: "Active" },
      listPrice: { type: "currency", min: 0 },
      unitPrice: { type: "currency", min: 0 },
      costPrice: { type: "currency", min: 0 },
      weight: { type: "float", min: 0 },
      description: { type: "text" },
      ...common(),
      cErpItemCode: { type: "varchar", maxLength: 140, isCustom: true },
      cStockQty: { type: "float", isCustom: true },
      cErpPrice: { type: "float", isCustom: true },
    },
    links: {},
    collection: { orderBy: "name", order: "asc" },
    optimisticConcurrencyControl: false,
  };
  const kase: EntityDef = {
    fields: {
      name: { type: "varchar", required: true, maxLength: 255 },
      number: { type: "autoincrement" },
      status: {
        type: "enum",
        options: ["New", "Assigned", "Pending", "Closed", "Rejected", "Duplicate"],
        default: "New",
      },
      priority: { type: "enum", options: ["Low", "Normal", "High", "Urgent"], default: "Normal" },
      type: { type: "enum", options: ["", "Question", "Incident", "Problem"], default: "" },
      description: { type: "text" },
      account: { type: "link", entity: "Account" },
      contact: { type: "link", entity: "Contact" },
      contacts: { type: "linkMultiple", entity: "Contact" },
      isInternal: { type: "bool", default: false },
      ...common(),
    },
    links: {
      account: { type: "belongsTo", entity: "Account", foreign: "cases" },
      contact: { type: "belongsTo", entity: "Contact", foreign: "cases" },
    },
    collection: { orderBy: "number", order: "desc" },
    optimisticConcurrencyControl: true,
    stream: true,
  };
  const lead: EntityDef = {
    fields: {
      salutationName: { type: "enum", options: ["", "Mr.", "Ms.", "Mrs.", "Dr."], default: "" },
      firstName: { type: "varchar", maxLength: 100 },
      lastName: { type: "varchar", maxLength: 100 },
      middleName: { type: "varchar", maxLength: 100 },
      name: { type: "personName" },
      title: { type: "varchar", maxLength: 100 },
      status: {
        type: "enum",
        options: ["New", "Assigned", "In Process", "Converted", "Recycled", "Dead"],
        default: "New",
      },
      source: { type: "enum", options: LEAD_SOURCE, default: "" },
      industry: { type: "enum", options: INDUSTRY, default: "" },
      opportunityAmount: { type: "currency", min: 0 },
      website: { type: "url", maxLength: 255 },
      address: { type: "address" },
      emailAddress: { type: "email" },
      phoneNumber: {
        type: "phone",
        typeList: ["Mobile", "Office", "Home", "Fax", "Other"],
        defaultType: "Mobile",
      },
      doNotCall: { type: "bool", default: false },
      accountName: { type: "varchar", maxLength: 255 },
      description: { type: "text" },
      convertedAt: { type: "datetime", readOnly: true },
      createdAccount: { type: "link", entity: "Account", readOnly: true },
      createdContact: { type: "link", entity: "Contact", readOnly: true },
      createdOpportunity: { type: "link", entity: "Opportunity", readOnly: true },
      campaign: { type: "link", entity: "Campaign" },
      ...common(),
    },
    links: {},
    collection: { orderBy: "createdAt", order: "desc" },
    optimisticConcurrencyControl: false,
    duplicateCheckFieldList: ["name", "emailAddress"],
    stream: true,
  };
  return { Account: account, Contact: contact, Lead: lead, Opportunity: opportunity, Product: product, Case: kase };
}

/** `entityDefs.{Entity}` as the Metadata endpoint shows it. */
export function entityDefsView(def: EntityDef): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(def.fields)) {
    const o: Record<string, unknown> = { type: f.type === "jsonArray" ? "jsonArray" : f.type };
    if (f.required) o.required = true;
    if (f.maxLength !== undefined) o.maxLength = f.maxLength;
    if (f.options) o.options = [...f.options];
    if (f.default !== undefined) o.default = f.default;
    if (f.readOnly) o.readOnly = true;
    if (f.readOnlyAfterCreate) o.readOnlyAfterCreate = true;
    if (f.notStorable) o.notStorable = true;
    if (f.min !== undefined) o.min = f.min;
    if (f.max !== undefined) o.max = f.max;
    if (f.isCustom) o.isCustom = true;
    if (f.typeList) o.typeList = [...f.typeList];
    if (f.defaultType) o.defaultType = f.defaultType;
    if (f.type === "currency") o.decimal = !!f.decimal;
    if (f.type === "autoincrement") {
      o.autoincrement = true;
      o.readOnly = true;
    }
    if (f.type === "personName") o.readOnly = false;
    if (f.extra) Object.assign(o, f.extra);
    fields[name] = o;
  }
  if (def.optimisticConcurrencyControl) fields.versionNumber = { type: "int", readOnly: true, notStorable: false };
  const links: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(def.fields)) {
    if (f.type === "link" && f.entity) links[name] = { type: "belongsTo", entity: f.entity };
    if (f.type === "linkMultiple" && f.entity) links[name] = { type: "hasMany", entity: f.entity };
  }
  for (const [name, l] of Object.entries(def.links)) {
    const o: Record<string, unknown> = { type: l.type, entity: l.entity };
    if (l.foreign) o.foreign = l.foreign;
    links[name] = o;
  }
  return {
    fields,
    links,
    collection: { orderBy: def.collection.orderBy, order: def.collection.order },
    optimisticConcurrencyControl: def.optimisticConcurrencyControl,
  };
}

export function scopeView(name: string, def: EntityDef): Record<string, unknown> {
  const o: Record<string, unknown> = {
    entity: true,
    object: true,
    module: name === "Product" ? "Sales" : "Crm",
    customizable: true,
    importable: true,
    stream: !!def.stream,
    tab: true,
    acl: true,
  };
  if (def.duplicateCheckFieldList) o.duplicateCheckFieldList = [...def.duplicateCheckFieldList];
  if (name === "Opportunity") o.statusField = "stage";
  if (name === "Case") o.statusField = "status";
  return o;
}
