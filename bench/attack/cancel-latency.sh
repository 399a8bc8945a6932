#!/usr/bin/env bash
# Cancel latency: the time from a client hanging up on an expensive query to the server's CPU stopping.
# Starts `capreg serve` on DB (a `capreg synth --ingest` fleet; the figure in docs/figures.md is on
# 100,000 hosts), sends a question that takes far longer than a second (150 label predicates as of a
# revision), hangs up after HANGUP seconds, then samples the server's utime+stime (/proc/PID/stat, clock
# ticks) every 10 ms until it has not grown for a second. The latency is from the hang-up to the last
# sample that still grew (so it is a multiple of the 10 ms tick). The query budget is raised so that only
# the hang-up can stop the read.
#
#   bench/attack/cancel-latency.sh DB [CAPREG] [HANGUP_SECONDS] [RUNS]
set -euo pipefail
db=${1:?usage: cancel-latency.sh DB [CAPREG] [HANGUP_SECONDS] [RUNS]}
capreg=${2:-.build/release/capreg}
hangup=${3:-1}
runs=${4:-5}
port=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$capreg" serve --db "$db" --listen "127.0.0.1:$port" --query-budget 10m --stale-after 36500d 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
revision=$(curl -sf "http://127.0.0.1:$port/v1/stats" | python3 -c 'import json,sys; print(max(1, json.load(sys.stdin)["revision"] // 2))')
where=$(python3 -c 'import urllib.parse; print(urllib.parse.quote(" or ".join("label.k%d = \"v\"" % i for i in range(150))))')
url="http://127.0.0.1:$port/v1/hosts?as_of_revision=$revision&totals=true&fresh_within=off&where=$where"

for run in $(seq "$runs"); do
    python3 - "$server" "$port" "$url" "$hangup" <<'PY'
import socket, sys, time
pid, port, url, hangup = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15), in clock ticks
target = url.split(str(port), 1)[1]
client = socket.create_connection(("127.0.0.1", port))
client.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
before = cpu()
time.sleep(hangup)
busy = cpu() > before
client.close()
hung_up = time.monotonic()
last, last_growth = cpu(), hung_up
while time.monotonic() - last_growth < 1.0 and time.monotonic() - hung_up < 60:
    time.sleep(0.01)
    now = cpu()
    if now != last:
        last, last_growth = now, time.monotonic()
print(f"cancel latency: {1000 * (last_growth - hung_up):.0f} ms" + ("" if busy else " (the server was not busy before the hang-up)"))
PY
done
curl -s "http://127.0.0.1:$port/metrics" | grep '^capreg_queries_interrupted_total'
