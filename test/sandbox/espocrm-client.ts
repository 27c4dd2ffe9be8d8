/** Tiny HTTP client for the EspoCRM sandbox contract tests (raw fetch; nothing hidden). */
import { createHmac } from "node:crypto";
import type { EspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for parsed JSON
  json: any;
}

export async function call(
  sb: EspoCrmSandbox,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; auth?: "key" | "none" | "hmac" | "hmac-legacy"; rawBody?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth ?? "key";
  if (auth === "key") headers["X-Api-Key"] = sb.apiKey;
  if (auth === "hmac" || auth === "hmac-legacy")
    headers["X-Hmac-Authorization"] = hmacHeader(sb.apiKey, sb.secretKey, method, path, auth === "hmac-legacy");
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const r = await fetch(`${sb.apiUrl}${path}`, { method, headers, body });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export function hmacHeader(apiKey: string, secret: string, method: string, pathWithQuery: string, legacy = false): string {
  const resourcePath = pathWithQuery.split("?")[0] as string;
  const mac = createHmac("sha256", secret).update(`${method} ${resourcePath}`);
  if (legacy) return Buffer.concat([Buffer.from(`${apiKey}:`), mac.digest()]).toString("base64");
  return Buffer.from(`${apiKey}:${mac.digest("hex")}`).toString("base64");
}

export async function control(sb: EspoCrmSandbox, method: string, path: string, body?: unknown): Promise<Res> {
  const r = await fetch(`${sb.url}/__sandbox${path}`, {
    method,
    headers: { "X-Sandbox-Token": sb.apiKey, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? JSON.parse(text) : undefined };
}

/** PHP http_build_query-style where params. */
export function whereQs(items: unknown[], prefix = "where"): string {
  const parts: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${key}[${i}]`);
    } else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${key}[${k}]`);
    else parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
  };
  walk(items, prefix);
  return parts.join("&");
}
