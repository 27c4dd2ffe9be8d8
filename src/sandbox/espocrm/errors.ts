/** An EspoCRM API error: status, the `X-Status-Reason` text, and an optional JSON body. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, reason?: string, body?: unknown, headers: Record<string, string> = {}) {
    super(reason ?? `HTTP ${status}`);
    this.status = status;
    this.reason = reason;
    this.body = body;
    this.headers = headers;
  }
}

export const badRequest = (reason?: string, body?: unknown) => new ApiError(400, reason, body);
export const forbidden = (reason?: string) => new ApiError(403, reason);
export const notFound = (reason?: string) => new ApiError(404, reason);

/** Field validation failure, exactly as Espo reports the first failing field. */
export function validationFailure(entityType: string, field: string, type: string): ApiError {
  return new ApiError(400, `Field validation failure; entityType: ${entityType}, field: ${field}, type: ${type}.`, {
    messageTranslation: { label: "validationFailure", scope: null, data: { field, type } },
  });
}
