#!/usr/bin/env bash
# A local Tryton peer for Accord's tests and demos: a real ERP (Tryton 6.0 LTS from
# Debian's packages) on 127.0.0.1 with a SQLite database in .accord/peers/tryton/
# (git-ignored). See /work/shared/reference/tryton.md for the observed behaviour.
#
#   bash scripts/peers/tryton.sh start    install if missing, initialise the db if missing, start, wait
#   bash scripts/peers/tryton.sh stop     stop ONLY the server this script started (pid file)
#   bash scripts/peers/tryton.sh status   running or not, and where
#   bash scripts/peers/tryton.sh env      print the exports (source <(bash scripts/peers/tryton.sh env))
#   bash scripts/peers/tryton.sh reset    stop, delete the database (tests only add records), start afresh
#
# Environment: TRYTON_PORT (default 8000), TRYTON_DB (default accord), TRYTON_PEER_DIR
# (default <repo>/.accord/peers/tryton). The admin password is generated once and kept in
# $TRYTON_PEER_DIR/admin.pass (mode 600); `env` prints it for tests, start/status never do.
#
# Idempotent: already running ≈1 s; packages and db present ≈4 s; fresh ≈45 s (apt ≈23 s,
# trytond-admin ≈16 s, master data ≈5 s). No system service is started: apt runs with a
# policy-rc.d that refuses service starts. Debian's system python3 (/usr/bin/python3) runs
# trytond and proteus — the libraries are only in its dist-packages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${TRYTON_PEER_DIR:-$ROOT/.accord/peers/tryton}"
PORT="${TRYTON_PORT:-8000}"
DB="${TRYTON_DB:-accord}"
USER_LOGIN="admin"
PY=/usr/bin/python3
CONF="$DIR/trytond.conf"
PIDFILE="$DIR/trytond.pid"
LOG="$DIR/trytond.log"
PASSFILE="$DIR/admin.pass"
DBFILE="$DIR/db/$DB.sqlite"
READY="$DIR/db/$DB.ready"
URL="http://127.0.0.1:$PORT"
PACKAGES=(tryton-server tryton-modules-party tryton-modules-company tryton-modules-currency
  tryton-modules-country tryton-modules-product tryton-modules-stock tryton-modules-account
  tryton-modules-account-invoice tryton-modules-account-product tryton-modules-sale
  tryton-modules-sale-opportunity tryton-proteus)
MODULES="party company currency country product stock account account_invoice account_product sale sale_opportunity"

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "tryton-peer: $*"; }
die() { echo "tryton-peer: ERROR: $*" >&2; exit 1; }

answers() {
  curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"id":1,"method":"common.server.version","params":[]}' "$URL/" 2>/dev/null | grep -q '^200$'
}

# The pid in the pid file, if that process is alive and is a trytond we started.
our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "trytond.*-c $CONF" || return 1
  echo "$pid"
}

port_in_use() {
  if command -v ss >/dev/null; then
    ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
  fi
}

print_where() {
  say "url      $URL   (TRYTON_URL)"
  say "database $DB   (TRYTON_DB)"
  say "user     $USER_LOGIN   (TRYTON_USER); password in $PASSFILE (TRYTON_PASSWORD)"
  say "env      source <(bash scripts/peers/tryton.sh env)"
  say "log      $LOG"
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && [ -x /usr/bin/trytond ] && return 0
  [ "$(id -u)" = 0 ] || die "Tryton is not installed and installing needs root: apt-get install ${missing[*]}"
  local t; t=$(date +%s.%N)
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >"$DIR/apt.log" 2>&1 || rc=$?
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { tail -n 20 "$DIR/apt.log" >&2; die "apt-get failed (rc $rc); full log: $DIR/apt.log"; }
  say "packages installed in $(elapsed "$t")s ($(dpkg-query -W -f='${Version}' tryton-server) tryton-server)"
}

write_conf() {
  mkdir -p "$DIR/db"
  cat >"$CONF" <<CONF
# Written by scripts/peers/tryton.sh on every start; edit the script, not this file.
[web]
listen = 127.0.0.1:$PORT
root = $DIR/www
[database]
uri = sqlite://
path = $DIR/db
language = en
list = True
[session]
timeout = 3600
CONF
  if [ ! -s "$PASSFILE" ]; then
    # 20 distinct letters/digits: Tryton refuses passwords that repeat characters (entropy check).
    (umask 077; "$PY" -c 'import secrets, string; print("".join(secrets.SystemRandom().sample(string.ascii_letters + string.digits, 20)))' >"$PASSFILE")
  fi
  chmod 600 "$PASSFILE"
}

init_db() {
  [ -f "$READY" ] && [ -f "$DBFILE" ] && return 0
  local t; t=$(date +%s.%N)
  say "initialising database $DB (modules: $MODULES)"
  rm -f "$DBFILE" "$READY"
  : >"$DBFILE"
  # shellcheck disable=SC2086
  TRYTONPASSFILE="$PASSFILE" "$PY" /usr/bin/trytond-admin -c "$CONF" -d "$DB" --email admin@example.invalid \
    -u $MODULES --activate-dependencies >"$DIR/init.log" 2>&1 ||
    { tail -n 20 "$DIR/init.log" >&2; die "trytond-admin failed; log: $DIR/init.log"; }
  say "modules activated in $(elapsed "$t")s"
  t=$(date +%s.%N)
  "$PY" "$ROOT/scripts/peers/tryton_master_data.py" "$CONF" "$DB" "$PASSFILE" >>"$DIR/init.log" 2>&1 ||
    { tail -n 20 "$DIR/init.log" >&2; die "master data failed; log: $DIR/init.log"; }
  date -u +%FT%TZ >"$READY"
  say "master data loaded in $(elapsed "$t")s"
}

start() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another start holds $DIR/.lock"
  local pid
  if pid="$(our_pid)"; then
    if answers; then
      say "already running (pid $pid)"
      print_where
      say "ready in $(elapsed "$T0")s"
      return 0
    fi
    say "pid $pid does not answer on $URL; restarting it"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDFILE"
  if port_in_use; then
    die "port $PORT on 127.0.0.1 is taken by another process; set TRYTON_PORT to a free port"
  fi
  install_packages
  write_conf
  init_db
  local t; t=$(date +%s.%N)
  # setsid: the server outlives this shell and its process group, and gets its own.
  setsid "$PY" /usr/bin/trytond -c "$CONF" -d "$DB" >>"$LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 300); do
    answers && break
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -n 20 "$LOG" >&2; die "trytond exited; log: $LOG"; }
    sleep 0.1
  done
  answers || { tail -n 20 "$LOG" >&2; die "trytond did not answer on $URL within 30 s; log: $LOG"; }
  say "server answers after $(elapsed "$t")s (pid $(cat "$PIDFILE"))"
  print_where
  say "ready in $(elapsed "$T0")s"
}

stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    say "not running (no live server of ours in $PIDFILE)"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$PIDFILE"
  say "stopped pid $pid in $(elapsed "$T0")s"
}

status() {
  local pid
  if pid="$(our_pid)" && answers; then
    say "running (pid $pid)"
    print_where
  elif pid="$(our_pid)"; then
    say "pid $pid alive but not answering on $URL"
    exit 1
  else
    say "not running"
    exit 3
  fi
}

env_exports() {
  [ -s "$PASSFILE" ] || die "no password yet: run 'bash scripts/peers/tryton.sh start' first"
  echo "export TRYTON_URL=$URL"
  echo "export TRYTON_DB=$DB"
  echo "export TRYTON_USER=$USER_LOGIN"
  echo "export TRYTON_PASSWORD=$(cat "$PASSFILE")"
}

reset() {
  stop
  rm -f "$DBFILE" "$READY"
  say "database $DB removed"
  start
}

case "${1:-}" in
  start) start ;;
  reset) reset ;;
  stop) stop ;;
  status) status ;;
  env) env_exports ;;
  *) echo "usage: $0 {start|stop|status|env|reset}" >&2; exit 2 ;;
esac
