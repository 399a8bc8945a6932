#!/usr/bin/env bash
# Per-device facts and the DRA export (issue 17), side by side in one run, on a HOSTS-host synthetic fleet
# (one day, dated 2025) made twice: without devices, and with 1-8 PCI devices per current host (synth --devices).
# - ingest: `capreg ingest` of the same reports with and without their pci-device sources: reports/s, size;
# - devices(…): a release `capreg serve` on the fleet with devices answers GET /v1/hosts for device questions
#   (first page of 100, and with totals=true), each asked REPEAT times: p50 / max, beside a host-only question;
# - DRA: `capreg export dra --db` of the whole fleet (a List), and `--out DIR` from scratch and again unchanged.
# Usage: bench/devices/run.sh [HOSTS]        default 100000
# Env: REPEAT (default 20), BUILD=0 skips the release build (scratch .build-release, or SCRATCH).
# Output: the table on stdout and in bench/devices/work/figures.txt (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/serve.sh
hosts=${1:-100000} repeat=${REPEAT:-20}
scratch=${SCRATCH:-.build-release}
work=bench/devices/work
rm -rf "$work" && mkdir -p "$work"
if [[ "${BUILD:-1}" != 0 ]]; then swift build -c release --product capreg --scratch-path "$scratch" >&2; fi
capreg=$(realpath "$scratch/release/capreg")
seconds() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }
rows=()
for kind in plain devices; do
    flag=(); [[ $kind == devices ]] && flag=(--devices)
    "$capreg" synth --hosts "$hosts" --days 1 --start 2025-01-01 "${flag[@]}" --out "$work/$kind.jsonl"
    t0=$(seconds)
    "$capreg" ingest "$work/$kind.jsonl" --db "$work/$kind.sqlite" 2> "$work/ingest-$kind.log" >/dev/null
    t1=$(seconds)
    size=$(du -m "$work/$kind.sqlite" | cut -f1)
    rows+=("$(printf '%-8s %-10s %-12s %-10s %s' "$kind" "$(python3 -c "print(f'{$t1-$t0:.1f}')")" \
        "$(python3 -c "print(int($hosts/($t1-$t0)))")" "$size" "$(du -m "$work/$kind.jsonl" | cut -f1)")")
done
devrows=$(sqlite3 "$work/devices.sqlite" "SELECT count(*) || ' rows, ' || count(DISTINCT host_id) || ' hosts' FROM current_device_facts")

pid=""
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT
"$capreg" serve --db "$work/devices.sqlite" --listen 127.0.0.1:0 --stale-after 36500d 2> "$work/serve.log" &
pid=$!
port=$(serve_port "$work/serve.log")
queries=$(python3 - "$port" "$repeat" <<'PY'
import json, sys, time, urllib.parse, urllib.request
port, repeat = sys.argv[1], int(sys.argv[2])
questions = [
    "nesting and pasid_bits >= 20",
    "devices(device.pasid.bits >= 20) >= 1",
    'devices(device.pasid.bits >= 16 and device.driver = "vfio-pci") >= 2',
    "nesting and devices(device.ats and device.pri) >= 3",
    "devices(not known(device.nesting)) = 0",
]
def ask(q, extra=""):
    url = f"http://127.0.0.1:{port}/v1/hosts?limit=100&fields=devices.count&where=" + urllib.parse.quote(q) + extra
    t = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        body = json.load(r)
    return (time.perf_counter() - t) * 1000, body
for q in questions:
    times = sorted(ask(q)[0] for _ in range(repeat))
    total_ms, body = ask(q, "&totals=true")
    print(f"{q[:62]:<64} {times[len(times)//2]:>8.1f} / {times[-1]:<8.1f} {total_ms:>9.1f}  {body.get('total', '?')}")
PY
)
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
t0=$(seconds); "$capreg" export dra --db "$work/devices.sqlite" --stale-after 36500d > "$work/dra.json" 2> "$work/dra.log"; t1=$(seconds)
list="$(python3 -c "print(f'{$t1-$t0:.1f}')") s, $(du -m "$work/dra.json" | cut -f1) MB, $(cat "$work/dra.log")"
t0=$(seconds); "$capreg" export dra --db "$work/devices.sqlite" --stale-after 36500d --out "$work/dra" 2> "$work/dra-out.log"; t1=$(seconds)
out1="$(python3 -c "print(f'{$t1-$t0:.1f}')") s: $(cat "$work/dra-out.log")"
t0=$(seconds); "$capreg" export dra --db "$work/devices.sqlite" --stale-after 36500d --out "$work/dra" 2> "$work/dra-out2.log"; t1=$(seconds)
out2="$(python3 -c "print(f'{$t1-$t0:.1f}')") s: $(cat "$work/dra-out2.log")"
{
    echo "capreg per-device facts and DRA: $hosts hosts ($(nproc) cores, $(date -u +%FT%TZ)), release build"
    echo
    printf '%-8s %-10s %-12s %-10s %s\n' fleet "ingest s" "reports/s" "db MB" "reports MB"
    printf '%s\n' "${rows[@]}"
    echo "current_device_facts: $devrows"
    echo
    printf '%-64s %-19s %-10s %s\n' "GET /v1/hosts?where=… (limit 100, $repeat times)" "p50 / max ms" "totals ms" "matches"
    echo "$queries"
    echo
    echo "capreg export dra --db (a List on stdout): $list"
    echo "capreg export dra --out DIR, from scratch: $out1"
    echo "capreg export dra --out DIR, again (nothing changed): $out2"
} | tee "$work/figures.txt"
