/** Webhooks of the emulated EspoCRM (reference §5), delivered to a real receiver on 127.0.0.1. */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { call, control } from "./espocrm-client.ts";

interface Received {
  path: string;
  raw: string;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: parsed payload
  items: any[];
}

let sb: EspoCrmSandbox;
let receiver: Server;
let base: string;
const received: Received[] = [];
/** Status the receiver answers, per path (default 200). */
const answer = new Map<string, number>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "/";
      received.push({ path, raw, headers: req.headers, items: JSON.parse(raw) });
      res.writeHead(answer.get(path) ?? 200);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  sb = await startEspoCrmSandbox({ webhookDelayMs: 30, webhookRetryMs: 30 });
});
afterAll(async () => {
  await sb.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  sb.control.reset();
  received.length = 0;
  answer.clear();
});

async function subscribe(event: string, path: string, extra: Record<string, unknown> = {}) {
  const r = await call(sb, "POST", "/Webhook", { body: { event, url: `${base}${path}`, ...extra } });
  expect(r.status).toBe(201);
  return r.json as { id: string; secretKey: string; event: string };
}

async function waitFor(pred: () => boolean, ms = 3000) {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error("timed out waiting for webhook delivery");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("webhook subscription", () => {
  it("POST /Webhook → 201 with a 32-hex secretKey, the caller as userId, parsed event parts", async () => {
    const h = await call(sb, "POST", "/Webhook", { body: { event: "Account.fieldUpdate.assignedUser", url: `${base}/x` } });
    expect(h.status).toBe(201);
    expect(h.json).toMatchObject({
      event: "Account.fieldUpdate.assignedUser",
      entityType: "Account",
      type: "fieldUpdate",
      field: "assignedUser",
      isActive: true,
      userId: sb.apiUserId,
      skipOwn: false,
    });
    expect(h.json.secretKey).toMatch(/^[0-9a-f]{32}$/);
    const list = await call(sb, "GET", "/Webhook");
    expect(list.json.total).toBe(1);
  });

  it.each([
    ["", "Event is empty."],
    ["Account.explode", "Not supported event."],
    ["Widget.create", "Entity type is not available for Webhooks."],
    ["Account.fieldUpdate", "Field is empty."],
    ["Account.fieldUpdate.assignedUserId", "Field does not exist."],
  ])("event %j → 403 %s", async (event, reason) => {
    const r = await call(sb, "POST", "/Webhook", { body: { event, url: `${base}/x` } });
    expect(r.status).toBe(403);
    expect(r.headers.get("x-status-reason")).toBe(reason);
  });

  it("url is required; changing the event is refused; DELETE unsubscribes", async () => {
    const r = await call(sb, "POST", "/Webhook", { body: { event: "Account.create" } });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-status-reason")).toBe("Field validation failure; entityType: Webhook, field: url, type: required.");
    const h = await subscribe("Account.create", "/c");
    const ch = await call(sb, "PUT", `/Webhook/${h.id}`, { body: { event: "Account.update" } });
    expect(ch.status).toBe(403);
    expect(ch.headers.get("x-status-reason")).toBe("Event can't be changed.");
    expect((await call(sb, "DELETE", `/Webhook/${h.id}`)).text).toBe("true");
    expect((await call(sb, "GET", "/Webhook")).json.total).toBe(0);
  });
});

describe("webhook delivery", () => {
  it("create: full record in a JSON array, Signature = base64(id:HMAC_SHA256_hex(rawBody)), legacy X-Signature binary", async () => {
    const h = await subscribe("Account.create", "/create");
    const a = await call(sb, "POST", "/Account", { body: { name: "Ünï / Corp" } });
    await waitFor(() => received.length === 1);
    const got = received[0] as Received;
    expect(got.items).toHaveLength(1);
    expect(got.items[0]).toMatchObject({ id: a.json.id, name: "Ünï / Corp", createdById: sb.apiUserId });
    // PHP bytes: escaped slash and \u escapes — a re-serialisation would not verify.
    expect(got.raw).toContain("\\/");
    expect(got.raw).toContain("\\u00dc");
    const hex = createHmac("sha256", h.secretKey).update(got.raw).digest("hex");
    expect(got.headers.signature).toBe(Buffer.from(`${h.id}:${hex}`).toString("base64"));
    const bin = createHmac("sha256", h.secretKey).update(got.raw).digest();
    expect(got.headers["x-signature"]).toBe(Buffer.concat([Buffer.from(`${h.id}:`), bin]).toString("base64"));
    const reser = createHmac("sha256", h.secretKey).update(JSON.stringify(got.items)).digest("hex");
    expect(reser).not.toBe(hex);
    expect(got.headers["content-type"]).toBe("application/json");
  });

  it("update carries only changed attributes (+modifiedById when it changes); no-op update sends nothing", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "U", sicCode: "1" } });
    await subscribe("Account.update", "/update");
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "2", name: "U" } });
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "2" } });
    await sb.control.actAs(sb.control.personUserId, "update", "Account", a.json.id, { type: "Customer" });
    await waitFor(() => received.reduce((n, r) => n + r.items.length, 0) >= 2);
    await new Promise((r) => setTimeout(r, 80));
    const items = received.flatMap((r) => r.items);
    expect(items).toHaveLength(2);
    expect(items[0]).toEqual({ id: a.json.id, sicCode: "2" });
    expect(items[1]).toEqual({ id: a.json.id, type: "Customer", modifiedById: sb.control.personUserId, modifiedByName: "Jane Doe" });
  });

  it("fieldUpdate fires only when that field changed and carries all its attributes; delete carries {id}", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "F" } });
    await subscribe("Account.fieldUpdate.billingAddress", "/field");
    await subscribe("Account.delete", "/delete");
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "9" } });
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { billingAddressCity: "Berlin" } });
    await call(sb, "DELETE", `/Account/${a.json.id}`);
    await waitFor(() => received.length >= 2);
    const field = received.find((r) => r.path === "/field") as Received;
    expect(field.items).toEqual([
      {
        id: a.json.id,
        billingAddressStreet: null,
        billingAddressCity: "Berlin",
        billingAddressState: null,
        billingAddressCountry: null,
        billingAddressPostalCode: null,
      },
    ]);
    expect((received.find((r) => r.path === "/delete") as Received).items).toEqual([{ id: a.json.id }]);
  });

  it("batches: at most 50 items per POST, oldest first", async () => {
    await subscribe("Contact.create", "/batch");
    for (let i = 0; i < 60; i++) await call(sb, "POST", "/Contact", { body: { lastName: `L${i}` } });
    await waitFor(() => received.reduce((n, r) => n + r.items.length, 0) >= 60);
    expect(received.map((r) => r.items.length).sort((x, y) => y - x)[0]).toBeLessThanOrEqual(50);
    expect(received.flatMap((r) => r.items).map((x) => x.lastName)).toEqual(Array.from({ length: 60 }, (_, i) => `L${i}`));
  });

  it("skipOwn: the webhook user's own writes are not queued; a person's are", async () => {
    await subscribe("Account.create", "/own", { skipOwn: true });
    await call(sb, "POST", "/Account", { body: { name: "Mine" } });
    sb.control.actAs(sb.control.personUserId, "create", "Account", null, { name: "Theirs" });
    await waitFor(() => received.length >= 1);
    await new Promise((r) => setTimeout(r, 80));
    expect(received.flatMap((r) => r.items).map((x) => x.name)).toEqual(["Theirs"]);
  });

  it("retry rules: 500 retried (4 attempts then failed); 400 failed at once; 410 deletes the webhook", async () => {
    answer.set("/r500", 500);
    answer.set("/r400", 400);
    answer.set("/r410", 410);
    await subscribe("Account.create", "/r500");
    await subscribe("Account.create", "/r400");
    const gone = await subscribe("Account.create", "/r410");
    await call(sb, "POST", "/Account", { body: { name: "R" } });
    await waitFor(() => received.filter((r) => r.path === "/r500").length >= 4);
    await new Promise((r) => setTimeout(r, 150));
    expect(received.filter((r) => r.path === "/r500")).toHaveLength(4);
    expect(received.filter((r) => r.path === "/r400")).toHaveLength(1);
    expect(received.filter((r) => r.path === "/r410")).toHaveLength(1);
    expect((await call(sb, "GET", `/Webhook/${gone.id}`)).status).toBe(404);
    expect(sb.webhooks.pending()).toHaveLength(0);
  });

  it("the delay is honoured and POST /__sandbox/webhooks/flush delivers at once", async () => {
    const slow = await startEspoCrmSandbox({ webhookDelayMs: 60_000 });
    try {
      await call(slow, "POST", "/Webhook", { body: { event: "Account.create", url: `${base}/slow` } });
      await call(slow, "POST", "/Account", { body: { name: "Later" } });
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toHaveLength(0);
      const f = await control(slow, "POST", "/webhooks/flush");
      expect(f.json.sent).toBe(1);
      expect(received[0]?.items[0].name).toBe("Later");
    } finally {
      await slow.close();
    }
  });
});
