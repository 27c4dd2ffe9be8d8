/**
 * Console security primitives: scrypt password hashes, random tokens (sessions, CSRF, API tokens)
 * kept in the store only as SHA-256 hashes, constant-time comparison, and the login rate limiter.
 */
import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import type { User } from "../store/types.ts";

export const ROLES = ["admin", "reviewer", "viewer"] as const;
export type Role = User["role"];

export function isRole(v: unknown): v is Role {
  return typeof v === "string" && (ROLES as readonly string[]).includes(v);
}

/** scrypt cost parameters (N = 2^15, r = 8, p = 1: ~32 MiB, tens of ms per hash). */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scrypt(password, salt, keylen, opts, (err, key) => (err ? rej(err) : res(key))));
}

/** A self-describing hash: `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password.normalize("NFC"), salt, KEYLEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 });
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4], "base64url");
  const want = Buffer.from(parts[5], "base64url");
  const got = await scryptAsync(password.normalize("NFC"), salt, want.length, { N: n, r, p, maxmem: 128 * n * r * 2 });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash of the same cost as a real one, so an unknown user name takes as long as a wrong password. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
  return dummyHash;
}

/** 256 random bits, base64url. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** API tokens carry a recognisable prefix (so secret scanners and people can tell what they are). */
export const API_TOKEN_PREFIX = "acc_";
export function newApiToken(): string {
  return `${API_TOKEN_PREFIX}${newToken()}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Login rate limiting per (client IP, user name): after `max` failures within `windowMs` the pair is
 * refused until the oldest failure leaves the window; a success clears the pair. In memory: one
 * server process guards its own door (a restart forgets, which only helps the rightful user).
 */
export class LoginLimiter {
  readonly #fails = new Map<string, number[]>();
  readonly max: number;
  readonly windowMs: number;
  constructor(opts: { max?: number; windowMs?: number } = {}) {
    this.max = opts.max ?? 5;
    this.windowMs = opts.windowMs ?? 15 * 60_000;
  }
  #key(ip: string, user: string): string {
    return `${ip}\u0000${user.toLowerCase()}`;
  }
  #recent(key: string, now: number): number[] {
    const list = (this.#fails.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.#fails.set(key, list);
    else this.#fails.delete(key);
    return list;
  }
  /** Milliseconds to wait before another attempt, or 0 when one is allowed. */
  retryAfterMs(ip: string, user: string, now = Date.now()): number {
    const list = this.#recent(this.#key(ip, user), now);
    return list.length >= this.max ? this.windowMs - (now - list[0]) : 0;
  }
  failed(ip: string, user: string, now = Date.now()): void {
    const key = this.#key(ip, user);
    const list = this.#recent(key, now);
    list.push(now);
    this.#fails.set(key, list);
    if (this.#fails.size > 50_000) {
      // bound the memory an attacker spraying names can take: drop the oldest keys
      for (const k of [...this.#fails.keys()].slice(0, 10_000)) this.#fails.delete(k);
    }
  }
  succeeded(ip: string, user: string): void {
    this.#fails.delete(this.#key(ip, user));
  }
}
