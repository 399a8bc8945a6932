#!/usr/bin/env bash
# The shape of OpenStack Placement's own load test (openstack/placement gate/perfload-runner.sh), run
# against capreg serve: 1,000 providers (here: hosts, each created by one POSTed report, as placeload
# creates one resource provider per request), two timed single queries, 99 rounds of one write (there:
# an allocation; here: a report for one host, which advances the registry revision) followed by two timed
# queries, then ApacheBench with 10 concurrent clients for 500 requests (`ab -c 10 -n 500`, no
# keep-alive, as there). The query is the placement question of bench/api (every matching host in one
# answer, as allocation_candidates returns every candidate).
#
# Usage: bench/placement/run.sh            Environment: WHERE, SCRATCH (default .build-apibench), BUILD=0.
# Needs: ab (apt-get install -y apache2-utils), curl, python3. Loopback only; work files in bench/placement/work.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
count=1000
ab_concurrent=10
ab_count=500
where="${WHERE:-pasid_bind and first_level.format = \"intel-vtd\" and pasid_bits >= 20}"
scratch="${SCRATCH:-.build-apibench}"
work="$root/bench/placement/work"
command -v ab >/dev/null || { echo "bench/placement: ab is missing (apt-get install -y apache2-utils)" >&2; exit 69; }
rm -rf "$work" && mkdir -p "$work"

[[ "${BUILD:-1}" != 0 ]] && swift build -c release --scratch-path "$scratch" --product capreg >&2
capreg="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg"

pid=""
trap '[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
# The synthetic reports are dated 2025: a 100-year freshness bound keeps every host in the answers.
"$capreg" serve --db "$work/placement.sqlite" --listen 127.0.0.1:0 --stale-after 36500d 2> "$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do
    port="$(grep -so 'listening on 127\.0\.0\.1:[0-9]*' "$work/serve.log" | sed 's/.*://' || true)"
    [[ -n "$port" ]] && break
    sleep 0.1
done
url="http://127.0.0.1:$port"
query="/v1/hosts?where=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$where")&limit=1000"

"$capreg" synth --hosts "$count" --days 2 --seed 7 --start 2025-01-01 > "$work/reports.jsonl"
{
    echo "capreg placement load test, the shape of openstack/placement gate/perfload-runner.sh"
    echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); capreg serve $url (release build)"
    echo "query: GET $query"
    echo
    # 1. Create the providers: one POST per host (its first report), keep-alive, one client.
    python3 - "$url" "$work/reports.jsonl" "$count" <<'PY'
import http.client, json, sys, time, urllib.parse
url, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
reports = [json.loads(line) for line in open(path)]
first = {}
for r in reports:
    first.setdefault(r["host"]["hostname"], r)
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
t0 = time.perf_counter()
for r in list(first.values())[:count]:
    c.request("POST", "/v1/reports", body=json.dumps([r]), headers={"Content-Type": "application/json"})
    resp = c.getresponse(); resp.read()
    assert resp.status == 200, resp.status
print(f"##### creating {len(first)} hosts (one POST /v1/reports each): {time.perf_counter() - t0:.2f} s")
PY
    # 2 and 3. Two timed queries; then 99 rounds of one write and two timed queries.
    python3 - "$url" "$query" "$work/reports.jsonl" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
url, query, path = sys.argv[1], sys.argv[2], sys.argv[3]
reports = [json.loads(line) for line in open(path)]
later = [r for r in reports if r["report_id"].endswith("-d1")]
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
def get():
    t = time.perf_counter()
    c.request("GET", query); resp = c.getresponse(); body = resp.read()
    assert resp.status == 200, (resp.status, body[:200])
    return time.perf_counter() - t, json.loads(body)
first = [get() for _ in range(2)]
print("##### timing the query twice: " + ", ".join(f"{t * 1000:.1f} ms" for t, _ in first)
      + f" ({len(first[0][1]['hosts'])} hosts, revision {first[0][1]['revision']})")
times, revisions = [], []
for r in later[:99]:
    c.request("POST", "/v1/reports", body=json.dumps([r]), headers={"Content-Type": "application/json"})
    resp = c.getresponse(); resp.read()
    assert resp.status == 200
    for _ in range(2):
        t, answer = get()
        times.append(t); revisions.append(answer["revision"])
q = statistics.quantiles(times, n=100)
print(f"##### 99 rounds of one write and two timed queries: {len(times)} queries, mean {statistics.mean(times) * 1000:.1f} ms,"
      f" p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(times) * 1000:.1f} ms;"
      f" revision {revisions[0]} -> {revisions[-1]}")
PY
    # 4. ApacheBench, as perfload runs it.
    echo "##### ab -c $ab_concurrent -n $ab_count (no keep-alive)"
    ab -c "$ab_concurrent" -n "$ab_count" "$url$query" > "$work/ab.txt" 2>&1
    grep -E "^(Complete requests|Failed requests|Non-2xx|Requests per second|Time per request|Document Length|Time taken)" "$work/ab.txt"
    sed -n '/Percentage of the requests/,$p' "$work/ab.txt"
} | tee "$work/figures.txt"
kill -TERM "$pid"; wait "$pid" || true; pid=""
