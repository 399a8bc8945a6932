#!/usr/bin/env bash
# A reader's requests while an unauthenticated flood keeps opening connections that send nothing.
#   bench/admission/flood.sh [CAPREG_BINARY] [SECONDS] [FLOOD_THREADS]   defaults: .build/debug/capreg 10 4
# capreg serve runs with one reader token and --max-connections 64. FLOOD_THREADS threads open silent
# connections as fast as they can (each kept until the server closes it); meanwhile one client makes
# requests with the token, a new connection each. Prints how those requests were answered, their
# latency, and the server's admission counters from /metrics.
set -euo pipefail
binary=${1:-.build/debug/capreg}
seconds=${2:-10}
threads=${3:-4}
dir=$(mktemp -d)
reader="reader-bench-token-0123456789"
cleanup() { [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true
port=$((20000 + RANDOM % 20000))
CAPREG_TOKENS="reader $reader" "$binary" serve --db "$dir/r.sqlite" --listen "127.0.0.1:$port" --max-connections 64 \
    2>"$dir/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 - "$port" "$seconds" "$threads" "$reader" <<'PY'
import socket, sys, threading, time, collections
port, seconds, threads, token = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
stop = time.time() + seconds
opened = [0]
def flood():
    held = []
    while time.time() < stop:
        try:
            s = socket.socket(); s.setblocking(True); s.connect(("127.0.0.1", port)); held.append(s); opened[0] += 1
        except OSError:
            time.sleep(0.001)
        if len(held) > 2000:
            for s in held[:1000]: s.close()
            del held[:1000]
    for s in held: s.close()
ts = [threading.Thread(target=flood) for _ in range(threads)]
for t in ts: t.start()
time.sleep(0.5)
counts, latencies = collections.Counter(), []
request = f"GET /v1/stats HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
while time.time() < stop - 0.2:
    t0 = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(request)
        data = s.recv(64)
        status = data.split(b" ")[1].decode() if data else "closed"
        s.close()
    except OSError as e:
        status = type(e).__name__
    counts[status] += 1
    latencies.append(time.time() - t0)
    time.sleep(0.02)
for t in ts: t.join()
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
print(f"flood: {opened[0]} silent connections in {seconds:.0f} s from {threads} threads")
print("reader: " + " ".join(f"{k}x{v}" for k, v in sorted(counts.items())) + f"; latency p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1]*1000:.1f} ms")
PY
curl -s -H "Authorization: Bearer $reader" "http://127.0.0.1:$port/metrics" | grep -E '^capreg_http_(connections_rejected|anonymous_connections_cut|connections_accepted)'
