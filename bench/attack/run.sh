#!/usr/bin/env bash
# The attack suite (issue 14's figures), one run: `capreg serve` with tokens on a `capreg synth` fleet,
# then bench/attack/attack.py: for each attack, good clients' p50/p99 and errors beside a quiet run,
# the worst /healthz and the server's peak RSS, with the aims PASS or MISS.
#
# Usage: bench/attack/run.sh [HOSTS] [SECONDS]     (defaults 100000 and 10; loopback only)
# Environment: BENCH_DIR (work dir, default bench/attack/work, git-ignored), DAYS (synth days, default 3),
#   PHASES (comma list, default all: quiet,slots,bodies,costly,lists,token-flood,disconnect,poison),
#   SCRATCH (package scratch path, default .build-attackbench), BUILD=0 (skip the release build),
#   SERVE_ARGS (more `capreg serve` options).
# Needs: python3 (standard library only), curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

hosts="${1:-100000}"
seconds="${2:-10}"
days="${DAYS:-3}"
scratch="${SCRATCH:-.build-attackbench}"
work="${BENCH_DIR:-$root/bench/attack/work}"
mkdir -p "$work"
db="$work/fleet-${hosts}h-${days}d.sqlite"

command -v python3 >/dev/null || { echo "bench/attack: python3 is missing" >&2; exit 69; }
command -v curl >/dev/null || { echo "bench/attack: curl is missing" >&2; exit 69; }

if [[ "${BUILD:-1}" != 0 ]]; then
    echo "== building capreg (release, scratch $scratch)" >&2
    swift build -c release --scratch-path "$scratch" --product capreg >&2
fi
capreg="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg"

# The fleet, made once and reused; synth ends at now, so its last day is fresh when the run follows.
if [[ ! -s "$db" ]]; then
    echo "== synth: $hosts hosts x $days day(s) into $db (once; reused by later runs)" >&2
    rm -f "$db.partial" "$db.partial-wal" "$db.partial-shm"
    "$capreg" synth --hosts "$hosts" --days "$days" --ingest --db "$db.partial" >&2
    mv "$db.partial" "$db"
    rm -f "$db.partial-wal" "$db.partial-shm"
fi

# Three identities: the good reader, an attacking reader, and a collector. Fresh random tokens each run.
token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
reader="$(token)"; attacker="$(token)"; collector="$(token)"
tokens="$work/tokens"
umask 077
printf 'reader %s\nreader %s\ncollector %s\n' "$reader" "$attacker" "$collector" > "$tokens"

pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A freshness bound of the synth span keeps every host in the answers however long the run takes.
# shellcheck disable=SC2086
"$capreg" serve --db "$db" --listen 127.0.0.1:0 --tokens "$tokens" --stale-after "$((days + 1))d" ${SERVE_ARGS:-} 2> "$work/serve.log" &
pid=$!
port=""
for _ in $(seq 1 600); do
    port="$(grep -so 'listening on 127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 | sed 's/.*://' || true)"
    [[ -n "$port" ]] && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    port=""
    sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/serve.log" >&2; echo "bench/attack: the server did not start" >&2; exit 1; }

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); capreg serve pid $pid on :$port, $hosts hosts; ${seconds}s per phase" >&2
python3 bench/attack/attack.py --port "$port" --pid "$pid" --reader "$reader" --attacker "$attacker" \
    --collector "$collector" --seconds "$seconds" --json "$work/results.json" \
    ${PHASES:+--phases "$PHASES"}
echo "== server log: $work/serve.log (its last lines:)" >&2
tail -5 "$work/serve.log" >&2
