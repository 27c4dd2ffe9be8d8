#!/usr/bin/env bash
# The test command (README): bootstraps Node 24 and dependencies, type-checks,
# lints, then runs the whole Vitest suite (unit, contract, end-to-end; the store
# suite on SQLite and on the PostgreSQL at $ACCORD_TEST_PG_URL or 127.0.0.1:5432).
set -euo pipefail
ACCORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ACCORD_ROOT
cd "$ACCORD_ROOT"
source scripts/bootstrap.sh
echo "== node $(node --version), $(npm --version | sed 's/^/npm /')"
echo "== typecheck"
npx tsc --noEmit
echo "== lint"
npx biome lint src test bench
echo "== tests"
mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
if [ -f test-results/vitest.json ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  '
fi
exit $status
