#!/usr/bin/env python3
"""Checks the report `capreg collect` printed inside a realkernel guest against what the guest's own
probes printed to the same serial log. Usage: realkernel-check.py SERIAL_LOG CAPREG_BINARY REPORT_OUT"""
import base64, json, subprocess, sys

log_path, capreg, report_out = sys.argv[1:4]
lines = [l.rstrip("\r") for l in open(log_path, encoding="utf-8", errors="replace").read().split("\n")]
failures = []

def after(marker):
    i = lines.index(marker)
    return lines[i + 1].strip()

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: failures.append(what)

sysfs = {f: after(f"=== sysfs dmar0 intel-iommu/{f}") for f in ("cap", "ecap", "version", "address")}
probe_hex = next(l.split(" ", 1)[1] for l in lines if l.startswith("buffer_hex "))
start = lines.index("=== extra")
report_line = next(l for l in lines[start:] if l.startswith("{"))
check(any(l.startswith("=== extra rc 0") for l in lines[start:]), "capreg collect exited 0 in the guest")
report = json.loads(report_line)
open(report_out, "w").write(report_line + "\n")
print(f"     kernel {report['kernel']['release']}, {len(report['sources'])} sources, report {report['report_id']}")

by_kind = {}
for s in report["sources"]: by_kind.setdefault(s["kind"], []).append(s)
dmar = next(s for s in by_kind["sysfs-intel"] if s["unit"] == "dmar0")
files = json.loads(base64.b64decode(dmar["raw"]))
for f, v in sysfs.items():
    check(files.get(f) == v + "\n", f"sysfs {f} in the report ({files.get(f)!r}) equals the guest's ({v})")
check(dmar["decoded"].get("vtd.cap") == "0x" + sysfs["cap"], "sysfs decoded vtd.cap")

vfio = by_kind["vfio"][0]
check(vfio["status"] == "ok", f"VFIO source ok ({vfio.get('reason')}: {vfio.get('detail')})")
raw = base64.b64decode(vfio.get("raw", ""))
check(raw.hex() == probe_hex, f"VFIO buffer ({len(raw)} bytes) equals vfioprobe's")
check("set_iommu 6 EINVAL; set_iommu 3 ok" in vfio.get("detail", ""), f"nesting type tried and refused with EINVAL, then type1v2: {vfio.get('detail')}")
check("get_info argsz 24→" in vfio.get("detail", ""), "GET_INFO re-queried with the argsz the kernel asked for")
decoded = subprocess.run([capreg, "decode", "--kind", "vfio-info", "--encoding", "base64", "--json", "--kernel", report["kernel"]["release"]],
                         input=vfio.get("raw", "").encode(), capture_output=True)
check(decoded.returncode == 0, f"capreg decode takes the VFIO buffer: {decoded.stderr.decode().strip()}")
facts = json.loads(decoded.stdout)["facts"] if decoded.returncode == 0 else {}
check(facts.get("vfio.caps") == "migration,dma_avail,iova_range", f"VFIO chain {facts.get('vfio.caps')}")
check(vfio["decoded"].get("vfio.iova_top_bits") == str(facts.get("vfio.iova_top_bits")), "the agent's decoded equals capreg decode")

for s in by_kind.get("iommufd", []):
    check(s["status"] == "ok" or (s["status"] == "unavailable" and s.get("reason", "").startswith("E")),
          f"iommufd {s['unit']}: {s['status']} {s.get('reason', '')} {s.get('detail', '')}")
check("iommufd" in by_kind, "iommufd is in the report")
sys.exit(1 if failures else 0)
