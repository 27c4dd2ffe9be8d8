/**
 * In-memory state of the emulated EspoCRM: records per entity type (Map on id, soft-deleted
 * records kept with `deleted: true`), users, webhooks, the clock, and the failed-auth log.
 * Sorted views of a table are cached per (orderBy, order) and rebuilt lazily after a write.
 */
import { randomBytes } from "node:crypto";
import { defaultEntityDefs, type EntityDefs } from "./metadata.ts";

export type Rec = Record<string, unknown>;

export interface Acl {
  read: boolean;
  create: boolean;
  edit: boolean;
  delete: boolean;
}

export interface User {
  id: string;
  userName: string;
  name: string;
  type: "api" | "regular" | "admin";
  /** API users: which method their key is accepted by. `any` = both (sandbox default). */
  authMethod?: "ApiKey" | "Hmac" | "any";
  apiKey?: string;
  secretKey?: string;
  password?: string;
  isActive: boolean;
  /** Per entity type; a missing entry means full access. */
  acl: Record<string, Partial<Acl>>;
  /** Whether the role has the Webhooks scope. */
  webhooks: boolean;
  tokens: Set<string>;
}

export interface Table {
  byId: Map<string, Rec>;
  /** Bumped on every write; sorted caches carry the version they were built at. */
  version: number;
  sorted: Map<string, { version: number; rows: Rec[] }>;
  autoincrement: number;
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export function randomHex32(): string {
  return randomBytes(16).toString("hex");
}

export class Db {
  entityDefs: EntityDefs = defaultEntityDefs();
  tables = new Map<string, Table>();
  users = new Map<string, User>();
  clockOffsetMs = 0;
  private readonly baseNow: () => Date;
  private lastUniq = 0;

  constructor(now?: () => Date) {
    this.baseNow = now ?? (() => new Date());
    this.resetTables();
  }

  resetTables(): void {
    this.tables.clear();
    for (const name of Object.keys(this.entityDefs)) this.table(name);
  }

  table(entity: string): Table {
    let t = this.tables.get(entity);
    if (!t) {
      t = { byId: new Map(), version: 0, sorted: new Map(), autoincrement: 0 };
      this.tables.set(entity, t);
    }
    return t;
  }

  nowMs(): number {
    return this.baseNow().getTime() + this.clockOffsetMs;
  }

  nowString(): string {
    return formatDateTime(this.nowMs());
  }

  /**
   * A 17-char lower-case hex id like EspoCRM's: PHP `uniqid()` (8 hex seconds + 5 hex
   * microseconds, so ids sort roughly by creation time) + 4 hex chars of an md5.
   */
  generateId(): string {
    const ms = this.nowMs();
    let micros = ms * 1000;
    if (micros <= this.lastUniq) micros = this.lastUniq + 1;
    this.lastUniq = micros;
    const sec = Math.floor(micros / 1_000_000);
    const usec = micros % 1_000_000;
    const uniq = sec.toString(16).padStart(8, "0") + usec.toString(16).padStart(5, "0");
    // Espo: 4 hex chars of md5(rand()); any uniformly random 4 hex chars look the same.
    const tail = Math.floor(Math.random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
    return uniq + tail;
  }

  touch(entity: string): void {
    const t = this.table(entity);
    t.version++;
  }

  userById(id: string | null | undefined): User | undefined {
    return id ? this.users.get(id) : undefined;
  }
}
