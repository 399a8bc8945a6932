#!/usr/bin/env bash
# Runs `capreg collect` as root inside a real Debian kernel (QEMU, emulated VT-d, QEMU's edu device
# bound to vfio-pci) in the legacy and the scalable configuration, and checks the printed report
# against what the guest itself printed: sysfs cap/ecap equal, the VFIO buffer equal to vfioprobe's
# and decodable (nesting type tried and refused with EINVAL, then type1v2), iommufd ok or unavailable
# with a reason. Usage: collector/realkernel-test.sh [OUTDIR]   (needs root for the package install)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build-realkernel}
tool=${REALKERNEL:-../shared/tools/realkernel/run.sh}
[ -x "$tool" ] || [ -f "$tool" ] || { echo "SKIP realkernel: $tool not found"; exit 0; }
command -v python3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null; }
mkdir -p "$out"
swift build -c release --scratch-path "${SCRATCH:-.build-static}" --static-swift-stdlib -Xswiftc -static-executable --product capreg
bin=$(swift build -c release --scratch-path "${SCRATCH:-.build-static}" --static-swift-stdlib -Xswiftc -static-executable --show-bin-path)/capreg
file "$bin" | grep -q "statically linked" || { echo "FAIL: $bin is not statically linked: $(file "$bin")"; exit 1; }
export ACCEL=${ACCEL:-tcg}   # ACCEL=kvm where /dev/kvm works
status=0
for config in "legacy intremap=on,caching-mode=on" "scalable intremap=on,caching-mode=on,x-scalable-mode=on,aw-bits=48"; do
  set -- $config
  name=$1 opts=$2
  bash "$tool" "$out/$name" "$opts" "$bin" collect --vfio-group all --iommufd-device all --hostname "realkernel-$name" --label "config=$name"
  python3 collector/realkernel-check.py "$out/$name/serial.log" "$bin" "$out/$name/report.json" || status=1
done
exit $status
