/** `monitor:` in the integration file: optional, normalised (durations → ms), mistakes at their line and column, in the JSON Schema; the monitor reads it (sidecar only as a fallback). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SpecError, type SpecIssue } from "../../src/errors.ts";
import { DEFAULT_SETTINGS, loadMonitorSettings, objectSettings } from "../../src/monitor/settings.ts";
import { integrationJsonSchema } from "../../src/spec/json-schema.ts";
import { loadSpec, loadSpecFile } from "../../src/spec/load.ts";

const HEAD = `version: 1
name: mon
systems:
  crm: { type: espocrm, url: "\${ESPOCRM_URL}", credentials: { apiKey: "\${ESPOCRM_API_KEY}" } }
  erp:
    type: erpnext
    url: http://erp.local:8000
    credentials: { apiKey: "\${ERPNEXT_API_KEY}", apiSecret: "\${ERPNEXT_API_SECRET}" }
owner: { name: Petra, email: petra@acme.example }
objects:
  product:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Item, identity: item_code }
    create: link-only
    fields:
      - { crm: name, erp: item_name, direction: erp->crm }
  stock:
    crm: { entity: Product, identity: cErpItemCode }
    erp: { entity: Bin, identity: item_code, aggregate: { groupBy: item_code, sum: [actual_qty] } }
    schedule: realtime
    create: link-only
    fields:
      - { crm: cStockQty, erp: actual_qty, direction: erp->crm }
`;

const MONITOR = `monitor:
  drift: alert-only
  errorRate: 0.02
  escalateAfter: 5m
  smtp: { host: 127.0.0.1, from: accord@acme.example }
  objects:
    stock:
      drift: pause
      freshness: 10m
      countDivergence: 0.1
      keyFields:
        - { field: actual_qty, window: 2h, minReads: 5 }
        - { field: cStockQty }
`;

function issues(text: string): SpecIssue[] {
  try {
    loadSpec(text, "m.yaml");
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  return [];
}

describe("monitor: section", () => {
  it("is optional; given, it is normalised and becomes the monitor's settings with defaults for the rest", () => {
    expect(loadSpec(HEAD, "m.yaml").monitor).toBeUndefined();
    const spec = loadSpec(HEAD + MONITOR, "m.yaml");
    expect(spec.monitor).toEqual({
      drift: "alert-only",
      errorRate: 0.02,
      escalateAfterMs: 300_000,
      smtp: { host: "127.0.0.1", port: 25, from: "accord@acme.example" },
      objects: {
        stock: {
          drift: "pause",
          freshnessMs: 600_000,
          countDivergence: 0.1,
          keyFields: [
            { field: "actual_qty", windowMs: 7_200_000, minReads: 5 },
            { field: "cStockQty", windowMs: 86_400_000, minReads: 50 },
          ],
        },
      },
    });
    const dir = mkdtempSync(join(tmpdir(), "accord-mon-"));
    const file = join(dir, "m.yaml");
    writeFileSync(file, HEAD + MONITOR);
    const s = loadMonitorSettings(file);
    expect(s).toMatchObject({
      drift: "alert-only",
      errorRate: 0.02,
      escalateAfterMs: 300_000,
      countDivergence: 0.05,
      file: `${file}#monitor`,
    });
    const product = spec.objects.find((o) => o.name === "product");
    const stock = spec.objects.find((o) => o.name === "stock");
    if (!product || !stock) throw new Error("objects missing");
    expect(objectSettings(s, stock)).toMatchObject({ drift: "pause", freshnessMs: 600_000, countDivergence: 0.1, errorRate: 0.02 });
    expect(objectSettings(s, product)).toMatchObject({ drift: "alert-only", freshnessMs: 2 * 3_600_000, keyFields: [] });
  });

  it("the sidecar FILE.monitor.yaml is the fallback when the file has no section; both at once are refused; --monitor wins", () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-mon-"));
    const file = join(dir, "acme.yaml");
    writeFileSync(file, HEAD);
    expect(loadMonitorSettings(file)).toEqual({ ...DEFAULT_SETTINGS, objects: {} });
    writeFileSync(join(dir, "acme.monitor.yaml"), "errorRate: 0.03\n");
    expect(loadMonitorSettings(file)).toMatchObject({ errorRate: 0.03, file: join(dir, "acme.monitor.yaml") });
    writeFileSync(file, HEAD + MONITOR);
    expect(() => loadMonitorSettings(file)).toThrow(/move the sidecar's settings into the section/);
    const explicit = join(dir, "other.yaml");
    writeFileSync(explicit, "drift: ignore-additions\n");
    expect(loadMonitorSettings(file, explicit).drift).toBe("ignore-additions");
  });

  it("mistakes are reported at their line and column with what would be right", () => {
    const lines = (HEAD + MONITOR).split("\n");
    const lineOf = (s: string) => lines.findIndex((l) => l.includes(s)) + 1;
    const bad = (HEAD + MONITOR)
      .replace("drift: alert-only", "drift: sometimes")
      .replace("escalateAfter: 5m", "escalateAfter: soon")
      .replace("errorRate: 0.02", "errorRate: 2")
      .replace("    stock:\n      drift: pause", "    stok:\n      drift: pause")
      .concat("  objeccts: {}\n");
    const got = issues(bad);
    const at = (path: string) => got.find((i) => i.path === path);
    expect(at("monitor.drift")).toMatchObject({ line: lineOf("drift: alert-only"), column: 10 });
    expect(at("monitor.drift")?.expected).toMatch(/ignore-additions/);
    expect(at("monitor.escalateAfter")).toMatchObject({ line: lineOf("escalateAfter: 5m"), column: 18 });
    expect(at("monitor.errorRate")?.line).toBe(lineOf("errorRate: 0.02"));
    expect(at("monitor.objects.stok")).toMatchObject({ line: lineOf("    stock:"), column: 5 });
    expect(at("monitor.objects.stok")?.expected).toMatch(/did you mean `stock`/);
    expect(at("monitor.objeccts")?.expected).toMatch(/did you mean `objects`/);

    const badField = issues((HEAD + MONITOR).replace("{ field: actual_qty,", "{ field: actual_quantity,"));
    expect(badField).toHaveLength(1);
    expect(badField[0]).toMatchObject({ path: "monitor.objects.stock.keyFields[0].field", line: lineOf("field: actual_qty,"), column: 20 });
    expect(badField[0].message).toMatch(/not a field of object `stock`'s maps/);
    expect(badField[0].expected).toMatch(/did you mean `actual_qty`/);
  });

  it("is in the JSON Schema, and the example's commented section validates once uncommented", async () => {
    const js = integrationJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(js.properties.monitor.properties ?? {})).toEqual(
      expect.arrayContaining(["drift", "errorRate", "countDivergence", "escalateAfter", "objects", "smtp"]),
    );
    const { readFileSync } = await import("node:fs");
    const example = readFileSync(join(import.meta.dirname, "../../examples/espocrm-erpnext.yaml"), "utf8");
    const at = example.indexOf("# monitor:");
    expect(at).toBeGreaterThan(0);
    const section = example
      .slice(at)
      .split("\n")
      .map((l) => l.replace(/^# ?/, ""))
      .join("\n");
    const dir = mkdtempSync(join(tmpdir(), "accord-mon-"));
    writeFileSync(join(dir, "acme.yaml"), `${example.slice(0, at)}\n${section}`);
    const spec = await loadSpecFile(join(dir, "acme.yaml"));
    expect(spec.monitor?.objects.stock.keyFields).toEqual([{ field: "actual_qty", windowMs: 86_400_000, minReads: 50 }]);
  });
});
