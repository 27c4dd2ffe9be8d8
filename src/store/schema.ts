/**
 * Row shapes of the store's tables as Kysely sees them (internal to src/store).
 * Storage conventions, identical on SQLite and PostgreSQL:
 * - timestamps: UTC ISO-8601 text with milliseconds ("2026-01-02T03:04:05.000Z"), so they
 *   sort as text and round-trip exactly;
 * - JSON values: text holding JSON.stringify output (exact round-trip: key order, "\u0000");
 * - booleans: `boolean` columns (PostgreSQL boolean; SQLite stores 0/1) — read with Boolean();
 * - ids: integer primary keys (SQLite rowid, PostgreSQL bigserial parsed as a JS number).
 */
import type { ColumnType, Generated } from "kysely";

type Bool = ColumnType<number | boolean, boolean, boolean>;

export interface LinksTable {
  id: Generated<number>;
  integration: string;
  object: string;
  crm_id: string | null;
  erp_id: string | null;
  shared_id: string | null;
  base: string;
  crm_version: string | null;
  erp_version: string | null;
  pinned: Bool;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface CursorsTable {
  integration: string;
  object: string;
  side: string;
  modified_at: string;
  record_id: string;
  updated_at: string;
}

export interface RunsTable {
  id: Generated<number>;
  integration: string;
  object: string;
  kind: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  read_count: number;
  applied_count: number;
  unchanged_count: number;
  held_count: number;
  quarantined_count: number;
  error: string | null;
}

export interface ChangeLogTable {
  id: Generated<number>;
  integration: string;
  object: string;
  run_id: number | null;
  link_id: number | null;
  target: string;
  record_id: string;
  field: string;
  before_value: string;
  after_value: string;
  source: string;
  rule: string;
  at: string;
}

export interface ReviewItemsTable {
  id: Generated<number>;
  integration: string;
  object: string;
  link_id: number | null;
  kind: string;
  field: string | null;
  base: string;
  crm: string;
  erp: string;
  reason: string;
  detail: string;
  status: string;
  resolution: string;
  resolved_by: string | null;
  created_at: string;
  resolved_at: string | null;
}

export interface CreateIntentsTable {
  id: Generated<number>;
  integration: string;
  object: string;
  target: string;
  source_id: string;
  shared_id: string | null;
  payload: string;
  status: string;
  remote_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface QuarantineTable {
  id: Generated<number>;
  integration: string;
  object: string;
  side: string;
  record_id: string;
  error_class: string;
  reason: string;
  payload: string;
  attempts: number;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface PinsTable {
  integration: string;
  object: string;
  side: string;
  record_id: string;
  pinned_at: string;
}

export interface SchemaSnapshotsTable {
  id: Generated<number>;
  integration: string;
  side: string;
  schema_json: string;
  accepted_at: string;
}

export interface SpecVersionsTable {
  id: Generated<number>;
  integration: string;
  hash: string;
  spec_text: string;
  author: string | null;
  why: string | null;
  plan: string;
  at: string;
}

export interface AlertsTable {
  id: Generated<number>;
  integration: string;
  rule: string;
  object: string;
  severity: string;
  status: string;
  message: string;
  detail: string;
  occurrences: number;
  first_at: string;
  last_at: string;
  notified_at: string | null;
  escalated_at: string | null;
  acked_by: string | null;
  acked_at: string | null;
  resolved_at: string | null;
}

export interface RuntimeLocksTable {
  integration: string;
  holder: string;
  acquired_at: string;
  expires_at: string;
}

export interface UsersTable {
  id: Generated<number>;
  name: string;
  role: string;
  password_hash: string;
  disabled: Bool;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  token_hash: string;
  user_id: number;
  csrf: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  label: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface StoreDatabase {
  links: LinksTable;
  cursors: CursorsTable;
  runs: RunsTable;
  change_log: ChangeLogTable;
  review_items: ReviewItemsTable;
  create_intents: CreateIntentsTable;
  quarantine: QuarantineTable;
  pins: PinsTable;
  schema_snapshots: SchemaSnapshotsTable;
  spec_versions: SpecVersionsTable;
  alerts: AlertsTable;
  runtime_locks: RuntimeLocksTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
}
