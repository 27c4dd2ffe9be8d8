/** Credentials at rest: AES-256-GCM envelopes, the keyring from the environment, rotation. */
import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/errors.ts";
import { decryptSecrets, encryptSecrets, generateKey, keyringFromEnv, type SecretEnvelope } from "../../src/registry/index.ts";
import { keyring, newKey } from "./fixtures.ts";

const SECRETS = { ESPOCRM_API_KEY: "espo-plain-value-123", ERPNEXT_API_SECRET: "erp-plain-value-456" };

describe("keyringFromEnv", () => {
  it("reads ACCORD_SECRET_KEYS (first = current) and ACCORD_SECRET_KEY (id k1)", () => {
    const k1 = newKey();
    const k2 = newKey();
    const many = keyringFromEnv({ ACCORD_SECRET_KEYS: `k2:${k2}, k1:${k1}` });
    expect(many.current.id).toBe("k2");
    expect([...many.all.keys()]).toEqual(["k2", "k1"]);
    expect(many.all.get("k1")?.toString("base64")).toBe(k1);
    const one = keyringFromEnv({ ACCORD_SECRET_KEY: k1 });
    expect(one.current.id).toBe("k1");
    expect(one.current.key.length).toBe(32);
    expect(Buffer.from(generateKey(), "base64").length).toBe(32);
  });

  it("a missing key says how to make one", () => {
    expect(() => keyringFromEnv({})).toThrow(AuthError);
    expect(() => keyringFromEnv({})).toThrow(/accord integration keygen.*openssl rand -base64 32/);
  });

  it("a short or malformed key is refused without echoing it", () => {
    const short = Buffer.from("sixteen-byte-key").toString("base64");
    for (const env of [{ ACCORD_SECRET_KEY: short }, { ACCORD_SECRET_KEYS: `k1:${short}` }, { ACCORD_SECRET_KEYS: "nocolonhere" }]) {
      let err: unknown;
      try {
        keyringFromEnv(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuthError);
      const text = `${(err as Error).message} ${(err as AuthError).hint}`;
      expect(text).toMatch(/32|ID:BASE64/);
      expect(text).not.toContain(short);
      expect(text).not.toContain("nocolonhere");
    }
  });
});

describe("secret envelopes (AES-256-GCM)", () => {
  const ring = keyring(`k1:${newKey()}`);

  it("round trip; the envelope holds no plaintext and a fresh IV each time", () => {
    const a = encryptSecrets(SECRETS, ring, "acme");
    const b = encryptSecrets(SECRETS, ring, "acme");
    expect(a).toMatchObject({ v: 1, kid: "k1" });
    expect(Buffer.from(a.iv, "base64").length).toBe(12);
    expect(Buffer.from(a.tag, "base64").length).toBe(16);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    const text = JSON.stringify(a);
    for (const v of Object.values(SECRETS)) expect(text).not.toContain(v);
    expect(decryptSecrets(a, ring, "acme")).toEqual(SECRETS);
  });

  it("a tampered ciphertext, tag or IV does not decrypt", () => {
    const env = encryptSecrets(SECRETS, ring, "acme");
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, "base64");
      buf[0] = (buf[0] ?? 0) ^ 1;
      return buf.toString("base64");
    };
    for (const bad of [
      { ...env, ct: flip(env.ct) },
      { ...env, tag: flip(env.tag) },
      { ...env, iv: flip(env.iv) },
    ] as SecretEnvelope[])
      expect(() => decryptSecrets(bad, ring, "acme")).toThrow(AuthError);
  });

  it("the wrong key does not decrypt, and an unknown key id says which key is missing", () => {
    const env = encryptSecrets(SECRETS, ring, "acme");
    const other = keyring(`k1:${newKey()}`);
    expect(() => decryptSecrets(env, other, "acme")).toThrow(/do not decrypt with key k1/);
    const elsewhere = keyring(`k9:${newKey()}`);
    expect(() => decryptSecrets(env, elsewhere, "acme")).toThrow(/key k1, which is not in ACCORD_SECRET_KEYS/);
  });

  it("the integration name is the AAD: an envelope copied onto another integration fails", () => {
    const env = encryptSecrets(SECRETS, ring, "tenant-a-crm");
    expect(() => decryptSecrets(env, ring, "tenant-b-crm")).toThrow(/belongs to another integration/);
  });

  it("rotation: with k2 current, envelopes of k1 still decrypt; new ones are k2", () => {
    const k1 = newKey();
    const old = keyring(`k1:${k1}`);
    const env = encryptSecrets(SECRETS, old, "acme");
    const rotated = keyring(`k2:${newKey()},k1:${k1}`);
    expect(decryptSecrets(env, rotated, "acme")).toEqual(SECRETS);
    expect(encryptSecrets(SECRETS, rotated, "acme").kid).toBe("k2");
  });
});
