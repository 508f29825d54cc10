#!/usr/bin/env bash
# `make cluster`: Linli as a district would run it, on one machine: a private
# PostgreSQL, two `linli serve` on it and nginx in front as the load balancer (Server-
# Sent Events passed through unbuffered), with the demo and its sensor simulator.
# Prints the URL; Ctrl-C stops everything (the database goes with it).
#
#   LINLI_CLUSTER_PORT=8080 scripts/cluster.sh   # nginx's port; the servers take the next two
#
# Needs `make app` and the release binary (the Makefile target builds both) and nginx
# (Debian's package, installed here when missing).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
port="${LINLI_CLUSTER_PORT:-8080}"
linli="$here/target/release/linli"
dir="$(mktemp -d /tmp/linli-cluster-XXXXXX)"
chmod 0755 "$dir" # PostgreSQL runs as its own user and keeps its data in here
pids=()

say() { printf '\033[1mcluster:\033[0m %s\n' "$*"; }
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap stop INT TERM EXIT

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  say "installing nginx (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nginx >/dev/null \
    || { $SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nginx >/dev/null; }
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

# --- PostgreSQL ------------------------------------------------------------------------
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$here/scripts/private-postgres.sh" --temporary "$dir/postgres" "$pg_port" $$ >"$dir/postgres.out" &
pids+=($!)
for _ in $(seq 1 300); do grep -q '^ready ' "$dir/postgres.out" 2>/dev/null && break; sleep 0.1; done
server="$(sed -n 's/^ready //p' "$dir/postgres.out")"
[ -n "$server" ] || { say "PostgreSQL did not start"; exit 1; }
psql "$server/postgres" -q -c "CREATE DATABASE linli"
database="$server/linli"
say "PostgreSQL: $database"

# --- two Linli servers -------------------------------------------------------------------
# Each is started again a second after it ends, as systemd's Restart=always would: kill
# one (`pkill -9 -f 'serve --addr 127.0.0.1:8081'`) to watch the other take over.
start_linli() { # NAME PORT FLAGS...
  local name="$1" at="$2"; shift 2
  (
    child=""
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 0' TERM INT
    while true; do
      "$linli" serve --addr "127.0.0.1:$at" --database-url "$database" --static-dir "$here/dist" \
        --trusted-proxy 127.0.0.1 --public-url "http://127.0.0.1:$port" "$@" >>"$dir/$name.log" 2>&1 &
      child=$!
      wait "$child" || true
      echo "cluster: $name ended; starting it again" >>"$dir/$name.log"
      sleep 1
    done
  ) &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q 'listening on' "$dir/$name.log" 2>/dev/null && return; sleep 0.1; done
  say "$name did not start:"; cat "$dir/$name.log"; exit 1
}
# The first loads the demo and runs its sensor simulator (whose readings go to the
# leader, whichever that is); the second starts once the demo is there.
start_linli linli-a $((port + 1)) --demo --simulate
start_linli linli-b $((port + 2))
for at in $((port + 1)) $((port + 2)); do
  say "http://127.0.0.1:$at/readyz: $(curl -s "http://127.0.0.1:$at/readyz")"
done

# --- nginx -------------------------------------------------------------------------------
mkdir -p "$dir/nginx/logs" "$dir/nginx/temp"
chmod -R 0777 "$dir/nginx/temp"
cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/temp/body;
    proxy_temp_path $dir/nginx/temp/proxy;
    fastcgi_temp_path $dir/nginx/temp/fastcgi;
    uwsgi_temp_path $dir/nginx/temp/uwsgi;
    scgi_temp_path $dir/nginx/temp/scgi;
    client_max_body_size 16m;
    upstream linli {
        server 127.0.0.1:$((port + 1)) max_fails=1 fail_timeout=2s;
        server 127.0.0.1:$((port + 2)) max_fails=1 fail_timeout=2s;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://linli;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            # Live streams: through as they come, kept open.
            proxy_buffering off;
            proxy_read_timeout 1h;
            # A server gone mid-request: the other one answers.
            proxy_next_upstream error timeout;
        }
    }
}
EOF
"$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' &
nginx=$!
pids+=("$nginx")
sleep 0.5
say "Linli on http://127.0.0.1:$port (nginx over two servers on PostgreSQL); sign in as demo-commander / demo"
say "logs in $dir; Ctrl-C stops everything"
wait "$nginx" || true
say "nginx ended"
