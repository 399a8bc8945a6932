#!/usr/bin/env bash
# Runs the static `capreg collect` as root inside real kernels booted by vmharness (QEMU q35, emulated
# VT-d, QEMU's edu and an e1000e bound to vfio-pci) and checks each report against what the guest's own
# probe (vfioprobe) printed in the same boot: sysfs cap/ecap, the VFIO GET_INFO buffer, the hw_info
# bytes, and every probe outcome with its errno (VFIO_CHECK_EXTENSION, SET_IOMMU(6), IOMMU_HWPT_ALLOC per
# flag, the zero-size iommufd command probes). QEMU's VT-d never sets ECAP.NEST, so the nest-parent
# allocation must come back refused and the registry's usable `nesting` must be false (vmharness-check.py).
#
# Usage: collector/vmharness-test.sh [OUTDIR]      (root: vmharness installs QEMU and kernels)
# Env: VMHARNESS_CONFIGS (default below), VMHARNESS (path of run.sh), SCRATCH (static build folder).
# The iommufd kernel is built once (~9 min on 2 cores) into the user cache folder and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build-vmharness}
# ../shared beside the checkout (../../shared from a git worktree under wt/).
tool=${VMHARNESS:-}
for t in ../shared/tools/vmharness/run.sh ../../shared/tools/vmharness/run.sh; do [ -n "$tool" ] || [ ! -f "$t" ] || tool=$t; done
tool=${tool:-../shared/tools/vmharness/run.sh}
configs=${VMHARNESS_CONFIGS:-"iommufd-q10-scalable-flts legacy-aw39 scalable-pasid-aw48"}
[ -f "$tool" ] || { echo "SKIP vmharness: $tool not found"; exit 0; }
command -v python3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null; }
mkdir -p "$out"
# The same static build as realkernel-test.sh (its scratch folder is shared, so CI builds it once).
swift build -c release --scratch-path "${SCRATCH:-.build-static}" --static-swift-stdlib -Xswiftc -static-executable --product capreg
bin=$(swift build -c release --scratch-path "${SCRATCH:-.build-static}" --static-swift-stdlib -Xswiftc -static-executable --show-bin-path)/capreg
file "$bin" | grep -q "statically linked" || { echo "FAIL: $bin is not statically linked: $(file "$bin")"; exit 1; }
args=()
for c in $configs; do args+=(--config "$c"); done
# A plain collect: probing every group and cdev is the default.
status=0
# run.sh's own status says whether every guest reached the end of /init; the checker says so per guest.
bash "$tool" "${args[@]}" --out "$out" --extra "$bin" --extra-args "collect --hostname vmharness" || true
# A guest that never reached its /init is booted again, twice at most: under TCG on a loaded machine the
# 6.1 kernel can miss the IO-APIC timer check and panic before user space ("timer doesn't work through
# Interrupt-remapped IO-APIC"), which says nothing about the collector. A collector failure is never retried.
for c in $configs; do
  for try in 1 2; do
    grep -qx '=== done' "$out/$c/console.txt" 2>/dev/null && break
    echo "vmharness: $c did not reach the end of /init ($(head -n1 "$out/$c/serial.log" 2>/dev/null | cut -c1-120)); booting it again ($try of 2)"
    bash "$tool" --config "$c" --out "$out" --extra "$bin" --extra-args "collect --hostname vmharness" || true
  done
done
for c in $configs; do
  python3 collector/vmharness-check.py "$out/$c" "$bin" || status=1
done
exit $status
