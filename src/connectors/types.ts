/**
 * The connector interface: everything the engine may ask of a remote system.
 * One folder per system under src/connectors/<type>/ implements it; nothing
 * outside that folder names the system. See docs/connectors.md.
 *
 * Conventions every implementation keeps:
 * - timestamps crossing this interface are UTC ISO-8601 strings with milliseconds
 *   ("2026-01-02T03:04:05.000Z"), whatever the system's own format and zone;
 * - ids are the system's own record ids (EspoCRM id, ERPNext name, Tryton id as string);
 * - `values` hold the system's own field names and JSON values (numbers as numbers,
 *   dates as "YYYY-MM-DD"); child tables are arrays of row objects;
 * - every failure is thrown as one of the classes in src/errors.ts, and no message
 *   contains a credential.
 */

export interface RemoteRecord {
  id: string;
  /** Last modification, UTC ISO. */
  modifiedAt: string;
  /** Creation, UTC ISO (used by first-created-wins). */
  createdAt?: string;
  /** The user id/name that made the last change (for echo suppression), when the system records it. */
  modifiedBy?: string;
  /** Opaque optimistic-concurrency token (EspoCRM versionNumber, ERPNext `modified` raw), when the system has one. */
  version?: string;
  /** Document state for systems that have one (e.g. ERPNext docstatus 0/1/2 as "draft"|"submitted"|"cancelled"). */
  state?: string;
  values: Record<string, unknown>;
}

/** Position of an incremental read: the (modifiedAt, id) of the last record seen. */
export interface Cursor {
  modifiedAt: string; // UTC ISO
  id: string;
}

export interface ReadChangesOptions {
  /** Start after this position; absent = from the beginning. */
  since?: Cursor;
  /**
   * Re-read this many ms before `since.modifiedAt` (clock skew, late commits,
   * records sharing a timestamp). Re-reads are harmless: the engine dedupes by content.
   */
  overlapMs?: number;
  /**
   * Fields to fetch (system names); absent = all. A table field named here comes back with its rows
   * (a system may leave child tables out of its default reads); a field path names its table.
   */
  fields?: string[];
  /** Page size; absent = the system's maximum. */
  pageSize?: number;
  /** Extra filter in the spec's neutral form. */
  filter?: FilterExpr[];
}

export interface RecordPage {
  records: RemoteRecord[];
  /** Cursor after the last record of this page (to persist once the page is processed). */
  cursor?: Cursor;
}

/** A neutral filter condition; each connector encodes it in its own query syntax, safely. */
export interface FilterExpr {
  field: string;
  op: "=" | "!=" | ">" | ">=" | "<" | "<=" | "in" | "not in" | "like" | "is set" | "is not set";
  value?: unknown;
}

export type FieldType =
  | "string"
  | "text"
  | "int"
  | "float"
  | "currency"
  | "bool"
  | "date"
  | "datetime"
  | "enum"
  | "link"
  | "table"
  | "email"
  | "phone"
  | "json"
  | "other";

export interface FieldDescription {
  name: string;
  type: FieldType;
  /** The system's own type name (e.g. "varchar", "Link", "Currency"). */
  nativeType: string;
  label?: string;
  required: boolean;
  readOnly: boolean;
  options?: string[]; // picklist options
  maxLength?: number;
  /** For link fields: the target entity; for tables: the child entity. */
  target?: string;
}

export interface EntityDescription {
  name: string;
  fields: Record<string, FieldDescription>;
  /** Whether documents of this entity have states (draft/submitted/cancelled). */
  submittable?: boolean;
}

export interface SchemaDescription {
  entities: Record<string, EntityDescription>;
}

export interface WebhookEvent {
  entity?: string;
  id: string;
  kind: "create" | "update" | "delete" | "other";
  values?: Record<string, unknown>;
}

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** Path and query of the incoming request, in case the system encodes the event there. */
  url: string;
}

export interface Connector {
  readonly type: string;
  /** The id/name of the user Accord authenticates as (echo suppression by author). */
  whoAmI(): Promise<string>;
  describe(entities?: string[]): Promise<SchemaDescription>;
  /** Pages of records changed since the cursor, ordered by (modifiedAt, id) ascending. */
  readChanges(entity: string, opts?: ReadChangesOptions): AsyncIterable<RecordPage>;
  readByIds(entity: string, ids: string[], fields?: string[]): Promise<RemoteRecord[]>;
  /**
   * Exact match on one field; value comes from record data and is encoded safely. `field` may be a
   * path into a child table (`links[link_doctype=Customer].link_name`, see field-path.ts): records
   * having a row that matches the selector with that value, returned with that table.
   */
  findByField(entity: string, field: string, value: string | number): Promise<RemoteRecord[]>;
  create(entity: string, values: Record<string, unknown>): Promise<RemoteRecord>;
  /**
   * Create several records in one call, where the system has a bulk create (ERPNext
   * `frappe.client.insert_many`: at most `maxCreateBatch` documents, one transaction — all or none).
   * `key` names a plain field every payload sets to a value unique in the batch (the object's
   * createKey): the created records are matched back by it, never by position. `fields`: what to
   * read of the created records (the bulk answer holds ids only). Returns one entry per payload, in
   * the payloads' order: the created record, or an error concerning that record alone (ERPNext
   * renamed a customer whose name was taken: that copy is deleted again and a Duplicate returned).
   * Throws when the call as a whole failed: nothing was created when the error says the system
   * refused (certainlyNotCreated), otherwise the outcome is unknown and the stored intents decide.
   */
  createMany?(
    entity: string,
    payloads: Array<Record<string, unknown>>,
    opts: { key: string; fields?: string[] },
  ): Promise<Array<RemoteRecord | Error>>;
  /** How many records one createMany call may carry. */
  readonly maxCreateBatch?: number;
  /**
   * Partial update. With `ifVersion` the write only happens when the record is still at
   * that version; otherwise VersionConflict is thrown (re-read and re-plan).
   * A child table given in values replaces the whole table (send all rows).
   */
  update(entity: string, id: string, values: Record<string, unknown>, opts?: { ifVersion?: string }): Promise<RemoteRecord>;
  /** Document states, where the system has them. */
  submit?(entity: string, id: string): Promise<RemoteRecord>;
  cancel?(entity: string, id: string): Promise<RemoteRecord>;
  /** Delete a record (deletes: propagate). Optional: without it the engine flags the link instead. */
  delete?(entity: string, id: string): Promise<void>;
  /**
   * Merge duplicates with the system's own merge (EspoCRM `POST /{Entity}/action/merge`, ERPNext
   * rename-with-merge): every reference to an id in `otherIds` moves to `survivorId`, the others are
   * removed, and `values` (the best values, chosen by the caller) are written onto the survivor.
   * Returns the survivor as read after the merge. Optional: without it a person merges by hand.
   */
  merge?(entity: string, survivorId: string, otherIds: string[], values?: Record<string, unknown>): Promise<RemoteRecord>;
  /**
   * The organisations these records describe, as the matcher reads them (audit, go-live linking):
   * name, postal address, phone, e-mail, website, tax id, and the shared identifier stamped in by
   * Accord. The connector knows where its system keeps each (e.g. a customer's address in another
   * document) and may read related records to fill them. `sharedIdField` is the object's identity
   * field on this side; the system's own primary key means "none stamped". Optional: without it the
   * records of this system are not matched (audit still reports formats and missing fields).
   */
  organisations?(entity: string, records: readonly RemoteRecord[], opts?: { sharedIdField?: string }): Promise<OrganisationView[]>;
  /**
   * Webhook subscriptions for Accord in the system itself (`accord webhooks register`): one per
   * entity and event, delivering to `url` (the connector adds what its parseWebhook needs to tell
   * events apart, e.g. `?event=…`). Returns the subscription with the secret that signs its
   * deliveries (EspoCRM gives each its own; ERPNext uses the `secret` given). Optional.
   */
  subscribeWebhook?(entity: string, event: WebhookEventKind, url: string, opts?: { secret?: string }): Promise<WebhookSubscription>;
  /** The subscriptions Accord's user holds (secrets only where the system returns them). */
  listWebhookSubscriptions?(): Promise<WebhookSubscription[]>;
  unsubscribeWebhook?(id: string): Promise<void>;
  /** All ids of an entity (deletion detection by comparison), in pages. */
  listIds?(entity: string): AsyncIterable<string[]>;
  /** Verify a webhook's signature and parse its events; throws AuthError when the signature is wrong or missing. */
  parseWebhook?(req: WebhookRequest, secret: string): WebhookEvent[];
  /** API usage since start (for bench and metrics). */
  stats(): ConnectorStats;
  close(): Promise<void>;
}

export interface ConnectorStats {
  calls: number;
  retries: number;
  errors: Record<string, number>;
}

export interface ConnectorConfig {
  url: string;
  /** Resolved credentials (never logged). Keys are the connector's own (apiKey, apiSecret, user, password …). */
  credentials: Record<string, string>;
  /** Connector-specific options from the integration file (timezone, rateLimit, timeoutMs, …). */
  options?: Record<string, unknown>;
}

export interface ConnectorDefinition {
  type: string;
  /** Human description for `accord --help` and docs. */
  title: string;
  /** Which credential keys the connector needs (for spec validation). */
  credentialKeys: { required: string[]; optional?: string[] };
  create(config: ConnectorConfig): Connector;
}

/** One organisation (company or site) in a system, in neutral terms (see Connector.organisations). Only `id` and `name` are always there. */
export interface OrganisationView {
  id: string;
  name: string;
  street?: string;
  city?: string;
  postalCode?: string;
  country?: string;
  phone?: string;
  email?: string;
  website?: string;
  /** VAT / tax registration number. */
  taxId?: string;
  /** The identifier of the counterpart in the other system, as stamped into this record. */
  sharedId?: string;
}

/** The record events a webhook subscription can carry. */
export type WebhookEventKind = "create" | "update" | "delete";

/** A webhook subscription in a system (see Connector.subscribeWebhook). */
export interface WebhookSubscription {
  id: string;
  entity: string;
  event: WebhookEventKind;
  /** Where the system delivers (as stored in the system, with the connector's query). */
  url: string;
  active: boolean;
  /** The signing secret, when the system returns it (never logged). */
  secret?: string;
}
