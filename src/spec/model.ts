/**
 * The integration file, as the rest of Accord sees it once loaded and validated.
 * The zod schema in schema.ts parses YAML into exactly these types (normalised:
 * defaults filled in, shorthands expanded). Other parts import only this module.
 */

export type Side = "crm" | "erp";
export type Direction = "crm->erp" | "erp->crm" | "both";

/** Conflict policy for a field mapped `both` (YAML: `review`, `first-created-wins`, `last-updated-wins`, `prefer: crm`). */
export type ConflictPolicy =
  | { kind: "first-created-wins" }
  | { kind: "last-updated-wins"; skewToleranceMs: number }
  | { kind: "prefer"; side: Side }
  | { kind: "review" };

/** What happens when the non-master system edits a mastered (one-way) field. */
export type MasterEditAction = "revert" | "ignore" | "review";

/** `realtime`, `hourly`, `daily`, or a 5-field cron expression. */
export type Schedule = { tier: "realtime" | "hourly" | "daily" } | { cron: string };

/**
 * Create policy of an object: which missing counterparts Accord creates.
 * `both`: create in whichever system lacks the record; `crm->erp` / `erp->crm`: only in that direction;
 * `link-only`: only link records matched by identity; `never`: no creates and no new links.
 */
export type CreatePolicy = "both" | "crm->erp" | "erp->crm" | "link-only" | "never";

/** What a deletion (or disabling) in one system does to its counterpart. */
export type DeletePolicy = "propagate" | "flag" | "ignore";

/** One step of a value transform; steps run in order. */
export type TransformStep =
  | { map: Record<string, string | number | boolean | null>; unmapped: "error" | "pass" | "default"; default?: unknown }
  | { scale: number } // multiply (dollars -> cents: 100; cents -> dollars: 0.01)
  | { round: number } // decimals
  | { dateFormat: { from: string; to: string } } // tokens YYYY MM DD HH mm ss; "iso" and "epoch-ms" allowed
  | { normalize: Array<"trim" | "upper" | "lower" | "title" | "collapse-spaces" | "digits-only"> }
  | { default: unknown } // used when the value is null/undefined/""
  | { jsonata: string } // `$` is the value, `$record` the whole source record
  | { type: "string" | "number" | "boolean" | "date" };

export interface FieldMap {
  /** CRM field name (system name). */
  crm: string;
  /** ERP field name (system name). */
  erp: string;
  direction: Direction;
  /** The master: for one-way maps, the source; for `both`, undefined. */
  master?: Side;
  /** For `both`: the field's conflict policy (defaults to the object's). */
  conflict: ConflictPolicy;
  /** For one-way maps: what to do when the non-master system edits the field. */
  onMasterEdit: MasterEditAction;
  /** Transform applied to values travelling CRM -> ERP. */
  toErp: TransformStep[];
  /** Transform applied to values travelling ERP -> CRM. */
  toCrm: TransformStep[];
  /** The field must have a value for a record to sync (audit reports records missing it). */
  required: boolean;
  /** Free text for the mapping document. */
  note?: string;
  /** Source position of this mapping in the integration file (for messages). */
  line?: number;
  /**
   * Cross-system lookup (`lookup: customer`): the value is a record id of another object on the
   * source side; it travels as the id of that record's linked counterpart (no link yet → the record waits).
   */
  lookup?: { object: string };
  /**
   * Line items (`lines: [...]`): the field is a table (array of rows) on both sides, mapped row by row;
   * each row field map translates one column (transforms see the row as `$record`, lookups apply).
   */
  lines?: LineFieldMap[];
}

/** One column of a line-item table mapped row by row (inside `FieldMap.lines`). */
export interface LineFieldMap {
  crm: string;
  erp: string;
  toErp: TransformStep[];
  toCrm: TransformStep[];
  lookup?: { object: string };
}

/**
 * A condition on one side's record (`when`, `freeze`): every `equals` entry must hold (the field's
 * value is one of `values`; field `$state` is the record's document state), and `expr`, a JSONata
 * expression over the record's values, must be truthy. `$linked(object, id)` and
 * `$find(entity, field, value)` reach related records of the same system.
 */
export interface RecordCondition {
  equals: Array<{ field: string; values: Array<string | number | boolean | null> }>;
  expr?: string;
}

/** `holdIf`: a source record for which `expr` is truthy is held with `reason` (never created or updated). */
export interface HoldRule {
  side: Side;
  expr: string;
  reason: string;
}

export interface ObjectSide {
  /** Remote entity / doctype, e.g. "Account" or "Customer". */
  entity: string;
  /** Field holding the shared identifier in this system. */
  identity: string;
  /** Extra filter on what this object syncs, in the neutral form of the connector interface. */
  filter?: Array<{ field: string; op: string; value?: unknown }>;
  /**
   * Aggregate (read-only): this side's records are rows of `entity` grouped by `groupBy`; a group is one
   * record whose id and `groupBy` value is the group key and whose `sum` fields are summed over its rows;
   * `max` / `min` fields (optional) take the largest / smallest value over them (numbers numerically,
   * ISO dates and other text as text; null when no row has one).
   */
  aggregate?: { groupBy: string; sum: string[]; max?: string[]; min?: string[] };
  /**
   * Creation key (`createKey: custom_accord_id`): a field of this side into which every create Accord
   * makes here writes the SOURCE record's id, in the create call itself. Recovery of an interrupted
   * create looks the record up by this field (exact; edits of other fields cannot defeat it) instead
   * of matching the payload's content. For systems that assign the new record's id (ERPNext names,
   * Tryton ids). A plain field of the record (no path), never mapped into, not the identity.
   */
  createKey?: string;
}

export interface ObjectSpec {
  /** Key in `objects:` (e.g. "customer"). */
  name: string;
  crm: ObjectSide;
  erp: ObjectSide;
  schedule: Schedule;
  create: CreatePolicy;
  /** Default conflict policy for fields mapped `both`. */
  conflict: ConflictPolicy;
  /** Default action for edits of mastered fields in the non-master system. */
  onMasterEdit: MasterEditAction;
  deletes: DeletePolicy;
  /** Parent object and the fields that point at the parent record in each system (contacts -> customer). */
  parent?: { object: string; crm: string; erp: string };
  fields: FieldMap[];
  line?: number;
  /** Trigger: a source record is linked or created only once it matches (becoming true); linked pairs keep syncing. */
  when?: { crm?: RecordCondition; erp?: RecordCondition };
  /** Records held (not created, not updated) while a rule matches, with the rule's reason. */
  holdIf?: HoldRule[];
  /** `never`: create-only — after the create, nothing is written into the created record again (values still flow back). */
  updates?: "always" | "never";
  /** No writes into a side's record once it matches (e.g. `erp: { $state: [submitted, cancelled] }`). */
  freeze?: { crm?: RecordCondition; erp?: RecordCondition };
  /** Submit policy of created documents (systems with document states): leave as `draft` or `submit`. */
  submit?: "draft" | "submit";
  /** Constant values put into every create payload for that side (e.g. the ERP company). */
  createWith?: { crm?: Record<string, unknown>; erp?: Record<string, unknown> };
  /** Field of each side that shows the record's current sync error (cleared once it syncs). */
  errors?: { crm?: string; erp?: string };
}

export interface SystemSpec {
  /** Connector type from the connectors' registry. */
  type: string;
  url: string;
  /** Credential name -> environment variable that holds it. Never a literal. */
  credentials: Record<string, { env: string }>;
  /** Connector options (timezone, rateLimit {perSecond, dailyBudget}, timeoutMs, concurrency …). */
  options: Record<string, unknown>;
}

export interface Person {
  name: string;
  email: string;
  webhook?: string;
}

/**
 * A standardisation rule (`standardize:`), applied by `accord fix`: trim | collapse-spaces | upper |
 * lower | title | suffix (one spelling per legal suffix: "Acme Ltd." → "Acme Ltd") | phone-e164 |
 * country-iso2 ("Germany" → "DE") | country-name ("DE" → "Germany") | email (trim, lower) |
 * postal-code (trim, upper, one space) | website (trim, lower, no trailing slash).
 */
export type StandardizeRule =
  | "trim"
  | "collapse-spaces"
  | "upper"
  | "lower"
  | "title"
  | "suffix"
  | "phone-e164"
  | "country-iso2"
  | "country-name"
  | "email"
  | "postal-code"
  | "website";

/** Per system: entity → field → rules, in order. */
export type StandardizeRules = Record<string, Record<string, StandardizeRule[]>>;

export interface IntegrationSpec {
  version: 1;
  /** Integration name (unique in a deployment). */
  name: string;
  description?: string;
  systems: { crm: SystemSpec; erp: SystemSpec };
  owner: Person;
  secondaryOwner?: Person;
  /** Objects in file order; parents come before children when the engine orders writes. */
  objects: ObjectSpec[];
  sync: {
    /** Overlap window for incremental reads (ms). */
    overlapMs: number;
    /** last-updated-wins: timestamps closer than this become a review (ms). */
    skewToleranceMs: number;
    /** Echo cap: a record bouncing more than `maxBounces` times within `windowMs` raises an alert. */
    bounce: { maxBounces: number; windowMs: number };
  };
  /** Optional format rules applied by `accord fix` before go-live (audit reports what they would change). */
  standardize?: { crm?: StandardizeRules; erp?: StandardizeRules };
  /** Optional reports over both systems (`reports:`): where their figures come from. */
  reports?: { revenue?: RevenueReportSpec; customer360?: Customer360Spec };
  /** Optional monitoring settings (`monitor:`): only the values the file gives; the monitor fills in its defaults. */
  monitor?: MonitorSpec;
  /** Where it came from (for messages). */
  source?: { file: string; text: string };
}

/** Document states a report counts (systems with document states; records without a state always count). */
export type DocState = "draft" | "submitted" | "cancelled";

/**
 * `reports.revenue` (accord report revenue): bookings (won deals by close date), ordered, invoiced, paid.
 * Field names are the systems' own; a name may be a path `table[column=value].field` or `table.column`
 * (the column over every row of a table: a record referring to several others, e.g. an invoice's orders).
 */
export interface RevenueReportSpec {
  deals: {
    /** Object whose CRM records are the deals and ERP records their orders. */
    object: string;
    amount: string;
    date: string;
    /** Booked = matches this (default: the object's `when.crm`; none = every deal). */
    won?: RecordCondition;
    customer?: string;
    lines?: { table: string; product: string; unitPrice: string; quantity?: string; listPrice?: string };
  };
  orders: { total: string; date: string; states: DocState[]; deal?: string; customer?: string };
  invoices?: { entity: string; amount: string; date: string; outstanding?: string; states: DocState[]; order?: string; deal?: string; customer?: string };
  payments?: {
    entity: string;
    amount: string;
    date: string;
    states: DocState[];
    invoice?: string;
    customer?: string;
    filter?: Array<{ field: string; op: string; value?: unknown }>;
  };
  prices?: { object: string; rate: string; validFrom?: string; validUpto?: string; allowedDiscount: number };
  customers?: string;
  /** Amounts closer than this are equal (default 0.01). */
  tolerance: number;
}

/**
 * `reports.customer360` (accord customer, the console's customer page): where the customer's service
 * cases (CRM) and payment history (ERP) live. Neither is synced; both are read live through the link.
 */
export interface Customer360Spec {
  cases?: {
    entity: string;
    /** The case's reference to the customer's CRM record (its id). */
    customer: string;
    subject: string;
    status: string;
    /** Statuses that mean closed (anything else is open). */
    closed: string[];
    priority?: string;
    type?: string;
    number?: string;
  };
  /** Payments received; what is not given here comes from `reports.revenue.payments`. */
  payments?: {
    entity: string;
    customer: string;
    amount: string;
    date: string;
    states: DocState[];
    invoice?: string;
    mode?: string;
    reference?: string;
    filter?: Array<{ field: string; op: string; value?: unknown }>;
  };
}

/** Drift policy: pause the mappings a schema change breaks (default), the same but ignoring additions, or alert only. */
export type DriftPolicy = "pause" | "ignore-additions" | "alert-only";

/** Health rules and drift policy of one object (`monitor.objects.<name>`). */
export interface ObjectMonitorSpec {
  drift?: DriftPolicy;
  errorRate?: number;
  countDivergence?: number;
  freshnessMs?: number;
  /** Stale-value guard: a key field (CRM or ERP name of one of the object's maps) that must change within `windowMs` while ≥ `minReads` records are read. */
  keyFields?: Array<{ field: string; windowMs: number; minReads: number }>;
}

/** `monitor:` of the integration file, durations in ms; absent values take the monitor's defaults. */
export interface MonitorSpec {
  drift?: DriftPolicy;
  errorRate?: number;
  countDivergence?: number;
  escalateAfterMs?: number;
  reconcileEveryMs?: number;
  repairedThreshold?: number;
  clearAfterCleanRuns?: number;
  /** E-mail alerts: `tls` starttls (required; default unless the host is this machine) | tls (implicit, port 465) | none; `password` is a ${VAR} reference. */
  smtp?: { host: string; port: number; from: string; tls?: "starttls" | "tls" | "none"; user?: string; password?: string };
  objects: Record<string, ObjectMonitorSpec>;
}
