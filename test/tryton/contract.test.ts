/**
 * The generic connector contract suite (test/connectors/contract-suite.ts) against the REAL
 * Tryton started by `bash scripts/peers/tryton.sh start`, through a counting, fault-injecting
 * proxy (the sandbox's FaultInjector) so "exactly one call" and "faults on 10% of requests"
 * are measured on the real server. Entity: party.party, text field `name`.
 *
 * Tryton has no outgoing webhooks, so the connector has no parseWebhook (an optional member of
 * the interface). The suite returns early for it; it is also marked skipped here, by name, so
 * the report shows "skipped" rather than a vacuous pass.
 */
import { beforeAll, describe } from "vitest";
import { TrytonConnector } from "../../src/connectors/tryton/index.ts";
import type { Connector } from "../../src/connectors/types.ts";
import { type CapturedLog, type ContractHarness, connectorContractSuite } from "../connectors/contract-suite.ts";
import { FaultProxy, probePeer, RawTryton } from "./support.ts";

const peer = await probePeer();
const FAST = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 20_000 };

async function harness(): Promise<ContractHarness> {
  const env = peer!;
  const proxy = await new FaultProxy(env.url).start();
  const clerk = await new RawTryton(env).open();
  const company = clerk.context.company;
  const make = (o: { options?: Record<string, unknown>; badCredentials?: boolean; logger?: CapturedLog } = {}): Connector =>
    new TrytonConnector({
      url: proxy.url,
      // A throwaway login for wrong credentials: 5 failures lock a login out for everyone.
      credentials: o.badCredentials
        ? { user: `accord-bad-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, password: "wrong-password-0000" }
        : { user: env.user, password: env.password },
      options: { database: env.db, company, ...FAST, ...o.options, ...(o.logger ? { logger: o.logger } : {}) },
    });
  const connector = make();
  return {
    connector,
    makeConnector: make,
    secrets: [env.password],
    entity: "party.party",
    textField: "name",
    idAttribute: "id",
    newValues: (label) => ({ name: label }),
    async seed(n, prefix, opts) {
      const rows = Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}` }));
      // One create = one transaction = one shared timestamp; otherwise chunks of 10.
      const chunk = opts?.sameTimestamp ? n : 10;
      const ids: string[] = [];
      for (let i = 0; i < rows.length; i += chunk) {
        const got = (await clerk.call("model.party.party.create", [rows.slice(i, i + chunk)])) as number[];
        ids.push(...got.map(String));
      }
      return ids;
    },
    async touch(id) {
      await clerk.call("model.party.party.write", [[Number(id)], { active: true }]);
    },
    async faults(cfg) {
      proxy.faults(cfg ? { ...cfg, kinds: [...cfg.kinds] } : null);
    },
    async requestCount() {
      return proxy.requests;
    },
    signWebhook() {
      throw new Error("Tryton has no webhooks");
    },
    webhookBody() {
      throw new Error("Tryton has no webhooks");
    },
    hasVersion: true,
    async close() {
      await connector.close();
      await proxy.close();
    },
  };
}

if (peer) {
  describe("tryton", () => {
    // biome-ignore lint/correctness/noEmptyPattern: vitest wants a destructuring first argument; the suite is the second
    beforeAll(({}, suite) => {
      // parseWebhook is optional in the Connector interface and Tryton has none.
      const walk = (tasks: { name: string; mode: string; tasks?: unknown[] }[]): void => {
        for (const t of tasks) {
          if (t.name.startsWith("parseWebhook")) t.mode = "skip";
          if (t.tasks) walk(t.tasks as { name: string; mode: string; tasks?: unknown[] }[]);
        }
      };
      walk(suite.tasks as unknown as { name: string; mode: string; tasks?: unknown[] }[]);
    });
    connectorContractSuite("tryton", harness);
  });
} else {
  describe.skip("connector contract: tryton (start it: bash scripts/peers/tryton.sh start)", () => {});
}
