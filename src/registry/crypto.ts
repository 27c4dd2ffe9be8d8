/**
 * Credentials at rest (DESIGN.md invariant 8): one envelope per registered integration,
 * AES-256-GCM with a random 12-byte IV, the integration's name as additional authenticated data
 * (a ciphertext copied onto another integration's row does not decrypt), the key id written
 * beside it so old ciphertexts still open after a rotation.
 *
 * Keys come from the environment only:
 *   ACCORD_SECRET_KEYS="k2:BASE64,k1:BASE64"   first = current (encrypts), the rest still decrypt;
 *   ACCORD_SECRET_KEY=BASE64                    one key, id "k1".
 * Each key is 32 random bytes, base64 (`accord integration keygen` or `openssl rand -base64 32`).
 * Rotation: generate k2, set ACCORD_SECRET_KEYS="k2:NEW,k1:OLD" everywhere, run
 * `accord integration rekey`, then drop k1 from the variable.
 *
 * No message here ever contains a key or a secret value.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { AuthError } from "../errors.ts";
import type { Keyring } from "./types.ts";

export interface SecretEnvelope {
  v: 1;
  /** Id of the key that encrypted it. */
  kid: string;
  /** base64 of the 12-byte IV, the 16-byte GCM tag and the ciphertext. */
  iv: string;
  tag: string;
  ct: string;
  /** The secrets' names (not secret): lets `list`/`show` answer without the key. Not trusted for decryption. */
  names?: string[];
}

const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$/;
const HOW_TO_MAKE =
  "Make one with `accord integration keygen` (or `openssl rand -base64 32`) and set ACCORD_SECRET_KEY=<that value> " +
  '(or ACCORD_SECRET_KEYS="k2:<new>,k1:<old>" while rotating) in the environment of every accord process.';

function keyError(message: string): AuthError {
  return new AuthError(message, { where: { system: "accord secrets" }, hint: HOW_TO_MAKE });
}

function decodeKey(id: string, b64: string, variable: string): Buffer {
  const text = b64.trim();
  if (!text) throw keyError(`${variable}: key ${id} is empty. ${HOW_TO_MAKE}`);
  if (!BASE64.test(text)) throw keyError(`${variable}: key ${id} is not base64. ${HOW_TO_MAKE}`);
  const key = Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64");
  if (key.length !== 32)
    throw keyError(`${variable}: key ${id} is ${key.length} bytes, AES-256-GCM needs exactly 32 random bytes. ${HOW_TO_MAKE}`);
  return key;
}

/** The keyring from ACCORD_SECRET_KEYS (first = current) or ACCORD_SECRET_KEY (id k1). Throws AuthError (no key value in it) when missing or malformed. */
export function keyringFromEnv(env: Record<string, string | undefined> = process.env): Keyring {
  const many = env.ACCORD_SECRET_KEYS?.trim();
  const one = env.ACCORD_SECRET_KEY?.trim();
  if (many) {
    const all = new Map<string, Buffer>();
    let current: { id: string; key: Buffer } | undefined;
    for (const [i, part] of many.split(",").entries()) {
      const item = part.trim();
      if (!item) continue;
      const colon = item.indexOf(":");
      if (colon <= 0)
        throw keyError(`ACCORD_SECRET_KEYS: entry ${i + 1} is not ID:BASE64 (e.g. "k2:…,k1:…", the current key first). ${HOW_TO_MAKE}`);
      const id = item.slice(0, colon).trim();
      if (!KEY_ID.test(id))
        throw keyError(`ACCORD_SECRET_KEYS: entry ${i + 1} has an invalid key id (letters, digits, _ . - only, up to 32).`);
      if (all.has(id)) throw keyError(`ACCORD_SECRET_KEYS: key id ${id} appears twice; give each key its own id.`);
      const key = decodeKey(id, item.slice(colon + 1), "ACCORD_SECRET_KEYS");
      all.set(id, key);
      current ??= { id, key };
    }
    if (!current) throw keyError(`ACCORD_SECRET_KEYS is set but holds no key. ${HOW_TO_MAKE}`);
    return { current, all };
  }
  if (one) {
    const key = decodeKey("k1", one, "ACCORD_SECRET_KEY");
    return { current: { id: "k1", key }, all: new Map([["k1", key]]) };
  }
  throw keyError(`No encryption key for integration credentials: ACCORD_SECRET_KEY (or ACCORD_SECRET_KEYS) is not set. ${HOW_TO_MAKE}`);
}

/** A new random 32-byte key, base64 (what `accord integration keygen` prints). */
export function generateKey(): string {
  return randomBytes(32).toString("base64");
}

/** Encrypt an integration's secrets with the keyring's current key; `aad` = the integration's name. */
export function encryptSecrets(secrets: Record<string, string>, keyring: Keyring, aad: string): SecretEnvelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyring.current.key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()]);
  return {
    v: 1,
    kid: keyring.current.id,
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    ct: ct.toString("base64"),
    names: Object.keys(secrets).sort(),
  };
}

/** Parse the stored envelope text (no decryption). */
export function parseEnvelope(text: string, aad: string): SecretEnvelope {
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch {
    throw new AuthError(`the stored credentials of integration ${aad} are not a readable envelope`, {
      where: { system: "accord secrets" },
      hint: `Register them again: \`accord integration remove ${aad}\`, then \`accord integration add FILE --tenant T\` with all of them.`,
    });
  }
  const e = env as Partial<SecretEnvelope> | null;
  if (e?.v !== 1 || typeof e.kid !== "string" || typeof e.iv !== "string" || typeof e.tag !== "string" || typeof e.ct !== "string")
    throw new AuthError(`the stored credentials of integration ${aad} are not a version-1 envelope`, {
      where: { system: "accord secrets" },
      hint: `Register them again: \`accord integration remove ${aad}\`, then \`accord integration add FILE --tenant T\` with all of them.`,
    });
  return e as SecretEnvelope;
}

/** Decrypt an envelope. Throws AuthError when its key is not in the keyring, or it was tampered with / moved to another integration / the key is wrong. */
export function decryptSecrets(envelope: SecretEnvelope, keyring: Keyring, aad: string): Record<string, string> {
  const key = keyring.all.get(envelope.kid);
  if (!key)
    throw new AuthError(
      `the credentials of integration ${aad} were encrypted with key ${envelope.kid}, which is not in ACCORD_SECRET_KEYS`,
      {
        where: { system: "accord secrets" },
        hint: `Add the key ${envelope.kid} back to ACCORD_SECRET_KEYS (after the current one) and run \`accord integration rekey\`.`,
      },
    );
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(envelope.iv, "base64"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(Buffer.from(envelope.tag, "base64"));
    const text = Buffer.concat([decipher.update(Buffer.from(envelope.ct, "base64")), decipher.final()]).toString("utf8");
    const out = JSON.parse(text) as unknown;
    if (!out || typeof out !== "object" || Array.isArray(out)) throw new Error("not an object");
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(out)) if (typeof v === "string") secrets[k] = v;
    return secrets;
  } catch {
    throw new AuthError(
      `the credentials of integration ${aad} do not decrypt with key ${envelope.kid}: wrong key, or the stored envelope was altered or belongs to another integration`,
      {
        where: { system: "accord secrets" },
        hint: `Check that ${envelope.kid} in ACCORD_SECRET_KEYS is the key that encrypted them. If that key is lost, register the credentials again: \`accord integration remove ${aad}\`, then \`accord integration add FILE --tenant T\` with all of them.`,
      },
    );
  }
}
