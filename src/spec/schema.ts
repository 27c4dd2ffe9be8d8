/**
 * The integration file's public format, as a zod (v4) schema of the YAML document.
 *
 * This schema checks SHAPE only (keys, types, enum values). It has no transforms, so that
 * the same schema yields the editor JSON Schema (json-schema.ts). Normalisation into the
 * model types (durations → ms, schedule → {tier}|{cron}, conflict → ConflictPolicy, defaults,
 * masters) and the semantic checks (connector types, ${ENV} credentials, parents, unique
 * targets, cron syntax) live in load.ts.
 */
import * as z from "zod";

export const DIRECTIONS = ["crm->erp", "erp->crm", "both"] as const;
export const SCHEDULE_TIERS = ["realtime", "hourly", "daily"] as const;
export const CREATE_POLICIES = ["both", "crm->erp", "erp->crm", "link-only", "never"] as const;
export const DELETE_POLICIES = ["propagate", "flag", "ignore"] as const;
export const MASTER_EDIT_ACTIONS = ["revert", "ignore", "review"] as const;
export const CONFLICT_NAMES = ["review", "first-created-wins", "last-updated-wins"] as const;
export const SIDES = ["crm", "erp"] as const;
export const NORMALIZE_OPS = ["trim", "upper", "lower", "title", "collapse-spaces", "digits-only"] as const;
export const VALUE_TYPES = ["string", "number", "boolean", "date"] as const;
/** Standardisation rules (`standardize:`), run by `accord fix` in the order written. */
export const STANDARDIZE_RULES = [
  "trim",
  "collapse-spaces",
  "upper",
  "lower",
  "title",
  "suffix",
  "phone-e164",
  "country-iso2",
  "country-name",
  "email",
  "postal-code",
  "website",
] as const;
export const FILTER_OPS = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "is set", "is not set"] as const;

/** `500ms`, `30s`, `5m`, `1h`, `1d`, or a number of milliseconds. */
export const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
/** `${NAME}`: a reference to an environment variable. */
export const ENV_REF_RE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** `prefer: crm` written as one string. */
export const PREFER_STRING_RE = /^prefer\s*:\s*(crm|erp)$/;

const nonEmpty = z.string().trim().min(1, "must not be empty");

export const durationSchema = z
  .union([z.string().regex(DURATION_RE, { message: "not a duration", abort: true }), z.number().nonnegative()])
  .describe("A duration: a number with a unit (500ms, 30s, 5m, 1h, 1d) or a number of milliseconds.");

export const scheduleSchema = z
  .union([z.string(), z.strictObject({ cron: z.string() })])
  .describe('When an object syncs: realtime | hourly | daily | a 5-field cron string ("*/15 * * * *") | { cron: "..." }.');

export const conflictSchema = z
  .union([
    z.enum(CONFLICT_NAMES),
    z.string().regex(PREFER_STRING_RE, { message: "not a prefer policy", abort: true }),
    z.strictObject({ prefer: z.enum(SIDES) }),
  ])
  .describe('Conflict policy for a field mapped `both`: review | first-created-wins | last-updated-wins | { prefer: crm|erp } | "prefer: crm".');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const transformStepSchema = z
  .union([
    z
      .strictObject({
        map: z.record(z.string(), scalar).describe("value map: source value → target value"),
        unmapped: z.enum(["error", "pass", "default"]).optional().describe("what an unmapped value does (default: `default` when a default is given, else `error`)"),
        default: z.unknown().optional().describe("value for unmapped values when unmapped is `default`"),
      })
      .describe("value map"),
    z.strictObject({ scale: z.number().describe("multiply by (dollars → cents: 100)") }),
    z.strictObject({ round: z.number().int().min(0).max(12).describe("decimals") }),
    z.strictObject({
      dateFormat: z.strictObject({
        from: nonEmpty.describe('tokens YYYY MM DD HH mm ss, or "iso", or "epoch-ms"'),
        to: nonEmpty.describe('tokens YYYY MM DD HH mm ss, or "iso", or "epoch-ms"'),
      }),
    }),
    z.strictObject({ normalize: z.array(z.enum(NORMALIZE_OPS)).min(1) }),
    z.strictObject({ default: z.unknown().describe("value used when the value is null, missing or empty") }),
    z.strictObject({ jsonata: nonEmpty.describe("JSONata expression; `$` is the value, `$record` the whole source record") }),
    z.strictObject({ type: z.enum(VALUE_TYPES) }),
  ])
  .describe(
    "A transform step: { map: {...}, unmapped?, default? } | { scale: n } | { round: n } | { dateFormat: { from, to } } | { normalize: [...] } | { default: v } | { jsonata: expr } | { type: string|number|boolean|date }",
  );

export const transformSchema = z.array(transformStepSchema).describe("Transform steps, applied in order.");

const lookupSchema = nonEmpty.describe(
  "cross-system lookup: the value is a record id of this object (defined above) on the source side; it travels as the id of its linked counterpart",
);

export const lineFieldSchema = z
  .strictObject({
    crm: nonEmpty.describe("column of the CRM table's rows"),
    erp: nonEmpty.describe("column of the ERP table's rows"),
    toErp: transformSchema.optional(),
    toCrm: transformSchema.optional(),
    lookup: lookupSchema.optional(),
  })
  .describe("One column of a line-item table, mapped row by row; transforms see the row as `$record`.");

const conditionValue = z.union([scalar, z.array(scalar)]);
export const conditionSchema = z
  .record(z.string(), conditionValue)
  .describe(
    "A condition on a record: field: value (or [values], any of them); `$state`: the document state (draft | submitted | cancelled); `$expr`: a JSONata expression over the record (truthy = match; $linked(object, id) and $find(entity, field, value) reach related records)",
  );
const sideConditions = z.strictObject({ crm: conditionSchema.optional(), erp: conditionSchema.optional() });

export const holdRuleSchema = z
  .strictObject({
    crm: nonEmpty.optional().describe("JSONata over the CRM record; truthy = hold it"),
    erp: nonEmpty.optional().describe("JSONata over the ERP record; truthy = hold it"),
    reason: nonEmpty.describe("why it is held (shown on the record when `errors` names a field)"),
  })
  .describe("Hold a source record (no create, no update) while the expression is truthy.");

export const fieldMapSchema = z
  .strictObject({
    crm: nonEmpty.describe("CRM field (system name) or a path into a child table: table[column=value].field, e.g. links[link_doctype=Customer].link_name"),
    erp: nonEmpty.describe("ERP field (system name) or a path into a child table: table[column=value].field, e.g. links[link_doctype=Customer].link_name"),
    direction: z.enum(DIRECTIONS).describe("which way values travel; the source of a one-way map is the field's master"),
    conflict: conflictSchema.optional(),
    onMasterEdit: z.enum(MASTER_EDIT_ACTIONS).optional().describe("one-way fields: what an edit in the non-master system does"),
    toErp: transformSchema.optional(),
    toCrm: transformSchema.optional(),
    required: z.boolean().optional().describe("a record needs a value here to sync (audit reports records missing it)"),
    note: z.string().optional().describe("free text for the field-mapping document"),
    lookup: lookupSchema.optional(),
    lines: z.array(lineFieldSchema).min(1).optional().describe("the field is a table on both sides, mapped row by row with these columns"),
  })
  .describe("One mapped field pair.");

const filterSchema = z.strictObject({ field: nonEmpty, op: z.enum(FILTER_OPS), value: z.unknown().optional() });

export const objectSideSchema = z.strictObject({
  entity: nonEmpty.describe("remote entity / doctype, e.g. Account or Customer"),
  identity: nonEmpty.describe("field holding the shared identifier in this system or a path into a child table: table[column=value].field, e.g. links[link_doctype=Customer].link_name"),
  filter: z.array(filterSchema).optional().describe("extra conditions on which records this object syncs"),
  aggregate: z
    .strictObject({
      groupBy: nonEmpty.describe("field whose value groups the rows; it is the group record's id"),
      sum: z.array(nonEmpty).optional().describe("numeric fields summed over the group's rows"),
      max: z
        .array(nonEmpty)
        .optional()
        .describe("fields whose largest value over the group's rows is taken (numbers numerically, ISO dates as text; null when no row has one), e.g. the last posting_date"),
      min: z.array(nonEmpty).optional().describe("fields whose smallest value over the group's rows is taken (as max)"),
    })
    .optional()
    .describe(
      "read-only aggregate: rows of the entity grouped by a field, numeric fields summed, others' max/min taken (e.g. stock over warehouses; a customer's payments and its last payment date)",
    ),
  createKey: nonEmpty
    .optional()
    .describe(
      "creation key: a field of this side (e.g. a custom field custom_accord_id) into which each create Accord makes here writes the source record's id, in the same call; an interrupted create is then found again by it exactly, even if a person edited the new record meanwhile. For systems that assign the new record's id (ERPNext, Tryton)",
    ),
});

export const objectSchema = z
  .strictObject({
    crm: objectSideSchema,
    erp: objectSideSchema,
    schedule: scheduleSchema.optional(),
    create: z.enum(CREATE_POLICIES).optional().describe("which missing counterparts Accord creates"),
    conflict: conflictSchema.optional(),
    onMasterEdit: z.enum(MASTER_EDIT_ACTIONS).optional(),
    deletes: z.enum(DELETE_POLICIES).optional().describe("what a deletion in one system does to its counterpart"),
    parent: z
      .strictObject({
        object: nonEmpty.describe("an object defined earlier in the file"),
        crm: nonEmpty.describe("CRM field pointing at the parent record or a path into a child table: table[column=value].field, e.g. links[link_doctype=Customer].link_name"),
        erp: nonEmpty.describe("ERP field pointing at the parent record or a path into a child table: table[column=value].field, e.g. links[link_doctype=Customer].link_name"),
      })
      .optional(),
    fields: z.array(fieldMapSchema).default([]),
    when: sideConditions.optional().describe("trigger: a source record is linked or created only once it matches"),
    holdIf: z.array(holdRuleSchema).optional().describe("rules that hold a record (not created, not updated) with a reason"),
    updates: z.enum(["always", "never"]).optional().describe("never = create-only: nothing is written into the created record afterwards"),
    freeze: sideConditions.optional().describe("no writes into a side's record once it matches, e.g. erp: { $state: [submitted, cancelled] }"),
    submit: z.enum(["draft", "submit"]).optional().describe("created documents stay draft or are submitted (systems with document states)"),
    createWith: z
      .strictObject({ crm: z.record(z.string(), z.unknown()).optional(), erp: z.record(z.string(), z.unknown()).optional() })
      .optional()
      .describe("constant values added to every create payload of that side"),
    errors: z
      .strictObject({ crm: nonEmpty.optional(), erp: nonEmpty.optional() })
      .optional()
      .describe("a field per side that shows the record's current sync error (cleared once it syncs)"),
  })
  .describe("One synced object: a pair of entities linked by a shared identifier.");

export const systemSchema = z.strictObject({
  type: nonEmpty.describe("connector type (see `accord validate` errors for the list)"),
  url: nonEmpty.describe("base URL, literal or ${ENV_VAR}"),
  credentials: z.record(z.string(), z.string()).describe("credential name → ${ENV_VAR} reference (never a literal secret)"),
  options: z
    .looseObject({
      timezone: z.string().optional(),
      rateLimit: z
        .strictObject({ perSecond: z.number().positive().optional(), dailyBudget: z.number().int().positive().optional() })
        .optional(),
      timeoutMs: z.number().int().positive().optional(),
      concurrency: z.number().int().positive().optional(),
    })
    .optional(),
});

export const personSchema = z.strictObject({
  name: nonEmpty,
  email: z.email("not a valid e-mail address"),
  webhook: z.url("not a valid URL").optional(),
});

const standardizeSideSchema = z
  .record(z.string(), z.record(z.string(), z.array(z.enum(STANDARDIZE_RULES)).min(1)))
  .describe(`entity → field → rules (${STANDARDIZE_RULES.join(", ")}), applied in order`);

/** A field of a report's entity: a plain name, a path `table[column=value].field`, or `table.column` (every row's column). */
const reportField = nonEmpty;
const reportStates = z.array(z.enum(["draft", "submitted", "cancelled"])).min(1).describe("document states that count (systems with document states); default [submitted]");

/** `reports.customer360`: where service cases and payments live, for `accord customer` and the console's customer page. */
export const customer360Schema = z
  .strictObject({
    cases: z
      .strictObject({
        entity: nonEmpty.describe("CRM entity of service cases, e.g. Case"),
        customer: reportField.describe("the case's reference to the customer's CRM record, e.g. accountId"),
        subject: reportField,
        status: reportField,
        closed: z.array(z.string().min(1)).min(1).describe("statuses that mean closed; any other is open"),
        priority: reportField.optional(),
        type: reportField.optional(),
        number: reportField.optional(),
      })
      .optional()
      .describe("service cases in the CRM"),
    payments: z
      .strictObject({
        entity: nonEmpty.optional().describe("ERP entity of payments received (default: reports.revenue.payments.entity)"),
        customer: reportField.optional().describe("the payment's reference to the customer's ERP record, e.g. party"),
        amount: reportField.optional(),
        date: reportField.optional(),
        states: reportStates.optional(),
        invoice: reportField.optional().describe("the invoice(s) it settles, e.g. references.reference_name"),
        mode: reportField.optional().describe("mode of payment"),
        reference: reportField.optional().describe("the payer's reference (cheque, transfer id)"),
        filter: z.array(filterSchema).optional().describe("which records are customer payments, e.g. payment_type = Receive"),
      })
      .optional()
      .describe("payments received in the ERP; unset keys come from reports.revenue.payments"),
  })
  .describe("where the customer 360 finds service cases and payment history");

/** `reports.revenue`: where bookings, orders, invoices and payments live, for `accord report revenue`. */
export const revenueReportSchema = z
  .strictObject({
    deals: z
      .strictObject({
        object: nonEmpty.describe("the object whose CRM records are the deals and whose ERP records are their orders (its links, identity and `crm: id` field map pair them)"),
        amount: reportField.describe("the deal amount (CRM field)"),
        date: reportField.describe("the close date (CRM field)"),
        won: conditionSchema.optional().describe("what makes a deal booked (closed-won); default: the object's `when.crm`"),
        customer: reportField.optional().describe("the deal's customer reference (CRM field); default: the object's field with a lookup"),
        lines: z
          .strictObject({
            table: reportField.describe("the deal's line table (CRM field)"),
            product: reportField.describe("column: product id"),
            unitPrice: reportField.describe("column: the price quoted"),
            quantity: reportField.optional(),
            listPrice: reportField.optional(),
          })
          .optional()
          .describe("deal lines, for the stale-price check"),
      })
      .describe("bookings: closed-won deals by close date"),
    orders: z
      .strictObject({
        total: reportField.describe("the order total (ERP field of the deals object's ERP entity)"),
        date: reportField.describe("the order's transaction date"),
        states: reportStates.optional(),
        deal: reportField.optional().describe("the order field holding the deal id; default: the ERP field the deals object maps `crm: id` to"),
        customer: reportField.optional(),
      })
      .describe("ordered: ERP orders by their date"),
    invoices: z
      .strictObject({
        entity: nonEmpty.describe("ERP entity of invoices"),
        amount: reportField.describe("the invoiced amount"),
        date: reportField.describe("the posting date"),
        outstanding: reportField.optional(),
        states: reportStates.optional(),
        order: reportField.optional().describe("the order(s) an invoice bills, e.g. items.sales_order (a column over the rows of a table)"),
        deal: reportField.optional().describe("the field holding the deal id"),
        customer: reportField.optional(),
      })
      .optional(),
    payments: z
      .strictObject({
        entity: nonEmpty.describe("ERP entity of payments"),
        amount: reportField.describe("the amount received"),
        date: reportField.describe("the posting date"),
        states: reportStates.optional(),
        invoice: reportField.optional().describe("the invoice(s) a payment settles, e.g. references.reference_name"),
        customer: reportField.optional(),
        filter: z.array(filterSchema).optional().describe("which records are customer payments, e.g. payment_type = Receive"),
      })
      .optional()
      .describe("paid: payments by their posting date"),
    prices: z
      .strictObject({
        object: nonEmpty.describe("the object pairing the CRM product (its identity) with the ERP price records (their identity, filter)"),
        rate: reportField.describe("the ERP price field"),
        validFrom: reportField.optional().describe("the ERP price's valid-from date (the price in effect at the deal's close date is used)"),
        validUpto: reportField.optional(),
        allowedDiscount: z.number().min(0).max(100).describe("percent a line may be priced below the ERP price"),
      })
      .optional()
      .describe("stale-price check: a deal line priced below the ERP price at its close date by more than the allowed discount"),
    customers: nonEmpty.optional().describe("the customer object (exported as the customers table); default: the object the deal's customer looks up"),
    tolerance: z.number().nonnegative().optional().describe("amount differences up to this are equal (default 0.01)"),
  })
  .describe("Revenue reconciliation: bookings, ordered, invoiced, paid; see `accord report revenue --help`");

/** Drift policy of an object: what a schema change that breaks a mapping does. */
export const DRIFT_POLICIES = ["pause", "ignore-additions", "alert-only"] as const;

const shareSchema = z.number().min(0).max(1);

/** A key field: freshness and the stale-value guard (a field that stops changing while its records keep changing). */
export const keyFieldSchema = z
  .strictObject({
    field: nonEmpty.describe("a field of the object's field maps (CRM or ERP name)"),
    window: durationSchema.optional().describe("the field must change within this window while records are read (default 1d)"),
    minReads: z.number().int().positive().optional().describe("records read in the window above which an unchanged field is suspicious (default 50)"),
  })
  .describe("A key field watched by the stale-value guard.");

/** Per-object health rules and drift policy (overrides the integration's `monitor:` defaults). */
export const monitorObjectSchema = z
  .strictObject({
    drift: z.enum(DRIFT_POLICIES).optional().describe("pause (default) | ignore-additions | alert-only"),
    errorRate: shareSchema.optional().describe("alert when a run's failing share exceeds this (0.01 = 1 %)"),
    countDivergence: shareSchema.optional().describe("alert when the systems' record counts differ by more than this share (0.05 = 5 %)"),
    freshness: durationSchema.optional().describe("the object must have synced successfully within this window (default by schedule: realtime 10m, hourly 2h, daily/cron 26h)"),
    keyFields: z.array(keyFieldSchema).optional().describe("stale-value guard and key-field freshness"),
  })
  .describe("Monitoring of one object.");

/** `monitor:` — health rules, drift policy and alert channels (Step 8); every value has the field's default. */
export const monitorSectionSchema = z
  .strictObject({
    drift: z.enum(DRIFT_POLICIES).optional().describe("default drift policy: pause (default) | ignore-additions | alert-only"),
    errorRate: shareSchema.optional().describe("default error-rate threshold (0.01 = 1 % of a run's records or API calls)"),
    countDivergence: shareSchema.optional().describe("default count-divergence threshold (0.05 = 5 %)"),
    escalateAfter: durationSchema.optional().describe("alert the secondary owner when not acknowledged within this (default 30m)"),
    reconcileEvery: durationSchema.optional().describe("reconciliation pass behind webhooks for realtime objects (default 15m)"),
    repairedThreshold: z.number().int().nonnegative().optional().describe("alert when a reconciliation pass repairs more records than this (default 5)"),
    clearAfterCleanRuns: z.number().int().positive().optional().describe("clean runs in a row that resolve an error-rate incident (default 3)"),
    smtp: z
      .strictObject({
        host: nonEmpty,
        port: z.number().int().positive().optional().describe("default 587 (starttls), 465 (tls), 25 (none)"),
        from: z.string().min(3),
        tls: z
          .enum(["starttls", "tls", "none"])
          .optional()
          .describe("starttls: required (default, except for a relay on this machine: none); tls: implicit TLS (port 465); none: plain, for a local relay"),
        user: z.string().min(1).optional().describe("SMTP AUTH user"),
        password: z.string().min(1).optional().describe("SMTP AUTH password as a ${ENV_VAR} reference (a literal is refused)"),
      })
      .optional()
      .describe("e-mail alerts: STARTTLS or TLS with AUTH, or a local relay"),
    objects: z.record(z.string(), monitorObjectSchema).optional().describe("per object: overrides of the defaults above"),
  })
  .describe("Monitoring: health-rule thresholds, freshness, the stale-value guard, drift policy, escalation, e-mail alerts.");

export const integrationFileSchema = z
  .strictObject({
    version: z.literal(1).describe("format version; always 1"),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be letters, digits, '-', '_' or '.' (it names the integration in a deployment)")
      .describe("integration name"),
    description: z.string().optional(),
    systems: z.strictObject({ crm: systemSchema, erp: systemSchema }),
    owner: personSchema.describe("primary owner: alerts go here"),
    secondaryOwner: personSchema.optional(),
    sync: z
      .strictObject({
        overlap: durationSchema.optional(),
        skewTolerance: durationSchema.optional(),
        bounce: z.strictObject({ max: z.number().int().positive().optional(), window: durationSchema.optional() }).optional(),
      })
      .optional(),
    defaults: z
      .strictObject({
        schedule: scheduleSchema.optional(),
        conflict: conflictSchema.optional(),
        onMasterEdit: z.enum(MASTER_EDIT_ACTIONS).optional(),
        create: z.enum(CREATE_POLICIES).optional(),
        deletes: z.enum(DELETE_POLICIES).optional(),
      })
      .optional(),
    objects: z.record(z.string(), objectSchema).describe("synced objects, in order (parents first)"),
    standardize: z
      .strictObject({ crm: standardizeSideSchema.optional(), erp: standardizeSideSchema.optional() })
      .optional()
      .describe("format rules `accord fix` applies in each system before go-live: side → entity → field → rules"),
    reports: z
      .strictObject({ revenue: revenueReportSchema.optional(), customer360: customer360Schema.optional() })
      .optional()
      .describe("reports over both systems: where their figures come from"),
    monitor: monitorSectionSchema.optional(),
  })
  .describe("Accord integration file");

/** The integration file as written (before normalisation). */
export type IntegrationFileInput = z.input<typeof integrationFileSchema>;
/** The integration file after the shape check (still unnormalised). */
export type IntegrationFile = z.output<typeof integrationFileSchema>;
export type RawConflict = z.output<typeof conflictSchema>;
export type RawSchedule = z.output<typeof scheduleSchema>;
export type RawDuration = z.output<typeof durationSchema>;
export type RawTransformStep = z.output<typeof transformStepSchema>;
export type RawMonitorSection = z.output<typeof monitorSectionSchema>;
