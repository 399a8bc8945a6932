#!/usr/bin/env bash
# Real nginx with mutual TLS in front of capreg serve, collectors in network namespaces (issue 15).
# A throwaway CA made here with openssl signs the server's certificate and the hosts' client certificates
# (one then revoked in the CRL, one already expired). nginx runs deploy/nginx/capreg-mtls.conf as
# shipped, with only its paths and addresses rewritten. Checks:
#   1. host-a writes itself through mTLS; the registry records cert:host-a and its namespace's address;
#   2. host-a's certificate writing host-b is 403 (host_mismatch), kept in its spool, recorded as refused;
#   3. a revoked certificate, an expired one, and a revoked token are refused (403 / 403 / 401);
#   4. plain HTTP to the TLS port, and TLS 1.1, are refused and never reach capreg;
#   5. nginx stopped and restarted while a collector daemon pushes: every report it spooled is stored once;
#   6. capreg query --server https://… with --ca reads through the same client; without the CA it is refused.
# Usage: deploy/nginx/tls-test.sh   (root; env CAPREG_SCRATCH=.build, CAPREG_TLS_REQUIRED=1 makes a skip fail,
# KEEP_TMP=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=${CAPREG_SCRATCH:-.build}
prefix="capreg-tls-$$"
gw=10.232.0.1 tls_port=8443 capreg_port=18080
sysfs=../shared/captures/scalable-aw48/sysfs
started=$SECONDS

skip() {
    echo "nginx TLS test: SKIPPED: $*"
    [[ "${CAPREG_TLS_REQUIRED:-0}" == 1 ]] && { echo "nginx TLS test: CAPREG_TLS_REQUIRED=1, so this is a failure" >&2; exit 1; }
    exit 0
}
command -v nginx >/dev/null || skip "no nginx (apt-get install nginx-light)"
command -v openssl >/dev/null || skip "no openssl"
command -v ip >/dev/null || skip "no ip (apt-get install iproute2)"

tmp="$(mktemp -d /tmp/capreg-tls.XXXXXX)"
namespaces=() pids=() serve_pid="" ok=0
cleanup() {
    local rc=$?
    trap - EXIT
    for pid in "${pids[@]}" $serve_pid; do kill -KILL "$pid" 2>/dev/null || true; done
    [[ -f "$tmp/nginx.pid" ]] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    [[ -n "${bridge:-}" ]] && ip link del "$bridge" 2>/dev/null || true
    if ((ok == 0)); then for f in "$tmp"/*.log; do [[ -f "$f" ]] && { echo "--- tail of $f"; tail -n 20 "$f"; }; done; fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
fail() { echo "nginx TLS test: FAIL: $*" >&2; exit 1; }

# --- The network: two host namespaces, each a veth to a bridge in the initial namespace (where nginx is).
if ! err=$(ip netns add "$prefix-a" 2>&1); then skip "ip netns add is not permitted here: $err"; fi
namespaces+=("$prefix-a")
ip netns add "$prefix-b"; namespaces+=("$prefix-b")
bridge="ctg$$"   # interface names: at most 15 characters
ip link add "$bridge" type bridge
ip addr add "$gw/24" dev "$bridge"
ip link set "$bridge" up
n=10
for h in a b; do
    n=$((n + 1))
    ip link add "ct$$$h" type veth peer name eth0 netns "$prefix-$h"
    ip link set "ct$$$h" master "$bridge" up
    ip -n "$prefix-$h" link set lo up
    ip -n "$prefix-$h" addr add "10.232.0.$n/24" dev eth0
    ip -n "$prefix-$h" link set eth0 up
done

# --- A throwaway CA: the server's certificate (for the gateway address), host certificates, a CRL.
. deploy/nginx/throwaway-ca.sh
make_ca "$tmp" "capreg test"
sign "$tmp" server registry "server:IP:$gw"
sign "$tmp" host-a host-a client
sign "$tmp" host-c host-c client
sign "$tmp" host-d host-d client -startdate 20200101000000Z -enddate 20200102000000Z
revoke "$tmp" host-c
crl "$tmp"

# --- capreg serve on loopback, trusting nginx (127.0.0.1) for X-Real-IP and the client certificate.
swift build --scratch-path "$scratch" --product capreg > "$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; fail "swift build failed"; }
capreg="$(swift build --scratch-path "$scratch" --show-bin-path)/capreg"
admin="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'admin %s\n' "$admin" > "$tmp/tokens"
"$capreg" serve --db "$tmp/registry.sqlite" --listen "127.0.0.1:$capreg_port" --tokens "$tmp/tokens" \
    --trusted-proxy 127.0.0.1 2> "$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$capreg_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# --- nginx: the shipped mTLS configuration, its paths and addresses pointed at this run.
mkdir -p "$tmp/nginx"
sed -e "s#/etc/capreg/tls/#$tmp/#g" -e "s#/etc/nginx/capreg/#$tmp/nginx/#g" \
    -e "s#127.0.0.1:8080#127.0.0.1:$capreg_port#" -e "s#listen 8443 ssl;#listen $gw:$tls_port ssl;#" -e '/listen \[::\]:8443/d' \
    deploy/nginx/capreg-mtls.conf > "$tmp/nginx/capreg-mtls.conf"
cp deploy/nginx/capreg-proxy.inc "$tmp/nginx/"
cat > "$tmp/nginx/nginx.conf" <<EOF
# The test runs as root in a private folder: workers as root too, so they can use it (not for production).
user root;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log $tmp/nginx-access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    include $tmp/nginx/capreg-mtls.conf;
}
EOF
grep -q "listen $gw:$tls_port ssl;" "$tmp/nginx/capreg-mtls.conf" || fail "the shipped configuration's listen line was not found"
start_nginx() { nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" -e "$tmp/nginx-error.log"; }
start_nginx
url="https://$gw:$tls_port"
tls=(--ca "$tmp/fleet-ca.pem")
in_a() { ip netns exec "$prefix-a" "$@"; }
in_b() { ip netns exec "$prefix-b" "$@"; }
collect() {  # collect NS HOSTNAME SPOOL [options…]
    local ns=$1 host=$2 spool=$3; shift 3
    ip netns exec "$prefix-$ns" "$capreg" collect --push "$url" "${tls[@]}" --sysfs-root "$sysfs" --no-probes \
        --hostname "$host" --spool "$spool" --backoff-base 0.1 --backoff-cap 0.5 "$@"
}
stored() { sqlite3 "$tmp/registry.sqlite" "$1" 2>/dev/null || python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$tmp/registry.sqlite" "$1"; }

# 1. host-a writes itself through mTLS.
collect a host-a "$tmp/spool-a" --once --client-cert "$tmp/host-a.pem" --client-key "$tmp/host-a.key" 2>> "$tmp/collect-a.log" ||
    fail "host-a's push through mTLS did not succeed (see collect-a.log)"
who=$(stored "SELECT written_by || ' ' || peer FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.hostname = 'host-a'")
[[ "$who" == "cert:host-a 10.232.0.11" ]] || fail "host-a's report was recorded as written by '$who', not 'cert:host-a 10.232.0.11'"
echo "1. host-a wrote itself through mTLS: recorded as $who"

# 2. host-a's certificate writing host-b: 403, kept in the spool, recorded as a refusal.
status=0; collect a host-b "$tmp/spool-a2" --once --attempts 1 --client-cert "$tmp/host-a.pem" --client-key "$tmp/host-a.key" \
    2>> "$tmp/collect-a2.log" || status=$?
((status == 75)) || fail "host-a writing host-b exited $status, expected 75 (refused, kept in the spool)"
grep -q "403" "$tmp/collect-a2.log" || fail "host-a writing host-b: no 403 in the collector's log"
[[ $(stored "SELECT count(*) FROM hosts WHERE hostname = 'host-b'") == 0 ]] || fail "host-b was stored from host-a's certificate"
"$capreg" audit --db "$tmp/registry.sqlite" --host host-b | grep -q "refused *cert:host-a *10.232.0.11" ||
    fail "capreg audit --host host-b does not list host-a's refused write"
echo "2. host-a writing host-b: 403 host_mismatch, kept in its spool, listed by capreg audit"

# 3. Refused credentials: a revoked certificate, an expired one, a revoked token.
for cert in host-c host-d; do
    answer=$(in_b curl -sS -o /dev/null -w '%{http_code}' --cacert "$tmp/fleet-ca.pem" --cert "$tmp/$cert.pem" --key "$tmp/$cert.key" \
        -X POST --data-binary @/dev/null "$url/v1/reports")
    [[ "$answer" == 403 ]] || fail "$cert's certificate got $answer, expected 403"
done
issued=$("$capreg" token issue --db "$tmp/registry.sqlite" --role collector --host host-b --json)
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<< "$issued")
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<< "$issued")
collect b host-b "$tmp/spool-b" --once --token "$secret" 2>> "$tmp/collect-b.log" || fail "host-b's token push over TLS failed"
"$capreg" token revoke --db "$tmp/registry.sqlite" "$id" >/dev/null
sleep 1
status=0; collect b host-b "$tmp/spool-b" --once --attempts 1 --token "$secret" 2>> "$tmp/collect-b.log" || status=$?
((status == 75)) && grep -q "401" "$tmp/collect-b.log" || fail "a revoked token was not refused with 401 (exit $status)"
echo "3. revoked certificate 403, expired certificate 403, revoked token 401"

# 4. Plain HTTP to the TLS port, and TLS 1.1: refused by nginx; capreg never sees them.
before=$(grep -c . "$tmp/nginx-access.log" || true)
answer=$(in_b curl -sS -o "$tmp/plain.json" -w '%{http_code}' -X POST --data-binary @/dev/null "http://$gw:$tls_port/v1/reports")
[[ "$answer" == 400 ]] && grep -q tls_required "$tmp/plain.json" || fail "plain HTTP to the TLS port got $answer: $(cat "$tmp/plain.json")"
# The client offers TLS 1.1 with every cipher allowed, so the refusal is the server's.
if in_b openssl s_client -connect "$gw:$tls_port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' < /dev/null > "$tmp/tls11.log" 2>&1; then fail "TLS 1.1 was accepted"; fi
echo "4. plain HTTP to the TLS port: 400 tls_required; TLS 1.1: no handshake"

# 5. nginx stopped and restarted under a pushing collector daemon: every spooled report arrives once.
cp -r "$sysfs" "$tmp/sysfs-a"
# Started directly (not through in_a), so that $! is the collector itself: `ip netns exec` execs it.
ip netns exec "$prefix-a" "$capreg" collect --push "$url" "${tls[@]}" --client-cert "$tmp/host-a.pem" --client-key "$tmp/host-a.key" \
    --sysfs-root "$tmp/sysfs-a" --no-probes --hostname host-a --spool "$tmp/spool-a" --interval 1 \
    --backoff-base 0.1 --backoff-cap 0.5 2> "$tmp/daemon-a.log" &
pids+=($!)
served() { grep -c "^10.232.0.11 " "$tmp/nginx-access.log" || true; }
for k in 1 2; do
    before=$(served)
    sleep 3
    (($(served) > before)) || fail "no push from the daemon reached nginx before stop $k"
    kill -TERM "$(cat "$tmp/nginx.pid")"; sleep 0.5
    for _ in $(seq 1 50); do [[ -f "$tmp/nginx.pid" ]] || break; sleep 0.1; done
    echo "   nginx stopped (+$((SECONDS - started)) s), down 2 s"
    sleep 2
    start_nginx
done
before=$(served)
sleep 2
(($(served) > before)) || fail "no push from the daemon reached nginx after its last restart"
# Bounded by the client's 30 s per request: a request cut by the restart ends by then and is retried.
for _ in $(seq 1 400); do ls "$tmp"/spool-a/r-*.json >/dev/null 2>&1 || break; sleep 0.1; done
kill -TERM "${pids[0]}"; status=0; wait "${pids[0]}" || status=$?
((status == 0)) || fail "the collector daemon exited $status after SIGTERM, not 0"
pids=()
if ls "$tmp"/spool-a/r-*.json >/dev/null 2>&1; then
    collect a host-a "$tmp/spool-a" --once --client-cert "$tmp/host-a.pem" --client-key "$tmp/host-a.key" 2>> "$tmp/daemon-a.log" ||
        fail "the reports left in host-a's spool were not delivered"
fi
count=$(grep -c 'INFO spooled ' "$tmp/daemon-a.log" || true)
((count >= 5)) || fail "the daemon spooled only $count reports in the run"
python3 collector/kept.py "$tmp/registry.sqlite" host-a "$tmp/collect-a.log" "$tmp/daemon-a.log" ||
    fail "reports spooled by host-a were not each kept exactly once (reports by id, heartbeats by time)"
echo "5. nginx restarted twice under a pushing daemon: all $count spooled reports kept once"

# 6. capreg query --server over https with a reader credential, through the same client as the collector.
reader=$("$capreg" token issue --db "$tmp/registry.sqlite" --role reader --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
listed=$(in_b "$capreg" query --server "$url" --ca "$tmp/fleet-ca.pem" --token "$reader" --fresh-within off --json) ||
    fail "capreg query --server https://… failed"
python3 -c 'import json,sys; d=json.load(sys.stdin); hosts=[h["hostname"] for h in (d["hosts"] if isinstance(d, dict) else d)]; sys.exit(0 if hosts == ["host-a", "host-b"] else 1)' <<< "$listed" ||
    fail "capreg query over https listed other hosts than host-a and host-b: ${listed:0:300}"
status=0; in_b "$capreg" query --server "$url" --token "$reader" > /dev/null 2> "$tmp/query-noca.log" || status=$?
((status == 69)) && grep -qi "certificate\|TLS" "$tmp/query-noca.log" || fail "a server certificate from an unknown CA was not refused (exit $status: $(head -c 300 "$tmp/query-noca.log"))"
echo "6. capreg query --server https:// with --ca lists host-a and host-b; without the fleet CA the server's certificate is refused (exit 69)"

kill -TERM "$serve_pid"; wait "$serve_pid" || fail "capreg serve did not exit 0 on SIGTERM"
serve_pid=""
ok=1
echo "nginx TLS test: passed in $((SECONDS - started)) s"
