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

# summary LABEL FILE: median CPU, max of peak RSS over the runs
summary() {
  awk -v label="$1" '$1 == "run" { cpu[n] = $8; rss = ($10 > rss ? $10 : rss); wall[n] = $12; if ($14 != 0) bad++; n++ }
    END {
      if (n == 0) { printf "%-44s no runs\n", label; exit }
      asort(cpu); asort(wall)
      printf "%-44s runs %d  cpu_s median %.3f max %.3f  peak_rss_mb %.1f  wall_s median %.3f%s\n",
             label, n, cpu[int((n + 1) / 2)], cpu[n], rss / 1024, wall[int((n + 1) / 2)], bad ? "  (" bad " failed)" : ""
    }' "$2"
}

# Host: the same binary, default probing (nothing to probe here), then sysfs only.
"$out/rusage" "$runs" "$bin" collect --hostname bench > "$out/host-collect.txt"
"$out/rusage" "$runs" "$bin" collect --hostname bench --no-probes > "$out/host-noprobes.txt"
"$out/rusage" "$runs" "$bin" --version > "$out/host-version.txt"

# Guest: rusage runs capreg from /extra inside each configuration's boot.
args=()
for c in "${configs[@]}"; do args+=(--config "$c"); done
bash "$tool" "${args[@]}" --out "$out" --extra "$bin" --extra-args "--version" \
  --extra "$out/rusage" --extra-args "$runs /extra/capreg collect --hostname bench" >&2

echo "capreg collect, $(file -b "$bin" | cut -d, -f1-2), $(du -m "$bin" | cut -f1) MB binary; host $(uname -r), $(nproc) cores"
summary "host: collect (sysfs only here)" "$out/host-collect.txt"
summary "host: collect --no-probes" "$out/host-noprobes.txt"
summary "host: capreg --version (process floor)" "$out/host-version.txt"
for c in "${configs[@]}"; do
  summary "guest $c: collect (probes, TCG)" "$out/$c/extra-rusage.txt"
done
