#!/usr/bin/env python3
"""Watchers of capreg's change stream (GET /v1/watch), for bench/watch/run.sh.

Opens WATCHERS server-sent-event streams to the server (one epoll loop, non-blocking sockets), reads the
server's RSS and thread count with them held, then makes CHANGES changes (a POST /v1/reports with a kernel
release of its own, so each is a `changed` event) and times, for every watcher, the moment the event's id arrives,
from the moment the POST was sent. A long poll (GET /v1/watch?since=…&wait=30) runs beside them and is
timed the same way. Prints one JSON object.
Usage: watchers.py PORT SERVER_PID WATCHERS CHANGES REPORT_JSON
"""
import json, os, selectors, socket, sys, threading, time, http.client

port, pid, count, changes, report_path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
report = json.load(open(report_path))

def server_status():
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["Threads"])

def post(kernel, n):
    r = dict(report)
    r["report_id"] = f"bench-watch-{os.getpid()}-{n}"
    r["collected_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%03dZ" % (int(time.time() * 1000) % 1000)
    r["kernel"] = dict(r["kernel"], release=kernel)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/reports", body=json.dumps([r]), headers={"Content-Type": "application/json"})
    answer = c.getresponse()
    body = answer.read()
    if answer.status != 200:
        sys.exit(f"POST answered {answer.status}: {body[:300]}")
    return json.loads(body)["results"][0]

def head_id():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/v1/watch?wait=0")
    return json.loads(c.getresponse().read())["next"]

rss0, threads0 = server_status()
sel = selectors.DefaultSelector()
socks = []
request = b"GET /v1/watch HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
opened = time.monotonic()
buffers = [b""] * count
got_head = [False] * count
heads = 0
# In batches of 50, each waiting for its heads: one address opening thousands at once would meet the server's
# per-client connection share (a watcher holds a connection until its head is written), as it should.
for start in range(0, count, 50):
    for i in range(start, min(start + 50, count)):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        s.sendall(request)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    deadline = time.monotonic() + 60
    while heads < min(start + 50, count) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            i = key.data
            data = key.fileobj.recv(65536)
            if not data:
                sys.exit(f"watcher {i} closed before its head")
            buffers[i] += data
            if not got_head[i] and b"\r\n\r\n" in buffers[i]:
                got_head[i] = True
                heads += 1
                if not buffers[i].startswith(b"HTTP/1.1 200"):
                    sys.exit(f"watcher {i}: {buffers[i][:200]}")
if heads < count:
    sys.exit(f"only {heads} of {count} watchers started")
open_seconds = time.monotonic() - opened
time.sleep(1.0)  # let the server settle (its workers go idle)
rss1, threads1 = server_status()
buffers = [b""] * count

latencies, acks, poll_latencies, per_change = [], [], [], []
for n in range(changes):
    since = head_id()
    expect = b"id: %d\n" % (since + 1)
    poll_result = {}
    def long_poll():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", f"/v1/watch?since={since}&wait=30")
        body = json.loads(c.getresponse().read())
        poll_result["at"] = time.monotonic()
        poll_result["ids"] = [e["id"] for e in body["events"]]
    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.2)  # the long poll is waiting
    pending = set(range(count))
    sent = time.monotonic()
    result = post(f"6.1.{n}-{os.getpid()}-bench", n)  # a kernel of its own: every change is one
    acks.append((time.monotonic() - sent) * 1000)
    if result["outcome"] != "changed":
        sys.exit(f"change {n}: outcome {result['outcome']}")
    arrived = {}
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            i = key.data
            data = key.fileobj.recv(65536)
            now = time.monotonic()
            if not data:
                sys.exit(f"watcher {i} was closed")
            buffers[i] += data
            if i in pending and expect in buffers[i]:
                arrived[i] = now
                pending.discard(i)
                buffers[i] = b""
    if pending:
        sys.exit(f"change {n}: {len(pending)} watchers never heard it")
    these = sorted((t - sent) * 1000 for t in arrived.values())
    per_change.append((round(these[len(these) // 2], 1), round(these[-1], 1)))
    latencies += these
    poller.join(60)
    if poll_result.get("ids", [None])[0] != since + 1:
        sys.exit(f"change {n}: the long poll answered {poll_result}")
    poll_latencies.append((poll_result["at"] - sent) * 1000)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None

rss2, threads2 = server_status()
print(json.dumps({
    "watchers": count, "open_seconds": round(open_seconds, 2),
    "rss_before": rss0, "rss_held": rss1, "rss_after": rss2, "threads_before": threads0, "threads_held": threads1,
    "changes": changes, "deliveries": len(latencies),
    "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99), "max_ms": max(latencies) if latencies else None,
    "per_change_p50_max_ms": per_change, "ack_p50_ms": pct(acks, 0.5), "poll_p50_ms": pct(poll_latencies, 0.5), "poll_max_ms": max(poll_latencies),
}))
