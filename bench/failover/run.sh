#!/usr/bin/env bash
# PostgreSQL failover under capreg (issue 16): RUNS runs of deploy/patroni/failover-test.sh with a release build
# (etcd, two Patroni nodes with a synchronous standby, ttl 5 / loop_wait 1, the primary node SIGKILLed under two
# writers), one row per run and way to the primary, side by side:
#   mh: capreg's multi-host URL (postgres://…@node1,node2/capreg: a new connection skips a standby);
#   hp: haproxy's postgres_primary frontend (Patroni's GET /primary check every second).
# Columns: seconds from the kill to the first acknowledged write that began after it; the longest time without
# any acknowledgement from the kill; failed attempts the writer saw; reports acknowledged before the kill and in
# all; acknowledged reports lost (goal 0); reports unanswered when the writer stopped.
# Usage: bench/failover/run.sh [RUNS]      default 3
# Env: BUILD=0 skips the release build (scratch .build-release, or SCRATCH); CAPREG (a binary instead);
#      REJOIN=1 also restarts the killed node each run (default 0 here: quicker).
# Needs what deploy/patroni/failover-test.sh needs (patroni, etcd-server, haproxy, PostgreSQL 15, root).
# Output: the table on stdout and in bench/failover/work/figures.txt (git-ignored, with each run's log).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scratch=${SCRATCH:-.build-release}
work=bench/failover/work
if [[ "${BUILD:-1}" != 0 && -z "${CAPREG:-}" ]]; then
    swift build -c release --product capreg --scratch-path "$scratch" >&2
fi
capreg=$(realpath "${CAPREG:-$(swift build -c release --scratch-path "$scratch" --show-bin-path)/capreg}")
[[ -x "$capreg" ]] || { echo "bench/failover: no binary at $capreg" >&2; exit 66; }
mkdir -p "$work"
: > "$work/figures.jsonl"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$runs"); do
    status=0
    CAPREG="$capreg" REJOIN="${REJOIN:-0}" CAPREG_FAILOVER_REQUIRED=1 FIGURES="$work/figures.jsonl" \
        deploy/patroni/failover-test.sh > "$work/run-$r.log" 2>&1 || status=$?
    echo "run $r: exit $status ($(grep -E 'primary [0-9.]+ s after the kill' "$work/run-$r.log" | sed 's/^failover test: //'))" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "bench/failover/run.sh $runs: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $load_before before, $load_after after (1/5/15 min)"
    echo "etcd + 2 Patroni nodes (synchronous_mode, ttl 5, loop_wait 1, retry_timeout 2) on loopback; primary node SIGKILLed"
    echo "(patroni and postgres) under 2 writers of 2 threads each, one per capreg serve; capreg: $capreg."
    echo "promoted: the standby's Patroni answered GET /primary 200 (polled every 0.1 s); after: first write − promoted."
    echo
    python3 - "$work/figures.jsonl" "$work" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
via = {"mh": "multi-host URL", "hp": "haproxy /primary"}
print(f"{'run':>3} {'way to the primary':<20} {'promoted s':>10} {'first write s':>13} {'after s':>8} {'longest gap s':>13} {'failed':>7} {'acked before':>12} {'acked':>6} {'lost':>5} {'unknown':>8}")
for i, r in enumerate(rows):
    p, w = r.get("promoted_after_kill_s"), r["first_write_after_kill_s"]
    after = f"{w - p:.2f}" if p is not None and w is not None else "-"
    print(f"{i // 2 + 1:>3} {via.get(r['via'], r['via']):<20} {p!s:>10} {w!s:>13} {after:>8} {r['longest_gap_after_kill_s']!s:>13} "
          f"{r['failed_attempts_after_kill']:>7} {r['acknowledged_before_kill']:>12} {r['acknowledged']:>6} {r['lost']:>5} {r['unknown']:>8}")
for key, name in via.items():
    xs = [r["first_write_after_kill_s"] for r in rows if r["via"] == key and r["first_write_after_kill_s"] is not None]
    if xs:
        ds = [r["first_write_after_kill_s"] - r["promoted_after_kill_s"] for r in rows
              if r["via"] == key and r["first_write_after_kill_s"] is not None and r.get("promoted_after_kill_s") is not None]
        print(f"{name}: first write after the kill, median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}) over {len(xs)} runs"
              + (f", median {statistics.median(ds):.2f} s after the promotion" if ds else "")
              + f"; lost {sum(r['lost'] for r in rows if r['via'] == key)}")
EOF
} | tee "$work/figures.txt"
