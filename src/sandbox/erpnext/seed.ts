/**
 * Minimal master data a fresh ERPNext site has after its setup wizard (one company, its accounts,
 * warehouses, price lists, groups, territories, UOMs, countries, currencies), plus the API user and
 * the custom fields an administrator adds for Accord (`custom_accord_id`).
 */
import type { Doc } from "./db.ts";
import type { SiteSettings } from "./documents.ts";

export const DEFAULT_COMPANY = "Accord Demo GmbH";
export const DEFAULT_ABBR = "ADG";

export function defaultSettings(): SiteSettings {
  const abbr = DEFAULT_ABBR;
  return {
    company: DEFAULT_COMPANY,
    abbr,
    currency: "EUR",
    country: "Germany",
    sellingPriceList: "Standard Selling",
    defaultWarehouse: `Stores - ${abbr}`,
    receivableAccount: `Debtors - ${abbr}`,
    incomeAccount: `Sales - ${abbr}`,
    cashAccount: `Cash - ${abbr}`,
    costCenter: `Main - ${abbr}`,
  };
}

const COUNTRIES = [
  ["Germany", "de"],
  ["Austria", "at"],
  ["Switzerland", "ch"],
  ["France", "fr"],
  ["Italy", "it"],
  ["Spain", "es"],
  ["Portugal", "pt"],
  ["Netherlands", "nl"],
  ["Belgium", "be"],
  ["Luxembourg", "lu"],
  ["Denmark", "dk"],
  ["Sweden", "se"],
  ["Norway", "no"],
  ["Finland", "fi"],
  ["Poland", "pl"],
  ["Czech Republic", "cz"],
  ["Ireland", "ie"],
  ["United Kingdom", "gb"],
  ["United States", "us"],
  ["Canada", "ca"],
  ["Mexico", "mx"],
  ["Brazil", "br"],
  ["Argentina", "ar"],
  ["India", "in"],
  ["China", "cn"],
  ["Japan", "jp"],
  ["South Korea", "kr"],
  ["Singapore", "sg"],
  ["Australia", "au"],
  ["New Zealand", "nz"],
  ["South Africa", "za"],
  ["United Arab Emirates", "ae"],
  ["Turkey", "tr"],
  ["Greece", "gr"],
  ["Hungary", "hu"],
  ["Romania", "ro"],
] as const;

/** Master data as {doctype: docs} in insertion order (parents before children). */
export function masterData(s: SiteSettings, apiUser: string): Array<[string, Doc[]]> {
  const a = s.abbr;
  return [
    [
      "Currency",
      ["EUR", "USD", "GBP", "CHF", "INR", "JPY"].map((c) => ({
        name: c,
        currency_name: c,
        enabled: 1,
        fraction: "Cent",
        fraction_units: 100,
        smallest_currency_fraction_value: 0.01,
        symbol: { EUR: "€", USD: "$", GBP: "£", CHF: "CHF", INR: "₹", JPY: "¥" }[c],
      })),
    ],
    ["Country", COUNTRIES.map(([n, code]) => ({ name: n, country_name: n, code }))],
    [
      "UOM",
      ["Nos", "Unit", "Kg", "Gram", "Hour", "Day", "Box", "Meter", "Litre", "Set", "Pair"].map((u) => ({
        name: u,
        uom_name: u,
        enabled: 1,
        must_be_whole_number: ["Nos", "Unit", "Box", "Set", "Pair"].includes(u) ? 1 : 0,
      })),
    ],
    ["Salutation", ["Mr", "Ms", "Mrs", "Mx", "Dr", "Prof", "Madam", "Miss", "Master"].map((x) => ({ name: x, salutation: x }))],
    ["Gender", ["Male", "Female", "Non-Conforming", "Prefer not to say", "Other"].map((x) => ({ name: x, gender: x }))],
    [
      "User",
      [
        { name: "Administrator", email: "admin@example.com", first_name: "Administrator", full_name: "Administrator", enabled: 1 },
        {
          name: apiUser,
          email: apiUser,
          first_name: "Accord",
          last_name: "Integration",
          full_name: "Accord Integration",
          enabled: 1,
          api_key: "set",
        },
        {
          name: "jane.doe@example.com",
          email: "jane.doe@example.com",
          first_name: "Jane",
          last_name: "Doe",
          full_name: "Jane Doe",
          enabled: 1,
        },
      ],
    ],
    [
      "Company",
      [
        {
          name: s.company,
          company_name: s.company,
          abbr: a,
          default_currency: s.currency,
          country: s.country,
          default_receivable_account: `Debtors - ${a}`,
          default_income_account: `Sales - ${a}`,
          cost_center: `Main - ${a}`,
          default_cash_account: `Cash - ${a}`,
          round_off_account: `Round Off - ${a}`,
        },
      ],
    ],
    [
      "Account",
      [
        ["Debtors", "Receivable", "Asset"],
        ["Sales", "Income Account", "Income"],
        ["Cash", "Cash", "Asset"],
        ["Bank", "Bank", "Asset"],
        ["Round Off", "", "Expense"],
        ["VAT", "Tax", "Liability"],
        ["Stock In Hand", "Stock", "Asset"],
      ].map(([n, t, r]) => ({
        name: `${n} - ${a}`,
        account_name: n,
        company: s.company,
        account_type: t,
        root_type: r,
        account_currency: s.currency,
        is_group: 0,
      })),
    ],
    [
      "Cost Center",
      [
        { name: `${s.company} - ${a}`, cost_center_name: s.company, company: s.company, is_group: 1 },
        { name: `Main - ${a}`, cost_center_name: "Main", company: s.company, parent_cost_center: `${s.company} - ${a}`, is_group: 0 },
      ],
    ],
    [
      "Warehouse",
      [
        { name: `All Warehouses - ${a}`, warehouse_name: "All Warehouses", company: s.company, is_group: 1 },
        ...["Stores", "Finished Goods", "Work In Progress", "Goods In Transit"].map((w) => ({
          name: `${w} - ${a}`,
          warehouse_name: w,
          company: s.company,
          is_group: 0,
          parent_warehouse: `All Warehouses - ${a}`,
        })),
      ],
    ],
    [
      "Price List",
      [
        { name: "Standard Selling", price_list_name: "Standard Selling", currency: s.currency, selling: 1, buying: 0, enabled: 1 },
        { name: "Standard Buying", price_list_name: "Standard Buying", currency: s.currency, selling: 0, buying: 1, enabled: 1 },
      ],
    ],
    [
      "Customer Group",
      [
        { name: "All Customer Groups", customer_group_name: "All Customer Groups", is_group: 1 },
        ...["Commercial", "Government", "Individual", "Non Profit"].map((g) => ({
          name: g,
          customer_group_name: g,
          parent_customer_group: "All Customer Groups",
          is_group: 0,
        })),
      ],
    ],
    [
      "Territory",
      [
        { name: "All Territories", territory_name: "All Territories", is_group: 1 },
        { name: "Europe", territory_name: "Europe", parent_territory: "All Territories", is_group: 1 },
        ...["Germany", "Austria", "Switzerland", "France"].map((t) => ({
          name: t,
          territory_name: t,
          parent_territory: "Europe",
          is_group: 0,
        })),
        ...["United States", "Rest Of The World"].map((t) => ({
          name: t,
          territory_name: t,
          parent_territory: "All Territories",
          is_group: 0,
        })),
      ],
    ],
    [
      "Item Group",
      [
        { name: "All Item Groups", item_group_name: "All Item Groups", is_group: 1 },
        ...["Products", "Services", "Raw Material", "Sub Assemblies", "Consumable"].map((g) => ({
          name: g,
          item_group_name: g,
          parent_item_group: "All Item Groups",
          is_group: 0,
        })),
      ],
    ],
    [
      "Mode of Payment",
      ["Cash", "Bank Draft", "Wire Transfer", "Credit Card", "Cheque"].map((m) => ({
        name: m,
        mode_of_payment: m,
        enabled: 1,
        type: m === "Cash" ? "Cash" : "Bank",
      })),
    ],
    ["Payment Terms Template", ["Net 14", "Net 30", "Net 60"].map((t) => ({ name: t, template_name: t }))],
    [
      "Custom Field",
      ["Customer", "Contact", "Address", "Item", "Sales Order", "Sales Invoice"].map((dt) => ({
        name: `${dt}-custom_accord_id`,
        dt,
        fieldname: "custom_accord_id",
        label: "Accord ID",
        fieldtype: "Data",
        unique: 0,
        allow_on_submit: 1,
        read_only: 0,
        insert_after: null,
        is_system_generated: 0,
        module: null,
      })),
    ],
  ];
}
