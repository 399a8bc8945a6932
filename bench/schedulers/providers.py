#!/usr/bin/env python3
"""Makes a resource provider (64 VCPUs) in Placement for every hostname read from standard input, with
THREADS requests at a time, for bench/schedulers/run.sh. Prints how many and how long.
Usage: providers.py PLACEMENT_URL [THREADS] < hostnames"""
import concurrent.futures, http.client, json, sys, time, urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
headers = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.39", "Content-Type": "application/json"}

def call(conn, method, path, body):
    conn.request(method, path, body=json.dumps(body), headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status not in (200, 201):
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]}")
    return json.loads(data)

def make(names):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    for name in names:
        uuid = call(conn, "POST", "/resource_providers", {"name": name})["uuid"]
        call(conn, "PUT", f"/resource_providers/{uuid}/inventories",
             {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 64}}})
    return len(names)

names = [line.strip() for line in sys.stdin if line.strip()]
started = time.monotonic()
chunks = [names[i::threads] for i in range(threads)]
with concurrent.futures.ThreadPoolExecutor(threads) as pool:
    made = sum(pool.map(make, chunks))
print(json.dumps({"providers": made, "seconds": round(time.monotonic() - started, 1)}))
