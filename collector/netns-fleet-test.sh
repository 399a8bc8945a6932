#!/usr/bin/env bash
# Fleet on one machine: network namespaces joined by veth links to a bridge in the registry's namespace
# (10.231.0.0/24 exists only inside them), one `capreg collect` daemon per agent namespace (its own
# sysfs tree, hostname, labels and spool), one `capreg serve` in the registry namespace. The registry
# is SIGKILLed and restarted mid-run; then the agents are stopped (SIGTERM, exit 0) and
# netns-fleet-check.py compares every report each agent logged as spooled with the registry: each full
# report stored exactly once by id, each heartbeat kept exactly once by its time, none missing.
# Usage: collector/netns-fleet-test.sh   (root; env: AGENTS=4 KILLS=2 CAPREG_SCRATCH=.build
# CAPREG_NETNS_REQUIRED=1 turns "not permitted" into a failure instead of a skip; KEEP_TMP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${AGENTS:-4} kills=${KILLS:-2} limit=${FLEET_TIME_LIMIT:-110}
# Down longer than the client's 5 s wait for a connection (RegistryClient retries within it), so that every
# agent's send fails at least once while the registry is down: the check wants each agent to have seen it.
down=${FLEET_DOWN_SECONDS:-7}
scratch=${CAPREG_SCRATCH:-.build}
captures=../shared/captures
trees=(legacy-aw39 scalable-aw48 bpo12k-q10-legacy-aw39 iommufd-q10-scalable-flts)
prefix="capreg-fleet-$$"
reg="$prefix-reg"
addr=10.231.0.1 port=8080
started=$SECONDS

skip() {
    echo "netns fleet test: SKIPPED: $*"
    [[ "${CAPREG_NETNS_REQUIRED:-0}" == 1 ]] && { echo "netns fleet test: CAPREG_NETNS_REQUIRED=1, so this is a failure" >&2; exit 1; }
    exit 0
}
command -v ip >/dev/null || skip "no ip (apt-get install iproute2)"
command -v python3 >/dev/null || skip "no python3"

tmp="$(mktemp -d /tmp/capreg-fleet.XXXXXX)"
namespaces=() pids=() server_pid="" watchdog="" ok=0
cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    [[ -n "$watchdog" ]] && kill "$watchdog" 2>/dev/null || true
    for pid in "${pids[@]}" $server_pid; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if ((ok == 0)) && [[ -d "$tmp/logs" ]]; then
        for f in "$tmp"/logs/*; do echo "--- tail of $f"; tail -n 15 "$f"; done
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
trap 'echo "netns fleet test: interrupted (time limit ${limit}s?)" >&2; exit 124' TERM INT

if ! err=$(ip netns add "$reg" 2>&1); then skip "ip netns add is not permitted here (needs root/CAP_SYS_ADMIN): $err"; fi
namespaces+=("$reg")

swift build --scratch-path "$scratch" --product capreg
capreg="$(swift build --scratch-path "$scratch" --show-bin-path)/capreg"
# Bounded from here on: the watchdog ends the run (and the trap cleans up) after $limit seconds.
( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "$limit" & s=$!; wait $s; kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!

# The network: a bridge in the registry namespace, one veth per agent namespace. Nothing in the
# initial namespace is touched; the links vanish with their namespaces.
ip -n "$reg" link set lo up
ip -n "$reg" link add br0 type bridge
ip -n "$reg" addr add "$addr/24" dev br0
ip -n "$reg" link set br0 up
for i in $(seq 1 "$agents"); do
    ns="$prefix-a$i"
    ip netns add "$ns"; namespaces+=("$ns")
    ip -n "$reg" link add "va$i" type veth peer name eth0 netns "$ns"
    ip -n "$reg" link set "va$i" master br0
    ip -n "$reg" link set "va$i" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.231.0.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
done

mkdir -p "$tmp/logs"
collector_token="collector-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reader_token="reader-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'collector %s\nreader %s\n' "$collector_token" "$reader_token" > "$tmp/tokens"
printf '%s\n' "$collector_token" > "$tmp/collector.token"
chmod 600 "$tmp/tokens" "$tmp/collector.token"

starts=0
start_registry() {
    starts=$((starts + 1))
    ip netns exec "$reg" "$capreg" serve --db "$tmp/registry.sqlite" --listen "$addr:$port" --tokens "$tmp/tokens" \
        > /dev/null 2>> "$tmp/logs/serve.log" &
    server_pid=$!
    for _ in $(seq 1 100); do
        (($(grep -c 'listening on' "$tmp/logs/serve.log" || true) >= starts)) &&
            ip netns exec "$reg" curl -fsS "http://$addr:$port/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "netns fleet test: the registry did not become ready" >&2; exit 1
}
start_registry

# Agents: each its own capture tree, hostname, labels and spool, from its own config file.
for i in $(seq 1 "$agents"); do
    tree=${trees[$(((i - 1) % ${#trees[@]}))]}
    mkdir -p "$tmp/a$i"
    cp -r "$captures/$tree/sysfs" "$tmp/a$i/sysfs"
    cat > "$tmp/a$i/collector.conf" <<EOF
registry = http://$addr:$port
token_file = $tmp/collector.token
spool = $tmp/a$i/spool
interval = 1
sysfs_root = $tmp/a$i/sysfs
hostname = fleet-$i-$tree
label.rack = r$i
label.capture = $tree
EOF
    ip netns exec "$prefix-a$i" "$capreg" collect --config "$tmp/a$i/collector.conf" --backoff-base 0.2 --backoff-cap 1 \
        > /dev/null 2> "$tmp/logs/agent-$i.log" &
    pids+=($!)
done
echo "netns fleet test: registry $addr:$port in $reg, $agents agents in $prefix-a1..a$agents"

for k in $(seq 1 "$kills"); do
    sleep 4
    kill -KILL "$server_pid"; wait "$server_pid" 2>/dev/null || true
    echo "kill $k: registry SIGKILLed at +$((SECONDS - started))s; down $down s"
    # The first agent's host changes while the registry is down: a full report must follow heartbeats.
    ((k == 1)) && cp "$captures/scalable-aw48/sysfs/class/iommu/dmar0/intel-iommu/"{cap,ecap} "$tmp/a1/sysfs/class/iommu/dmar0/intel-iommu/"
    sleep "$down"
    start_registry
    echo "kill $k: registry restarted at +$((SECONDS - started))s"
done
sleep 4

# Stop: wait (bounded) for every spool to drain, then SIGTERM each agent; each must exit 0.
for _ in $(seq 1 100); do
    ls "$tmp"/a*/spool/r-*.json >/dev/null 2>&1 || break
    sleep 0.1
done
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for i in $(seq 1 "$agents"); do
    status=0; wait "${pids[$((i - 1))]}" || status=$?
    ((status == 0)) || { echo "netns fleet test: agent $i exited $status after SIGTERM" >&2; exit 1; }
done
pids=()
# A report spooled just before SIGTERM is still waiting: restart that agent once (--once) to send it.
for i in $(seq 1 "$agents"); do
    if ls "$tmp/a$i"/spool/r-*.json >/dev/null 2>&1; then
        echo "agent $i: $(ls "$tmp/a$i"/spool/r-*.json | wc -l) report(s) left in its spool at SIGTERM; restarting it with --once"
        ip netns exec "$prefix-a$i" "$capreg" collect --config "$tmp/a$i/collector.conf" --once --backoff-base 0.2 \
            2>> "$tmp/logs/agent-$i.log"
    fi
done
# Repeats the last registry answered as duplicates (a send cut by a kill after the store committed).
ip netns exec "$reg" curl -fsS -H "Authorization: Bearer $reader_token" "http://$addr:$port/metrics" |
    grep '^capreg_ingested_reports_total' | sed 's/^/last registry: /' || true
kill -TERM "$server_pid"
status=0; wait "$server_pid" || status=$?
server_pid=""
((status == 0)) || { echo "netns fleet test: capreg serve exited $status after SIGTERM" >&2; exit 1; }

python3 collector/netns-fleet-check.py "$tmp" "$agents" "$kills"
ok=1
echo "netns fleet test: passed in $((SECONDS - started)) s"
