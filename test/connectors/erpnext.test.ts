/**
 * ERPNext connector: the generic contract suite against the emulated ERPNext, then the
 * system's own traps (site-local time zone, default page of 20 / 0 = all, child tables replaced
 * wholesale, silent Customer rename, `modified` concurrency, submit/cancel, JSON filters, meta).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErpNextConnector } from "../../src/connectors/erpnext/index.ts";
import { createConnector } from "../../src/connectors/registry.ts";
import type { Connector } from "../../src/connectors/types.ts";
import { AuthError, Duplicate, ValidationRejected, VersionConflict } from "../../src/errors.ts";
import { type ErpNextSandbox, startErpNextSandbox, webhookSignature } from "../../src/sandbox/erpnext/index.ts";
import { CapturedLog, type ContractHarness, connectorContractSuite, walk } from "./contract-suite.ts";

const FAST = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 5000 };
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Site-local naive time of an instant in a zone (test-side, independent of the connector's code). */
function siteLocal(ms: number, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${pad(ms % 1000, 3)}000`;
}

async function harness(sb: ErpNextSandbox): Promise<ContractHarness> {
  let statsCalls = 0;
  const make = (o: { options?: Record<string, unknown>; badCredentials?: boolean; logger?: CapturedLog } = {}): Connector =>
    new ErpNextConnector({
      url: sb.url,
      credentials: { apiKey: sb.apiKey, apiSecret: o.badCredentials ? "wrong-secret-000" : sb.apiSecret },
      options: { timezone: sb.timezone, ...FAST, ...o.options, ...(o.logger ? { logger: o.logger } : {}) },
    });
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${sb.url}/__sandbox/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    connector: make(),
    makeConnector: make,
    secrets: [sb.apiSecret],
    entity: "Customer",
    textField: "customer_name",
    idAttribute: "name",
    newValues: (label) => ({ customer_name: label, customer_type: "Company" }),
    async seed(n, prefix, opts) {
      // In the past, a few records per millisecond: later changes move them to the end of the order.
      const base = Date.now() - 3_600_000;
      const rows = Array.from({ length: n }, (_, i) => {
        const t = siteLocal(opts?.sameTimestamp ? base : base + Math.floor(i / 3), sb.timezone);
        return { customer_name: `${prefix}-${i}`, creation: t, modified: t };
      });
      return sb.seed({ Customer: rows }).Customer;
    },
    async touch(id) {
      await control("edit", {
        doctype: "Customer",
        name: id,
        values: { website: `https://touched.example/${Date.now()}${Math.random()}` },
      });
    },
    async faults(cfg) {
      sb.faults.configure(cfg ? { ...cfg, kinds: [...cfg.kinds] } : null);
    },
    async requestCount() {
      const res = await fetch(`${sb.url}/__sandbox/stats`);
      statsCalls++;
      const body = (await res.json()) as { requests: number };
      return body.requests - statsCalls;
    },
    signWebhook(body, secret) {
      return {
        headers: { "X-Frappe-Webhook-Signature": webhookSignature(secret, body.toString("utf8")) },
        url: "/hooks/erp?doctype=Customer&event=on_update",
      };
    },
    webhookBody: (id) => Buffer.from(`{"doctype": "Customer", "name": "${id}", "customer_name": "Acme \\u00e9"}`),
    hasVersion: true,
    // The sandbox reads the body after a `slow` fault's delay, so a timed-out request never runs there.
    slowRequestsStillComplete: false,
    close: async () => {},
  };
}

connectorContractSuite("erpnext", async () => {
  const sb = await startErpNextSandbox({ timezone: "America/New_York" });
  const h = await harness(sb);
  h.close = async () => {
    await h.connector.close();
    await sb.close();
  };
  return h;
});

describe("erpnext connector: the system's traps", () => {
  let sb: ErpNextSandbox;
  let h: ContractHarness;
  let c: Connector;
  beforeAll(async () => {
    sb = await startErpNextSandbox({ timezone: "Asia/Kolkata" });
    h = await harness(sb);
    c = h.connector;
  });
  afterAll(async () => {
    await c.close();
    await sb.close();
  });

  it("is reachable through the registry; whoAmI is the user written into modified_by", async () => {
    const rc = await createConnector("erpnext", {
      url: sb.url,
      credentials: { apiKey: sb.apiKey, apiSecret: sb.apiSecret },
      options: { timezone: sb.timezone },
    });
    expect(rc.type).toBe("erpnext");
    const me = await rc.whoAmI();
    expect(me).toBe(sb.user);
    const r = await rc.create("Customer", { customer_name: "Whoami GmbH" });
    expect(r.modifiedBy).toBe(me);
  });

  it("site-local timestamps (Asia/Kolkata, +05:30) are normalised to UTC", async () => {
    const t0 = Date.now();
    const r = await c.create("Customer", { customer_name: "Zone Test Ltd" });
    const t1 = Date.now();
    // Without conversion the instant would be 5.5 h off.
    expect(Date.parse(r.modifiedAt)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Date.parse(r.modifiedAt)).toBeLessThanOrEqual(t1 + 1000);
    // version keeps Frappe's raw site-local string; datetime values are UTC ISO like modifiedAt.
    expect(r.version).not.toMatch(/[TZ+]/);
    expect(r.values.modified).toBe(r.modifiedAt);
    expect(r.values.creation).toBe(r.createdAt);
  });

  it("datetime values cross the interface as UTC ISO both ways; ERPNext stores them site-local", async () => {
    const up = await fetch(`${sb.url}/__sandbox/upgrade`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ doctype: "Customer", addField: { fieldname: "custom_synced_at", fieldtype: "Datetime", label: "Synced At" } }),
    });
    expect(up.status).toBe(200);
    const fresh = h.makeConnector();
    const r = await fresh.create("Customer", { customer_name: "Datetime Pvt Ltd", custom_synced_at: "2024-05-01T13:45:00.000Z" });
    expect(r.values.custom_synced_at).toBe("2024-05-01T13:45:00.000Z");
    const raw = (await (
      await fetch(`${sb.url}/api/resource/Customer/${encodeURIComponent(r.id)}`, {
        headers: { Authorization: `token ${sb.apiKey}:${sb.apiSecret}` },
      })
    ).json()) as { data: Record<string, unknown> };
    expect(String(raw.data.custom_synced_at)).toMatch(/^2024-05-01 19:15:00/); // IST = UTC+05:30
    expect((await fresh.findByField("Customer", "custom_synced_at", "2024-05-01T13:45:00.000Z")).map((x) => x.id)).toEqual([r.id]);
    const { records } = await walk(fresh, "Customer", {
      filter: [{ field: "custom_synced_at", op: ">=", value: "2024-05-01T13:44:59.000Z" }],
    });
    expect(records.map((x) => x.id)).toEqual([r.id]);
  });

  it("learns the zone from System Settings when options.timezone is absent", async () => {
    // The sandbox does not expose System Settings; a scripted site does (the real API shape).
    const seen: string[] = [];
    const stub: Server = createServer((req, res) => {
      seen.push(String(req.url));
      res.setHeader("Content-Type", "application/json");
      if (req.url?.startsWith("/api/resource/System%20Settings/System%20Settings"))
        res.end(JSON.stringify({ data: { name: "System Settings", time_zone: "America/Los_Angeles" } }));
      else if (req.url?.startsWith("/api/resource/Customer?"))
        res.end(
          JSON.stringify({ data: [{ name: "C1", modified: "2024-07-01 09:00:00.250000", creation: "2024-07-01 08:00:00", docstatus: 0 }] }),
        );
      else {
        res.statusCode = 404;
        res.end("{}");
      }
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
    try {
      const sc = new ErpNextConnector({
        url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
        credentials: { apiKey: "k", apiSecret: "s" },
      });
      const { records } = await walk(sc, "Customer");
      expect(records[0].modifiedAt).toBe("2024-07-01T16:00:00.250Z"); // PDT = UTC−7
      expect(records[0].createdAt).toBe("2024-07-01T15:00:00.000Z");
      expect(records[0].state).toBe("draft");
      expect(seen.filter((u) => u.includes("System%20Settings")).length).toBe(1);
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });

  it("without options.timezone and no readable System Settings: a clear error saying what to set", async () => {
    // Real Frappe answers 403 PermissionError when the API user lacks System Manager.
    const stub: Server = createServer((_req, res) => {
      res.statusCode = 403;
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ exc_type: "PermissionError", _error_message: "Insufficient Permission for System Settings" }));
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
    try {
      const nc = new ErpNextConnector({
        url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
        credentials: { apiKey: "k", apiSecret: "s" },
        options: FAST,
      });
      const e = await nc.readByIds("Customer", ["x"]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationRejected);
      expect((e as ValidationRejected).hint).toMatch(/options\.timezone/);
      expect(nc.stats().calls).toBe(1);
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });

  it("pages explicitly: the 20-row default never truncates a read, one call per 1000 rows", async () => {
    const ids = await h.seed(45, "pg");
    const raw = await fetch(
      `${sb.url}/api/resource/Customer?filters=${encodeURIComponent(JSON.stringify([["customer_name", "like", "pg-%"]]))}`,
      {
        headers: { Authorization: `token ${sb.apiKey}:${sb.apiSecret}` },
      },
    );
    expect(((await raw.json()) as { data: unknown[] }).data.length).toBe(20);
    const before = c.stats().calls;
    const { records } = await walk(c, "Customer", { filter: [{ field: "customer_name", op: "like", value: "pg-%" }] });
    expect(records.length).toBe(ids.length);
    expect(c.stats().calls - before).toBe(1);
    const found = await c.findByField("Customer", "customer_type", "Company");
    expect(found.length).toBeGreaterThan(45);
    const all: string[] = [];
    for await (const chunk of c.listIds!("Customer")) all.push(...chunk);
    expect(all.length).toBeGreaterThan(45);
  });

  it("a second Customer with the same name is silently renamed by ERPNext: create() detects it, undoes it, throws Duplicate", async () => {
    const first = await c.create("Customer", { customer_name: "Rename Trap AG" });
    expect(first.id).toBe("Rename Trap AG");
    const e = await c.create("Customer", { customer_name: "Rename Trap AG" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Duplicate);
    expect((e as Duplicate).duplicates).toEqual(["Rename Trap AG"]);
    expect((e as Error).message).toMatch(/Rename Trap AG - 1/);
    expect(await c.readByIds("Customer", ["Rename Trap AG - 1"])).toEqual([]);
    const accepting = h.makeConnector({ options: { customerRename: "accept" } });
    const kept = await accepting.create("Customer", { customer_name: "Rename Trap AG" });
    expect(kept.id).toMatch(/^Rename Trap AG - \d+$/);
  });

  it("createMany: one insert_many call, the created documents matched to the payloads by key; a silent rename is that record's Duplicate", async () => {
    await c.create("Customer", { customer_name: "Bulk Trap KG" }); // a name taken (and the doctype's meta read)
    const before = c.stats().calls;
    const payloads = ["k-3", "k-1", "k-2"].map((k) => ({
      customer_name: `Bulk ${k} GmbH`,
      custom_accord_id: k,
      website: `${k}.example.com`,
    }));
    payloads.push({ customer_name: "Bulk Trap KG", custom_accord_id: "k-4", website: "trap.example.com" });
    const out = await c.createMany?.("Customer", payloads, {
      key: "custom_accord_id",
      fields: ["customer_name", "website", "custom_accord_id"],
    });
    expect(c.stats().calls - before).toBe(4); // insert_many, one read back by name; for the renamed one: a find and its delete
    expect(out?.slice(0, 3).map((r) => (r instanceof Error ? r.message : [r.id, r.values.custom_accord_id, r.values.website]))).toEqual([
      ["Bulk k-3 GmbH", "k-3", "k-3.example.com"],
      ["Bulk k-1 GmbH", "k-1", "k-1.example.com"],
      ["Bulk k-2 GmbH", "k-2", "k-2.example.com"],
    ]);
    expect(out?.[3]).toBeInstanceOf(Duplicate); // created as "Bulk Trap KG - 1" and deleted again
    expect((await c.findByField("Customer", "custom_accord_id", "k-4")).length).toBe(0);
    // a key that is empty or repeated is refused before anything is sent
    const bad = await c
      .createMany?.(
        "Customer",
        [
          { customer_name: "A", custom_accord_id: "x" },
          { customer_name: "B", custom_accord_id: "x" },
        ],
        { key: "custom_accord_id" },
      )
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationRejected);
    expect((await c.findByField("Customer", "customer_name", "A")).length).toBe(0);
  });

  it("optimistic concurrency on `modified`: a stale version → VersionConflict", async () => {
    const r = await c.create("Customer", { customer_name: "Concurrency KG" });
    await h.touch(r.id);
    const e = await c.update("Customer", r.id, { website: "https://mine.example" }, { ifVersion: r.version }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VersionConflict);
    const [now] = await c.readByIds("Customer", [r.id]);
    const ok = await c.update("Customer", r.id, { website: "https://mine.example" }, { ifVersion: now.version });
    expect(ok.values.website).toBe("https://mine.example");
  });

  it("a child table in update() is sent whole: rows named by `name` keep their unmapped columns", async () => {
    const company = sb.settings.company;
    const r = await c.create("Customer", {
      customer_name: "Child Table SE",
      credit_limits: [{ company, credit_limit: 1000, bypass_credit_limit_check: 1 }],
    });
    const [full] = await c.readByIds("Customer", [r.id]);
    const rows = full.values.credit_limits as Record<string, unknown>[];
    expect(rows.length).toBe(1);
    const rowName = String(rows[0].name);
    // The engine maps only credit_limit; company and bypass_credit_limit_check must survive.
    const u = await c.update("Customer", r.id, { credit_limits: [{ name: rowName, credit_limit: 2500 }] });
    const after = u.values.credit_limits as Record<string, unknown>[];
    expect(after.length).toBe(1);
    expect(after[0]).toMatchObject({ name: rowName, company, credit_limit: 2500, bypass_credit_limit_check: 1 });
    // Whole-table semantics: an empty array empties the table.
    const emptied = await c.update("Customer", r.id, { credit_limits: [] });
    expect((emptied.values.credit_limits as unknown[] | undefined) ?? []).toEqual([]);
    // readChanges returns child tables when asked for them by name.
    const { records } = await walk(c, "Customer", {
      fields: ["customer_name", "credit_limits"],
      filter: [{ field: "customer_name", op: "=", value: "Child Table SE" }],
    });
    expect(records.length).toBe(1);
    expect(Array.isArray(records[0].values.credit_limits)).toBe(true);
  });

  it("submit and cancel a Sales Order: state draft → submitted → cancelled", async () => {
    const item = await c
      .create("Item", { item_code: "ACC-TEST-1", item_name: "Test item", item_group: "Products", stock_uom: "Nos", is_stock_item: 0 })
      .catch(async (e: unknown) => {
        if (e instanceof ValidationRejected && /name/.test(String(e.where.field ?? ""))) throw e;
        throw e;
      });
    expect(item.id).toBe("ACC-TEST-1");
    const cust = await c.create("Customer", { customer_name: "Order Buyer BV" });
    const today = new Date().toISOString().slice(0, 10);
    const so = await c.create("Sales Order", {
      customer: cust.id,
      company: sb.settings.company,
      transaction_date: today,
      delivery_date: today,
      items: [{ item_code: item.id, qty: 2, rate: 10, delivery_date: today }],
    });
    expect(so.state).toBe("draft");
    const sub = await c.submit!("Sales Order", so.id);
    expect(sub.state).toBe("submitted");
    const can = await c.cancel!("Sales Order", so.id);
    expect(can.state).toBe("cancelled");
    const s = await c.describe(["Sales Order"]);
    expect(s.entities["Sales Order"].submittable).toBe(true);
    expect(s.entities["Sales Order"].fields.items).toMatchObject({ type: "table", target: "Sales Order Item" });
  });

  it("a client-chosen name is refused; ERPNext names documents itself", async () => {
    const e = await c.create("Customer", { customer_name: "X", name: "CHOSEN" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationRejected);
  });

  it("filter values are JSON-encoded data: %, _, quotes and brackets match exactly with `=`", async () => {
    const a = await c.create("Customer", { customer_name: 'Pct 100% _x_ "q" [b]' });
    await c.create("Customer", { customer_name: 'Pct 100X Yxy "q" [b]' });
    const found = await c.findByField("Customer", "customer_name", 'Pct 100% _x_ "q" [b]');
    expect(found.map((r) => r.id)).toEqual([a.id]);
    const none = await c.findByField("Customer", "customer_name", '"] or 1=1 --');
    expect(none).toEqual([]);
  });

  it("describe maps doctype meta to neutral types", async () => {
    const s = await c.describe(["Customer"]);
    const f = s.entities.Customer.fields;
    expect(f.customer_name).toMatchObject({ type: "string", nativeType: "Data", required: true });
    expect(f.customer_type.type).toBe("enum");
    expect(f.customer_type.options).toContain("Company");
    expect(f.customer_group).toMatchObject({ type: "link", target: "Customer Group" });
    expect(f.credit_limits).toMatchObject({ type: "table", target: "Customer Credit Limit" });
    expect(f.disabled.type).toBe("bool");
    expect(f.modified).toMatchObject({ type: "datetime", readOnly: true });
    await expect(c.describe(["No Such Doctype"])).rejects.toThrow();
  });

  it("describe() reads the meta fresh each time, so a removed field shows (drift is detectable)", async () => {
    const up = (body: unknown) =>
      fetch(`${sb.url}/__sandbox/upgrade`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect((await up({ doctype: "Customer", addField: { fieldname: "custom_drift_probe", fieldtype: "Data" } })).status).toBe(200);
    expect((await c.describe(["Customer"])).entities.Customer.fields.custom_drift_probe?.type).toBe("string");
    expect((await up({ doctype: "Customer", removeField: "custom_drift_probe" })).status).toBe(200);
    expect((await c.describe(["Customer"])).entities.Customer.fields.custom_drift_probe).toBeUndefined();
  });

  it("meta falls back to frappe.desk.form.load.getdoctype where /api/v2 is missing (Frappe v14)", async () => {
    const stub: Server = createServer((req, res) => {
      res.setHeader("Content-Type", "application/json");
      if (req.url?.startsWith("/api/method/frappe.desk.form.load.getdoctype?doctype=Customer"))
        res.end(
          JSON.stringify({
            docs: [
              {
                name: "Customer",
                fields: [
                  { fieldname: "customer_name", fieldtype: "Data", reqd: 1 },
                  { fieldname: "last_order_at", fieldtype: "Datetime" },
                ],
              },
            ],
          }),
        );
      else {
        res.statusCode = 404;
        res.end(JSON.stringify({ exc_type: "DoesNotExistError" }));
      }
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
    try {
      const sc = new ErpNextConnector({
        url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
        credentials: { apiKey: "k", apiSecret: "s" },
        options: { ...FAST, timezone: "UTC" },
      });
      const d = await sc.describe(["Customer"]);
      expect(d.entities.Customer.fields.customer_name).toMatchObject({ type: "string", required: true });
      expect(d.entities.Customer.fields.last_order_at.type).toBe("datetime");
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });

  it("auth failures: AuthError at once, one call; the secret never appears", async () => {
    const log = new CapturedLog();
    const bad = h.makeConnector({ badCredentials: true, logger: log });
    const e = await bad.create("Customer", { customer_name: "Nope" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect(bad.stats().calls).toBe(1);
    expect(JSON.stringify(e) + String(e) + log.lines.join("")).not.toContain(sb.apiSecret);
  });

  it("parseWebhook maps Frappe doc events to kinds and verifies the base64 HMAC", () => {
    const body = Buffer.from('{"doctype": "Sales Order", "name": "SAL-ORD-2026-00001", "status": "To Bill"}');
    const sig = webhookSignature("sek", body.toString());
    const ev = c.parseWebhook!({ headers: { "x-frappe-webhook-signature": sig }, rawBody: body, url: "/in?event=after_insert" }, "sek");
    expect(ev).toEqual([{ id: "SAL-ORD-2026-00001", kind: "create", entity: "Sales Order", values: JSON.parse(body.toString()) }]);
    const del = c.parseWebhook!({ headers: { "x-frappe-webhook-signature": sig }, rawBody: body, url: "/in?event=on_trash" }, "sek");
    expect(del[0].kind).toBe("delete");
    expect(() =>
      c.parseWebhook!({ headers: { "x-frappe-webhook-signature": sig.slice(0, -4) }, rawBody: body, url: "/in" }, "sek"),
    ).toThrow(AuthError);
  });
});
