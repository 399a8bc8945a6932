#!/usr/bin/env python3
"""Writes the committed seed corpus (one composed buffer per nesting revision, from the fact sheet's
offsets). With --captures OUTDIR it instead writes seeds made from ../shared/captures into OUTDIR/TARGET:
those bytes are the kernel's, not ours, so they are used at run time and never committed."""
import os, struct, glob, sys

root = os.path.dirname(os.path.abspath(__file__))
captures = os.path.join(root, "..", "..", "shared", "captures")

out_root = os.path.join(root, "corpus")
from_captures = len(sys.argv) == 3 and sys.argv[1] == "--captures"
if from_captures:
    out_root = sys.argv[2]

def write(target, name, data):
    d = os.path.join(out_root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def info_with(cap):
    """A 24-byte type1 info header (flags PGSIZES|CAPS, cap_offset 24) followed by one capability."""
    body = struct.pack("<IIQII", 0, 3, 0x40201000, 24, 0) + cap
    return struct.pack("<I", len(body)) + body[4:]

def hdr(cid, next_=0):
    return struct.pack("<HHI", cid, 1, next_)

CAP, ECAP = 1 << 56, (1 << 29) | (1 << 31) | (1 << 40)
vtd_b = struct.pack("<IIQQ", 0, 0, CAP, ECAP)
infos = {
    "v3": struct.pack("<IIII", 40, 1, 7, 0) + struct.pack("<IHHQQ", 0, 39, 20, CAP, ECAP),
    "v5": struct.pack("<IIIIHHI", 48, 1, 7, 0, 48, 20, 0) + vtd_b,
    "v6": struct.pack("<IIIIHHI", 48, 0, 1, 7, 48, 20, 0) + vtd_b,
    "v7": struct.pack("<IIIIHH", 56, 0, 1, 7, 57, 16) + bytes(12) + vtd_b,
    "v8": struct.pack("<IIIIHH", 64, 0, 1, 3, 48, 20) + bytes(12) + struct.pack("<I", 0) + bytes(12) + struct.pack("<QQ", CAP, ECAP),
}
caps = {
    "nesting-v3": hdr(3) + struct.pack("<I", 0) + infos["v3"],
    "nesting-v4": hdr(3) + struct.pack("<II", 0, 0) + infos["v5"],
    "nesting-v5": hdr(3) + infos["v5"],
    "nesting-v6": hdr(3) + infos["v6"],
    "nesting-v7": hdr(3) + infos["v7"],
    "nesting-v8": hdr(4) + infos["v8"],
    "ambiguous-id2": hdr(2) + struct.pack("<IIIII", 0, 16, 0, 1, 0),
}
if not from_captures:
    for name, cap in caps.items():
        write("vfio_info", name, bytes([0]) + info_with(cap))
    for name, info in infos.items():
        write("nesting_info", name, bytes([0]) + info)
    # Register and iommufd seeds (values as the fact sheet's tables give them).
    cap, ecap = 0xd2008c222f0686, 0x480080f00f4a
    write("vtd_regs", "pair-bytes", struct.pack("<QQ", cap, ecap))
    write("vtd_regs", "pair-text", b"d2008c222f0686\n480080f00f4a\n")
    write("vtd_regs", "pair-0x", b"0x1d2008c222f0686 0x880000f00f4a")
    write("amd_efr", "efr-only", b"\x00206d73ef22254ade\n")
    write("amd_efr", "efr-efr2-6.0", b"\x02" + b"1:206d73ef22254ade\n")
    write("amd_efr", "bytes", b"\x00" + struct.pack("<QQ", 0x206d73ef22254ade, 0x1))
    idr = [0x0f0ff7bf | 3, 0x0e739d40 | (20 << 6), 0, 0x400, 0, 0x75]  # IDR0 S1P|S2P, IDR1 SSIDSIZE 20, IDR3 RIL, IDR5 OAS 48
    write("smmuv3_idr", "hw-info", struct.pack("<II6III", 0, 0, *idr, 0x43b, 0x1))
    vtd = struct.pack("<IIQQ", 1, 0, cap, ecap)
    hw = lambda data_len, dtype, pasid, caps: struct.pack("<IIIIQIBBBBQ", 40, 0, 1, data_len, 0, dtype, pasid, 0, 0, 0, caps)
    write("iommufd_hw_info", "vtd-6.7", hw(24, 1, 0, 0) + vtd)
    write("iommufd_hw_info", "vtd-6.6", struct.pack("<IIIIQII", 32, 0, 1, 24, 0, 1, 0) + vtd)
    write("iommufd_hw_info", "smmuv3", hw(40, 2, 20, 1) + struct.pack("<II6III", 0, 0, *idr, 0x43b, 1))
    write("iommufd_hw_info", "amd", hw(16, 4, 16, 0) + struct.pack("<QQ", 0x206d73ef22254ade, 0))
    write("iommufd_hw_info", "tegra", hw(8, 3, 0, 0) + struct.pack("<IBBBB", 0, 1, 2, 4, 0))
    write("blob_text", "hex", b"78000000 03000000 0010204000000000")
    write("blob_text", "base64", b"eAAAAAMAAAAAECBAAAAAAA==")
    write("blob_text", "register", b"0xd2008c22260286\n")
    write("blob_text", "kernel", b"6.12.95+deb12-amd64")
    sys.exit(0)

for folder in sorted(glob.glob(os.path.join(captures, "*"))):
    hexfile = os.path.join(folder, "vfio-info.hex")
    if os.path.exists(hexfile):
        raw = bytes.fromhex("".join(open(hexfile).read().split()))
        for k in range(5):
            write("vfio_info", f"{os.path.basename(folder)}-k{k}", bytes([k]) + raw)
    for line in open(os.path.join(folder, "console.txt"), errors="replace") if os.path.exists(os.path.join(folder, "console.txt")) else []:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "iommufd.hw_info_hex":
            info = bytes.fromhex(parts[1])
        if len(parts) == 2 and parts[0] == "iommufd.hw_info_data_hex":
            write("iommufd_hw_info", os.path.basename(folder), info + bytes.fromhex(parts[1]))
