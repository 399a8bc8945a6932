#!/usr/bin/env bash
# Query throughput of one, two and three `capreg serve` replicas behind haproxy, on one PostgreSQL (issue 16),
# side by side in one run, and what a replica's SIGKILL costs a writer.
#   1. a throwaway PostgreSQL (as deploy/replicas-test.sh makes it) and a `capreg synth --hosts HOSTS --days 1
#      --ingest` fleet written straight into it;
#   2. three replicas (release build, auth off on loopback as bench/api, --stale-after 36500d) on free ports;
#   3. wrk (2 threads, CONNS connections, keep-alive, --latency; 2 s warm-up, then SECONDS) on the placement
#      query: straight to one replica, then through haproxy (deploy/haproxy/haproxy.cfg's capreg part as
#      shipped, addresses rewritten) with 1, 2 and 3 replicas behind it. Each row also gives the CPU the
#      replicas, PostgreSQL, haproxy and wrk used per second of the row (from /proc: utime + stime), which
#      shows where the machine's cores went;
#   4. (KILL=1, default) deploy/replicas-test.sh with the same binary: a replica SIGKILLed under a writer;
#      its figures (failed attempts, longest gap without an acknowledgement, lost reports).
# Usage: bench/replicas/run.sh [HOSTS] [SECONDS] [CONNS]    defaults: 10000 hosts, 10 s per row, 64 connections
# Env: BUILD=0 skips the release build (scratch .build-release, or SCRATCH); CAPREG (a binary instead);
#      FLEET_DIR (where the PostgreSQL cluster with the fleet is kept between runs, default
#      /var/tmp/capreg-bench-replicas-HOSTSh; removed and made again when its ingest did not finish);
#      WHERE (the query, default pasid_bits>=20), LIMIT (100), KILL=0 skips step 4.
# Needs wrk (apt-get install -y wrk), haproxy, PostgreSQL 15, python3, curl. Runs as root (initdb as postgres).
# Output: the table on stdout and in bench/replicas/work/figures.txt (git-ignored, with the logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-10000} secs=${2:-10} conns=${3:-64}
where=${WHERE:-pasid_bits>=20} limit=${LIMIT:-100}
scratch=${SCRATCH:-.build-release}
work=bench/replicas/work
for t in wrk haproxy python3 curl; do command -v $t >/dev/null || { echo "bench/replicas: needs $t" >&2; exit 69; }; done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$pgbin" && -x "$pgbin/initdb" ]] || { echo "bench/replicas: needs PostgreSQL (postgresql-15)" >&2; exit 69; }
if [[ "${BUILD:-1}" != 0 && -z "${CAPREG:-}" ]]; then
    swift build -c release --product capreg --scratch-path "$scratch" >&2
fi
capreg=$(realpath "${CAPREG:-$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg}")
[[ -x "$capreg" ]] || { echo "bench/replicas: no binary at $capreg" >&2; exit 66; }
as_pg=()
[[ $(id -u) == 0 ]] && as_pg=(/usr/sbin/runuser -u postgres --)

mkdir -p "$work"
tmp="$(mktemp -d /tmp/capreg-replicas-bench.XXXXXX)"
chmod 755 "$tmp"
serve_pids=() haproxy_pid="" pg_started=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    exec 2>/dev/null   # no "Killed" notices for the processes stopped below
    for pid in $haproxy_pid "${serve_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    ((pg_started)) && "${as_pg[@]}" "$pgbin/pg_ctl" stop -m fast -D "$fleet/data" >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    cp "$tmp"/*.log "$work/" 2>/dev/null || true
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 124' INT TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- PostgreSQL and the fleet: made once per fleet size in FLEET_DIR (ingesting into PostgreSQL takes minutes),
# started again by later runs.
fleet=${FLEET_DIR:-/var/tmp/capreg-bench-replicas-${hosts}h}
[[ -f "$fleet/ingested" ]] || rm -rf "$fleet"
mkdir -p "$fleet"
[[ ${#as_pg[@]} == 0 ]] || chown postgres "$fleet"
ln -s "$fleet" "$tmp/pg"
pgport=$(free_port)
fresh=0
if [[ ! -d "$fleet/data" ]]; then
    "${as_pg[@]}" "$pgbin/initdb" -D "$fleet/data" --locale=C -E UTF8 --auth=trust -U postgres --no-sync > "$tmp/initdb.log" 2>&1
    fresh=1
fi
"${as_pg[@]}" "$pgbin/pg_ctl" start -w -t 60 -D "$fleet/data" -l "$fleet/postgres.log" \
    -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$fleet -c max_connections=200 -c shared_buffers=256MB" > /dev/null
pg_started=1
db="postgres://postgres@127.0.0.1:$pgport/capreg"
if ((fresh)); then
    "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -c "CREATE DATABASE capreg"
    t0=$SECONDS
    "$capreg" synth --hosts "$hosts" --days 1 --ingest --db "$db" > /dev/null 2> "$tmp/synth.log"
    echo "bench/replicas: $hosts hosts ingested into PostgreSQL in $((SECONDS - t0)) s (kept in $fleet)" >&2
    "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d capreg -c "VACUUM ANALYZE" > /dev/null
    touch "$fleet/ingested"
fi

# --- Three replicas.
ports=()
for i in 0 1 2; do
    ports+=("$(free_port)")
    # Without tokens every client is its address, and behind haproxy every client is haproxy's address: the
    # per-identity share (a quarter of --max-connections by default, 64) is raised above wrk's connections.
    "$capreg" serve --db "$db" --listen "127.0.0.1:${ports[$i]}" --stale-after 36500d --max-connections-per-identity 200 \
        > "$tmp/serve-r$((i + 1)).log" 2>&1 &
    serve_pids+=($!)
done
for i in 0 1 2; do
    for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done
query="/v1/hosts?where=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$where")&limit=$limit"
matched=$(curl -fsS "http://127.0.0.1:${ports[0]}$query" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hosts"]))')
page_bytes=$(curl -fsS "http://127.0.0.1:${ports[0]}$query" | wc -c)

# --- haproxy with the first N replicas (the shipped configuration's capreg part).
hport=$(free_port)
start_haproxy() {  # start_haproxy N
    local n=$1
    [[ -z "$haproxy_pid" ]] || { kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; }
    awk '/^listen postgres_primary/ { exit } { print }' deploy/haproxy/haproxy.cfg |
        sed -e "s#bind 127.0.0.1:8080#bind 127.0.0.1:$hport#" -e "s#log /dev/log local0 info#log stderr format short local0 notice#" \
            -e "s#server r1 127.0.0.1:8081#server r1 127.0.0.1:${ports[0]}#" -e "s#server r2 127.0.0.1:8082#server r2 127.0.0.1:${ports[1]}#" \
            -e "s#server r3 127.0.0.1:8083#server r3 127.0.0.1:${ports[2]}#" |
        awk -v n="$n" '/^    server r[0-9] / { if (substr($2, 2) + 0 > n) next } { print }' > "$tmp/haproxy-$n.cfg"
    haproxy -db -f "$tmp/haproxy-$n.cfg" >> "$tmp/haproxy.log" 2>&1 &
    haproxy_pid=$!
    for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    sleep 2.5   # every server through its first checks (rise 2)
}
# CPU ticks (utime + stime) of some processes: the replicas, PostgreSQL's (every postgres process), haproxy.
ticks() {
    local pids=("$@") sum=0 p
    for p in "${pids[@]}"; do
        [[ -r /proc/$p/stat ]] || continue
        sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo $sum
}
pg_pids() {  # this cluster's postmaster and its children (backends, writer, checkpointer, …)
    local pm
    pm=$(head -1 "$fleet/data/postmaster.pid")
    echo "$pm" $(grep -l "^PPid:[[:space:]]*$pm$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3)
}
hz=$(getconf CLK_TCK)
: > "$tmp/rows.txt"
row() {  # row LABEL URL
    local label=$1 u=$2 r0 p0 h0 r1 p1 h1 out
    timeout 60 wrk -t2 -c"$conns" -d2s "$u$query" > /dev/null 2>&1 || true
    r0=$(ticks "${serve_pids[@]}"); p0=$(ticks $(pg_pids)); h0=$(ticks $haproxy_pid)
    out=$(timeout $((secs + 60)) wrk -t2 -c"$conns" -d"${secs}s" --latency "$u$query" 2>&1) || true
    r1=$(ticks "${serve_pids[@]}"); p1=$(ticks $(pg_pids)); h1=$(ticks $haproxy_pid)
    echo "$out" > "$tmp/wrk-$(echo "$label" | tr -c 'a-z0-9\n' '-').log"
    python3 - "$label" "$out" "$(( r1 - r0 ))" "$(( p1 - p0 ))" "$(( h1 - h0 ))" "$hz" "$secs" >> "$tmp/rows.txt" <<'EOF'
import re, sys
label, out, rt, pt, ht, hz, secs = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
p50 = re.search(r"\s50%\s+(\S+)", out); p99 = re.search(r"\s99%\s+(\S+)", out)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out); sock = re.search(r"Socket errors: (.*)", out)
print(f"{label}\t{float(rate.group(1)) if rate else 0:.0f}\t{ms(p50.group(1)) if p50 else float('nan'):.2f}\t"
      f"{ms(p99.group(1)) if p99 else float('nan'):.2f}\t{rt / hz / secs:.2f}\t{pt / hz / secs:.2f}\t{ht / hz / secs:.2f}\t"
      f"{(errs.group(1) if errs else '0')}{(' ' + sock.group(1)) if sock else ''}")
EOF
    echo "$label done" >&2
}
row "one replica, straight (no haproxy)" "http://127.0.0.1:${ports[0]}"
for n in 1 2 3; do
    start_haproxy "$n"
    row "haproxy, $n replica$([ "$n" = 1 ] || echo s)" "http://127.0.0.1:$hport"
done
kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; haproxy_pid=""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

kill_line="(KILL=0: not run)"
if [[ "${KILL:-1}" != 0 ]]; then
    for pid in "${serve_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${serve_pids[@]}" 2>/dev/null || true
    serve_pids=()
    CAPREG="$capreg" FIGURES="$tmp/kill.json" deploy/replicas-test.sh > "$tmp/replicas-test.log" 2>&1 || true
    kill_line=$(python3 - "$tmp/kill.json" <<'EOF'
import json, sys
try:
    f = json.loads(open(sys.argv[1]).read().splitlines()[-1])
except Exception:
    print("replicas-test.sh failed: see bench/replicas/work/replicas-test.log"); sys.exit()
print(f"{f['acknowledged']} reports acknowledged ({f['acknowledged_before_kill']} before the kill), {f['lost']} lost, "
      f"{f['failed_attempts']} failed attempts seen by the writer, longest gap without an acknowledgement after the kill "
      f"{f['longest_gap_after_kill_s']} s, read-your-writes on another replica {f['ryw']['ok']} ok / {f['ryw']['bad']} bad")
EOF
)
fi

{
    echo "bench/replicas/run.sh $hosts $secs $conns: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $load_before before, $load_after after (1/5/15 min)"
    echo "GET $query ($matched hosts, $page_bytes bytes); wrk -t2 -c$conns, ${secs} s after a 2 s warm-up; one PostgreSQL 15 on the same machine."
    echo "CPU columns: cores used (CPU seconds per second) by the capreg replicas, PostgreSQL and haproxy during the row."
    echo
    printf '%-38s %9s %9s %9s %10s %9s %9s %s\n' "" "per s" "p50 ms" "p99 ms" "capreg" "postgres" "haproxy" "non-2xx/errors"
    while IFS=$'\t' read -r label rate p50 p99 rc pc hc errs; do
        printf '%-38s %9s %9s %9s %10s %9s %9s %s\n' "$label" "$rate" "$p50" "$p99" "$rc" "$pc" "$hc" "$errs"
    done < "$tmp/rows.txt"
    echo
    echo "replica SIGKILLed under a writer (deploy/replicas-test.sh, 4 writer threads through haproxy): $kill_line"
} | tee "$work/figures.txt"
cp "$tmp/replicas-test.log" "$work/" 2>/dev/null || true
