/**
 * The console's HTTP API without a browser: every route but login answers 401 without a session;
 * CSRF on unsafe methods; a viewer cannot resolve a review item (403), a reviewer can; API tokens;
 * login rate limiting; the dashboard's numbers are the store's; security headers.
 */
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, LoginLimiter, startConsole } from "../../src/server/index.ts";
import { addConsoleUser, createApiToken } from "../../src/server/users.ts";
import { loadSpec } from "../../src/spec/load.ts";
import { openStore, type Store } from "../../src/store/index.ts";

const SPEC = `
version: 1
name: webapi
systems:
  crm: { type: espocrm, url: "http://127.0.0.1:1", credentials: { apiKey: "\${X_KEY}" } }
  erp: { type: erpnext, url: "http://127.0.0.1:1", credentials: { apiKey: "\${X_KEY}", apiSecret: "\${X_SECRET}" } }
owner: { name: Test Owner, email: owner@example.com }
objects:
  customer:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Customer, identity: name }
    create: both
    conflict: review
    fields:
      - { crm: name, erp: customer_name, direction: both, conflict: review }
      - { crm: website, erp: website, direction: crm->erp }
  order:
    crm: { entity: Opportunity, identity: cErpOrderName }
    erp: { entity: Sales Order, identity: name }
    create: crm->erp
    fields:
      - { crm: accountId, erp: customer, direction: crm->erp, lookup: customer }
      - { crm: amount, erp: grand_total, direction: crm->erp }
  accountInvoices:
    crm: { entity: Account, identity: cAccordId }
    erp: { entity: Sales Invoice, identity: customer }
    create: link-only
    fields:
      - { crm: cOutstanding, erp: outstanding_amount, direction: erp->crm }
`;

const PASSWORD = "correct horse battery";
const PG_URL = process.env.ACCORD_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/accord_test";
const IN_CI = process.env.CI === "true" || process.env.CI === "1";
const PG_SCHEMA = `web_api_${process.pid}_${Date.now()}`;

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}
const HAVE_PG = await pgReachable();
if (!HAVE_PG) {
  const msg = `PostgreSQL not reachable at ${PG_URL}: the console API suite runs on SQLite only`;
  if (IN_CI) throw new Error(msg);
  console.warn(msg);
}

afterAll(async () => {
  if (!HAVE_PG) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`drop schema if exists ${PG_SCHEMA} cascade`);
  await c.end();
});

apiSuite("SQLite", () => openStore({ file: ":memory:" }));
if (HAVE_PG) apiSuite("PostgreSQL", () => openStore({ url: PG_URL, schema: PG_SCHEMA }));

function apiSuite(dialect: string, open: () => Promise<Store>): void {
  describe(`console API on ${dialect}`, () => {
    let store: Store;
    let app: FastifyInstance;
    let reviewId: number;

    beforeAll(async () => {
      store = await open();
      const spec = loadSpec(SPEC, "webapi.yaml");
      await addConsoleUser(store, "ana", "admin", PASSWORD);
      await addConsoleUser(store, "rita", "reviewer", PASSWORD);
      await addConsoleUser(store, "vic", "viewer", PASSWORD);
      const link = await store.saveLink({
        integration: "webapi",
        object: "customer",
        crmId: "A1",
        erpId: "CUST-1",
        sharedId: "CUST-1",
        base: { "name|customer_name": { crm: "Acme", erp: "Acme" } },
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      });
      for (const [crmId, customer] of [
        ["O1", "CUST-1"],
        ["O2", "CUST-2"],
      ])
        await store.saveLink({
          integration: "webapi",
          object: "order",
          crmId,
          erpId: `SO-${crmId}`,
          sharedId: `SO-${crmId}`,
          base: { "accountId|customer": { crm: crmId === "O1" ? "A1" : "A2", erp: customer } },
          crmVersion: null,
          erpVersion: null,
          pinned: false,
          status: "active",
        });
      await store.saveLink({
        integration: "webapi",
        object: "accountInvoices",
        crmId: "A1",
        erpId: "CUST-1",
        sharedId: "CUST-1",
        base: { "cOutstanding|outstanding_amount": { crm: 120.5, erp: 120.5 } },
        crmVersion: null,
        erpVersion: null,
        pinned: false,
        status: "active",
      });
      const run = await store.startRun("webapi", "customer", "sync");
      await store.finishRun(run.id, "ok", { read: 10, applied: 6, unchanged: 2, held: 1, quarantined: 1 });
      const item = await store.addReview({
        integration: "webapi",
        object: "customer",
        linkId: link.id,
        kind: "conflict",
        field: "name|customer_name",
        base: "Acme",
        crm: "Acme CRM",
        erp: "Acme ERP",
        reason: "both changed",
        detail: null,
      });
      reviewId = item.id;
      app = await createServer({ store, spec, loginLimiter: new LoginLimiter({ max: 3, windowMs: 60_000 }) });
      await app.ready();
    });

    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    async function login(
      name: string,
      password = PASSWORD,
    ): Promise<{ cookie: string; csrf: string; status: number; setCookie: string[] }> {
      const res = await app.inject({ method: "POST", url: "/api/login", payload: { name, password } });
      const setCookie = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
      const cookie = setCookie.map((c) => c.split(";")[0]).join("; ");
      return { cookie, csrf: res.statusCode === 200 ? res.json().csrf : "", status: res.statusCode, setCookie };
    }

    describe("authentication", () => {
      it("answers 401 on every API route but login without a session", async () => {
        const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
        const routes: Array<[string, string]> = [
          ["GET", "/api/openapi.json"],
          ["GET", "/api/nope"],
        ];
        for (const [path, methods] of Object.entries(doc.paths))
          for (const m of Object.keys(methods)) routes.push([m.toUpperCase(), path.replace(/\{[^}]+\}/g, "1")]);
        expect(routes.length).toBeGreaterThan(15);
        let checked = 0;
        for (const [method, url] of routes) {
          const res = await app.inject({ method: method as "GET", url, payload: method === "GET" ? undefined : {} });
          if (url === "/api/login") {
            expect(res.statusCode).toBe(400); // reachable without a session: the empty body is refused by its schema
            continue;
          }
          expect(res.statusCode, `${method} ${url}`).toBe(401);
          checked++;
        }
        expect(checked).toBe(routes.length - 1);
        // a forged cookie or bearer token is no session either
        expect((await app.inject({ method: "GET", url: "/api/session", headers: { cookie: "accord_session=forged" } })).statusCode).toBe(
          401,
        );
        expect((await app.inject({ method: "GET", url: "/api/session", headers: { authorization: "Bearer acc_forged" } })).statusCode).toBe(
          401,
        );
      });

      it("signs in with HttpOnly SameSite=Strict cookies; wrong passwords are refused and rate limited per IP+user", async () => {
        const ok = await login("ana");
        expect(ok.status).toBe(200);
        const session = ok.setCookie.find((c) => c.startsWith("accord_session="));
        expect(session).toMatch(/HttpOnly/i);
        expect(session).toMatch(/SameSite=Strict/i);
        expect(session).not.toMatch(/Secure/i); // plain http here; Secure behind https
        const me = await app.inject({ method: "GET", url: "/api/session", headers: { cookie: ok.cookie } });
        expect(me.json().user).toMatchObject({ name: "ana", role: "admin" });
        expect(JSON.stringify(me.json())).not.toContain("scrypt");

        for (let i = 0; i < 3; i++) expect((await login("rita", "wrong password!")).status).toBe(401);
        expect((await login("rita", "wrong password!")).status).toBe(429);
        expect((await login("rita")).status).toBe(429); // even the right password waits
        expect((await login("vic")).status).toBe(200); // another user from the same address is not locked out
        expect((await login("nobody", "whatever")).status).toBe(401);
      });

      it("sets Secure cookies behind https (X-Forwarded-Proto with trustProxy)", async () => {
        const behind = await createServer({ store, spec: loadSpec(SPEC, "webapi.yaml"), trustProxy: true });
        try {
          const res = await behind.inject({
            method: "POST",
            url: "/api/login",
            headers: { "x-forwarded-proto": "https" },
            payload: { name: "ana", password: PASSWORD },
          });
          expect(res.statusCode).toBe(200);
          for (const c of ([] as string[]).concat(res.headers["set-cookie"] ?? [])) expect(c).toMatch(/;\s*Secure/i);
        } finally {
          await behind.close();
        }
      });

      it("needs the CSRF header on unsafe methods with a session; logout ends the session", async () => {
        const s = await login("ana");
        const no = await app.inject({ method: "POST", url: "/api/logout", headers: { cookie: s.cookie } });
        expect(no.statusCode).toBe(403);
        const wrong = await app.inject({
          method: "POST",
          url: "/api/logout",
          headers: { cookie: s.cookie, "x-csrf-token": "x".repeat(43) },
        });
        expect(wrong.statusCode).toBe(403);
        const out = await app.inject({ method: "POST", url: "/api/logout", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
        expect(out.statusCode).toBe(200);
        expect((await app.inject({ method: "GET", url: "/api/session", headers: { cookie: s.cookie } })).statusCode).toBe(401);
      });

      it("API tokens authenticate with Bearer (no CSRF needed) until revoked", async () => {
        const { token, record } = await createApiToken(store, "rita", "ci", null);
        const h = { authorization: `Bearer ${token}` };
        const me = await app.inject({ method: "GET", url: "/api/session", headers: h });
        expect(me.json().user.name).toBe("rita");
        await store.revokeApiToken?.(record.id);
        expect((await app.inject({ method: "GET", url: "/api/session", headers: h })).statusCode).toBe(401);
      });
    });

    describe("roles", () => {
      it("a viewer cannot resolve a review item (403), nor list users; a reviewer resolves it", async () => {
        const v = await login("vic");
        const res = await app.inject({
          method: "POST",
          url: `/api/reviews/${reviewId}/resolve`,
          headers: { cookie: v.cookie, "x-csrf-token": v.csrf },
          payload: { pick: "crm" },
        });
        expect(res.statusCode).toBe(403);
        expect((await store.getReview(reviewId))?.status).toBe("open");
        expect((await app.inject({ method: "GET", url: "/api/users", headers: { cookie: v.cookie } })).statusCode).toBe(403);
        // the viewer reads
        const view = await app.inject({ method: "GET", url: `/api/reviews/${reviewId}`, headers: { cookie: v.cookie } });
        expect(view.json()).toMatchObject({
          item: { crm: "Acme CRM", erp: "Acme ERP" },
          rule: { direction: "both" },
          choices: ["pick", "value"],
        });

        const { token } = await createApiToken(store, "rita", "ci2", null);
        const bad = await app.inject({
          method: "POST",
          url: `/api/reviews/${reviewId}/resolve`,
          headers: { authorization: `Bearer ${token}` },
          payload: { pick: "crm", accept: true },
        });
        expect(bad.statusCode).toBe(422);
        const ok = await app.inject({
          method: "POST",
          url: `/api/reviews/${reviewId}/resolve`,
          headers: { authorization: `Bearer ${token}` },
          payload: { value: "Acme Holding" },
        });
        expect(ok.statusCode).toBe(200);
        expect(await store.getReview(reviewId)).toMatchObject({
          status: "resolved",
          resolvedBy: "rita",
          resolution: { value: "Acme Holding" },
        });
        const again = await app.inject({
          method: "POST",
          url: `/api/reviews/${reviewId}/resolve`,
          headers: { authorization: `Bearer ${token}` },
          payload: { pick: "erp" },
        });
        expect(again.statusCode).toBe(422);
      });
    });

    describe("data", () => {
      it("dashboard numbers are the store's; history, mapping, customers, changelog, OpenAPI answer", async () => {
        const s = await login("ana");
        const get = async (url: string) => {
          const r = await app.inject({ method: "GET", url, headers: { cookie: s.cookie } });
          expect(r.statusCode, url).toBe(200);
          return r.json();
        };
        const d = await get("/api/integrations/webapi/dashboard");
        const [run] = await store.listRuns("webapi", { object: "customer" });
        expect(d.objects[0].lastRun.counts).toEqual(run.counts);
        expect(d.objects[0].errorRate).toBeCloseTo(0.1);
        expect(d.objects[0].links).toBe(1);
        expect(d.objects.map((o: { object: string }) => o.object)).toEqual(["customer", "order", "accountInvoices"]);
        expect(d.alerts).toEqual([]);
        expect((await get("/api/integrations/webapi/customers?q=acme")).items).toMatchObject([
          { crmId: "A1", erpId: "CUST-1", label: "Acme" },
        ]);
        const c = await get("/api/integrations/webapi/customers/CUST-1");
        expect(c).toMatchObject({ label: "Acme", link: { crmId: "A1" }, crm: null, live: { crm: expect.stringMatching(/without/) } });
        // step 7 objects: sales orders point at the customer through a lookup; invoice totals live on the account
        expect(c.children).toMatchObject([{ object: "order", via: "lookup", items: [{ link: { crmId: "O1" } }] }]);
        expect(c.related).toMatchObject([{ object: "accountInvoices", fields: [{ crm: "cOutstanding", base: { erp: 120.5 } }] }]);
        expect((await get("/api/integrations/webapi/mapping")).rows.length).toBe(5);
        expect(await get("/api/integrations/webapi/changelog")).toEqual({ versions: [] });
        expect((await get("/api/integrations/webapi/history/customer/A1")).link.erpId).toBe("CUST-1");
        const oa = await get("/api/openapi.json");
        expect(oa.openapi).toMatch(/^3\./);
        expect(Object.keys(oa.paths)).toContain("/api/reviews/{id}/resolve");
        const nf = await app.inject({ method: "GET", url: "/api/integrations/other/dashboard", headers: { cookie: s.cookie } });
        expect(nf.statusCode).toBe(404);
      });

      it("every response forbids inline script (CSP) and sniffing", async () => {
        const res = await app.inject({ method: "GET", url: "/" });
        expect(res.statusCode).toBe(200);
        const csp = String(res.headers["content-security-policy"]);
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain("unsafe-inline");
        expect(res.headers["x-content-type-options"]).toBe("nosniff");
      });

      it("startConsole listens on 127.0.0.1 and serves the console page", async () => {
        const c = await startConsole({ store, spec: loadSpec(SPEC, "webapi.yaml"), port: 0 });
        try {
          expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
          const page = await fetch(c.url);
          expect(page.status).toBe(200);
          expect(await page.text()).toContain('<script type="module" src="/assets/app.js">');
          expect((await fetch(`${c.url}api/session`)).status).toBe(401);
        } finally {
          await c.close();
        }
      });
    });
  });
}
