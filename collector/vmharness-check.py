#!/usr/bin/env python3
"""Checks the report `capreg collect` printed inside one vmharness guest against what the guest's own
probe (vfioprobe, the same boot) printed, and what the registry makes of it.
Usage: vmharness-check.py OUTDIR/CONFIG CAPREG_BINARY

- sysfs cap/ecap/version/address in the report equal the guest's files;
- per device vfioprobe read: the VFIO probe outcomes (CHECK_EXTENSION 1-12, SET_IOMMU(6) and the type
  that took) and the GET_INFO buffer equal vfioprobe's; /dev/iommu present or its errno;
- per vfio cdev: bind, IOAS and every IOMMU_HWPT_ALLOC outcome with the errno vfioprobe got, the hw_info
  bytes; the nest-parent allocation refused (QEMU's VT-d has no ECAP.NEST), never ok;
- the zero-size iommufd command probes answer as vfioprobe's did;
- per device vfioprobe read, a pci-device source with its group, driver (vfio-pci) and cdev, and a
  configuration space read whole (as root: 4096 bytes for PCIe, 256 for conventional PCI);
- ingested into a scratch registry, the host's usable `nesting` is false, never true, and its evidence
  names the refusal; devices(…) finds its vfio-pci devices, each with the kernel's nest-parent refusal."""
import base64, errno, json, os, subprocess, sys, tempfile

outdir, capreg = sys.argv[1:3]
name = os.path.basename(outdir.rstrip("/"))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + f"[{name}] " + what)
    if not ok:
        failures.append(what)


def errname(number):
    """The errno name as the collector writes it (Swift's Errno: 95 is EOPNOTSUPP, Python says ENOTSUP)."""
    return {95: "EOPNOTSUPP"}.get(number) or errno.errorcode.get(number, f"E{number}")


def outcome(rc, err):
    return "ok" if int(rc) == 0 else errname(int(err))


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


console = read(os.path.join(outdir, "console.txt")).split("\n")
if "=== uname" not in console or "=== done" not in console:
    first = read(os.path.join(outdir, "serial.log")).split("\n")[0] if os.path.exists(os.path.join(outdir, "serial.log")) else ""
    check(False, f"the guest reached the end of its /init (serial.log begins: {first[:160]})")
    sys.exit(1)
release = console[console.index("=== uname") + 1].strip()
extra_lines = read(os.path.join(outdir, "extra-capreg.txt")).split("\n")
rc_line = next((l for l in console if l.startswith("=== extra capreg rc ")), "")
check(rc_line.startswith("=== extra capreg rc 0 "), f"capreg collect exited 0 in the guest ({rc_line})")
report_line = next((l for l in extra_lines if l.startswith("{")), None)
check(report_line is not None, "the guest printed a report")
if report_line is None:
    sys.exit(1)
report = json.loads(report_line)
with open(os.path.join(outdir, "report.json"), "w") as f:
    f.write(report_line + "\n")
seconds = float(rc_line.split()[-1]) if rc_line else -1
print(f"     [{name}] kernel {report['kernel']['release']}, {len(report['sources'])} sources, {seconds:.2f} s in the guest (TCG)")
check(report["kernel"]["release"] == release, f"kernel release {report['kernel']['release']} = uname -r {release}")
check(report["collector_version"] == "capreg-collector 0.3.0", f"collector {report['collector_version']}")
stderr_lines = [l for l in extra_lines if l.strip() and not l.startswith("{")]
check(not stderr_lines, f"nothing on stderr: {stderr_lines[:3]}")

sources = report["sources"]


def source(kind, unit):
    return next((s for s in sources if s["kind"] == kind and s["unit"] == unit), None)


def probes(unit):
    s = source("probe", unit)
    return json.loads(base64.b64decode(s["raw"])) if s and s.get("raw") else None


# sysfs
dmar = source("sysfs-intel", "dmar0")
files = json.loads(base64.b64decode(dmar["raw"])) if dmar else {}
for f in ("cap", "ecap", "version", "address"):
    guest = read(os.path.join(outdir, "sysfs/class/iommu/dmar0/intel-iommu", f))
    check(files.get(f) == guest, f"sysfs {f} {files.get(f, '').strip()!r} equals the guest's {guest.strip()!r}")

# per device vfioprobe read
base = probes("iommufd")
check(base is not None, "device-less iommufd probe source present")
base = base or {}
commands_checked = False
cdevs = []
vfio_devices = []
nest_refusals = set()
for fn in sorted(os.listdir(outdir)):
    if not (fn.startswith("vfioprobe-") and fn.endswith(".txt")):
        continue
    lines = [l.split() for l in read(os.path.join(outdir, fn)).split("\n") if l.strip()]
    first = next(w for w in lines if w[0] == "device")
    bdf, group = first[1], first[3]
    vfio_devices.append(bdf)
    pci = source("pci-device", bdf)
    pci_files = json.loads(base64.b64decode(pci["raw"])) if pci and pci.get("raw") else {}
    check(pci is not None and pci["status"] == "ok", f"{bdf}: pci-device source present and read")
    check(pci_files.get("iommu_group") == group and pci_files.get("driver") == "vfio-pci",
          f"{bdf}: pci-device group {pci_files.get('iommu_group')} = vfioprobe's {group}, driver {pci_files.get('driver')}")
    # As root the whole space: 4096 bytes for a PCI Express device (QEMU's e1000e, 8086:10d3), 256 for a
    # conventional one (QEMU's edu, 1234:11e8); 64 would mean the collector was not allowed to read it.
    pcie = pci_files.get("vendor", "").strip() == "0x8086"
    check(pci_files.get("config_size") == ("4096" if pcie else "256"),
          f"{bdf}: configuration space read whole ({pci_files.get('config_size')} bytes, {'PCIe' if pcie else 'conventional PCI'})")
    v = probes(f"vfio-group-{group}")
    check(v is not None, f"{bdf}: probe source vfio-group-{group}")
    v = v or {}
    for w in lines:
        if w[0] == "container.check_extension":
            n, value = w[1], w[-1]
            check(v.get(f"vfio.check_extension.{n}") == value, f"{bdf}: CHECK_EXTENSION({n}) {v.get(f'vfio.check_extension.{n}')} = vfioprobe's {value}")
    sets = {w[2]: outcome(w[4], w[6]) for w in lines if w[0] == "set_iommu" and w[3] == "rc"}
    check(v.get("vfio.set_iommu.6") == sets.get("6"), f"{bdf}: SET_IOMMU(6) {v.get('vfio.set_iommu.6')} = vfioprobe's {sets.get('6')}")
    chosen = next((t for t in ("6", "3", "1") if v.get(f"vfio.set_iommu.{t}") == "ok"), None)
    check(chosen is not None and sets.get(chosen) == "ok", f"{bdf}: the type that took ({chosen}) also took for vfioprobe")
    buffer_hex = next((w[1] for w in lines if w[0] == f"type{chosen}.buffer_hex"), None)
    vs = source("vfio", f"vfio-group-{group}")
    raw = base64.b64decode(vs["raw"]).hex() if vs and vs.get("raw") else None
    check(vs is not None and vs["status"] == "ok" and raw == buffer_hex, f"{bdf}: GET_INFO buffer ({len(raw or '') // 2} bytes) equals vfioprobe's type{chosen}")

    dev_iommu = next(w for w in lines if w[0] == "iommufd.dev_iommu")
    want_open = "ok" if dev_iommu[1] == "present" else errname(int(dev_iommu[3]))
    check(base.get("iommufd.open") == want_open, f"/dev/iommu: {base.get('iommufd.open')} = vfioprobe's {want_open}")
    cdev_line = next(w for w in lines if w[0] == "iommufd.vfio_cdev")
    if cdev_line[1] == "absent" or cdev_line[1].startswith("absent"):
        check(base.get("iommufd.devices") in ("ENOENT", "0"), f"{bdf}: no cdev, iommufd.devices {base.get('iommufd.devices')}")
        check(not any(s["kind"] == "probe" and s["unit"].startswith("vfio") and not s["unit"].startswith("vfio-group") for s in sources),
              f"{bdf}: no device probe without a cdev")
        continue
    cdev = cdev_line[1].rsplit("/", 1)[-1]
    cdevs.append(cdev)
    check(pci_files.get("vfio-dev") == cdev, f"{bdf}: pci-device vfio-dev {pci_files.get('vfio-dev')} = vfioprobe's {cdev}")
    p = probes(cdev)
    check(p is not None, f"{bdf}: probe source {cdev}")
    if p is None:
        continue
    print(f"     [{name}] {cdev} ({bdf}): " + " ".join(f"{k.split('.', 1)[1]}={p[k]}" for k in sorted(p)))
    bind = next(w for w in lines if w[0] == "iommufd.bind")
    check(p.get("iommufd.bind") == outcome(bind[2], bind[4]), f"{cdev}: bind {p.get('iommufd.bind')} = vfioprobe's")
    ioas = next((w for w in lines if w[0] == "iommufd.ioas_alloc"), None)
    if ioas:
        check(p.get("iommufd.ioas_alloc") == outcome(ioas[2], ioas[4]), f"{cdev}: IOAS {p.get('iommufd.ioas_alloc')} = vfioprobe's")
    hwpt = {w[1]: outcome(w[5], w[7]) for w in lines if w[0] == "iommufd.hwpt_alloc"}
    check(bool(hwpt), f"{cdev}: vfioprobe asked IOMMU_HWPT_ALLOC (kernel headers with it)")
    for kind, want in sorted(hwpt.items()):
        got = p.get(f"iommufd.hwpt_alloc.{kind}")
        check(got == want, f"{cdev}: IOMMU_HWPT_ALLOC {kind} {got} = vfioprobe's {want}")
    nest = p.get("iommufd.hwpt_alloc.nest_parent")
    check(nest is not None and nest not in ("ok", "skipped"), f"{cdev}: nest parent refused by the kernel ({nest}), as QEMU's VT-d has no ECAP.NEST")
    nest_refusals.add(nest)
    check(p.get("iommufd.viommu_alloc") == "skipped" and p.get("iommufd.vdevice_alloc") == "skipped", f"{cdev}: no vIOMMU asked without a nest parent")
    detail = (source("probe", cdev) or {}).get("detail") or ""
    check("IOMMU_DESTROY" not in detail, f"{cdev}: every object destroyed at once ({detail or 'no remark'})")
    hw = source("iommufd", cdev)
    hw_raw = base64.b64decode(hw["raw"]) if hw and hw.get("raw") else b""
    struct_hex = next(w[1] for w in lines if w[0] == "iommufd.hw_info_hex")
    data_hex = next(w[1] for w in lines if w[0] == "iommufd.hw_info_data_hex")
    # dev_id (+8) is per iommufd context; everything else must be byte for byte the same.
    same = hw_raw[:8] + hw_raw[12:40] == bytes.fromhex(struct_hex)[:8] + bytes.fromhex(struct_hex)[12:40]
    check(same and hw_raw[40:].hex() == data_hex, f"{cdev}: hw_info struct and data equal vfioprobe's ({len(hw_raw)} bytes)")

    if not commands_checked:
        cmds = {w[1]: outcome(w[3], w[5]) for w in lines if w[0] == "iommufd.cmd"}
        check(len(cmds) == 24, f"vfioprobe printed {len(cmds)} command probes")
        diff = {c: (base.get(f"iommufd.cmd.{c}"), want) for c, want in cmds.items() if base.get(f"iommufd.cmd.{c}") != want}
        check(not diff, f"zero-size command probes equal vfioprobe's ({sum(1 for w in cmds.values() if w != 'ENOTTY')} known){' ' + str(diff) if diff else ''}")
        commands_checked = True

if base.get("iommufd.open") == "ok":
    check(base.get("iommufd.devices") == str(len(cdevs)), f"iommufd.devices {base.get('iommufd.devices')} = {len(cdevs)} cdevs vfioprobe saw")
    check(len(cdevs) > 0 and commands_checked, "the iommufd kernel's devices were probed")

# The registry's view: ingest into a scratch store, read the host's usable facts.
with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "r.sqlite")
    path = os.path.join(outdir, "report.json")
    ingest = subprocess.run([capreg, "ingest", "--db", db, path], capture_output=True, text=True)
    check(ingest.returncode == 0, f"capreg ingest takes the report: {ingest.stderr.strip()[:300]}")
    q = subprocess.run([capreg, "query", "--db", db, "--json", "--fields", "nesting,evidence.nesting,hw.nesting,dirty_tracking"],
                       capture_output=True, text=True)
    check(q.returncode == 0, f"capreg query: {q.stderr.strip()[:300]}")
    rows = json.loads(q.stdout) if q.returncode == 0 else []
    row = rows[0] if rows else {}
    facts = row.get("facts", row)
    evidence = str(facts.get("evidence.nesting"))
    print(f"     [{name}] nesting={facts.get('nesting')} hw.nesting={facts.get('hw.nesting')} dirty_tracking={facts.get('dirty_tracking')}")
    print(f"     [{name}] evidence.nesting: {evidence}")
    check(facts.get("nesting") is False, f"usable nesting is false ({facts.get('nesting')!r}), never true")
    if base.get("iommufd.open") == "ok":
        check(bool(nest_refusals) and any(f"nest_parent on vfio" in evidence and e in evidence for e in nest_refusals),
              f"the evidence names the nest-parent refusal and its errno ({', '.join(sorted(nest_refusals))})")
    else:
        check("no iommufd" in evidence, "the evidence says the kernel has no iommufd")

    # Per device: every vfio-pci device counted, and each probed cdev's nest-parent refusal kept on its device.
    def matches(expr):
        r = subprocess.run([capreg, "query", "--db", db, "--json", "--fresh-within", "off", expr], capture_output=True, text=True)
        return r.returncode == 0 and len(json.loads(r.stdout)) == 1
    n = len(vfio_devices)
    check(n > 0 and matches(f'devices(device.driver = "vfio-pci") >= {n}') and not matches(f'devices(device.driver = "vfio-pci") > {n}'),
          f"devices(…) counts the {n} vfio-pci devices")
    if cdevs:
        check(matches(f'devices(device.nesting = false and device.vfio_cdev != "none") = {len(cdevs)}'),
              f"each of the {len(cdevs)} probed cdevs' devices has device.nesting = false")

sys.exit(1 if failures else 0)
