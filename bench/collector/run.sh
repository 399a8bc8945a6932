#!/usr/bin/env bash
# Collector figures: one-shot `capreg collect` CPU time and peak RSS, on this host (sysfs only here: no
# /dev/vfio, no /dev/iommu) and inside a vmharness guest (real kernel, VFIO groups and iommufd cdevs
# probed), measured the same way (bench/collector/rusage.c: wait4's rusage of each run), printed side
# by side. Goal: < 0.1 s CPU and < 20 MB peak RSS per run.
#
# Usage: bench/collector/run.sh [RUNS] [CONFIG...]      defaults: 5 runs, iommufd-q10-scalable-flts
# Env: BUILD=0 skips the static build; SCRATCH (static build folder, default .build-static);
#      VMHARNESS (run.sh path); OUT (vmharness output, default .build-bench-collector).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}; shift || true
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(iommufd-q10-scalable-flts)
scratch=${SCRATCH:-.build-static}
out=${OUT:-.build-bench-collector}
# ../shared beside the checkout (../../shared from a git worktree under wt/).
tool=${VMHARNESS:-}
for t in ../shared/tools/vmharness/run.sh ../../shared/tools/vmharness/run.sh; do [ -n "$tool" ] || [ ! -f "$t" ] || tool=$t; done
mkdir -p "$out"
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --scratch-path "$scratch" --static-swift-stdlib -Xswiftc -static-executable --product capreg >&2
fi
bin=$(swift build -c release --scratch-path "$scratch" --static-swift-stdlib -Xswiftc -static-executable --show-bin-path)/capreg
gcc -static -O2 -Wall -o "$out/rusage" bench/collector/rusage.c

# summary LABEL FILE: median and max CPU, peak RSS over the runs, median wall time
summary() {
  local f=$2 n cpu rss wall bad
  n=$(grep -c '^run ' "$f" || true)
  if [ "$n" = 0 ]; then printf '%-46s no runs\n' "$1"; return; fi
  cpu=$(awk '$1 == "run" { print $8 }' "$f" | sort -n)
  wall=$(awk '$1 == "run" { print $12 }' "$f" | sort -n)
  rss=$(awk '$1 == "run" && $10 > m { m = $10 } END { printf "%.1f", m / 1024 }' "$f")
  bad=$(awk '$1 == "run" && $14 != 0' "$f" | wc -l)
  printf '%-46s runs %d  cpu_s median %s max %s  peak_rss_mb %s  wall_s median %s%s\n' "$1" "$n" \
    "$(sed -n "$(( (n + 1) / 2 ))p" <<<"$cpu")" "$(tail -1 <<<"$cpu")" "$rss" "$(sed -n "$(( (n + 1) / 2 ))p" <<<"$wall")" \
    "$([ "$bad" = 0 ] || echo "  ($bad failed)")"
}

# Host: the same binary, default probing (nothing to probe here), then sysfs only.
"$out/rusage" "$runs" "$bin" collect --hostname bench > "$out/host-collect.txt"
"$out/rusage" "$runs" "$bin" collect --hostname bench --no-probes > "$out/host-noprobes.txt"
"$out/rusage" "$runs" "$bin" --version > "$out/host-version.txt"

# Guest: the same three, rusage running /extra/capreg inside each configuration's boot (one copy of
# rusage per variant, so each has its own output file). TCG emulates the CPU: the --version and
# --no-probes rows give the slowdown to divide the probing row by.
for v in collect noprobes version; do cp "$out/rusage" "$out/rusage-$v"; done
args=()
for c in "${configs[@]}"; do args+=(--config "$c"); done
bash "$tool" "${args[@]}" --out "$out" --extra "$bin" --extra-args "--version" \
  --extra "$out/rusage-collect" --extra-args "$runs /extra/capreg collect --hostname bench" \
  --extra "$out/rusage-noprobes" --extra-args "$runs /extra/capreg collect --hostname bench --no-probes" \
  --extra "$out/rusage-version" --extra-args "$runs /extra/capreg --version" >&2

echo "capreg collect, $(file -b "$bin" | cut -d, -f1-2), $(du -m "$bin" | cut -f1) MB binary; host $(uname -r), $(nproc) cores"
summary "host: collect (sysfs only here)" "$out/host-collect.txt"
summary "host: collect --no-probes" "$out/host-noprobes.txt"
summary "host: capreg --version (process floor)" "$out/host-version.txt"
for c in "${configs[@]}"; do
  summary "guest $c: collect (probes; TCG)" "$out/$c/extra-rusage-collect.txt"
  summary "guest $c: collect --no-probes (TCG)" "$out/$c/extra-rusage-noprobes.txt"
  summary "guest $c: capreg --version (TCG)" "$out/$c/extra-rusage-version.txt"
done
