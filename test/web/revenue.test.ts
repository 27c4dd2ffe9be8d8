/**
 * GET /api/integrations/:i/revenue: the revenue report through the console's live connectors, against
 * the generated sandboxes with examples/espocrm-erpnext.yaml's reports.revenue. 401 without a session;
 * a viewer reads it; totals and periods equal src/flows/revenue.ts's own report over the same data;
 * 409 without a reports.revenue section, 503 without connectors, 400 on a bad period; in the OpenAPI document.
 */
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedContext, openContextFromFile } from "../../src/engine/context.ts";
import { loadRevenueModel, type RevenueReport, revenueReport } from "../../src/flows/revenue.ts";
import { type Sandboxes, startSandboxes } from "../../src/sandbox/index.ts";
import { createServer } from "../../src/server/index.ts";
import { addConsoleUser } from "../../src/server/users.ts";
import { testStoreOptions } from "../support/store.ts";

const EXAMPLE = join(resolve(import.meta.dirname, "../.."), "examples/espocrm-erpnext.yaml");
const PASSWORD = "a long enough passphrase";
const FROM = "2000-01-01";
const TO = "2030-12-31";

let sb: Sandboxes;
let opened: OpenedContext;
let app: FastifyInstance;
let cookie = "";

beforeAll(async () => {
  sb = await startSandboxes({ accounts: 30, webhookDelayMs: 0 });
  opened = await openContextFromFile(EXAMPLE, {
    env: {
      ESPOCRM_URL: sb.crm.url,
      ESPOCRM_API_KEY: sb.crm.apiKey,
      ERPNEXT_URL: sb.erp.url,
      ERPNEXT_API_KEY: sb.erp.apiKey,
      ERPNEXT_API_SECRET: sb.erp.apiSecret,
    },
    store: await testStoreOptions(),
  });
  const { ctx } = opened;
  const spec = ctx.spec;
  // the same file without a reports section, and one the console has no connectors for
  const noReport = { ...spec, name: "no-report", reports: undefined };
  const offline = { ...spec, name: "offline" };
  await addConsoleUser(ctx.store, "vic", "viewer", PASSWORD);
  app = await createServer({
    store: ctx.store,
    specs: [spec, noReport, offline],
    systems: { [spec.name]: { crm: ctx.crm, erp: ctx.erp }, "no-report": { crm: ctx.crm, erp: ctx.erp } },
  });
  await app.ready();
  const res = await app.inject({ method: "POST", url: "/api/login", payload: { name: "vic", password: PASSWORD } });
  expect(res.statusCode).toBe(200);
  cookie = ([] as string[])
    .concat(res.headers["set-cookie"] ?? [])
    .map((c) => c.split(";")[0])
    .join("; ");
}, 120_000);

afterAll(async () => {
  await app?.close();
  await opened?.close();
  await sb?.close();
});

describe("GET /api/integrations/:i/revenue", () => {
  const path = () => `/api/integrations/${encodeURIComponent(opened.ctx.spec.name)}/revenue`;

  it("answers 401 without a session", async () => {
    const res = await app.inject({ method: "GET", url: `${path()}?from=${FROM}&to=${TO}` });
    expect(res.statusCode).toBe(401);
  });

  it("a viewer reads the report; totals and periods equal the report function's over the same data", async () => {
    for (const by of ["month", "quarter", "day"] as const) {
      const res = await app.inject({ method: "GET", url: `${path()}?from=${FROM}&to=${TO}&by=${by}`, headers: { cookie } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as RevenueReport;
      const expected = revenueReport(opened.ctx, await loadRevenueModel(opened.ctx), { from: FROM, to: TO, by });
      expect(body.by).toBe(by);
      expect(Object.keys(body).sort()).toEqual(["basis", "by", "counts", "exceptions", "from", "integration", "periods", "to", "totals"]);
      expect(body.totals).toEqual(expected.totals);
      expect(body.periods).toEqual(expected.periods);
      expect(body.counts).toEqual(expected.counts);
      expect(body.exceptions).toEqual(expected.exceptions);
      // the generated data has figures: a report of zeros would prove nothing
      expect(body.totals.bookings).toBeGreaterThan(0);
      expect(body.totals.invoiced).toBeGreaterThan(0);
      const sum = body.periods.reduce((a, p) => a + p.bookings, 0);
      expect(Math.round(sum * 100) / 100).toBeCloseTo(body.totals.bookings, 2);
    }
  });

  it("month is the default period; a bad date or period is refused", async () => {
    const res = await app.inject({ method: "GET", url: `${path()}?from=${FROM}&to=${TO}`, headers: { cookie } });
    expect(res.json().by).toBe("month");
    expect((await app.inject({ method: "GET", url: `${path()}?from=2026-13&to=${TO}`, headers: { cookie } })).statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: `${path()}?from=${FROM}&to=${TO}&by=week`, headers: { cookie } })).statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: `${path()}?to=${TO}`, headers: { cookie } })).statusCode).toBe(400);
    const reversed = await app.inject({ method: "GET", url: `${path()}?from=${TO}&to=${FROM}`, headers: { cookie } });
    expect(reversed.statusCode).toBe(422);
    expect(reversed.json().error.message).toContain("after");
  });

  it("409 without a reports.revenue section, 503 without live connectors, each saying so", async () => {
    const a = await app.inject({ method: "GET", url: `/api/integrations/no-report/revenue?from=${FROM}&to=${TO}`, headers: { cookie } });
    expect(a.statusCode).toBe(409);
    expect(a.json().error.message).toContain("reports.revenue");
    const b = await app.inject({ method: "GET", url: `/api/integrations/offline/revenue?from=${FROM}&to=${TO}`, headers: { cookie } });
    expect(b.statusCode).toBe(503);
    expect(b.json().error.message).toContain("no connection");
  });

  it("is in the OpenAPI document with its response schema", async () => {
    const doc = (await app.inject({ method: "GET", url: "/api/openapi.json", headers: { cookie } })).json();
    const op = doc.paths["/api/integrations/{integration}/revenue"]?.get;
    expect(op).toBeTruthy();
    const schema = op.responses["200"].content["application/json"].schema;
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["periods", "totals", "exceptions", "counts"]));
    expect(Object.keys(schema.properties.periods.items.properties)).toEqual(
      expect.arrayContaining(["period", "bookings", "ordered", "invoiced", "paid"]),
    );
  });
});
