#!/usr/bin/env bash
# A private PostgreSQL for tests, benchmarks and `make cluster`: its own data folder and
# port, never the machine's shared server. Prints `ready postgres://linli@127.0.0.1:PORT`
# once it accepts connections (the `linli` role may create databases), then stays in
# the foreground until it is sent SIGTERM or SIGINT, or until the process OWNER_PID ends
# (a test binary that cannot clean up after itself); it then stops PostgreSQL and, with
# --temporary, removes DIR.
#
#   scripts/private-postgres.sh [--temporary] DIR PORT OWNER_PID [-c setting=value ...]
#
# PostgreSQL refuses to run as root: run as root, it runs as the `postgres` user that
# Debian's package creates (scripts/setup-tools.sh installs the package when missing).
set -euo pipefail

temporary=false
if [ "${1:-}" = --temporary ]; then temporary=true; shift; fi
dir="$1" port="$2" owner="$3"
shift 3

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$bindir" ] || bindir="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
if [ ! -x "$bindir/initdb" ]; then
  echo "private-postgres: PostgreSQL's programs (initdb, postgres) are not installed; run scripts/setup-tools.sh test" >&2
  exit 1
fi

# setpriv changes user in place (no process in between), so that signals reach postgres.
as_owner=()
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$dir"
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

if [ ! -f "$dir/data/PG_VERSION" ]; then
  "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U linli --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
fi

"${as_owner[@]}" "$bindir/postgres" -D "$dir/data" -p "$port" -k "$dir" \
  -c listen_addresses=127.0.0.1 -c max_connections=200 "$@" >"$dir/postgres.log" 2>&1 &
server=$!

stop() {
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if $temporary; then rm -rf "$dir"; fi
  exit 0
}
trap stop TERM INT

for _ in $(seq 1 300); do
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U linli; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "private-postgres: PostgreSQL did not start:" >&2
    cat "$dir/postgres.log" >&2
    exit 1
  fi
  sleep 0.1
done
"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U linli \
  || { echo "private-postgres: PostgreSQL did not accept connections in 30 s" >&2; cat "$dir/postgres.log" >&2; stop; }
echo "ready postgres://linli@127.0.0.1:$port"

while kill -0 "$owner" 2>/dev/null && kill -0 "$server" 2>/dev/null; do
  sleep 0.5 &
  wait $! || true
done
stop
