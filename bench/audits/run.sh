#!/usr/bin/env bash
# The history reports (issue 18) on a HOSTS-host, 30-day synthetic fleet with kernel upgrades mixed in
# (capreg synth: about a third of the hosts move kernel once or twice), side by side in one run: each
# command a fresh release process on the registry file (read into the page cache first), wall time and peak
# RSS (/usr/bin/time).
# - audit kernel-upgrade: every kernel pair, and one pair (--from 5.15 --to 6.1);
# - diff: the fleet a month apart (the first day and the last), and one host;
# - audit predict --to 6.8; why HOST nesting;
# - GET /ui/audits (the page: chart, upgrades, diff) and its timeline download, asked of a release capreg serve;
# - export history of one day (--since/--until), and import-history --verify-only of it.
# Each query runs three times (RUNS) and its best wall time is kept: the registry is in the page cache, as a
# serving registry's is, but this machine's memory reclaim (DAMON) drops file pages between runs, and a run
# that reads some back from disk measures the disk. The export and its verification run once.
# Usage: bench/audits/run.sh [HOSTS]        default 100000
# Env: FLEET=FILE uses that registry (made by `capreg synth --hosts HOSTS --days 30 --start 2025-01-01
#      --ingest`); otherwise it is made once into bench/audits/work/ (about 40 minutes at 100,000 hosts) and
#      kept. BUILD=0 skips the release build (scratch .build-release, or SCRATCH).
# Output: the table on stdout and in bench/audits/work/figures.txt (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/serve.sh
hosts=${1:-100000}
scratch=${SCRATCH:-.build-release}
work=bench/audits/work
mkdir -p "$work"
if [[ "${BUILD:-1}" != 0 ]]; then swift build -c release --product capreg --scratch-path "$scratch" >&2; fi
capreg=$(realpath "$scratch/release/capreg")
fleet=${FLEET:-$work/fleet-${hosts}h-30d.sqlite}
if [[ ! -f "$fleet" ]]; then
    "$capreg" synth --hosts "$hosts" --days 30 --start 2025-01-01 --ingest --db "$fleet" 2> "$work/synth.log"
fi
# The first open migrates an older registry (0018 builds an index): timed on its own, so no figure below pays it.
/usr/bin/time -f '%e %M' -o "$work/time.txt" "$capreg" audit --host host-000000 --db "$fleet" >/dev/null 2>&1 || true
migrate=$(cat "$work/time.txt")
# Figures with the registry in the page cache (a serving registry's state): read the file once first.
cat "$fleet" > /dev/null

rows=()
measure() {  # measure LABEL capreg-arguments…   (RUNS times; the best wall time, the largest RSS)
    local label=$1; shift
    local best="" most=0 wall rss
    for ((run = 0; run < ${RUNS:-3}; run++)); do
        /usr/bin/time -f '%e %M' -o "$work/time.txt" "$capreg" "$@" --db "$fleet" > "$work/out.json" 2> "$work/err.txt" || {
            cat "$work/err.txt" >&2; echo "bench/audits: $label failed" >&2; exit 1; }
        read -r wall rss < "$work/time.txt"
        if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $wall < $best else 1)"; then best=$wall; fi
        ((rss > most)) && most=$rss
    done
    rows+=("$(printf '%-44s %8s %8s %10s' "$label" "$best" "$((most / 1024))" "$(wc -c < "$work/out.json")")")
}
measure "audit kernel-upgrade (every pair)" audit kernel-upgrade --json
pairs=$(python3 -c "import json; d=json.load(open('$work/out.json')); print(len(d['pairs']), d['moves'])")
measure "audit kernel-upgrade --from 5.15 --to 6.1" audit kernel-upgrade --from 5.15 --to 6.1 --json
measure "audit kernel-upgrade --layer usable" audit kernel-upgrade --layer usable --json
measure "diff --at 2025-01-02 --at 2025-01-31" diff --at 2025-01-02 --at 2025-01-31 --stale-after 25h --json
changes=$(python3 -c "import json; d=json.load(open('$work/out.json')); print(len(d['changes']), sum(c['hosts'] for c in d['changes']))")
measure "diff … --host host-004242" diff --at 2025-01-02 --at 2025-01-31 --host host-004242 --json
measure "audit predict --to 6.8 --layer usable,kernel" audit predict --to 6.8 --layer usable --layer kernel --json
measure "why host-004242 nesting --at 2025-01-20" why host-004242 nesting --at 2025-01-20 --json
rm -rf "$work/export"
RUNS=1 measure "export history --since 2025-01-15 --until …16" export history --out "$work/export" --since 2025-01-15 --until 2025-01-16
exported=$(du -sm "$work/export" | cut -f1)
/usr/bin/time -f '%e %M' -o "$work/time.txt" "$capreg" import-history "$work/export" --verify-only 2>/dev/null
read -r wall rss < "$work/time.txt"
rows+=("$(printf '%-44s %8s %8s %10s' "import-history --verify-only (that export)" "$wall" "$((rss / 1024))" "-")")

pid=""
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT
"$capreg" serve --db "$fleet" --listen 127.0.0.1:0 --stale-after 25h 2> "$work/serve.log" &
pid=$!
port=$(serve_port "$work/serve.log")
for target in "/ui/audits?from=2025-01-02&to=2025-01-31&fact=nesting" "/ui/audits?from=2025-01-02&to=2025-01-31&fact=nesting&download=timeline.csv"; do
    out=$(curl -s -o "$work/page.out" -w '%{http_code} %{time_total}' "http://127.0.0.1:$port$target")
    [[ ${out%% *} == 200 ]] || { echo "bench/audits: GET $target: $out" >&2; exit 1; }
    rows+=("$(printf '%-44s %8s %8s %10s' "GET ${target:0:40}" "${out#* }" "-" "$(wc -c < "$work/page.out")")")
done
rss=$(ps -o rss= -p "$pid")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""

{
    echo "bench/audits/run.sh $hosts: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fleet: $fleet ($(du -m "$fleet" | cut -f1) MB; $(sqlite3 "$fleet" 'SELECT count(*) FROM reports') reports); first open (migrations): ${migrate% *} s"
    echo "kernel pairs: ${pairs% *}, moves: ${pairs#* }; fleet diff: ${changes% *} value changes on ${changes#* } host-facts; one-day export: $exported MB"
    printf '%-44s %8s %8s %10s\n' "command" "wall s" "RSS MB" "bytes out"
    printf '%s\n' "${rows[@]}"
    echo "capreg serve RSS after the two requests: $((rss / 1024)) MB"
} | tee "$work/figures.txt"
