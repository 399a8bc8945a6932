#!/usr/bin/env bash
# Schedulers' figures (issue 17), in one run, against a real OpenStack Placement (PyPI openstack-placement on
# SQLite, deploy/placement/throwaway-placement.py) and a release `capreg serve` on the HOSTS-host fleet
# bench/api keeps (copied):
#   1. `capreg sync placement` from scratch for PROVIDERS hosts that have a provider (made through Placement's
#      API, one at a time: its SQLite refuses concurrent writers): time and requests sent, then again with
#      nothing to change;
#   2. `capreg sync placement --follow --server` running: CHANGES times a host gains or loses nesting by a
#      POST /v1/reports; the time until Placement shows it (bench/schedulers/latency.py).
# Usage: bench/schedulers/run.sh [HOSTS] [PROVIDERS] [CHANGES]     defaults: 100000 hosts, 2000 providers, 10 changes
# Env: BUILD=0 skips the release build (scratch .build-release, or SCRATCH); CAPREG_PLACEMENT_PYTHON (default the
#      venv .ci/run makes under the user cache folder); BENCH_DIR (bench/api's fleet folder).
# Output: bench/schedulers/work/figures.txt (git-ignored) and stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-100000} providers=${2:-2000} changes=${3:-10}
scratch=${SCRATCH:-.build-release}
work=bench/schedulers/work
python=${CAPREG_PLACEMENT_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/capreg/placement-venv/bin/python}
[[ -x "$python" ]] || { echo "bench/schedulers: needs openstack-placement in a venv at $python (see .ci/run)" >&2; exit 69; }
mkdir -p "$work"
if [[ "${BUILD:-1}" != 0 ]]; then swift build -c release --product capreg --scratch-path "$scratch" >&2; fi
capreg=$(realpath "$scratch/release/capreg")
fleet=${BENCH_DIR:-bench/api/work}/fleet-${hosts}h-1d.sqlite
[[ -f "$fleet" ]] || { echo "bench/schedulers: no fleet at $fleet (bench/api/run.sh $hosts makes it)" >&2; exit 66; }
db="$work/schedulers-${hosts}h.sqlite"
rm -rf "$db" "$db-wal" "$db-shm" "$work/placement"
cp --reflink=auto "$fleet" "$db"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$python" deploy/placement/throwaway-placement.py "$work/placement" > "$work/placement.out" &
pids+=($!)
"$capreg" serve --db "$db" --listen 127.0.0.1:0 --stale-after 36500d 2> "$work/serve.log" &
pids+=($!)
for _ in $(seq 1 300); do
    grep -q 'listening on' "$work/placement.out" 2>/dev/null && grep -q 'listening on' "$work/serve.log" 2>/dev/null && break
    sleep 0.1
done
placement="http://$(grep -o '127.0.0.1:[0-9]*' "$work/placement.out" | head -1)"
port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)

# The fleet is dated 2025: --stale-after 36500d keeps every host fresh for the sync as for the registry.
echo "== $providers providers" >&2
python3 -c 'import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT hostname FROM hosts ORDER BY hostname LIMIT ?", (int(sys.argv[2]),))]' \
    "$db" "$providers" | python3 bench/schedulers/providers.py "$placement" 1 > "$work/providers.json"
echo "== sync from scratch" >&2
sync() { "$capreg" sync placement --url "$placement" --placement-token admin --server "http://127.0.0.1:$port" --stale-after 36500d 2>&1 >/dev/null; }
first=$(sync) || { echo "$first" >&2; exit 1; }
again=$(sync) || { echo "$again" >&2; exit 1; }

# A host with nesting and one without, among those with a provider, and their reports (same seed, day 0).
with=$("$capreg" query nesting --db "$db" --fresh-within off --limit 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["hostname"])')
without=$("$capreg" query 'not nesting' --db "$db" --fresh-within off --limit 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["hostname"])')
target=$("$capreg" query --db "$db" --fresh-within off --limit 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["hostname"])')
count=$(python3 -c "print(max(int('$with'.split('-')[-1]), int('$without'.split('-')[-1])) + 1)")
"$capreg" synth --hosts "$count" --days 1 --start 2025-01-01 --out - | grep -E "\"hostname\":\"($with|$without)\"" > "$work/reports.jsonl"
"$capreg" sync placement --url "$placement" --placement-token admin --server "http://127.0.0.1:$port" --stale-after 36500d --follow \
    2> "$work/follow.log" &
pids+=($!)
# (latency.py waits for the follower's first pass too, up to an hour: at 100,000 providers it takes minutes.)
for _ in $(seq 1 600); do grep -q 'providers:' "$work/follow.log" && break; sleep 0.5; done
echo "== $changes changes of $target through the change stream" >&2
latency=$(python3 bench/schedulers/latency.py "$port" "$placement" "$target" "$work/reports.jsonl" "$with" "$without" "$changes")
{
    echo "capreg and OpenStack Placement (openstack-placement 16.0.0 on SQLite, wsgiref): $hosts hosts in the registry, $(nproc) cores, $(date -u +%FT%TZ)"
    echo "providers made through Placement's API: $(cat "$work/providers.json")"
    echo "sync from scratch: ${first#capreg sync placement: }"
    echo "sync again:        ${again#capreg sync placement: }"
    echo "change -> visible in Placement (--follow): $latency"
} | tee "$work/figures.txt"
