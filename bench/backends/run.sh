#!/usr/bin/env bash
# SQLite and PostgreSQL side by side in one run (issue 16, "Figures"): the same `capreg synth` fleet in each backend,
#   1. ingest: `capreg synth --hosts HOSTS --days DAYS --start 2025-01-01 --ingest --db TARGET`, reports per second
#      (the count and seconds from its summary line);
#   2. size: bytes per host (SQLite: the file after a TRUNCATE checkpoint; PostgreSQL: pg_database_size after VACUUM);
#   3. `capreg serve --stale-after 36500d` (auth off on loopback, as bench/api) under wrk at 1 and 64 connections on
#      the placement query, p50, p99, requests per second;
#   4. mixed: wrk at 16 connections on the same query while deploy/report-writer.py (WRITERS threads) POSTs changed
#      reports, one after another per thread: reads and writes per second.
# Usage: bench/backends/run.sh [HOSTS] [SECONDS]    defaults: 100000 hosts, 10 s per wrk row
# Env: DAYS (1); BUILD=0 skips the release build (scratch .build-release, or SCRATCH); CAPREG (a binary instead);
#      PG_INGEST_HOSTS: ingesting into PostgreSQL runs at about 50 reports/s on the loaded 2-core machine (half an hour
#      for 100,000 hosts), so when set below HOSTS the PostgreSQL ingest rate is measured on a fleet of that many hosts
#      (a database of its own) and the HOSTS fleet is copied from the SQLite file with `capreg copy-store` (timed too);
#      WRITERS (2); WHERE (default pasid_bind and pasid_bits >= 20); LIMIT (100); WORK (bench/backends/work);
#      BACKENDS ("sqlite postgres"; "sqlite" alone when PostgreSQL's copy of the fleet would not fit on the disk,
#      "postgres" alone when SQLite's would not: with PG_FLEET_PORT, or an ingest of the whole fleet);
#      FLEET: an SQLite fleet made earlier by the same synth command (`capreg synth --hosts HOSTS --days DAYS
#      --start 2025-01-01 --ingest --db FLEET 2> FLEET.log`), used in place of step 1's ingest: its figures are
#      read from FLEET.log, and the mixed load adds its reports to it (a million hosts take an hour to ingest);
#      PG_FLEET_PORT: the same for PostgreSQL, a cluster already running on 127.0.0.1 that port (user postgres, trust)
#      whose database `fleet` holds the fleet (e.g. /work/pg1m/run.sh), with PG_FLEET_LOG its synth log; it is
#      used in place of PostgreSQL's ingest or copy, left running, and the mixed load adds its reports to it.
# Needs wrk (apt-get install -y wrk), PostgreSQL 15, python3, curl. Runs as root (initdb as postgres).
# Output: one markdown table on stdout and in WORK/figures.md (git-ignored, with logs and wrk outputs).
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-100000} secs=${2:-10}
days=${DAYS:-1} writers=${WRITERS:-2} limit=${LIMIT:-100}
where=${WHERE:-pasid_bind and pasid_bits >= 20}
pg_ingest_hosts=${PG_INGEST_HOSTS:-$hosts}
backends=${BACKENDS:-sqlite postgres}
fleet=${FLEET:-}
scratch=${SCRATCH:-.build-release}
work=${WORK:-bench/backends/work}
for t in wrk python3 curl; do command -v $t >/dev/null || { echo "bench/backends: needs $t" >&2; exit 69; }; done
source bench/lib/pg.sh
if [[ "${BUILD:-1}" != 0 && -z "${CAPREG:-}" ]]; then
    swift build -c release --product capreg --scratch-path "$scratch" >&2
fi
capreg=$(realpath "${CAPREG:-$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg}")
[[ -x "$capreg" ]] || { echo "bench/backends: no binary at $capreg" >&2; exit 66; }

mkdir -p "$work"
work=$(realpath "$work")
tmp=$(mktemp -d /tmp/capreg-backends-bench.XXXXXX)
chmod 755 "$tmp"
serve_pid="" writer_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in $writer_pid $serve_pid; do kill -KILL "$pid" 2>/dev/null || true; done
    pg_stop
    wait 2>/dev/null || true
    cp "$tmp"/*.log "$PG_DIR/postgres.log" "$work/" 2>/dev/null || true
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 124' INT TERM
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $(date -u +%H:%M:%SZ) $(nproc) cores, load $load_before; $hosts hosts x $days day(s)" >&2
rows=$tmp/rows.tsv   # backend key value
: > "$rows"
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$rows"; }

# ingest NAME DB HOSTS: synth --ingest, timed; puts NAME's reports, seconds (from the summary line) and wall seconds.
ingest() {
    local name=$1 db=$2 n=$3 t0 line
    t0=$(date +%s.%N)
    "$capreg" synth --hosts "$n" --days "$days" --start 2025-01-01 --ingest --db "$db" > /dev/null 2> "$tmp/synth-$name.log"
    ingested "$name" "$tmp/synth-$name.log" "$n"
    put "$name" ingest_wall "$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")"
}
# ingested NAME LOG HOSTS: puts the reports and seconds of synth's summary line in LOG.
ingested() {
    local name=$1 n=$3 line
    line=$(grep -o 'ingested [0-9]* reports.* in [0-9.]* s' "$2" | tail -1)
    [[ -n "$line" ]] || { echo "bench/backends: no ingest summary in $2" >&2; exit 65; }
    echo "   $name: $line" >&2
    put "$name" ingest_reports "$(awk '{ print $2 }' <<< "$line")"
    put "$name" ingest_seconds "$(sed 's/.* in \([0-9.]*\) s$/\1/' <<< "$line")"
    put "$name" ingest_hosts "$n"
}

# --- SQLite.
sqlite_on=0
[[ " $backends " == *" sqlite "* ]] && sqlite_on=1
if ((!sqlite_on)); then
    # PostgreSQL alone: its fleet is ingested, or PG_FLEET_PORT's; copying needs the SQLite fleet.
    if [[ -z "${PG_FLEET_PORT:-}" ]] && ((pg_ingest_hosts < hosts)); then
        echo "bench/backends: BACKENDS=postgres copies no fleet from SQLite: leave PG_INGEST_HOSTS unset or give PG_FLEET_PORT" >&2
        exit 64
    fi
elif [[ -n "$fleet" ]]; then
    sqlite_db=$(realpath "$fleet")
    echo "== $(date -u +%H:%M:%SZ) SQLite: the fleet in $sqlite_db (ingested earlier)" >&2
    ingested sqlite "$sqlite_db.log" "$hosts"
else
    sqlite_db=$tmp/fleet.sqlite
    echo "== $(date -u +%H:%M:%SZ) SQLite ingest" >&2
    ingest sqlite "$sqlite_db" "$hosts"
fi
if ((sqlite_on)); then
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall(); c.close()" "$sqlite_db"
put sqlite bytes "$(stat -c %s "$sqlite_db")"
fi

# --- PostgreSQL.
pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
if [[ " $backends " == *" postgres "* && -n "${PG_FLEET_PORT:-}" ]]; then
PG_PORT=$PG_FLEET_PORT
echo "== $(date -u +%H:%M:%SZ) PostgreSQL: the fleet on port $PG_PORT (ingested earlier)" >&2
ingested postgres "${PG_FLEET_LOG:?bench/backends: PG_FLEET_PORT needs PG_FLEET_LOG, the synth log of that fleet}" "$hosts"
pg_psql fleet -c "VACUUM ANALYZE"
put postgres bytes "$(pg_psql fleet -tAc "SELECT pg_database_size('fleet')")"
elif [[ " $backends " == *" postgres "* ]]; then
echo "== $(date -u +%H:%M:%SZ) PostgreSQL ingest" >&2
pg_start "$tmp/pg" shared_buffers=256MB
pg_psql postgres -c "CREATE DATABASE fleet"
if ((pg_ingest_hosts < hosts)); then
    pg_psql postgres -c "CREATE DATABASE sample"
    ingest postgres "$(pg_url sample)" "$pg_ingest_hosts"
    pg_psql postgres -c "DROP DATABASE sample"
    t0=$SECONDS
    "$capreg" copy-store --from "$sqlite_db" --to "$(pg_url fleet)" > "$tmp/copy-store.log" 2>&1
    put postgres copy_seconds $((SECONDS - t0))
    echo "   postgres: the $hosts-host fleet copied from SQLite in $((SECONDS - t0)) s: $(tail -1 "$tmp/copy-store.log")" >&2
else
    ingest postgres "$(pg_url fleet)" "$hosts"
fi
pg_psql fleet -c "VACUUM ANALYZE"
put postgres bytes "$(pg_psql fleet -tAc "SELECT pg_database_size('fleet')")"
fi

# --- Queries, then the mixed load, per backend.
query="/v1/hosts?where=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$where")&limit=$limit"
synth_line=$("$capreg" synth --hosts 1 --days 1 --start 2025-01-01 | head -1)
echo "$synth_line" > "$tmp/template.json"
# wrk_row NAME URL CONNS [LOG]: a 2 s warm-up, then SECONDS; puts p50 and p99 (ms), per second, errors.
wrk_row() {
    local name=$1 url=$2 conns=$3 prefix=$4 threads=1 out
    ((conns > 1)) && threads=2
    timeout 60 wrk -t"$threads" -c"$conns" -d2s "$url$query" > /dev/null 2>&1 || true
    out=$(timeout $((secs + 60)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency "$url$query" 2>&1) || true
    echo "$out" > "$tmp/wrk-$name-$prefix.log"
    python3 - "$out" <<'PY' | while read -r k v; do put "$name" "$prefix$k" "$v"; done
import re, sys
out = sys.argv[1]
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
p50 = re.search(r"\s50%\s+(\S+)", out); p99 = re.search(r"\s99%\s+(\S+)", out)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
print("p50", f"{ms(p50.group(1)) if p50 else float('nan'):.2f}")
print("p99", f"{ms(p99.group(1)) if p99 else float('nan'):.2f}")
print("rate", f"{float(rate.group(1)) if rate else 0:.1f}")
print("errors", (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0))
PY
    echo "   $name $prefix: $(grep -E 'Requests/sec|^ +99%' <<< "$out" | tr -s ' ' | tr '\n' ' ')" >&2
}
serve_bench() {  # serve_bench NAME DB
    local name=$1 db=$2 port url matched acks
    port=$(pg_free_port)
    "$capreg" serve --db "$db" --listen "127.0.0.1:$port" --stale-after 36500d --max-connections-per-identity 200 \
        > "$tmp/serve-$name.log" 2>&1 &
    serve_pid=$!
    url="http://127.0.0.1:$port"
    for _ in $(seq 1 600); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    matched=$(curl -fsS "$url$query" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hosts"]))')
    put "$name" matched "$matched"
    echo "== $(date -u +%H:%M:%SZ) $name: serve on :$port, the query answers $matched hosts" >&2
    wrk_row "$name" "$url" 1 c1_
    wrk_row "$name" "$url" 64 c64_
    # Mixed: the writer starts first and runs through wrk's warm-up and measured run; its acknowledgements are
    # counted within the measured window (T1, the answer's time, inside it).
    python3 deploy/report-writer.py --url "$url" --template "$tmp/template.json" --workers "$writers" \
        --prefix "bench-$name" --log "$tmp/writer-$name.log" --seconds $((secs + 8)) > "$tmp/writer-$name.out" 2>&1 &
    writer_pid=$!
    sleep 1
    local w0 w1
    timeout 60 wrk -t2 -c16 -d2s "$url$query" > /dev/null 2>&1 || true
    w0=$(date +%s.%N)
    wrk_row_measured "$name" "$url"
    w1=$(date +%s.%N)
    wait "$writer_pid" 2>/dev/null || true
    writer_pid=""
    acks=$(awk -v a="$w0" -v b="$w1" '$1 == "ack" && $3 >= a && $3 <= b { n++ } END { print n + 0 }' "$tmp/writer-$name.log")
    put "$name" mix_writes "$(python3 -c "print(f'{$acks / ($w1 - $w0):.1f}')")"
    put "$name" mix_write_fails "$(grep -c '^fail' "$tmp/writer-$name.log" || true)"
    echo "   $name mixed: $acks writes acknowledged in $(python3 -c "print(f'{$w1 - $w0:.1f}')") s" >&2
    kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
}
wrk_row_measured() {  # the mixed load's read side: wrk at 16 connections without its own warm-up (done above)
    local name=$1 url=$2 out
    out=$(timeout $((secs + 60)) wrk -t2 -c16 -d"${secs}s" --timeout 10s --latency "$url$query" 2>&1) || true
    echo "$out" > "$tmp/wrk-$name-mix.log"
    put "$name" mix_reads "$(awk '/^Requests\/sec:/ { print $2 }' <<< "$out")"
    put "$name" mix_p99 "$(awk '$1 == "99%" { v = $2; n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }' <<< "$out")"
}
((!sqlite_on)) || serve_bench sqlite "$sqlite_db"
[[ " $backends " != *" postgres "* ]] || serve_bench postgres "$(pg_url fleet)"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- The table.
python3 - "$rows" "$hosts" "$days" "$pg_ingest_hosts" "$secs" "$writers" "$load_before" "$load_after" "$(nproc)" "$query" <<'PY' | tee "$work/figures.md"
import sys, datetime
rows, hosts, days, pg_hosts, secs, writers, lb, la, cores, query = sys.argv[1:]
hosts, days, pg_hosts = int(hosts), int(days), int(pg_hosts)
v = {}
for line in open(rows):
    b, k, x = line.rstrip("\n").split("\t")
    v.setdefault(b, {})[k] = x
names = [b for b in ("sqlite", "postgres") if b in v]
def row(label, cell):
    print(f"| {label} | " + " | ".join(cell(b) for b in names) + " |")
def f(b, k, fmt="{}"):
    x = v[b].get(k)
    return fmt.format(float(x)) if x not in (None, "") else "n/a"
def rate(b):
    r, s = float(v[b]["ingest_reports"]), float(v[b]["ingest_seconds"])
    return f"{r / s:,.1f} ({int(r):,} reports in {s:,.1f} s)"
def size(b):
    n = int(v[b]["bytes"])
    return f"{n / hosts:,.0f} B ({n / 1e6:,.0f} MB)"
def lat(b, p):
    return f"{f(b, p + 'p50', '{:.2f}')} / {f(b, p + 'p99', '{:.2f}')} ms, {f(b, p + 'rate', '{:,.0f}')}/s" + (f", {v[b][p + 'errors']} errors" if v[b].get(p + "errors", "0") != "0" else "")
print(f"bench/backends/run.sh {hosts} {secs}: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}, {cores} cores, load {lb} before, {la} after (1/5/15 min)")
print(f"{hosts:,} hosts x {days} day(s) of `capreg synth --start 2025-01-01`; GET {query}; wrk keep-alive, 2 s warm-up then {secs} s per row;")
print(f"mixed: wrk -c16 reads while deploy/report-writer.py ({writers} threads, one report after another each) POSTs changed reports.")
if pg_hosts < hosts and "postgres" in v:
    print(f"PostgreSQL ingest measured on a {pg_hosts:,}-host fleet; the {hosts:,}-host fleet copied from SQLite by capreg copy-store in {v['postgres']['copy_seconds']} s.")
print()
print("| | " + " | ".join({"sqlite": "SQLite", "postgres": "PostgreSQL 15"}[b] for b in names) + " |")
print("|---|" + "---:|" * len(names))
row("ingest, reports/s", rate)
row(f"size per host, {days} day(s) of history (SQLite file after checkpoint; pg_database_size after VACUUM)", size)
row("query answers (hosts on the page)", lambda b: v[b]["matched"])
row("1 connection: p50 / p99, req/s", lambda b: lat(b, "c1_"))
row("64 connections: p50 / p99, req/s", lambda b: lat(b, "c64_"))
row(f"mixed: 16 reading connections + {writers} writers",
    lambda b: f"{f(b, 'mix_reads', '{:,.0f}')} reads/s (p99 {f(b, 'mix_p99', '{:.2f}')} ms), {f(b, 'mix_writes', '{:,.1f}')} writes/s")
PY
echo "logs and wrk outputs: $work" >&2
