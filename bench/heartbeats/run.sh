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
source bench/lib/pg.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    swift build -c "$config" --scratch-path "$scratch" --product capreg-heartbeat-bench >&2
fi
bench="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/capreg-heartbeat-bench"

work="$(mktemp -d)"
chmod 755 "$work"   # the cluster below it runs as postgres
cleanup() { pg_stop; rm -rf "$work"; }
trap cleanup EXIT
pg_start "$work/pg"
for db in beats rows; do pg_psql postgres -c "CREATE DATABASE $db"; done
mkdir -p "$work/sqlite"

"$bench" --hosts "$hosts" --rounds "$rounds" --sqlite-dir "$work/sqlite" \
    --postgres "postgres://postgres@127.0.0.1:$PG_PORT/beats" --postgres "postgres://postgres@127.0.0.1:$PG_PORT/rows" \
    --vacuum "for d in beats rows; do $PG_BIN/psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d \$d -c VACUUM 2>/dev/null; done"
