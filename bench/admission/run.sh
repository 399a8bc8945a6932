#!/usr/bin/env bash
# Peak memory of `capreg serve` while 150 clients each send a 4 MiB request body at once (the issue's
# figure), without a token and, separately, with a collector token (the body budget's case).
#   bench/admission/run.sh [CAPREG_BINARY] [CLIENTS] [MIB]     defaults: .build/debug/capreg 150 4
# Prints the server's VmHWM (peak RSS, /proc/PID/status) after the clients are done, and how the
# clients were answered. Debug or release binaries both work; compare two binaries built the same way.
set -euo pipefail
binary=${1:-.build/debug/capreg}
clients=${2:-150}
mib=${3:-4}
dir=$(mktemp -d)
collector="collector-bench-token-0123456789"
cleanup() { [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

run() {  # $1: label, $2: token or empty
    local port=$((20000 + RANDOM % 20000))
    CAPREG_TOKENS="collector $collector" "$binary" serve --db "$dir/$1.sqlite" --listen "127.0.0.1:$port" \
        2>"$dir/$1.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local answers
    answers=$(python3 - "$port" "$clients" "$mib" "$2" <<'PY'
import socket, sys, threading, collections
port, clients, mib, token = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
size = mib << 20
body = b"x" * size
auth = f"Authorization: Bearer {token}\r\n" if token else ""
head = f"POST /v1/reports HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{auth}Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
counts = collections.Counter()
lock = threading.Lock()
start = threading.Barrier(clients)
def client():
    status = "no answer"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        start.wait()
        s.sendall(head)
        try:
            s.sendall(body)
        except OSError:
            pass  # the server answered on the head and closed: the body was never wanted
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        if data: status = data.split(b" ")[1].decode()
    except OSError as e:
        status = type(e).__name__
    with lock: counts[status] += 1
threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(f"{k}x{v}" for k, v in sorted(counts.items())))
PY
)
    local hwm
    hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
    printf '%-22s VmHWM %-12s answers: %s\n' "$1" "$hwm" "$answers"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

echo "== $binary: $clients clients x $mib MiB bodies at once"
run "no token" ""
run "collector token" "$collector"
