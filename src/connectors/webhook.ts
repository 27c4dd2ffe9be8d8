/** Signature checks shared by the connectors' parseWebhook: constant-time, never echoing secrets. */
import { createHmac, timingSafeEqual } from "node:crypto";
import { AuthError, ValidationRejected } from "../errors.ts";

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === want) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

export function hmacSha256(secret: string, body: Buffer): Buffer {
  return createHmac("sha256", secret).update(body).digest();
}

/** Constant-time equality of two byte strings (false on length mismatch, without early exit on content). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

export function signatureError(system: string, why: string): AuthError {
  return new AuthError(`${system}: webhook rejected: ${why}.`, {
    where: { system },
    hint: "Check that the webhook's secret configured in Accord matches the one the system generated; unsigned or forged calls are dropped.",
  });
}

export function parseJsonBody(system: string, raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ValidationRejected(`${system}: webhook body is not JSON.`, { where: { system } });
  }
}

/** Query parameters of the webhook's URL (the event and entity are often encoded there). */
export function queryOf(url: string): URLSearchParams {
  const i = url.indexOf("?");
  return new URLSearchParams(i >= 0 ? url.slice(i + 1) : "");
}
