import { describe, expect, it } from "vitest";
import {
  addressesByCustomer,
  erpCustomerOrganisation as fromErpCustomer,
  erpCustomerOrganisations as fromErpCustomers,
} from "../../src/connectors/erpnext/organisations.ts";
import { espoAccountOrganisation as fromEspoAccount } from "../../src/connectors/espocrm/organisations.ts";
import { matchAcross } from "../../src/quality/match.ts";

const account = {
  id: "699764630002d941b",
  name: "Verpackung Neumann KG",
  website: "https://www.verpackung-neumann.de",
  emailAddress: "office@verpackung-neumann.de",
  phoneNumber: "+49 89 1234567",
  billingAddressStreet: "Schulweg 103\nHinterhaus",
  billingAddressCity: "München",
  billingAddressPostalCode: "80479",
  billingAddressCountry: "Germany",
  shippingAddressStreet: "Lagerstraße 1",
  cErpCustomerId: "Verpackung Neumann KG",
  sicCode: "2099",
};
const customer = {
  name: "Verpackung Neumann KG",
  customer_name: "Verpackung Neumann KG",
  tax_id: "DE060547606",
  website: null,
  customer_primary_address: "Verpackung Neumann KG-Billing",
  email_id: null,
  mobile_no: null,
};
const addresses = [
  {
    name: "Verpackung Neumann KG-Shipping",
    address_type: "Shipping",
    address_line1: "Lagerstraße 1",
    city: "München",
    pincode: "80331",
    country: "Germany",
    links: [{ link_doctype: "Customer", link_name: "Verpackung Neumann KG" }],
  },
  {
    name: "Verpackung Neumann KG-Billing",
    address_type: "Billing",
    address_line1: "Schulweg 103",
    address_line2: null,
    city: "München",
    pincode: "D-80479",
    country: "Germany",
    phone: "089/1234567",
    email_id: "buchhaltung@verpackung-neumann.de",
    links: [{ link_doctype: "Customer", link_name: "Verpackung Neumann KG" }],
  },
  { name: "Other-Billing", address_line1: "x", links: [{ link_doctype: "Supplier", link_name: "Verpackung Neumann KG" }] },
];

describe("fromEspoAccount", () => {
  it("maps EspoCRM Account attributes, billing address first", () => {
    expect(fromEspoAccount(account)).toEqual({
      id: "699764630002d941b",
      name: "Verpackung Neumann KG",
      street: "Schulweg 103, Hinterhaus",
      city: "München",
      postalCode: "80479",
      country: "Germany",
      phone: "+49 89 1234567",
      email: "office@verpackung-neumann.de",
      website: "https://www.verpackung-neumann.de",
      sharedId: "Verpackung Neumann KG",
    });
  });
  it("falls back to the shipping address, ignores nulls and non-strings, takes configured fields", () => {
    const r = fromEspoAccount(
      {
        id: "a",
        name: "X",
        billingAddressStreet: null,
        shippingAddressStreet: "1 Dock Rd",
        shippingAddressCity: "Hull",
        phoneNumber: 42,
        vat: "GB1",
      },
      { taxIdField: "vat", sharedIdField: "none" },
    );
    expect(r).toEqual({ id: "a", name: "X", street: "1 Dock Rd", city: "Hull", phone: "42", taxId: "GB1" });
  });
});

describe("fromErpCustomer", () => {
  it("groups addresses by their Customer links only", () => {
    const by = addressesByCustomer(addresses);
    expect(by.get("Verpackung Neumann KG")?.map((a) => a.name)).toEqual([
      "Verpackung Neumann KG-Shipping",
      "Verpackung Neumann KG-Billing",
    ]);
  });
  it("uses the primary address and its phone / e-mail", () => {
    const [r] = fromErpCustomers([customer], addresses);
    expect(r).toEqual({
      id: "Verpackung Neumann KG",
      name: "Verpackung Neumann KG",
      street: "Schulweg 103",
      city: "München",
      postalCode: "D-80479",
      country: "Germany",
      phone: "089/1234567",
      email: "buchhaltung@verpackung-neumann.de",
      taxId: "DE060547606",
    });
  });
  it("works without addresses", () => {
    expect(fromErpCustomer({ name: "CUST-1", customer_name: "Acme" })).toEqual({ id: "CUST-1", name: "Acme" });
  });
  it("feeds the matcher: the stamped ERP id links the pair as a shared key", () => {
    const r = matchAcross([fromEspoAccount(account)], fromErpCustomers([customer], addresses));
    expect(r.links).toHaveLength(1);
    expect(r.links[0]?.step).toBe("shared-key");
  });
});
