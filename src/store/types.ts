/**
 * The store: persistence behind one interface (DESIGN.md). SQLite by default,
 * PostgreSQL when DATABASE_URL is set; one migration set (Kysely).
 * Business rules live in the engine; the store only keeps and finds.
 * Every row is scoped by `integration` (the spec's name), so one database can host many.
 * JSON-valued columns are (de)serialised by the store; callers see plain values.
 */
import type { Cursor } from "../connectors/types.ts";
import type { Side } from "../spec/model.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Link {
  id: number;
  integration: string;
  object: string;
  crmId: string | null;
  erpId: string | null;
  /** The shared identifier stamped into both systems (usually the ERP customer id). */
  sharedId: string | null;
  /** Base snapshot: last synced canonical value of each mapped field, keyed by FieldMap key "crm|erp". */
  base: Record<string, Json>;
  crmVersion: string | null;
  erpVersion: string | null;
  /** Pinned by a person: excluded from sync. */
  pinned: boolean;
  /** active; or deleted on one side / flagged per the object's delete policy. */
  status: "active" | "deleted-crm" | "deleted-erp" | "flagged";
  createdAt: string;
  updatedAt: string;
}

export interface RunCounts {
  read: number;
  applied: number;
  unchanged: number;
  held: number;
  quarantined: number;
}

export interface Run {
  id: number;
  integration: string;
  object: string;
  kind: "sync" | "plan" | "link" | "reconcile";
  startedAt: string;
  finishedAt: string | null;
  status: "running" | "ok" | "failed" | "abandoned";
  counts: RunCounts;
  error: string | null;
}

export interface ChangeLogEntry {
  id?: number;
  integration: string;
  object: string;
  runId: number | null;
  linkId: number | null;
  /** System that was written. */
  target: Side;
  recordId: string;
  field: string;
  before: Json;
  after: Json;
  /** System the value came from (or "person" for a review resolution / manual edit). */
  source: Side | "person";
  /** The rule that decided it, e.g. "one-sided change", "master crm", "policy prefer:erp", "review resolved by ana". */
  rule: string;
  at?: string;
}

export interface ReviewItem {
  id: number;
  integration: string;
  object: string;
  linkId: number | null;
  kind: "conflict" | "master-edit" | "match" | "bounce";
  field: string | null;
  base: Json;
  crm: Json;
  erp: Json;
  reason: string;
  /** Extra detail (e.g. a match score's per-field contributions). */
  detail: Json;
  status: "open" | "resolved" | "dismissed";
  resolution: Json; // { pick: "crm"|"erp" } | { value: ... } | { accept: true } ...
  resolvedBy: string | null;
  createdAt: string;
  resolvedAt: string | null;
}

export interface CreateIntent {
  id: number;
  integration: string;
  object: string;
  /** Where the record is being created. */
  target: Side;
  /** The record it mirrors, in the other system. */
  sourceId: string;
  sharedId: string | null;
  payload: Record<string, Json>;
  status: "pending" | "done" | "failed";
  remoteId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface QuarantineEntry {
  id: number;
  integration: string;
  object: string;
  side: Side;
  recordId: string;
  errorClass: string;
  reason: string;
  /** The record as read, editable by a person before a retry. */
  payload: Record<string, Json>;
  attempts: number;
  status: "open" | "released" | "resolved";
  createdAt: string;
  updatedAt: string;
}

export interface SchemaSnapshot {
  integration: string;
  side: Side;
  schema: Json;
  acceptedAt: string;
}

export interface SpecVersion {
  id: number;
  integration: string;
  hash: string;
  text: string;
  author: string | null;
  why: string | null;
  plan: Json;
  at: string;
}

/**
 * An alert incident (Step 8 monitoring): one open incident per integration + rule + object;
 * a rule that fires again while its incident is open only counts an occurrence (no storm).
 * `object` is "" for integration-wide rules (authentication, a whole system).
 */
export interface Alert {
  id: number;
  integration: string;
  rule: string;
  object: string;
  severity: "warning" | "critical";
  status: "open" | "acknowledged" | "resolved";
  message: string;
  detail: Json;
  occurrences: number;
  firstAt: string;
  lastAt: string;
  notifiedAt: string | null;
  escalatedAt: string | null;
  ackedBy: string | null;
  ackedAt: string | null;
  resolvedAt: string | null;
}

/** A person who signs in to the web console (Step 9). Names are unique across the database. */
export interface User {
  id: number;
  name: string;
  role: "admin" | "reviewer" | "viewer";
  /** scrypt hash in the server's self-describing format; never leaves the server. */
  passwordHash: string;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Step 10: the tenant whose integrations the user sees; null (or absent) = a platform user. */
  tenant?: string | null;
}

/**
 * A registered integration as stored (Step 10, src/registry): its file, its owner (tenant) and its
 * credentials as ONE encrypted envelope (JSON text, see src/registry/crypto.ts) — never plaintext.
 */
export interface IntegrationRecord {
  name: string;
  tenant: string;
  specText: string;
  specHash: string;
  /** The encrypted envelope {v,kid,iv,tag,ct,names} as text. */
  secrets: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A console session; only the SHA-256 hash of its cookie token is stored. */
export interface Session {
  tokenHash: string;
  userId: number;
  /** The double-submit CSRF token of the session. */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

/** An API token for automation (Bearer); only its SHA-256 hash is stored. */
export interface ApiToken {
  id: number;
  userId: number;
  label: string;
  tokenHash: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface Store {
  readonly dialect: "sqlite" | "postgres";
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Run fn in one transaction (the tx-bound store is passed in). */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  // links and base snapshots
  getLink(
    integration: string,
    object: string,
    by: { crmId?: string; erpId?: string; sharedId?: string; id?: number },
  ): Promise<Link | undefined>;
  listLinks(integration: string, object: string, opts?: { afterId?: number; limit?: number }): Promise<Link[]>;
  /** Insert or update by id (id absent = insert). Returns the stored link. */
  saveLink(link: Omit<Link, "id" | "createdAt" | "updatedAt"> & { id?: number }): Promise<Link>;
  countLinks(integration: string, object: string): Promise<number>;

  // cursors
  getCursor(integration: string, object: string, side: Side): Promise<Cursor | undefined>;
  setCursor(integration: string, object: string, side: Side, cursor: Cursor): Promise<void>;

  // runs
  startRun(integration: string, object: string, kind: Run["kind"]): Promise<Run>;
  finishRun(id: number, status: Run["status"], counts: RunCounts, error?: string | null): Promise<void>;
  listRuns(integration: string, opts?: { object?: string; limit?: number }): Promise<Run[]>;

  // per-record change log (history)
  logChanges(entries: ChangeLogEntry[]): Promise<void>;
  history(integration: string, object: string, recordId: string): Promise<ChangeLogEntry[]>;

  // review queue
  addReview(item: Omit<ReviewItem, "id" | "status" | "resolution" | "resolvedBy" | "createdAt" | "resolvedAt">): Promise<ReviewItem>;
  listReviews(integration: string, opts?: { status?: ReviewItem["status"]; object?: string; linkId?: number }): Promise<ReviewItem[]>;
  getReview(id: number): Promise<ReviewItem | undefined>;
  resolveReview(id: number, resolution: Json, by: string): Promise<void>;
  closeReview(id: number, status: "resolved" | "dismissed"): Promise<void>;

  // idempotent creates
  addCreateIntent(intent: Omit<CreateIntent, "id" | "status" | "remoteId" | "createdAt" | "updatedAt">): Promise<CreateIntent>;
  completeCreateIntent(id: number, remoteId: string): Promise<void>;
  failCreateIntent(id: number): Promise<void>;
  pendingCreateIntents(integration: string, object?: string): Promise<CreateIntent[]>;

  // quarantine
  quarantine(entry: Omit<QuarantineEntry, "id" | "attempts" | "status" | "createdAt" | "updatedAt">): Promise<QuarantineEntry>;
  listQuarantine(integration: string, opts?: { object?: string; status?: QuarantineEntry["status"] }): Promise<QuarantineEntry[]>;
  updateQuarantine(id: number, patch: Partial<Pick<QuarantineEntry, "payload" | "status" | "reason" | "errorClass">>): Promise<void>;

  // pins (records excluded from sync by a person, linked or not)
  setPinned(integration: string, object: string, side: Side, recordId: string, pinned: boolean): Promise<void>;
  isPinned(integration: string, object: string, side: Side, recordId: string): Promise<boolean>;
  /**
   * Optional batch reads for the sync's hot path (one query per page instead of two per record).
   * `by`: the ids are CRM ids, ERP ids, or shared ids ("shared").
   */
  getLinksByIds?(integration: string, object: string, by: Side | "shared", ids: string[]): Promise<Link[]>;
  pinnedAmong?(integration: string, object: string, side: Side, ids: string[]): Promise<string[]>;

  // schema snapshots and spec versions
  saveSchemaSnapshot(s: SchemaSnapshot): Promise<void>;
  latestSchemaSnapshot(integration: string, side: Side): Promise<SchemaSnapshot | undefined>;
  saveSpecVersion(v: Omit<SpecVersion, "id" | "at">): Promise<SpecVersion>;
  listSpecVersions(integration: string): Promise<SpecVersion[]>;

  // operations (Step 8; optional: implemented by the Kysely store for both dialects)
  /** Open an incident, or count one more occurrence of the open/acknowledged one with the same integration+rule+object. */
  raiseAlert?(
    a: Pick<Alert, "integration" | "rule" | "object" | "severity" | "message" | "detail">,
  ): Promise<{ alert: Alert; opened: boolean }>;
  /** Newest first; `active` = open or acknowledged. */
  listAlerts?(integration: string, opts?: { status?: Alert["status"] | "active"; limit?: number }): Promise<Alert[]>;
  getAlert?(id: number): Promise<Alert | undefined>;
  ackAlert?(id: number, by: string): Promise<Alert>;
  /** Close the incident (its condition cleared). */
  resolveAlert?(id: number): Promise<void>;
  markAlertSent?(id: number, what: "notified" | "escalated"): Promise<void>;
  /** Take or renew the integration's runtime lock for `leaseMs`; false when another live holder has it. */
  acquireLock?(integration: string, holder: string, leaseMs: number): Promise<boolean>;
  releaseLock?(integration: string, holder: string): Promise<void>;
  /** The integration's runtime lock as stored (a past `expiresAt` means its holder stopped renewing it). */
  getLock?(integration: string): Promise<{ holder: string; acquiredAt: string; expiresAt: string } | undefined>;
  /** Change-log entries of one field of an object (target field name): how many since `since`, and the latest one ever. */
  fieldChanges?(integration: string, object: string, field: string, since: string): Promise<{ count: number; lastAt: string | null }>;
  /**
   * Webhook replay guard shared by every process on this store: records the delivery `key` (a digest,
   * never a secret) and answers true when no delivery with that key was recorded within the last
   * `windowMs` before `now` (default: the current time) — by any process. Of two calls racing on one
   * key exactly one gets true. Keys older than the window are forgotten.
   */
  firstDelivery?(key: string, windowMs: number, now?: Date): Promise<boolean>;

  // console users, sessions, API tokens (Step 9; optional: implemented by the Kysely store for both dialects)
  /** Throws Duplicate when the name is taken. */
  addUser?(u: Pick<User, "name" | "role" | "passwordHash">): Promise<User>;
  getUser?(by: { id?: number; name?: string }): Promise<User | undefined>;
  listUsers?(): Promise<User[]>;
  updateUser?(id: number, patch: Partial<Pick<User, "role" | "passwordHash" | "disabled">>): Promise<void>;
  createSession?(s: Omit<Session, "createdAt">): Promise<Session>;
  getSession?(tokenHash: string): Promise<Session | undefined>;
  /** Remove one session (by token hash), or every session of a user, or every expired one. */
  deleteSessions?(by: { tokenHash?: string; userId?: number; expiredBefore?: string }): Promise<number>;
  addApiToken?(t: Pick<ApiToken, "userId" | "label" | "tokenHash" | "expiresAt">): Promise<ApiToken>;
  getApiToken?(tokenHash: string): Promise<ApiToken | undefined>;
  listApiTokens?(userId?: number): Promise<ApiToken[]>;
  /** Revoke (delete) a token; false when there was none with that id. */
  revokeApiToken?(id: number): Promise<boolean>;
  touchApiToken?(id: number, at: string): Promise<void>;

  // registered integrations and user tenants (Step 10; optional: implemented for both dialects in kysely-integrations.ts)
  /** Insert or replace by name (createdAt kept on replace). */
  saveIntegration?(r: Omit<IntegrationRecord, "createdAt" | "updatedAt">): Promise<IntegrationRecord>;
  getIntegrationRecord?(name: string): Promise<IntegrationRecord | undefined>;
  /** By name; only the tenant's when given. */
  listIntegrationRecords?(opts?: { tenant?: string }): Promise<IntegrationRecord[]>;
  /** False when there was none. */
  deleteIntegration?(name: string): Promise<boolean>;
  /** Null = platform user. */
  setUserTenant?(userId: number, tenant: string | null): Promise<void>;
}
