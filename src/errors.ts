/**
 * Errors are values with a class a user can act on (DESIGN.md § Conventions).
 * Every error says what failed, where (system, object, record, field) and what to do.
 * No message or field of an error may contain a credential.
 */
export interface ErrorWhere {
  system?: string; // e.g. "crm" / "erp" or a connector type
  object?: string; // spec object or remote entity
  record?: string; // remote id
  field?: string;
}

export type ErrorClass =
  | "AuthError"
  | "RateLimited"
  | "ValidationRejected"
  | "NotFound"
  | "SchemaDrift"
  | "Transient"
  | "VersionConflict"
  | "Duplicate"
  | "SpecError";

export abstract class AccordError extends Error {
  abstract readonly errorClass: ErrorClass;
  readonly where: ErrorWhere;
  /** What the user should do about it. */
  readonly hint: string;
  /** HTTP status from a remote system, when there was one. */
  readonly status?: number;
  constructor(message: string, opts: { where?: ErrorWhere; hint?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.where = opts.where ?? {};
    this.hint = opts.hint ?? "";
    this.status = opts.status;
  }
  /** Whether retrying the same call later may succeed. */
  get retryable(): boolean {
    return false;
  }
  toJSON(): Record<string, unknown> {
    return { class: this.errorClass, message: this.message, where: this.where, hint: this.hint, status: this.status };
  }
}

/** Credentials missing, wrong or revoked. Never retried (retries cause lockouts). */
export class AuthError extends AccordError {
  readonly errorClass = "AuthError" as const;
}
/** The remote system asked us to slow down. */
export class RateLimited extends AccordError {
  readonly errorClass = "RateLimited" as const;
  readonly retryAfterMs?: number;
  constructor(message: string, opts: ConstructorParameters<typeof AccordError>[1] & { retryAfterMs?: number } = {}) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
  override get retryable(): boolean {
    return true;
  }
}
/** The remote system refused a value (validation, mandatory field, bad link). */
export class ValidationRejected extends AccordError {
  readonly errorClass = "ValidationRejected" as const;
}
export class NotFound extends AccordError {
  readonly errorClass = "NotFound" as const;
}
/** A mapped field vanished, was renamed or changed type. */
export class SchemaDrift extends AccordError {
  readonly errorClass = "SchemaDrift" as const;
}
/** Network failure, timeout, 5xx: retry with backoff. */
export class Transient extends AccordError {
  readonly errorClass = "Transient" as const;
  override get retryable(): boolean {
    return true;
  }
}
/** Optimistic concurrency: someone changed the record between our read and our write. Re-read and re-plan. */
export class VersionConflict extends AccordError {
  readonly errorClass = "VersionConflict" as const;
}
/** The remote system refused a create as a (suspected) duplicate. */
export class Duplicate extends AccordError {
  readonly errorClass = "Duplicate" as const;
  readonly duplicates: string[];
  constructor(message: string, opts: ConstructorParameters<typeof AccordError>[1] & { duplicates?: string[] } = {}) {
    super(message, opts);
    this.duplicates = opts.duplicates ?? [];
  }
}
/** The integration file is invalid. `location` points at file:line:column. */
export class SpecError extends AccordError {
  readonly errorClass = "SpecError" as const;
  readonly issues: SpecIssue[];
  constructor(message: string, issues: SpecIssue[]) {
    super(message, { hint: "Fix the integration file at the places listed, then run `accord validate FILE` again." });
    this.issues = issues;
  }
}
export interface SpecIssue {
  file: string;
  line: number;
  column: number;
  /** Path inside the document, e.g. "objects.customer.fields[3].direction". */
  path: string;
  message: string;
  /** What would be right, e.g. "one of: crm->erp, erp->crm, both" or "did you mean `direction`?" */
  expected?: string;
}

export function isAccordError(e: unknown): e is AccordError {
  return e instanceof AccordError;
}
