/** The engine's public and internal types: context, plans (Ops, each with a reason), results. */
import type { Connector, RemoteRecord } from "../connectors/types.ts";
import type { DeletePolicy, IntegrationSpec, ObjectSpec, Side } from "../spec/model.ts";
import type { Json, Link, QuarantineEntry, ReviewItem, RunCounts, Store } from "../store/types.ts";
import type { BulkCreates } from "./bulk-creates.ts";
import type { EngineField } from "./fields.ts";
import type { FieldDecision } from "./reconcile.ts";

/** Structured logger (pino-compatible subset). */
export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineContext {
  spec: IntegrationSpec;
  store: Store;
  crm: Connector;
  erp: Connector;
  logger?: EngineLogger;
  /** Now (bounce windows); defaults to the system clock. */
  clock?: () => Date;
}

export type Outcome = "applied" | "unchanged" | "held" | "quarantined";

/** One change of one field in one system (what the change log records). */
export interface FieldChange {
  /** Field name in the target system. */
  field: string;
  key: string;
  before: Json;
  after: Json;
  source: Side | "person";
  rule: string;
  reason: string;
}

export interface UpdateOp {
  target: Side;
  entity: string;
  recordId: string;
  values: Record<string, Json>;
  /** The version read: the write only happens if the record is still at it. Absent for the identity stamp only. */
  ifVersion?: string;
  changes: FieldChange[];
}

export interface CreateOp {
  target: Side;
  entity: string;
  sourceId: string;
  /** Known before the create when the target is the CRM (the ERP identity); null when the ERP assigns it. */
  sharedId: string | null;
  payload: Record<string, Json>;
  reason: string;
  /** A pending intent being recovered instead of a new create (dry run only). */
  recoversIntent?: number;
}

export interface ReviewOp {
  kind: ReviewItem["kind"];
  field: string | null;
  base: Json;
  crm: Json;
  erp: Json;
  reason: string;
  detail: Json;
}

export interface QuarantineOp {
  side: Side;
  recordId: string;
  errorClass: string;
  reason: string;
  payload: Record<string, Json>;
}

export interface DeletionOp {
  deletedSide: Side;
  policy: DeletePolicy;
  /** The surviving record. */
  survivorId: string | null;
  reason: string;
}

/** The plan of one record read: everything apply would do, each part with its reason. */
export interface RecordPlan {
  object: string;
  side: Side;
  recordId: string;
  outcome: Outcome;
  reason: string;
  link?: Link;
  /** A link to create first (records matched by their shared identifier). */
  newLink?: { crmId: string; erpId: string; sharedId: string };
  crm?: RemoteRecord;
  erp?: RemoteRecord;
  sharedId?: string;
  fields: FieldDecision[];
  updates: UpdateOp[];
  create?: CreateOp;
  source?: RemoteRecord;
  reviews: ReviewOp[];
  quarantine?: QuarantineOp;
  deletion?: DeletionOp;
  /** Submit the target document after the plan's writes (submit policy; the record is still a draft). */
  submit?: { target: Side; entity: string; recordId: string };
  /** A message for the record's sync-error field (`errors:`), e.g. the reason of a hold rule. */
  flag?: string;
  /** Whether the pair's bounce counter should be reset (a resolved bounce review). */
  resetBounce?: number;
  echo?: boolean;
}

/** A flat, printable operation of a plan. */
export interface PlanOp {
  kind: "update" | "create" | "link" | "review" | "quarantine" | "delete" | "flag" | "rebase" | "note";
  target?: Side;
  recordId?: string;
  field?: string;
  before?: Json;
  after?: Json;
  rule?: string;
  reason: string;
}

export interface RecordReport {
  object: string;
  side: Side;
  recordId: string;
  counterpartId: string | null;
  outcome: Outcome;
  reason: string;
  ops: PlanOp[];
}

export interface ObjectResult {
  object: string;
  /** The run's id in the store (null for a dry run). */
  runId: number | null;
  counts: RunCounts;
  /** Records whose echo of Accord's own write was recognised (subset of unchanged). */
  echoes: number;
  /** Deletions detected by comparing ids (not records read; not in counts). */
  deletions: number;
  /** Create intents recovered after an interrupted run. */
  recovered: number;
  /**
   * Per record read: what was (or, in a plan, would be) done. Records with nothing to do are omitted unless `verbose`.
   * A real run keeps at most `SyncOptions.reportLimit` reports of applied/unchanged records and as many of held and
   * quarantined ones (memory stays flat in the records synced); a dry run (`accord plan`) keeps them all.
   */
  records: RecordReport[];
  /** Reports left out of `records` by the report limit (every record is still counted, and streamed to `onRecord`). */
  unlisted?: number;
}

export interface SyncResult {
  integration: string;
  dryRun: boolean;
  objects: ObjectResult[];
  totals: RunCounts;
}

export interface ProgressEvent {
  object: string;
  phase: "start" | "read" | "retry" | "deletes" | "done";
  side?: Side;
  counts: RunCounts;
}

export interface SyncOptions {
  /** Object names to sync (default: all, in spec order). */
  objects?: string[];
  onProgress?: (e: ProgressEvent) => void;
  /** Compare full id lists to detect deletions (when the connectors can list ids). Default true. */
  detectDeletes?: boolean;
  /** Include records with nothing to do in the result's `records`. */
  verbose?: boolean;
  /** Bounded retries after VersionConflict (re-read and re-plan). Default 3. */
  maxVersionRetries?: number;
  /** Records of a page processed at once (records sharing a shared id always in turn). Default 1. */
  applyConcurrency?: number;
  /**
   * Called before each page of changes is processed; throw to stop the run there (a graceful stop, a
   * lost lease). Needed besides a guard on the connector's reads: the engine reads the next page while
   * it processes one, so a read that was allowed may be processed after the stop.
   */
  beforePage?: () => void;
  /**
   * Reports kept per object in `ObjectResult.records`, for applied/unchanged records and again for held/quarantined
   * ones; the rest are counted in `unlisted`. Default: all in a dry run or with `verbose`, else DEFAULT_REPORT_LIMIT.
   */
  reportLimit?: number;
  /** Every report as it is made (each record with something to do, or every record with `verbose`), kept or not. */
  onRecord?: (report: RecordReport) => void;
  /**
   * Targeted run (accord run, webhooks): process only these records, read by id, instead of reading
   * changes from the cursors (the cursors do not move; the next incremental read sees them again,
   * harmlessly — invariant 3). Only for objects without a filter on that side (readByIds does not filter).
   */
  records?: Partial<Record<Side, string[]>>;
  /** Retry open and released quarantine entries in this run. Default true (accord run skips it in webhook/poll runs). */
  retryQuarantined?: boolean;
}

/** What the runner keeps while syncing one object. */
export interface ObjectRun {
  ctx: EngineContext;
  obj: ObjectSpec;
  fields: EngineField[];
  dry: boolean;
  runId: number | null;
  counts: RunCounts;
  result: ObjectResult;
  ownUser: { crm?: string; erp?: string };
  /** Open quarantine entries of this object by "side:id". */
  quarantined: Map<string, QuarantineEntry>;
  /** Open review items by link id. */
  openReviews: Map<number, ReviewItem[]>;
  /** Resolved review items by link id (applied ones are filtered through the link's base). */
  resolvedReviews: Map<number, ReviewItem[]>;
  /** "side:id" of records processed in this run (extra work items skip them). */
  processed: Set<string>;
  /**
   * "side:id" of records Accord wrote (created, stamped, updated) in this run. A page of changes
   * holding only such records ends the read of that side for this run (see runner.ts).
   */
  written?: Set<string>;
  /**
   * Identity stamps running behind the creates (set by the runner for a page processed in several
   * lanes): at most `limit` in flight; failures collected for the runner, which awaits them all
   * before the page's cursor is saved.
   */
  stamps?: {
    inFlight: Set<Promise<void>>;
    limit: number;
    errors: Array<{ err: unknown; side: Side; record: RemoteRecord }>;
    /** Lanes waiting for a free place, woken in turn one per finished stamp; places handed to a woken lane not yet taken. */
    waiting?: { lanes: Array<() => void>; handedOver: number };
  };
  /**
   * The current page's links and pins by "side:id", read in one query each (store permitting).
   * Consumed by the first plan of each record (a re-plan after a VersionConflict reads afresh).
   */
  prefetched?: Map<string, { link: Link | undefined; pinned: boolean }>;
  /**
   * The links carrying the shared ids of the current page's unlinked records, read in one query: only
   * for ids carried by one record of the page (no other record of it can link such an id meanwhile);
   * a covered id absent from `links` has no link.
   */
  sharedLinks?: { covered: Set<string>; links: Map<string, Link> };
  /**
   * With `crm: { identity: id }`: the ERP records carrying the shared ids of the current CRM page's
   * unlinked records, read in one query (`identity in [...]`); a covered id absent from `found` has none.
   */
  sharedIdLookups?: { covered: Set<string>; found: Map<string, RemoteRecord[]> };
  /**
   * Bulk creates (bulk-creates.ts), set by the runner for a real run in several lanes: per target
   * side, the creates shared across records (null: that system has no bulk create, or no key to
   * match created records by); at most `maxInFlight` bulk calls at a time.
   */
  bulk?: { maxInFlight: number; bySide: Map<Side, { creates: BulkCreates; key: string } | null> };
  /** Pending create intents by "target:sourceId" (dry run: not recovered, only reported). */
  pendingIntents: Map<string, number>;
  verbose: boolean;
  /** See SyncOptions.reportLimit (undefined: keep every report). */
  reportLimit?: number;
  /** Reports kept so far: applied/unchanged, held/quarantined. */
  listed?: { done: number; attention: number };
  onRecord?: (report: RecordReport) => void;
  maxVersionRetries: number;
  now(): Date;
}
