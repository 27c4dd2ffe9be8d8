/** Console users and API tokens as the CLI (`accord user`, `accord token`) and the server manage them. */
import { NotFound, ValidationRejected } from "../errors.ts";
import type { ApiToken, Store, User } from "../store/types.ts";
import { hashPassword, isRole, newApiToken, ROLES, type Role, sha256 } from "./auth.ts";

/** The store methods the console needs (optional members of the Store contract). */
export type UserStore = Store &
  Required<
    Pick<
      Store,
      | "addUser"
      | "getUser"
      | "listUsers"
      | "updateUser"
      | "createSession"
      | "getSession"
      | "deleteSessions"
      | "addApiToken"
      | "getApiToken"
      | "listApiTokens"
      | "revokeApiToken"
      | "touchApiToken"
    >
  >;

export function userStore(store: Store): UserStore {
  const missing = (
    [
      "addUser",
      "getUser",
      "listUsers",
      "updateUser",
      "createSession",
      "getSession",
      "deleteSessions",
      "addApiToken",
      "getApiToken",
      "listApiTokens",
      "revokeApiToken",
      "touchApiToken",
    ] as const
  ).filter((m) => typeof store[m] !== "function");
  if (missing.length)
    throw new Error(
      `this store cannot keep console users (missing ${missing.join(", ")}): use the SQLite or PostgreSQL store from openStore()`,
    );
  return store as UserStore;
}

export const MIN_PASSWORD = 10;
const NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function checkUserName(name: string): void {
  if (!NAME_RE.test(name))
    throw new ValidationRejected(`invalid user name "${name}"`, { hint: "Use 1–64 letters, digits, and . _ @ - (no spaces)." });
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD)
    throw new ValidationRejected(`the password is too short (${password.length} characters)`, {
      hint: `Use at least ${MIN_PASSWORD} characters; a passphrase of a few words is easiest.`,
    });
}

const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Add a console user; `tenant` (Step 10) limits them to that tenant's integrations (absent/null = a platform user). */
export async function addConsoleUser(store: Store, name: string, role: string, password: string, tenant?: string | null): Promise<User> {
  checkUserName(name);
  if (!isRole(role)) throw new ValidationRejected(`unknown role "${role}"`, { hint: `Roles: ${ROLES.join(", ")}.` });
  checkPassword(password);
  if (tenant && !TENANT_RE.test(tenant))
    throw new ValidationRejected(`invalid tenant "${tenant}"`, { hint: "Use letters, digits, _ . - (up to 63), e.g. acme." });
  if (tenant && !store.setUserTenant)
    throw new ValidationRejected("this store keeps no user tenants", { hint: "Use the SQLite or PostgreSQL store (migration 0004)." });
  const s = userStore(store);
  if (!tenant) return s.addUser({ name, role, passwordHash: await hashPassword(password) });
  const passwordHash = await hashPassword(password);
  return s.transaction(async (tx) => {
    const u = await userStore(tx).addUser({ name, role, passwordHash });
    await tx.setUserTenant?.(u.id, tenant);
    return { ...u, tenant };
  });
}

/** Move a user to a tenant (or null: make them a platform user). */
export async function setUserTenant(store: Store, name: string, tenant: string | null): Promise<void> {
  if (tenant && !TENANT_RE.test(tenant))
    throw new ValidationRejected(`invalid tenant "${tenant}"`, { hint: "Use letters, digits, _ . - (up to 63), e.g. acme." });
  const s = userStore(store);
  const u = await needUser(s, name);
  if (!s.setUserTenant)
    throw new ValidationRejected("this store keeps no user tenants", { hint: "Use the SQLite or PostgreSQL store (migration 0004)." });
  await s.setUserTenant(u.id, tenant);
  await s.deleteSessions({ userId: u.id }); // what they may see changed: sign in again
}

async function needUser(store: UserStore, name: string): Promise<User> {
  const u = await store.getUser({ name });
  if (!u)
    throw new NotFound(`no console user named "${name}"`, {
      hint: "List users with `accord user list`; add one with `accord user add NAME --role ROLE`.",
    });
  return u;
}

export async function setPassword(store: Store, name: string, password: string): Promise<void> {
  const s = userStore(store);
  checkPassword(password);
  const u = await needUser(s, name);
  await s.updateUser(u.id, { passwordHash: await hashPassword(password) });
  await s.deleteSessions({ userId: u.id }); // a changed password signs every browser out
}

export async function setRole(store: Store, name: string, role: Role): Promise<void> {
  const s = userStore(store);
  const u = await needUser(s, name);
  await s.updateUser(u.id, { role });
}

export async function setDisabled(store: Store, name: string, disabled: boolean): Promise<void> {
  const s = userStore(store);
  const u = await needUser(s, name);
  await s.updateUser(u.id, { disabled });
  if (disabled) await s.deleteSessions({ userId: u.id });
}

/** A new API token for a user: the token itself is returned once and only its hash is stored. */
export async function createApiToken(
  store: Store,
  userName: string,
  label: string,
  ttlMs: number | null,
): Promise<{ token: string; record: ApiToken; user: User }> {
  const s = userStore(store);
  const user = await needUser(s, userName);
  const token = newApiToken();
  const record = await s.addApiToken({
    userId: user.id,
    label,
    tokenHash: sha256(token),
    expiresAt: ttlMs === null ? null : new Date(Date.now() + ttlMs).toISOString(),
  });
  return { token, record, user };
}

/** A user as shown outside the server: never the password hash. */
export function publicUser(u: User): { id: number; name: string; role: Role; disabled: boolean; createdAt: string; tenant: string | null } {
  return { id: u.id, name: u.name, role: u.role, disabled: u.disabled, createdAt: u.createdAt, tenant: u.tenant ?? null };
}
