/**
 * Contract tests of the emulated EspoCRM over real HTTP: every behaviour here is one the
 * reference (shared/reference/espocrm-api.md) states, so a connector that passes against the
 * sandbox meets the real API's rules.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EspoCrmSandbox, startEspoCrmSandbox } from "../../src/sandbox/espocrm/index.ts";
import { call, control, whereQs } from "./espocrm-client.ts";

let sb: EspoCrmSandbox;

beforeAll(async () => {
  sb = await startEspoCrmSandbox({ webhookDelayMs: 50 });
});
afterAll(async () => {
  await sb.close();
});
beforeEach(async () => {
  sb.control.reset();
});

const DT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

describe("authentication (§1)", () => {
  it("missing credentials: 401, empty body, WWW-Authenticate on non-POST non-XHR only", async () => {
    const r = await call(sb, "GET", "/Account", { auth: "none" });
    expect(r.status).toBe(401);
    expect(r.text).toBe("");
    expect(r.headers.get("www-authenticate")).toBe('Basic realm=""');
    const p = await call(sb, "POST", "/Account", { auth: "none", body: { name: "x" } });
    expect(p.status).toBe(401);
    expect(p.headers.get("www-authenticate")).toBeNull();
    const x = await call(sb, "GET", "/Account", { auth: "none", headers: { "X-Requested-With": "XMLHttpRequest" } });
    expect(x.headers.get("www-authenticate")).toBeNull();
  });

  it("wrong API key: 401, empty body, no X-Status-Reason, no WWW-Authenticate", async () => {
    const r = await call(sb, "GET", "/Account", { auth: "none", headers: { "X-Api-Key": "0".repeat(32) } });
    expect(r.status).toBe(401);
    expect(r.text).toBe("");
    expect(r.headers.get("x-status-reason")).toBeNull();
    expect(r.headers.get("www-authenticate")).toBeNull();
  });

  it("API key is 32 hex chars and GET /App/user answers for the API user", async () => {
    expect(sb.apiKey).toMatch(/^[0-9a-f]{32}$/);
    const r = await call(sb, "GET", "/App/user");
    expect(r.status).toBe(200);
    expect(r.json.user.id).toBe(sb.apiUserId);
    expect(r.json.user.type).toBe("api");
  });

  it("HMAC: hex digest and legacy binary digest both accepted; signature covers METHOD + path, not the query", async () => {
    const hex = await call(sb, "GET", "/Account?maxSize=1", { auth: "hmac" });
    expect(hex.status).toBe(200);
    const legacy = await call(sb, "GET", "/Account?maxSize=1", { auth: "hmac-legacy" });
    expect(legacy.status).toBe(200);
    const post = await call(sb, "POST", "/Account", { auth: "hmac", body: { name: "Signed" } });
    expect(post.status).toBe(200);
    // Signature for another path must fail.
    const { hmacHeader } = await import("./espocrm-client.ts");
    const wrong = await call(sb, "GET", "/Contact", {
      auth: "none",
      headers: { "X-Hmac-Authorization": hmacHeader(sb.apiKey, sb.secretKey, "GET", "/Account") },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toBe("");
    const badSecret = await call(sb, "GET", "/Account", {
      auth: "none",
      headers: { "X-Hmac-Authorization": hmacHeader(sb.apiKey, "f".repeat(32), "GET", "/Account") },
    });
    expect(badSecret.status).toBe(401);
  });

  it("a key is accepted only by its user's auth method", async () => {
    const u = await control(sb, "POST", "/users", { userName: "hmac-only", type: "api", authMethod: "Hmac" });
    const { apiKey, secretKey } = u.json as { apiKey: string; secretKey: string };
    const { hmacHeader } = await import("./espocrm-client.ts");
    const viaKey = await fetch(`${sb.apiUrl}/Account`, { headers: { "X-Api-Key": apiKey } });
    expect(viaKey.status).toBe(401);
    const viaHmac = await fetch(`${sb.apiUrl}/Account`, {
      headers: { "X-Hmac-Authorization": hmacHeader(apiKey, secretKey, "GET", "/Account") },
    });
    expect(viaHmac.status).toBe(200);
  });

  it("Espo-Authorization: username/password gives a token; token works with Espo-Authorization-By-Token", async () => {
    const b = Buffer.from("jane.doe:jane-password").toString("base64");
    const r = await call(sb, "GET", "/App/user", { auth: "none", headers: { "Espo-Authorization": b } });
    expect(r.status).toBe(200);
    expect(r.json.token).toMatch(/^[0-9a-f]{32}$/);
    const t = Buffer.from(`jane.doe:${r.json.token}`).toString("base64");
    const r2 = await call(sb, "GET", "/Account", {
      auth: "none",
      headers: { "Espo-Authorization": t, "Espo-Authorization-By-Token": "true" },
    });
    expect(r2.status).toBe(200);
    const bad = await call(sb, "GET", "/Account", {
      auth: "none",
      headers: { "Espo-Authorization": Buffer.from("nocolon").toString("base64") },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-status-reason")).toBe("Auth: Bad authorization string provided.");
    // Espo-Authorization wins over X-Api-Key.
    const both = await call(sb, "GET", "/Account", { headers: { "Espo-Authorization": Buffer.from("jane.doe:wrong").toString("base64") } });
    expect(both.status).toBe(401);
  });

  it("brute-force lock: more than 10 denied attempts from one IP within 60 s → 403 empty, even for a good key", async () => {
    const locked = await startEspoCrmSandbox();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await call(locked, "GET", "/Account", { auth: "none", headers: { "X-Api-Key": `bad${i}` } });
        statuses.push(r.status);
      }
      expect(statuses.slice(0, 11)).toEqual(Array(11).fill(401));
      expect(statuses[11]).toBe(403);
      const good = await call(locked, "GET", "/Account");
      expect(good.status).toBe(403);
      expect(good.text).toBe("");
      expect(good.headers.get("x-status-reason")).toBeNull();
      // The window is 60 s on the server clock.
      locked.control.setClockOffset(61_000);
      expect((await call(locked, "GET", "/Account")).status).toBe(200);
    } finally {
      await locked.close();
    }
  });
});

async function seedAccounts(n: number, name = (i: number) => `Acc ${String(i).padStart(4, "0")}`) {
  const recs = Array.from({ length: n }, (_, i) => ({
    id: `a${String(i).padStart(16, "0")}`,
    name: name(i),
    createdAt: `2024-01-01 00:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`,
  }));
  await control(sb, "POST", "/seed", { Account: recs });
  return recs;
}

describe("list (§2, §7)", () => {
  it("default page size is 200; maxSize 200 is fine; 201 → 403 with the exact reason", async () => {
    await seedAccounts(250);
    const d = await call(sb, "GET", "/Account");
    expect(d.status).toBe(200);
    expect(Object.keys(d.json)).toEqual(["total", "list"]);
    expect(d.json.total).toBe(250);
    expect(d.json.list).toHaveLength(200);
    expect((await call(sb, "GET", "/Account?maxSize=200")).json.list).toHaveLength(200);
    const big = await call(sb, "GET", "/Account?maxSize=201");
    expect(big.status).toBe(403);
    expect(big.headers.get("x-status-reason")).toBe("Max size should not exceed 200. Use offset and limit.");
    expect(big.text).toBe("");
  });

  it("offset paging with the default order (createdAt desc + id) visits every record once", async () => {
    await seedAccounts(250);
    const seen: string[] = [];
    for (let off = 0; off < 250; off += 70) {
      const r = await call(sb, "GET", `/Account?maxSize=70&offset=${off}`);
      seen.push(...r.json.list.map((x: { id: string }) => x.id));
    }
    expect(new Set(seen).size).toBe(250);
    const first = await call(sb, "GET", "/Account?maxSize=1");
    expect(first.json.list[0].id).toBe(`a${String(249).padStart(16, "0")}`);
  });

  it("orderBy with an id tie-breaker in the same direction; bad order → 400; unknown field → 400", async () => {
    await seedAccounts(6, (i) => (i % 2 ? "Same" : `Other${i}`));
    const asc = await call(sb, "GET", "/Account?orderBy=name&order=asc&select=name");
    const same = asc.json.list.filter((r: { name: string }) => r.name === "Same").map((r: { id: string }) => r.id);
    expect(same).toEqual([...same].sort());
    const desc = await call(sb, "GET", "/Account?orderBy=name&order=DESC&select=name");
    const sameD = desc.json.list.filter((r: { name: string }) => r.name === "Same").map((r: { id: string }) => r.id);
    expect(sameD).toEqual([...same].sort().reverse());
    expect(desc.json.list[desc.json.list.length - 1].name).toBe("Other0");
    const bad = await call(sb, "GET", "/Account?orderBy=name&order=up");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-status-reason")).toBe("order value is bad.");
    const nf = await call(sb, "GET", "/Account?orderBy=nope");
    expect(nf.status).toBe(400);
    expect(nf.headers.get("x-status-reason")).toBe("Order by non-existing field 'nope'.");
  });

  it("select keeps id, assignedUserId, createdById and the order attribute; unknown attributes dropped", async () => {
    await seedAccounts(3);
    const r = await call(sb, "GET", "/Account?select=name,bogus&orderBy=createdAt");
    expect(Object.keys(r.json.list[0]).sort()).toEqual(["assignedUserId", "createdAt", "createdById", "id", "name"]);
  });

  it("X-No-Total: total -1 when more records exist, -2 on the last page", async () => {
    await seedAccounts(5);
    const more = await call(sb, "GET", "/Account?maxSize=2", { headers: { "X-No-Total": "true" } });
    expect(more.json.total).toBe(-1);
    const last = await call(sb, "GET", "/Account?maxSize=2&offset=4", { headers: { "X-No-Total": "true" } });
    expect(last.json.total).toBe(-2);
    expect(last.json.list).toHaveLength(1);
  });

  it("searchParams JSON form; its select must be an array, maxSize an integer", async () => {
    await seedAccounts(5);
    const sp = encodeURIComponent(
      JSON.stringify({ maxSize: 2, select: ["name"], where: [{ type: "equals", attribute: "name", value: "Acc 0003" }] }),
    );
    const r = await call(sb, "GET", `/Account?searchParams=${sp}`);
    expect(r.json.total).toBe(1);
    expect(r.json.list[0].name).toBe("Acc 0003");
    const bad = await call(sb, "GET", `/Account?searchParams=${encodeURIComponent(JSON.stringify({ select: "name" }))}`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-status-reason")).toBe("select should be array.");
    const bad2 = await call(sb, "GET", `/Account?searchParams=${encodeURIComponent(JSON.stringify({ maxSize: "5" }))}`);
    expect(bad2.headers.get("x-status-reason")).toBe("maxSize must be integer.");
    const bad3 = await call(sb, "GET", "/Account?searchParams=%7Bnope");
    expect(bad3.headers.get("x-status-reason")).toBe("Invalid search params JSON.");
  });

  it("incremental-sync pattern: modifiedAt >= X ordered by modifiedAt asc pages stably, updates move records to the end", async () => {
    const recs = Array.from({ length: 30 }, (_, i) => ({
      id: `m${String(i).padStart(16, "0")}`,
      name: `M${i}`,
      modifiedAt: `2024-02-01 00:00:${String(Math.floor(i / 3)).padStart(2, "0")}`,
    }));
    await control(sb, "POST", "/seed", { Account: recs });
    const page = async (from: string, offset: number, order = "asc") => {
      const q = whereQs([{ type: "greaterThanOrEquals", attribute: "modifiedAt", value: from }]);
      return (await call(sb, "GET", `/Account?${q}&orderBy=modifiedAt&order=${order}&maxSize=4&offset=${offset}&select=modifiedAt`)).json;
    };
    const first = await page("2024-02-01 00:00:05", 0);
    expect(first.total).toBe(15);
    expect(first.list.map((r: { id: string }) => r.id)).toEqual([15, 16, 17, 18].map((i) => `m${String(i).padStart(16, "0")}`));
    const all: string[] = [];
    for (let off = 0; off < 15; off += 4) all.push(...(await page("2024-02-01 00:00:05", off)).list.map((r: { id: string }) => r.id));
    expect(all).toEqual(recs.slice(15).map((r) => r.id));
    const desc = await page("2024-02-01 00:00:05", 0, "desc");
    expect(desc.total).toBe(15);
    expect(desc.list[0].id).toBe(recs[29]?.id);
    // Same answers as the generic path (two items force a full scan).
    const q2 = whereQs([
      { type: "greaterThanOrEquals", attribute: "modifiedAt", value: "2024-02-01 00:00:05" },
      { type: "isNotNull", attribute: "name" },
    ]);
    const slow = (await call(sb, "GET", `/Account?${q2}&orderBy=modifiedAt&order=asc&maxSize=200`)).json;
    expect(slow.list.map((r: { id: string }) => r.id)).toEqual(all);
    // An update moves the record to the end of the modifiedAt order.
    await call(sb, "PUT", `/Account/${recs[0]?.id}`, { body: { sicCode: "1" } });
    const after = await page("2024-02-01 00:00:05", 12);
    expect(after.total).toBe(16);
    expect(after.list.map((r: { id: string }) => r.id).at(-1)).toBe(recs[0]?.id);
  });

  it("keyset where (modifiedAt > t OR (modifiedAt = t AND id > x)) returns exactly the rows after the cursor", async () => {
    const recs = Array.from({ length: 60 }, (_, i) => ({
      id: `k${String((i * 37) % 60).padStart(16, "0")}`,
      name: i % 4 === 0 ? `Skip ${i}` : `Keep ${i}`,
      modifiedAt: `2024-03-01 10:00:0${i % 7}`,
    }));
    await control(sb, "POST", "/seed", { Account: recs });
    const sorted = [...recs].sort((a, b) => (a.modifiedAt < b.modifiedAt ? -1 : a.modifiedAt > b.modifiedAt ? 1 : a.id < b.id ? -1 : 1));
    for (const cursor of [sorted[0], sorted[17], sorted[42], sorted[59]]) {
      if (!cursor) continue;
      const t = cursor.modifiedAt;
      const keyset = {
        type: "or",
        value: [
          { type: "greaterThan", attribute: "modifiedAt", value: t },
          {
            type: "and",
            value: [
              { type: "equals", attribute: "modifiedAt", value: t },
              { type: "greaterThan", attribute: "id", value: cursor.id },
            ],
          },
        ],
      };
      const where = [
        { type: "greaterThanOrEquals", attribute: "modifiedAt", value: "2024-03-01 10:00:01" },
        keyset,
        { type: "startsWith", attribute: "name", value: "Keep" },
      ];
      const r = await call(sb, "GET", `/Account?${whereQs(where)}&orderBy=modifiedAt&order=asc&maxSize=200&select=name,modifiedAt`);
      const expected = sorted
        .filter(
          (x) =>
            x.modifiedAt >= "2024-03-01 10:00:01" &&
            (x.modifiedAt > t || (x.modifiedAt === t && x.id > cursor.id)) &&
            x.name.startsWith("Keep"),
        )
        .map((x) => x.id);
      expect(r.json.list.map((x: { id: string }) => x.id)).toEqual(expected);
      expect(r.json.total).toBe(expected.length);
      const d = await call(sb, "GET", `/Account?${whereQs(where)}&orderBy=modifiedAt&order=desc&maxSize=200&select=name`);
      expect(d.json.list.map((x: { id: string }) => x.id)).toEqual([...expected].reverse());
      const alone = await call(sb, "GET", `/Account?${whereQs([keyset])}&orderBy=modifiedAt&order=asc&maxSize=200&select=name`);
      const after = sorted.filter((x) => x.modifiedAt > t || (x.modifiedAt === t && x.id > cursor.id)).map((x) => x.id);
      expect(alone.json.list.map((x: { id: string }) => x.id)).toEqual(after);
      const aloneDesc = await call(sb, "GET", `/Account?${whereQs([keyset])}&orderBy=modifiedAt&order=desc&maxSize=200&select=name`);
      expect(aloneDesc.json.list.map((x: { id: string }) => x.id)).toEqual([...after].reverse());
    }
  });

  it("list rows follow every change: own update, a renamed parent (accountName), a relink by merge", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "Parent A" } });
    const b = await call(sb, "POST", "/Account", { body: { name: "Parent B" } });
    const c = await call(sb, "POST", "/Contact", { body: { lastName: "Kid", accountId: a.json.id } });
    const row = async () => {
      const plain = (await call(sb, "GET", "/Contact")).json.list[0];
      const selected = (await call(sb, "GET", "/Contact?select=lastName,accountId,accountName")).json.list[0];
      expect(selected).toEqual({
        id: plain.id,
        lastName: plain.lastName,
        accountId: plain.accountId,
        accountName: plain.accountName,
        assignedUserId: plain.assignedUserId,
        createdById: plain.createdById,
        createdAt: plain.createdAt,
      });
      return plain;
    };
    expect((await row()).accountName).toBe("Parent A");
    await call(sb, "PUT", `/Contact/${c.json.id}`, { body: { lastName: "Kid2" } });
    expect((await row()).lastName).toBe("Kid2");
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { name: "Parent A2" } });
    expect((await row()).accountName).toBe("Parent A2");
    await call(sb, "POST", "/Account/action/merge", { body: { targetId: b.json.id, sourceIds: [a.json.id], attributes: {} } });
    expect(await row()).toMatchObject({ accountId: b.json.id, accountName: "Parent B" });
  });

  it("list rows omit emailAddressData and link-multiple attributes unless selected", async () => {
    await call(sb, "POST", "/Account", { body: { name: "E", emailAddress: "e@x.com" } });
    const r = await call(sb, "GET", "/Account");
    expect(r.json.list[0].emailAddress).toBe("e@x.com");
    expect(r.json.list[0]).not.toHaveProperty("emailAddressData");
    expect(r.json.list[0]).not.toHaveProperty("teamsIds");
    const s = await call(sb, "GET", "/Account?select=teamsIds");
    expect(s.json.list[0].teamsIds).toEqual([]);
  });
});

describe("where items (§2)", () => {
  let ids: Record<string, string>;
  beforeEach(async () => {
    const seeded = await control(sb, "POST", "/seed", {
      Account: [
        {
          id: "acc00000000000001",
          name: "Alpha Corp",
          type: "Customer",
          sicCode: "100",
          createdAt: "2024-01-01 10:00:00",
          modifiedAt: "2024-01-01 10:00:00",
        },
        {
          id: "acc00000000000002",
          name: "beta ltd",
          type: "Partner",
          sicCode: null,
          createdAt: "2024-01-02 10:00:00",
          modifiedAt: "2024-01-03 12:30:00",
        },
        {
          id: "acc00000000000003",
          name: "Gamma 50% off",
          type: "",
          sicCode: "300",
          createdAt: "2024-01-03 10:00:00",
          modifiedAt: "2024-01-03 12:30:00",
        },
      ],
      Contact: [
        { id: "con00000000000001", firstName: "Ann", lastName: "Lee", accountId: "acc00000000000001", doNotCall: true },
        { id: "con00000000000002", firstName: "Bob", lastName: "Ray", doNotCall: false },
      ],
      Opportunity: [
        { id: "opp00000000000001", name: "O1", amount: 100, closeDate: "2024-03-01", accountId: "acc00000000000001" },
        { id: "opp00000000000002", name: "O2", amount: 250.5, closeDate: "2024-04-15" },
        { id: "opp00000000000003", name: "O3", amount: 999, closeDate: "2024-05-30", stage: "Closed Won" },
      ],
    });
    ids = seeded.json.ids;
    expect(ids.Account).toHaveLength(3);
  });

  const names = async (entity: string, where: unknown[], extra = "") => {
    const r = await call(sb, "GET", `/${entity}?${whereQs(where)}&orderBy=name&order=asc${extra}`);
    if (r.status !== 200) return { status: r.status, reason: r.headers.get("x-status-reason") };
    return r.json.list.map((x: { name: string }) => x.name);
  };

  it.each([
    ["equals (case-insensitive)", [{ type: "equals", attribute: "name", value: "alpha corp" }], ["Alpha Corp"]],
    ["notEquals excludes NULL", [{ type: "notEquals", attribute: "sicCode", value: "100" }], ["Gamma 50% off"]],
    ["isNull", [{ type: "isNull", attribute: "sicCode" }], ["beta ltd"]],
    ["isNotNull", [{ type: "isNotNull", attribute: "sicCode" }], ["Alpha Corp", "Gamma 50% off"]],
    ["in", [{ type: "in", attribute: "type", value: ["Customer", "Partner"] }], ["Alpha Corp", "beta ltd"]],
    ["notIn", [{ type: "notIn", attribute: "type", value: ["Customer"] }], ["beta ltd", "Gamma 50% off"]],
    ["like (caller wildcards)", [{ type: "like", attribute: "name", value: "%a c%" }], ["Alpha Corp"]],
    ["like: % in value is a wildcard, not escaped", [{ type: "like", attribute: "name", value: "%50%" }], ["Gamma 50% off"]],
    ["notLike", [{ type: "notLike", attribute: "name", value: "%corp%" }], ["beta ltd", "Gamma 50% off"]],
    ["contains", [{ type: "contains", attribute: "name", value: "TA" }], ["beta ltd"]],
    ["notContains", [{ type: "notContains", attribute: "name", value: "a" }], []],
    ["startsWith", [{ type: "startsWith", attribute: "name", value: "gam" }], ["Gamma 50% off"]],
    ["endsWith", [{ type: "endsWith", attribute: "name", value: "LTD" }], ["beta ltd"]],
    ["greaterThan datetime", [{ type: "greaterThan", attribute: "createdAt", value: "2024-01-02 10:00:00" }], ["Gamma 50% off"]],
    ["after is strict", [{ type: "after", attribute: "modifiedAt", value: "2024-01-03 12:30:00" }], []],
    [
      "greaterThanOrEquals catches same second",
      [{ type: "greaterThanOrEquals", attribute: "modifiedAt", value: "2024-01-03 12:30:00" }],
      ["beta ltd", "Gamma 50% off"],
    ],
    ["lessThan", [{ type: "lessThan", attribute: "createdAt", value: "2024-01-02 10:00:00" }], ["Alpha Corp"]],
    ["before", [{ type: "before", attribute: "createdAt", value: "2024-01-02" }], ["Alpha Corp"]],
    ["lessThanOrEquals", [{ type: "lessThanOrEquals", attribute: "createdAt", value: "2024-01-02 10:00:00" }], ["Alpha Corp", "beta ltd"]],
    [
      "between is inclusive",
      [{ type: "between", attribute: "createdAt", value: ["2024-01-02 10:00:00", "2024-01-03 10:00:00"] }],
      ["beta ltd", "Gamma 50% off"],
    ],
    [
      "or group",
      [
        {
          type: "or",
          value: [
            { type: "equals", attribute: "name", value: "Alpha Corp" },
            { type: "isNull", attribute: "sicCode" },
          ],
        },
      ],
      ["Alpha Corp", "beta ltd"],
    ],
    [
      "and group",
      [
        {
          type: "and",
          value: [
            { type: "isNotNull", attribute: "sicCode" },
            { type: "startsWith", attribute: "name", value: "G" },
          ],
        },
      ],
      ["Gamma 50% off"],
    ],
    [
      "several items are ANDed",
      [
        { type: "isNotNull", attribute: "sicCode" },
        { type: "equals", attribute: "type", value: "Customer" },
      ],
      ["Alpha Corp"],
    ],
    ["field alias of attribute", [{ type: "equals", field: "type", value: "Partner" }], ["beta ltd"]],
  ])("Account %s", async (_label, where, expected) => {
    expect(await names("Account", where)).toEqual(expected);
  });

  it.each([
    ["isTrue", [{ type: "isTrue", attribute: "doNotCall" }], ["Ann Lee"]],
    ["isFalse", [{ type: "isFalse", attribute: "doNotCall" }], ["Bob Ray"]],
    ["linkedWith", [{ type: "linkedWith", attribute: "account", value: "acc00000000000001" }], ["Ann Lee"]],
    ["isNotLinked", [{ type: "isNotLinked", attribute: "account" }], ["Bob Ray"]],
    ["link.attribute path", [{ type: "equals", attribute: "account.type", value: "Customer" }], ["Ann Lee"]],
  ])("Contact %s", async (_label, where, expected) => {
    expect(await names("Contact", where)).toEqual(expected);
  });

  it.each([
    ["greaterThan number", [{ type: "greaterThan", attribute: "amount", value: 250.5 }], ["O3"]],
    ["greaterThanOrEquals number", [{ type: "greaterThanOrEquals", attribute: "amount", value: "250.5" }], ["O2", "O3"]],
    ["on (date)", [{ type: "on", attribute: "closeDate", value: "2024-04-15" }], ["O2"]],
    ["after (date)", [{ type: "after", attribute: "closeDate", value: "2024-04-15" }], ["O3"]],
    ["between (date)", [{ type: "between", attribute: "closeDate", value: ["2024-03-01", "2024-04-15"] }], ["O1", "O2"]],
    ["equals enum", [{ type: "equals", attribute: "stage", value: "Closed Won" }], ["O3"]],
    ["isLinked", [{ type: "isLinked", attribute: "account" }], ["O1"]],
  ])("Opportunity %s", async (_label, where, expected) => {
    expect(await names("Opportunity", where)).toEqual(expected);
  });

  it("relative date items follow the server clock (today, lastXDays, past, future)", async () => {
    const base = new Date("2024-04-15T12:00:00Z").getTime();
    sb.control.setClockOffset(base - Date.now());
    expect(await names("Opportunity", [{ type: "today", attribute: "closeDate" }])).toEqual(["O2"]);
    expect(await names("Opportunity", [{ type: "lastXDays", attribute: "closeDate", value: 50 }])).toEqual(["O1", "O2"]);
    expect(await names("Opportunity", [{ type: "past", attribute: "closeDate" }])).toEqual(["O1"]);
    expect(await names("Opportunity", [{ type: "future", attribute: "closeDate" }])).toEqual(["O3"]);
    expect(await names("Opportunity", [{ type: "currentMonth", attribute: "closeDate" }])).toEqual(["O2"]);
  });

  it.each([
    ["unknown type", [{ type: "fuzzy", attribute: "name", value: "x" }], "Unknown where item type 'fuzzy'."],
    ["unknown attribute", [{ type: "equals", attribute: "nope", value: "x" }], "Not existing attribute 'nope' in where."],
    ["unknown key", [{ type: "equals", attribute: "name", value: "x", foo: 1 }], "Unknown parameter 'foo'."],
    ["in needs an array", [{ type: "in", attribute: "name", value: "x" }], "Bad where item 'in'."],
    [
      "between needs two values",
      [{ type: "between", attribute: "createdAt", value: ["2024-01-01 00:00:00"] }],
      "Bad where item 'between'.",
    ],
    ["or needs a list", [{ type: "or", value: "x" }], "Bad 'value'."],
    ["sub-queries refused", [{ type: "subQueryIn", attribute: "id", value: [] }], "Sub-queries are forbidden in where."],
    ["expressions refused", [{ type: "expression", attribute: "id", value: "1" }], "Complex expressions are forbidden in where."],
  ])("400 on %s", async (_label, where, reason) => {
    expect(await names("Account", where)).toEqual({ status: 400, reason });
  });

  it("datetime where values must be 'Y-m-d H:i:s': ISO T/Z forms are refused with 400", async () => {
    const r = await names("Account", [{ type: "after", attribute: "modifiedAt", value: "2024-01-01T10:00:00Z" }]);
    expect(r).toMatchObject({ status: 400 });
    const ok = await names("Account", [{ type: "after", attribute: "modifiedAt", value: "2024-01-02 00:00" }]);
    expect(ok).toEqual(["beta ltd", "Gamma 50% off"]);
  });

  it("dateTime items with a timeZone compare whole local days", async () => {
    await control(sb, "POST", "/seed", { Account: [{ id: "tz000000000000001", name: "Late", createdAt: "2024-01-05 23:30:00" }] });
    const on = (tz?: string) => [
      { type: "on", attribute: "createdAt", value: "2024-01-06", dateTime: true, ...(tz ? { timeZone: tz } : {}) },
    ];
    expect(await names("Account", on("Europe/Berlin"))).toEqual(["Late"]);
    expect(await names("Account", on())).toEqual([]);
    const after = [{ type: "after", attribute: "createdAt", value: "2024-01-05", dateTime: true, timeZone: "Europe/Berlin" }];
    expect(await names("Account", after)).toEqual(["Late"]);
    const before = [{ type: "before", attribute: "createdAt", value: "2024-01-06", dateTime: true }];
    expect(await names("Account", before)).toContain("Late");
  });

  it("a non-array where in the query string is ignored", async () => {
    const r = await call(sb, "GET", "/Account?where=garbage");
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(3);
  });
});

describe("read / create / update / delete (§2, §3)", () => {
  it("create: 200, 17-hex id, system attributes maintained, input system attributes ignored", async () => {
    const r = await call(sb, "POST", "/Account", {
      body: { id: "mine", name: "New", createdAt: "2000-01-01 00:00:00", versionNumber: 9, accountName: "x", bogus: 1 },
    });
    expect(r.status).toBe(200);
    expect(r.json.id).toMatch(/^[0-9a-f]{17}$/);
    expect(r.json.createdAt).toMatch(DT);
    expect(r.json.createdAt).not.toBe("2000-01-01 00:00:00");
    expect(r.json.createdById).toBe(sb.apiUserId);
    expect(r.json.modifiedById).toBe(sb.apiUserId);
    expect(r.json.versionNumber).toBe(1);
    expect(r.json.deleted).toBe(false);
    expect(r.json).not.toHaveProperty("bogus");
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("cache-control")).toBe("no-store, no-cache, must-revalidate, post-check=0, pre-check=0");
    const read = await call(sb, "GET", `/Account/${r.json.id}`);
    expect(read.json.name).toBe("New");
  });

  it("responses are PHP json_encode: escaped slashes and \\uXXXX for non-ASCII", async () => {
    const r = await call(sb, "POST", "/Account", { body: { name: "Zürich AG", website: "https://x.com/a" } });
    expect(r.text).toContain('"name":"Z\\u00fcrich AG"');
    expect(r.text).toContain('"website":"https:\\/\\/x.com\\/a"');
    expect(r.json.name).toBe("Zürich AG");
  });

  it("read of a missing record: 404, empty body, reason 'Record {id} does not exist.'", async () => {
    const r = await call(sb, "GET", "/Account/nope");
    expect(r.status).toBe(404);
    expect(r.text).toBe("");
    expect(r.headers.get("x-status-reason")).toBe("Record nope does not exist.");
    const u = await call(sb, "PUT", "/Account/nope", { body: { name: "x" } });
    expect(u.status).toBe(404);
    expect(u.headers.get("x-status-reason")).toBe("Record nope not found.");
    const d = await call(sb, "DELETE", "/Account/nope");
    expect(d.headers.get("x-status-reason")).toBe("Record nope not found.");
    const c = await call(sb, "GET", "/Invoice");
    expect(c.status).toBe(404);
    expect(c.headers.get("x-status-reason")).toBe("Controller 'Invoice' does not exist.");
  });

  it("validation failure: 400, reason and body for required / maxLength / enum / int / date / email / phone / currency", async () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ["Account", {}, "name", "required"],
      ["Account", { name: "x".repeat(250) }, "name", "maxLength"],
      ["Account", { name: "ok", type: "Alien" }, "type", "valid"],
      ["Account", { name: "ok", emailAddress: "not-an-email" }, "emailAddress", "emailAddress"],
      ["Account", { name: "ok", phoneNumber: "415 555" }, "phoneNumber", "valid"],
      ["Opportunity", { name: "o", amount: 5, closeDate: "2024-13-01" }, "closeDate", "valid"],
      ["Opportunity", { name: "o", closeDate: "2024-01-01" }, "amount", "required"],
      ["Opportunity", { name: "o", amount: -1, closeDate: "2024-01-01" }, "amount", "min"],
      ["Opportunity", { name: "o", amount: 1, amountCurrency: "XXX", closeDate: "2024-01-01" }, "amount", "validCurrency"],
      ["Opportunity", { name: "o", amount: 1, closeDate: "2024-01-01", probability: 1.5 }, "probability", "valid"],
      ["Opportunity", { name: "o", amount: 1, closeDate: "2024-01-01", probability: 101 }, "probability", "max"],
    ];
    for (const [entity, body, field, type] of cases) {
      const r = await call(sb, "POST", `/${entity}`, { body });
      expect(r.status, `${entity} ${field} ${type}`).toBe(400);
      expect(r.headers.get("x-status-reason")).toBe(`Field validation failure; entityType: ${entity}, field: ${field}, type: ${type}.`);
      expect(r.json).toEqual({ messageTranslation: { label: "validationFailure", scope: null, data: { field, type } } });
    }
  });

  it("datetime input: 'Y-m-d H:i' is completed with :00; ISO 8601 with T/Z is 400 valid", async () => {
    await control(sb, "POST", "/fields", { entity: "Account", name: "cLastSeen", type: "datetime" });
    const ok = await call(sb, "POST", "/Account", { body: { name: "T", cLastSeen: "2024-05-01 13:45" } });
    expect(ok.json.cLastSeen).toBe("2024-05-01 13:45:00");
    const iso = await call(sb, "POST", "/Account", { body: { name: "T2", cLastSeen: "2024-05-01T13:45:00Z" } });
    expect(iso.status).toBe(400);
    expect(iso.headers.get("x-status-reason")).toBe("Field validation failure; entityType: Account, field: cLastSeen, type: valid.");
  });

  it("duplicate check: 409 'duplicate' with an array of existing records; skipped by X-Skip-Duplicate-Check", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "Dup Inc", emailAddress: "info@dup.com" } });
    const byName = await call(sb, "POST", "/Account", { body: { name: "DUP INC" } });
    expect(byName.status).toBe(409);
    expect(byName.headers.get("x-status-reason")).toBe("duplicate");
    expect(Array.isArray(byName.json)).toBe(true);
    expect(byName.json[0].id).toBe(a.json.id);
    const byEmail = await call(sb, "POST", "/Account", { body: { name: "Other", emailAddress: "INFO@dup.com" } });
    expect(byEmail.status).toBe(409);
    const skipped = await call(sb, "POST", "/Account", { body: { name: "Dup Inc" }, headers: { "X-Skip-Duplicate-Check": "TRUE" } });
    expect(skipped.status).toBe(200);
    const legacy = await call(sb, "POST", "/Account", { body: { name: "Dup Inc", _skipDuplicateCheck: true } });
    expect(legacy.status).toBe(200);
    // Contact: first AND last name.
    await call(sb, "POST", "/Contact", { body: { firstName: "Ann", lastName: "Lee" } });
    expect((await call(sb, "POST", "/Contact", { body: { firstName: "Bob", lastName: "Lee" } })).status).toBe(200);
    expect((await call(sb, "POST", "/Contact", { body: { firstName: "ann", lastName: "LEE" } })).status).toBe(409);
    // Opportunity: no duplicate check.
    const o = { name: "Same", amount: 1, closeDate: "2024-01-01" };
    await call(sb, "POST", "/Opportunity", { body: o });
    expect((await call(sb, "POST", "/Opportunity", { body: o })).status).toBe(200);
  });

  it("permission: 403 with 'No create access.' / 'No read access.' / 'No edit access.' / 'No delete access.'", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "P" } });
    await control(sb, "POST", "/acl", { entity: "Account", create: false, edit: false, delete: false });
    const c = await call(sb, "POST", "/Account", { body: { name: "Q" } });
    expect(c.status).toBe(403);
    expect(c.headers.get("x-status-reason")).toBe("No create access.");
    expect((await call(sb, "PUT", `/Account/${a.json.id}`, { body: { name: "R" } })).headers.get("x-status-reason")).toBe(
      "No edit access.",
    );
    expect((await call(sb, "DELETE", `/Account/${a.json.id}`)).headers.get("x-status-reason")).toBe("No delete access.");
    await control(sb, "POST", "/acl", { entity: "Account", read: false });
    const l = await call(sb, "GET", "/Account");
    expect(l.status).toBe(403);
    expect(l.headers.get("x-status-reason")).toBe("No read access.");
  });

  it("update: PUT and PATCH are partial; unchanged attributes stay; modifiedAt/versionNumber move", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "U", sicCode: "1", type: "Customer" } });
    const p = await call(sb, "PATCH", `/Account/${a.json.id}`, { body: { sicCode: "2" } });
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({ name: "U", sicCode: "2", type: "Customer", versionNumber: 2 });
    const q = await call(sb, "PUT", `/Account/${a.json.id}`, { body: { name: "U2" } });
    expect(q.json).toMatchObject({ name: "U2", sicCode: "2", versionNumber: 3 });
  });

  it("optimistic concurrency: stale X-Version-Number + a real change → 409 'modified' {values, versionNumber}", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "V", sicCode: "1" } });
    await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "2" } });
    const stale = await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "3" }, headers: { "X-Version-Number": "1" } });
    expect(stale.status).toBe(409);
    expect(stale.headers.get("x-status-reason")).toBe("modified");
    expect(stale.json).toEqual({ values: { sicCode: "2" }, versionNumber: 2 });
    const noop = await call(sb, "PUT", `/Account/${a.json.id}`, { body: { sicCode: "2" }, headers: { "X-Version-Number": "1" } });
    expect(noop.status).toBe(200);
    const fresh = await call(sb, "PUT", `/Account/${a.json.id}`, {
      body: { sicCode: "4" },
      headers: { "X-Version-Number": String(noop.json.versionNumber) },
    });
    expect(fresh.status).toBe(200);
    // Contact has no optimistic concurrency: the header is ignored.
    const c = await call(sb, "POST", "/Contact", { body: { lastName: "X" } });
    expect(c.json).not.toHaveProperty("versionNumber");
    expect(
      (await call(sb, "PUT", `/Contact/${c.json.id}`, { body: { lastName: "Y" }, headers: { "X-Version-Number": "99" } })).status,
    ).toBe(200);
  });

  it("Opportunity: stage defaults, probability reset from the stage map on update without probability", async () => {
    const o = await call(sb, "POST", "/Opportunity", { body: { name: "Deal", amount: 10, closeDate: "2024-01-01" } });
    expect(o.json).toMatchObject({ stage: "Prospecting", probability: 10, amountCurrency: "USD" });
    const u = await call(sb, "PUT", `/Opportunity/${o.json.id}`, { body: { stage: "Negotiation" } });
    expect(u.json.probability).toBe(80);
    const v = await call(sb, "PUT", `/Opportunity/${o.json.id}`, { body: { probability: 55 } });
    expect(v.json.probability).toBe(55);
    const w = await call(sb, "PUT", `/Opportunity/${o.json.id}`, { body: { description: "x" } });
    expect(w.json.probability).toBe(80);
  });

  it("Opportunity line items (itemList): ids assigned, amounts computed, amount = sum of items", async () => {
    const p = await call(sb, "POST", "/Product", { body: { name: "Widget", partNumber: "W-1", listPrice: 12 } });
    const o = await call(sb, "POST", "/Opportunity", {
      body: {
        name: "Items",
        amount: 0,
        closeDate: "2024-01-01",
        itemList: [
          { productId: p.json.id, quantity: 3, unitPrice: 10 },
          { name: "Svc", quantity: 1, unitPrice: 5.5 },
        ],
      },
    });
    expect(o.status).toBe(200);
    expect(o.json.amount).toBe(35.5);
    expect(o.json.itemList[0]).toMatchObject({
      productId: p.json.id,
      productName: "Widget",
      name: "Widget",
      quantity: 3,
      amount: 30,
      listPrice: 12,
    });
    expect(o.json.itemList[0].id).toMatch(/^[0-9a-f]{17}$/);
    const l = await call(sb, "GET", "/Opportunity");
    expect(l.json.list[0]).not.toHaveProperty("itemList");
  });

  it("Lead: nothing required, status defaults to New, duplicate check on email; Case numbers count up", async () => {
    const l = await call(sb, "POST", "/Lead", { body: { emailAddress: "lead@x.com", accountName: "Prospect Co" } });
    expect(l.status).toBe(200);
    expect(l.json).toMatchObject({ status: "New", accountName: "Prospect Co", name: null });
    expect((await call(sb, "POST", "/Lead", { body: { emailAddress: "LEAD@x.com" } })).status).toBe(409);
    const c1 = await call(sb, "POST", "/Case", { body: { name: "Broken" } });
    const c2 = await call(sb, "POST", "/Case", { body: { name: "Broken again" } });
    expect(c1.json).toMatchObject({ status: "New", priority: "Normal", number: 1 });
    expect(c2.json.number).toBe(2);
    expect((await call(sb, "GET", "/Case")).json.list.map((c: { number: number }) => c.number)).toEqual([2, 1]);
  });

  it("delete: 200 true; then read 404 and absent from lists", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "D" } });
    const d = await call(sb, "DELETE", `/Account/${a.json.id}`);
    expect(d.status).toBe(200);
    expect(d.text).toBe("true");
    expect((await call(sb, "GET", `/Account/${a.json.id}`)).status).toBe(404);
    expect((await call(sb, "GET", "/Account")).json.total).toBe(0);
  });

  it("body handling: non-JSON content type is an empty object; a JSON scalar is 400", async () => {
    const r = await call(sb, "POST", "/Account", { rawBody: JSON.stringify({ name: "x" }), headers: { "Content-Type": "text/plain" } });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-status-reason")).toBe("Field validation failure; entityType: Account, field: name, type: required.");
    const s = await call(sb, "POST", "/Account", { rawBody: "42", headers: { "Content-Type": "application/json" } });
    expect(s.status).toBe(400);
    expect(s.headers.get("x-status-reason")).toBe("Body is not a JSON object.");
  });

  it("link to a record: accountId writable, accountName computed; related list Account/{id}/contacts", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "Parent" } });
    const c = await call(sb, "POST", "/Contact", { body: { lastName: "Kid", accountId: a.json.id, accountName: "ignored" } });
    expect(c.json.accountName).toBe("Parent");
    expect(c.json.accountsIds).toEqual([a.json.id]);
    const rel = await call(sb, "GET", `/Account/${a.json.id}/contacts`);
    expect(rel.json.total).toBe(1);
    expect((await call(sb, "GET", `/Account/${a.json.id}/nope`)).headers.get("x-status-reason")).toBe("Link does not exist.");
  });

  it("metadata: entityDefs and scopes describe fields, types, required, options and custom fields", async () => {
    const f = await call(sb, "GET", "/Metadata?key=entityDefs.Account.fields");
    expect(f.json.name).toMatchObject({ type: "varchar", required: true, maxLength: 249 });
    expect(f.json.type.options).toContain("Customer");
    expect(f.json.cAccordId).toMatchObject({ type: "varchar", isCustom: true });
    const opp = await call(sb, "GET", "/Metadata?key=entityDefs.Opportunity");
    expect(opp.json.fields.itemList.type).toBe("jsonArray");
    expect(opp.json.optimisticConcurrencyControl).toBe(true);
    const s = await call(sb, "GET", "/Metadata?key=scopes.Product");
    expect(s.json.entity).toBe(true);
    const str = await call(sb, "GET", "/Metadata?key=entityDefs.Account.fields.name.type");
    expect(str.text).toBe("varchar");
    const missing = await call(sb, "GET", "/Metadata?key=scopes.Quote");
    expect(missing.status).toBe(200);
    expect(missing.text).toBe("");
  });
});

describe("mass action (§7)", () => {
  it("POST /MassAction update by ids and by where; delete; idle returns an id with a status", async () => {
    const a = await call(sb, "POST", "/Account", { body: { name: "M1" } });
    const b = await call(sb, "POST", "/Account", { body: { name: "M2" } });
    const u = await call(sb, "POST", "/MassAction", {
      body: { entityType: "Account", action: "update", params: { ids: [a.json.id, b.json.id] }, data: { sicCode: "9" }, idle: false },
    });
    expect(u.json).toEqual({ count: 2, ids: [a.json.id, b.json.id] });
    expect((await call(sb, "GET", `/Account/${b.json.id}`)).json.sicCode).toBe("9");
    const bad = await call(sb, "POST", "/MassAction", {
      body: { entityType: "Account", action: "update", params: { ids: [a.json.id] }, data: { type: "Alien" } },
    });
    expect(bad.json.count).toBe(0);
    const idle = await call(sb, "POST", "/MassAction", {
      body: {
        entityType: "Account",
        action: "delete",
        params: { where: [{ type: "equals", attribute: "name", value: "M1" }] },
        idle: true,
      },
    });
    expect(idle.json.id).toMatch(/^[0-9a-f]{17}$/);
    expect((await call(sb, "GET", `/MassAction/${idle.json.id}/status`)).json).toEqual({ status: "Success", processedCount: 1 });
    expect((await call(sb, "GET", "/Account")).json.total).toBe(1);
  });
});

describe("merge (POST /{Entity}/action/merge)", () => {
  it("relinks children of the sources to the target, merges emails, applies attributes, deletes sources", async () => {
    const t = await call(sb, "POST", "/Account", { body: { name: "Keep", emailAddress: "keep@x.com" } });
    const s = await call(sb, "POST", "/Account", { body: { name: "Drop", emailAddress: "drop@x.com" } });
    const c = await call(sb, "POST", "/Contact", { body: { lastName: "Child", accountId: s.json.id } });
    const o = await call(sb, "POST", "/Opportunity", { body: { name: "Opp", amount: 1, closeDate: "2024-01-01", accountId: s.json.id } });
    const m = await call(sb, "POST", "/Account/action/merge", {
      body: { targetId: t.json.id, sourceIds: [s.json.id], attributes: { sicCode: "77" } },
    });
    expect(m.status).toBe(200);
    expect(m.text).toBe("true");
    expect((await call(sb, "GET", `/Account/${s.json.id}`)).status).toBe(404);
    expect((await call(sb, "GET", `/Contact/${c.json.id}`)).json.accountId).toBe(t.json.id);
    expect((await call(sb, "GET", `/Opportunity/${o.json.id}`)).json.accountId).toBe(t.json.id);
    const tt = await call(sb, "GET", `/Account/${t.json.id}`);
    expect(tt.json.sicCode).toBe("77");
    expect(tt.json.emailAddress).toBe("keep@x.com");
    expect(tt.json.emailAddressData.map((e: { emailAddress: string }) => e.emailAddress)).toEqual(["keep@x.com", "drop@x.com"]);
    const bad = await call(sb, "POST", "/Account/action/merge", { body: { targetId: t.json.id } });
    expect(bad.status).toBe(400);
  });
});
