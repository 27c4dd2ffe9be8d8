/**
 * Monitor units: the drift diff and its policies, the paused spec, settings, error rate,
 * alert de-duplication / escalation / channels (webhook + SMTP against local test servers), the
 * stale-value guard, the replay guard and webhook verification.
 */
import { createHmac } from "node:crypto";
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createTcp, type Server as TcpServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector } from "../../src/connectors/registry.ts";
import type { EntityDescription, FieldDescription, SchemaDescription } from "../../src/connectors/types.ts";
import { Alerter } from "../../src/monitor/alerts.ts";
import { defaultSmtpTls } from "../../src/monitor/smtp.ts";
import { diffDrift, pausedSpec, suggestRename } from "../../src/monitor/drift.ts";
import { errorRateOf, HealthRules } from "../../src/monitor/health.ts";
import { DEFAULT_SETTINGS, type MonitorSettings, parseMonitorSettings } from "../../src/monitor/settings.ts";
import { ReplayGuard, verifyWebhook } from "../../src/runtime/webhooks.ts";
import { loadSpec } from "../../src/spec/load.ts";
import type { Store } from "../../src/store/index.ts";
import { openTestStore } from "../support/store.ts";

const SPEC = loadSpec(
  `
version: 1
name: unit
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com, webhook: "http://127.0.0.1:1/hook" }
secondaryOwner: { name: S, email: s@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    fields:
      - { crm: name, erp: customer_name, direction: both }
      - { crm: type, erp: customer_type, direction: crm->erp, toErp: [ { map: { Customer: Company }, unmapped: pass } ] }
      - { crm: sicCode, erp: tax_id, direction: erp->crm }
  item:
    crm: { entity: Product, identity: partNumber }
    erp: { entity: Item, identity: item_code }
    create: erp->crm
    fields:
      - { crm: name, erp: item_name, direction: erp->crm }
      - { crm: weight, erp: opening_stock, direction: erp->crm }
`,
  "unit.yaml",
);

const fd = (name: string, type: FieldDescription["type"], extra: Partial<FieldDescription> = {}): FieldDescription => ({
  name,
  type,
  nativeType: extra.nativeType ?? type,
  required: false,
  readOnly: false,
  ...extra,
});
const entity = (name: string, fields: FieldDescription[]): EntityDescription => ({
  name,
  fields: Object.fromEntries(fields.map((f) => [f.name, f])),
});

function schemas(): { crm: SchemaDescription; erp: SchemaDescription } {
  return {
    crm: {
      entities: {
        Account: entity("Account", [
          fd("name", "string"),
          fd("type", "enum", { options: ["", "Customer", "Partner"] }),
          fd("sicCode", "string"),
          fd("cAccordId", "string"),
        ]),
        Product: entity("Product", [fd("name", "string"), fd("weight", "float"), fd("partNumber", "string")]),
      },
    },
    erp: {
      entities: {
        Customer: entity("Customer", [
          fd("customer_name", "string", { required: true }),
          fd("customer_type", "enum", { options: ["Company", "Individual"], required: true }),
          fd("tax_id", "string", { label: "Tax ID" }),
          fd("territory", "link"),
        ]),
        Item: entity("Item", [
          fd("item_code", "string"),
          fd("item_name", "string"),
          fd("opening_stock", "float", { label: "Opening Stock" }),
        ]),
      },
    },
  };
}

const settings = (over: Partial<MonitorSettings> = {}): MonitorSettings => ({ ...DEFAULT_SETTINGS, objects: {}, ...over });

describe("drift diff", () => {
  it("no drift when the systems match the file and the snapshot", () => {
    const s = schemas();
    const r = diffDrift(SPEC, s, schemas(), settings());
    expect(r.findings).toEqual([]);
    expect(r.pauses).toEqual({});
  });

  it("a renamed ERP field pauses only its mapping and names the likely new name; the rest of the object keeps its maps", () => {
    const before = schemas();
    const now = schemas();
    const { tax_id: _gone, ...rest } = now.erp.entities.Customer.fields;
    now.erp.entities.Customer.fields = { ...rest, tax_id_new: fd("tax_id_new", "string", { label: "Tax ID" }) };
    const r = diffDrift(SPEC, now, before, settings());
    const f = r.findings.find((x) => x.kind === "field-removed");
    expect(f).toMatchObject({ side: "erp", field: "tax_id", suggestion: "tax_id_new", mapping: "sicCode|tax_id", action: "pause-mapping" });
    expect(Object.keys(r.pauses.customer.fields)).toEqual(["sicCode|tax_id"]);
    const run = pausedSpec(SPEC, r.pauses);
    expect(run.objects.find((o) => o.name === "customer")?.fields.map((m) => m.erp)).toEqual(["customer_name", "customer_type"]);
    expect(run.objects.find((o) => o.name === "item")?.fields).toHaveLength(2);
    expect(SPEC.objects[0].fields).toHaveLength(3); // the loaded spec itself is untouched
  });

  it("a vanished createKey pauses creates into that system only; updates and the other objects keep syncing", () => {
    const keyed = loadSpec(
      `
version: 1
name: unit-key
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name, createKey: custom_accord_id }
    create: both
    fields:
      - { crm: name, erp: customer_name, direction: both }
`,
      "unit-key.yaml",
    );
    const before = schemas();
    before.erp.entities.Customer.fields.custom_accord_id = fd("custom_accord_id", "string");
    const same = diffDrift(keyed, before, before, settings());
    expect(same.findings).toEqual([]);
    const now = schemas();
    const r = diffDrift(keyed, now, before, settings());
    expect(r.findings).toEqual([
      expect.objectContaining({ kind: "field-removed", side: "erp", field: "custom_accord_id", action: "pause-creates" }),
    ]);
    expect(r.pauses.customer.createsInto.erp).toMatch(/custom_accord_id.*creates into the ERP pause/);
    expect(r.pauses.customer.whole).toBeUndefined();
    expect(r.pauses.customer.fields).toEqual({});
  });

  it("type changes, picklist changes and a vanished identity field, each with its action", () => {
    const before = schemas();
    const now = schemas();
    now.erp.entities.Item.fields.opening_stock = fd("opening_stock", "string", { nativeType: "Data" });
    now.crm.entities.Account.fields.type = fd("type", "enum", { options: ["", "Customer"] });
    delete now.crm.entities.Product.fields.partNumber;
    const r = diffDrift(SPEC, now, before, settings());
    expect(r.findings.map((f) => [f.kind, f.field, f.action])).toEqual(
      expect.arrayContaining([
        ["type-changed", "opening_stock", "pause-mapping"],
        ["options-changed", "type", "pause-mapping"],
        ["field-removed", "partNumber", "pause-object"],
      ]),
    );
    expect(r.pauses.item.whole).toMatch(/partNumber/);
    expect(pausedSpec(SPEC, r.pauses).objects.map((o) => o.name)).toEqual(["customer"]);
  });

  it("a new required field on a target pauses creates into that system only", () => {
    const before = schemas();
    const now = schemas();
    now.erp.entities.Customer.fields.territory = fd("territory", "link", { required: true });
    const r = diffDrift(SPEC, now, before, settings());
    expect(r.findings.find((f) => f.kind === "required-added")).toMatchObject({ side: "erp", field: "territory", action: "pause-creates" });
    expect(pausedSpec(SPEC, r.pauses).objects[0].create).toBe("erp->crm");
    expect(r.pauses.customer.fields).toEqual({});
  });

  it("policies: alert-only pauses nothing; ignore-additions drops added options and new fields", () => {
    const before = schemas();
    const now = schemas();
    delete now.erp.entities.Customer.fields.tax_id;
    now.crm.entities.Account.fields.type = fd("type", "enum", { options: ["", "Customer", "Partner", "Reseller"] });
    now.crm.entities.Account.fields.rating = fd("rating", "int");
    const alertOnly = diffDrift(SPEC, now, before, settings({ drift: "alert-only" }));
    expect(alertOnly.pauses).toEqual({});
    expect(alertOnly.findings.filter((f) => f.action === "alert").map((f) => f.kind)).toEqual(
      expect.arrayContaining(["field-removed", "options-changed"]),
    );
    const pause = diffDrift(SPEC, now, before, settings());
    expect(pause.findings.some((f) => f.kind === "options-changed")).toBe(true);
    expect(pause.findings.some((f) => f.kind === "field-added" && f.field === "rating")).toBe(true);
    const ignore = diffDrift(SPEC, now, before, settings({ objects: { customer: { drift: "ignore-additions" } } }));
    expect(ignore.findings.some((f) => f.kind === "options-changed" || f.kind === "field-added")).toBe(false);
    expect(ignore.pauses.customer.fields["sicCode|tax_id"]).toBeDefined();
  });

  it("without a snapshot: missing fields are still caught against the file; types are not compared", () => {
    const now = schemas();
    now.erp.entities.Item.fields.opening_stock = fd("opening_stock", "string");
    delete now.erp.entities.Customer.fields.customer_name;
    const r = diffDrift(SPEC, now, {}, settings());
    expect(r.baseline).toEqual({ crm: false, erp: false });
    expect(r.findings.map((f) => f.kind)).toEqual(["field-removed"]);
  });

  it("an aggregate side: a renamed summed field pauses its mapping (or, unmapped, just that sum) and leaves the sum without it", () => {
    const spec = loadSpec(
      `
version: 1
name: agg
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
objects:
  stock:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Bin, identity: item_code, aggregate: { groupBy: item_code, sum: [actual_qty, projected_qty] } }
    create: link-only
    fields:
      - { crm: cStockQty, erp: actual_qty, direction: erp->crm }
`,
      "agg.yaml",
    );
    const bin = (a: string, p: string) => ({
      crm: { entities: { Product: entity("Product", [fd("cErpItemCode", "string"), fd("cStockQty", "float")]) } },
      erp: { entities: { Bin: entity("Bin", [fd("item_code", "string"), fd(a, "float"), fd(p, "float")]) } },
    });
    const mapped = diffDrift(spec, bin("actual_quantity", "projected_qty"), bin("actual_qty", "projected_qty"), settings());
    expect(mapped.findings.find((f) => f.kind === "field-removed")).toMatchObject({ field: "actual_qty", suggestion: "actual_quantity" });
    const run1 = pausedSpec(spec, mapped.pauses).objects[0];
    expect(run1.fields).toEqual([]);
    expect(run1.erp.aggregate?.sum).toEqual(["projected_qty"]);
    const unmapped = diffDrift(spec, bin("actual_qty", "projected_quantity"), bin("actual_qty", "projected_qty"), settings());
    expect(unmapped.findings.find((f) => f.kind === "field-removed")).toMatchObject({
      field: "projected_qty",
      mapping: "aggregate:erp:projected_qty",
      action: "pause-mapping",
    });
    const run2 = pausedSpec(spec, unmapped.pauses).objects[0];
    expect(run2.fields).toHaveLength(1);
    expect(run2.erp.aggregate?.sum).toEqual(["actual_qty"]);
    expect(spec.objects[0].erp.aggregate?.sum).toEqual(["actual_qty", "projected_qty"]);
  });

  it("suggestRename needs a similar name of the same type", () => {
    const now = entity("X", [fd("stock_qty_v2", "float"), fd("stock_note", "string")]);
    expect(suggestRename("stock_qty", fd("stock_qty", "float"), now, entity("X", []))).toBe("stock_qty_v2");
    expect(suggestRename("stock_qty", fd("stock_qty", "int"), now, entity("X", []))).toBeUndefined();
    expect(suggestRename("price", undefined, now, undefined)).toBeUndefined();
  });
});

describe("settings", () => {
  it("defaults, durations, per object; invalid values are refused with the place", () => {
    const s = parseMonitorSettings(
      "drift: alert-only\nescalateAfter: 5m\nobjects:\n  item:\n    freshness: 10m\n    keyFields: [{ field: opening_stock, window: 2h }]\n",
    );
    expect(s).toMatchObject({ drift: "alert-only", escalateAfterMs: 300_000, errorRate: 0.01 });
    expect(s.objects.item).toEqual({ freshnessMs: 600_000, keyFields: [{ field: "opening_stock", windowMs: 7_200_000, minReads: 50 }] });
    expect(() => parseMonitorSettings("drift: sometimes")).toThrow(/drift/);
    expect(() => parseMonitorSettings("escalateAfter: soon")).toThrow(/escalateAfter/);
  });
});

describe("error rate", () => {
  const counts = (read: number, quarantined: number) => ({ read, applied: read - quarantined, unchanged: 0, held: 0, quarantined });
  it("is the higher of quarantined records and failing API calls; client refusals do not count", () => {
    expect(errorRateOf({ object: "o", counts: counts(100, 2), api: {} }).rate).toBeCloseTo(0.02);
    expect(
      errorRateOf({ object: "o", counts: counts(10, 0), api: { erp: { calls: 40, errors: { Transient: 2, ValidationRejected: 5 } } } })
        .rate,
    ).toBeCloseTo(0.05);
    expect(errorRateOf({ object: "o", counts: counts(0, 0), api: {}, failed: "Transient: boom" }).rate).toBe(1);
  });
});

/**
 * A tiny SMTP server for the alert tests: enough of the protocol to take messages (into `mails`);
 * `answer` may reply to a command line first (EHLO, STARTTLS, AUTH …), anything else gets 250.
 */
async function smtpServer(mails: string[], answer?: (line: string) => string | undefined): Promise<{ server: TcpServer; port: number }> {
  const server = createTcp((sock) => {
    sock.setEncoding("utf8");
    let data = false;
    let buf = "";
    sock.write("220 test ESMTP\r\n");
    sock.on("data", (d: string) => {
      buf += d;
      for (;;) {
        if (data) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          mails.push(buf.slice(0, end));
          buf = buf.slice(end + 5);
          data = false;
          sock.write("250 queued\r\n");
          continue;
        }
        const i = buf.indexOf("\r\n");
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const special = answer?.(line);
        if (special !== undefined) sock.write(special);
        else if (line === "DATA") {
          data = true;
          sock.write("354 go\r\n");
        } else if (line === "QUIT") sock.end("221 bye\r\n");
        else sock.write("250 ok\r\n");
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

describe("alerts", () => {
  let store: Store;
  let hook: Server;
  let smtp: TcpServer;
  const posts: Array<{ path: string; body: { text: string } }> = [];
  const mails: string[] = [];
  let hookUrl = "";
  let smtpPort = 0;

  beforeAll(async () => {
    store = await openTestStore();
    hook = createHttp((req, res) => {
      let b = "";
      req.on("data", (d) => {
        b += String(d);
      });
      req.on("end", () => {
        posts.push({ path: req.url ?? "", body: JSON.parse(b) });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
    ({ server: smtp, port: smtpPort } = await smtpServer(mails));
  });

  afterAll(async () => {
    await store?.close();
    await new Promise<void>((r) => hook.close(() => r()));
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  it("one incident per rule+object: the owner hears once (webhook {text}, e-mail, log); unacknowledged → the secondary owner, once", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const spec = {
      ...SPEC,
      owner: { ...SPEC.owner, webhook: `${hookUrl}/owner` },
      secondaryOwner: { name: "S", email: "s@example.com", webhook: `${hookUrl}/second` },
    };
    const logged: string[] = [];
    const logger = {
      info: () => {},
      warn: (_o: object, m?: string) => logged.push(m ?? ""),
      error: (_o: object, m?: string) => logged.push(m ?? ""),
    };
    const alerter = new Alerter({
      spec,
      store,
      settings: settings({ escalateAfterMs: 60_000, smtp: { host: "127.0.0.1", port: smtpPort, from: "accord@example.com" } }),
      logger,
      now: () => now,
    });
    for (let i = 0; i < 20; i++)
      await alerter.raise({ rule: "error-rate", object: "customer", severity: "warning", message: `run ${i}: 5 % failed` });
    expect(posts.filter((p) => p.path === "/owner")).toHaveLength(1);
    expect(posts[0].body.text).toMatch(/error-rate \/ customer: run 0: 5 % failed/);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(/Subject: \[accord unit\] warning: error-rate \(customer\)/);
    expect(logged).toHaveLength(1);
    const [incident] = await alerter.active();
    expect(incident.occurrences).toBe(20);

    // stored notifiedAt is the real clock; move our clock past the window
    now = new Date(Date.now() + 61_000);
    expect((await alerter.escalate()).map((a) => a.id)).toEqual([incident.id]);
    expect(await alerter.escalate()).toEqual([]);
    expect(posts.filter((p) => p.path === "/second")).toHaveLength(1);
    expect(posts.find((p) => p.path === "/second")?.body.text).toMatch(/ESCALATED/);

    // acknowledged incidents are not escalated; resolved ones let the rule open a new incident
    const { alert: other } = await alerter.raise({ rule: "auth", object: "erp", severity: "critical", message: "401" });
    await store.ackAlert?.(other.id, "o");
    expect(await alerter.escalate()).toEqual([]);
    await alerter.resolve("error-rate", "customer");
    expect((await alerter.raise({ rule: "error-rate", object: "customer", severity: "warning", message: "again" })).opened).toBe(true);
  });

  it("the stale-value guard: a key field unchanged while its records keep changing", async () => {
    const s2 = await openTestStore();
    try {
      const alerter = new Alerter({ spec: SPEC, store: s2, settings: settings() });
      const health = new HealthRules({
        spec: SPEC,
        store: s2,
        settings: settings({ objects: { item: { keyFields: [{ field: "opening_stock", windowMs: 3_600_000, minReads: 10 }] } } }),
        alerter,
      });
      const run = await s2.startRun("unit", "item", "sync");
      await s2.finishRun(run.id, "ok", { read: 30, applied: 0, unchanged: 30, held: 0, quarantined: 0 });
      await health.checkFreshness();
      expect((await alerter.active()).map((a) => [a.rule, a.object])).toContainEqual(["stale-value", "item.opening_stock"]);
      await s2.logChanges([
        {
          integration: "unit",
          object: "item",
          runId: run.id,
          linkId: null,
          target: "crm",
          recordId: "P1",
          field: "weight",
          before: 1,
          after: 2,
          source: "erp",
          rule: "one-sided change",
        },
      ]);
      await health.checkFreshness();
      expect((await alerter.active()).some((a) => a.rule === "stale-value")).toBe(false);
    } finally {
      await s2.close();
    }
  });
});

describe("alert e-mail security (nodemailer)", () => {
  /** An SMTP server that offers AUTH PLAIN but no STARTTLS, and records what it was told. */
  let server: TcpServer;
  let port = 0;
  const seen: { auth: string[]; mails: string[] } = { auth: [], mails: [] };
  let store: Store;

  beforeAll(async () => {
    store = await openTestStore();
    ({ server, port } = await smtpServer(seen.mails, (line) => {
      if (/^EHLO /i.test(line)) return "250-test\r\n250 AUTH PLAIN\r\n";
      if (/^STARTTLS/i.test(line)) return "502 5.5.1 STARTTLS not offered\r\n";
      if (!/^AUTH PLAIN /i.test(line)) return undefined;
      const [, user, pass] = Buffer.from(line.slice(11), "base64").toString("utf8").split("\0");
      seen.auth.push(`${user}:${pass}`);
      return pass === "s3cret-from-env" ? "235 ok\r\n" : "535 bad credentials\r\n";
    }));
  });
  afterAll(async () => {
    await store?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const alerterWith = (smtp: MonitorSettings["smtp"], env: Record<string, string>) =>
    new Alerter({ spec: { ...SPEC, owner: { name: "O", email: "o@example.com" } }, store, settings: settings({ smtp }), env });

  it("logs in with the password from the integration's environment (never from the file)", async () => {
    const a = alerterWith({ host: "127.0.0.1", port, from: "accord@example.com", tls: "none", user: "accord", password: "${SMTP_PW}" }, { SMTP_PW: "s3cret-from-env" });
    await a.raise({ rule: "auth", object: "crm", severity: "critical", message: "401 from the CRM" });
    expect(a.deliveries.filter((d) => d.channel === "email")).toEqual([expect.objectContaining({ ok: true })]);
    expect(seen.auth).toEqual(["accord:s3cret-from-env"]);
    expect(seen.mails.at(-1)).toMatch(/401 from the CRM/);
  });

  it("requires STARTTLS by default: a server without it gets no mail and the failure says what to change", async () => {
    const before = seen.mails.length;
    const a = alerterWith({ host: "127.0.0.1", port, from: "accord@example.com", tls: "starttls", user: "accord", password: "${SMTP_PW}" }, { SMTP_PW: "s3cret-from-env" });
    await a.raise({ rule: "auth", object: "erp", severity: "critical", message: "401 from the ERP" });
    const [d] = a.deliveries.filter((x) => x.channel === "email");
    expect(d?.ok).toBe(false);
    expect(d?.error).toMatch(/STARTTLS/);
    expect(seen.mails.length).toBe(before);
  });

  it("a missing password variable is named in the failure, and its value never appears", async () => {
    const a = alerterWith({ host: "127.0.0.1", port, from: "accord@example.com", tls: "none", user: "accord", password: "${SMTP_MISSING}" }, {});
    await a.raise({ rule: "freshness", object: "customer", severity: "warning", message: "stale" });
    const [d] = a.deliveries.filter((x) => x.channel === "email");
    expect(d?.ok).toBe(false);
    expect(d?.error).toMatch(/SMTP_MISSING is not set/);
  });

  it("the file refuses a literal SMTP password, pointing at its line", () => {
    const text = `version: 1
name: pw
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
monitor:
  smtp: { host: smtp.example.com, from: a@example.com, user: accord, password: hunter2-literal }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
`;
    let message = "";
    try {
      loadSpec(text, "pw.yaml");
    } catch (err) {
      message = String((err as Error).message);
    }
    expect(message).toMatch(/line 8: monitor\.smtp\.password/);
    expect(message).toMatch(/SMTP password must be a \$\{ENV_VAR\} reference/);
    expect(message).not.toContain("hunter2-literal");
  });

  it("defaults: STARTTLS on port 587 for a remote host, none on port 25 for a relay on this machine", () => {
    const remote = loadSpec(
      `version: 1
name: d
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${K}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:2", credentials: { apiKey: "\${K}", apiSecret: "\${K}" } }
owner: { name: O, email: o@example.com }
monitor:
  smtp: { host: smtp.example.com, from: a@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    fields:
      - { crm: name, erp: customer_name, direction: both }
`,
      "d.yaml",
    );
    expect(remote.monitor?.smtp).toEqual({ host: "smtp.example.com", port: 587, from: "a@example.com" });
    expect(defaultSmtpTls("smtp.example.com")).toBe("starttls");
    expect(defaultSmtpTls("127.0.0.1")).toBe("none");
  });
});

describe("freshness and record counts", () => {
  it("an object without a recent successful run raises freshness; a fresh run resolves it", async () => {
    const s2 = await openTestStore();
    try {
      const alerter = new Alerter({ spec: SPEC, store: s2, settings: settings() });
      const health = new HealthRules({
        spec: SPEC,
        store: s2,
        settings: settings({ objects: { customer: { freshnessMs: 60_000 } } }),
        alerter,
      });
      await health.checkFreshness(new Date(), new Set(["item"]));
      expect((await alerter.active()).map((a) => [a.rule, a.object])).toEqual([["freshness", "customer"]]);
      const run = await s2.startRun("unit", "customer", "sync");
      await s2.finishRun(run.id, "ok", { read: 0, applied: 0, unchanged: 0, held: 0, quarantined: 0 });
      await health.checkFreshness(new Date(), new Set(["item"]));
      expect(await alerter.active()).toEqual([]);
      await health.checkFreshness(new Date(Date.now() + 120_000), new Set(["item"]));
      expect((await alerter.active()).map((a) => a.rule)).toEqual(["freshness"]);
    } finally {
      await s2.close();
    }
  });

  it("record counts diverging beyond the threshold raise count-divergence (objects with filters are not checked)", async () => {
    const s2 = await openTestStore();
    const lister = (n: number) =>
      ({
        listIds: async function* () {
          yield Array.from({ length: n }, (_, i) => String(i));
        },
      }) as unknown as Parameters<HealthRules["checkCounts"]>[0];
    try {
      const alerter = new Alerter({ spec: SPEC, store: s2, settings: settings() });
      const health = new HealthRules({ spec: SPEC, store: s2, settings: settings(), alerter });
      const r1 = await health.checkCounts(lister(100), lister(97));
      expect(r1.customer).toEqual({ crm: 100, erp: 97 });
      expect(await alerter.active()).toEqual([]); // 3 % < 5 %
      await health.checkCounts(lister(100), lister(80));
      expect((await alerter.active()).map((a) => [a.rule, a.object])).toEqual(
        expect.arrayContaining([
          ["count-divergence", "customer"],
          ["count-divergence", "item"],
        ]),
      );
    } finally {
      await s2.close();
    }
  });
});

describe("webhook verification", () => {
  it("unsigned, forged, good and replayed calls (EspoCRM signature)", async () => {
    const conn = await createConnector("espocrm", { url: "http://127.0.0.1:1", credentials: { apiKey: "k" } });
    const guard = new ReplayGuard(60_000);
    const body = Buffer.from('[{"id":"a1","name":"X"}]');
    const url = "/webhooks/crm?event=Account.update";
    const sign = (secret: string) => Buffer.from(`wh1:${createHmac("sha256", secret).update(body).digest("hex")}`).toString("base64");
    expect(verifyWebhook("crm", conn, ["s1"], { headers: {}, url, rawBody: body }, guard).status).toBe(401);
    expect(verifyWebhook("crm", conn, ["s1"], { headers: { signature: sign("nope") }, url, rawBody: body }, guard).result).toBe(
      "bad-signature",
    );
    const ok = verifyWebhook("crm", conn, ["other", "s1"], { headers: { signature: sign("s1") }, url, rawBody: body }, guard);
    expect(ok).toMatchObject({ status: 200, result: "accepted" });
    expect(ok.events).toEqual([{ id: "a1", kind: "update", entity: "Account", values: { id: "a1", name: "X" } }]);
    expect(verifyWebhook("crm", conn, ["s1"], { headers: { signature: sign("s1") }, url, rawBody: body }, guard).status).toBe(409);
    expect(verifyWebhook("crm", conn, [], { headers: { signature: sign("s1") }, url: `${url}&x=1`, rawBody: body }, guard).status).toBe(
      401,
    );
    await conn.close();
  });
});
