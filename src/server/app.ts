/**
 * The HTTP API and the web console (Step 9), on Fastify.
 *
 *   createServer({ store, spec | specs, systems? }) → a Fastify instance (not listening)
 *
 * Security: every /api route but POST /api/login needs a session cookie (HttpOnly, SameSite=Strict,
 * Secure behind https) or an API token (`Authorization: Bearer acc_…`); otherwise 401. Unsafe
 * methods with a session also need the double-submit CSRF token (`X-CSRF-Token` header equal to the
 * session's token, which the `accord_csrf` cookie carries); otherwise 403. Roles: viewer reads;
 * reviewer also resolves review items, acknowledges alerts and starts a sync; admin also lists users.
 * Logins are rate limited per client IP + user name. Every response carries a Content-Security-Policy
 * that forbids inline script; the console renders values as text only (src/web).
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { resolveReview, runSync } from "../engine/index.ts";
import { isAccordError, NotFound, ValidationRejected } from "../errors.ts";
import { rejectMatch } from "../quality/link.ts";
import { mappingRows, renderMappingDoc } from "../spec/doc.ts";
import type { IntegrationSpec } from "../spec/model.ts";
import type { JobQueue } from "../runtime/jobs/types.ts";
import { admitWebhook, ReplayGuard } from "../runtime/webhooks.ts";
import type { Json, Store, User } from "../store/types.ts";
import { dummyPasswordHash, LoginLimiter, newToken, type Role, sameSecret, sha256, verifyPassword } from "./auth.ts";
import { canSee, fileSource, type IntegrationSource, type ServedIntegration, visibleTenant } from "./served.ts";
import { publicUser, type UserStore, userStore } from "./users.ts";
import { customer360, customerObject, dashboard, findObject, recordHistory, reviewView, type Systems, searchLinks } from "./views.ts";

export const SESSION_COOKIE = "accord_session";
export const CSRF_COOKIE = "accord_csrf";
export const CSRF_HEADER = "x-csrf-token";

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

export interface ServerOptions {
  store: Store;
  /** One integration, or several served by one console. */
  spec?: IntegrationSpec;
  specs?: IntegrationSpec[];
  /** Live connectors per integration name: customer 360 shows both systems' records; "Sync now" works. */
  systems?: Record<string, Systems>;
  /** Secure cookies: true, false, or "auto" (default: when the request came over https, X-Forwarded-Proto counted with trustProxy). */
  secureCookies?: boolean | "auto";
  /** Trust X-Forwarded-* from a reverse proxy (Fastify's trustProxy). Default false. */
  trustProxy?: boolean | string;
  /** Session lifetime (default 12 h). */
  sessionTtlMs?: number;
  loginLimiter?: LoginLimiter;
  /** Fastify logger (pino) options; default off. */
  logger?: boolean | { level: string };
  /**
   * Step 10: where the served integrations come from (registry mode: `registrySource(store, …)`, each
   * with its tenant). Default: the spec(s) above with `systems`, tenant-less. The caller closes it.
   */
  source?: IntegrationSource;
  /** Step 10: with a job queue, "Sync now" enqueues a sync job per object, and POST /webhooks/:integration/:side enqueues webhook jobs. */
  queue?: JobQueue;
  /**
   * Replay window of the webhook route (default: 10 minutes, kept in `store` when it keeps webhook
   * deliveries — so every server process on the same database refuses a replay — else in memory).
   */
  replayGuard?: ReplayGuard;
}

export interface AuthInfo {
  user: User;
  via: "session" | "token";
  csrf: string | null;
  tokenHash: string | null;
}

declare module "fastify" {
  interface FastifyRequest {
    auth: AuthInfo | null;
  }
  interface FastifyContextConfig {
    /** Reachable without a session (login). */
    public?: boolean;
    /** Least role needed. */
    role?: Role;
  }
}

const RANK: Record<Role, number> = { viewer: 0, reviewer: 1, admin: 2 };
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const WEB_DIR = resolve(import.meta.dirname, "../web");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) out.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return out;
}

function httpStatus(err: unknown): number {
  if (isAccordError(err)) {
    switch (err.errorClass) {
      case "NotFound":
        return 404;
      case "ValidationRejected":
      case "SpecError":
        return 422;
      case "Duplicate":
      case "VersionConflict":
        return 409;
      case "AuthError":
        return 502;
      case "RateLimited":
      case "Transient":
        return 503;
      default:
        return 500;
    }
  }
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === "number" && s >= 400 && s < 600 ? s : 500;
}

const S = {
  integration: { type: "object", properties: { integration: { type: "string", maxLength: 200 } }, required: ["integration"] },
  id: { type: "object", properties: { id: { type: "integer", minimum: 1 } }, required: ["id"] },
  error: {
    type: "object",
    properties: {
      error: { type: "object", properties: { class: { type: "string" }, message: { type: "string" }, hint: { type: "string" } } },
    },
  },
} as const;

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const specList = opts.specs ?? (opts.spec ? [opts.spec] : []);
  if (!specList.length && !opts.source)
    throw new Error("createServer needs a spec (or specs, or a registry source): the integration(s) the console shows");
  const source: IntegrationSource = opts.source ?? fileSource(specList, opts.systems);
  const replay = opts.replayGuard ?? new ReplayGuard(undefined, undefined, { store: opts.store });
  const store = opts.store;
  const users: UserStore = userStore(store);
  const limiter = opts.loginLimiter ?? new LoginLimiter();
  const sessionTtl = opts.sessionTtlMs ?? 12 * 3600_000;
  const assets = loadAssets(WEB_DIR);
  const syncing = new Set<string>();

  const app = Fastify({
    logger: opts.logger ?? false,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
  });
  app.decorateRequest("auth", null);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Accord console API",
        version: "1",
        description:
          "Sync health, the review queue, record history, the field-mapping document, customer 360, the revenue report, alerts and the change log. " +
          "Authenticate with the session cookie from POST /api/login (unsafe methods also need the X-CSRF-Token header) or with `Authorization: Bearer <API token>` (`accord token create`).",
      },
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
  });

  const secure = (req: FastifyRequest): boolean =>
    opts.secureCookies === undefined || opts.secureCookies === "auto" ? req.protocol === "https" : opts.secureCookies;

  // ------------------------------------------------------------ headers, errors
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cross-origin-opener-policy", "same-origin");
    if (req.url.startsWith("/api/")) reply.header("cache-control", "no-store");
    return payload;
  });

  app.setErrorHandler((err, req, reply) => {
    const validation = (err as { validation?: unknown }).validation;
    const status = validation ? 400 : httpStatus(err);
    if (status >= 500) req.log.error({ err }, "request failed");
    const e = err as Error & { hint?: string };
    const body = isAccordError(err)
      ? { error: { class: err.errorClass, message: err.message, hint: err.hint } }
      : {
          error: {
            class: validation ? "BadRequest" : "Error",
            message: status >= 500 && !validation ? "internal error (see the server log)" : e.message,
            hint: "",
          },
        };
    void reply.status(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: { class: "NotFound", message: `no route ${req.method} ${req.url.split("?")[0]}`, hint: "See /api/openapi.json." } });
  });

  // ------------------------------------------------------------ authentication
  async function authenticate(req: FastifyRequest): Promise<AuthInfo | null> {
    const header = req.headers.authorization;
    const now = new Date().toISOString();
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) return null;
      const hash = sha256(m[1]);
      const t = await users.getApiToken(hash);
      if (!t || (t.expiresAt && t.expiresAt <= now)) return null;
      const user = await users.getUser({ id: t.userId });
      if (!user || user.disabled) return null;
      await users.touchApiToken(t.id, now);
      return { user, via: "token", csrf: null, tokenHash: hash };
    }
    const raw = req.cookies[SESSION_COOKIE];
    if (!raw) return null;
    const hash = sha256(raw);
    const s = await users.getSession(hash);
    if (!s || s.expiresAt <= now) return null;
    const user = await users.getUser({ id: s.userId });
    if (!user || user.disabled) return null;
    return { user, via: "session", csrf: s.csrf, tokenHash: hash };
  }

  app.addHook("onRequest", async (req, reply) => {
    if (!req.url.startsWith("/api/") && req.url !== "/api") return;
    if (req.routeOptions.config?.public) return;
    const auth = await authenticate(req);
    if (!auth) {
      return reply.status(401).send({
        error: {
          class: "AuthError",
          message: "sign in first (session expired or missing)",
          hint: "POST /api/login, or send Authorization: Bearer <API token>.",
        },
      });
    }
    if (auth.via === "session" && UNSAFE.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== "string" || !auth.csrf || !sameSecret(sent, auth.csrf)) {
        return reply.status(403).send({
          error: {
            class: "Forbidden",
            message: "missing or wrong CSRF token",
            hint: `Send the ${CSRF_COOKIE} cookie's value in the X-CSRF-Token header.`,
          },
        });
      }
    }
    const need = req.routeOptions.config?.role;
    if (need && RANK[auth.user.role] < RANK[need]) {
      return reply.status(403).send({
        error: {
          class: "Forbidden",
          message: `${auth.user.name} is a ${auth.user.role}; this needs the ${need} role`,
          hint: "Ask an admin: accord user role NAME --role ROLE.",
        },
      });
    }
    req.auth = auth;
  });

  function who(req: FastifyRequest): AuthInfo {
    if (!req.auth) throw new Error("route reached without authentication (bug)");
    return req.auth;
  }

  /** The integrations this user may see (platform admins: all; everyone else: their tenant's). */
  function visible(req: FastifyRequest): Promise<ServedIntegration[]> {
    return source.list(visibleTenant(who(req).user));
  }

  /** The integration, if this user may see it; otherwise 404 — the same answer as for one that does not exist (existence is not revealed). */
  async function servedOf(req: FastifyRequest, name: string): Promise<ServedIntegration> {
    const s = await source.get(name);
    if (!s || !canSee(who(req).user, s.tenant)) {
      const names = (await visible(req)).map((v) => v.spec.name);
      throw new NotFound(`no integration named "${name}" on this console`, {
        hint: names.length ? `Integrations: ${names.join(", ")}.` : "No integration is visible to this user.",
      });
    }
    return s;
  }

  async function specOf(req: FastifyRequest, name: string): Promise<IntegrationSpec> {
    return (await servedOf(req, name)).spec;
  }

  /** May this user see the integration of a review item or alert? */
  async function mayTouch(req: FastifyRequest, integration: string): Promise<boolean> {
    const s = await source.get(integration);
    return s !== undefined && canSee(who(req).user, s.tenant);
  }

  // ------------------------------------------------------------ static console
  app.get("/", { schema: { hide: true } }, async (_req, reply) => {
    const a = assets.get("index.html");
    if (!a) return reply.status(500).send("console files missing");
    return reply.type(a.type).send(a.body);
  });
  app.get<{ Params: { name: string } }>("/assets/:name", { schema: { hide: true } }, async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a || req.params.name === "index.html") return reply.status(404).type("text/plain").send("not found");
    reply.header("cache-control", "no-cache");
    return reply.type(a.type).send(a.body);
  });
  app.get("/favicon.ico", { schema: { hide: true } }, async (_req, reply) => reply.status(204).send());

  // ------------------------------------------------------------ session
  app.post<{ Body: { name: string; password: string } }>(
    "/api/login",
    {
      config: { public: true },
      schema: {
        tags: ["session"],
        summary: "Sign in: sets the session and CSRF cookies",
        security: [],
        body: {
          type: "object",
          properties: {
            name: { type: "string", minLength: 1, maxLength: 64 },
            password: { type: "string", minLength: 1, maxLength: 1024 },
          },
          required: ["name", "password"],
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const { name, password } = req.body;
      const wait = limiter.retryAfterMs(req.ip, name);
      if (wait > 0) {
        reply.header("retry-after", String(Math.ceil(wait / 1000)));
        return reply.status(429).send({
          error: {
            class: "RateLimited",
            message: "too many failed sign-ins for this user from this address",
            hint: `Try again in ${Math.ceil(wait / 60000)} min.`,
          },
        });
      }
      const user = await users.getUser({ name });
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
      if (!user || !ok || user.disabled) {
        limiter.failed(req.ip, name);
        return reply.status(401).send({
          error: { class: "AuthError", message: "wrong user name or password", hint: "An admin can reset it: accord user passwd NAME." },
        });
      }
      limiter.succeeded(req.ip, name);
      const now = Date.now();
      await users.deleteSessions({ expiredBefore: new Date(now).toISOString() });
      const token = newToken();
      const csrf = newToken();
      await users.createSession({ tokenHash: sha256(token), userId: user.id, csrf, expiresAt: new Date(now + sessionTtl).toISOString() });
      const base = { path: "/", sameSite: "strict" as const, secure: secure(req), maxAge: Math.floor(sessionTtl / 1000) };
      reply.setCookie(SESSION_COOKIE, token, { ...base, httpOnly: true });
      reply.setCookie(CSRF_COOKIE, csrf, { ...base, httpOnly: false });
      return { user: publicUser(user), csrf };
    },
  );

  app.post("/api/logout", { schema: { tags: ["session"], summary: "Sign out (ends the session)" } }, async (req, reply) => {
    const a = who(req);
    if (a.via === "session" && a.tokenHash) await users.deleteSessions({ tokenHash: a.tokenHash });
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    reply.clearCookie(CSRF_COOKIE, { path: "/" });
    return { ok: true };
  });

  app.get("/api/session", { schema: { tags: ["session"], summary: "Who is signed in" } }, async (req) => {
    const a = who(req);
    return { user: publicUser(a.user), via: a.via, csrf: a.csrf, integrations: (await visible(req)).map((s) => s.spec.name) };
  });

  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/api/users",
    {
      config: { role: "admin" },
      schema: { tags: ["users"], summary: "Console users (admin; a tenant's admin sees their tenant's users)" },
    },
    async (req) => {
      const tenant = visibleTenant(who(req).user);
      const all = await users.listUsers();
      return { users: all.filter((u) => tenant === undefined || (u.tenant ?? null) === tenant).map(publicUser) };
    },
  );

  // ------------------------------------------------------------ integrations, dashboard, runs
  app.get(
    "/api/integrations",
    { schema: { tags: ["integrations"], summary: "Integrations served by this console that this user may see" } },
    async (req) => ({
      integrations: (await visible(req)).map(({ spec: s, tenant, systems, problem }) => ({
        name: s.name,
        tenant,
        description: s.description ?? null,
        owner: s.owner,
        systems: { crm: s.systems.crm.type, erp: s.systems.erp.type },
        objects: s.objects.map((o) => ({ name: o.name, crm: o.crm.entity, erp: o.erp.entity, parent: o.parent?.object ?? null })),
        customerObject: customerObject(s).name,
        live: Boolean(systems),
      problem: problem ?? null,
      })),
    }),
  );

  app.get<{ Params: { integration: string } }>(
    "/api/integrations/:integration/dashboard",
    {
      schema: {
        tags: ["health"],
        summary: "Per object: last run, counts, error rate, freshness and lag, run series; open alerts; drift",
        params: S.integration,
      },
    },
    async (req) => dashboard(store, await specOf(req, req.params.integration)),
  );

  app.get<{ Params: { integration: string }; Querystring: { object?: string; limit?: number } }>(
    "/api/integrations/:integration/runs",
    {
      schema: {
        tags: ["health"],
        summary: "Runs, newest first",
        params: S.integration,
        querystring: {
          type: "object",
          properties: { object: { type: "string" }, limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        },
      },
    },
    async (req) => {
      const spec = await specOf(req, req.params.integration);
      return { runs: await store.listRuns(spec.name, { object: req.query.object, limit: req.query.limit ?? 100 }) };
    },
  );

  app.post<{ Params: { integration: string }; Body: { objects?: string[] } }>(
    "/api/integrations/:integration/sync",
    {
      config: { role: "reviewer" },
      schema: {
        tags: ["health"],
        summary:
          "Run a sync now (applies resolved review items) of the given objects, by default those already synced; needs the server to hold the systems' credentials",
        params: S.integration,
        body: {
          type: "object",
          properties: { objects: { type: "array", items: { type: "string" }, maxItems: 100 } },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const { spec, systems: sys } = await servedOf(req, req.params.integration);
      for (const o of req.body?.objects ?? []) findObject(spec, o);
      if (opts.queue) {
        // With a job queue (Step 10): one sync job per object, run by a worker; at most one active per (integration, object).
        const objects = req.body?.objects?.length ? req.body.objects : spec.objects.map((o) => o.name);
        const queued = [];
        for (const object of objects)
          queued.push({
            object,
            jobId: await opts.queue.enqueue({ kind: "sync", integration: spec.name, object, trigger: "manual", visibleAt: Date.now() }),
          });
        return reply.status(202).send({ queued });
      }
      if (!sys)
        return reply.status(409).send({
          error: {
            class: "Unavailable",
            message: "this console has no connection to the systems",
            hint: "Start it with the systems' credentials in the environment, or run `accord sync`.",
          },
        });
      if (syncing.has(spec.name))
        return reply
          .status(409)
          .send({ error: { class: "Busy", message: "a sync of this integration is already running", hint: "Wait for it to finish." } });
      const holder = `console:${process.pid}`;
      if (store.acquireLock && !(await store.acquireLock(spec.name, holder, 15 * 60_000)))
        return reply.status(409).send({
          error: {
            class: "Busy",
            message: "`accord run` holds this integration",
            hint: "Its next scheduled run applies resolved items.",
          },
        });
      syncing.add(spec.name);
      try {
        // Default: the objects this integration already syncs (those with a sync run); none yet → all of them.
        let objects = req.body?.objects?.length ? req.body.objects : undefined;
        if (!objects) {
          const synced = new Set((await store.listRuns(spec.name, { limit: 1000 })).filter((r) => r.kind === "sync").map((r) => r.object));
          const known = spec.objects.map((o) => o.name).filter((n) => synced.has(n));
          if (known.length) objects = known;
        }
        const res = await runSync({ spec, store, crm: sys.crm, erp: sys.erp }, { objects });
        return { objects: res.objects.map((o) => ({ object: o.object, runId: o.runId, counts: o.counts })), totals: res.totals };
      } finally {
        syncing.delete(spec.name);
        await store.releaseLock?.(spec.name, holder);
      }
    },
  );

  // ------------------------------------------------------------ review queue
  app.get<{ Params: { integration: string }; Querystring: { status?: string; object?: string } }>(
    "/api/integrations/:integration/reviews",
    {
      schema: {
        tags: ["review"],
        summary: "Review items (open by default)",
        params: S.integration,
        querystring: {
          type: "object",
          properties: {
            status: { type: "string", enum: ["open", "resolved", "dismissed", "all"], default: "open" },
            object: { type: "string" },
          },
        },
      },
    },
    async (req) => {
      const spec = await specOf(req, req.params.integration);
      const status = req.query.status === "all" ? undefined : ((req.query.status ?? "open") as "open" | "resolved" | "dismissed");
      return { items: await store.listReviews(spec.name, { status, object: req.query.object }) };
    },
  );

  async function reviewOr404(req: FastifyRequest, id: number) {
    const item = await store.getReview(id);
    if (!item || !(await mayTouch(req, item.integration)))
      throw new NotFound(`review item ${id} does not exist`, { hint: "List the open items first." });
    return item;
  }

  app.get<{ Params: { id: number } }>(
    "/api/reviews/:id",
    { schema: { tags: ["review"], summary: "One review item: base, CRM and ERP values, why, the field's rule, the link", params: S.id } },
    async (req) => {
      const item = await reviewOr404(req, req.params.id);
      return reviewView(store, (await source.get(item.integration))?.spec, item);
    },
  );

  app.post<{
    Params: { id: number };
    Body: { pick?: "crm" | "erp"; value?: Json; side?: "crm" | "erp"; accept?: boolean; reject?: boolean };
  }>(
    "/api/reviews/:id/resolve",
    {
      config: { role: "reviewer" },
      schema: {
        tags: ["review"],
        summary: "Decide a review item: pick a side, give a value, accept, or (a match) reject; the next sync applies it",
        params: S.id,
        body: {
          type: "object",
          properties: {
            pick: { type: "string", enum: ["crm", "erp"] },
            value: {},
            side: { type: "string", enum: ["crm", "erp"] },
            accept: { type: "boolean", enum: [true] },
            reject: { type: "boolean", enum: [true] },
          },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const item = await reviewOr404(req, req.params.id);
      const b = req.body ?? {};
      const chosen = [b.pick !== undefined, "value" in b, b.accept === true, b.reject === true].filter(Boolean).length;
      if (chosen !== 1)
        throw new ValidationRejected("give exactly one of pick, value, accept, reject", {
          hint: 'e.g. {"pick":"crm"} or {"value":"Acme GmbH"}',
        });
      const by = who(req).user.name;
      if (b.reject) return { item: await rejectMatch(store, item.id, by) };
      if (b.side !== undefined && !("value" in b))
        throw new ValidationRejected("side goes with value", { hint: '{"value": V, "side": "erp"}' });
      const resolution = b.pick
        ? { pick: b.pick }
        : "value" in b
          ? { value: (b.value ?? null) as Json, ...(b.side ? { side: b.side } : {}) }
          : { accept: true as const };
      return { item: await resolveReview(store, item.id, resolution, by) };
    },
  );

  app.post<{ Params: { id: number } }>(
    "/api/reviews/:id/dismiss",
    { config: { role: "reviewer" }, schema: { tags: ["review"], summary: "Dismiss without deciding", params: S.id } },
    async (req) => {
      const item = await reviewOr404(req, req.params.id);
      if (item.status !== "open")
        throw new ValidationRejected(`review item ${item.id} is already ${item.status}`, { hint: "Only open items can be dismissed." });
      await store.closeReview(item.id, "dismissed");
      return { item: await store.getReview(item.id) };
    },
  );

  // ------------------------------------------------------------ history, mapping, customers
  app.get<{ Params: { integration: string; object: string; id: string } }>(
    "/api/integrations/:integration/history/:object/:id",
    {
      schema: {
        tags: ["history"],
        summary: "A record's history (by CRM id, ERP id or shared id; the linked counterpart's with it)",
        params: {
          type: "object",
          properties: { integration: { type: "string" }, object: { type: "string" }, id: { type: "string", minLength: 1, maxLength: 500 } },
          required: ["integration", "object", "id"],
        },
      },
    },
    async (req) => {
      const spec = await specOf(req, req.params.integration);
      const o = findObject(spec, req.params.object);
      return { object: o.name, id: req.params.id, ...(await recordHistory(store, spec.name, o.name, req.params.id)) };
    },
  );

  app.get<{ Params: { integration: string }; Querystring: { format?: "json" | "md" | "csv" } }>(
    "/api/integrations/:integration/mapping",
    {
      schema: {
        tags: ["spec"],
        summary: "The field-mapping document (rows as JSON, or Markdown / CSV)",
        params: S.integration,
        querystring: { type: "object", properties: { format: { type: "string", enum: ["json", "md", "csv"], default: "json" } } },
      },
    },
    async (req, reply) => {
      const spec = await specOf(req, req.params.integration);
      const f = req.query.format ?? "json";
      if (f === "md") return reply.type("text/markdown; charset=utf-8").send(renderMappingDoc(spec, "md"));
      if (f === "csv")
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="${spec.name.replace(/[^\w.-]/g, "_")}-mapping.csv"`)
          .send(renderMappingDoc(spec, "csv"));
      return { integration: spec.name, owner: spec.owner, rows: mappingRows(spec) };
    },
  );

  app.get<{ Params: { integration: string }; Querystring: { q?: string; object?: string; limit?: number } }>(
    "/api/integrations/:integration/customers",
    {
      schema: {
        tags: ["customer"],
        summary: "Find linked customers by name or id",
        params: S.integration,
        querystring: {
          type: "object",
          properties: {
            q: { type: "string", maxLength: 200 },
            object: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
          },
        },
      },
    },
    async (req) => {
      const spec = await specOf(req, req.params.integration);
      const o = req.query.object ? findObject(spec, req.query.object) : customerObject(spec);
      const found = await searchLinks(store, spec, o, req.query.q ?? "", req.query.limit ?? 50);
      return {
        object: o.name,
        items: found.map(({ link, label }) => ({
          label,
          linkId: link.id,
          crmId: link.crmId,
          erpId: link.erpId,
          sharedId: link.sharedId,
          status: link.status,
          pinned: link.pinned,
        })),
      };
    },
  );

  app.get<{ Params: { integration: string; id: string }; Querystring: { object?: string } }>(
    "/api/integrations/:integration/customers/:id",
    {
      schema: {
        tags: ["customer"],
        summary: "Customer 360: the link, both systems' records, synced fields, contacts, history, pending reviews, quarantine",
        params: {
          type: "object",
          properties: { integration: { type: "string" }, id: { type: "string", minLength: 1, maxLength: 500 } },
          required: ["integration", "id"],
        },
        querystring: { type: "object", properties: { object: { type: "string" } } },
      },
    },
    async (req) => {
      const { spec, systems } = await servedOf(req, req.params.integration);
      const o = req.query.object ? findObject(spec, req.query.object) : customerObject(spec);
      return customer360(store, spec, o.name, req.params.id, systems);
    },
  );

  app.get<{ Params: { integration: string } }>(
    "/api/integrations/:integration/drift",
    {
      schema: {
        tags: ["health"],
        summary:
          "Check schema drift now: both systems described live, compared with the file and the accepted snapshots (nothing is paused or accepted)",
        params: S.integration,
      },
    },
    async (req, reply) => {
      const { spec, systems: sys } = await servedOf(req, req.params.integration);
      if (!sys)
        return reply.status(409).send({
          error: {
            class: "Unavailable",
            message: "this console has no connection to the systems",
            hint: "Start it with the systems' credentials, or run `accord drift check`.",
          },
        });
      const { checkDrift, entitiesOf } = await import("../monitor/drift.ts");
      const { DEFAULT_SETTINGS, loadMonitorSettings } = await import("../monitor/settings.ts");
      const settings = spec.source?.file ? loadMonitorSettings(spec.source.file) : { ...DEFAULT_SETTINGS, objects: {} };
      const report = await checkDrift(spec, store, settings, { describe: (side) => sys[side].describe(entitiesOf(spec, side)) });
      return {
        integration: spec.name,
        checkedAt: report.checkedAt,
        baseline: report.baseline,
        findings: report.findings,
        pauses: report.pauses,
      };
    },
  );

  // ------------------------------------------------------------ revenue report
  const num = { type: "number" } as const;
  const periodProps = {
    bookings: num,
    bookedDeals: { type: "integer" },
    ordered: num,
    orders: { type: "integer" },
    invoiced: num,
    invoices: { type: "integer" },
    paid: num,
    payments: { type: "integer" },
  } as const;
  app.get<{ Params: { integration: string }; Querystring: { from: string; to: string; by?: "day" | "month" | "quarter" } }>(
    "/api/integrations/:integration/revenue",
    {
      schema: {
        tags: ["reports"],
        summary:
          "Revenue report: bookings, ordered, invoiced and paid per period with its exceptions, read live through the console's connectors as the file's reports.revenue names them",
        params: S.integration,
        querystring: {
          type: "object",
          properties: {
            from: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
            to: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
            by: { type: "string", enum: ["day", "month", "quarter"], default: "month" },
          },
          required: ["from", "to"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              integration: { type: "string" },
              from: { type: "string" },
              to: { type: "string" },
              by: { type: "string" },
              basis: {
                type: "object",
                properties: {
                  bookings: { type: "string" },
                  ordered: { type: "string" },
                  invoiced: { type: "string" },
                  paid: { type: "string" },
                },
              },
              periods: { type: "array", items: { type: "object", properties: { period: { type: "string" }, ...periodProps } } },
              totals: { type: "object", properties: periodProps },
              exceptions: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    kind: { type: "string" },
                    record: { type: "string" },
                    date: { type: "string", nullable: true },
                    amount: { type: "number", nullable: true },
                    expected: { type: "number", nullable: true },
                    detail: { type: "string" },
                  },
                },
              },
              counts: { type: "object", additionalProperties: { type: "integer" } },
            },
          },
          "4xx": S.error,
          "5xx": S.error,
        },
      },
    },
    async (req, reply) => {
      const { spec, systems: sys } = await servedOf(req, req.params.integration);
      if (!spec.reports?.revenue)
        return reply.status(409).send({
          error: {
            class: "NotConfigured",
            message: `integration ${spec.name} has no \`reports.revenue\` section: the report does not know where deals, orders and invoices are`,
            hint: "Add a reports.revenue section to the integration file (see examples/espocrm-erpnext.yaml).",
          },
        });
      if (!sys)
        return reply.status(503).send({
          error: {
            class: "Unavailable",
            message: "this console has no connection to the systems: the revenue report reads them live",
            hint: "Start it with the systems' credentials in the environment, or run `accord report revenue`.",
          },
        });
      const { loadRevenueModel, revenueReport } = await import("../flows/revenue.ts");
      const ctx = { spec, store, crm: sys.crm, erp: sys.erp };
      const model = await loadRevenueModel(ctx);
      return revenueReport(ctx, model, { from: req.query.from, to: req.query.to, by: req.query.by ?? "month" });
    },
  );

  // ------------------------------------------------------------ alerts, change log
  app.get<{ Params: { integration: string }; Querystring: { status?: string } }>(
    "/api/integrations/:integration/alerts",
    {
      schema: {
        tags: ["health"],
        summary: "Alert incidents (active by default), newest first",
        params: S.integration,
        querystring: {
          type: "object",
          properties: { status: { type: "string", enum: ["active", "open", "acknowledged", "resolved", "all"], default: "active" } },
        },
      },
    },
    async (req, reply) => {
      const spec = await specOf(req, req.params.integration);
      if (!store.listAlerts)
        return reply.status(404).send({ error: { class: "NotFound", message: "this store keeps no alerts", hint: "" } });
      const s = req.query.status ?? "active";
      return { alerts: await store.listAlerts(spec.name, { status: s === "all" ? undefined : (s as "active"), limit: 500 }) };
    },
  );

  app.post<{ Params: { id: number } }>(
    "/api/alerts/:id/ack",
    { config: { role: "reviewer" }, schema: { tags: ["health"], summary: "Acknowledge an alert (stops its escalation)", params: S.id } },
    async (req, reply) => {
      if (!store.ackAlert || !store.getAlert)
        return reply.status(404).send({ error: { class: "NotFound", message: "this store keeps no alerts", hint: "" } });
      const a = await store.getAlert(req.params.id);
      if (!a || !(await mayTouch(req, a.integration)))
        throw new NotFound(`alert ${req.params.id} does not exist`, { hint: "List the alerts first." });
      return { alert: await store.ackAlert(a.id, who(req).user.name) };
    },
  );

  app.get<{ Params: { integration: string } }>(
    "/api/integrations/:integration/changelog",
    { schema: { tags: ["spec"], summary: "Versions of the integration file as deployed (newest first)", params: S.integration } },
    async (req) => {
      const spec = await specOf(req, req.params.integration);
      return { versions: await store.listSpecVersions(spec.name) };
    },
  );

  // ------------------------------------------------------------ webhooks in (Step 10, with a job queue)
  if (opts.queue) {
    const queue = opts.queue;
    await app.register(async (hooks) => {
      // The raw body is what the signature covers: no JSON parsing here.
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      hooks.post<{ Params: { integration: string; side: string } }>(
        "/webhooks/:integration/:side",
        {
          schema: {
            tags: ["webhooks"],
            summary:
              "A system's webhook call: verified by signature with the integration's ACCORD_WEBHOOK_SECRETS_CRM/_ERP (401 unsigned or forged, 409 replay), then queued (202)",
            security: [],
            params: {
              type: "object",
              properties: { integration: { type: "string", maxLength: 200 }, side: { type: "string", enum: ["crm", "erp"] } },
              required: ["integration", "side"],
            },
          },
        },
        async (req, reply) => {
          const side = req.params.side as "crm" | "erp";
          const served = await source.get(req.params.integration);
          if (!served)
            return reply.status(404).send({
              error: { class: "NotFound", message: `no integration named "${req.params.integration}" takes webhooks here`, hint: "" },
            });
          const conn = served.systems?.[side];
          if (!conn)
            return reply.status(503).send({
              error: {
                class: "Unavailable",
                message: `this server has no ${side} connector for ${served.spec.name}: it cannot verify the call`,
                hint: served.problem ?? "Give the integration its credentials (accord integration set-secret).",
              },
            });
          const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const verdict = await admitWebhook(
            side,
            conn,
            served.webhookSecrets[side],
            { headers: req.headers, url: req.url, rawBody },
            replay,
          );
          if (verdict.result !== "accepted")
            return reply.status(verdict.status).send({ error: { class: verdict.result, message: verdict.message, hint: "" } });
          const query: Record<string, string> = {};
          for (const [k, v] of new URL(req.url, "http://x").searchParams) query[k] = v;
          const id = await queue.enqueue({
            kind: "webhook",
            integration: served.spec.name,
            side,
            body: rawBody.toString("utf8"),
            query,
            url: req.url,
            // verified here, with the integration's secrets: the worker takes the events as they are
            // (it would need the signature headers to verify again, and those are not kept)
            events: verdict.events.map((e) => ({ id: e.id, kind: e.kind, ...(e.entity ? { entity: e.entity } : {}) })),
            receivedAt: Date.now(),
          });
          return reply.status(202).send({ queued: id, events: verdict.events.length });
        },
      );
    });
  }

  return app;
}

/** Create the console and listen (default 127.0.0.1:8080); for `accord run` and other hosts of the console. */
export async function startConsole(
  opts: ServerOptions & { port?: number; host?: string },
): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const app = await createServer(opts);
  const host = opts.host ?? "127.0.0.1";
  try {
    await app.listen({ port: opts.port ?? 8080, host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const a = app.server.address();
  const port = typeof a === "object" && a ? a.port : (opts.port ?? 8080);
  return { url: `http://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}/`, app, close: () => app.close() };
}
