/**
 * The Store on Kysely: the same code for SQLite and PostgreSQL (see ./schema.ts for how
 * values are kept). A root store owns the connection; `transaction(fn)` hands `fn` a store
 * bound to one Kysely transaction (nested calls use savepoints).
 *
 * Orders: listLinks by id; listRuns and listSpecVersions newest first; history, reviews,
 * intents and quarantine oldest first (id order breaks ties between equal timestamps).
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult, type Selectable, sql, type Transaction } from "kysely";
import type { Cursor } from "../connectors/types.ts";
import { Duplicate, NotFound, VersionConflict } from "../errors.ts";
import type { Side } from "../spec/model.ts";
import * as registered from "./kysely-integrations.ts";
import type { StoreDialect } from "./migrations/index.ts";
import type {
  AlertsTable,
  ApiTokensTable,
  ChangeLogTable,
  CreateIntentsTable,
  LinksTable,
  QuarantineTable,
  ReviewItemsTable,
  RunsTable,
  SpecVersionsTable,
  StoreDatabase,
  UsersTable,
} from "./schema.ts";
import type {
  Alert,
  ApiToken,
  ChangeLogEntry,
  CreateIntent,
  IntegrationRecord,
  Json,
  Link,
  QuarantineEntry,
  ReviewItem,
  Run,
  RunCounts,
  SchemaSnapshot,
  Session,
  SpecVersion,
  Store,
  User,
} from "./types.ts";

/** What only the store that owns the connection can do. */
export interface StoreOwner {
  migrate(): Promise<void>;
  destroy(): Promise<void>;
}

const now = (): string => new Date().toISOString();

function toText(v: Json | undefined): string {
  return JSON.stringify(v === undefined ? null : v);
}
function fromText<T = Json>(s: string | null): T {
  return (s === null ? null : JSON.parse(s)) as T;
}
function toId(v: number | string | bigint): number {
  return typeof v === "number" ? v : Number(v);
}
function optId(v: number | string | bigint | null): number | null {
  return v === null ? null : toId(v);
}

/** True when err is a UNIQUE / primary key violation (either dialect). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (e.code === "23505") return true; // PostgreSQL unique_violation
  if (e.errcode === 2067 || e.errcode === 1555) return true; // SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY
  return typeof e.message === "string" && /UNIQUE constraint failed/.test(e.message);
}

/** The constraint (PostgreSQL) or the columns (SQLite) named by a unique violation. */
function violatedConstraint(err: unknown): string {
  const e = err as { constraint?: unknown; message?: unknown };
  return `${typeof e.constraint === "string" ? e.constraint : ""} ${typeof e.message === "string" ? e.message : ""}`;
}

function rowToLink(r: Selectable<LinksTable>): Link {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    crmId: r.crm_id,
    erpId: r.erp_id,
    sharedId: r.shared_id,
    base: fromText<Record<string, Json>>(r.base) ?? {},
    crmVersion: r.crm_version,
    erpVersion: r.erp_version,
    pinned: Boolean(r.pinned),
    status: r.status as Link["status"],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function rowToRun(r: Selectable<RunsTable>): Run {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    kind: r.kind as Run["kind"],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status as Run["status"],
    counts: {
      read: Number(r.read_count),
      applied: Number(r.applied_count),
      unchanged: Number(r.unchanged_count),
      held: Number(r.held_count),
      quarantined: Number(r.quarantined_count),
    },
    error: r.error,
  };
}

function rowToChange(r: Selectable<ChangeLogTable>): ChangeLogEntry {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    runId: optId(r.run_id),
    linkId: optId(r.link_id),
    target: r.target as Side,
    recordId: r.record_id,
    field: r.field,
    before: fromText(r.before_value),
    after: fromText(r.after_value),
    source: r.source as ChangeLogEntry["source"],
    rule: r.rule,
    at: r.at,
  };
}

function rowToReview(r: Selectable<ReviewItemsTable>): ReviewItem {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    linkId: optId(r.link_id),
    kind: r.kind as ReviewItem["kind"],
    field: r.field,
    base: fromText(r.base),
    crm: fromText(r.crm),
    erp: fromText(r.erp),
    reason: r.reason,
    detail: fromText(r.detail),
    status: r.status as ReviewItem["status"],
    resolution: fromText(r.resolution),
    resolvedBy: r.resolved_by,
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
  };
}

function rowToIntent(r: Selectable<CreateIntentsTable>): CreateIntent {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    target: r.target as Side,
    sourceId: r.source_id,
    sharedId: r.shared_id,
    payload: fromText<Record<string, Json>>(r.payload) ?? {},
    status: r.status as CreateIntent["status"],
    remoteId: r.remote_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function rowToQuarantine(r: Selectable<QuarantineTable>): QuarantineEntry {
  return {
    id: toId(r.id),
    integration: r.integration,
    object: r.object,
    side: r.side as Side,
    recordId: r.record_id,
    errorClass: r.error_class,
    reason: r.reason,
    payload: fromText<Record<string, Json>>(r.payload) ?? {},
    attempts: Number(r.attempts),
    status: r.status as QuarantineEntry["status"],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function rowToSpecVersion(r: Selectable<SpecVersionsTable>): SpecVersion {
  return {
    id: toId(r.id),
    integration: r.integration,
    hash: r.hash,
    text: r.spec_text,
    author: r.author,
    why: r.why,
    plan: fromText(r.plan),
    at: r.at,
  };
}

function rowToAlert(r: Selectable<AlertsTable>): Alert {
  return {
    id: toId(r.id),
    integration: r.integration,
    rule: r.rule,
    object: r.object,
    severity: r.severity as Alert["severity"],
    status: r.status as Alert["status"],
    message: r.message,
    detail: fromText(r.detail),
    occurrences: Number(r.occurrences),
    firstAt: r.first_at,
    lastAt: r.last_at,
    notifiedAt: r.notified_at,
    escalatedAt: r.escalated_at,
    ackedBy: r.acked_by,
    ackedAt: r.acked_at,
    resolvedAt: r.resolved_at,
  };
}

function rowToUser(r: Selectable<UsersTable>): User {
  return {
    id: toId(r.id),
    name: r.name,
    role: r.role as User["role"],
    passwordHash: r.password_hash,
    disabled: Boolean(r.disabled),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    tenant: registered.userTenantOf(r),
  };
}

function rowToApiToken(r: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: toId(r.id),
    userId: toId(r.user_id),
    label: r.label,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
  };
}

/** Rows per INSERT when logging many changes (13 parameters a row; stays far below both dialects' limits). */
const CHANGE_BATCH = 500;

/**
 * The sync's hot writes (intents, links, history), compiled once per dialect and shape: Kysely builds
 * the statement the first time with a marker in place of each value, and later calls reuse its SQL
 * text with their own values, put where the markers were. On an initial load building and compiling
 * the queries cost the engine more CPU than SQLite spent executing them (bench/sync). The SQL does not
 * depend on the PostgreSQL schema (search_path), so the cache is per dialect.
 */
const hotStatements = new Map<string, { sql: string; order: number[] }>();

/** `values[i]` is the value of `keys[i]`; `keys` only matter the first time (to build the statement). */
function hotStatement(
  cacheKey: string,
  keys: readonly string[],
  values: readonly unknown[],
  build: (marked: Record<string, string>) => Compilable,
): CompiledQuery {
  let c = hotStatements.get(cacheKey);
  if (!c) {
    const marks = keys.map((_, i) => `\u0001accord-value-${i}\u0001`);
    const q = build(Object.fromEntries(keys.map((k, i) => [k, marks[i]]))).compile();
    const order = q.parameters.map((p) => {
      const i = marks.indexOf(p as string);
      if (i < 0) throw new Error(`store: statement ${cacheKey} has a parameter that is not one of its values`);
      return i;
    });
    c = { sql: q.sql, order };
    hotStatements.set(cacheKey, c);
  }
  return CompiledQuery.raw(
    c.sql,
    c.order.map((i) => values[i]),
  );
}

/** Column names of a change-log INSERT of `rows` rows, as r<row>.<column> (see logChanges). */
const changeLogKeys = new Map<number, string[]>();

export class KyselyStore implements Store {
  readonly dialect: StoreDialect;
  readonly #db: Kysely<StoreDatabase>;
  /** Present on the root store only. */
  readonly #owner: StoreOwner | undefined;
  /** Savepoint depth of a transaction-bound store (0 = root or outermost transaction). */
  readonly #depth: number;

  constructor(db: Kysely<StoreDatabase>, dialect: StoreDialect, owner: StoreOwner | undefined, depth = 0) {
    this.#db = db;
    this.dialect = dialect;
    this.#owner = owner;
    this.#depth = depth;
  }

  /** Run a hot statement (see hotStatement) on this store's connection or transaction. */
  #hot<R>(name: string, values: Record<string, unknown>, build: (db: Kysely<StoreDatabase>, marked: Record<string, string>) => Compilable): Promise<QueryResult<R>> {
    return this.#hotValues<R>(name, Object.keys(values), Object.values(values), build);
  }

  /** The same with the values given by position (`values[i]` of `keys[i]`). */
  #hotValues<R>(
    name: string,
    keys: readonly string[],
    values: readonly unknown[],
    build: (db: Kysely<StoreDatabase>, marked: Record<string, string>) => Compilable,
  ): Promise<QueryResult<R>> {
    return this.#db.executeQuery<R>(hotStatement(`${this.dialect}:${name}`, keys, values, (m) => build(this.#db, m)));
  }

  /** The underlying Kysely instance (or transaction), for other parts' read-only reports. Optional extra. */
  get kysely(): Kysely<StoreDatabase> {
    return this.#db;
  }

  async migrate(): Promise<void> {
    if (!this.#owner) throw new Error("store.migrate() cannot run inside a transaction; call it on the store returned by openStore()");
    await this.#owner.migrate();
  }

  async close(): Promise<void> {
    if (!this.#owner)
      throw new Error("store.close() cannot be called on a transaction-bound store; close the store returned by openStore()");
    await this.#owner.destroy();
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.#owner) {
      return this.#db.transaction().execute((trx: Transaction<StoreDatabase>) => fn(new KyselyStore(trx, this.dialect, undefined, 1)));
    }
    // Already in a transaction: a savepoint, so a failing inner block undoes only its own writes.
    const name = sql.raw(`accord_sp_${this.#depth}`);
    await sql`savepoint ${name}`.execute(this.#db);
    const inner = new KyselyStore(this.#db, this.dialect, undefined, this.#depth + 1);
    let result: T;
    try {
      result = await fn(inner);
    } catch (err) {
      await sql`rollback to savepoint ${name}`.execute(this.#db);
      await sql`release savepoint ${name}`.execute(this.#db);
      throw err;
    }
    await sql`release savepoint ${name}`.execute(this.#db);
    return result;
  }

  // ---------------------------------------------------------------- links

  async getLink(
    integration: string,
    object: string,
    by: { crmId?: string; erpId?: string; sharedId?: string; id?: number },
  ): Promise<Link | undefined> {
    if (by.id === undefined && by.crmId === undefined && by.erpId === undefined && by.sharedId === undefined) {
      throw new TypeError("store.getLink needs one of id, crmId, erpId or sharedId");
    }
    let q = this.#db.selectFrom("links").selectAll().where("integration", "=", integration).where("object", "=", object);
    if (by.id !== undefined) q = q.where("id", "=", by.id);
    if (by.crmId !== undefined) q = q.where("crm_id", "=", by.crmId);
    if (by.erpId !== undefined) q = q.where("erp_id", "=", by.erpId);
    if (by.sharedId !== undefined) q = q.where("shared_id", "=", by.sharedId);
    const row = await q.orderBy("id").limit(1).executeTakeFirst();
    return row ? rowToLink(row) : undefined;
  }

  async listLinks(integration: string, object: string, opts: { afterId?: number; limit?: number } = {}): Promise<Link[]> {
    let q = this.#db.selectFrom("links").selectAll().where("integration", "=", integration).where("object", "=", object);
    if (opts.afterId !== undefined) q = q.where("id", ">", opts.afterId);
    q = q.orderBy("id");
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rowToLink);
  }

  async saveLink(link: Omit<Link, "id" | "createdAt" | "updatedAt"> & { id?: number }): Promise<Link> {
    const at = now();
    const values = {
      integration: link.integration,
      object: link.object,
      crm_id: link.crmId ?? null,
      erp_id: link.erpId ?? null,
      shared_id: link.sharedId ?? null,
      base: JSON.stringify(link.base ?? {}),
      crm_version: link.crmVersion ?? null,
      erp_version: link.erpVersion ?? null,
      pinned: Boolean(link.pinned),
      status: link.status ?? "active",
      updated_at: at,
    };
    // The saved link is built from what was written (the base parsed back from its own text, so the
    // caller's objects are never shared): no row is read back but the id (insert) or created_at (an
    // update whose caller did not pass it).
    const saved = (id: number, createdAt: string): Link => ({
      id,
      integration: values.integration,
      object: values.object,
      crmId: values.crm_id,
      erpId: values.erp_id,
      sharedId: values.shared_id,
      base: JSON.parse(values.base) as Record<string, Json>,
      crmVersion: values.crm_version,
      erpVersion: values.erp_version,
      pinned: values.pinned,
      status: values.status as Link["status"],
      createdAt,
      updatedAt: at,
    });
    try {
      if (link.id === undefined) {
        const r = await this.#hot<{ id: number | string }>("link.insert", { ...values, created_at: at }, (db, m) =>
          db
            .insertInto("links")
            .values(m as never)
            .returning("id"),
        );
        const row = r.rows[0];
        if (!row) throw new Error("store: inserting a link returned no id");
        return saved(toId(row.id), at);
      }
      const known = (link as { createdAt?: unknown }).createdAt;
      if (typeof known === "string") {
        const r = await this.#hot("link.update", { ...values, id: link.id }, (db, m) => {
          const { id, ...set } = m;
          return db
            .updateTable("links")
            .set(set as never)
            .where("id", "=", id as never);
        });
        if (Number(r.numAffectedRows ?? 0) > 0) return saved(link.id, known);
      } else {
        const row = await this.#db.updateTable("links").set(values).where("id", "=", link.id).returning("created_at").executeTakeFirst();
        if (row) return saved(link.id, row.created_at);
      }
      throw new NotFound(`link ${link.id} does not exist in the store`, {
        where: { object: link.object, record: String(link.id) },
        hint: "Save it without an id to create it, or re-read the link before updating it.",
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // No further query here: on PostgreSQL the failed statement has aborted the transaction.
      const side: Side = /erp_id/.test(violatedConstraint(err)) ? "erp" : "crm";
      const rid = side === "crm" ? link.crmId : link.erpId;
      throw new Duplicate(`${side} record ${rid} of ${link.integration}/${link.object} is already linked to another record`, {
        where: { system: side, object: link.object, record: rid ?? undefined },
        hint: "Update the existing link (getLink by that id) instead of saving a second one, or unlink it first.",
        cause: err,
      });
    }
  }

  async countLinks(integration: string, object: string): Promise<number> {
    const row = await this.#db
      .selectFrom("links")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("integration", "=", integration)
      .where("object", "=", object)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // ---------------------------------------------------------------- cursors

  async getCursor(integration: string, object: string, side: Side): Promise<Cursor | undefined> {
    const row = await this.#db
      .selectFrom("cursors")
      .select(["modified_at", "record_id"])
      .where("integration", "=", integration)
      .where("object", "=", object)
      .where("side", "=", side)
      .executeTakeFirst();
    return row ? { modifiedAt: row.modified_at, id: row.record_id } : undefined;
  }

  async setCursor(integration: string, object: string, side: Side, cursor: Cursor): Promise<void> {
    const at = now();
    await this.#db
      .insertInto("cursors")
      .values({ integration, object, side, modified_at: cursor.modifiedAt, record_id: cursor.id, updated_at: at })
      .onConflict((oc) =>
        oc.columns(["integration", "object", "side"]).doUpdateSet({ modified_at: cursor.modifiedAt, record_id: cursor.id, updated_at: at }),
      )
      .execute();
  }

  // ---------------------------------------------------------------- runs

  async startRun(integration: string, object: string, kind: Run["kind"]): Promise<Run> {
    const row = await this.#db
      .insertInto("runs")
      .values({
        integration,
        object,
        kind,
        status: "running",
        started_at: now(),
        finished_at: null,
        read_count: 0,
        applied_count: 0,
        unchanged_count: 0,
        held_count: 0,
        quarantined_count: 0,
        error: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToRun(row);
  }

  async finishRun(id: number, status: Run["status"], counts: RunCounts, error: string | null = null): Promise<void> {
    const r = await this.#db
      .updateTable("runs")
      .set({
        status,
        finished_at: now(),
        read_count: counts.read,
        applied_count: counts.applied,
        unchanged_count: counts.unchanged,
        held_count: counts.held,
        quarantined_count: counts.quarantined,
        error,
      })
      .where("id", "=", id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound("run", id);
  }

  async listRuns(integration: string, opts: { object?: string; limit?: number } = {}): Promise<Run[]> {
    let q = this.#db.selectFrom("runs").selectAll().where("integration", "=", integration);
    if (opts.object !== undefined) q = q.where("object", "=", opts.object);
    q = q.orderBy("id", "desc");
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rowToRun);
  }

  // ---------------------------------------------------------------- change log

  async logChanges(entries: ChangeLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const at = now();
    const rows = entries.map((e) => ({
      integration: e.integration,
      object: e.object,
      run_id: e.runId ?? null,
      link_id: e.linkId ?? null,
      target: e.target,
      record_id: e.recordId,
      field: e.field,
      before_value: toText(e.before),
      after_value: toText(e.after),
      source: e.source,
      rule: e.rule,
      at: e.at ?? at,
    }));
    for (let i = 0; i < rows.length; i += CHANGE_BATCH) {
      const chunk = rows.slice(i, i + CHANGE_BATCH);
      // one statement per row count, its values row after row
      const columns = Object.keys(chunk[0]) as Array<keyof (typeof chunk)[number]>;
      let keys = changeLogKeys.get(chunk.length);
      if (!keys) {
        keys = chunk.flatMap((_, j) => columns.map((k) => `r${j}.${k}`));
        changeLogKeys.set(chunk.length, keys);
      }
      const values: unknown[] = [];
      for (const r of chunk) for (const k of columns) values.push(r[k]);
      await this.#hotValues(`change_log.insert.${chunk.length}`, keys, values, (db, m) =>
        db.insertInto("change_log").values(chunk.map((_, j) => Object.fromEntries(columns.map((k) => [k, m[`r${j}.${k}`]]))) as never),
      );
    }
  }

  async history(integration: string, object: string, recordId: string): Promise<ChangeLogEntry[]> {
    const rows = await this.#db
      .selectFrom("change_log")
      .selectAll()
      .where("integration", "=", integration)
      .where("object", "=", object)
      .where("record_id", "=", recordId)
      .orderBy("at")
      .orderBy("id")
      .execute();
    return rows.map(rowToChange);
  }

  // ---------------------------------------------------------------- review queue

  async addReview(item: Omit<ReviewItem, "id" | "status" | "resolution" | "resolvedBy" | "createdAt" | "resolvedAt">): Promise<ReviewItem> {
    const row = await this.#db
      .insertInto("review_items")
      .values({
        integration: item.integration,
        object: item.object,
        link_id: item.linkId ?? null,
        kind: item.kind,
        field: item.field ?? null,
        base: toText(item.base),
        crm: toText(item.crm),
        erp: toText(item.erp),
        reason: item.reason,
        detail: toText(item.detail),
        status: "open",
        resolution: toText(null),
        resolved_by: null,
        created_at: now(),
        resolved_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToReview(row);
  }

  async listReviews(
    integration: string,
    opts: { status?: ReviewItem["status"]; object?: string; linkId?: number } = {},
  ): Promise<ReviewItem[]> {
    let q = this.#db.selectFrom("review_items").selectAll().where("integration", "=", integration);
    if (opts.status !== undefined) q = q.where("status", "=", opts.status);
    if (opts.object !== undefined) q = q.where("object", "=", opts.object);
    if (opts.linkId !== undefined) q = q.where("link_id", "=", opts.linkId);
    return (await q.orderBy("id").execute()).map(rowToReview);
  }

  async getReview(id: number): Promise<ReviewItem | undefined> {
    const row = await this.#db.selectFrom("review_items").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? rowToReview(row) : undefined;
  }

  /** Records a person's decision on an OPEN item: status becomes "resolved". A second decision is refused (VersionConflict). */
  async resolveReview(id: number, resolution: Json, by: string): Promise<void> {
    const r = await this.#db
      .updateTable("review_items")
      .set({ status: "resolved", resolution: toText(resolution), resolved_by: by, resolved_at: now() })
      .where("id", "=", id)
      .where("status", "=", "open")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return;
    const existing = await this.getReview(id);
    if (!existing) throw notFound("review item", id);
    throw new VersionConflict(
      `review item ${id} is already ${existing.status}${existing.resolvedBy ? ` (by ${existing.resolvedBy})` : ""}`,
      {
        where: { object: existing.object, field: existing.field ?? undefined },
        hint: "Reload the review queue; the item was decided by someone else or by the engine.",
      },
    );
  }

  /** Sets the final status; keeps any resolution already recorded; stamps resolvedAt if not yet set. */
  async closeReview(id: number, status: "resolved" | "dismissed"): Promise<void> {
    const r = await this.#db
      .updateTable("review_items")
      .set((eb) => ({ status, resolved_at: eb.fn.coalesce("resolved_at", eb.val(now())) }))
      .where("id", "=", id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound("review item", id);
  }

  // ---------------------------------------------------------------- idempotent creates

  async addCreateIntent(intent: Omit<CreateIntent, "id" | "status" | "remoteId" | "createdAt" | "updatedAt">): Promise<CreateIntent> {
    const at = now();
    const payload = JSON.stringify(intent.payload ?? {});
    try {
      const r = await this.#hot<{ id: number | string }>(
        "create_intent.insert",
        {
          integration: intent.integration,
          object: intent.object,
          target: intent.target,
          source_id: intent.sourceId,
          shared_id: intent.sharedId ?? null,
          payload,
          status: "pending",
          remote_id: null,
          created_at: at,
          updated_at: at,
        },
        (db, m) =>
          db
            .insertInto("create_intents")
            .values(m as never)
            .returning("id"),
      );
      const row = r.rows[0];
      if (!row) throw new Error("store: inserting a create intent returned no id");
      // built from what was written (only the id is read back)
      return {
        id: toId(row.id),
        integration: intent.integration,
        object: intent.object,
        target: intent.target,
        sourceId: intent.sourceId,
        sharedId: intent.sharedId ?? null,
        payload: JSON.parse(payload) as Record<string, Json>,
        status: "pending",
        remoteId: null,
        createdAt: at,
        updatedAt: at,
      };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      throw new Duplicate(
        `a create in ${intent.target} mirroring record ${intent.sourceId} of ${intent.integration}/${intent.object} is already pending`,
        {
          where: { system: intent.target, object: intent.object, record: intent.sourceId },
          hint: "Recover the pending intent (pendingCreateIntents) — look the record up by its shared id — instead of creating it again.",
          cause: err,
        },
      );
    }
  }

  async completeCreateIntent(id: number, remoteId: string): Promise<void> {
    const r = await this.#hot("create_intent.done", { status: "done", remote_id: remoteId, updated_at: now(), id }, (db, m) =>
      db
        .updateTable("create_intents")
        .set({ status: m.status, remote_id: m.remote_id, updated_at: m.updated_at })
        .where("id", "=", m.id as never),
    );
    if (Number(r.numAffectedRows ?? 0) === 0) throw notFound("create intent", id);
  }

  async failCreateIntent(id: number): Promise<void> {
    const r = await this.#db
      .updateTable("create_intents")
      .set({ status: "failed", updated_at: now() })
      .where("id", "=", id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound("create intent", id);
  }

  async pendingCreateIntents(integration: string, object?: string): Promise<CreateIntent[]> {
    let q = this.#db.selectFrom("create_intents").selectAll().where("integration", "=", integration).where("status", "=", "pending");
    if (object !== undefined) q = q.where("object", "=", object);
    return (await q.orderBy("id").execute()).map(rowToIntent);
  }

  // ---------------------------------------------------------------- quarantine

  /**
   * Quarantines a record. If the record already has an unresolved entry (open or released),
   * that entry is reused: attempts + 1, status back to "open", reason/class/payload replaced.
   */
  async quarantine(entry: Omit<QuarantineEntry, "id" | "attempts" | "status" | "createdAt" | "updatedAt">): Promise<QuarantineEntry> {
    const payload = JSON.stringify(entry.payload ?? {});
    const bump = async () =>
      this.#db
        .updateTable("quarantine")
        .set((eb) => ({
          attempts: eb("attempts", "+", 1),
          status: "open",
          error_class: entry.errorClass,
          reason: entry.reason,
          payload,
          updated_at: now(),
        }))
        .where("integration", "=", entry.integration)
        .where("object", "=", entry.object)
        .where("side", "=", entry.side)
        .where("record_id", "=", entry.recordId)
        .where("status", "<>", "resolved")
        .returningAll()
        .executeTakeFirst();
    const bumped = await bump();
    if (bumped) return rowToQuarantine(bumped);
    const at = now();
    try {
      const row = await this.#db
        .insertInto("quarantine")
        .values({
          integration: entry.integration,
          object: entry.object,
          side: entry.side,
          record_id: entry.recordId,
          error_class: entry.errorClass,
          reason: entry.reason,
          payload,
          attempts: 1,
          status: "open",
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return rowToQuarantine(row);
    } catch (err) {
      // Another worker quarantined the same record between our update and insert.
      // (Not inside a PostgreSQL transaction: the failed insert has aborted it.)
      if (!isUniqueViolation(err) || (this.dialect === "postgres" && !this.#owner)) throw err;
      const again = await bump();
      if (!again) throw err;
      return rowToQuarantine(again);
    }
  }

  async listQuarantine(
    integration: string,
    opts: { object?: string; status?: QuarantineEntry["status"] } = {},
  ): Promise<QuarantineEntry[]> {
    let q = this.#db.selectFrom("quarantine").selectAll().where("integration", "=", integration);
    if (opts.object !== undefined) q = q.where("object", "=", opts.object);
    if (opts.status !== undefined) q = q.where("status", "=", opts.status);
    return (await q.orderBy("id").execute()).map(rowToQuarantine);
  }

  async updateQuarantine(id: number, patch: Partial<Pick<QuarantineEntry, "payload" | "status" | "reason" | "errorClass">>): Promise<void> {
    const set: { updated_at: string; payload?: string; status?: string; reason?: string; error_class?: string } = { updated_at: now() };
    if (patch.payload !== undefined) set.payload = JSON.stringify(patch.payload);
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.reason !== undefined) set.reason = patch.reason;
    if (patch.errorClass !== undefined) set.error_class = patch.errorClass;
    const r = await this.#db.updateTable("quarantine").set(set).where("id", "=", id).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound("quarantine entry", id);
  }

  // ---------------------------------------------------------------- pins

  async setPinned(integration: string, object: string, side: Side, recordId: string, pinned: boolean): Promise<void> {
    if (pinned) {
      await this.#db
        .insertInto("pins")
        .values({ integration, object, side, record_id: recordId, pinned_at: now() })
        .onConflict((oc) => oc.columns(["integration", "object", "side", "record_id"]).doNothing())
        .execute();
    } else {
      await this.#db
        .deleteFrom("pins")
        .where("integration", "=", integration)
        .where("object", "=", object)
        .where("side", "=", side)
        .where("record_id", "=", recordId)
        .execute();
    }
  }

  async getLinksByIds(integration: string, object: string, by: Side | "shared", ids: string[]): Promise<Link[]> {
    const out: Link[] = [];
    const col = by === "crm" ? "crm_id" : by === "erp" ? "erp_id" : "shared_id";
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.#db
        .selectFrom("links")
        .selectAll()
        .where("integration", "=", integration)
        .where("object", "=", object)
        .where(col, "in", chunk)
        .orderBy("id")
        .execute();
      for (const r of rows) out.push(rowToLink(r));
    }
    return out;
  }

  async pinnedAmong(integration: string, object: string, side: Side, ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db
        .selectFrom("pins")
        .select("record_id")
        .where("integration", "=", integration)
        .where("object", "=", object)
        .where("side", "=", side)
        .where("record_id", "in", ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.push(r.record_id);
    }
    return out;
  }

  async isPinned(integration: string, object: string, side: Side, recordId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom("pins")
      .select("record_id")
      .where("integration", "=", integration)
      .where("object", "=", object)
      .where("side", "=", side)
      .where("record_id", "=", recordId)
      .executeTakeFirst();
    return row !== undefined;
  }

  // ---------------------------------------------------------------- schema snapshots and spec versions

  async saveSchemaSnapshot(s: SchemaSnapshot): Promise<void> {
    await this.#db
      .insertInto("schema_snapshots")
      .values({ integration: s.integration, side: s.side, schema_json: toText(s.schema), accepted_at: s.acceptedAt || now() })
      .execute();
  }

  async latestSchemaSnapshot(integration: string, side: Side): Promise<SchemaSnapshot | undefined> {
    const row = await this.#db
      .selectFrom("schema_snapshots")
      .selectAll()
      .where("integration", "=", integration)
      .where("side", "=", side)
      .orderBy("accepted_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row
      ? { integration: row.integration, side: row.side as Side, schema: fromText(row.schema_json), acceptedAt: row.accepted_at }
      : undefined;
  }

  async saveSpecVersion(v: Omit<SpecVersion, "id" | "at">): Promise<SpecVersion> {
    const row = await this.#db
      .insertInto("spec_versions")
      .values({
        integration: v.integration,
        hash: v.hash,
        spec_text: v.text,
        author: v.author ?? null,
        why: v.why ?? null,
        plan: toText(v.plan),
        at: now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToSpecVersion(row);
  }

  /** Newest first. */
  async listSpecVersions(integration: string): Promise<SpecVersion[]> {
    const rows = await this.#db
      .selectFrom("spec_versions")
      .selectAll()
      .where("integration", "=", integration)
      .orderBy("id", "desc")
      .execute();
    return rows.map(rowToSpecVersion);
  }
  // ---------------------------------------------------------------- operations: alerts, runtime lock, field activity

  async raiseAlert(
    a: Pick<Alert, "integration" | "rule" | "object" | "severity" | "message" | "detail">,
  ): Promise<{ alert: Alert; opened: boolean }> {
    const at = now();
    const existing = await this.#db
      .selectFrom("alerts")
      .selectAll()
      .where("integration", "=", a.integration)
      .where("rule", "=", a.rule)
      .where("object", "=", a.object)
      .where("status", "in", ["open", "acknowledged"])
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    if (existing) {
      const row = await this.#db
        .updateTable("alerts")
        .set({
          occurrences: Number(existing.occurrences) + 1,
          last_at: at,
          message: a.message,
          detail: toText(a.detail),
          severity: a.severity === "critical" ? "critical" : existing.severity,
        })
        .where("id", "=", existing.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { alert: rowToAlert(row), opened: false };
    }
    const row = await this.#db
      .insertInto("alerts")
      .values({
        integration: a.integration,
        rule: a.rule,
        object: a.object,
        severity: a.severity,
        status: "open",
        message: a.message,
        detail: toText(a.detail),
        occurrences: 1,
        first_at: at,
        last_at: at,
        notified_at: null,
        escalated_at: null,
        acked_by: null,
        acked_at: null,
        resolved_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { alert: rowToAlert(row), opened: true };
  }

  /** Newest first. */
  async listAlerts(integration: string, opts: { status?: Alert["status"] | "active"; limit?: number } = {}): Promise<Alert[]> {
    let q = this.#db.selectFrom("alerts").selectAll().where("integration", "=", integration);
    if (opts.status === "active") q = q.where("status", "in", ["open", "acknowledged"]);
    else if (opts.status) q = q.where("status", "=", opts.status);
    q = q.orderBy("id", "desc");
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rowToAlert);
  }

  async getAlert(id: number): Promise<Alert | undefined> {
    const row = await this.#db.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? rowToAlert(row) : undefined;
  }

  async ackAlert(id: number, by: string): Promise<Alert> {
    const row = await this.#db
      .updateTable("alerts")
      .set({ status: "acknowledged", acked_by: by, acked_at: now() })
      .where("id", "=", id)
      .where("status", "=", "open")
      .returningAll()
      .executeTakeFirst();
    if (row) return rowToAlert(row);
    const current = await this.getAlert(id);
    if (!current) throw notFound("alert", id);
    return current; // already acknowledged or resolved: nothing to change
  }

  async resolveAlert(id: number): Promise<void> {
    await this.#db
      .updateTable("alerts")
      .set({ status: "resolved", resolved_at: now() })
      .where("id", "=", id)
      .where("status", "!=", "resolved")
      .execute();
  }

  async markAlertSent(id: number, what: "notified" | "escalated"): Promise<void> {
    await this.#db
      .updateTable("alerts")
      .set(what === "notified" ? { notified_at: now() } : { escalated_at: now() })
      .where("id", "=", id)
      .execute();
  }

  async acquireLock(integration: string, holder: string, leaseMs: number): Promise<boolean> {
    const t = new Date();
    const at = t.toISOString();
    const expires = new Date(t.getTime() + Math.max(1, leaseMs)).toISOString();
    // Take it over when it is ours (renewal) or its lease ran out (the holder died).
    const upd = await this.#db
      .updateTable("runtime_locks")
      .set({ holder, acquired_at: at, expires_at: expires })
      .where("integration", "=", integration)
      .where((eb) => eb.or([eb("holder", "=", holder), eb("expires_at", "<", at)]))
      .executeTakeFirst();
    if (Number(upd.numUpdatedRows) > 0) return true;
    try {
      await this.#db.insertInto("runtime_locks").values({ integration, holder, acquired_at: at, expires_at: expires }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false; // a live holder has it
      throw err;
    }
  }

  async getLock(integration: string): Promise<{ holder: string; acquiredAt: string; expiresAt: string } | undefined> {
    const r = await this.#db.selectFrom("runtime_locks").selectAll().where("integration", "=", integration).executeTakeFirst();
    return r ? { holder: r.holder, acquiredAt: r.acquired_at, expiresAt: r.expires_at } : undefined;
  }

  async releaseLock(integration: string, holder: string): Promise<void> {
    await this.#db.deleteFrom("runtime_locks").where("integration", "=", integration).where("holder", "=", holder).execute();
  }

  async fieldChanges(integration: string, object: string, field: string, since: string): Promise<{ count: number; lastAt: string | null }> {
    const base = this.#db
      .selectFrom("change_log")
      .where("integration", "=", integration)
      .where("object", "=", object)
      .where("field", "=", field);
    const c = await base
      .select((eb) => eb.fn.countAll().as("n"))
      .where("at", ">=", since)
      .executeTakeFirst();
    const last = await base.select((eb) => eb.fn.max("at").as("last")).executeTakeFirst();
    return { count: Number(c?.n ?? 0), lastAt: (last?.last as string | null | undefined) ?? null };
  }

  // ---------------------------------------------------------------- console users, sessions, API tokens

  async addUser(u: Pick<User, "name" | "role" | "passwordHash">): Promise<User> {
    const at = now();
    try {
      const row = await this.#db
        .insertInto("users")
        .values({ name: u.name, role: u.role, password_hash: u.passwordHash, disabled: false, created_at: at, updated_at: at })
        .returningAll()
        .executeTakeFirstOrThrow();
      return rowToUser(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new Duplicate(`a console user named "${u.name}" already exists`, {
          hint: "Pick another name, or change the existing user's password or role with `accord user passwd` / `accord user role`.",
        });
      throw err;
    }
  }

  async getUser(by: { id?: number; name?: string }): Promise<User | undefined> {
    if (by.id === undefined && by.name === undefined) throw new TypeError("store.getUser needs an id or a name");
    let q = this.#db.selectFrom("users").selectAll();
    if (by.id !== undefined) q = q.where("id", "=", by.id);
    if (by.name !== undefined) q = q.where("name", "=", by.name);
    const row = await q.executeTakeFirst();
    return row ? rowToUser(row) : undefined;
  }

  async listUsers(): Promise<User[]> {
    return (await this.#db.selectFrom("users").selectAll().orderBy("id").execute()).map(rowToUser);
  }

  async updateUser(id: number, patch: Partial<Pick<User, "role" | "passwordHash" | "disabled">>): Promise<void> {
    const set: { role?: string; password_hash?: string; disabled?: boolean; updated_at: string } = { updated_at: now() };
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.passwordHash !== undefined) set.password_hash = patch.passwordHash;
    if (patch.disabled !== undefined) set.disabled = patch.disabled;
    const r = await this.#db.updateTable("users").set(set).where("id", "=", id).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound("user", id);
  }

  async createSession(s: Omit<Session, "createdAt">): Promise<Session> {
    const row = { token_hash: s.tokenHash, user_id: s.userId, csrf: s.csrf, created_at: now(), expires_at: s.expiresAt };
    await this.#db.insertInto("sessions").values(row).execute();
    return { ...s, createdAt: row.created_at };
  }

  async getSession(tokenHash: string): Promise<Session | undefined> {
    const r = await this.#db.selectFrom("sessions").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    return r
      ? { tokenHash: r.token_hash, userId: toId(r.user_id), csrf: r.csrf, createdAt: r.created_at, expiresAt: r.expires_at }
      : undefined;
  }

  async deleteSessions(by: { tokenHash?: string; userId?: number; expiredBefore?: string }): Promise<number> {
    if (by.tokenHash === undefined && by.userId === undefined && by.expiredBefore === undefined)
      throw new TypeError("store.deleteSessions needs a tokenHash, a userId or expiredBefore");
    let q = this.#db.deleteFrom("sessions");
    if (by.tokenHash !== undefined) q = q.where("token_hash", "=", by.tokenHash);
    if (by.userId !== undefined) q = q.where("user_id", "=", by.userId);
    if (by.expiredBefore !== undefined) q = q.where("expires_at", "<", by.expiredBefore);
    return Number((await q.executeTakeFirst()).numDeletedRows);
  }

  async addApiToken(t: Pick<ApiToken, "userId" | "label" | "tokenHash" | "expiresAt">): Promise<ApiToken> {
    const row = await this.#db
      .insertInto("api_tokens")
      .values({
        user_id: t.userId,
        label: t.label,
        token_hash: t.tokenHash,
        created_at: now(),
        expires_at: t.expiresAt,
        last_used_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToApiToken(row);
  }

  async getApiToken(tokenHash: string): Promise<ApiToken | undefined> {
    const r = await this.#db.selectFrom("api_tokens").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    return r ? rowToApiToken(r) : undefined;
  }

  async listApiTokens(userId?: number): Promise<ApiToken[]> {
    let q = this.#db.selectFrom("api_tokens").selectAll();
    if (userId !== undefined) q = q.where("user_id", "=", userId);
    return (await q.orderBy("id").execute()).map(rowToApiToken);
  }

  async revokeApiToken(id: number): Promise<boolean> {
    const r = await this.#db.deleteFrom("api_tokens").where("id", "=", id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touchApiToken(id: number, at: string): Promise<void> {
    await this.#db.updateTable("api_tokens").set({ last_used_at: at }).where("id", "=", id).execute();
  }

  // ---------------------------------------------------------------- registered integrations (Step 10: ./kysely-integrations.ts)

  saveIntegration(r: Omit<IntegrationRecord, "createdAt" | "updatedAt">): Promise<IntegrationRecord> {
    return registered.saveIntegration(this.#db, r);
  }
  getIntegrationRecord(name: string): Promise<IntegrationRecord | undefined> {
    return registered.getIntegrationRecord(this.#db, name);
  }
  listIntegrationRecords(opts?: { tenant?: string }): Promise<IntegrationRecord[]> {
    return registered.listIntegrationRecords(this.#db, opts);
  }
  deleteIntegration(name: string): Promise<boolean> {
    return registered.deleteIntegration(this.#db, name);
  }
  setUserTenant(userId: number, tenant: string | null): Promise<void> {
    return registered.setUserTenant(this.#db, userId, tenant);
  }

  // ---------------------------------------------------------------- webhook deliveries (migration 0006)

  async firstDelivery(key: string, windowMs: number, now: Date = new Date()): Promise<boolean> {
    const db = this.#db as unknown as Kysely<WebhookDeliveriesDatabase>;
    const t = now.getTime();
    const cutoff = t - Math.max(0, windowMs);
    // Now and then (not on every call) forget the keys older than the window; the upsert below does
    // not need it (it takes an expired key over), it only keeps the table small.
    const pruned = deliveriesPrunedAt.get(this.#db) ?? 0;
    if (t - pruned >= Math.min(Math.max(windowMs, 1000), 60_000) || t < pruned) {
      deliveriesPrunedAt.set(this.#db, t);
      await db.deleteFrom("webhook_deliveries").where("seen_at", "<", cutoff).execute();
    }
    // One statement on both dialects: a new key is inserted; a key seen within the window is left as
    // it is (no row affected → a replay); an expired one is taken over. The primary key makes two
    // processes racing on one key get one affected row between them.
    const r = await db
      .insertInto("webhook_deliveries")
      .values({ delivery_key: key, seen_at: t })
      .onConflict((oc) => oc.column("delivery_key").doUpdateSet({ seen_at: t }).where("webhook_deliveries.seen_at", "<", cutoff))
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}

/** The table of migration 0006, as the store's Kysely instance sees it (kept out of schema.ts's StoreDatabase). */
interface WebhookDeliveriesDatabase {
  webhook_deliveries: { delivery_key: string; seen_at: number };
}

/** When each connection (or transaction) last pruned webhook_deliveries (ms since the epoch). */
const deliveriesPrunedAt = new WeakMap<object, number>();

function notFound(what: string, id: number): NotFound {
  return new NotFound(`${what} ${id} does not exist in the store`, {
    where: { record: String(id) },
    hint: `Check the id (list the ${what}s first); it may belong to another database or have been removed.`,
  });
}
