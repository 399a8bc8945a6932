#!/usr/bin/env bash
# PostgreSQL failover under capreg (issue 16), all on loopback: etcd (one member) and two Patroni nodes
# (deploy/patroni/patroni-node1.yml and -node2.yml as shipped, ports and folders rewritten, run as user
# postgres): a primary and a synchronous standby (synchronous_mode, ttl 5, loop_wait 1). Two capreg serve
# processes share the database, each reaching the primary one way:
#   mh: the multi-host URL postgres://…@node1,node2/capreg (a new connection skips a standby);
#   hp: haproxy's postgres_primary frontend (deploy/haproxy/haproxy.cfg as shipped: Patroni's GET /primary
#       check), one URL;
# each with its own writer (deploy/report-writer.py) POSTing reports back to back. Then the primary node
# dies: its patroni and every postgres process of it SIGKILLed at once (a lost machine; patroni killed
# first, so that it does not restart its postgres). Patroni promotes the synchronous standby once the
# leader key expires (ttl); capreg reconnects by itself (no restart). Checks:
#   - every report acknowledged (before, during or after the failover) is stored under the revision it
#     was acknowledged with, and is in its host's history read from each capreg; a report in flight at
#     the kill is retried by its writer with the same report_id (stored once either way);
#   - both capreg serve answer writes again, /readyz is 200 on both, neither was restarted; while there was
#     no primary they answered 503 store_unavailable, never 500;
#   - (REJOIN=1, default) the killed node started again rejoins as a standby (pg_rewind), and both capregs
#     keep writing: the multi-host URL skips it, the haproxy check keeps it out.
# Figures (one line per capreg): seconds from the kill to the first acknowledged write that began after it,
# the longest time without an acknowledgement, failed attempts, acknowledged reports lost (goal 0).
# Usage: deploy/patroni/failover-test.sh   (root: Patroni and PostgreSQL run as user postgres)
# Env: CAPREG (binary; default .build/debug/capreg, built when missing), WORKERS=2 per writer, LOAD_SECONDS=6,
# AFTER_SECONDS=6, REJOIN=1, CAPREG_FAILOVER_REQUIRED=1 makes a skip fail, KEEP_TMP=1, FIGURES=FILE (append
# the figures as JSON lines; bench/failover/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=${WORKERS:-2} load=${LOAD_SECONDS:-6} after=${AFTER_SECONDS:-6} rejoin=${REJOIN:-1} limit=${TIME_LIMIT:-175}
started=$SECONDS

skip() {
    echo "failover test: SKIPPED: $*"
    [[ "${CAPREG_FAILOVER_REQUIRED:-0}" == 1 ]] && { echo "failover test: CAPREG_FAILOVER_REQUIRED=1, so this is a failure" >&2; exit 1; }
    exit 0
}
fail() { echo "failover test: FAIL: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || skip "needs root (Patroni and PostgreSQL run as user postgres)"
id postgres >/dev/null 2>&1 || skip "no postgres user"
for tool in patroni etcd haproxy python3 curl setpriv; do
    command -v $tool >/dev/null || skip "no $tool (apt-get install patroni etcd-server haproxy)"
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$pgbin" && -x "$pgbin/initdb" ]] || skip "no PostgreSQL server (apt-get install postgresql-15)"

capreg=${CAPREG:-.build/debug/capreg}
if [[ ! -x "$capreg" ]]; then
    swift build --product capreg > /tmp/capreg-failover-build.log 2>&1 || { tail -30 /tmp/capreg-failover-build.log; fail "swift build failed"; }
fi
capreg=$(realpath "$capreg")

tmp="$(mktemp -d /tmp/capreg-failover.XXXXXX)"
chmod 755 "$tmp"
etcd_pid="" haproxy_pid="" patroni_pids=("" "") serve_pids=("" "") writer_pids=("" "") watchdog="" ok=0
# Every postgres process of node N (its postmaster and the postmaster's children).
node_postgres() {
    local pm
    pm=$(head -1 "$tmp/node$1/data/postmaster.pid" 2>/dev/null) || return 0
    [[ -n "$pm" ]] && kill -0 "$pm" 2>/dev/null || return 0
    echo "$pm" $(grep -l "^PPid:[[:space:]]*$pm$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3)
}
cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    exec 2>/dev/null   # no "Killed" notices for the processes stopped below
    [[ -n "$watchdog" ]] && kill "$watchdog" 2>/dev/null || true
    for pid in "${writer_pids[@]}" "${serve_pids[@]}" $haproxy_pid "${patroni_pids[@]}"; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done
    for n in 1 2; do for pid in $(node_postgres $n); do kill -KILL "$pid" 2>/dev/null || true; done; done
    [[ -n "$etcd_pid" ]] && kill -KILL "$etcd_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if ((ok == 0)); then
        for f in "$tmp"/*.log "$tmp"/node*/data/log/*; do [[ -f "$f" ]] && { echo "--- tail of $f"; tail -n 12 "$f"; }; done
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
trap 'echo "failover test: interrupted (time limit ${limit}s?)" >&2; exit 124' TERM INT
( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "$limit" & s=$!; wait $s; kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }   # execs: $! is the process itself
since() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }

# --- etcd: one member, its own folder and free ports.
etcd_client=$(free_port) etcd_peer=$(free_port)
etcd --name capreg-test --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$etcd_client" \
    --advertise-client-urls "http://127.0.0.1:$etcd_client" --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" --initial-cluster "capreg-test=http://127.0.0.1:$etcd_peer" \
    > "$tmp/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$etcd_client/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$etcd_client/health" | grep -q true || fail "etcd did not become healthy"

# --- Two Patroni nodes from the shipped examples: ports, folders and the DCS address rewritten.
pg_ports=("$(free_port)" "$(free_port)") rest_ports=("$(free_port)" "$(free_port)")
for n in 1 2; do
    mkdir -p "$tmp/node$n"
    sed -e "s#/var/lib/postgresql/15/capreg#$tmp/node$n/data#" -e "s#/run/patroni#$tmp/node$n#g" \
        -e "s#/usr/lib/postgresql/15/bin#$pgbin#" \
        -e "s#10.0.0.1$n:5432#127.0.0.1:${pg_ports[$((n - 1))]}#g" -e "s#10.0.0.1$n:8008#127.0.0.1:${rest_ports[$((n - 1))]}#g" \
        -e "s#10.0.0.10:2379#127.0.0.1:$etcd_client#" -e "s#10.0.0.0/24 scram-sha-256#127.0.0.1/32 trust#g" \
        "deploy/patroni/patroni-node$n.yml" > "$tmp/node$n/patroni.yml"
    grep -q "127.0.0.1:${pg_ports[$((n - 1))]}" "$tmp/node$n/patroni.yml" && grep -q "127.0.0.1:$etcd_client" "$tmp/node$n/patroni.yml" ||
        fail "deploy/patroni/patroni-node$n.yml no longer has the lines the test rewrites"
    chown -R postgres "$tmp/node$n"
done
start_patroni() {  # start_patroni N
    local n=$1
    (cd "$tmp/node$n" && exec setpriv --reuid postgres --regid postgres --init-groups -- patroni "$tmp/node$n/patroni.yml") \
        >> "$tmp/patroni$n.log" 2>&1 &
    patroni_pids[$((n - 1))]=$!
}
role() {  # role N: primary, replica, or down
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${rest_ports[$(($1 - 1))]}/primary" || true)
    case $code in 200) echo primary ;; 503) echo replica ;; *) echo down ;; esac
}
start_patroni 1
for _ in $(seq 1 300); do [[ $(role 1) == primary ]] && break; sleep 0.1; done
[[ $(role 1) == primary ]] || fail "node1 did not become primary within 30 s"
start_patroni 2
# The standby is synchronous once Patroni has listed it (GET /sync answers 200 on the synchronous standby).
for _ in $(seq 1 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${rest_ports[1]}/sync" || true) == 200 ]] && break
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${rest_ports[1]}/sync" || true) == 200 ]] ||
    fail "node2 did not become the synchronous standby within 60 s"
psql_at() { "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres "${@:2}"; }
psql_at "${pg_ports[0]}" -d postgres -c "CREATE DATABASE capreg" || fail "CREATE DATABASE failed"
echo "failover test: etcd :$etcd_client; node1 primary on :${pg_ports[0]} (REST :${rest_ports[0]}), node2 synchronous standby on :${pg_ports[1]} (+$((SECONDS - started)) s)"

# --- haproxy: the shipped postgres_primary frontend (GET /primary on each node's Patroni REST port).
hapg=$(free_port)
# global, defaults and postgres_primary (the capreg frontend and backend left out); one awk reads it all.
awk '/^frontend capreg/ { skip = 1 } /^listen postgres_primary/ { skip = 0 } !skip { print }' deploy/haproxy/haproxy.cfg | sed -e "s#log /dev/log local0 info#log stderr format short local0 info#" -e "s#bind 127.0.0.1:5000#bind 127.0.0.1:$hapg#" \
        -e "s#server db1 10.0.0.11:5432 check port 8008#server db1 127.0.0.1:${pg_ports[0]} check port ${rest_ports[0]}#" \
        -e "s#server db2 10.0.0.12:5432 check port 8008#server db2 127.0.0.1:${pg_ports[1]} check port ${rest_ports[1]}#" > "$tmp/haproxy.cfg"
grep -q "server db2 127.0.0.1:${pg_ports[1]} check port ${rest_ports[1]}" "$tmp/haproxy.cfg" && grep -q "bind 127.0.0.1:$hapg" "$tmp/haproxy.cfg" ||
    fail "the shipped haproxy.cfg no longer has the postgres_primary lines the test rewrites"
haproxy -c -f "$tmp/haproxy.cfg" > "$tmp/haproxy-check.log" 2>&1 || { cat "$tmp/haproxy-check.log"; fail "haproxy -c refused the configuration"; }
haproxy -db -f "$tmp/haproxy.cfg" > "$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!

# --- Two capreg serve on the same database: mh (multi-host URL), hp (through haproxy).
collector_token="collector-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reader_token="reader-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'collector %s\nreader %s\n' "$collector_token" "$reader_token" > "$tmp/tokens"
chmod 600 "$tmp/tokens"
names=(mh hp)
dbs=("postgres://postgres@127.0.0.1:${pg_ports[0]},127.0.0.1:${pg_ports[1]}/capreg?connect_timeout=2"
     "postgres://postgres@127.0.0.1:$hapg/capreg?connect_timeout=2")
# Port 0: each picks a free port and logs it (no window for another process to take a port chosen here).
serve_ports=("" "")
for i in 0 1; do
    "$capreg" serve --db "${dbs[$i]}" --listen "127.0.0.1:0" --tokens "$tmp/tokens" > "$tmp/serve-${names[$i]}.log" 2>&1 &
    serve_pids[$i]=$!
done
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${serve_ports[$1]}/readyz" || true) == 200 ]]; }
for i in 0 1; do
    for _ in $(seq 1 300); do
        serve_ports[$i]=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/serve-${names[$i]}.log" | head -1 | cut -d: -f2 || true)
        [[ -n "${serve_ports[$i]}" ]] && ready $i && break
        kill -0 "${serve_pids[$i]}" 2>/dev/null || fail "capreg serve ${names[$i]} exited at start: $(tail -3 "$tmp/serve-${names[$i]}.log")"
        sleep 0.1
    done
    ready $i || fail "capreg serve ${names[$i]} (${dbs[$i]}) not ready within 30 s: $(tail -3 "$tmp/serve-${names[$i]}.log")"
done

"$capreg" synth --hosts 1 --days 1 --seed 16 --out "$tmp/template.jsonl" 2> /dev/null
for i in 0 1; do
    python3 deploy/report-writer.py --url "http://127.0.0.1:${serve_ports[$i]}" --token "$collector_token" \
        --template "$tmp/template.jsonl" --workers "$workers" --prefix "failover-${names[$i]}" --log "$tmp/writer-${names[$i]}.log" \
        2> "$tmp/writer-${names[$i]}-stderr.log" &
    writer_pids[$i]=$!
done
sleep "$load"
for i in 0 1; do
    grep -q '^ack ' "$tmp/writer-${names[$i]}.log" || fail "no write acknowledged through ${names[$i]} before the kill"
done

# --- The primary node dies: patroni first (or it would restart its postgres), then every postgres process.
victim=$(psql_at "${pg_ports[0]}" -d postgres -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -q t && echo 1 || echo 2)
[[ $(role "$victim") == primary ]] || fail "node$victim is not the primary Patroni reports"
survivor=$((3 - victim))
pids=$(node_postgres "$victim")
kill_time=$(date +%s.%N)
kill -KILL "${patroni_pids[$((victim - 1))]}" $pids
wait "${patroni_pids[$((victim - 1))]}" 2>/dev/null || true
patroni_pids[$((victim - 1))]=""
echo "failover test: node$victim (primary) SIGKILLed at +$((SECONDS - started)) s: patroni and postgres ($pids)"
for _ in $(seq 1 300); do [[ $(role "$survivor") == primary ]] && break; sleep 0.1; done
[[ $(role "$survivor") == primary ]] || fail "node$survivor was not promoted within 30 s of the kill"
promoted=$(since "$kill_time")   # polled every 0.1 s (Patroni's GET /primary)
echo "failover test: node$survivor primary $promoted s after the kill"
# Both capregs write again, without a restart.
for i in 0 1; do
    for _ in $(seq 1 300); do
        awk -v t="$kill_time" '$1 == "ack" && $2 >= t { found = 1; exit } END { exit !found }' "$tmp/writer-${names[$i]}.log" && break
        sleep 0.1
    done
    awk -v t="$kill_time" '$1 == "ack" && $2 >= t { found = 1; exit } END { exit !found }' "$tmp/writer-${names[$i]}.log" ||
        fail "capreg serve ${names[$i]} did not write again within 30 s of the promotion"
    kill -0 "${serve_pids[$i]}" || fail "capreg serve ${names[$i]} exited"
done
sleep "$after"

# --- The killed node comes back: Patroni rewinds it and it follows the new primary as a standby.
if [[ "$rejoin" == 1 ]]; then
    rejoin_time=$(date +%s.%N)
    start_patroni "$victim"
    for _ in $(seq 1 450); do [[ $(role "$victim") == replica ]] && break; sleep 0.1; done
    [[ $(role "$victim") == replica ]] || fail "node$victim did not rejoin as a standby within 45 s"
    echo "failover test: node$victim rejoined as a standby $(since "$rejoin_time") s after its restart"
    sleep 3
    for i in 0 1; do
        awk -v r="$rejoin_time" '$1 == "ack" && $2 >= r { found = 1; exit } END { exit !found }' "$tmp/writer-${names[$i]}.log" ||
            fail "capreg serve ${names[$i]} wrote nothing after node$victim rejoined as a standby"
    done
fi

for i in 0 1; do kill -TERM "${writer_pids[$i]}"; done
for i in 0 1; do wait "${writer_pids[$i]}" || fail "writer ${names[$i]} exited $?"; writer_pids[$i]=""; done
for i in 0 1; do ready $i || fail "capreg serve ${names[$i]}: /readyz is not 200 after the failover"; done

# --- Every acknowledged report: stored under its revision on the new primary, in its history through each capreg.
psql_at "${pg_ports[$((survivor - 1))]}" -d capreg -F '|' -c "SELECT report_id, id FROM reports WHERE report_id LIKE 'failover-%'" > "$tmp/stored.txt"
status=0
for i in 0 1; do
    python3 deploy/ack-check.py --log "$tmp/writer-${names[$i]}.log" --stored "$tmp/stored.txt" --url "http://127.0.0.1:${serve_ports[$i]}" \
        --reader-token "$reader_token" --kill "$kill_time" --json "$tmp/figures-${names[$i]}.json" --label "${names[$i]}" || status=1
done
((status == 0)) || fail "acknowledged reports lost (above)"
summary() {
    python3 - "$tmp/figures-$1.json" "$1" "$2" <<'EOF'
import json, sys
f, name, how = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
print(f"failover test: {name} ({how}): first write {f['first_write_after_kill_s']} s after the kill, longest gap "
      f"{f['longest_gap_after_kill_s']} s, {f['failed_attempts_after_kill']} failed attempts, "
      f"{f['acknowledged_before_kill']} acknowledged before the kill, {f['acknowledged']} in all, {f['lost']} lost, "
      f"{f['unknown']} unknown at stop ({f['unknown_stored']} stored)")
EOF
}
summary mh "multi-host URL"
summary hp "haproxy /primary"
echo "failover test: failed attempts by answer: $(cat "$tmp"/writer-*.log | awk '$1 == "fail" { sub(/:.*/, "", $5); print $5 }' | sort | uniq -c | tr -s ' \n' ' ')"
# While no primary is found, capreg answers 503 store_unavailable (retry), never 500.
! grep -q '^fail .* status=500' "$tmp"/writer-*.log || fail "capreg answered 500 during the failover: $(grep -m1 '^fail .* status=500' "$tmp"/writer-*.log)"
if [[ -n "${FIGURES:-}" ]]; then
    for i in 0 1; do
        python3 -c 'import json,sys; f = json.load(open(sys.argv[1])); f["via"] = sys.argv[2]; f["promoted_after_kill_s"] = float(sys.argv[3]); print(json.dumps(f))' \
            "$tmp/figures-${names[$i]}.json" "${names[$i]}" "$promoted" >> "$FIGURES"
    done
fi

for i in 0 1; do
    kill -TERM "${serve_pids[$i]}"
    status=0; wait "${serve_pids[$i]}" || status=$?
    serve_pids[$i]=""
    ((status == 0)) || fail "capreg serve ${names[$i]} exited $status after SIGTERM"
done
ok=1
echo "failover test: passed in $((SECONDS - started)) s"
