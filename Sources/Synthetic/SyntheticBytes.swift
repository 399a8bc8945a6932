import JSONText
import Report

/// Raw source bytes laid out field by field, little-endian, as the kernel returns them (compare
/// ../shared/captures): VFIO type1 info buffers, iommufd hw_info, sysfs file sets.
enum SyntheticBytes {
    struct LE {
        var bytes: [UInt8] = []
        mutating func u16(_ v: UInt16) { for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }
        mutating func set32(_ offset: Int, _ v: UInt32) {
            for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
        }
    }

    struct VFIOShape {
        var migration = true          // VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION (5.8+)
        var dmaAvail = true           // VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL (5.10+)
        var padTo8 = false            // 6.12+ pads every capability to 8 bytes
        var topIOVA: UInt64 = 0x7f_ffff_ffff
        var pgsizes: UInt64 = 0x4020_1000
        var dmaEntries: UInt32 = 0xffff
        /// The unmerged nesting series' capability (vendor `+vsva` trees), placed after DMA_AVAIL as the
        /// series chained it: nil on every upstream kernel.
        var nesting: Nesting?
    }

    /// Revisions of VFIO_IOMMU_TYPE1_INFO_CAP_NESTING carrying VT-d data (fact sheet §2.2–2.6).
    enum NestingRevision {
        /// id 3, 56 bytes: `iommu_nesting_info` layout B at +8 (size, format, features, flags, aw, pb), vtd B.
        case v5
        /// id 4, 72 bytes: layout C at +8 (argsz, flags, format, features, aw, pb, pad[12]), vtd D.
        case v8
    }

    struct Nesting {
        var revision: NestingRevision
        var addrWidth: UInt16 = 48
        var pasidBits: UInt16 = 20
        /// Raw registers; the driver exports them masked (§2.6).
        var cap: UInt64
        var ecap: UInt64
    }

    /// The NESTING capability's body after its 8-byte header: format 1 (IOMMU_PASID_FORMAT_INTEL_VTD),
    /// the VT-d driver's features (0x7 in v5's numbering, 0x3 in v8's), FL1GP|FL5LP and
    /// PRS|ERS|SRS|EAFS|PASID of the registers.
    static func nestingBody(_ n: Nesting) -> [UInt8] {
        var b = LE()
        let cap = n.cap & 0x1100_0000_0000_0000, ecap = n.ecap & 0x104_e000_0000
        switch n.revision {
        case .v5:
            b.u32(48)                  // size: 24-byte header + 24 bytes of VT-d data
            b.u32(1)                   // format
            b.u32(0x7)                 // features: SYSWIDE_PASID | BIND_PGTBL | CACHE_INVLD
            b.u32(0)                   // flags
            b.u16(n.addrWidth); b.u16(n.pasidBits)
            b.u32(0)                   // padding
            b.u32(0); b.u32(0)         // vtd flags, padding
            b.u64(cap); b.u64(ecap)
        case .v8:
            b.u32(64)                  // argsz: 32-byte header + 32 bytes of VT-d data
            b.u32(0)                   // flags
            b.u32(1)                   // format
            b.u32(0x3)                 // features: BIND_PGTBL | CACHE_INVLD (v8 numbering)
            b.u16(n.addrWidth); b.u16(n.pasidBits)
            b.bytes += [UInt8](repeating: 0, count: 12)
            b.u32(0)                   // vtd flags
            b.bytes += [UInt8](repeating: 0, count: 12)
            b.u64(cap); b.u64(ecap)
        }
        return b.bytes
    }

    /// `VFIO_IOMMU_GET_INFO` for a type1v2 container: the fixed struct, then MIGRATION → DMA_AVAIL →
    /// (NESTING) → IOVA_RANGE, each header's `next` patched once the following capability's offset is known.
    static func vfioInfo(_ shape: VFIOShape) -> [UInt8] {
        var b = LE()
        b.u32(0)                       // argsz, patched below
        b.u32(0x3)                     // VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS
        b.u64(shape.pgsizes)
        b.u32(24)                      // cap_offset
        b.u32(0)                       // pad
        var previousNext: Int? = nil
        func header(_ b: inout LE, id: UInt16) {
            if let at = previousNext { b.set32(at, UInt32(b.bytes.count)) }
            previousNext = b.bytes.count + 4
            b.u16(id)
            b.u16(1)
            b.u32(0)
        }
        if shape.migration {
            header(&b, id: 2)
            b.u32(0)                   // flags
            b.u32(0)
            b.u64(0x1000)              // pgsize_bitmap
            b.u64(0x1000_0000)         // max_dirty_bitmap_size (256 MiB)
            if shape.padTo8 { b.pad(to: 8) }
        }
        if shape.dmaAvail {
            header(&b, id: 3)
            b.u32(shape.dmaEntries)
            if shape.padTo8 { b.pad(to: 8) }
        }
        if let nesting = shape.nesting {
            header(&b, id: nesting.revision == .v5 ? 3 : 4)
            b.bytes += nestingBody(nesting)
            if shape.padTo8 { b.pad(to: 8) }
        }
        header(&b, id: 1)
        b.u32(2)                       // nr_iovas
        b.u32(0)
        b.u64(0); b.u64(0xfedf_ffff)   // below the interrupt window
        b.u64(0xfef0_0000); b.u64(shape.topIOVA)
        b.set32(0, UInt32(b.bytes.count))
        return b.bytes
    }

    /// `struct iommu_hw_info` (40 bytes) followed by `struct iommu_hw_info_vtd` (24 bytes).
    static func iommufdVTd(cap: UInt64, ecap: UInt64, maxPasidLog2: UInt8) -> [UInt8] {
        var b = LE()
        b.u32(40)                      // size
        b.u32(0)                       // flags
        b.u32(1)                       // dev_id
        b.u32(24)                      // data_len
        b.u64(0)                       // data_uptr (zeroed as in the capture)
        b.u32(1)                       // out_data_type IOMMU_HW_INFO_TYPE_INTEL_VTD
        b.bytes.append(maxPasidLog2)   // out_max_pasid_log2
        b.bytes += [0, 0, 0]
        b.u64(0)                       // out_capabilities
        b.u32(0x1)                     // IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17
        b.u32(0)
        b.u64(cap)
        b.u64(ecap)
        return b.bytes
    }

    static func sysfsIntel(cap: UInt64, ecap: UInt64, address: UInt64) -> [UInt8] {
        sysfsRaw([("address", hex(address) + "\n"), ("cap", hex(cap) + "\n"), ("ecap", hex(ecap) + "\n"), ("version", "1:0\n")])
    }

    /// Older kernels print only EFR in `features`; newer ones print `efr:efr2`.
    static func sysfsAMD(cap: UInt32, efr: UInt64, efr2: UInt64?) -> [UInt8] {
        let features = efr2.map { hex(efr) + ":" + hex($0) } ?? hex(efr)
        return sysfsRaw([("cap", String(cap, radix: 16) + "\n"), ("features", features + "\n")])
    }

    /// The same bytes as SourceDecoder.sysfsRaw (sorted keys, compact), without JSONSerialization's cost;
    /// `files` must be in key order.
    static func sysfsRaw(_ files: [(String, String)]) -> [UInt8] {
        var out = JSONWriter()
        out.objectStart()
        for (name, text) in files {
            out.key(name)
            out.string(text)
        }
        out.objectEnd()
        return out.bytes
    }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }
}
