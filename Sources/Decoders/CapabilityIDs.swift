/// Capability ids 2, 3 and 4 mean different things on different kernels: 2 is MIGRATION upstream (5.8)
/// and NESTING in series v1/v2; 3 is DMA_AVAIL upstream (5.10, and 5.4.y stable) and NESTING in v3–v7;
/// 4 is NESTING in v8. Every layout the id can have is tried against the capability's length and
/// self-described sizes (fact sheet §2.9). One fit decodes. Several fits that mean the same decode.
/// Several that differ are narrowed by kernel release; if that leaves more than one, the capability is
/// reported ambiguous with its raw bytes. Nothing is guessed silently: each choice that leaned on the
/// kernel release, or that is unusual for it, leaves a note.
enum CapabilityIDs {
    struct Candidate {
        var label: String
        var content: VFIOCapability.Content
        /// Kernel releases that shipped this layout (nesting: the trees the unmerged series was based on).
        var era: @Sendable (KernelRelease) -> Bool
        var eraText: String
    }

    static let nestingEra: @Sendable (KernelRelease) -> Bool = { $0.atLeast(5, 5) && !$0.atLeast(5, 14) }
    static let nestingEraText = "the 5.5–5.13 trees the unmerged nesting series was posted against"

    static func resolve(id: UInt16, _ r: ByteReader, kernel: KernelRelease?, notes: inout [String]) -> VFIOCapability.Content {
        var candidates: [Candidate] = []
        var rejections: [DecodeError] = []
        func attempt(_ make: () throws(DecodeError) -> Candidate?) {
            do {
                if let c = try make() { candidates.append(c) }
            } catch { rejections.append(error) }
        }
        switch id {
        case VFIOCapability.idMigration:
            attempt { () throws(DecodeError) in try migration(r) }
            attempt { () throws(DecodeError) in try nestingV1(r) }
            attempt { () throws(DecodeError) in try nesting(r, .v2, payload: 12) }
        case VFIOCapability.idDMAAvail:
            attempt { () throws(DecodeError) in try dmaAvail(r) }
            attempt { () throws(DecodeError) in try nesting(r, .v3, payload: 12) }
            attempt { () throws(DecodeError) in try nesting(r, .v4, payload: 16) }
            for rev in [NestingInfo.Revision.v5, .v6, .v7] { attempt { () throws(DecodeError) in try nesting(r, rev, payload: 8) } }
        default:
            attempt { () throws(DecodeError) in try nesting(r, .v8, payload: 8) }
        }

        guard let first = candidates.first else {
            let furthest = rejections.max { $0.offset < $1.offset }
            return .unknown("no known layout of capability id \(id) fits its \(r.count) bytes" + (furthest.map { " (closest: \($0))" } ?? ""))
        }
        let meaning = { (c: Candidate) in facts(c.content).filter { $0.name != "nesting.revision" } }
        var chosen = first
        if !candidates.dropFirst().allSatisfy({ meaning($0) == meaning(first) }) {
            let labels = candidates.map(\.label)
            guard let kernel else {
                notes.append("fits \(labels.joined(separator: " and ")); no kernel release given to choose")
                return .ambiguous(labels)
            }
            let inEra = candidates.filter { $0.era(kernel) }
            guard inEra.count == 1 else {
                notes.append("fits \(labels.joined(separator: " and ")); kernel \(kernel) does not decide between them")
                return .ambiguous(labels)
            }
            chosen = inEra[0]
            notes.append("fits \(labels.joined(separator: " and ")); chose \(chosen.label) by kernel release \(kernel)")
        } else if let kernel, !chosen.era(kernel) {
            notes.append("\(chosen.label) on kernel \(kernel), outside \(chosen.eraText) (backport or vendor tree?)")
        }
        return chosen.content
    }

    /// MIGRATION: +8 flags (no bits), +12 padding, +16 pgsize_bitmap, +24 max_dirty_bitmap_size (32 bytes);
    /// on i386 the u64s are only 4-aligned: +12 and +20 (28 bytes).
    static func migration(_ r: ByteReader) throws(DecodeError) -> Candidate? {
        let i386: Bool
        switch r.count {
        case 32: i386 = false
        case 28: i386 = true
        default: return nil
        }
        try r.requireZero(8, 4, "MIGRATION flags (no bits defined)")
        let m = VFIOCapability.Migration(flags: 0, pgsizeBitmap: try r.u64(i386 ? 12 : 16, "pgsize_bitmap"),
                                         maxDirtyBitmapSize: try r.u64(i386 ? 20 : 24, "max_dirty_bitmap_size"))
        return Candidate(label: i386 ? "MIGRATION (i386 layout)" : "MIGRATION", content: .migration(m),
                         era: { $0.atLeast(5, 8) }, eraText: "5.8 and later")
    }

    /// DMA_AVAIL: +8 avail; 12 bytes, or 16 with zero padding from 6.6 on.
    static func dmaAvail(_ r: ByteReader) throws(DecodeError) -> Candidate? {
        guard r.count == 12 || (r.count == 16 && r.allZero(12, 4)) else { return nil }
        return Candidate(label: "DMA_AVAIL", content: .dmaAvail(try r.u32(8, "avail")),
                         era: { $0.atLeast(5, 10) || ($0.major == 5 && $0.minor == 4) }, eraText: "5.10 and later or 5.4.y")
    }

    /// Nesting v1: +8 nesting_capabilities, then optionally +12 stage1_formats.
    static func nestingV1(_ r: ByteReader) throws(DecodeError) -> Candidate? {
        guard r.count == 12 || r.count == 16 else { return nil }
        let caps = try r.u32(8, "nesting_capabilities")
        guard caps & ~1 == 0 else { return nil }
        return Candidate(label: "NESTING v1", content: .nestingV1(capabilities: caps, stage1Formats: r.count == 16 ? try r.u32(12, "stage1_formats") : nil),
                         era: nestingEra, eraText: nestingEraText)
    }

    /// Nesting v2–v8: fixed words up to `payload` (flags and padding, zero), then an iommu_nesting_info
    /// whose own size word gives its length. Up to 7 zero bytes may follow (6.6-style 8-byte rounding).
    static func nesting(_ r: ByteReader, _ revision: NestingInfo.Revision, payload: Int) throws(DecodeError) -> Candidate? {
        if payload > 8 { try r.requireZero(8, payload - 8, "flags and padding before the nesting info") }
        let size = Int(try r.u32(payload, "iommu_nesting_info size"))
        let slack = r.count - payload - size
        guard slack >= 0 else {
            throw DecodeError(.sizeMismatch, offset: r.base + payload, expected: "an info size within the capability's \(r.count - payload) bytes",
                              found: String(size), context: r.context)
        }
        guard slack < 8, r.allZero(payload + size, slack) else {
            throw DecodeError(.sizeMismatch, offset: r.base + payload, expected: "an info size that fills the capability (\(r.count - payload) bytes)",
                              found: String(size), context: r.context)
        }
        let info = try NestingInfo.decode(try r.slice(payload, size, "iommu_nesting_info"), as: revision)
        return Candidate(label: "NESTING \(revision.rawValue)", content: .nesting(info), era: nestingEra, eraText: nestingEraText)
    }

    static func facts(_ content: VFIOCapability.Content) -> [Fact] {
        VFIOCapability(id: 0, version: 1, offset: 0, next: 0, bytes: [], content: content, notes: []).facts
    }
}
