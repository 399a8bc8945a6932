#!/usr/bin/env python3
"""Closed-loop load generator for bench/tls/run.sh: the same tool for plain HTTP and (mutual) TLS.

CONCURRENCY worker processes (not threads: one GIL would be the bottleneck), each with one connection
at a time, send requests back to back for WARMUP + SECONDS; only requests that start after the warm-up
and end before the deadline are counted. --new-connection: a new TCP (and TLS) connection per request,
sent with `Connection: close`; otherwise one keep-alive connection per worker, reopened only if the
server closes it (counted as `reconnects`).

POST: --template FILE.json is one report per host (a JSON array); worker i sends host i % hosts's
report with a fresh report_id and collected_at each time (a heartbeat: distinct, unchanged reports).
With --cert-dir, worker i presents CERT_DIR/<hostname>.pem/.key (the CN is the hostname).

Prints one JSON line: count, errors, rate, p50_ms, p99_ms, max_ms, reconnects, first error.
"""
import argparse, datetime, http.client, json, multiprocessing as mp, os, ssl, time, uuid


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="http://HOST:PORT or https://HOST:PORT")
    p.add_argument("--method", default="POST", choices=["POST", "GET"])
    p.add_argument("--path", default="/v1/reports")
    p.add_argument("--template", help="POST: JSON array of reports, one per host")
    p.add_argument("--token", help="Authorization: Bearer TOKEN")
    p.add_argument("--ca", help="https: the CA that signed the server's certificate")
    p.add_argument("--cert-dir", help="https: present CERT_DIR/HOSTNAME.pem (POST) or --cert")
    p.add_argument("--cert", help="https: one client certificate prefix for every worker (PREFIX.pem/.key)")
    p.add_argument("--new-connection", action="store_true")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=1)
    return p.parse_args()


def worker(i, a, t0, q):
    try:
        run(i, a, t0, q)
    except Exception as e:  # noqa: BLE001 - a worker that cannot run reports it instead of hanging the parent
        q.put(([], 1, 0, "worker failed: " + repr(e)[:200]))


def run(i, a, t0, q):
    u = a.url.split("://", 1)
    tls = u[0] == "https"
    host, port = u[1].rstrip("/").rsplit(":", 1)
    port = int(port)
    body_parts = None
    hostname = None
    if a.method == "POST":
        reports = json.load(open(a.template))
        r = reports[i % len(reports)]
        hostname = r["host"]["hostname"]
        r["report_id"] = "@@ID@@"
        r["collected_at"] = "@@AT@@"
        # The two placeholders, in whichever order json.dumps put them: parts and which value goes where.
        text = json.dumps(r, separators=(",", ":")).encode()
        id_first = text.index(b"@@ID@@") < text.index(b"@@AT@@")
        pre, rest = text.split(b"@@ID@@" if id_first else b"@@AT@@")
        mid, post = rest.split(b"@@AT@@" if id_first else b"@@ID@@")
        body_parts = (pre, mid, post)
    ctx = None
    if tls:
        ctx = ssl.create_default_context(cafile=a.ca)
        prefix = os.path.join(a.cert_dir, hostname) if a.cert_dir and hostname else a.cert
        if prefix:
            ctx.load_cert_chain(prefix + ".pem", prefix + ".key")
    headers = {"Content-Type": "application/json"}
    if a.token:
        headers["Authorization"] = "Bearer " + a.token
    if a.new_connection:
        headers["Connection"] = "close"

    def connect():
        if tls:
            return http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
        return http.client.HTTPConnection(host, port, timeout=30)

    start, deadline = t0 + a.warmup, t0 + a.warmup + a.seconds
    lat, errors, reconnects, first_error = [], 0, 0, None
    conn = None
    while True:
        s = time.monotonic()
        if s >= deadline:
            break
        body = None
        if body_parts:
            at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            rid = uuid.uuid4().hex.encode()
            first, second = (rid, at.encode()) if id_first else (at.encode(), rid)
            body = body_parts[0] + first + body_parts[1] + second + body_parts[2]
        try:
            if conn is None:
                conn = connect()
            conn.request(a.method, a.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            ok = 200 <= resp.status < 300
            if not ok and first_error is None:
                first_error = f"{resp.status} {data[:200]!r}"
            if a.new_connection or resp.will_close:
                conn.close()
                if not a.new_connection:
                    reconnects += 1
                conn = None
        except Exception as e:  # noqa: BLE001 - counted and reported
            ok = False
            if first_error is None:
                first_error = repr(e)[:200]
            if conn is not None:
                conn.close()
            conn = None
        e = time.monotonic()
        if s >= start and e <= deadline:
            if ok:
                lat.append(e - s)
            else:
                errors += 1
    if conn is not None:
        conn.close()
    q.put((lat, errors, reconnects, first_error))


def main():
    a = parse()
    q = mp.Queue()
    t0 = time.monotonic() + 0.3  # every worker has started (and read its template) before the clock runs
    procs = [mp.Process(target=worker, args=(i, a, t0, q)) for i in range(a.concurrency)]
    for p in procs:
        p.start()
    lat, errors, reconnects, first_error = [], 0, 0, None
    for _ in procs:
        l, e, r, f = q.get(timeout=a.warmup + a.seconds + 60)
        lat += l
        errors += e
        reconnects += r
        first_error = first_error or f
    for p in procs:
        p.join()
    lat.sort()
    pct = lambda p: round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
    print(json.dumps({"count": len(lat), "errors": errors, "rate": round(len(lat) / a.seconds, 1),
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(1000 * lat[-1], 2) if lat else None,
                      "reconnects": reconnects, "first_error": first_error}))


if __name__ == "__main__":
    main()
