/**
 * The console for `accord demo`: the demo's store and sandboxes behind the web console, with a demo
 * admin whose password is generated once per state folder (kept in STATE/console.json, mode 0600,
 * so `--resume` prints the same login). Listens on 127.0.0.1 (the demo is local), on the asked port
 * or — when that one is taken — on any free port.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { loadSpecFile } from "../spec/load.ts";
import type { IntegrationSpec } from "../spec/model.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";
import { createServer } from "./app.ts";
import { hashPassword } from "./auth.ts";
import { connectSystems } from "./systems.ts";
import { userStore } from "./users.ts";
import type { Systems } from "./views.ts";

export interface DemoConsole {
  url: string;
  user: string;
  password: string;
  close(): Promise<void>;
}

export const DEMO_USER = "admin";

/** The demo's integration file, without the rate limits that protect real systems (the sandboxes are local). */
async function demoSpec(file: string): Promise<IntegrationSpec> {
  const spec = await loadSpecFile(file);
  for (const side of ["crm", "erp"] as const) {
    const o = spec.systems[side].options;
    if (o.rateLimit && typeof o.rateLimit === "object")
      spec.systems[side].options = { ...o, rateLimit: { ...(o.rateLimit as object), perSecond: 0 } };
  }
  return spec;
}

export async function startDemoConsole(opts: {
  /** The demo's integration file. */
  file: string;
  /** The variables the file reads (the sandboxes' URLs and keys). */
  env: Record<string, string>;
  storeFile: string;
  stateDir: string;
  port?: number;
}): Promise<DemoConsole> {
  const spec = await demoSpec(opts.file);
  const store: Store = await openStore({ file: opts.storeFile });
  let systems: Systems | undefined;
  let app: FastifyInstance | undefined;
  try {
    const users = userStore(store);
    const secretFile = join(opts.stateDir, "console.json");
    let password: string | undefined;
    if (existsSync(secretFile)) {
      try {
        password = (JSON.parse(readFileSync(secretFile, "utf8")) as { password?: string }).password;
      } catch {
        password = undefined;
      }
    }
    const existing = await users.getUser({ name: DEMO_USER });
    if (!password || !existing) {
      password ??= randomBytes(12).toString("base64url");
      const hash = await hashPassword(password);
      if (existing) await users.updateUser(existing.id, { passwordHash: hash, role: "admin", disabled: false });
      else await users.addUser({ name: DEMO_USER, role: "admin", passwordHash: hash });
      writeFileSync(secretFile, `${JSON.stringify({ user: DEMO_USER, password }, null, 2)}\n`, { mode: 0o600 });
    }
    systems = await connectSystems(spec, opts.env);
    app = await createServer({ store, spec: spec, systems: { [spec.name]: systems } });
    const port = opts.port ?? 8080;
    try {
      await app.listen({ port, host: "127.0.0.1" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
      await app.close();
      app = await createServer({ store, spec: spec, systems: { [spec.name]: systems } });
      await app.listen({ port: 0, host: "127.0.0.1" });
    }
    const bound = app.server.address() as AddressInfo;
    const server = app;
    const sys = systems;
    return {
      url: `http://127.0.0.1:${bound.port}/`,
      user: DEMO_USER,
      password,
      close: async () => {
        await server.close();
        await Promise.allSettled([sys.crm.close(), sys.erp.close()]);
        await store.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    if (systems) await Promise.allSettled([systems.crm.close(), systems.erp.close()]);
    await store.close();
    throw err;
  }
}
