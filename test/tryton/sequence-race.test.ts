/**
 * Tryton on SQLite can number two concurrent parties from the same sequence value; the second
 * create fails "The code on party must be unique." and is rolled back. The connector tries such a
 * create again (the server numbered that field, so nothing was created), but never a duplicate of a
 * value the caller gave. Against the REAL server.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TrytonConnector } from "../../src/connectors/tryton/index.ts";
import { type PeerEnv, probePeer } from "./support.ts";

const peer = await probePeer();

(peer ? describe : describe.skip)("tryton: concurrent creates numbered by a sequence (real server)", () => {
  const env = peer as PeerEnv;
  const conns = Array.from(
    { length: 6 },
    () => new TrytonConnector({ url: env.url, credentials: { user: env.user, password: env.password }, options: { database: env.db, timeoutMs: 20_000 } }),
  );
  const created: string[] = [];
  afterAll(async () => {
    await conns[0]?.delete?.("party.party", created[0] ?? "0").catch(() => {});
    for (const id of created.slice(1)) await conns[0]?.delete?.("party.party", id).catch(() => {});
    for (const c of conns) await c.close();
  });

  it("24 parties created 6 at a time all exist once, each with its own code", async () => {
    const run = `race-${Date.now().toString(36)}`;
    const names = Array.from({ length: 24 }, (_, i) => `${run} ${i}`);
    for (let i = 0; i < names.length; i += conns.length) {
      const batch = names.slice(i, i + conns.length);
      const recs = await Promise.all(batch.map((name, k) => conns[k].create("party.party", { name })));
      created.push(...recs.map((r) => r.id));
    }
    expect(new Set(created).size).toBe(24);
    const read = await conns[0].readByIds("party.party", created, ["name", "code"]);
    expect(new Set(read.map((r) => r.values.code)).size).toBe(24);
  }, 60_000);

  it("a duplicate of a value the caller gave is refused at once, not retried", async () => {
    const [first] = await conns[0].readByIds("party.party", created.slice(0, 1), ["code"]);
    const code = String(first?.values.code);
    const t0 = Date.now();
    await expect(conns[0].create("party.party", { name: "dup", code })).rejects.toThrow(/unique/i);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
