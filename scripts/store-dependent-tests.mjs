// Prints the test files whose outcome depends on ACCORD_TEST_STORE: those that import
// test/support/store.ts, directly or through other test modules (helpers, suites).
// Arguments: vitest's positional filters (substrings of paths); files must match one, if any.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = process.cwd();
const files = readdirSync("test", { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => resolve("test", f));
const target = resolve("test/support/store.ts");
const imports = new Map(
  files.map((f) => {
    const text = readFileSync(f, "utf8");
    const specs = [...text.matchAll(/(?:from|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => resolve(dirname(f), m[1]));
    return [f, specs];
  }),
);
const dependent = new Set([target]);
for (let grew = true; grew; ) {
  grew = false;
  for (const [f, specs] of imports)
    if (!dependent.has(f) && specs.some((s) => dependent.has(s))) {
      dependent.add(f);
      grew = true;
    }
}
const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const out = [...dependent]
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => relative(root, f))
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)))
  .sort();
console.log(out.join("\n"));
