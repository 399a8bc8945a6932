#!/usr/bin/env bash
# Database growth per unchanged report on SQLite and PostgreSQL, heartbeats against reports rows, in one
# run (bench/heartbeats/main.swift says what is measured). PostgreSQL is a throwaway cluster of Debian's
# postgresql-15 (initdb as user postgres, a free port), stopped at the end; VACUUM runs before each size
# is read, as autovacuum would, so dead row versions of updated rows do not count as growth.
# Usage: bench/heartbeats/run.sh [HOSTS] [ROUNDS]     (defaults 1000 x 100 = 100,000 unchanged reports)
# Environment: SCRATCH (build scratch path, default .build-release), CONFIG (release), BUILD=0 (skip the build),
#   ROWS=0 (heartbeats only, not the reports-rows baseline).
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts="${1:-1000}"
rounds="${2:-100}"
scratch="${SCRATCH:-.build-release}"
config="${CONFIG:-release}"   # CONFIG=debug: the sizes are the same, the speeds not
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "bench/heartbeats: PostgreSQL 15 is missing (apt-get install -y postgresql-15)" >&2; exit 69; }

if [[ "${BUILD:-1}" != 0 ]]; then
    swift build -c "$config" --scratch-path "$scratch" --product capreg-heartbeat-bench >&2
fi
bench="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/capreg-heartbeat-bench"

work="$(mktemp -d)"
chown postgres "$work" 2>/dev/null || true
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sh -c "$*"; fi; }
cleanup() { as_postgres "$pgbin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
as_postgres "$pgbin/initdb -D $work/data --locale=C -E UTF8 --auth=trust -U postgres" >/dev/null
as_postgres "$pgbin/pg_ctl -D $work/data -l $work/pg.log -w -o '-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work' start" >/dev/null
for db in beats rows; do as_postgres "$pgbin/psql -h $work -p $port -U postgres -qc 'CREATE DATABASE $db'"; done
mkdir -p "$work/sqlite"

"$bench" --hosts "$hosts" --rounds "$rounds" --sqlite-dir "$work/sqlite" \
    --postgres "postgres://postgres@127.0.0.1:$port/beats" --postgres "postgres://postgres@127.0.0.1:$port/rows" \
    --vacuum "for d in beats rows; do $pgbin/psql -h $work -p $port -U postgres -d \$d -qc 'VACUUM' 2>/dev/null; done"
