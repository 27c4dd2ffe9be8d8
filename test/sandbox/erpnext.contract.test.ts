/**
 * Contract tests of the emulated ERPNext over real HTTP: what a connector relies on (reference
 * /work/shared/reference/erpnext-api.md). Each test states the behaviour of Frappe v15 it pins.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ErpNextSandbox, startErpNextSandbox } from "../../src/sandbox/erpnext/index.ts";

let sb: ErpNextSandbox;
let AUTH: Record<string, string>;

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Reply> {
  const r = await fetch(sb.url + path, {
    method,
    headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* non-JSON (faults) */
  }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

const q = (o: Record<string, unknown>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v))}`)
    .join("&");

async function list(doctype: string, params: Record<string, unknown> = {}): Promise<Array<Record<string, unknown>>> {
  const r = await api("GET", `/api/resource/${encodeURIComponent(doctype)}?${q(params)}`);
  expect(r.status, r.text).toBe(200);
  return r.body.data as Array<Record<string, unknown>>;
}

async function create(doctype: string, doc: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await api("POST", `/api/resource/${encodeURIComponent(doctype)}`, doc);
  expect(r.status, r.text).toBe(200);
  return r.body.data as Record<string, unknown>;
}

function serverMessages(body: Record<string, unknown>): Array<Record<string, unknown>> {
  expect(typeof body._server_messages).toBe("string");
  const outer = JSON.parse(body._server_messages as string) as string[];
  return outer.map((s) => JSON.parse(s) as Record<string, unknown>);
}

const path = (dt: string, name: string) => `/api/resource/${encodeURIComponent(dt)}/${encodeURIComponent(name)}`;

beforeAll(async () => {
  sb = await startErpNextSandbox({ apiKey: "testkey", apiSecret: "testsecret", webhookRetryDelaysMs: [20, 20] });
  AUTH = { Authorization: `token ${sb.apiKey}:${sb.apiSecret}` };
});
afterAll(async () => {
  await sb.close();
});
beforeEach(async () => {
  const r = await api("POST", "/__sandbox/reset", {});
  expect(r.status).toBe(200);
});

describe("authentication", () => {
  it("missing auth runs as Guest → 403 PermissionError on resources", async () => {
    const r = await api("GET", "/api/resource/Customer", undefined, {});
    expect(r.status).toBe(403);
    expect(r.body.exc_type).toBe("PermissionError");
    expect(r.body.exception).toBeUndefined(); // no tracebacks for Guest
    expect(serverMessages(r.body)[0].message).toContain("Guest");
    const who = await api("GET", "/api/method/frappe.auth.get_logged_user", undefined, {});
    expect(who.body).toEqual({ message: "Guest" });
  });

  it("wrong key or secret → 401 with exactly {exc_type: AuthenticationError}", async () => {
    for (const h of [`token ${sb.apiKey}:wrong`, "token nokey:nosecret", `Basic ${Buffer.from("x:y").toString("base64")}`]) {
      const r = await api("GET", "/api/resource/Customer", undefined, { Authorization: h });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ exc_type: "AuthenticationError" });
    }
  });

  it("token and Basic with the right pair authenticate as the API user", async () => {
    const a = await api("GET", "/api/method/frappe.auth.get_logged_user");
    expect(a.body).toEqual({ message: sb.user });
    const basic = `Basic ${Buffer.from(`${sb.apiKey}:${sb.apiSecret}`).toString("base64")}`;
    const b = await api("GET", "/api/method/frappe.auth.get_logged_user", undefined, { Authorization: basic });
    expect(b.body).toEqual({ message: sb.user });
    const tokenUpper = await api("GET", "/api/method/frappe.auth.get_logged_user", undefined, {
      Authorization: `Token ${sb.apiKey}:${sb.apiSecret}`,
    });
    expect(tokenUpper.status).toBe(200);
  });

  it("Basic that is not base64 → 400; login with usr/pwd gives a session cookie", async () => {
    const bad = await api("GET", "/api/resource/Customer", undefined, { Authorization: "Basic %%%" });
    expect(bad.status).toBe(400);
    const fail = await api("POST", "/api/method/login", { usr: sb.user, pwd: "nope" }, {});
    expect(fail.status).toBe(401);
    expect(fail.body).toEqual({ message: "Invalid login credentials", exc_type: "AuthenticationError" });
    const ok = await api("POST", "/api/method/login", { usr: sb.user, pwd: sb.password }, {});
    expect(ok.status).toBe(200);
    expect(ok.body.message).toBe("Logged In");
    const sid = /sid=([^;]+)/.exec(ok.headers.get("set-cookie") ?? "")?.[1];
    const who = await api("GET", "/api/method/frappe.auth.get_logged_user", undefined, { Cookie: `sid=${sid}` });
    expect(who.body).toEqual({ message: sb.user });
  });
});

describe("lists", () => {
  beforeEach(async () => {
    const customers = Array.from({ length: 45 }, (_, i) => ({
      name: `Cust ${String(i).padStart(2, "0")}`,
      customer_name: `Cust ${String(i).padStart(2, "0")}`,
      customer_group: i % 3 === 0 ? "Government" : "Commercial",
      territory: i % 2 ? "Germany" : "France",
      tax_id: i % 5 === 0 ? null : `DE${1000 + i}`,
      modified: `2024-01-${String((i % 28) + 1).padStart(2, "0")} 10:00:00.000000`,
      creation: "2024-01-01 09:00:00.000000",
    }));
    await api("POST", "/__sandbox/seed", { Customer: customers });
  });

  it("default page is 20 rows with only `name`; limit_page_length=0 returns all; limit alias", async () => {
    const page = await list("Customer");
    expect(page).toHaveLength(20);
    expect(Object.keys(page[0])).toEqual(["name"]);
    expect(await list("Customer", { limit_page_length: 0 })).toHaveLength(45);
    expect(await list("Customer", { limit: 7 })).toHaveLength(7);
    const p1 = await list("Customer", { order_by: "name asc", limit_start: 40, limit_page_length: 20 });
    expect(p1.map((r) => r.name)).toEqual(["Cust 40", "Cust 41", "Cust 42", "Cust 43", "Cust 44"]);
  });

  it("list rows include nulls, single GET omits them; default order is modified desc", async () => {
    const rows = await list("Customer", { fields: ["name", "tax_id", "modified"], filters: [["name", "=", "Cust 00"]] });
    expect(rows[0]).toEqual({ name: "Cust 00", tax_id: null, modified: "2024-01-01 10:00:00" });
    const one = await api("GET", path("Customer", "Cust 00"));
    expect(one.body.data).not.toHaveProperty("tax_id");
    expect((one.body.data as Record<string, unknown>).doctype).toBe("Customer");
    const ordered = await list("Customer", { fields: ["name", "modified"], limit_page_length: 0 });
    const mods = ordered.map((r) => String(r.modified));
    expect([...mods].sort().reverse()).toEqual(mods);
  });

  it("every comparison operator, with IFNULL semantics for != and not in", async () => {
    const names = async (filters: unknown, extra: Record<string, unknown> = {}) =>
      (await list("Customer", { filters, limit_page_length: 0, order_by: "name asc", ...extra })).map((r) => r.name);
    expect(await names({ customer_name: "cust 07" })).toEqual(["Cust 07"]); // MariaDB collation: case-insensitive
    expect(await names([["tax_id", "is", "not set"]])).toHaveLength(9);
    expect(await names([["tax_id", "is", "set"]])).toHaveLength(36);
    expect(await names([["tax_id", "!=", "DE1001"]])).toHaveLength(44); // nulls included
    expect(await names([["tax_id", "not in", ["DE1001", "DE1002"]]])).toHaveLength(43);
    expect(await names([["tax_id", "in", "DE1001, DE1002"]])).toEqual(["Cust 01", "Cust 02"]);
    expect(await names([["name", "like", "%4_"]])).toEqual(["Cust 40", "Cust 41", "Cust 42", "Cust 43", "Cust 44"]);
    expect(await names([["name", "not like", "Cust 1%"]])).toHaveLength(35);
    expect(await names({ modified: [">", "2024-01-27 10:00:00"] })).toEqual(["Cust 27"]);
    expect(await names([["Customer", "modified", ">=", "2024-01-28 10:00:00.000000"]])).toEqual(["Cust 27"]);
    expect(await names([["Customer", "modified", ">", "2024-01-28 10:00:00.000000"]])).toEqual([]);
    expect(await names([["modified", "<", "2024-01-02"]])).toEqual(["Cust 00", "Cust 28"]);
    expect(await names([["modified", "<=", "2024-01-02 10:00:00"]])).toEqual(["Cust 00", "Cust 01", "Cust 28", "Cust 29"]);
    // between on a Datetime covers the whole end day
    expect(await names([["modified", "between", ["2024-01-27", "2024-01-28"]]])).toEqual(["Cust 26", "Cust 27"]);
    expect(await names([["customer_group", "descendants of (inclusive)", "All Customer Groups"]])).toHaveLength(45);
    expect(await names([["customer_group", "descendants of", "Government"]])).toEqual([]);
    expect(await names([["territory", "descendants of", "Europe"]])).toHaveLength(45);
    expect(
      await names([["customer_group", "=", "Government"]], {
        or_filters: [
          ["territory", "=", "Germany"],
          ["name", "=", "Cust 00"],
        ],
      }),
    ).toEqual(["Cust 00", "Cust 03", "Cust 09", "Cust 15", "Cust 21", "Cust 27", "Cust 33", "Cust 39"]);
  });

  it("invalid operator → 417; unknown column → 500 OperationalError; order_by cannot inject", async () => {
    const bad = await api("GET", `/api/resource/Customer?${q({ filters: [["name", "regexp", "x"]] })}`);
    expect(bad.status).toBe(417);
    expect(bad.body.exc_type).toBe("ValidationError");
    expect(serverMessages(bad.body)[0].message).toMatch(/^Operator must be one of =, !=/);
    const unk = await api("GET", `/api/resource/Customer?${q({ filters: [["nope", "=", "x"]] })}`);
    expect(unk.status).toBe(500);
    expect(unk.body.exc_type).toBe("OperationalError");
    const inj = await api("GET", `/api/resource/Customer?${q({ order_by: "name; drop table tabCustomer" })}`);
    expect(inj.status).toBe(417);
    expect(inj.body.exc_type).toBe("DataError");
    const sub = await api("GET", `/api/resource/Customer?${q({ order_by: "(select 1) desc" })}`);
    expect(sub.status).toBe(417);
    const ok = await list("Customer", { fields: ["name"], order_by: "customer_group asc, `tabCustomer`.name desc", limit_page_length: 2 });
    expect(ok.map((r) => r.name)).toEqual(["Cust 44", "Cust 43"]);
    const fn = await api("GET", `/api/resource/Customer?${q({ fields: ["sleep(5)"] })}`);
    expect(fn.status).toBe(417);
  });

  it("frappe.client.get_count counts with filters", async () => {
    const r = await api(
      "GET",
      `/api/method/frappe.client.get_count?${q({ doctype: "Customer", filters: { customer_group: "Government" } })}`,
    );
    expect(r.body).toEqual({ message: 15 });
  });

  it("child-table filters (Dynamic Link) find a customer's contacts", async () => {
    await create("Contact", { first_name: "Ann", links: [{ link_doctype: "Customer", link_name: "Cust 01" }] });
    await create("Contact", { first_name: "Bob", links: [{ link_doctype: "Customer", link_name: "Cust 02" }] });
    const rows = await list("Contact", {
      filters: [
        ["Dynamic Link", "link_doctype", "=", "Customer"],
        ["Dynamic Link", "link_name", "=", "Cust 01"],
      ],
    });
    expect(rows.map((r) => r.name)).toEqual(["Ann-Cust 01"]);
    // a field not on the parent is searched in child tables automatically
    const auto = await list("Contact", { filters: { link_name: "Cust 02" } });
    expect(auto.map((r) => r.name)).toEqual(["Bob-Cust 02"]);
    const joined = await list("Contact", {
      fields: ["name", "`tabDynamic Link`.link_name"],
      filters: [["Dynamic Link", "link_name", "=", "Cust 02"]],
    });
    expect(joined).toEqual([{ name: "Bob-Cust 02", link_name: "Cust 02" }]);
  });
});

describe("errors", () => {
  it("not found → 404 DoesNotExistError with the message", async () => {
    const r = await api("GET", path("Customer", "Nobody"));
    expect(r.status).toBe(404);
    expect(r.body.exc_type).toBe("DoesNotExistError");
    expect(serverMessages(r.body)[0].message).toBe("Customer Nobody not found");
  });

  it("mandatory → 417 MandatoryError; bad link → 417 LinkValidationError; bad select → 417", async () => {
    const m = await api("POST", "/api/resource/Customer", { customer_group: "Commercial" });
    expect(m.status).toBe(417);
    expect(m.body.exc_type).toBe("MandatoryError");
    expect(m.body.exception).toBe("frappe.exceptions.MandatoryError: [Customer, None]: customer_name");
    expect(serverMessages(m.body)[0].message).toBe("Error: Value missing for Customer: Customer Name");
    const l = await api("POST", "/api/resource/Customer", { customer_name: "X", customer_group: "Nope" });
    expect(l.status).toBe(417);
    expect(l.body.exc_type).toBe("LinkValidationError");
    expect(serverMessages(l.body)[0].message).toBe("Could not find Customer Group: Nope");
    const s = await api("POST", "/api/resource/Customer", { customer_name: "X", customer_type: "Alien" });
    expect(s.status).toBe(417);
    expect(s.body.exc_type).toBe("ValidationError");
    // a failed request writes nothing
    expect(await list("Customer")).toEqual([]);
  });

  it("duplicate primary key → 409 DuplicateEntryError; read-only doctype → 403", async () => {
    await create("Item", { item_code: "W-1", item_group: "Products", stock_uom: "Nos" });
    const d = await api("POST", "/api/resource/Item", { item_code: "W-1", item_group: "Products", stock_uom: "Nos" });
    expect(d.status).toBe(409);
    expect(d.body.exc_type).toBe("DuplicateEntryError");
    expect(serverMessages(d.body)[0]).toMatchObject({ message: "Item <strong>W-1</strong> already exists", title: "Duplicate Name" });
    const p = await api("POST", "/api/resource/Bin", { item_code: "W-1", warehouse: "Stores - ADG" });
    expect(p.status).toBe(403);
    expect(p.body.exc_type).toBe("PermissionError");
  });

  it("unknown keys are ignored and a client `name` is discarded", async () => {
    const c = await create("Customer", { name: "CHOSEN", customer_name: "Real Name", no_such_field: 1 });
    expect(c.name).toBe("Real Name");
    expect(c).not.toHaveProperty("no_such_field");
  });
});

describe("timestamps", () => {
  it("site-local naive YYYY-MM-DD HH:MM:SS.ffffff in the site time zone", async () => {
    const before = Date.now();
    const c = await create("Customer", { customer_name: "Tz" });
    expect(c.modified).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    const fmt = new Intl.DateTimeFormat("sv-SE", {
      timeZone: sb.timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    const expectedLocal = fmt.format(new Date(before)).replace("T", " ");
    expect(String(c.modified).slice(0, 16)).toBe(expectedLocal.slice(0, 16));
    const utc = new Date(before).toISOString().replace("T", " ").slice(0, 16);
    expect(String(c.modified).slice(0, 16)).not.toBe(utc); // Europe/Berlin is never UTC
  });

  it("fraction dropped on read when microseconds are 0 (Python str)", async () => {
    await api("POST", "/__sandbox/seed", {
      Customer: [{ customer_name: "Old", modified: "2024-01-15 10:30:45.000000", creation: "2024-01-15 10:30:45.123000" }],
    });
    const r = await api("GET", path("Customer", "Old"));
    const d = r.body.data as Record<string, unknown>;
    expect(d.modified).toBe("2024-01-15 10:30:45");
    expect(d.creation).toBe("2024-01-15 10:30:45.123000");
  });
});

describe("writes", () => {
  it("duplicate customer_name is silently renamed ' - 1', ' - 2' with an alert", async () => {
    const a = await create("Customer", { customer_name: "ACME" });
    const b = await api("POST", "/api/resource/Customer", { customer_name: "ACME" });
    const c = await create("Customer", { customer_name: "ACME" });
    expect(a.name).toBe("ACME");
    expect(b.status).toBe(200);
    expect((b.body.data as Record<string, unknown>).name).toBe("ACME - 1");
    expect(serverMessages(b.body)[0].message).toContain("ACME - 1");
    expect(c.name).toBe("ACME - 2");
  });

  it("PUT is partial at the top level and replaces child tables; contact flat fields derive from them", async () => {
    const c = await create("Contact", {
      first_name: "Eve",
      email_ids: [{ email_id: "eve@a.test", is_primary: 1 }, { email_id: "eve@b.test" }],
      phone_nos: [{ phone: "+49 1", is_primary_mobile_no: 1 }],
    });
    expect(c.email_id).toBe("eve@a.test");
    expect(c.mobile_no).toBe("+49 1");
    const rows = c.email_ids as Array<Record<string, unknown>>;
    expect(rows[0]).toMatchObject({ parent: c.name, parentfield: "email_ids", parenttype: "Contact", idx: 1, doctype: "Contact Email" });
    const u = await api("PUT", path("Contact", String(c.name)), {
      email_ids: [{ name: rows[1].name, email_id: "eve@b.test", is_primary: 1 }],
    });
    expect(u.status, u.text).toBe(200);
    const d = u.body.data as Record<string, unknown>;
    expect((d.email_ids as unknown[]).length).toBe(1);
    expect((d.email_ids as Array<Record<string, unknown>>)[0].name).toBe(rows[1].name);
    expect(d.email_id).toBe("eve@b.test");
    expect(d.first_name).toBe("Eve"); // untouched
    expect((d.phone_nos as unknown[]).length).toBe(1); // table key absent → untouched
    const two = await api("PUT", path("Contact", String(c.name)), {
      email_ids: [
        { email_id: "x@x", is_primary: 1 },
        { email_id: "y@y", is_primary: 1 },
      ],
    });
    expect(two.status).toBe(417);
    const invalid = await api("PUT", path("Contact", String(c.name)), { email_ids: [{ email_id: "not-an-email", is_primary: 1 }] });
    expect(invalid.status).toBe(417);
    expect(invalid.body.exc_type).toBe("InvalidEmailAddressError");
    expect(serverMessages(invalid.body)[0].message).toBe("not-an-email is not a valid Email Address");
    const flat = await api("PUT", path("Contact", String(c.name)), { email_ids: [], email_id: "flat@x.test" });
    expect((flat.body.data as Record<string, unknown>).email_id).toBe(""); // blanked: no rows
  });

  it("optimistic concurrency: a stale `modified` → TimestampMismatchError; omitted → last write wins", async () => {
    const c = await create("Customer", { customer_name: "Occ" });
    const r1 = await api("PUT", path("Customer", "Occ"), { tax_id: "A", modified: c.modified });
    expect(r1.status).toBe(200);
    const stale = await api("PUT", path("Customer", "Occ"), { tax_id: "B", modified: c.modified });
    expect(stale.status).toBe(417);
    expect(stale.body.exc_type).toBe("TimestampMismatchError");
    expect(serverMessages(stale.body)[0].message).toMatch(
      /^Error: Document has been modified after you have opened it \(.+, .+\)\. Please refresh to get the latest document\.$/,
    );
    const lww = await api("PUT", path("Customer", "Occ"), { tax_id: "C" });
    expect(lww.status).toBe(200);
    expect((lww.body.data as Record<string, unknown>).modified_by).toBe(sb.user);
  });

  it("DELETE answers 202 {data: ok}; then 404", async () => {
    await create("Customer", { customer_name: "Gone" });
    const d = await api("DELETE", path("Customer", "Gone"));
    expect(d.status).toBe(202);
    expect(d.body).toEqual({ data: "ok" });
    expect((await api("GET", path("Customer", "Gone"))).status).toBe(404);
  });

  it("rename with merge moves references and removes the old record", async () => {
    await create("Customer", { customer_name: "Dup A" });
    await create("Customer", { customer_name: "Dup B" });
    const contact = await create("Contact", { first_name: "Lin", links: [{ link_doctype: "Customer", link_name: "Dup A" }] });
    const r = await api("POST", "/api/method/frappe.client.rename_doc", {
      doctype: "Customer",
      old_name: "Dup A",
      new_name: "Dup B",
      merge: 1,
    });
    expect(r.body).toEqual({ message: "Dup B" });
    expect((await api("GET", path("Customer", "Dup A"))).status).toBe(404);
    const c = (await api("GET", path("Contact", String(contact.name)))).body.data as Record<string, unknown>;
    expect((c.links as Array<Record<string, unknown>>)[0].link_name).toBe("Dup B");
    expect(c.modified).toBe(contact.modified); // SQL update: linked docs keep their modified
    const noTarget = await api("POST", "/api/method/frappe.client.rename_doc", {
      doctype: "Customer",
      old_name: "Dup B",
      new_name: "Nope",
      merge: 1,
    });
    expect(noTarget.status).toBe(417);
  });
});

describe("selling flow", () => {
  async function setupItem(qty = 10) {
    await create("Item", { item_code: "WID", item_group: "Products", stock_uom: "Nos", standard_rate: 25 });
    await create("Customer", { customer_name: "Buyer" });
    if (qty) await api("POST", "/__sandbox/events", { kind: "stock-moved", item: "WID", warehouse: "Stores - ADG", qty });
  }
  async function bin() {
    const rows = await list("Bin", { fields: ["*"], filters: { item_code: "WID", warehouse: "Stores - ADG" } });
    return rows[0];
  }

  it("Sales Order: totals, submit → To Deliver and Bill + reserved_qty, edits refused, cancel → 2", async () => {
    await setupItem();
    const so = await create("Sales Order", { customer: "Buyer", delivery_date: "2099-01-01", items: [{ item_code: "WID", qty: 4 }] });
    expect(so.name).toMatch(/^SAL-ORD-\d{4}-00001$/);
    expect(so).toMatchObject({
      status: "Draft",
      docstatus: 0,
      grand_total: 100,
      total_qty: 4,
      currency: "EUR",
      selling_price_list: "Standard Selling",
    });
    const sub = await api("POST", path("Sales Order", String(so.name)), { run_method: "submit" });
    expect(sub.status, sub.text).toBe(200);
    expect(sub.body.data).toMatchObject({ docstatus: 1, status: "To Deliver and Bill" });
    expect(await bin()).toMatchObject({ actual_qty: 10, reserved_qty: 4, projected_qty: 6 });
    const edit = await api("PUT", path("Sales Order", String(so.name)), { customer: "Buyer", items: [{ item_code: "WID", qty: 9 }] });
    expect(edit.status).toBe(417);
    expect(edit.body.exc_type).toBe("UpdateAfterSubmitError");
    const allowed = await api("PUT", path("Sales Order", String(so.name)), { po_no: "PO-7" });
    expect(allowed.status, allowed.text).toBe(200);
    const del = await api("DELETE", path("Sales Order", String(so.name)));
    expect(del.status).toBe(417);
    const back = await api("PUT", path("Sales Order", String(so.name)), { docstatus: 0 });
    expect(back.body.exc_type).toBe("DocstatusTransitionError");
    const cancel = await api("POST", "/api/method/frappe.client.cancel", { doctype: "Sales Order", name: so.name });
    expect(cancel.status, cancel.text).toBe(200);
    const after = (await api("GET", path("Sales Order", String(so.name)))).body.data as Record<string, unknown>;
    expect(after).toMatchObject({ docstatus: 2, status: "Cancelled" });
    expect(await bin()).toMatchObject({ reserved_qty: 0, projected_qty: 10 });
    const editCancelled = await api("PUT", path("Sales Order", String(so.name)), { po_no: "x" });
    expect(editCancelled.status).toBe(417);
  });

  it("seeded documents named from a series stand for the site's own: new documents continue after them", async () => {
    await setupItem(0);
    const first = await create("Sales Order", { customer: "Buyer", delivery_date: "2099-01-01", items: [{ item_code: "WID", qty: 1 }] });
    const prefix = String(first.name).replace(/\d+$/, "");
    const s = await api("POST", "/__sandbox/seed", {
      "Sales Order": [{ name: `${prefix}00041`, customer: "Buyer", delivery_date: "2099-01-01", items: [{ item_code: "WID", qty: 2 }] }],
    });
    expect(s.status, s.text).toBe(200);
    const next = await create("Sales Order", { customer: "Buyer", delivery_date: "2099-01-01", items: [{ item_code: "WID", qty: 3 }] });
    expect(next.name).toBe(`${prefix}00042`);
  });

  it("invoice submit sets outstanding; payments make it Partly Paid then Paid; SO gets billed", async () => {
    await setupItem();
    const so = await create("Sales Order", {
      customer: "Buyer",
      delivery_date: "2099-01-01",
      items: [{ item_code: "WID", qty: 2, rate: 30 }],
    });
    await api("POST", path("Sales Order", String(so.name)), { run_method: "submit" });
    const draft = await api(
      "GET",
      `/api/method/erpnext.selling.doctype.sales_order.sales_order.make_sales_invoice?source_name=${encodeURIComponent(String(so.name))}`,
    );
    const inv = await create("Sales Invoice", draft.body.message as Record<string, unknown>);
    expect(inv.name).toMatch(/^ACC-SINV-\d{4}-00001$/);
    const sub = await api("POST", path("Sales Invoice", String(inv.name)), { run_method: "submit" });
    expect(sub.body.data).toMatchObject({ docstatus: 1, grand_total: 60, outstanding_amount: 60, status: "Unpaid" });
    const soAfter = (await api("GET", path("Sales Order", String(so.name)))).body.data as Record<string, unknown>;
    expect(soAfter).toMatchObject({ per_billed: 100, billing_status: "Fully Billed", status: "To Deliver" });
    const delivered = await api("POST", "/__sandbox/events", { kind: "order-delivered", order: so.name });
    expect(delivered.status, delivered.text).toBe(200);
    expect(delivered.body.sales_order).toMatchObject({ per_delivered: 100, delivery_status: "Fully Delivered", status: "Completed" });
    expect(await bin()).toMatchObject({ actual_qty: 8, reserved_qty: 0, projected_qty: 8 });

    const pe = await create("Payment Entry", {
      payment_type: "Receive",
      party_type: "Customer",
      party: "Buyer",
      paid_amount: 20,
      references: [{ reference_doctype: "Sales Invoice", reference_name: inv.name, allocated_amount: 20 }],
    });
    expect(pe.name).toMatch(/^ACC-PAY-\d{4}-00001$/);
    await api("POST", path("Payment Entry", String(pe.name)), { run_method: "submit" });
    let i = (await api("GET", path("Sales Invoice", String(inv.name)))).body.data as Record<string, unknown>;
    expect(i).toMatchObject({ outstanding_amount: 40, status: "Partly Paid" });
    const too = await api("POST", "/api/resource/Payment Entry", {
      party_type: "Customer",
      party: "Buyer",
      paid_amount: 100,
      references: [{ reference_doctype: "Sales Invoice", reference_name: inv.name, allocated_amount: 100 }],
    });
    expect(too.status).toBe(417);
    const ev = await api("POST", "/__sandbox/events", { kind: "invoice-paid", invoice: inv.name });
    expect(ev.status, ev.text).toBe(200);
    i = (await api("GET", path("Sales Invoice", String(inv.name)))).body.data as Record<string, unknown>;
    expect(i).toMatchObject({ outstanding_amount: 0, status: "Paid", modified_by: "jane.doe@example.com" });
    // cancelling the invoice is refused while submitted payments link to it
    const c = await api("POST", "/api/method/frappe.client.cancel", { doctype: "Sales Invoice", name: inv.name });
    expect(c.status).toBe(417);
    expect(c.body.exc_type).toBe("LinkExistsError");
  });

  it("stock movement via Stock Entry changes Bin actual_qty and projected_qty; negative stock refused", async () => {
    await setupItem(0);
    const se = await create("Stock Entry", {
      stock_entry_type: "Material Receipt",
      items: [{ item_code: "WID", qty: 5, t_warehouse: "Stores - ADG" }],
    });
    expect(await list("Bin", { filters: { item_code: "WID" } })).toEqual([]);
    await api("POST", path("Stock Entry", String(se.name)), { run_method: "submit" });
    expect(await bin()).toMatchObject({ actual_qty: 5, projected_qty: 5 });
    const issue = await api("POST", "/__sandbox/events", { kind: "stock-moved", item: "WID", warehouse: "Stores - ADG", qty: -7 });
    expect(issue.status).toBe(417);
    expect(issue.body.exc_type).toBe("NegativeStockError");
    await api("POST", "/__sandbox/events", { kind: "stock-moved", item: "WID", warehouse: "Stores - ADG", qty: -2 });
    expect(await bin()).toMatchObject({ actual_qty: 3, projected_qty: 3 });
    const b = await bin();
    expect(String(b.name)).toMatch(/^[0-9a-f]{10}$/);
  });

  it("price change updates the Item Price used by new orders", async () => {
    await setupItem();
    const r = await api("POST", "/__sandbox/events", { kind: "price-changed", item: "WID", price_list: "Standard Selling", rate: 27.5 });
    expect(r.status, r.text).toBe(200);
    const prices = await list("Item Price", {
      fields: ["item_code", "price_list", "price_list_rate", "currency"],
      filters: { item_code: "WID" },
    });
    expect(prices).toEqual([{ item_code: "WID", price_list: "Standard Selling", price_list_rate: 27.5, currency: "EUR" }]);
    const so = await create("Sales Order", { customer: "Buyer", delivery_date: "2099-01-01", items: [{ item_code: "WID", qty: 2 }] });
    expect((so.items as Array<Record<string, unknown>>)[0]).toMatchObject({ rate: 27.5, amount: 55 });
  });
});

describe("webhooks", () => {
  let receiver: Server;
  let received: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
  let failFirst = 0;
  let hookUrl = "";

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(500).end("boom");
        } else res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
  });
  beforeEach(() => {
    received = [];
    failFirst = 0;
  });

  it("signs the Python-style JSON body with base64 HMAC-SHA256 and sends no Content-Type", async () => {
    const hook = await create("Webhook", {
      webhook_doctype: "Customer",
      webhook_docevent: "on_update",
      request_url: hookUrl,
      request_structure: "Form URL-Encoded",
      enable_security: 1,
      webhook_secret: "s3cret",
      webhook_data: [
        { fieldname: "name", key: "name" },
        { fieldname: "modified", key: "modified" },
        { fieldname: "customer_name", key: "customer_name" },
      ],
    });
    expect(hook.name).toBe("HOOK-0001");
    expect(hook.webhook_secret).toBe("******"); // Password fields read back masked
    await create("Customer", { customer_name: "Müller AG" });
    await api("POST", "/__sandbox/webhooks/flush", {});
    expect(received).toHaveLength(1); // after_insert + on_update in one request: sent once
    const { headers, body } = received[0];
    const expected = createHmac("sha256", "s3cret").update(body).digest("base64");
    expect(headers["x-frappe-webhook-signature"]).toBe(expected);
    expect(headers["content-type"]).toBeUndefined();
    expect(body).toMatch(
      /^\{"name": "M\\u00fcller AG", "modified": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", "customer_name": "M\\u00fcller AG"\}$/,
    );
    expect(JSON.parse(body).name).toBe("Müller AG");
  });

  it("JSON request structure renders the template; failures are retried up to 3 attempts", async () => {
    await create("Webhook", {
      webhook_doctype: "Sales Invoice",
      webhook_docevent: "on_change",
      request_url: hookUrl,
      request_structure: "JSON",
      webhook_json: '{"invoice": "{{ doc.name }}", "status": "{{ doc.status }}", "outstanding": {{ doc.outstanding_amount }}}',
    });
    await create("Item", { item_code: "WID", item_group: "Products", stock_uom: "Nos", is_stock_item: 0 });
    await create("Customer", { customer_name: "Hooked" });
    const inv = await create("Sales Invoice", { customer: "Hooked", items: [{ item_code: "WID", qty: 1, rate: 10 }] });
    await api("POST", path("Sales Invoice", String(inv.name)), { run_method: "submit" });
    await api("POST", "/__sandbox/webhooks/flush", {});
    failFirst = 2;
    await api("POST", "/__sandbox/events", { kind: "invoice-paid", invoice: inv.name });
    const flushed = await api("POST", "/__sandbox/webhooks/flush", {});
    const deliveries = flushed.body.deliveries as Array<Record<string, unknown>>;
    expect(deliveries.map((d) => [d.event, d.attempts, d.ok])).toEqual([
      ["on_change", 1, true],
      ["on_change", 3, true],
    ]);
    expect(received.map((r) => r.body)).toEqual([
      `{"invoice": "${inv.name}", "status": "Unpaid", "outstanding": 10.0}`,
      `{"invoice": "${inv.name}", "status": "Paid", "outstanding": 0.0}`,
      `{"invoice": "${inv.name}", "status": "Paid", "outstanding": 0.0}`,
      `{"invoice": "${inv.name}", "status": "Paid", "outstanding": 0.0}`,
    ]);
    expect(received[0].headers["x-frappe-webhook-signature"]).toBeUndefined(); // security off
  });
});

describe("metadata", () => {
  it("v2 meta and getdoctype describe fields, types and custom fields", async () => {
    const r = await api("GET", "/api/v2/doctype/Customer/meta");
    const meta = r.body.data as { fields: Array<Record<string, unknown>>; name: string };
    expect(meta.name).toBe("Customer");
    const byName = new Map(meta.fields.map((f) => [f.fieldname, f]));
    expect(byName.get("customer_name")).toMatchObject({ fieldtype: "Data", reqd: 1 });
    expect(byName.get("credit_limits")).toMatchObject({ fieldtype: "Table", options: "Customer Credit Limit" });
    expect(byName.get("custom_accord_id")).toMatchObject({ fieldtype: "Data", is_custom_field: 1 });
    const g = await api("GET", "/api/method/frappe.desk.form.load.getdoctype?doctype=Sales%20Order");
    expect(g.body.message).toBeUndefined();
    const names = (g.body.docs as Array<Record<string, unknown>>).map((d) => d.name);
    expect(names[0]).toBe("Sales Order");
    expect(names).toContain("Sales Order Item");
    const raw = await api("GET", "/api/resource/DocType/Customer");
    const rawFields = (raw.body.data as { fields: Array<Record<string, unknown>> }).fields.map((f) => f.fieldname);
    expect(rawFields).not.toContain("custom_accord_id");
  });

  it("a Custom Field created over the API appears in meta and is stored", async () => {
    const cf = await create("Custom Field", { dt: "Customer", label: "CRM ID", fieldtype: "Data" });
    expect(cf.name).toBe("Customer-custom_crm_id");
    const c = await create("Customer", { customer_name: "Cf", custom_crm_id: "crm-1" });
    expect(c.custom_crm_id).toBe("crm-1");
  });
});

describe("control API", () => {
  it("seed keeps names and timestamps; dump returns them", async () => {
    const s = await api("POST", "/__sandbox/seed", {
      Customer: [{ name: "CUST-X", customer_name: "Seeded", modified: "2023-05-01 08:00:00.500000", owner: "someone@example.com" }],
    });
    expect(s.body).toEqual({ names: { Customer: ["CUST-X"] } });
    const d = await api("GET", "/__sandbox/dump?doctype=Customer");
    expect((d.body.data as Array<Record<string, unknown>>)[0]).toMatchObject({
      name: "CUST-X",
      modified: "2023-05-01 08:00:00.500000",
      owner: "someone@example.com",
    });
  });

  it("faults: 429 with Retry-After on the API, control paths unaffected", async () => {
    await api("POST", "/__sandbox/faults", { kinds: ["429"], everyNth: 1, retryAfterSec: 3 });
    const r = await api("GET", "/api/resource/Customer");
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("3");
    await api("POST", "/__sandbox/faults", {});
    expect((await api("GET", "/api/resource/Customer")).status).toBe(200);
  });

  it("upgrade renames a field in metadata and data; addRequiredField makes inserts fail", async () => {
    await create("Customer", { customer_name: "Up", tax_id: "DE1" });
    const u = await api("POST", "/__sandbox/upgrade", { doctype: "Customer", renameField: { from: "tax_id", to: "vat_id" } });
    expect(u.status, u.text).toBe(200);
    const d = (await api("GET", path("Customer", "Up"))).body.data as Record<string, unknown>;
    expect(d.vat_id).toBe("DE1");
    expect(d).not.toHaveProperty("tax_id");
    const old = await api("GET", `/api/resource/Customer?${q({ fields: ["tax_id"] })}`);
    expect(old.status).toBe(500);
    await api("POST", "/__sandbox/upgrade", { doctype: "Customer", addRequiredField: { fieldname: "industry_code", fieldtype: "Data" } });
    const fail = await api("POST", "/api/resource/Customer", { customer_name: "New" });
    expect(fail.body.exc_type).toBe("MandatoryError");
  });

  it("clock offset moves timestamps and flips due invoices to Overdue", async () => {
    await create("Item", { item_code: "SVC", item_group: "Services", stock_uom: "Hour", is_stock_item: 0 });
    await create("Customer", { customer_name: "Late" });
    const inv = await create("Sales Invoice", { customer: "Late", items: [{ item_code: "SVC", qty: 1, rate: 50 }] });
    await api("POST", path("Sales Invoice", String(inv.name)), { run_method: "submit" });
    const r = await api("POST", "/__sandbox/clock", { offsetMs: 3 * 86_400_000 });
    expect(r.body.statusChanges).toBe(1);
    const i = (await api("GET", path("Sales Invoice", String(inv.name)))).body.data as Record<string, unknown>;
    expect(i.status).toBe("Overdue");
    expect(String(i.modified) > String(inv.modified)).toBe(true);
    expect(String(i.modified).slice(0, 10)).toBe(String(r.body.today));
    await api("POST", "/__sandbox/clock", { offsetMs: 0 });
    const again = await create("Customer", { customer_name: "Back Today" });
    expect(String(again.modified).slice(0, 10)).toBe(String(inv.modified).slice(0, 10));
  });

  it("edit as a person: modified_by tells a person's write from Accord's", async () => {
    await create("Customer", { customer_name: "Echo" });
    const e = await api("POST", "/__sandbox/edit", {
      doctype: "Customer",
      name: "Echo",
      values: { tax_id: "P1" },
      user: "jane.doe@example.com",
    });
    expect(e.status, e.text).toBe(200);
    const d = (await api("GET", path("Customer", "Echo"))).body.data as Record<string, unknown>;
    expect(d).toMatchObject({ tax_id: "P1", modified_by: "jane.doe@example.com", owner: sb.user });
  });
});

describe("more doctypes and routes", () => {
  it("Address is named {title}-{type} with -1 on clash; is_primary_address moves between a party's addresses", async () => {
    await create("Customer", { customer_name: "Addr Co" });
    const link = [{ link_doctype: "Customer", link_name: "Addr Co" }];
    const a1 = await create("Address", {
      address_line1: "Main St 1",
      city: "Berlin",
      country: "Germany",
      links: link,
      is_primary_address: 1,
    });
    expect(a1.name).toBe("Addr Co-Billing");
    expect(a1.address_title).toBe("Addr Co");
    const a2 = await create("Address", {
      address_line1: "Side St 2",
      city: "Bonn",
      country: "Germany",
      links: link,
      is_primary_address: 1,
    });
    expect(a2.name).toBe("Addr Co-Billing-1");
    const first = (await api("GET", path("Address", "Addr Co-Billing"))).body.data as Record<string, unknown>;
    expect(first.is_primary_address).toBe(0);
    const noTitle = await api("POST", "/api/resource/Address", { address_line1: "x", city: "y", country: "Germany" });
    expect(noTitle.status).toBe(417);
    const badCountry = await api("POST", "/api/resource/Address", { address_line1: "x", city: "y", country: "Atlantis", links: link });
    expect(badCountry.body.exc_type).toBe("LinkValidationError");
  });

  it("Customer flat email/mobile on insert create a primary Contact linked to it", async () => {
    const c = await create("Customer", { customer_name: "Flat", email_id: "flat@x.test", mobile_no: "+49 170" });
    expect(c.customer_primary_contact).toBe("Flat-Flat");
    const contact = (await api("GET", path("Contact", "Flat-Flat"))).body.data as Record<string, unknown>;
    expect(contact).toMatchObject({ email_id: "flat@x.test", mobile_no: "+49 170", is_primary_contact: 1 });
  });

  it("a cancelled Sales Order can be amended as <name>-1", async () => {
    await create("Item", { item_code: "AM", item_group: "Services", stock_uom: "Nos", is_stock_item: 0 });
    await create("Customer", { customer_name: "Amender" });
    const so = await create("Sales Order", {
      customer: "Amender",
      delivery_date: "2099-01-01",
      items: [{ item_code: "AM", qty: 1, rate: 5 }],
    });
    const early = await api("POST", "/api/resource/Sales Order", {
      customer: "Amender",
      amended_from: so.name,
      delivery_date: "2099-01-01",
      items: [{ item_code: "AM", qty: 1, rate: 5 }],
    });
    expect(early.status).toBe(417);
    await api("POST", path("Sales Order", String(so.name)), { run_method: "submit" });
    await api("POST", path("Sales Order", String(so.name)), { run_method: "cancel" });
    const am = await create("Sales Order", {
      customer: "Amender",
      amended_from: so.name,
      delivery_date: "2099-01-01",
      items: [{ item_code: "AM", qty: 2, rate: 5 }],
    });
    expect(am.name).toBe(`${so.name}-1`);
  });

  it("frappe.client.save replaces the whole document and needs the current modified", async () => {
    const c = await create("Contact", { first_name: "Sv", last_name: "Old", email_ids: [{ email_id: "sv@x.test" }] });
    const stale = await api("POST", "/api/method/frappe.client.save", { doc: { doctype: "Contact", name: c.name, first_name: "Sv" } });
    expect(stale.body.exc_type).toBe("TimestampMismatchError");
    const ok = await api("POST", "/api/method/frappe.client.save", {
      doc: { doctype: "Contact", name: c.name, first_name: "Sv", modified: c.modified },
    });
    expect(ok.status, ok.text).toBe(200);
    const d = ok.body.message as Record<string, unknown>;
    expect(d.last_name).toBeNull();
    expect(d.email_ids).toEqual([]);
  });

  it("child doctype lists need `parent`; Time values read back as H:MM:SS", async () => {
    const bad = await api("GET", "/api/resource/Sales Order Item");
    expect(bad.status).toBe(417);
    await create("Item", { item_code: "CH", item_group: "Services", stock_uom: "Nos", is_stock_item: 0 });
    await create("Customer", { customer_name: "Kid" });
    const so = await create("Sales Order", { customer: "Kid", delivery_date: "2099-01-01", items: [{ item_code: "CH", qty: 3, rate: 2 }] });
    const rows = await list("Sales Order Item", { parent: "Sales Order", fields: ["parent", "item_code", "qty", "amount"] });
    expect(rows).toEqual([{ parent: so.name, item_code: "CH", qty: 3, amount: 6 }]);
    await api("POST", "/__sandbox/seed", {
      "Sales Invoice": [
        {
          name: "SINV-T",
          customer: "Kid",
          posting_date: "2024-01-01",
          posting_time: "09:05:00",
          due_date: "2024-01-01",
          items: [{ item_code: "CH", qty: 1, rate: 1 }],
        },
      ],
    });
    const inv = (await api("GET", path("Sales Invoice", "SINV-T"))).body.data as Record<string, unknown>;
    expect(inv.posting_time).toBe("9:05:00");
  });

  it("v2: list with has_next_page, doc with nulls, errors in the v2 shape", async () => {
    for (let i = 0; i < 3; i++) await create("Customer", { customer_name: `V2 ${i}` });
    const l = await api("GET", "/api/v2/document/Customer?limit=2&order_by=name%20asc");
    expect(l.body).toEqual({ data: [{ name: "V2 0" }, { name: "V2 1" }], has_next_page: true });
    const one = await api("GET", "/api/v2/document/Customer/V2%200");
    expect((one.body.data as Record<string, unknown>).tax_id).toBeNull();
    const nf = await api("GET", "/api/v2/document/Customer/Nope");
    expect(nf.status).toBe(404);
    expect((nf.body.errors as Array<Record<string, unknown>>)[0]).toMatchObject({
      type: "DoesNotExistError",
      message: "Customer Nope not found",
    });
    const cnt = await api("GET", "/api/v2/doctype/Customer/count");
    expect(cnt.body).toEqual({ data: 3 });
    const named = await api("POST", "/api/v2/document/Item", {
      name: "V2-ITEM",
      item_code: "V2-ITEM",
      item_group: "Products",
      stock_uom: "Nos",
    });
    expect((named.body.data as Record<string, unknown>).name).toBe("V2-ITEM");
    const invalid = await api("POST", "/api/v2/document/Customer", { customer_group: "Commercial" });
    expect(invalid.status).toBe(417);
    expect((invalid.body.errors as Array<Record<string, unknown>>)[0]).toMatchObject({ type: "MandatoryError" });
  });

  it("upgrade removeField / changeType / setOptions change metadata and data", async () => {
    await create("Customer", { customer_name: "Shape", website: "42", customer_type: "Individual" });
    await api("POST", "/__sandbox/upgrade", { doctype: "Customer", changeType: { fieldname: "website", fieldtype: "Int" } });
    let d = (await api("GET", path("Customer", "Shape"))).body.data as Record<string, unknown>;
    expect(d.website).toBe(42);
    await api("POST", "/__sandbox/upgrade", {
      doctype: "Customer",
      setOptions: { fieldname: "customer_type", options: ["Company", "Person"], mapValues: { Individual: "Person" } },
    });
    d = (await api("GET", path("Customer", "Shape"))).body.data as Record<string, unknown>;
    expect(d.customer_type).toBe("Person");
    const badSel = await api("POST", "/api/resource/Customer", { customer_name: "S2", customer_type: "Individual" });
    expect(badSel.status).toBe(417);
    await api("POST", "/__sandbox/upgrade", { doctype: "Customer", removeField: "website" });
    const meta = (await api("GET", "/api/v2/doctype/Customer/meta")).body.data as { fields: Array<{ fieldname: string }> };
    expect(meta.fields.map((f) => f.fieldname)).not.toContain("website");
    d = (await api("GET", path("Customer", "Shape"))).body.data as Record<string, unknown>;
    expect(d).not.toHaveProperty("website");
  });
});

describe("persistence", () => {
  it("statePath keeps data, counters and metadata across restarts", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const file = join(mkdtempSync(join(tmpdir(), "erp-")), "state.json");
    const a = await startErpNextSandbox({ statePath: file, apiKey: "k", apiSecret: "s" });
    const h = { Authorization: "token k:s", "Content-Type": "application/json" };
    await fetch(`${a.url}/api/resource/Customer`, { method: "POST", headers: h, body: JSON.stringify({ customer_name: "Persisted" }) });
    await fetch(`${a.url}/__sandbox/upgrade`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ doctype: "Customer", renameField: { from: "tax_id", to: "vat_id" } }),
    });
    await a.close();
    const b = await startErpNextSandbox({ statePath: file, apiKey: "k", apiSecret: "s" });
    const r = await fetch(`${b.url}/api/resource/Customer/Persisted`, { headers: h });
    expect(r.status).toBe(200);
    const meta = (await (await fetch(`${b.url}/api/v2/doctype/Customer/meta`, { headers: h })).json()) as {
      data: { fields: Array<{ fieldname: string }> };
    };
    expect(meta.data.fields.map((f) => f.fieldname)).toContain("vat_id");
    await b.close();
  });
});

describe("site behaviour switches and child rows", () => {
  it("rate limit → 429 TooManyRequestsError with Retry-After; maintenance → 503 SessionStopped", async () => {
    await api("POST", "/__sandbox/rate-limit", { limit: 2, windowSec: 60 });
    expect((await api("GET", "/api/resource/Customer")).status).toBe(200);
    expect((await api("GET", "/api/resource/Customer")).status).toBe(200);
    const r = await api("GET", "/api/resource/Customer");
    expect(r.status).toBe(429);
    expect(r.body.exc_type).toBe("TooManyRequestsError");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    await api("POST", "/__sandbox/rate-limit", { limit: 0 });
    await api("POST", "/__sandbox/maintenance", { on: true });
    const m = await api("GET", "/api/resource/Customer");
    expect(m.status).toBe(503);
    expect(m.body.exc_type).toBe("SessionStopped");
    await api("POST", "/__sandbox/maintenance", { on: false });
    expect((await api("GET", "/api/resource/Customer")).status).toBe(200);
  });

  it("a child row can be read and saved directly; the parent is re-saved", async () => {
    await create("Item", { item_code: "ROW", item_group: "Services", stock_uom: "Nos", is_stock_item: 0 });
    await create("Customer", { customer_name: "Rowan" });
    const so = await create("Sales Order", {
      customer: "Rowan",
      delivery_date: "2099-01-01",
      items: [{ item_code: "ROW", qty: 1, rate: 10 }],
    });
    const rowName = String((so.items as Array<Record<string, unknown>>)[0].name);
    const g = await api("GET", path("Sales Order Item", rowName));
    expect(g.body.data).toMatchObject({ parent: so.name, item_code: "ROW", qty: 1 });
    const u = await api("PUT", path("Sales Order Item", rowName), { qty: 3 });
    expect(u.status, u.text).toBe(200);
    const parent = (await api("GET", path("Sales Order", String(so.name)))).body.data as Record<string, unknown>;
    expect(parent.grand_total).toBe(30);
    expect(parent.modified).not.toBe(so.modified);
  });
});

describe("webhook events", () => {
  let receiver: Server;
  const got: string[] = [];
  let url = "";
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        got.push(Buffer.concat(chunks).toString("utf8"));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it("on_trash sends the deleted doc; a condition filters documents", async () => {
    got.length = 0;
    await create("Webhook", {
      webhook_doctype: "Customer",
      webhook_docevent: "on_trash",
      request_url: url,
      webhook_data: [{ fieldname: "name", key: "deleted" }],
    });
    await create("Webhook", {
      webhook_doctype: "Customer",
      webhook_docevent: "after_insert",
      request_url: url,
      condition: 'doc.customer_group == "Government"',
      webhook_data: [{ fieldname: "name", key: "created" }],
    });
    await create("Customer", { customer_name: "Plain" });
    await create("Customer", { customer_name: "Ministry", customer_group: "Government" });
    await api("DELETE", path("Customer", "Plain"));
    await api("POST", "/__sandbox/webhooks/flush", {});
    expect(got.sort()).toEqual(['{"created": "Ministry"}', '{"deleted": "Plain"}']);
    const logs = await list("Webhook Request Log", { fields: ["webhook", "reference_document"], order_by: "reference_document asc" });
    expect(logs.map((l) => l.reference_document)).toEqual(["Ministry", "Plain"]);
  });
});

describe("more methods and rules", () => {
  it("quick-entry address keys on a Customer insert create its primary Address (not stored on the Customer)", async () => {
    const c = await create("Customer", {
      customer_name: "Quick",
      address_line1: "Hauptstr. 1",
      city: "Köln",
      country: "Germany",
      pincode: "50667",
    });
    expect(c.customer_primary_address).toBe("Quick-Billing");
    expect(c).not.toHaveProperty("address_line1");
    const bad = await api("POST", "/api/resource/Customer", { customer_name: "Quick2", address_line1: "x" });
    expect(bad.status).toBe(417);
    expect((await api("GET", path("Customer", "Quick2"))).status).toBe(404);
  });

  it("insert_many returns names and is all-or-nothing; bulk_update collects failures", async () => {
    const ok = await api("POST", "/api/method/frappe.client.insert_many", {
      docs: [
        { doctype: "Customer", customer_name: "M1" },
        { doctype: "Customer", customer_name: "M2" },
      ],
    });
    expect(ok.body).toEqual({ message: ["M1", "M2"] });
    const bad = await api("POST", "/api/method/frappe.client.insert_many", {
      docs: [
        { doctype: "Customer", customer_name: "M3" },
        { doctype: "Customer", customer_group: "Nope", customer_name: "M4" },
      ],
    });
    expect(bad.status).toBe(417);
    expect((await api("GET", path("Customer", "M3"))).status).toBe(404);
    const bu = await api("POST", "/api/method/frappe.client.bulk_update", {
      docs: [
        { doctype: "Customer", docname: "M1", tax_id: "T1" },
        { doctype: "Customer", docname: "Missing", tax_id: "T2" },
      ],
    });
    expect((bu.body.message as { failed_docs: unknown[] }).failed_docs).toHaveLength(1);
    expect(((await api("GET", path("Customer", "M1"))).body.data as Record<string, unknown>).tax_id).toBe("T1");
  });

  it("timespan / previous / next filters are relative to the site date", async () => {
    const today = sb.clock.today();
    const d = (days: number) => {
      const x = new Date(`${today}T00:00:00Z`);
      x.setUTCDate(x.getUTCDate() + days);
      return x.toISOString().slice(0, 10);
    };
    await api("POST", "/__sandbox/seed", {
      Customer: [
        { customer_name: "T-today", creation: `${today} 08:00:00` },
        { customer_name: "T-yesterday", creation: `${d(-1)} 08:00:00` },
        { customer_name: "T-old", creation: `${d(-40)} 08:00:00` },
      ],
    });
    const names = async (filters: unknown) => (await list("Customer", { filters, order_by: "name asc" })).map((r) => r.name);
    expect(await names([["creation", "timespan", "today"]])).toEqual(["T-today"]);
    expect(await names([["creation", "timespan", "yesterday"]])).toEqual(["T-yesterday"]);
    expect(await names([["creation", "previous", "1 week"]])).toEqual(["T-today", "T-yesterday"]);
    expect(await names([["creation", "next", "1 week"]])).toEqual(["T-today"]);
  });

  it("credit limit is checked on Sales Order submit; a cancelled payment restores the outstanding", async () => {
    await create("Item", { item_code: "CL", item_group: "Services", stock_uom: "Nos", is_stock_item: 0 });
    await create("Customer", { customer_name: "Limited", credit_limits: [{ company: sb.settings.company, credit_limit: 50 }] });
    const so = await create("Sales Order", {
      customer: "Limited",
      delivery_date: "2099-01-01",
      items: [{ item_code: "CL", qty: 1, rate: 80 }],
    });
    const sub = await api("POST", path("Sales Order", String(so.name)), { run_method: "submit" });
    expect(sub.status).toBe(417);
    expect(serverMessages(sub.body)[0].message).toContain("Credit limit has been crossed");
    const inv = await create("Sales Invoice", { customer: "Limited", items: [{ item_code: "CL", qty: 1, rate: 40 }] });
    await api("POST", path("Sales Invoice", String(inv.name)), { run_method: "submit" });
    const pe = await api(
      "GET",
      `/api/method/erpnext.accounts.doctype.payment_entry.payment_entry.get_payment_entry?dt=Sales%20Invoice&dn=${encodeURIComponent(String(inv.name))}`,
    );
    const saved = await create("Payment Entry", pe.body.message as Record<string, unknown>);
    await api("POST", path("Payment Entry", String(saved.name)), { run_method: "submit" });
    expect(((await api("GET", path("Sales Invoice", String(inv.name)))).body.data as Record<string, unknown>).status).toBe("Paid");
    await api("POST", path("Payment Entry", String(saved.name)), { run_method: "cancel" });
    const after = (await api("GET", path("Sales Invoice", String(inv.name)))).body.data as Record<string, unknown>;
    expect(after).toMatchObject({ outstanding_amount: 40, status: "Unpaid" });
  });
});

describe("unique custom fields", () => {
  it("a unique custom field refuses a second record with the same value (UniqueValidationError 417)", async () => {
    await create("Custom Field", { dt: "Customer", fieldname: "custom_crm_key", label: "CRM Key", fieldtype: "Data", unique: 1 });
    await create("Customer", { customer_name: "U1", custom_crm_key: "K-1" });
    const dup = await api("POST", "/api/resource/Customer", { customer_name: "U2", custom_crm_key: "k-1" });
    expect(dup.status).toBe(417);
    expect(dup.body.exc_type).toBe("UniqueValidationError");
    expect(serverMessages(dup.body)[0].message).toBe("CRM Key must be unique");
    const u1 = (await api("GET", path("Customer", "U1"))).body.data as Record<string, unknown>;
    const same = await api("PUT", path("Customer", "U1"), { custom_crm_key: "K-1", tax_id: "x" });
    expect(same.status, same.text).toBe(200);
    expect(u1.custom_crm_key).toBe("K-1");
  });
});
