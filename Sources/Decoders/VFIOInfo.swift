/// The buffer `VFIO_IOMMU_GET_INFO` fills for a type1 container (fact sheet §1.3–1.6): the fixed
/// struct and its capability chain. Every capability is kept whole (id, version, bytes), decoded when
/// its layout is known, and marked ambiguous or unknown otherwise — never dropped.
public struct VFIOInfo: Hashable, Sendable {
    public static let flagPgsizes: UInt32 = 1 << 0
    public static let flagCaps: UInt32 = 1 << 1
    /// The usable IOVA windows as one text (IOVAWindows), the name the query function covers() reads.
    public static let iovaWindows = "vfio.iova_windows"

    public var argsz: UInt32
    public var flags: UInt32
    public var iovaPgsizes: UInt64
    /// nil for the 16-byte struct of kernels before 5.4, which has no capability chain.
    public var capOffset: UInt32?
    public var capabilities: [VFIOCapability]

    /// Walks the chain in bounded time: every `next` must move forward past the current header, stay
    /// 4-byte aligned and leave room for a header, so the walk visits at most argsz/8 capabilities.
    public static func decode(_ bytes: [UInt8], kernel: KernelRelease? = nil) throws(DecodeError) -> VFIOInfo {
        let r = ByteReader(bytes, context: "vfio_iommu_type1_info")
        let argsz = try r.u32(0, "argsz")
        guard argsz >= 16 else {
            throw DecodeError(.badValue, offset: 0, expected: "argsz of at least 16", found: String(argsz), context: r.context)
        }
        guard Int(argsz) <= r.count else {
            throw DecodeError(.truncated, offset: r.count, expected: "\(argsz) bytes as argsz says (re-query with a larger buffer)",
                              found: "\(r.count)", context: r.context)
        }
        guard Int(argsz) == r.count else {
            throw DecodeError(.sizeMismatch, offset: 0, expected: "argsz equal to the buffer length \(r.count)",
                              found: String(argsz), context: r.context)
        }
        var info = VFIOInfo(argsz: argsz, flags: try r.u32(4, "flags"), iovaPgsizes: try r.u64(8, "iova_pgsizes"),
                            capOffset: nil, capabilities: [])
        guard argsz >= 20 else { return info }
        let capOffset = try r.u32(16, "cap_offset")
        info.capOffset = capOffset
        guard info.flags & flagCaps != 0, capOffset != 0 else {
            if capOffset != 0 {
                throw DecodeError(.badValue, offset: 16, expected: "cap_offset 0 when flag VFIO_IOMMU_INFO_CAPS is clear",
                                  found: String(capOffset), context: r.context)
            }
            return info
        }
        info.capabilities.reserveCapacity(4)
        var offset = Int(capOffset)
        try checkLink(offset, from: nil, argsz: Int(argsz), r)
        while true {
            let id = try r.u16(offset, "capability id")
            let version = try r.u16(offset + 2, "capability version")
            let next = Int(try r.u32(offset + 4, "capability next"))
            if next != 0 { try checkLink(next, from: offset, argsz: Int(argsz), r) }
            let end = next == 0 ? Int(argsz) : next
            let capReader = try r.slice(offset, end - offset, "capability", place: .capability(id: id, at: offset))
            info.capabilities.append(try VFIOCapability.decode(id: id, version: version, offset: offset, next: UInt32(next),
                                                               capReader, kernel: kernel))
            if next == 0 { break }
            offset = next
        }
        return info
    }

    /// Checks an offset that points at a capability header: cap_offset (from == nil) or a `next`.
    static func checkLink(_ target: Int, from: Int?, argsz: Int, _ r: ByteReader) throws(DecodeError) {
        func fail(_ kind: DecodeError.Kind, _ expected: String) -> DecodeError {
            let field = from.map { "next of the capability at \($0)" } ?? "cap_offset"
            return DecodeError(kind, offset: from.map { $0 + 4 } ?? 16, expected: expected, found: "\(field) = \(target)", context: r.context)
        }
        if let from {
            if target == from { throw fail(.badLink, "a next offset past this capability (it points at itself)") }
            if target < from { throw fail(.badLink, "a next offset past this capability (it points backwards)") }
            if target < from + 8 { throw fail(.badLink, "a next offset past this capability's 8-byte header (it points into it)") }
        } else if target < 20 {
            throw fail(.badLink, "cap_offset past the 20 bytes of fixed fields")
        }
        if target > argsz - 8 { throw fail(.badLink, "a header that fits within argsz \(argsz) (it points past the end)") }
        if target % 4 != 0 { throw fail(.unaligned, "a 4-byte aligned capability offset") }
    }

    // MARK: facts

    /// Every fact of the buffer: the fixed struct's and each capability's.
    public var facts: [Fact] { headerFacts + capabilities.flatMap(\.facts) }

    /// Facts of the fixed struct and the chain as a whole.
    public var headerFacts: [Fact] {
        [
            Fact("vfio.iova_pgsizes", hex: iovaPgsizes),
            Fact("vfio.pgsize_2m", iovaPgsizes & (1 << 21) != 0),
            Fact("vfio.pgsize_1g", iovaPgsizes & (1 << 30) != 0),
            Fact("vfio.caps", text: capabilities.map(\.name).joined(separator: ",")),
            Fact("vfio.ambiguous", capabilities.contains { if case .ambiguous = $0.content { return true } else { return false } }),
        ]
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("vfio.iova_pgsizes", .text, "IOMMU page sizes the container maps, as a hex bitmap (bit n set: 2^n bytes).",
                        source: "vfio_iommu_type1_info.iova_pgsizes (+8)"),
        VocabularyEntry("vfio.pgsize_2m", .bool, "2 MiB IOMMU pages are supported.", source: "iova_pgsizes bit 21"),
        VocabularyEntry("vfio.pgsize_1g", .bool, "1 GiB IOMMU pages are supported.", source: "iova_pgsizes bit 30"),
        VocabularyEntry("vfio.caps", .text, "The capability chain in kernel order, comma-separated (`migration,dma_avail,iova_range`, `nesting`, `unknown-ID`, `ambiguous-ID`).",
                        source: "vfio_info_cap_header.id of each capability"),
        VocabularyEntry("vfio.ambiguous", .bool, "Some capability fits several layouts with different meanings; its raw bytes are kept and no facts are taken from it.",
                        source: "capability id disambiguation (fact sheet §2.9)"),
        VocabularyEntry("vfio.iova_ranges", .int, "Number of usable IOVA windows.", source: "IOVA_RANGE (id 1) nr_iovas"),
        VocabularyEntry(iovaWindows, .text,
                        "The usable IOVA windows, `0xSTART-0xEND` each (hex, end inclusive) joined by `,` in the kernel's order, e.g. `0x0-0xfedfffff,0xfef00000-0xffffffffffff`; empty when there is none. Ask whether an address is usable with `covers(vfio.iova_windows, 0xfee00000)`. On a host with several containers, the windows every container has in common.",
                        source: "IOVA_RANGE (id 1) iova_ranges[].start, .end"),
        VocabularyEntry("vfio.iova_top", .text, "Highest usable IOVA (inclusive), hex — follows the IOMMU address width.", source: "IOVA_RANGE last range end"),
        VocabularyEntry("vfio.iova_top_bits", .int, "Bits needed to address `vfio.iova_top`: an indirect address-width probe (39, 48, …).",
                        source: "IOVA_RANGE: 64 − leading zeros of the highest end"),
        VocabularyEntry("vfio.migration.flags", .text, "MIGRATION capability flags, hex (no bits defined; a capability with any set is not read as MIGRATION).",
                        source: "MIGRATION (id 2) flags (+8)"),
        VocabularyEntry("vfio.migration.pgsize_bitmap", .text, "Page sizes supported for dirty tracking, hex bitmap.", source: "MIGRATION (id 2) pgsize_bitmap"),
        VocabularyEntry("vfio.migration.max_dirty_bitmap_size", .int, "Largest dirty bitmap user space may request, in bytes.",
                        source: "MIGRATION (id 2) max_dirty_bitmap_size"),
        VocabularyEntry("vfio.dma_avail", .int, "DMA mappings the container may still create: the type1 module's dma_entry_limit minus the mappings it holds (the limit itself on a fresh container).",
                        source: "DMA_AVAIL (id 3) avail (+8)"),
        VocabularyEntry("nesting.pasid_reqs", .bool, "Host PASID allocation requests are supported (nesting series v1 only).",
                        source: "v1 capability nesting_capabilities bit 0"),
        VocabularyEntry("nesting.stage1_formats", .text, "Stage-1 formats bitmap, hex (nesting series v1 only).", source: "v1 capability +12"),
    ]
}

public struct IOVARange: Hashable, Sendable {
    public var start: UInt64
    /// Inclusive.
    public var end: UInt64
}
