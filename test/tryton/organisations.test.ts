/** The Tryton party → OrganisationView mapping (pure; the real-server path is in golive.test.ts). */
import { describe, expect, it } from "vitest";
import { trytonPartyOrganisations } from "../../src/connectors/tryton/organisations.ts";

describe("trytonPartyOrganisations", () => {
  const parties = [
    { id: "7", name: "Acme GmbH", code: "7" },
    { id: "8", name: "  ", code: "8" },
    { id: "9", name: "Bare Ltd" },
  ];
  const addresses = [
    { id: 20, party: 7, street: "Side St 1", postal_code: "1", city: "Nowhere", invoice: false, sequence: 1, active: true },
    {
      id: 21,
      party: 7,
      street: "Main St 5\nBuilding B",
      postal_code: "10115",
      city: "Berlin",
      invoice: 1,
      sequence: 2,
      active: 1,
      "country.": { id: 3, name: "Germany" },
    },
    { id: 22, party: 7, street: "Old St", invoice: true, sequence: 0, active: false },
    { id: 30, party: 8, street: "Only St 3", city: "Oslo", invoice: false, sequence: null, active: true },
  ];
  const mechanisms = [
    { id: 1, party: 7, type: "mobile", value: "+49 170 1", sequence: 1, active: true },
    { id: 2, party: 7, type: "phone", value: "+49 30 2", sequence: 5, active: true },
    { id: 3, party: 7, type: "email", value: "old@acme.example", sequence: 1, active: false },
    { id: 4, party: 7, type: "email", value: "info@acme.example", sequence: 2, active: true },
    { id: 5, party: 7, type: "website", value: "https://acme.example", sequence: 1, active: true },
    { id: 6, party: 8, type: "mobile", value: "+47 9", sequence: 1, active: true },
  ];
  const identifiers = [
    { id: 40, party: 7, type: null, code: "internal-1", sequence: 1 },
    { id: 41, party: 7, type: "eu_vat", code: "DE136695976", sequence: 2 },
    { id: 50, party: 8, type: "no_vat", code: "NO123", sequence: 1 },
    { id: 60, party: 9, type: null, code: "free text", sequence: 1 },
  ];

  it("invoice address (active) first, country name, phone before mobile, active e-mail, tax identifier", () => {
    const [acme, eight, bare] = trytonPartyOrganisations(parties, {
      addresses,
      mechanisms,
      identifiers,
      taxIdentifier: new Map([[7, 41]]),
    });
    expect(acme).toEqual({
      id: "7",
      name: "Acme GmbH",
      street: "Main St 5, Building B",
      postalCode: "10115",
      city: "Berlin",
      country: "Germany",
      phone: "+49 30 2",
      email: "info@acme.example",
      website: "https://acme.example",
      taxId: "DE136695976",
    });
    // no invoice address: the first one; mobile when there is no phone; a VAT-type identifier without tax_identifier
    expect(eight).toEqual({ id: "8", name: "", street: "Only St 3", city: "Oslo", phone: "+47 9", taxId: "NO123" });
    // an untyped identifier is not taken for a tax id; nothing is guessed
    expect(bare).toEqual({ id: "9", name: "Bare Ltd" });
  });

  it("the shared id comes from the identity field, never from the primary key", () => {
    const rel = { addresses: [], mechanisms: [], identifiers: [] };
    expect(trytonPartyOrganisations([{ id: "7", name: "A", code: "C-1" }], rel, { sharedIdField: "code" })[0].sharedId).toBe("C-1");
    expect(trytonPartyOrganisations([{ id: "7", name: "A" }], rel, { sharedIdField: "id" })[0].sharedId).toBeUndefined();
  });
});
