#!/usr/bin/env bash
# TLS in front (issue 15's figures), one run, one table:
#   1. POST /v1/reports (the collector daemon's heartbeat: an unchanged report without `decoded`, a fresh
#      report_id and collected_at each, one host per worker) and GET /v1/hosts?limit=100 (reader token): reports/s, p50, p99, straight to `capreg serve`
#      over plain HTTP and through nginx with mutual TLS (deploy/nginx/capreg-mtls.conf as shipped, paths and
#      port rewritten; a client certificate per host, CN = hostname), each with keep-alive and with a new
#      connection per request. One load generator for every row: bench/tls/load.py (python, CONCURRENCY
#      processes, one connection each, closed loop, SECONDS after a 1 s warm-up).
#   2. the collector: size of the static capreg (the CI build line) now, the dynamic one, and the static one
#      at OLD_REF (before AsyncHTTPClient: plain http only); CPU and peak RSS of `capreg collect --once
#      --push` through nginx mTLS and plain to capreg (bench/collector/rusage.c: wait4's rusage, RUNS runs).
# Everything is on 127.0.0.1 with a throwaway CA made here (as deploy/nginx/tls-test.sh does); nginx and
# capreg are stopped on any exit, and a watchdog ends a run that takes longer than WATCHDOG seconds.
#
# Usage: bench/tls/run.sh [SECONDS] [CONCURRENCY]      defaults: 10 s per row, 8 connections
# Env: BUILD=0 skips the builds (uses what is there); OLD=0 skips the old build and its rows; OLD_REF
#      (default f5607e2); RUNS (collector runs per row, default 5); HOSTS (synth fleet for the GET row,
#      default 200); SCRATCH (.build-tlsbench), STATIC_SCRATCH (.build-tlsbench-static); CAPREG, STATIC
#      (binaries to use instead of those builds' capreg); WATCHDOG (seconds, default 900).
# Needs nginx, openssl, python3, gcc, curl. Runs as root (nginx workers as root in the private work dir).
# Output: the table on stdout and in bench/tls/work/figures.txt; logs in bench/tls/work/run/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conc=${2:-8}
runs=${RUNS:-5}
hosts=${HOSTS:-200}
old_ref=${OLD_REF:-f5607e2}
scratch=${SCRATCH:-.build-tlsbench}
static_scratch=${STATIC_SCRATCH:-.build-tlsbench-static}
sysfs=../shared/captures/scalable-aw48/sysfs
work=bench/tls/work
static_flags=(--static-swift-stdlib -Xswiftc -static-executable)
for t in nginx openssl python3 gcc curl; do command -v $t >/dev/null || { echo "bench/tls: needs $t" >&2; exit 69; }; done
mkdir -p "$work"

# --- Builds: dynamic (serve), static now (collector, the CI build line), static at OLD_REF.
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --scratch-path "$scratch" --product capreg >&2
  swift build -c release --scratch-path "$static_scratch" "${static_flags[@]}" --product capreg >&2
  if [ "${OLD:-1}" != 0 ]; then
    # The old tree is extracted once per commit (its scratch path inside it, so a later run builds nothing).
    old_commit=$(git rev-parse "$old_ref^{commit}")
    if [ "$(cat "$work/old/.commit" 2>/dev/null)" != "$old_commit" ]; then
      rm -rf "$work/old" && mkdir -p "$work/old"
      git archive "$old_commit" | tar -x -C "$work/old"
      [ ! -f Package.resolved ] || cp Package.resolved "$work/old/"
      echo "$old_commit" > "$work/old/.commit"
    fi
    (cd "$work/old" && swift build -c release --scratch-path .build-tlsbench-old "${static_flags[@]}" --product capreg) >&2
  fi
fi
capreg=${CAPREG:-$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg}
static=${STATIC:-$(swift build -c release --scratch-path "$static_scratch" "${static_flags[@]}" --show-bin-path)/capreg}
old=""
if [ "${OLD:-1}" != 0 ] && [ -d "$work/old/Sources" ]; then
  old=$(cd "$work/old" && swift build -c release --scratch-path .build-tlsbench-old "${static_flags[@]}" --show-bin-path)/capreg
  [ -x "$old" ] || old=""
fi
[ -x "$capreg" ] && [ -x "$static" ] || { echo "bench/tls: no release build at $capreg or $static (BUILD=0?)" >&2; exit 66; }

tmp="$PWD/$work/run"
rm -rf "$tmp" && mkdir -p "$tmp"
serve_pid="" watchdog_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$serve_pid" ] || kill -KILL "$serve_pid" 2>/dev/null || true
  [ ! -f "$tmp/nginx.pid" ] || kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [ -z "$watchdog_pid" ] || kill "$watchdog_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT
trap 'echo "bench/tls: stopped (signal or watchdog)" >&2; exit 124' INT TERM
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM; sleep "${WATCHDOG:-900}" & sp=$!; wait "$sp"
  echo "bench/tls: watchdog: over ${WATCHDOG:-900} s" >&2; kill -TERM $$ ) &
watchdog_pid=$!
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- A throwaway CA (deploy/nginx/throwaway-ca.sh): server certificate for 127.0.0.1, a client certificate
# per host (CN = hostname), an empty CRL.
. deploy/nginx/throwaway-ca.sh
make_ca "$tmp" "capreg bench"
mkdir -p "$tmp/certs"
sign "$tmp" server registry server:IP:127.0.0.1
for i in $(seq 1 "$conc"); do sign "$tmp" "certs/bench-$i" "bench-$i" client; done
crl "$tmp"

# --- The registry: a synth fleet (for the GET row), capreg serve on a free port, trusting nginx.
"$capreg" synth --hosts "$hosts" --days 1 --ingest --db "$tmp/registry.sqlite" > "$tmp/synth.log" 2>&1
collector_token="collector-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reader_token="reader-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'collector %s\nreader %s\n' "$collector_token" "$reader_token" > "$tmp/tokens"
"$capreg" serve --db "$tmp/registry.sqlite" --listen 127.0.0.1:0 --tokens "$tmp/tokens" --trusted-proxy 127.0.0.1 \
  --stale-after 36500d 2> "$tmp/serve.log" &
serve_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/serve.log" | head -1 | cut -d: -f2) && [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "bench/tls: capreg serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# --- nginx: the shipped mTLS configuration, its paths and addresses pointed at this run. Workers: one per
# core (auto); a log line per request names its client connection, so keep-alive reuse can be counted.
tls_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/nginx"
sed -e "s#/etc/capreg/tls/#$tmp/#g" -e "s#/etc/nginx/capreg/#$tmp/nginx/#g" \
  -e "s#127.0.0.1:8080#127.0.0.1:$port#" -e "s#listen 8443 ssl;#listen 127.0.0.1:$tls_port ssl;#" -e '/listen \[::\]:8443/d' \
  deploy/nginx/capreg-mtls.conf > "$tmp/nginx/capreg-mtls.conf"
grep -q "listen 127.0.0.1:$tls_port ssl;" "$tmp/nginx/capreg-mtls.conf" || { echo "bench/tls: the shipped listen line was not found" >&2; exit 1; }
cp deploy/nginx/capreg-proxy.inc "$tmp/nginx/"
cat > "$tmp/nginx/nginx.conf" <<EOF
# A private folder, so workers run as root too (not for production).
user root;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
worker_processes auto;
events { worker_connections 1024; }
http {
    log_format bench '\$connection \$connection_requests \$ssl_protocol \$ssl_session_reused \$ssl_client_verify \$status';
    access_log $tmp/nginx-access.log bench;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    include $tmp/nginx/capreg-mtls.conf;
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" -e "$tmp/nginx-error.log"
tls_url="https://127.0.0.1:$tls_port"
plain_url="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sS --cacert "$tmp/fleet-ca.pem" -o /dev/null "$tls_url/healthz" 2>/dev/null && break; sleep 0.1; done

# --- The request bodies: one heartbeat per host (bench-1..CONCURRENCY) from the same sysfs capture, as
# the collector daemon sends one when nothing changed (the report without its `decoded` values);
# load.py gives each request a fresh report_id and collected_at. The registry stores it as unchanged.
for i in $(seq 1 "$conc"); do
  "$capreg" collect --sysfs-root "$sysfs" --no-probes --hostname "bench-$i" > "$tmp/report-$i.json" 2>> "$tmp/collect-template.log"
done
python3 - "$tmp" "$conc" <<'EOF'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
reports = [json.load(open(f"{tmp}/report-{i}.json")) for i in range(1, n + 1)]
for r in reports:  # the daemon's heartbeat (Sources/Collector/Heartbeat.swift): raw sources, no `decoded`
    for s in r["sources"]:
        s.pop("decoded", None)
json.dump(reports, open(f"{tmp}/reports.json", "w"))
EOF
body_bytes=$(python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))[0]; print(len(json.dumps(r, separators=(",", ":"))))' "$tmp/reports.json")

# accepted COUNT: capreg's connections accepted so far (this /metrics request's own included).
accepted() { curl -fsS -H "Authorization: Bearer $reader_token" "$plain_url/metrics" | awk '$1 == "capreg_http_connections_accepted_total" { print $2 }'; }
: > "$tmp/rows.txt"
# row LABEL ARGS…: one load.py run; appends label, its JSON, client connections seen by nginx, capreg's.
row() {
  local label=$1 a0 a1 n0 n1 out nginx_conns=-
  shift
  n0=$(wc -l < "$tmp/nginx-access.log" 2>/dev/null || echo 0)
  a0=$(accepted)
  out=$(timeout $((${secs%.*} + 120)) python3 bench/tls/load.py --concurrency "$conc" --seconds "$secs" "$@") ||
    out='{"count":0,"errors":-1,"rate":0,"p50_ms":null,"p99_ms":null,"first_error":"load.py failed or timed out"}'
  a1=$(accepted)
  n1=$(wc -l < "$tmp/nginx-access.log")
  if [ "$n1" -gt "$n0" ]; then
    nginx_conns=$(tail -n +$((n0 + 1)) "$tmp/nginx-access.log" | awk '{ print $1 }' | sort -u | wc -l)
  fi
  printf '%s\t%s\t%s\t%s\n' "$label" "$out" "$nginx_conns" "$((a1 - a0 - 1))" >> "$tmp/rows.txt"
  echo "$label: $out" >&2
}
post=(--template "$tmp/reports.json")
row "POST direct plain, keep-alive" --url "$plain_url" --token "$collector_token" "${post[@]}"
row "POST direct plain, new connection each" --url "$plain_url" --token "$collector_token" "${post[@]}" --new-connection
row "POST nginx mTLS, keep-alive" --url "$tls_url" --ca "$tmp/fleet-ca.pem" --cert-dir "$tmp/certs" "${post[@]}"
row "POST nginx mTLS, new TLS connection each" --url "$tls_url" --ca "$tmp/fleet-ca.pem" --cert-dir "$tmp/certs" "${post[@]}" --new-connection
get=(--method GET --path "/v1/hosts?limit=100" --token "$reader_token")
row "GET hosts?limit=100 direct plain, keep-alive" --url "$plain_url" "${get[@]}"
row "GET hosts?limit=100 nginx TLS, keep-alive" --url "$tls_url" --ca "$tmp/fleet-ca.pem" "${get[@]}"
page_bytes=$(curl -fsS -H "Authorization: Bearer $reader_token" "$plain_url/v1/hosts?limit=100" | wc -c)

# --- The collector: one `collect --once --push` per run, a fresh report each (the spool is emptied by
# each successful push), through nginx mTLS (host bench-1's certificate) and straight to capreg.
gcc -O2 -Wall -o "$tmp/rusage" bench/collector/rusage.c
collect_args=(collect --sysfs-root "$sysfs" --no-probes --hostname bench-1)
: > "$tmp/collect-rows.txt"
crow() {  # crow LABEL BINARY ARGS…
  local label=$1 bin=$2 f
  shift 2
  f="$tmp/collect-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-').txt"
  timeout 300 "$tmp/rusage" "$runs" "$bin" "$@" > "$f" 2> "$f.stderr" || true
  printf '%s\t%s\n' "$label" "$f" >> "$tmp/collect-rows.txt"
}
crow "static now: collect, nginx mTLS" "$static" "${collect_args[@]}" --once --spool "$tmp/spool-now-tls" \
  --push "$tls_url" --ca "$tmp/fleet-ca.pem" --client-cert "$tmp/certs/bench-1.pem" --client-key "$tmp/certs/bench-1.key"
crow "static now: collect, plain direct" "$static" "${collect_args[@]}" --once --spool "$tmp/spool-now-plain" \
  --push "$plain_url" --token "$collector_token"
crow "static now: collect, no push (stdout)" "$static" "${collect_args[@]}"
crow "static now: --version" "$static" --version
if [ -n "$old" ]; then
  crow "static $old_ref: collect, plain direct" "$old" "${collect_args[@]}" --once --spool "$tmp/spool-old-plain" \
    --push "$plain_url" --token "$collector_token"
  crow "static $old_ref: collect, no push (stdout)" "$old" "${collect_args[@]}"
  crow "static $old_ref: --version" "$old" --version
fi
# Keep-alive between a daemon's rounds: `collect --interval 1` through nginx for 6 s, then the requests
# and client connections nginx logged for it (and how many TLS handshakes resumed a session).
n0=$(wc -l < "$tmp/nginx-access.log")
timeout -s TERM 6 "$static" "${collect_args[@]}" --interval 1 --spool "$tmp/spool-daemon" --push "$tls_url" --ca "$tmp/fleet-ca.pem" \
  --client-cert "$tmp/certs/bench-1.pem" --client-key "$tmp/certs/bench-1.key" 2> "$tmp/collect-daemon.log" || true
daemon=$(tail -n +$((n0 + 1)) "$tmp/nginx-access.log" | awk '{ n++; c[$1] = 1; if ($4 == "r") r++ } END { k = 0; for (i in c) k++; printf "%d requests on %d TLS connections (%d resumed sessions)", n, k, r }')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- The table.
mb() { python3 -c 'import os,sys; print(f"{os.path.getsize(sys.argv[1]) / 1e6:.1f} MB")' "$1"; }
{
  echo "bench/tls/run.sh $secs $conc: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $load_before before, $load_after after (1/5/15 min)"
  echo "POST body: a heartbeat per host bench-1..$conc ($body_bytes bytes: unchanged report, no decoded, fresh report_id and collected_at each);"
  echo "GET: $hosts-host synth fleet, page $page_bytes bytes. $conc python processes, one connection each, ${secs} s after 1 s warm-up."
  echo "conns: client connections nginx saw / connections capreg accepted during the row."
  echo
  printf '%-44s %9s %9s %9s %9s %8s %6s %13s\n' "" "per s" "p50 ms" "p99 ms" "max ms" "count" "errors" "conns ng/cap"
  while IFS=$'\t' read -r label json nconns cconns; do
    python3 - "$label" "$json" "$nconns" "$cconns" <<'EOF'
import json, sys
label, r, n, c = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
f = lambda v: "-" if v is None else f"{v:.2f}"
print(f"{label:<44} {r['rate']:9.1f} {f(r['p50_ms']):>9} {f(r['p99_ms']):>9} {f(r.get('max_ms')):>9} {r['count']:8d} {r['errors']:6d} {n + '/' + c:>13}")
if r.get("first_error"):
    print(f"    first error: {r['first_error']}")
EOF
  done < "$tmp/rows.txt"
  echo
  echo "binary sizes: static now $(mb "$static"), dynamic now $(mb "$capreg") (plus the Swift runtime's shared libraries)$([ -z "$old" ] || echo ", static $old_ref $(mb "$old")")"
  echo "collector, $runs runs each (rusage: wait4 of each run):"
  printf '%-44s %14s %14s %12s %14s %7s\n' "" "cpu s median" "cpu s max" "peak RSS MB" "wall s median" "failed"
  while IFS=$'\t' read -r label f; do
    python3 - "$label" "$f" <<'EOF'
import sys
label, f = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(f) if l.startswith("run ")]
if not rows:
    print(f"{label:<44} no runs (see {f}.stderr)")
    sys.exit()
cpu = sorted(float(r[7]) for r in rows)
wall = sorted(float(r[11]) for r in rows)
rss, bad, m = max(int(r[9]) for r in rows) / 1024, sum(r[13] != "0" for r in rows), (len(rows) - 1) // 2
print(f"{label:<44} {cpu[m]:14.3f} {cpu[-1]:14.3f} {rss:12.1f} {wall[m]:14.3f} {bad:7d}")
EOF
  done < "$tmp/collect-rows.txt"
  echo "collector daemon through nginx mTLS (static now, --interval 1, 6 s): $daemon"
} | tee "$work/figures.txt"
