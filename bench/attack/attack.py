#!/usr/bin/env python3
"""The attack suite (issue 14's figures): good clients' latency and errors during each attack, beside a
quiet run, against one running `capreg serve`.

For every phase: the attack starts (its own process, so the good clients' timings are not skewed by the
attacker's Python), gets one second to build up, then for SECONDS the good clients run the placement
query back to back on keep-alive connections with a reader token, a prober asks /healthz every 50 ms,
and the server's resident memory is sampled every 50 ms from /proc. Then the attack stops and the next
phase begins. One table at the end, with the aims: good clients' p99 within 3x of the quiet run, no
errors, /healthz always under 100 ms, the server's peak RSS under 200 MB.

Usage: attack.py --port PORT --pid SERVER_PID --reader TOKEN --attacker TOKEN --collector TOKEN
                 [--seconds 10] [--phases quiet,slots,...]
Standard library only. Loopback only.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import selectors
import socket
import statistics
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
GOOD_WHERE = 'pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20'
GOOD_CLIENTS = 4


def target(path, **params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


# --- good clients, prober, memory sampler ------------------------------------------------------------

def good_client(port, token, stop_at, out):
    """Back-to-back placement queries on one keep-alive connection; a new connection after any failure."""
    path = target("/v1/hosts", where=GOOD_WHERE, limit=100, fields="pasid_bits")
    headers = {"Authorization": "Bearer " + token}
    latencies, errors, kinds = [], 0, {}
    conn = None
    while time.monotonic() < stop_at:
        began = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except Exception as error:  # a refused or cut connection is an error the good client saw
            status = type(error).__name__
            conn = None
        elapsed = time.monotonic() - began
        if status == 200:
            latencies.append(elapsed)
        else:
            errors += 1
            kinds[str(status)] = kinds.get(str(status), 0) + 1
            time.sleep(0.05)
    out.put((latencies, errors, kinds))


def prober(port, stop_at, out):
    worst, failures = 0.0, 0
    while time.monotonic() < stop_at:
        began = time.monotonic()
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                failures += 1
        except Exception:
            failures += 1
        worst = max(worst, time.monotonic() - began)
        time.sleep(0.05)
    out.put((worst, failures))


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_idle(pid, limit=120):
    """Seconds until the server used no CPU for 300 ms after an attack stopped (at most `limit`): work the
    attack left queued is done before the next phase measures."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = cpu_ticks(pid)
        time.sleep(0.3)
        if cpu_ticks(pid) == before:
            break
    return time.monotonic() - began


def rss_bytes(pid):
    """Resident bytes of the server: heap and stacks (RssAnon) plus the mapped binary and libraries
    (RssFile), as /proc/PID/status gives them."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def thread_count(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


# --- attacks: each runs until its stop event is set --------------------------------------------------

def attack_slots(port, tokens, stop):
    """Unauthenticated connections that hold slots: each sends half a request head, then one header byte
    every few seconds (slowloris), and is reopened whenever the server closes it. 400 of them, more
    than the server's 256 slots."""
    sel = selectors.DefaultSelector()
    socks = set()

    def open_one():
        try:
            s = socket.create_connection((HOST, port), timeout=2)
            s.setblocking(False)
            s.send(b"GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-a: ")
            sel.register(s, selectors.EVENT_READ)
            socks.add(s)
        except OSError:
            pass

    for _ in range(400):
        open_one()
    last_drip = time.monotonic()
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                socks.discard(s)
                s.close()
                open_one()
        if time.monotonic() - last_drip > 3:
            for s in list(socks):
                try:
                    s.send(b"a")
                except OSError:
                    pass
            last_drip = time.monotonic()
        while len(socks) < 400 and not stop.is_set():
            open_one()


def attack_bodies(port, tokens, stop):
    """Unauthenticated POSTs announcing 4 MiB bodies and sending them as fast as the server takes them,
    150 at a time, reopened when closed."""
    chunk = b"x" * 65536
    head = (b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4194304\r\n\r\n")
    sel = selectors.DefaultSelector()
    sent = {}

    def open_one():
        try:
            s = socket.create_connection((HOST, port), timeout=2)
            s.setblocking(False)
            s.send(head)
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            sent[s] = 0
        except OSError:
            pass

    for _ in range(150):
        open_one()
    while not stop.is_set():
        for key, events in sel.select(timeout=0.2):
            s = key.fileobj
            closed = False
            if events & selectors.EVENT_READ:
                try:
                    closed = not s.recv(65536)
                except OSError:
                    closed = True
            if not closed and events & selectors.EVENT_WRITE and sent[s] < 4194304:
                try:
                    sent[s] += s.send(chunk[: 4194304 - sent[s]])
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if not closed and sent[s] >= 4194304:
                sel.modify(s, selectors.EVENT_READ)
            if closed:
                sel.unregister(s)
                del sent[s]
                s.close()
                open_one()


def query_flood(port, token, paths, threads, stop, disconnect_after=None):
    def loop():
        conn = None
        while not stop.is_set():
            path = random.choice(paths)
            try:
                if disconnect_after is not None:
                    s = socket.create_connection((HOST, port), timeout=5)
                    s.send(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
                    time.sleep(disconnect_after)
                    s.close()
                    continue
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
                conn.request("GET", path, headers={"Authorization": "Bearer " + token})
                conn.getresponse().read()
            except Exception:
                conn = None
                time.sleep(0.01)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    stop.wait()


def costly_paths():
    kernels = ", ".join(f'"6.{i % 20}.{i}-1-amd64"' for i in range(200))
    day_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    return [
        target("/v1/hosts", where=f"kernel in ({kernels})", as_of=day_ago, limit=1000),
        target("/v1/hosts", where=f"kernel in ({kernels})", limit=1000, totals="true"),
        target("/v1/hosts", where="not vtd.ecap.nest or pasid_bits < 99", limit=1000, explain="true", totals="true"),
    ]


def attack_costly(port, tokens, stop):
    """Another reader's token sends the most expensive queries it can write, 8 at a time."""
    query_flood(port, tokens["attacker"], costly_paths(), 8, stop)


def attack_lists(port, tokens, stop):
    """Another reader asks for the biggest pages: changes over a month and whole hosts, 1000 at a time."""
    month_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    paths = [target("/v1/changes", since=month_ago, limit=1000), target("/v1/hosts", limit=1000, fresh_within="off")]
    query_flood(port, tokens["attacker"], paths, 6, stop)


def attack_token_flood(port, tokens, stop):
    """One token opens 200 keep-alive connections and asks cheap questions on all of them at once."""
    query_flood(port, tokens["attacker"], [target("/v1/hosts", limit=1, fresh_within="off")], 200, stop)


def attack_disconnect(port, tokens, stop):
    """Costly queries whose clients hang up after 100 ms, 8 at a time."""
    query_flood(port, tokens["attacker"], costly_paths(), 8, stop, disconnect_after=0.1)


def attack_poison(port, tokens, stop):
    """A collector token posting refused reports (NUL in the hostname, year-9999 timestamps, 100-label
    floods) as fast as it can, 8 at a time."""
    def body(i):
        kind = i % 3
        host = {"hostname": f"evil\u0000{i}", "machine_id": "0" * 32} if kind == 0 else {"hostname": f"evil-{i}"}
        if kind == 2:
            host["labels"] = {f"k{j}": "v" for j in range(100)}
        when = "9999-01-01T00:00:00Z" if kind == 1 else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return json.dumps({"report_id": f"evil-{i}-{random.random()}", "collected_at": when, "host": host,
                           "collector_version": "attack 0", "kernel": {"release": "6.8.0"}, "sources": []}).encode()

    def loop():
        conn, i = None, 0
        while not stop.is_set():
            i += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                conn.request("POST", "/v1/reports", body=body(i),
                             headers={"Authorization": "Bearer " + tokens["collector"], "Content-Type": "application/json"})
                conn.getresponse().read()
            except Exception:
                conn = None
                time.sleep(0.01)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(8)]
    for w in workers:
        w.start()
    stop.wait()


ATTACKS = {
    "quiet": None,
    "slots": attack_slots,
    "bodies": attack_bodies,
    "costly": attack_costly,
    "lists": attack_lists,
    "token-flood": attack_token_flood,
    "disconnect": attack_disconnect,
    "poison": attack_poison,
}


def as_attacker(work):
    """Runs the attack at nice 10, beside a server and good clients at 0: on a real network the attacker's
    own CPU is on its own machines; here the cores are shared, and the attacker's Python (hundreds of
    sockets, thousands of requests a second) gives way so the figures show how the server shares itself
    out, not how the attacker's client crowds the machine. The good clients and the prober are light and
    keep normal priority, so their timings are not their own scheduling delays."""
    def run(*args):
        os.nice(10)
        work(*args)
    return run


def run_phase(name, args, tokens):
    stop = mp.Event()
    attacker = None
    if ATTACKS[name] is not None:
        attacker = mp.Process(target=as_attacker(ATTACKS[name]), args=(args.port, tokens, stop), daemon=True)
        attacker.start()
        time.sleep(1)
    stop_at = time.monotonic() + args.seconds
    out = mp.Queue()
    probe_out = mp.Queue()
    procs = [mp.Process(target=good_client, args=(args.port, tokens["reader"], stop_at, out)) for _ in range(GOOD_CLIENTS)]
    procs.append(mp.Process(target=prober, args=(args.port, stop_at, probe_out)))
    for p in procs:
        p.start()
    peak, threads = 0, 0
    while time.monotonic() < stop_at:
        peak = max(peak, rss_bytes(args.pid))
        threads = max(threads, thread_count(args.pid))
        time.sleep(0.05)
    results = [out.get(timeout=60) for _ in range(GOOD_CLIENTS)]
    worst_probe, probe_failures = probe_out.get(timeout=60)
    for p in procs:
        p.join(timeout=30)
    stop.set()
    if attacker is not None:
        attacker.join(timeout=10)
        if attacker.is_alive():
            attacker.kill()
    settled = wait_idle(args.pid)
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    kinds = {}
    for r in results:
        for k, v in r[2].items():
            kinds[k] = kinds.get(k, 0) + v
    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
    return {"phase": name, "ok": len(latencies), "errors": errors, "error_kinds": kinds,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "healthz_max_ms": worst_probe * 1000,
            "healthz_failures": probe_failures, "peak_rss_mb": peak / 1e6, "settle_s": settled,
            "threads": threads}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--reader", required=True)
    parser.add_argument("--attacker", required=True)
    parser.add_argument("--collector", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--phases", default=",".join(ATTACKS))
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    tokens = {"reader": args.reader, "attacker": args.attacker, "collector": args.collector}
    rows = []
    wait_idle(args.pid)
    for name in args.phases.split(","):
        row = run_phase(name, args, tokens)
        rows.append(row)
        print(f"  {name}: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, {row['ok']} ok, "
              f"{row['errors']} errors {row['error_kinds'] or ''}, healthz max {row['healthz_max_ms']:.0f} ms, "
              f"peak RSS {row['peak_rss_mb']:.0f} MB, {row['threads']} threads, settled {row['settle_s']:.1f} s after", flush=True)
    quiet = next((r for r in rows if r["phase"] == "quiet"), None)
    print()
    print(f"{'phase':<12} {'p50 ms':>8} {'p99 ms':>8} {'p99/quiet':>9} {'answers':>8} {'errors':>7} {'healthz max':>11} {'peak RSS':>9} {'settle':>7}  aims")
    for r in rows:
        ratio = r["p99_ms"] / quiet["p99_ms"] if quiet and quiet["p99_ms"] > 0 else float("nan")
        aims = []
        aims.append("p99 " + ("PASS" if quiet is None or ratio <= 3 else "MISS"))
        aims.append("errors " + ("PASS" if r["errors"] == 0 else "MISS"))
        aims.append("healthz " + ("PASS" if r["healthz_max_ms"] < 100 and r["healthz_failures"] == 0 else "MISS"))
        aims.append("rss " + ("PASS" if r["peak_rss_mb"] < 200 else "MISS"))
        print(f"{r['phase']:<12} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {ratio:>8.1f}x {r['ok']:>8} {r['errors']:>7} "
              f"{r['healthz_max_ms']:>8.0f} ms {r['peak_rss_mb']:>6.0f} MB {r['settle_s']:>6.1f}s  {', '.join(aims)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
