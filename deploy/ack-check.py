#!/usr/bin/env python3
"""Checks what deploy/report-writer.py logged against what the registry holds, after a replica or a
PostgreSQL primary was killed (deploy/replicas-test.sh, deploy/patroni/failover-test.sh).

  --log FILE        a writer's log (repeatable)
  --stored FILE     `report_id|id` per line for the writers' reports (psql -At on the reports table;
                    a report's row id is the revision that stored it)
  --url URL         read every acknowledged report back through the API: each writer host's history
                    (GET /v1/hosts/HOST/history, every page) must list it
  --kill T          Unix time of the kill: figures before/after it, and the first write after it
  --json FILE       the figures as JSON too

Lost: acknowledged (200 with a revision) but not stored, or stored under another revision, or missing from
its host's history. Unknown: unanswered when the writer stopped, or the attempt in flight at the kill that
was retried: stored or not, neither is a loss (the client was never told). Exit 1 on any loss, any
failed read-your-writes check, or no acknowledgement at all.
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", action="append", required=True)
    p.add_argument("--stored", required=True)
    p.add_argument("--url")
    p.add_argument("--reader-token")
    p.add_argument("--kill", type=float)
    p.add_argument("--json")
    p.add_argument("--label", default="")
    args = p.parse_args()

    acks, unknown, fails, ryw = {}, {}, [], {"ok": 0, "bad": 0, "skip": 0}
    bad_ryw = []
    for path in args.log:
        for line in open(path):
            f = line.split()
            if not f:
                continue
            if f[0] == "ack":
                acks[f[3]] = {"t0": float(f[1]), "t1": float(f[2]), "host": f[4], "revision": int(f[5]), "attempts": int(f[6]),
                              "replica": f[7], "duplicate": f[8] == "1"}
            elif f[0] == "unknown":
                unknown[f[2]] = {"t": float(f[1]), "host": f[3]}
            elif f[0] == "fail":
                fails.append({"t": float(f[1]), "report": f[2], "what": f[4] if len(f) > 4 else ""})
            elif f[0] == "ryw":
                ryw[f[6]] += 1
                if f[6] == "bad":
                    bad_ryw.append(line.strip())
    stored = {}
    for line in open(args.stored):
        if "|" in line:
            rid, rev = line.strip().rsplit("|", 1)
            stored[rid] = int(rev)

    lost = []
    for rid, a in acks.items():
        if rid not in stored:
            lost.append(f"{rid}: acknowledged at revision {a['revision']}, not stored")
        elif stored[rid] != a["revision"]:
            lost.append(f"{rid}: acknowledged at revision {a['revision']}, stored at {stored[rid]}")
    # A report whose attempts failed and that was then acknowledged: its first attempt was in flight at the
    # failure; it is acknowledged now (counted above). `unknown`: never acknowledged.
    unknown_stored = sum(1 for rid in unknown if rid in stored)

    api_missing = []
    if args.url:
        u = urllib.parse.urlsplit(args.url)
        hosts = sorted({a["host"] for a in acks.values()})
        seen = set()
        for host in hosts:
            cursor = None
            while True:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
                path = f"/v1/hosts/{host}/history?limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
                headers = {"Authorization": "Bearer " + args.reader_token} if args.reader_token else {}
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                if r.status != 200:
                    print(f"GET {path}: {r.status} {data[:200]!r}", file=sys.stderr)
                    sys.exit(1)
                page = json.loads(data)
                for v in page["versions"]:
                    seen.add(v.get("report_id"))
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        api_missing = [rid for rid in acks if rid not in seen]

    figures = {"acknowledged": len(acks), "unknown": len(unknown), "unknown_stored": unknown_stored,
               "lost": len(lost), "api_missing": len(api_missing), "failed_attempts": len(fails),
               "retried_then_acknowledged": sum(1 for a in acks.values() if a["attempts"] > 1),
               "duplicates_answered": sum(1 for a in acks.values() if a["duplicate"]), "ryw": ryw}
    if args.kill is not None:
        before = [a for a in acks.values() if a["t1"] < args.kill]
        after = sorted((a for a in acks.values() if a["t0"] >= args.kill), key=lambda a: a["t1"])
        figures["acknowledged_before_kill"] = len(before)
        figures["first_write_after_kill_s"] = round(after[0]["t1"] - args.kill, 2) if after else None
        first_fail = min((x["t"] for x in fails if x["t"] >= args.kill - 1), default=None)
        figures["failed_attempts_after_kill"] = sum(1 for x in fails if x["t"] >= args.kill - 1)
        # The longest time with no acknowledgement at all, from the kill.
        times = sorted([args.kill] + [a["t1"] for a in acks.values() if a["t1"] >= args.kill])
        figures["longest_gap_after_kill_s"] = round(max((b - a for a, b in zip(times, times[1:])), default=0), 2)
        figures["first_failure_after_kill_s"] = round(first_fail - args.kill, 2) if first_fail else None
    label = f"{args.label}: " if args.label else ""
    print(label + json.dumps(figures))
    for line in lost[:20]:
        print("LOST " + line)
    for rid in api_missing[:20]:
        print(f"NOT IN HISTORY {rid}")
    for line in bad_ryw[:20]:
        print("READ-YOUR-WRITES FAILED " + line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f)
    if not acks:
        print("no report was acknowledged", file=sys.stderr)
        return 1
    return 1 if lost or api_missing or bad_ryw else 0


if __name__ == "__main__":
    sys.exit(main())
