#!/usr/bin/env python3
"""A writer under load for the replica and failover tests (deploy/replicas-test.sh,
deploy/patroni/failover-test.sh) and their benches: WORKERS threads, each POSTs one report at a time
to --url (a balancer, or one capreg serve), waits for the answer, and logs every acknowledgement.

Each worker owns one host (PREFIX-wN) and sends it a new state every time: a fresh report_id, collected_at
(strictly increasing per host) and kernel.release (6.1.SEQ-rw), so every report is stored as a new version
of its host (outcome `changed`) and shows in its history under its report_id. A failed attempt (no answer,
a cut connection, any status but 200) is retried with the same report (POST /v1/reports is idempotent by
report_id) on a new connection, every RETRY seconds, until it is acknowledged or the writer is stopped.

Log lines (one file, flushed per line; times are Unix seconds, wall clock):
  ack T0 T1 REPORT_ID HOSTNAME REVISION ATTEMPTS REPLICA DUPLICATE   # T0: this attempt began, T1: answered
  fail T REPORT_ID ATTEMPT WHAT
  unknown T REPORT_ID HOSTNAME ATTEMPTS   # stopped while this report was unanswered: it may or may not be stored
  ryw T REPORT_ID REVISION REPLICA ANSWER_REVISION ok|bad|skip WHAT
With --ryw URL… (each replica's own address), every acknowledged report is read back at once from a
replica other than the one that answered (REPLICA: the X-Capreg-Replica header the balancer adds):
GET /v1/hosts/HOST?min_revision=REVISION must answer a revision at least that and the report's kernel.
Stops on SIGTERM/SIGINT or when --seconds pass; exits 0.
"""
import argparse
import http.client
import json
import random
import signal
import sys
import threading
import time
import urllib.parse

stop = threading.Event()
log_lock = threading.Lock()


def log(out, *fields):
    with log_lock:
        out.write(" ".join(str(f) for f in fields) + "\n")
        out.flush()


def connect(url, timeout):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)


def request(conn, method, path, body, token):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, resp.getheader("X-Capreg-Replica") or "-", data


def read_your_write(args, out, report_id, hostname, kernel, revision, replica):
    """GET the host at min_revision from a replica that did not answer the POST."""
    others = [(name, url) for name, url in args.ryw if name != replica]
    random.shuffle(others)
    for name, url in others:
        try:
            conn = connect(url, args.timeout)
            status, _, data = request(conn, "GET", f"/v1/hosts/{hostname}?min_revision={revision}", None, args.reader_token)
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            log(out, "ryw", f"{time.time():.3f}", report_id, revision, name, "-", "skip", type(e).__name__)
            continue  # that replica is down (killed by the test): ask another
        if status != 200:
            log(out, "ryw", f"{time.time():.3f}", report_id, revision, name, "-", "bad", f"status={status}:{data[:200]!r}")
            return
        answer = json.loads(data)
        good = answer.get("revision", 0) >= revision and answer.get("kernel") == kernel
        log(out, "ryw", f"{time.time():.3f}", report_id, revision, name, answer.get("revision"), "ok" if good else "bad",
            "-" if good else f"kernel={answer.get('kernel')}")
        return


def worker(args, out, template, index):
    hostname = f"{args.prefix}-w{index}"
    seq = 0
    last_ms = 0
    conn = None
    while not stop.is_set():
        seq += 1
        now_ms = max(int(time.time() * 1000), last_ms + 1)
        last_ms = now_ms
        report = json.loads(template)
        report_id = f"{args.prefix}-w{index}-{seq}-{random.getrandbits(32):08x}"
        report["report_id"] = report_id
        report["collected_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + f".{now_ms % 1000:03d}Z"
        report["host"]["hostname"] = hostname
        report["host"].pop("machine_id", None)
        kernel = f"6.1.{seq}-rw"
        report["kernel"]["release"] = kernel
        body = json.dumps(report, separators=(",", ":")).encode()
        attempts = 0
        while True:
            if stop.is_set():
                if attempts:
                    log(out, "unknown", f"{time.time():.3f}", report_id, hostname, attempts)
                return
            attempts += 1
            t0 = time.time()
            url = args.url[(attempts - 1) % len(args.url)]
            try:
                if conn is None:
                    conn = connect(url, args.timeout)
                status, replica, data = request(conn, "POST", "/v1/reports", body, args.token)
                if status == 200:
                    result = json.loads(data)["results"][0]
                    log(out, "ack", f"{t0:.3f}", f"{time.time():.3f}", report_id, hostname, result["revision"], attempts, replica,
                        int(result["duplicate"]))
                    break
                what = f"status={status}:" + data[:160].decode("utf-8", "replace").replace("\n", " ").replace(" ", "_")
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                what = f"{type(e).__name__}:{str(e)[:80]}".replace(" ", "_")
            log(out, "fail", f"{time.time():.3f}", report_id, attempts, what)
            if conn is not None:
                conn.close()
                conn = None
            stop.wait(args.retry)
        if args.ryw:
            read_your_write(args, out, report_id, hostname, kernel, result["revision"], replica)
        if args.pause:
            stop.wait(args.pause)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", action="append", required=True, help="where to POST (repeat: attempts take them in turn)")
    p.add_argument("--token", help="collector (or admin) token")
    p.add_argument("--reader-token", help="reader token for --ryw")
    p.add_argument("--template", required=True, help="one report (JSON), e.g. a line of `capreg synth`")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--prefix", default="rw")
    p.add_argument("--log", required=True)
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: at SIGTERM)")
    p.add_argument("--retry", type=float, default=0.1, help="seconds between attempts of a failed report")
    p.add_argument("--pause", type=float, default=0, help="seconds between a worker's reports")
    p.add_argument("--timeout", type=float, default=10, help="seconds one attempt may take")
    p.add_argument("--ryw", action="append", default=[], metavar="NAME=URL", help="replicas for the read-your-writes check")
    args = p.parse_args()
    args.ryw = [tuple(x.split("=", 1)) for x in args.ryw]
    with open(args.template) as f:
        template = f.readline()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(args.log, "a") as out:
        threads = [threading.Thread(target=worker, args=(args, out, template, i), daemon=True) for i in range(1, args.workers + 1)]
        for t in threads:
            t.start()
        deadline = time.time() + args.seconds if args.seconds else None
        while not stop.is_set():
            stop.wait(0.2)
            if deadline and time.time() >= deadline:
                stop.set()
        for t in threads:
            t.join(args.timeout + 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
