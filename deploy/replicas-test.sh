#!/usr/bin/env bash
# Several `capreg serve` replicas on one PostgreSQL behind a real haproxy (issue 16), all on loopback:
#   - a throwaway PostgreSQL cluster (initdb as user postgres, a temporary folder, a free port);
#   - three replicas started at once on the same database (the first applies the migrations, the others
#     wait on the writers' advisory lock), each on a free port, with a collector and a reader token;
#   - haproxy running deploy/haproxy/haproxy.cfg as shipped (its capreg part: /readyz checks, retries on
#     another replica), only its addresses rewritten;
#   - deploy/report-writer.py: WORKERS threads POSTing reports through haproxy one after another, each
#     acknowledgement logged with its revision; after each, the host is read at once from another replica,
#     straight, with min_revision=<that revision> (read-your-writes across replicas);
#   - one replica SIGKILLed mid-load, later started again.
# Checks: every acknowledged report is stored under the revision it was acknowledged with (SQL) and is
# in its host's history read through haproxy; every read-your-writes answer is at least that revision
# with the report's state; haproxy marked the killed replica DOWN, then UP, and it answered again;
# acknowledgements continued while it was down; the replicas exit 0 on SIGTERM.
# Usage: deploy/replicas-test.sh   (root, or as a user that can run PostgreSQL's initdb)
# Env: CAPREG (binary; default .build/debug/capreg, built when missing), WORKERS=4, LOAD_SECONDS=6 (before
# the kill), DOWN_SECONDS=6, AFTER_SECONDS=5, CAPREG_REPLICAS_REQUIRED=1 makes a skip fail, KEEP_TMP=1,
# FIGURES=FILE (append the figures as a JSON line; bench/replicas/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${WORKERS:-4} load=${LOAD_SECONDS:-6} down=${DOWN_SECONDS:-6} after=${AFTER_SECONDS:-5} limit=${TIME_LIMIT:-170}
started=$SECONDS

skip() {
    echo "replicas test: SKIPPED: $*"
    [[ "${CAPREG_REPLICAS_REQUIRED:-0}" == 1 ]] && { echo "replicas test: CAPREG_REPLICAS_REQUIRED=1, so this is a failure" >&2; exit 1; }
    exit 0
}
fail() { echo "replicas test: FAIL: $*" >&2; exit 1; }
command -v haproxy >/dev/null || skip "no haproxy (apt-get install haproxy)"
command -v python3 >/dev/null || skip "no python3"
command -v curl >/dev/null || skip "no curl"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$pgbin" && -x "$pgbin/initdb" ]] || skip "no PostgreSQL server (apt-get install postgresql-15)"
as_pg=()
if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user for initdb"
    as_pg=(/usr/sbin/runuser -u postgres --)
fi

capreg=${CAPREG:-.build/debug/capreg}
if [[ ! -x "$capreg" ]]; then
    swift build --product capreg > /tmp/capreg-replicas-build.log 2>&1 || { tail -30 /tmp/capreg-replicas-build.log; fail "swift build failed"; }
fi
capreg=$(realpath "$capreg")

tmp="$(mktemp -d /tmp/capreg-replicas.XXXXXX)"
chmod 755 "$tmp"
serve_pids=("" "" "") writer_pid="" haproxy_pid="" watchdog="" pg_started=0 ok=0
cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    exec 2>/dev/null   # no "Killed" notices for the processes stopped below
    [[ -n "$watchdog" ]] && kill "$watchdog" 2>/dev/null || true
    for pid in $writer_pid $haproxy_pid "${serve_pids[@]}"; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done
    ((pg_started)) && "${as_pg[@]}" "$pgbin/pg_ctl" stop -m immediate -D "$tmp/pg/data" >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    if ((ok == 0)); then
        for f in "$tmp"/*.log "$tmp"/pg/server.log; do [[ -f "$f" ]] && { echo "--- tail of $f"; tail -n 15 "$f"; }; done
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
trap 'echo "replicas test: interrupted (time limit ${limit}s?)" >&2; exit 124' TERM INT
( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "$limit" & s=$!; wait $s; kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- PostgreSQL: a throwaway cluster on a free port (trust on loopback, as the tests' PostgresCluster).
mkdir -p "$tmp/pg"
[[ ${#as_pg[@]} == 0 ]] || chown postgres "$tmp/pg"
pgport=$(free_port)
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg/data" --locale=C -E UTF8 --auth=trust -U postgres --no-sync > "$tmp/initdb.log" 2>&1 ||
    fail "initdb failed"
"${as_pg[@]}" "$pgbin/pg_ctl" start -w -t 60 -D "$tmp/pg/data" -l "$tmp/pg/server.log" \
    -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/pg -c fsync=off -c max_connections=100" > /dev/null ||
    fail "PostgreSQL did not start"
pg_started=1
psql=("$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE capreg" || fail "CREATE DATABASE failed"
db="postgres://postgres@127.0.0.1:$pgport/capreg"

# --- Three replicas, started together on the same (empty) database.
collector_token="collector-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reader_token="reader-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'collector %s\nreader %s\n' "$collector_token" "$reader_token" > "$tmp/tokens"
chmod 600 "$tmp/tokens"
ports=()
for i in 1 2 3; do ports+=("$(free_port)"); done
start_replica() {  # start_replica INDEX(0-2)
    local i=$1
    "$capreg" serve --db "$db" --listen "127.0.0.1:${ports[$i]}" --tokens "$tmp/tokens" >> "$tmp/serve-r$((i + 1)).log" 2>&1 &
    serve_pids[$i]=$!
}
wait_ready() {  # wait_ready INDEX
    local i=$1
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1 && return 0
        kill -0 "${serve_pids[$i]}" 2>/dev/null || fail "replica r$((i + 1)) exited while starting"
        sleep 0.1
    done
    fail "replica r$((i + 1)) was not ready within 30 s"
}
for i in 0 1 2; do start_replica $i; done
for i in 0 1 2; do wait_ready $i; done
echo "replicas test: PostgreSQL on :$pgport, replicas r1 r2 r3 on :${ports[0]} :${ports[1]} :${ports[2]} (+$((SECONDS - started)) s)"

# --- haproxy: the shipped configuration's capreg part, addresses rewritten, logging to its stderr.
hport=$(free_port)
awk '/^listen postgres_primary/ { exit } { print }' deploy/haproxy/haproxy.cfg |
    sed -e "s#bind 127.0.0.1:8080#bind 127.0.0.1:$hport#" \
        -e "s#server r1 127.0.0.1:8081#server r1 127.0.0.1:${ports[0]}#" \
        -e "s#server r2 127.0.0.1:8082#server r2 127.0.0.1:${ports[1]}#" \
        -e "s#server r3 127.0.0.1:8083#server r3 127.0.0.1:${ports[2]}#" \
        -e "s#log /dev/log local0 info#log stderr format short local0 info#" > "$tmp/haproxy.cfg"
for want in "bind 127.0.0.1:$hport" "server r1 127.0.0.1:${ports[0]} check" "server r3 127.0.0.1:${ports[2]} check" "option httpchk GET /readyz"; do
    grep -q "$want" "$tmp/haproxy.cfg" || fail "the shipped haproxy.cfg no longer has the line the test rewrites: $want"
done
haproxy -c -f "$tmp/haproxy.cfg" > "$tmp/haproxy-check.log" 2>&1 || { cat "$tmp/haproxy-check.log"; fail "haproxy -c refused the configuration"; }
haproxy -db -f "$tmp/haproxy.cfg" > "$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
url="http://127.0.0.1:$hport"
for _ in $(seq 1 50); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/readyz" >/dev/null || fail "haproxy does not answer /readyz"

# --- The writer: a report template from capreg synth; its workers push through haproxy.
"$capreg" synth --hosts 1 --days 1 --seed 16 --out "$tmp/template.jsonl" 2> /dev/null
ryw=()
for i in 1 2 3; do ryw+=(--ryw "r$i=http://127.0.0.1:${ports[$((i - 1))]}"); done
python3 deploy/report-writer.py --url "$url" --token "$collector_token" --reader-token "$reader_token" \
    --template "$tmp/template.jsonl" --workers "$workers" --prefix replicas --log "$tmp/writer.log" "${ryw[@]}" \
    2> "$tmp/writer-stderr.log" &
writer_pid=$!
acks() { grep -c '^ack ' "$tmp/writer.log" 2>/dev/null || true; }
sleep "$load"
before=$(acks)
((before > 0)) || fail "no report was acknowledged in the first $load s"

# --- SIGKILL r2 mid-load; the writer keeps going through haproxy.
kill_time=$(date +%s.%N)
kill -KILL "${serve_pids[1]}"; wait "${serve_pids[1]}" 2>/dev/null || true
echo "replicas test: r2 SIGKILLed at +$((SECONDS - started)) s with $before reports acknowledged; down $down s"
sleep "$down"
during=$(acks)
((during > before)) || fail "no report was acknowledged while r2 was down"
grep -q "capreg_replicas/r2 is DOWN" "$tmp/haproxy.log" || fail "haproxy did not mark r2 DOWN within $down s"

# --- r2 back: haproxy must take it in again (two good /readyz checks) and send it requests.
restart_time=$(date +%s.%N)
start_replica 1
wait_ready 1
sleep "$after"
served_after() { awk -v t="$restart_time" '$1 == "ack" && $2 > t && $8 == "r2"' "$tmp/writer.log" | wc -l; }
for _ in $(seq 1 150); do   # a loaded machine: up to 15 s more
    grep -q "capreg_replicas/r2 is UP" "$tmp/haproxy.log" && (($(served_after) > 0)) && break
    sleep 0.1
done
grep -q "capreg_replicas/r2 is UP" "$tmp/haproxy.log" || fail "haproxy did not mark r2 UP again within $((after + 15)) s of its restart"
served_after=$(served_after)
((served_after > 0)) || fail "r2 answered no POST after it came back"
kill -TERM "$writer_pid"; wait "$writer_pid" || fail "the writer exited $?"
writer_pid=""

# --- Every acknowledged report: stored under its revision (SQL), and in its host's history (through haproxy).
"${psql[@]}" -d capreg -F '|' -c "SELECT report_id, id FROM reports WHERE report_id LIKE 'replicas-%'" > "$tmp/stored.txt"
python3 deploy/ack-check.py --log "$tmp/writer.log" --stored "$tmp/stored.txt" --url "$url" --reader-token "$reader_token" \
    --kill "$kill_time" --json "$tmp/figures.json" --label "replicas test" || fail "acknowledged reports lost or read-your-writes failed (above)"
ryw_ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ryw"]["ok"])' "$tmp/figures.json")
((ryw_ok > 0)) || fail "no read-your-writes check was made"
for r in r1 r3; do
    n=$(awk -v t="$kill_time" -v r="$r" '$1 == "ack" && $2 > t && $8 == r' "$tmp/writer.log" | wc -l)
    ((n > 0)) || fail "$r answered no POST after r2 was killed"
done
[[ -z "${FIGURES:-}" ]] || { cat "$tmp/figures.json"; echo; } >> "$FIGURES"
echo "replicas test: acknowledged $before before the kill, $(acks) in all; r2 served $served_after after its restart"
echo "replicas test: writer attempts that failed (haproxy could not hide them): $(grep -c '^fail ' "$tmp/writer.log" || true)" \
    "$(awk '$1 == "fail" { print $5 }' "$tmp/writer.log" | cut -c1-120 | sort | uniq -c | tr -s ' \n' ' ')"

# --- The replicas stop cleanly.
for i in 0 1 2; do
    kill -TERM "${serve_pids[$i]}"
    status=0; wait "${serve_pids[$i]}" || status=$?
    serve_pids[$i]=""
    ((status == 0)) || fail "replica r$((i + 1)) exited $status after SIGTERM"
done
ok=1
echo "replicas test: passed in $((SECONDS - started)) s"
