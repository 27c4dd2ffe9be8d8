/**
 * Frappe exceptions as the emulator raises them, and their v1/v2 JSON bodies (reference §3).
 */
import { pyJsonDumps, randomHash } from "./util.ts";

/** HTTP status per exception class (reference §3.1). */
const STATUS: Record<string, number> = {
  ValidationError: 417,
  MandatoryError: 417,
  LinkValidationError: 417,
  CancelledLinkError: 417,
  TimestampMismatchError: 417,
  DocstatusTransitionError: 417,
  UpdateAfterSubmitError: 417,
  CannotChangeConstantError: 417,
  UniqueValidationError: 417,
  LinkExistsError: 417,
  InvalidStatusError: 417,
  DataError: 417,
  NonNegativeError: 417,
  CharacterLengthExceededError: 417,
  EmptyTableError: 417,
  InvalidEmailAddressError: 417,
  InvalidPhoneNumberError: 417,
  ItemPriceDuplicateItem: 417,
  NegativeStockError: 417,
  DoesNotExistError: 404,
  PermissionError: 403,
  AuthenticationError: 401,
  SessionExpired: 401,
  NameError: 409,
  DuplicateEntryError: 409,
  CSRFTokenError: 400,
  InvalidAuthorizationToken: 400,
  TooManyRequestsError: 429,
  OperationalError: 500,
  AttributeError: 500,
};

/** One msgprint entry (becomes one element of `_server_messages`). */
export interface ServerMessage {
  message: string;
  title?: string;
  indicator?: string;
  raise_exception?: 1;
  alert?: 1;
}

export class FrappeError extends Error {
  readonly excType: string;
  readonly status: number;
  readonly messages: ServerMessage[];
  /** Last traceback line, e.g. "frappe.exceptions.MandatoryError: [Customer, None]: customer_name". */
  readonly exceptionText: string;
  readonly errorMessage?: string;

  constructor(excType: string, opts: { messages?: ServerMessage[]; exception?: string; status?: number; errorMessage?: string } = {}) {
    const first = opts.messages?.[0]?.message ?? opts.exception ?? excType;
    super(first);
    this.excType = excType;
    this.status = opts.status ?? STATUS[excType] ?? 500;
    this.messages = opts.messages ?? [];
    const module = excType === "OperationalError" ? "pymysql.err" : excType === "AttributeError" ? "builtins" : "frappe.exceptions";
    this.exceptionText = opts.exception !== undefined ? `${module}.${excType}: ${opts.exception}` : `${module}.${excType}`;
    this.errorMessage = opts.errorMessage;
  }
}

/** `frappe.throw(msg, exc, title)`: a red, raising msgprint entry. */
export function frappeThrow(excType: string, message: string, opts: { title?: string; exception?: string } = {}): FrappeError {
  return new FrappeError(excType, {
    messages: [{ message, title: opts.title ?? "Message", indicator: "red", raise_exception: 1 }],
    exception: opts.exception ?? stripHtml(message),
  });
}

export function stripHtml(s: string): string {
  return s.replace(/<[^>]+>/g, "");
}

export function bold(s: unknown): string {
  return `<strong>${String(s)}</strong>`;
}

/** Encode msgprint entries the way Frappe does: a JSON array of JSON-encoded objects (Python json.dumps). */
export function encodeServerMessages(messages: ServerMessage[]): string {
  return pyJsonDumps(
    messages.map((m) => {
      const o: Record<string, unknown> = { message: m.message };
      if (m.title) o.title = m.title;
      if (m.indicator) o.indicator = m.indicator;
      if (m.alert) o.alert = 1;
      if (m.raise_exception) {
        o.raise_exception = 1;
        o.__frappe_exc_id = randomHash(10);
      }
      return pyJsonDumps(o);
    }),
  );
}

/**
 * v1 error body. `traceback` says whether tracebacks are allowed for the caller (System User with
 * allow_error_traceback); never for Guest, and not for 404.
 */
export function v1ErrorBody(err: FrappeError, traceback: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { exc_type: err.excType };
  if (traceback && err.status !== 404) {
    body.exception = err.exceptionText;
    body.exc = pyJsonDumps([
      `Traceback (most recent call last):\n  File "apps/frappe/frappe/app.py", line 114, in application\n    response = frappe.api.handle(request)\n${err.exceptionText}\n`,
    ]);
  }
  if (err.messages.length) body._server_messages = encodeServerMessages(err.messages);
  if (err.errorMessage) body._error_message = err.errorMessage;
  return body;
}

/** v2 error body: `errors` with one object (type + the error msgprint), `messages` with the rest. */
export function v2ErrorBody(err: FrappeError, traceback: boolean): Record<string, unknown> {
  const main = err.messages.find((m) => m.raise_exception) ?? err.messages[0];
  const e: Record<string, unknown> = { type: err.excType };
  if (main) {
    e.message = main.message;
    if (main.title) e.title = main.title;
    if (main.indicator) e.indicator = main.indicator;
  } else {
    e.message = err.errorMessage ?? err.exceptionText.replace(/^[^:]+: ?/, "");
  }
  if (traceback && err.status !== 404) e.exception = err.exceptionText;
  return { errors: [e], messages: err.messages.filter((m) => m !== main) };
}
