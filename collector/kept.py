#!/usr/bin/env python3
"""Whether a registry kept everything a collector logged as spooled, exactly once: each full report as a
reports row under its own report_id, each heartbeat as its collected_at (docs/store.md "Heartbeats": a
time in the host's heartbeats rows, or a reports row with `confirms` set when a late report needed it as
a boundary). A heartbeat that does not repeat the host's current report in everything is stored as a
report under its own id, and counts as kept that way.

Used by collector/netns-fleet-check.py and deploy/nginx/tls-test.sh.
Usage: kept.py REGISTRY.sqlite HOSTNAME COLLECTOR.log…   (every log of that host's collectors; exit 1 when
something is missing, doubled or unaccounted for)"""
import collections, re, sqlite3, struct, sys
from datetime import datetime

SPOOLED = re.compile(r"INFO spooled (heartbeat|report) ([0-9a-f-]{36}) collected (\S+) ")


def millis(text):
    """The wire's RFC 3339 time as the store's milliseconds."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).timestamp() * 1000)


def spooled(log):
    """(kind, report_id, collected_at ms) for each report the collector's log says it spooled."""
    return [(kind, rid, millis(at)) for kind, rid, at in SPOOLED.findall(log)]


class Registry:
    """The registry's reports rows by report_id and its heartbeat times by hostname (read-only)."""

    def __init__(self, path):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.rows = self.db.execute("""SELECT r.report_id, h.hostname, r.collected_at, r.payload, r.confirms
                                       FROM reports r JOIN hosts h ON h.id = r.host_id""").fetchall()
        self.stored = {}   # report_id -> [(hostname, has decoded)] for reports as sent
        self.beats = collections.defaultdict(collections.Counter)   # hostname -> collected_at ms -> times kept
        for report_id, hostname, collected_at, payload, confirms in self.rows:
            if confirms is not None:
                self.beats[hostname][collected_at] += 1
            else:
                self.stored.setdefault(report_id, []).append((hostname, '"decoded"' in payload))
        for hostname, first_at, times in self.db.execute(
                "SELECT h.hostname, b.first_at, b.times FROM heartbeats b JOIN hosts h ON h.id = b.host_id"):
            for (offset,) in struct.iter_unpack("<I", times):
                self.beats[hostname][first_at + offset] += 1

    def verdict(self, host, spool):
        """What of `spool` (from `spooled`) the registry kept for `host`, and what it kept besides."""
        sent_ids = {rid for _, rid, _ in spool}
        full = {rid for kind, rid, _ in spool if kind == "report"}
        beats = [at for kind, rid, at in spool if kind == "heartbeat" and rid not in self.stored]
        mine = {rid for rid, where in self.stored.items() if where[0][0] == host}
        kept = self.beats.get(host, collections.Counter())
        return {
            "full": full, "beats": beats, "mine": mine, "kept": sum(kept.values()),
            "missing": sorted(full - mine), "extra": sorted(mine - sent_ids),
            "lost": [t for t in beats if kept[t] == 0],
            "twice": sorted(t for t, n in kept.items() if n > 1),
            "strays": sorted(set(kept) - set(beats)),
            "doubled": sorted(rid for rid in mine if len(self.stored[rid]) > 1),
            "undecoded": sorted(rid for rid in mine & full if not self.stored[rid][0][1]),
        }


PROBLEMS = {
    "missing": "reports never arrived", "extra": "stored reports it never logged",
    "lost": "heartbeats never arrived (collected_at ms)", "twice": "heartbeats kept twice (collected_at ms)",
    "strays": "heartbeats kept that it never logged (collected_at ms)", "doubled": "report ids stored twice",
    "undecoded": "full reports stored without decoded",
}


def problems(v):
    """Each problem of a verdict as a sentence."""
    return [f"{len(v[k])} {what}: {v[k][:3]}" for k, what in PROBLEMS.items() if v[k]]


if __name__ == "__main__":
    registry, host, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
    spool = [entry for log in logs for entry in spooled(open(log, encoding="utf-8").read())]
    v = Registry(registry).verdict(host, spool)
    found = problems(v)
    for p in found:
        print(f"FAIL {host}: {p}")
    print(f"{host}: spooled {len(spool)} ({len(v['full'])} full, {len(v['beats'])} heartbeats); "
          f"{len(v['mine'] & v['full'])} full reports stored, {v['kept']} heartbeats kept")
    sys.exit(1 if found or not spool else 0)
