#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the tests, on a free loopback port.
#
#   scripts/pg-test-server.sh run -- COMMAND [ARGS...]
#
# creates a fresh data folder (mode 0700, owned by the server's user) under
# ${TMPDIR:-/tmp}, starts the server listening on 127.0.0.1 only with its
# Unix socket inside that folder, runs COMMAND with SENED_TEST_PG_URL set to
# the server's address, then stops the server and removes the folder, also
# when COMMAND fails or the script is interrupted. Exits with COMMAND's
# status.
#
# initdb refuses to run as root, so as root (CI) the server runs as the
# `postgres` user through runuser; otherwise as the calling user.
# Authentication is `trust`: the server is reachable from this machine only
# and holds nothing but test data.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

usage() {
  echo "usage: $0 run -- COMMAND [ARGS...]" >&2
  exit 2
}

[ $# -ge 2 ] && [ "$1" = run ] && [ "$2" = -- ] || usage
shift 2
[ $# -ge 1 ] || usage

if [ ! -x "$PG_BIN/initdb" ]; then
  echo "pg-test-server: $PG_BIN/initdb not found (run scripts/install-deps.sh)" >&2
  exit 1
fi

as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
  as_server_user=(runuser -u postgres --)
fi

folder=$(mktemp -d "${TMPDIR:-/tmp}/sened-pg.XXXXXX")
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$folder"
fi
chmod 0700 "$folder"
started=0

cleanup() {
  if [ "$started" -eq 1 ]; then
    # immediate: the data is thrown away, no need for a clean checkpoint.
    "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$folder/data" -m immediate -w stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$folder"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_server_user[@]}" "$PG_BIN/initdb" -D "$folder/data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 || {
  cat "$folder/initdb.log" >&2
  exit 1
}

# No port can be asked of the kernel here: try random high ports until the
# server binds one that nobody else holds.
port=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 40000))
  if "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$candidate -c unix_socket_directories=$folder \
        -c max_connections=300 -c shared_buffers=32MB" start >/dev/null 2>&1; then
    port=$candidate
    started=1
    break
  fi
done
if [ -z "$port" ]; then
  echo "pg-test-server: the server did not start; its log:" >&2
  cat "$folder/server.log" >&2 || true
  exit 1
fi

export SENED_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "pg-test-server: PostgreSQL on 127.0.0.1:$port (SENED_TEST_PG_URL)" >&2
status=0
"$@" || status=$?
exit "$status"
