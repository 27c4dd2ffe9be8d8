/**
 * Tryton JSON-RPC transport over the shared HttpClient: the envelope, the session, and the
 * mapping of every Tryton failure to the classes of src/errors.ts.
 *
 * - Body: exactly {id, method, params}. Any other key (e.g. "jsonrpc") makes Tryton drop the
 *   envelope and answer bare results / HTTP-status errors, so nothing else is ever sent.
 * - Session: common.db.login [login, {password}, lang] → [uid, key]; every later call carries
 *   `Authorization: Session base64(login:uid:key)`. An expired/invalid session answers HTTP 401
 *   with an empty body → ONE re-login, then the call once more; a second 401 is AuthError.
 * - A refused login (wrong password: HTTP 401 HTML; 429 lock-out after 5 failures) is never
 *   retried and is remembered: later calls on this connector fail with the same AuthError
 *   without calling again, so a wrong password cannot lock the login out.
 * - Errors come as HTTP 200 {"error": [name, args]}: UserError / ConcurrencyException /
 *   LoginException / bare KeyError text ("'nosuchfield'") / other exception text.
 */
import { createHash } from "node:crypto";
import {
  type AccordError,
  AuthError,
  type ErrorWhere,
  NotFound,
  RateLimited,
  SchemaDrift,
  Transient,
  ValidationRejected,
  VersionConflict,
} from "../../errors.ts";
import { defaultClassify, HttpClient, type HttpFailure } from "../http.ts";
import type { CommonOptions } from "../options.ts";
import type { ConnectorStats } from "../types.ts";

export const SYSTEM = "tryton";

export interface RpcConfig {
  /** Server root, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  database: string;
  login: string;
  password: string;
  language?: string;
  common: CommonOptions;
}

export interface CallOptions {
  /** Repeating the call has no extra effect (reads, writes of the same values, buttons). */
  idempotent?: boolean;
  where?: ErrorWhere;
  /** For messages: "read party.party". */
  action?: string;
  /** The model the call is about (to tell an unknown model from an unknown field). */
  model?: string;
}

interface Session {
  uid: number;
  key: string;
}

type Envelope = { id?: unknown; result?: unknown; error?: unknown };

/**
 * Sessions shared by the connectors of one process for the same server, database, login and
 * password (as the Tryton client keeps one session per login): a second connector does not log
 * in again (each login hashes the password server-side, ~0.25 s), a refused login is refused
 * for all of them without another attempt, and the last one to close logs out.
 */
interface SharedSession {
  session?: Session;
  loggingIn?: Promise<Session>;
  refused?: AuthError;
  users: number;
}
const sharedSessions = new Map<string, SharedSession>();

/** Tryton's message for a missing record, a required value, a bad selection, a unique constraint. */
const MISSING = /don't exist anymore|do not exist anymore/i;
const REQUIRED = /A value is required for field "([^"]+)"/;
const SELECTION = /The value "[^"]*" for field "([^"]+)".*not one of the allowed options/s;
const UNIQUE = /must be unique/i;
const ACCESS = /You are not allowed to|access (is )?denied|not allowed to access/i;
const KEY_ERROR = /^'([^']+)'$/;
const LOCKED = /database is locked|could not serialize|deadlock|OperationalError/i;

export class TrytonRpc {
  readonly http: HttpClient;
  readonly cfg: RpcConfig;
  private readonly secrets: string[];
  private readonly shared: SharedSession;
  private readonly sharedKey: string;
  private closed = false;
  private nextId = 1;

  constructor(cfg: RpcConfig) {
    this.cfg = cfg;
    this.secrets = [cfg.password];
    this.sharedKey = `${cfg.baseUrl}|${cfg.database}|${cfg.login}|${createHash("sha256").update(cfg.password).digest("hex")}`;
    const existing = sharedSessions.get(this.sharedKey);
    this.shared = existing ?? { users: 0 };
    if (!existing) sharedSessions.set(this.sharedKey, this.shared);
    this.shared.users++;
    if (this.shared.session) this.secrets.push(this.shared.session.key, this.sessionToken(this.shared.session));
    const c = cfg.common;
    this.http = new HttpClient({
      system: SYSTEM,
      baseUrl: cfg.baseUrl,
      // No session while logging in (ensureSession clears it first), so a login carries no header.
      authHeaders: (): Record<string, string> => {
        const s = this.shared.session;
        return s ? { Authorization: `Session ${this.sessionToken(s)}` } : {};
      },
      // Mutated when a session key arrives, so the key is scrubbed as well as the password.
      secrets: this.secrets,
      concurrency: c.concurrency,
      maxRetries: c.maxRetries,
      baseDelayMs: c.baseDelayMs,
      maxDelayMs: c.maxDelayMs,
      maxRetryAfterMs: c.maxRetryAfterMs,
      timeoutMs: c.timeoutMs,
      rateLimit: c.rateLimit,
      logger: c.logger,
      classify: (f) => this.classify(f),
    });
  }

  get uid(): number | undefined {
    return this.shared.session?.uid;
  }

  get hasSession(): boolean {
    return this.shared.session !== undefined;
  }

  stats(): ConnectorStats {
    return this.http.stats();
  }

  /** Stop; the last connector of a shared session logs it out (best effort). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shared.users--;
    if (this.shared.users <= 0) {
      sharedSessions.delete(this.sharedKey);
      if (this.shared.session) {
        try {
          await this.post("common.db.logout", [], { action: "logout", idempotent: true });
        } catch {
          // the session dies with its max_age anyway
        }
      }
    }
    this.http.close();
  }

  private sessionToken(s: Session): string {
    return Buffer.from(`${this.cfg.login}:${s.uid}:${s.key}`).toString("base64");
  }

  private dbPath(): string {
    return `/${encodeURIComponent(this.cfg.database)}/`;
  }

  private classify(f: HttpFailure): AccordError | undefined {
    const where = { system: SYSTEM, ...f.where };
    const login = f.action.startsWith("login");
    if (f.status === 401 && login)
      return new AuthError(
        `tryton: login of user "${this.cfg.login}" on database "${this.cfg.database}" was refused (HTTP 401): wrong login or password.`,
        {
          where,
          status: 401,
          hint: "Fix the Tryton user/password credentials of this system. Accord does not retry: after 5 failures Tryton locks the login out (HTTP 429).",
        },
      );
    if (f.status === 401)
      return new AuthError(`tryton: ${f.action}: the session is invalid or expired (HTTP 401).`, {
        where,
        status: 401,
        hint: "Accord logs in again once; if this persists the user was disabled or its password changed.",
      });
    if (f.status === 429 && login && !f.headers.get("retry-after"))
      // Tryton's own lock-out: no Retry-After. A long retryAfterMs makes the client surface it
      // at once (no sleeping, no further attempt that would extend the lock-out).
      return new RateLimited(
        `tryton: too many failed logins for user "${this.cfg.login}" on database "${this.cfg.database}" (HTTP 429): Tryton locks this login for a while.`,
        {
          where,
          status: 429,
          retryAfterMs: 3_600_000,
          hint: "Fix the password, then wait for the lock-out to pass (up to the server's [session] timeout, default 5 min–1 h).",
        },
      );
    if (f.status === 403)
      return new ValidationRejected(`tryton: ${f.action} was forbidden (HTTP 403): the method is not exposed over RPC.`, {
        where,
        status: 403,
        hint: "Only methods in the model's __rpc__ can be called; use another method (buttons: quote, confirm, process, cancel, draft).",
      });
    if (f.status === 404 && login)
      return new NotFound(`tryton: database "${this.cfg.database}" does not exist or cannot be opened (HTTP 404).`, {
        where,
        status: 404,
        hint: "Fix options.database (or the database in the URL) of this system.",
      });
    return defaultClassify(f, SYSTEM);
  }

  /** Log in (once, shared by concurrent callers and connectors). A refused login is remembered. */
  async ensureSession(force = false, stale?: Session): Promise<Session> {
    const sh = this.shared;
    if (sh.refused) throw sh.refused;
    if (sh.session && !force) return sh.session;
    if (force && sh.session && sh.session !== stale) return sh.session;
    if (!sh.loggingIn) {
      sh.session = undefined;
      sh.loggingIn = this.doLogin().finally(() => {
        sh.loggingIn = undefined;
      });
    }
    const s = await sh.loggingIn;
    if (!this.secrets.includes(s.key)) this.secrets.push(s.key, this.sessionToken(s));
    return s;
  }

  private async doLogin(): Promise<Session> {
    let result: unknown;
    try {
      result = await this.post("common.db.login", [this.cfg.login, { password: this.cfg.password }, this.cfg.language ?? "en"], {
        idempotent: true,
        action: `login as "${this.cfg.login}"`,
        login: true,
      });
    } catch (e) {
      if (e instanceof AuthError) this.shared.refused = e;
      else if (e instanceof RateLimited && e.status === 429 && (e.retryAfterMs ?? 0) >= 3_600_000)
        this.shared.refused = new AuthError(e.message, { where: e.where, status: 429, hint: e.hint, cause: e });
      throw e;
    }
    if (!Array.isArray(result) || typeof result[0] !== "number" || typeof result[1] !== "string") {
      const err = new AuthError(`tryton: login of user "${this.cfg.login}" was refused (no session returned).`, {
        where: { system: SYSTEM },
        hint: "Check the Tryton user/password credentials of this system.",
      });
      this.shared.refused = err;
      throw err;
    }
    const s = { uid: result[0], key: result[1] };
    this.secrets.push(s.key, this.sessionToken(s));
    this.shared.session = s;
    return s;
  }

  /** A database-bound call with the session; one re-login when the session is refused. */
  async call<T = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<T> {
    let s = await this.ensureSession();
    for (let relogin = 0; ; relogin++) {
      try {
        return (await this.post(method, params, opts)) as T;
      } catch (e) {
        if (e instanceof AuthError && e.status === 401 && relogin === 0) {
          s = await this.ensureSession(true, s);
          continue;
        }
        throw e;
      }
    }
  }

  /** One JSON-RPC exchange (the HTTP client retries transport failures); envelope errors mapped. */
  private async post(method: string, params: unknown[], opts: CallOptions & { login?: boolean }): Promise<unknown> {
    const action = opts.action ?? method;
    for (let attempt = 0; ; attempt++) {
      const id = this.nextId++;
      const res = await this.http.request<Envelope>({
        method: "POST",
        path: this.dbPath(),
        body: { id, method, params },
        idempotent: opts.idempotent ?? false,
        where: opts.where,
        action,
      });
      const body = res.body;
      if (body === null || typeof body !== "object" || Array.isArray(body) || !("result" in body || "error" in body))
        throw new Transient(`tryton: ${action}: the answer is not a JSON-RPC envelope (a proxy in between, or a non-Tryton server).`, {
          where: { system: SYSTEM, ...opts.where },
          hint: "Check that the URL points at trytond itself.",
        });
      if (!("error" in body) || body.error === null || body.error === undefined) return body.result;
      const err = this.mapError(body.error, action, opts);
      // SQLite "database is locked" and the like: safe to repeat only for idempotent calls.
      if (err instanceof Transient && opts.idempotent && attempt < 3) {
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        continue;
      }
      throw err;
    }
  }

  /** Tryton's error array → one of the classes of src/errors.ts. */
  mapError(error: unknown, action: string, opts: CallOptions): AccordError {
    const where: ErrorWhere = { system: SYSTEM, ...(opts.model ? { object: opts.model } : {}), ...opts.where };
    const arr = Array.isArray(error) ? error : [String(error)];
    const name = String(arr[0] ?? "");
    const args = arr[1];
    const msg = this.http.redact(Array.isArray(args) ? String(args[0] ?? "") : typeof args === "string" ? args : "");
    const desc = Array.isArray(args) && typeof args[1] === "string" && args[1] ? ` ${this.http.redact(args[1])}` : "";
    const text = `${msg}${desc}`.trim();
    if (name === "UserError" || name === "UserWarning") {
      if (MISSING.test(msg))
        return new NotFound(`tryton: ${action}: ${text}`, { where, hint: "The record was deleted in Tryton; re-read or unlink it." });
      const req = REQUIRED.exec(msg);
      if (req)
        return new ValidationRejected(`tryton: ${action}: ${text}`, {
          where: { ...where, field: where.field ?? req[1] },
          hint: "Map a value for this field (or a default) in the integration file.",
        });
      const sel = SELECTION.exec(msg);
      if (sel)
        return new ValidationRejected(`tryton: ${action}: ${text}`, {
          where: { ...where, field: where.field ?? sel[1] },
          hint: "Map the value to one of the field's options (see `describe`).",
        });
      if (UNIQUE.test(msg))
        return new ValidationRejected(`tryton: ${action}: ${text}`, {
          where,
          hint: "Another Tryton record already has this value; link that record instead of creating a new one.",
        });
      if (ACCESS.test(msg))
        return new AuthError(`tryton: ${action}: ${text}`, {
          where,
          hint: "Give the Tryton user access (groups, record rules, the company in its companies), then retry.",
        });
      if (name === "UserWarning")
        return new ValidationRejected(`tryton: ${action}: Tryton asks for confirmation: ${text}`, {
          where,
          hint: "Resolve the warning's cause in Tryton (or confirm it there); Accord does not skip warnings.",
        });
      return new ValidationRejected(`tryton: ${action}: ${text}`, {
        where,
        hint: "Fix the record or value Tryton refused (see the message).",
      });
    }
    if (name === "ConcurrencyException")
      return new VersionConflict(`tryton: ${action}: the record was modified in the meantime (${text || "ConcurrencyException"}).`, {
        where,
        hint: "Re-read the record and plan again.",
      });
    if (name === "LoginException")
      return new AuthError(`tryton: ${action}: Tryton asks for a login parameter (${text}).`, {
        where,
        hint: "Set the Tryton password credential of this system.",
      });
    const key = KEY_ERROR.exec(name);
    if (key) {
      const k = key[1];
      const isModel = k === opts.model || (k.includes(".") && !opts.model);
      if (isModel)
        return new SchemaDrift(`tryton: ${action}: the model "${k}" does not exist on this server.`, {
          where: { ...where, object: k },
          hint: "Activate the Tryton module that provides it, or fix the entity name in the integration file.",
        });
      return new SchemaDrift(`tryton: ${action}: the field "${k}" does not exist on ${opts.model ?? "this model"}.`, {
        where: { ...where, field: k },
        hint: "The field vanished or was renamed in Tryton (module removed/upgraded?), or the integration file names it wrong; fix the mapping.",
      });
    }
    if (name === "Missing context argument")
      return new ValidationRejected(`tryton: ${action}: Tryton says the context argument is missing (a connector bug).`, { where });
    if (/Database .* doesn't exist/.test(name))
      return new NotFound(`tryton: database "${this.cfg.database}" does not exist on this server.`, {
        where,
        hint: "Fix options.database of this system (or create the database).",
      });
    if (LOCKED.test(name))
      return new Transient(`tryton: ${action}: the database was busy (${this.http.redact(name).slice(0, 200)}).`, {
        where,
        hint: "Temporary; Accord retries reads.",
      });
    return new ValidationRejected(`tryton: ${action} failed on the server: ${this.http.redact(name).slice(0, 500)}`, {
      where,
      hint: "See the Tryton server log for the traceback.",
    });
  }
}
