#!/usr/bin/env python3
"""Change-to-Placement latency for bench/schedulers/run.sh: CHANGES times, host TARGET reports the facts of
host WITH (which has nesting) or WITHOUT (which has not), alternately, by POST /v1/reports to the registry;
a `capreg sync placement --follow` is running against it; the time from the POST to Placement showing the
target's CUSTOM_CAPREG_NESTING trait arrive or go is measured by reading the provider's traits every 10 ms.
Usage: latency.py REGISTRY_PORT PLACEMENT_URL TARGET REPORTS_JSONL WITH WITHOUT CHANGES"""
import http.client, json, os, sys, time, urllib.parse

# The follower first syncs every provider once (100,000 providers: some 12 minutes on this Placement); a change
# made before that pass ends would measure the pass, not the stream. Wait for its summary line.
follow_log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "follow.log")
deadline = time.monotonic() + 3600
while time.monotonic() < deadline:
    if os.path.exists(follow_log) and "providers:" in open(follow_log, errors="replace").read():
        break
    time.sleep(1)

port, placement, target, reports_path, with_host, without_host, changes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
reports = {}
for line in open(reports_path):
    r = json.loads(line)
    reports[r["host"]["hostname"]] = r  # the newest of each host
p = urllib.parse.urlparse(placement)
headers = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.39"}

def placement_get(path):
    c = http.client.HTTPConnection(p.hostname, p.port, timeout=30)
    c.request("GET", path, headers=headers)
    return json.loads(c.getresponse().read())

uuid = [rp["uuid"] for rp in placement_get(f"/resource_providers?name={target}")["resource_providers"]][0]

def has_nesting():
    return "CUSTOM_CAPREG_NESTING" in placement_get(f"/resource_providers/{uuid}/traits")["traits"]

latencies = []
for n in range(changes):
    want = not has_nesting()
    r = dict(reports[with_host if want else without_host])
    r["host"] = dict(r["host"], hostname=target, machine_id=None)
    r["report_id"] = f"bench-schedulers-{time.time_ns()}"
    r["collected_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    sent = time.monotonic()
    c.request("POST", "/v1/reports", body=json.dumps([r]), headers={"Content-Type": "application/json"})
    answer = c.getresponse()
    answer.read()
    if answer.status != 200:
        sys.exit(f"POST answered {answer.status}")
    while has_nesting() != want:
        if time.monotonic() - sent > 30:
            sys.exit(f"change {n}: Placement did not show it within 30 s")
        time.sleep(0.01)
    latencies.append((time.monotonic() - sent) * 1000)
    time.sleep(0.5)
latencies.sort()
print(json.dumps({"changes": changes, "p50_ms": latencies[len(latencies) // 2], "max_ms": latencies[-1], "all_ms": [round(x) for x in latencies]}))
