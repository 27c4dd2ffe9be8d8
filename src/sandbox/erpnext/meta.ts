/**
 * DocType metadata of the emulated ERPNext (field names/types from reference §6, v15 stubs).
 * A field is written as `[fieldname, fieldtype, options?, flags?, default?]`; flags:
 * r = reqd, o = read_only, s = allow_on_submit, u = unique, h = hidden, l = in_list_view, n = non_negative.
 */
import { unscrub } from "./util.ts";

export interface DocField {
  fieldname: string;
  label: string;
  fieldtype: string;
  options: string | null;
  reqd: 0 | 1;
  read_only: 0 | 1;
  allow_on_submit: 0 | 1;
  unique: 0 | 1;
  hidden: 0 | 1;
  in_list_view: 0 | 1;
  non_negative: 0 | 1;
  default: string | null;
  fetch_from: string | null;
  is_custom_field: 0 | 1;
  insert_after?: string | null;
}

export interface DocTypeMeta {
  name: string;
  module: string;
  istable: 0 | 1;
  issingle: 0;
  is_submittable: 0 | 1;
  is_tree: 0 | 1;
  autoname: string;
  naming_rule: string;
  title_field: string | null;
  search_fields: string | null;
  sort_field: string;
  sort_order: "DESC" | "ASC";
  track_changes: 0 | 1;
  allow_rename: 0 | 1;
  /** Tree doctypes: the Link field pointing to the parent node. */
  nsm_parent_field?: string;
  /** API may only read (Bin, logs, DocType). */
  readOnlyApi?: boolean;
  fields: DocField[];
  modified: string;
  /** Derived lookups (rebuilt by `indexMeta`). */
  fieldMap: Map<string, DocField>;
  tableFields: DocField[];
  valueFields: DocField[];
}

type FieldSpec = [string, string, (string | null)?, string?, (string | number | null)?];

export const VALUE_NUMERIC = new Set(["Int", "Long Int", "Check", "Float", "Currency", "Percent", "Rating", "Duration"]);
export const FLOAT_TYPES = new Set(["Float", "Currency", "Percent", "Rating"]);
export const INT_TYPES = new Set(["Int", "Long Int", "Check", "Duration"]);
export const TABLE_TYPES = new Set(["Table", "Table MultiSelect"]);
export const NO_VALUE_TYPES = new Set(["Section Break", "Column Break", "Tab Break", "HTML", "Button", "Image", "Fold", "Heading"]);

/** Standard columns every document has, with their types (for filters and ordering). */
export const STANDARD_FIELDS: Record<string, string> = {
  name: "Data",
  owner: "Data",
  creation: "Datetime",
  modified: "Datetime",
  modified_by: "Data",
  docstatus: "Int",
  idx: "Int",
};
export const CHILD_STANDARD_FIELDS: Record<string, string> = { parent: "Data", parentfield: "Data", parenttype: "Data" };
export const OPTIONAL_COLUMNS = ["_user_tags", "_comments", "_assign", "_liked_by"];

export function makeField(spec: FieldSpec, custom = false): DocField {
  const [fieldname, fieldtype, options, flags = "", def] = spec;
  const has = (c: string) => (flags.includes(c) ? 1 : 0);
  return {
    fieldname,
    label: labelFor(fieldname),
    fieldtype,
    options: options ?? null,
    reqd: has("r"),
    read_only: has("o"),
    allow_on_submit: has("s"),
    unique: has("u"),
    hidden: has("h"),
    in_list_view: has("l"),
    non_negative: has("n"),
    default: def === undefined || def === null ? null : String(def),
    fetch_from: null,
    is_custom_field: custom ? 1 : 0,
  };
}

const LABELS: Record<string, string> = {
  customer_name: "Customer Name",
  tax_id: "Tax ID",
  email_id: "Email Address",
  mobile_no: "Mobile No",
  pincode: "Postal Code",
  address_line1: "Address Line 1",
  address_line2: "Address Line 2",
  city: "City/Town",
  po_no: "Customer's Purchase Order",
  po_date: "Customer's Purchase Order Date",
  uom: "UOM",
  stock_uom: "Default Unit of Measure",
  qty: "Quantity",
  price_list_rate: "Rate",
  item_code: "Item Code",
  link_doctype: "Link Document Type",
  link_name: "Link Name",
  webhook_doctype: "DocType",
  webhook_docevent: "Doc Event",
  request_url: "Request URL",
  transaction_date: "Date",
  delivery_date: "Delivery Date",
  debit_to: "Debit To",
  paid_from: "Account Paid From",
  paid_to: "Account Paid To",
};

function labelFor(fieldname: string): string {
  return LABELS[fieldname] ?? unscrub(fieldname);
}

interface DocTypeSpec {
  name: string;
  module: string;
  fields: FieldSpec[];
  istable?: boolean;
  submittable?: boolean;
  tree?: string;
  autoname?: string;
  naming_rule?: string;
  title_field?: string;
  search_fields?: string;
  readOnlyApi?: boolean;
  allow_rename?: boolean;
  sort_field?: string;
  sort_order?: "ASC" | "DESC";
}

const CURRENCY_TOTALS: FieldSpec[] = [
  ["total_qty", "Float", null, "o"],
  ["base_total", "Currency", "company_currency", "o"],
  ["base_net_total", "Currency", "company_currency", "o"],
  ["total", "Currency", "currency", "o"],
  ["net_total", "Currency", "currency", "o"],
  ["tax_category", "Link", "Tax Category"],
  ["taxes_and_charges", "Link", "Sales Taxes and Charges Template"],
  ["taxes", "Table", "Sales Taxes and Charges"],
  ["base_total_taxes_and_charges", "Currency", "company_currency", "o"],
  ["total_taxes_and_charges", "Currency", "currency", "o"],
  ["apply_discount_on", "Select", "\nGrand Total\nNet Total", "", "Grand Total"],
  ["base_discount_amount", "Currency", "company_currency", "o"],
  ["additional_discount_percentage", "Float"],
  ["discount_amount", "Currency", "currency"],
  ["base_grand_total", "Currency", "company_currency", "o"],
  ["base_rounding_adjustment", "Currency", "company_currency", "o"],
  ["base_rounded_total", "Currency", "company_currency", "o"],
  ["base_in_words", "Small Text", null, "o"],
  ["grand_total", "Currency", "currency", "ol"],
  ["rounding_adjustment", "Currency", "currency", "o"],
  ["rounded_total", "Currency", "currency", "o"],
  ["in_words", "Small Text", null, "o"],
  ["disable_rounded_total", "Check"],
];

const PARTY_HEADER: FieldSpec[] = [
  ["customer_address", "Link", "Address"],
  ["address_display", "Text Editor", null, "o"],
  ["customer_group", "Link", "Customer Group"],
  ["territory", "Link", "Territory"],
  ["contact_person", "Link", "Contact"],
  ["contact_display", "Small Text", null, "o"],
  ["contact_phone", "Data", null, "o"],
  ["contact_mobile", "Small Text", null, "o"],
  ["contact_email", "Data", "Email", "o"],
  ["shipping_address_name", "Link", "Address"],
  ["shipping_address", "Text Editor", null, "o"],
  ["payment_terms_template", "Link", "Payment Terms Template"],
  ["tc_name", "Link", "Terms and Conditions"],
  ["terms", "Text Editor", null, "s"],
  ["sales_partner", "Link", "Sales Partner"],
  ["project", "Link", "Project"],
  ["cost_center", "Link", "Cost Center"],
  ["letter_head", "Link", "Letter Head", "s"],
  ["select_print_heading", "Link", "Print Heading", "s"],
  ["language", "Data"],
  ["coupon_code", "Link", "Coupon Code"],
];

const SELLING_ITEM: FieldSpec[] = [
  ["item_code", "Link", "Item", "l"],
  ["customer_item_code", "Data", null, "h"],
  ["item_name", "Data", null, "r"],
  ["description", "Text Editor"],
  ["item_group", "Link", "Item Group", "o"],
  ["brand", "Link", "Brand", "o"],
  ["image", "Attach", null, "h"],
  ["qty", "Float", null, "l"],
  ["stock_uom", "Link", "UOM", "o"],
  ["uom", "Link", "UOM", "r"],
  ["conversion_factor", "Float", null, "r"],
  ["stock_qty", "Float", null, "o"],
  ["price_list_rate", "Currency", "currency", "o"],
  ["base_price_list_rate", "Currency", "Company:company:default_currency", "o"],
  ["margin_type", "Select", "\nPercentage\nAmount"],
  ["margin_rate_or_amount", "Float"],
  ["rate_with_margin", "Currency", "currency", "o"],
  ["discount_percentage", "Percent"],
  ["discount_amount", "Currency", "currency"],
  ["base_rate_with_margin", "Currency", "Company:company:default_currency", "o"],
  ["rate", "Currency", "currency", "l"],
  ["amount", "Currency", "currency", "ol"],
  ["item_tax_template", "Link", "Item Tax Template"],
  ["base_rate", "Currency", "Company:company:default_currency", "o"],
  ["base_amount", "Currency", "Company:company:default_currency", "o"],
  ["pricing_rules", "Small Text", null, "h"],
  ["stock_uom_rate", "Currency", "currency", "o"],
  ["is_free_item", "Check", null, "o"],
  ["grant_commission", "Check"],
  ["net_rate", "Currency", "currency", "o"],
  ["net_amount", "Currency", "currency", "o"],
  ["base_net_rate", "Currency", "Company:company:default_currency", "o"],
  ["base_net_amount", "Currency", "Company:company:default_currency", "o"],
  ["weight_per_unit", "Float", null, "o"],
  ["total_weight", "Float", null, "o"],
  ["weight_uom", "Link", "UOM", "o"],
  ["warehouse", "Link", "Warehouse"],
  ["actual_qty", "Float", null, "o"],
  ["projected_qty", "Float", null, "o"],
  ["item_tax_rate", "Code", null, "h"],
  ["page_break", "Check"],
];

const SPECS: DocTypeSpec[] = [
  // ---- master data (minimal) ----
  { name: "Currency", module: "Geo", fields: [["currency_name", "Data", null, "r"], ["enabled", "Check"], ["fraction", "Data"], ["fraction_units", "Int"], ["smallest_currency_fraction_value", "Currency"], ["symbol", "Data"], ["number_format", "Select", "\n#,###.##\n#.###,##\n# ###.##\n#,###.###\n#,##,###.##\n#.###\n#,###"]], autoname: "field:currency_name", allow_rename: false },
  { name: "Country", module: "Geo", fields: [["country_name", "Data", null, "r"], ["date_format", "Data"], ["time_format", "Data"], ["time_zones", "Text"], ["code", "Data"]], autoname: "field:country_name" },
  { name: "UOM", module: "Setup", fields: [["enabled", "Check", null, "", 1], ["uom_name", "Data", null, "r"], ["must_be_whole_number", "Check"]], autoname: "field:uom_name" },
  { name: "Salutation", module: "Contacts", fields: [["salutation", "Data", null, "r"]], autoname: "field:salutation" },
  { name: "Gender", module: "Contacts", fields: [["gender", "Data", null, "r"]], autoname: "field:gender" },
  { name: "Designation", module: "Setup", fields: [["designation_name", "Data", null, "r"]], autoname: "field:designation_name" },
  { name: "Brand", module: "Setup", fields: [["brand", "Data", null, "r"], ["description", "Text"]], autoname: "field:brand" },
  { name: "Tax Category", module: "Accounts", fields: [["title", "Data", null, "r"], ["disabled", "Check"]], autoname: "field:title" },
  { name: "Payment Terms Template", module: "Accounts", fields: [["template_name", "Data"], ["allocate_payment_based_on_payment_terms", "Check"]], autoname: "field:template_name" },
  { name: "Mode of Payment", module: "Accounts", fields: [["mode_of_payment", "Data", null, "r"], ["enabled", "Check", null, "", 1], ["type", "Select", "Cash\nBank\nGeneral\nPhone"]], autoname: "field:mode_of_payment" },
  { name: "Account", module: "Accounts", fields: [["account_name", "Data", null, "r"], ["account_number", "Data"], ["is_group", "Check"], ["company", "Link", "Company", "r"], ["root_type", "Select", "\nAsset\nLiability\nIncome\nExpense\nEquity"], ["account_type", "Select", "\nReceivable\nPayable\nCash\nBank\nIncome Account\nStock\nCost of Goods Sold\nTax\nTemporary"], ["account_currency", "Link", "Currency"], ["parent_account", "Link", "Account"], ["disabled", "Check"]] },
  { name: "Cost Center", module: "Accounts", fields: [["cost_center_name", "Data", null, "r"], ["company", "Link", "Company", "r"], ["parent_cost_center", "Link", "Cost Center"], ["is_group", "Check"], ["disabled", "Check"]] },
  { name: "Sales Partner", module: "Setup", fields: [["partner_name", "Data", null, "r"], ["commission_rate", "Float"], ["territory", "Link", "Territory"]], autoname: "field:partner_name" },
  { name: "Project", module: "Projects", fields: [["project_name", "Data", null, "r"], ["status", "Select", "Open\nCompleted\nCancelled", "", "Open"], ["customer", "Link", "Customer"], ["company", "Link", "Company"]] },
  { name: "User", module: "Core", fields: [["email", "Data", "Email", "r"], ["first_name", "Data", null, "r"], ["last_name", "Data"], ["full_name", "Data", null, "o"], ["enabled", "Check", null, "", 1], ["user_type", "Select", "System User\nWebsite User", "", "System User"], ["api_key", "Data", null, "o"]], autoname: "field:email", readOnlyApi: true },
  {
    name: "Company",
    module: "Setup",
    fields: [["company_name", "Data", null, "r"], ["abbr", "Data", null, "r"], ["default_currency", "Link", "Currency", "r"], ["country", "Link", "Country", "r"], ["tax_id", "Data"], ["domain", "Data"], ["default_receivable_account", "Link", "Account"], ["default_income_account", "Link", "Account"], ["cost_center", "Link", "Cost Center"], ["default_cash_account", "Link", "Account"], ["round_off_account", "Link", "Account"], ["default_selling_terms", "Link", "Terms and Conditions"], ["credit_limit", "Currency"]],
    autoname: "field:company_name",
  },
  { name: "Customer Group", module: "Setup", fields: [["customer_group_name", "Data", null, "r"], ["parent_customer_group", "Link", "Customer Group"], ["is_group", "Check"], ["default_price_list", "Link", "Price List"], ["payment_terms", "Link", "Payment Terms Template"], ["lft", "Int", null, "oh"], ["rgt", "Int", null, "oh"], ["old_parent", "Link", "Customer Group", "h"]], tree: "parent_customer_group", autoname: "field:customer_group_name", allow_rename: true },
  { name: "Territory", module: "Setup", fields: [["territory_name", "Data", null, "r"], ["parent_territory", "Link", "Territory"], ["is_group", "Check"], ["territory_manager", "Link", "Sales Person"], ["lft", "Int", null, "oh"], ["rgt", "Int", null, "oh"], ["old_parent", "Link", "Territory", "h"]], tree: "parent_territory", autoname: "field:territory_name", allow_rename: true },
  { name: "Item Group", module: "Setup", fields: [["item_group_name", "Data", null, "r"], ["parent_item_group", "Link", "Item Group"], ["is_group", "Check"], ["image", "Attach Image"], ["lft", "Int", null, "oh"], ["rgt", "Int", null, "oh"], ["old_parent", "Link", "Item Group", "h"]], tree: "parent_item_group", autoname: "field:item_group_name", allow_rename: true },
  { name: "Warehouse", module: "Stock", fields: [["disabled", "Check"], ["warehouse_name", "Data", null, "r"], ["is_group", "Check"], ["parent_warehouse", "Link", "Warehouse"], ["is_rejected_warehouse", "Check"], ["account", "Link", "Account"], ["company", "Link", "Company", "r"], ["warehouse_type", "Link", "Warehouse Type"], ["lft", "Int", null, "oh"], ["rgt", "Int", null, "oh"], ["old_parent", "Link", "Warehouse", "h"]], tree: "parent_warehouse", allow_rename: true },
  { name: "Price List", module: "Stock", fields: [["enabled", "Check", null, "", 1], ["price_list_name", "Data", null, "r"], ["currency", "Link", "Currency", "r"], ["buying", "Check"], ["selling", "Check"], ["price_not_uom_dependent", "Check"]], autoname: "field:price_list_name", allow_rename: true },

  // ---- parties ----
  { name: "Customer Credit Limit", module: "Selling", istable: true, fields: [["company", "Link", "Company", "rl"], ["credit_limit", "Currency", null, "l"], ["bypass_credit_limit_check", "Check", null, "l"]] },
  { name: "Party Account", module: "Accounts", istable: true, fields: [["company", "Link", "Company", "r"], ["account", "Link", "Account"], ["advance_account", "Link", "Account"]] },
  {
    name: "Customer",
    module: "Selling",
    autoname: "naming_series:",
    naming_rule: "By \"Naming Series\" field",
    title_field: "customer_name",
    search_fields: "customer_group,territory, mobile_no,primary_address",
    allow_rename: true,
    fields: [
      ["naming_series", "Select", "CUST-.YYYY.-"],
      ["salutation", "Link", "Salutation"],
      ["customer_name", "Data", null, "r"],
      ["customer_type", "Select", "Company\nIndividual\nPartnership", "r", "Company"],
      ["customer_group", "Link", "Customer Group", "l"],
      ["territory", "Link", "Territory", "l"],
      ["gender", "Link", "Gender"],
      ["lead_name", "Link", "Lead", "o"],
      ["opportunity_name", "Link", "Opportunity", "o"],
      ["prospect_name", "Link", "Prospect", "o"],
      ["account_manager", "Link", "User"],
      ["image", "Attach Image", null, "h"],
      ["default_currency", "Link", "Currency"],
      ["default_bank_account", "Link", "Bank Account"],
      ["default_price_list", "Link", "Price List"],
      ["is_internal_customer", "Check"],
      ["represents_company", "Link", "Company"],
      ["market_segment", "Link", "Market Segment"],
      ["industry", "Link", "Industry Type"],
      ["customer_pos_id", "Data", null, "o"],
      ["website", "Data"],
      ["language", "Link", "Language"],
      ["customer_details", "Text"],
      ["customer_primary_address", "Link", "Address"],
      ["primary_address", "Text", null, "o"],
      ["customer_primary_contact", "Link", "Contact"],
      ["mobile_no", "Read Only"],
      ["email_id", "Read Only"],
      ["first_name", "Read Only", null, "h"],
      ["last_name", "Read Only", null, "h"],
      ["tax_id", "Data"],
      ["tax_category", "Link", "Tax Category"],
      ["tax_withholding_category", "Link", "Tax Withholding Category"],
      ["payment_terms", "Link", "Payment Terms Template"],
      ["credit_limits", "Table", "Customer Credit Limit"],
      ["accounts", "Table", "Party Account"],
      ["loyalty_program", "Link", "Loyalty Program"],
      ["so_required", "Check"],
      ["dn_required", "Check"],
      ["is_frozen", "Check"],
      ["disabled", "Check"],
      ["default_sales_partner", "Link", "Sales Partner"],
      ["default_commission_rate", "Float"],
    ],
  },
  { name: "Contact Email", module: "Contacts", istable: true, fields: [["email_id", "Data", "Email", "rl"], ["is_primary", "Check", null, "l"]] },
  { name: "Contact Phone", module: "Contacts", istable: true, fields: [["phone", "Data", "Phone", "rl"], ["is_primary_phone", "Check", null, "l"], ["is_primary_mobile_no", "Check", null, "l"]] },
  { name: "Dynamic Link", module: "Contacts", istable: true, fields: [["link_doctype", "Link", "DocType", "rl"], ["link_name", "Dynamic Link", "link_doctype", "rl"], ["link_title", "Read Only", null, "l"]] },
  {
    name: "Contact",
    module: "Contacts",
    autoname: "",
    naming_rule: "",
    title_field: "full_name",
    search_fields: "email_id",
    allow_rename: true,
    fields: [
      ["first_name", "Data"],
      ["middle_name", "Data"],
      ["last_name", "Data"],
      ["full_name", "Data", null, "h"],
      ["email_id", "Data", "Email", "o"],
      ["user", "Link", "User"],
      ["address", "Link", "Address"],
      ["status", "Select", "Passive\nOpen\nReplied", "", "Passive"],
      ["salutation", "Link", "Salutation"],
      ["designation", "Link", "Designation"],
      ["gender", "Link", "Gender"],
      ["phone", "Data", "Phone", "o"],
      ["mobile_no", "Data", "Phone", "o"],
      ["company_name", "Data"],
      ["image", "Attach Image", null, "h"],
      ["department", "Data"],
      ["unsubscribed", "Check"],
      ["is_primary_contact", "Check"],
      ["is_billing_contact", "Check"],
      ["email_ids", "Table", "Contact Email"],
      ["phone_nos", "Table", "Contact Phone"],
      ["links", "Table", "Dynamic Link"],
    ],
  },
  {
    name: "Address",
    module: "Contacts",
    autoname: "",
    search_fields: "country, state",
    allow_rename: true,
    fields: [
      ["address_title", "Data"],
      ["address_type", "Select", "Billing\nShipping\nOffice\nPersonal\nPlant\nPostal\nShop\nSubsidiary\nWarehouse\nCurrent\nPermanent\nOther", "r", "Billing"],
      ["address_line1", "Data", null, "r"],
      ["address_line2", "Data"],
      ["city", "Data", null, "r"],
      ["county", "Data"],
      ["state", "Data"],
      ["country", "Link", "Country", "r"],
      ["pincode", "Data"],
      ["email_id", "Data", "Email"],
      ["phone", "Data"],
      ["fax", "Data"],
      ["tax_category", "Link", "Tax Category"],
      ["is_primary_address", "Check"],
      ["is_shipping_address", "Check"],
      ["disabled", "Check"],
      ["is_your_company_address", "Check"],
      ["links", "Table", "Dynamic Link"],
    ],
  },

  // ---- items, prices, stock ----
  { name: "UOM Conversion Detail", module: "Stock", istable: true, fields: [["uom", "Link", "UOM", "l"], ["conversion_factor", "Float", null, "l"]] },
  { name: "Item Default", module: "Stock", istable: true, fields: [["company", "Link", "Company", "rl"], ["default_warehouse", "Link", "Warehouse", "l"], ["default_price_list", "Link", "Price List"], ["income_account", "Link", "Account"], ["selling_cost_center", "Link", "Cost Center"]] },
  { name: "Item Barcode", module: "Stock", istable: true, fields: [["barcode", "Data", null, "rl"], ["barcode_type", "Select", "\nEAN\nUPC-A\nCODE-39"], ["uom", "Link", "UOM"]] },
  {
    name: "Item",
    module: "Stock",
    autoname: "field:item_code",
    naming_rule: "By fieldname",
    title_field: "item_name",
    search_fields: "item_name,description,item_group,customer_code",
    allow_rename: true,
    fields: [
      ["naming_series", "Select", "STO-ITEM-.YYYY.-"],
      ["item_code", "Data", null, "ru"],
      ["variant_of", "Link", "Item", "o"],
      ["item_name", "Data"],
      ["item_group", "Link", "Item Group", "rl"],
      ["stock_uom", "Link", "UOM", "r"],
      ["disabled", "Check"],
      ["allow_alternative_item", "Check"],
      ["is_stock_item", "Check", null, "", 1],
      ["has_variants", "Check"],
      ["opening_stock", "Float"],
      ["valuation_rate", "Currency"],
      ["standard_rate", "Currency"],
      ["is_fixed_asset", "Check"],
      ["description", "Text Editor"],
      ["brand", "Link", "Brand"],
      ["image", "Attach Image", null, "h"],
      ["end_of_life", "Date", null, "", "2099-12-31"],
      ["weight_per_unit", "Float"],
      ["weight_uom", "Link", "UOM"],
      ["is_sales_item", "Check", null, "", 1],
      ["is_purchase_item", "Check", null, "", 1],
      ["sales_uom", "Link", "UOM"],
      ["purchase_uom", "Link", "UOM"],
      ["has_batch_no", "Check"],
      ["has_serial_no", "Check"],
      ["country_of_origin", "Link", "Country"],
      ["customs_tariff_number", "Link", "Customs Tariff Number"],
      ["uoms", "Table", "UOM Conversion Detail"],
      ["item_defaults", "Table", "Item Default"],
      ["barcodes", "Table", "Item Barcode"],
    ],
  },
  {
    name: "Item Price",
    module: "Stock",
    autoname: "hash",
    naming_rule: "Random",
    fields: [
      ["item_code", "Link", "Item", "rl"],
      ["uom", "Link", "UOM"],
      ["packing_unit", "Int"],
      ["item_name", "Data", null, "o"],
      ["brand", "Link", "Brand", "o"],
      ["item_description", "Text", null, "o"],
      ["price_list", "Link", "Price List", "rl"],
      ["customer", "Link", "Customer"],
      ["supplier", "Link", "Supplier"],
      ["batch_no", "Link", "Batch"],
      ["buying", "Check", null, "o"],
      ["selling", "Check", null, "o"],
      ["currency", "Link", "Currency", "o"],
      ["price_list_rate", "Currency", "currency", "rl"],
      ["valid_from", "Date"],
      ["lead_time_days", "Int"],
      ["valid_upto", "Date"],
      ["note", "Text"],
      ["reference", "Data"],
    ],
  },
  {
    name: "Bin",
    module: "Stock",
    autoname: "hash",
    naming_rule: "Random",
    readOnlyApi: true,
    fields: [
      ["item_code", "Link", "Item", "rl"],
      ["warehouse", "Link", "Warehouse", "rl"],
      ["actual_qty", "Float", null, "ol"],
      ["planned_qty", "Float", null, "o"],
      ["indented_qty", "Float", null, "o"],
      ["ordered_qty", "Float", null, "o"],
      ["projected_qty", "Float", null, "ol"],
      ["reserved_qty", "Float", null, "o"],
      ["reserved_qty_for_production", "Float", null, "o"],
      ["reserved_qty_for_sub_contract", "Float", null, "o"],
      ["reserved_qty_for_production_plan", "Float", null, "o"],
      ["reserved_stock", "Float", null, "o"],
      ["stock_uom", "Link", "UOM", "o"],
      ["valuation_rate", "Float", null, "o"],
      ["stock_value", "Float", null, "o"],
    ],
  },
  { name: "Stock Entry Detail", module: "Stock", istable: true, fields: [["s_warehouse", "Link", "Warehouse", "l"], ["t_warehouse", "Link", "Warehouse", "l"], ["item_code", "Link", "Item", "rl"], ["item_name", "Data", null, "o"], ["description", "Text Editor"], ["qty", "Float", null, "rl"], ["basic_rate", "Currency"], ["basic_amount", "Currency", null, "o"], ["amount", "Currency", null, "o"], ["uom", "Link", "UOM", "r"], ["conversion_factor", "Float", null, "r"], ["stock_uom", "Link", "UOM", "o"], ["transfer_qty", "Float", null, "o"], ["actual_qty", "Float", null, "o"]] },
  {
    name: "Stock Entry",
    module: "Stock",
    autoname: "naming_series:",
    submittable: true,
    fields: [
      ["naming_series", "Select", "MAT-STE-.YYYY.-", "r", "MAT-STE-.YYYY.-"],
      ["stock_entry_type", "Select", "Material Issue\nMaterial Receipt\nMaterial Transfer", "r"],
      ["purpose", "Select", "Material Issue\nMaterial Receipt\nMaterial Transfer", "o"],
      ["company", "Link", "Company", "r"],
      ["posting_date", "Date"],
      ["posting_time", "Time"],
      ["set_posting_time", "Check"],
      ["from_warehouse", "Link", "Warehouse"],
      ["to_warehouse", "Link", "Warehouse"],
      ["items", "Table", "Stock Entry Detail", "r"],
      ["total_outgoing_value", "Currency", null, "o"],
      ["total_incoming_value", "Currency", null, "o"],
      ["value_difference", "Currency", null, "o"],
      ["remarks", "Text"],
      ["amended_from", "Link", "Stock Entry", "o"],
    ],
  },

  // ---- selling ----
  { name: "Sales Taxes and Charges", module: "Accounts", istable: true, fields: [["charge_type", "Select", "\nActual\nOn Net Total\nOn Previous Row Amount\nOn Previous Row Total\nOn Item Quantity", "rl"], ["account_head", "Link", "Account", "rl"], ["description", "Small Text", null, "r"], ["included_in_print_rate", "Check"], ["cost_center", "Link", "Cost Center"], ["rate", "Float", null, "l"], ["tax_amount", "Currency", "currency", "l"], ["total", "Currency", "currency", "o"], ["base_tax_amount", "Currency", null, "o"], ["base_total", "Currency", null, "o"]] },
  { name: "Payment Schedule", module: "Accounts", istable: true, fields: [["payment_term", "Link", "Payment Term"], ["description", "Small Text"], ["due_date", "Date", null, "r"], ["invoice_portion", "Percent"], ["payment_amount", "Currency", null, "r"], ["outstanding", "Currency", null, "o"], ["paid_amount", "Currency", null, "o"]] },
  {
    name: "Sales Order Item",
    module: "Selling",
    istable: true,
    fields: [
      ...SELLING_ITEM.slice(0, 2),
      ["ensure_delivery_based_on_produced_serial_no", "Check"],
      ["delivery_date", "Date", null, "s"],
      ...SELLING_ITEM.slice(2),
      ["target_warehouse", "Link", "Warehouse"],
      ["prevdoc_docname", "Link", "Quotation"],
      ["quotation_item", "Data", null, "h"],
      ["against_blanket_order", "Check"],
      ["blanket_order", "Link", "Blanket Order"],
      ["blanket_order_rate", "Currency", null, "o"],
      ["ordered_qty", "Float", null, "o"],
      ["planned_qty", "Float", null, "o"],
      ["work_order_qty", "Float", null, "o"],
      ["delivered_qty", "Float", null, "os"],
      ["produced_qty", "Float", null, "o"],
      ["returned_qty", "Float", null, "o"],
      ["picked_qty", "Float", null, "o"],
      ["billed_amt", "Currency", null, "os"],
      ["valuation_rate", "Currency", null, "o"],
      ["gross_profit", "Currency", null, "o"],
      ["delivered_by_supplier", "Check"],
      ["additional_notes", "Text"],
      ["transaction_date", "Date", null, "h"],
    ],
  },
  {
    name: "Sales Order",
    module: "Selling",
    autoname: "naming_series:",
    naming_rule: "By \"Naming Series\" field",
    title_field: "customer_name",
    search_fields: "status,transaction_date,customer,customer_name, territory,order_type,company",
    submittable: true,
    sort_field: "modified",
    fields: [
      ["title", "Data", null, "h", "{customer_name}"],
      ["naming_series", "Select", "SAL-ORD-.YYYY.-", "r", "SAL-ORD-.YYYY.-"],
      ["customer", "Link", "Customer", "rl"],
      ["customer_name", "Data", null, "o"],
      ["tax_id", "Data", null, "o"],
      ["order_type", "Select", "\nSales\nMaintenance\nShopping Cart", "r", "Sales"],
      ["transaction_date", "Date", null, "r"],
      ["delivery_date", "Date", null, "ls"],
      ["po_no", "Data", null, "s"],
      ["po_date", "Date", null, "s"],
      ["company", "Link", "Company", "r"],
      ["skip_delivery_note", "Check", null, "h"],
      ["amended_from", "Link", "Sales Order", "o"],
      ["currency", "Link", "Currency", "r"],
      ["conversion_rate", "Float", null, "r"],
      ["selling_price_list", "Link", "Price List", "r"],
      ["price_list_currency", "Link", "Currency", "ro"],
      ["plc_conversion_rate", "Float", null, "r"],
      ["ignore_pricing_rule", "Check"],
      ["set_warehouse", "Link", "Warehouse"],
      ["items", "Table", "Sales Order Item", "r"],
      ...CURRENCY_TOTALS,
      ["advance_paid", "Currency", null, "o"],
      ...PARTY_HEADER,
      ["payment_schedule", "Table", "Payment Schedule"],
      ["status", "Select", "\nDraft\nOn Hold\nTo Pay\nTo Deliver and Bill\nTo Bill\nTo Deliver\nCompleted\nCancelled\nClosed", "rols", "Draft"],
      ["delivery_status", "Select", "Not Delivered\nFully Delivered\nPartly Delivered\nClosed\nNot Applicable", "os"],
      ["per_delivered", "Percent", null, "os"],
      ["per_billed", "Percent", null, "os"],
      ["per_picked", "Percent", null, "o"],
      ["billing_status", "Select", "Not Billed\nFully Billed\nPartly Billed\nClosed", "os"],
      ["advance_payment_status", "Select", "Not Requested\nRequested\nPartially Paid\nFully Paid", "os"],
      ["is_internal_customer", "Check"],
      ["represents_company", "Link", "Company"],
    ],
  },
  {
    name: "Sales Invoice Item",
    module: "Accounts",
    istable: true,
    fields: [
      ...SELLING_ITEM,
      ["income_account", "Link", "Account", "r"],
      ["cost_center", "Link", "Cost Center", "r"],
      ["sales_order", "Link", "Sales Order", "o"],
      ["so_detail", "Data", null, "oh"],
      ["delivery_note", "Link", "Delivery Note", "o"],
      ["dn_detail", "Data", null, "oh"],
      ["sales_invoice_item", "Data", null, "oh"],
      ["delivered_qty", "Float", null, "o"],
      ["serial_no", "Small Text"],
      ["batch_no", "Link", "Batch"],
    ],
  },
  {
    name: "Sales Invoice",
    module: "Accounts",
    autoname: "naming_series:",
    naming_rule: "By \"Naming Series\" field",
    title_field: "title",
    search_fields: "posting_date, due_date, customer, base_grand_total, outstanding_amount",
    submittable: true,
    fields: [
      ["title", "Data", null, "h", "{customer_name}"],
      ["naming_series", "Select", "ACC-SINV-.YYYY.-\nACC-SINV-RET-.YYYY.-", "r", "ACC-SINV-.YYYY.-"],
      ["customer", "Link", "Customer", "l"],
      ["customer_name", "Small Text", null, "o"],
      ["tax_id", "Data", null, "o"],
      ["company", "Link", "Company", "r"],
      ["posting_date", "Date", null, "r"],
      ["posting_time", "Time"],
      ["set_posting_time", "Check"],
      ["due_date", "Date"],
      ["is_pos", "Check"],
      ["is_return", "Check"],
      ["return_against", "Link", "Sales Invoice", "o"],
      ["update_billed_amount_in_sales_order", "Check"],
      ["is_debit_note", "Check"],
      ["amended_from", "Link", "Sales Invoice", "o"],
      ["po_no", "Data", null, "s"],
      ["po_date", "Date", null, "s"],
      ["currency", "Link", "Currency", "r"],
      ["conversion_rate", "Float", null, "r"],
      ["selling_price_list", "Link", "Price List"],
      ["price_list_currency", "Link", "Currency", "o"],
      ["plc_conversion_rate", "Float"],
      ["ignore_pricing_rule", "Check"],
      ["update_stock", "Check"],
      ["set_warehouse", "Link", "Warehouse"],
      ["items", "Table", "Sales Invoice Item", "r"],
      ...CURRENCY_TOTALS,
      ["total_advance", "Currency", null, "o"],
      ["outstanding_amount", "Currency", null, "ols"],
      ["paid_amount", "Currency", null, "o"],
      ["write_off_amount", "Currency"],
      ["change_amount", "Currency", null, "o"],
      ["debit_to", "Link", "Account", "r"],
      ["party_account_currency", "Link", "Currency", "o"],
      ["is_opening", "Select", "No\nYes", "", "No"],
      ["against_income_account", "Small Text", null, "o"],
      ...PARTY_HEADER,
      ["payment_schedule", "Table", "Payment Schedule"],
      ["status", "Select", "\nDraft\nReturn\nCredit Note Issued\nSubmitted\nPaid\nPartly Paid\nUnpaid\nUnpaid and Discounted\nPartly Paid and Discounted\nOverdue and Discounted\nOverdue\nCancelled\nInternal Transfer", "ols", "Draft"],
      ["remarks", "Small Text", null, "s"],
      ["is_internal_customer", "Check"],
      ["represents_company", "Link", "Company"],
    ],
  },
  {
    name: "Payment Entry Reference",
    module: "Accounts",
    istable: true,
    fields: [["reference_doctype", "Link", "DocType", "rl"], ["reference_name", "Dynamic Link", "reference_doctype", "rl"], ["due_date", "Date", null, "o"], ["bill_no", "Data", null, "o"], ["payment_term", "Link", "Payment Term"], ["total_amount", "Float", null, "ol"], ["outstanding_amount", "Float", null, "ol"], ["allocated_amount", "Float", null, "l"], ["exchange_rate", "Float", null, "o"]],
  },
  {
    name: "Payment Entry",
    module: "Accounts",
    autoname: "naming_series:",
    naming_rule: "By \"Naming Series\" field",
    title_field: "title",
    submittable: true,
    fields: [
      ["naming_series", "Select", "ACC-PAY-.YYYY.-", "r", "ACC-PAY-.YYYY.-"],
      ["payment_type", "Select", "Receive\nPay\nInternal Transfer", "r", "Receive"],
      ["posting_date", "Date", null, "r"],
      ["company", "Link", "Company", "r"],
      ["mode_of_payment", "Link", "Mode of Payment"],
      ["party_type", "Link", "DocType"],
      ["party", "Dynamic Link", "party_type"],
      ["party_name", "Data"],
      ["book_advance_payments_in_separate_party_account", "Check", null, "o"],
      ["contact_person", "Link", "Contact"],
      ["contact_email", "Data", "Email", "o"],
      ["paid_from", "Link", "Account", "r"],
      ["paid_from_account_currency", "Link", "Currency", "ro"],
      ["paid_to", "Link", "Account", "r"],
      ["paid_to_account_currency", "Link", "Currency", "ro"],
      ["paid_amount", "Currency", "paid_from_account_currency", "r"],
      ["paid_amount_after_tax", "Currency", null, "o"],
      ["source_exchange_rate", "Float", null, "r"],
      ["base_paid_amount", "Currency", null, "o"],
      ["received_amount", "Currency", "paid_to_account_currency", "r"],
      ["received_amount_after_tax", "Currency", null, "o"],
      ["target_exchange_rate", "Float", null, "r"],
      ["base_received_amount", "Currency", null, "o"],
      ["references", "Table", "Payment Entry Reference"],
      ["total_allocated_amount", "Currency", null, "o"],
      ["base_total_allocated_amount", "Currency", null, "o"],
      ["unallocated_amount", "Currency", null, "o"],
      ["difference_amount", "Currency", null, "o"],
      ["reference_no", "Data"],
      ["reference_date", "Date"],
      ["clearance_date", "Date", null, "o"],
      ["project", "Link", "Project"],
      ["cost_center", "Link", "Cost Center"],
      ["status", "Select", "\nDraft\nSubmitted\nCancelled", "o", "Draft"],
      ["remarks", "Small Text"],
      ["title", "Data", null, "h"],
      ["amended_from", "Link", "Payment Entry", "o"],
    ],
  },

  // ---- integration ----
  { name: "Webhook Header", module: "Integrations", istable: true, fields: [["key", "Small Text", null, "l"], ["value", "Small Text", null, "l"]] },
  { name: "Webhook Data", module: "Integrations", istable: true, fields: [["fieldname", "Select", null, "rl"], ["key", "Data", null, "rl"]] },
  {
    name: "Webhook",
    module: "Integrations",
    autoname: "HOOK-.####",
    naming_rule: "Expression (old style)",
    fields: [
      ["webhook_doctype", "Link", "DocType", "r"],
      ["webhook_docevent", "Select", "after_insert\non_update\non_submit\non_cancel\non_trash\non_update_after_submit\non_change", "r"],
      ["enabled", "Check", null, "", 1],
      ["condition", "Small Text"],
      ["request_url", "Small Text", null, "r"],
      ["is_dynamic_url", "Check"],
      ["timeout", "Int", null, "", 5],
      ["background_jobs_queue", "Autocomplete"],
      ["request_method", "Select", "POST\nPUT\nDELETE", "r", "POST"],
      ["request_structure", "Select", "\nForm URL-Encoded\nJSON"],
      ["enable_security", "Check"],
      ["webhook_secret", "Password"],
      ["webhook_headers", "Table", "Webhook Header"],
      ["webhook_data", "Table", "Webhook Data"],
      ["webhook_json", "Code"],
    ],
  },
  {
    name: "Webhook Request Log",
    module: "Integrations",
    autoname: "hash",
    readOnlyApi: true,
    fields: [["webhook", "Link", "Webhook"], ["reference_doctype", "Data"], ["reference_document", "Data"], ["headers", "Code"], ["data", "Code"], ["user", "Link", "User"], ["url", "Text"], ["response", "Code"], ["error", "Text"]],
  },
  {
    name: "Custom Field",
    module: "Custom",
    autoname: "",
    fields: [
      ["is_system_generated", "Check", null, "o"],
      ["dt", "Link", "DocType", "r"],
      ["module", "Link", "Module Def"],
      ["label", "Data"],
      ["placeholder", "Data"],
      ["fieldname", "Data", null, "o"],
      ["insert_after", "Select"],
      ["length", "Int"],
      ["link_filters", "JSON"],
      ["fieldtype", "Select", "Autocomplete\nAttach\nAttach Image\nBarcode\nButton\nCheck\nCode\nColor\nColumn Break\nCurrency\nData\nDate\nDatetime\nDuration\nDynamic Link\nFloat\nFold\nGeolocation\nHeading\nHTML\nHTML Editor\nIcon\nImage\nInt\nJSON\nLink\nLong Text\nMarkdown Editor\nPassword\nPercent\nPhone\nRead Only\nRating\nSection Break\nSelect\nSignature\nSmall Text\nTab Break\nTable\nTable MultiSelect\nText\nText Editor\nTime", "r", "Data"],
      ["precision", "Select"],
      ["options", "Small Text"],
      ["fetch_from", "Small Text"],
      ["default", "Text"],
      ["reqd", "Check"],
      ["unique", "Check"],
      ["read_only", "Check"],
      ["hidden", "Check"],
      ["allow_on_submit", "Check"],
      ["in_list_view", "Check"],
      ["in_standard_filter", "Check"],
      ["no_copy", "Check"],
      ["description", "Text"],
    ],
  },
];

export function indexMeta(meta: DocTypeMeta): void {
  meta.fieldMap = new Map(meta.fields.map((f) => [f.fieldname, f]));
  meta.tableFields = meta.fields.filter((f) => TABLE_TYPES.has(f.fieldtype));
  meta.valueFields = meta.fields.filter((f) => !TABLE_TYPES.has(f.fieldtype) && !NO_VALUE_TYPES.has(f.fieldtype));
}

/** Fresh copies of all standard doctypes (mutable: upgrades and custom fields change them). */
export function buildMetas(modified: string): Map<string, DocTypeMeta> {
  const out = new Map<string, DocTypeMeta>();
  for (const s of SPECS) {
    const meta: DocTypeMeta = {
      name: s.name,
      module: s.module,
      istable: s.istable ? 1 : 0,
      issingle: 0,
      is_submittable: s.submittable ? 1 : 0,
      is_tree: s.tree ? 1 : 0,
      autoname: s.autoname ?? (s.istable ? "hash" : ""),
      naming_rule: s.naming_rule ?? (s.autoname?.startsWith("field:") ? "By fieldname" : ""),
      title_field: s.title_field ?? null,
      search_fields: s.search_fields ?? null,
      sort_field: s.sort_field ?? "modified",
      sort_order: s.sort_order ?? "DESC",
      track_changes: s.istable ? 0 : 1,
      allow_rename: s.allow_rename ? 1 : 0,
      nsm_parent_field: s.tree,
      readOnlyApi: s.readOnlyApi,
      fields: s.fields.map((f) => makeField(f)),
      modified,
      fieldMap: new Map(),
      tableFields: [],
      valueFields: [],
    };
    indexMeta(meta);
    out.set(meta.name, meta);
  }
  return out;
}

/** The meta document as `/api/v2/doctype/{dt}/meta` and `getdoctype` return it. */
export function metaAsDoc(meta: DocTypeMeta, opts: { includeCustom: boolean }): Record<string, unknown> {
  const fields = meta.fields
    .filter((f) => opts.includeCustom || !f.is_custom_field)
    .map((f, i) => ({
      doctype: f.is_custom_field ? "Custom Field" : "DocField",
      name: f.is_custom_field ? `${meta.name}-${f.fieldname}` : `${meta.name.toLowerCase().replace(/ /g, "_")}_${f.fieldname}`,
      parent: meta.name,
      parentfield: "fields",
      parenttype: "DocType",
      idx: i + 1,
      fieldname: f.fieldname,
      label: f.label,
      fieldtype: f.fieldtype,
      options: f.options,
      reqd: f.reqd,
      default: f.default,
      read_only: f.read_only,
      hidden: f.hidden,
      unique: f.unique,
      in_list_view: f.in_list_view,
      in_standard_filter: 0,
      permlevel: 0,
      allow_on_submit: f.allow_on_submit,
      set_only_once: 0,
      no_copy: 0,
      fetch_from: f.fetch_from,
      depends_on: null,
      mandatory_depends_on: null,
      read_only_depends_on: null,
      precision: "",
      length: 0,
      non_negative: f.non_negative,
      is_custom_field: f.is_custom_field,
      insert_after: f.insert_after ?? null,
    }));
  return {
    doctype: "DocType",
    name: meta.name,
    module: meta.module,
    istable: meta.istable,
    issingle: 0,
    is_submittable: meta.is_submittable,
    is_tree: meta.is_tree,
    nsm_parent_field: meta.nsm_parent_field ?? null,
    autoname: meta.autoname,
    naming_rule: meta.naming_rule,
    title_field: meta.title_field,
    search_fields: meta.search_fields,
    sort_field: meta.sort_field,
    sort_order: meta.sort_order,
    track_changes: meta.track_changes,
    allow_rename: meta.allow_rename,
    custom: 0,
    modified: meta.modified,
    fields,
    permissions: meta.istable
      ? []
      : [{ role: "System Manager", read: 1, write: meta.readOnlyApi ? 0 : 1, create: meta.readOnlyApi ? 0 : 1, delete: meta.readOnlyApi ? 0 : 1, submit: meta.is_submittable, cancel: meta.is_submittable, amend: meta.is_submittable }],
  };
}
