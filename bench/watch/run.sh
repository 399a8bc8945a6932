#!/usr/bin/env bash
# The change stream's figures (issue 17), side by side in one run: on a HOSTS-host registry (the fleet
# bench/api makes and keeps, copied so that this run's writes stay here), a release `capreg serve` and, for
# each count of watchers in WATCHERS, bench/watch/watchers.py holding that many server-sent-event streams
# while CHANGES reports each change one host (a new kernel release each time). Per row: the server's RSS and threads
# with the watchers held (and before), and the time from a change's POST to each watcher hearing it (p50,
# p99, max over every watcher and change), the POST's own answer time, and a long poll's.
# Usage: bench/watch/run.sh [HOSTS] [CHANGES]        defaults: 100000 hosts, 10 changes per row
# Env: WATCHERS (default "1 1000 10000"), BUILD=0 skips the release build (scratch .build-release, or SCRATCH),
#      BENCH_DIR (where bench/api keeps its fleet, default bench/api/work).
# Output: the table on stdout and in bench/watch/work/figures.txt (git-ignored, with the server's log).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/serve.sh
hosts=${1:-100000} changes=${2:-10}
watchers=${WATCHERS:-1 1000 10000}
scratch=${SCRATCH:-.build-release}
work=bench/watch/work
mkdir -p "$work"
if [[ "${BUILD:-1}" != 0 ]]; then swift build -c release --product capreg --scratch-path "$scratch" >&2; fi
capreg=$(realpath "$scratch/release/capreg")
fleet=${BENCH_DIR:-bench/api/work}/fleet-${hosts}h-1d.sqlite
if [[ ! -f "$fleet" ]]; then
    echo "== synth: $hosts hosts into $fleet (once; bench/api reuses it)" >&2
    mkdir -p "$(dirname "$fleet")"
    "$capreg" synth --hosts "$hosts" --days 1 --start 2025-01-01 --ingest --db "$fleet.partial" >&2
    mv "$fleet.partial" "$fleet"
fi
db="$work/watch-${hosts}h.sqlite"
rm -f "$db" "$db-wal" "$db-shm"
cp --reflink=auto "$fleet" "$db"
# The host the changes are made to: synthetic host 1, as the fleet has it (same seed and day).
"$capreg" synth --hosts 2 --days 1 --start 2025-01-01 --out - | sed -n 2p > "$work/report.json"
ulimit -n "$(ulimit -Hn)"  # each watcher is a descriptor on both sides
pid=""
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT
# The fleet is dated 2025: a wide --stale-after keeps its hosts fresh (no stale events).
"$capreg" serve --db "$db" --listen 127.0.0.1:0 --stale-after 36500d --max-watchers 20000 --max-watchers-per-identity 20000 \
    --max-connections 256 2> "$work/serve.log" &
pid=$!
port=$(serve_port "$work/serve.log")
rows=()
for w in $watchers; do
    echo "== $w watchers, $changes changes" >&2
    rows+=("$(python3 bench/watch/watchers.py "$port" "$pid" "$w" "$changes" "$work/report.json")")
    echo "${rows[-1]}" >> "$work/rows.jsonl"  # with each change's own p50 and max
done
{
    echo "capreg change stream: $hosts hosts ($(nproc) cores, $(date -u +%FT%TZ)), $changes changes per row, one host's kernel changing"
    printf '%-9s %-14s %-13s %-9s %-22s %-12s %-14s\n' watchers "RSS held MiB" "(before)" threads "change->watcher ms" "POST ack ms" "long poll ms"
    printf '%-9s %-14s %-13s %-9s %-22s %-12s %-14s\n' "" "" "" "" "p50 / p99 / max" p50 "p50 / max"
    for row in "${rows[@]}"; do
        python3 -c '
import json, sys
r = json.loads(sys.argv[1])
mib = lambda b: "%.1f" % (b / 1048576)
print("%-9d %-14s %-13s %-9d %-22s %-12s %-14s" % (r["watchers"], mib(r["rss_held"]), "(" + mib(r["rss_before"]) + ")", r["threads_held"],
      "%.1f / %.1f / %.1f" % (r["p50_ms"], r["p99_ms"], r["max_ms"]), "%.1f" % r["ack_p50_ms"], "%.1f / %.1f" % (r["poll_p50_ms"], r["poll_max_ms"])))
' "$row"
    done
} | tee "$work/figures.txt"
