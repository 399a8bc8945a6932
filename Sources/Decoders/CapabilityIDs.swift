/// Capability ids 2, 3 and 4 mean different things on different kernels: 2 is MIGRATION upstream (5.8)
/// and NESTING in series v1/v2; 3 is DMA_AVAIL upstream (5.10, and 5.4.y stable) and NESTING in v3–v7;
/// 4 is NESTING in v8. Every layout the id can have is tried against the capability's length and
/// self-described sizes (fact sheet §2.9). One fit decodes. Several fits that mean the same decode.
/// Several that differ are narrowed by kernel release; if that leaves more than one, the capability is
/// reported ambiguous with its raw bytes. Nothing is guessed silently: each choice that leaned on the
/// kernel release, or that is unusual for it, leaves a note.
enum CapabilityIDs {
    /// Which layout a candidate reading is; labels and eras are computed only when a note needs them.
    enum Layout: Equatable {
        case migration, migrationI386, dmaAvail, nestingV1
        case nesting(NestingInfo.Revision)

        var label: String {
            switch self {
            case .migration: return "MIGRATION"
            case .migrationI386: return "MIGRATION (i386 layout)"
            case .dmaAvail: return "DMA_AVAIL"
            case .nestingV1: return "NESTING v1"
            case .nesting(let rev): return "NESTING \(rev.rawValue)"
            }
        }

        /// Kernel releases that shipped this layout (nesting: the trees the unmerged series was based on).
        func inEra(_ k: KernelRelease) -> Bool {
            switch self {
            case .migration, .migrationI386: return k.atLeast(5, 8)
            case .dmaAvail: return k.atLeast(5, 10) || (k.major == 5 && k.minor == 4)
            case .nestingV1, .nesting: return k.atLeast(5, 5) && !k.atLeast(5, 14)
            }
        }

        /// MIGRATION's i386 layout is told from its content.
        func resolvedMigration(_ content: VFIOCapability.Content) -> Layout {
            if case .migration(let m) = content, m.i386 { return .migrationI386 }
            return self
        }

        var eraText: String {
            switch self {
            case .migration, .migrationI386: return "5.8 and later"
            case .dmaAvail: return "5.10 and later or 5.4.y"
            case .nestingV1, .nesting: return "the 5.5–5.13 trees the unmerged nesting series was posted against"
            }
        }
    }

    struct Candidate {
        var layout: Layout
        var content: VFIOCapability.Content
    }

    static let layoutsOfMigrationID: [Layout] = [.migration, .nestingV1, .nesting(.v2)]
    static let layoutsOfDMAAvailID: [Layout] = [.dmaAvail, .nesting(.v3), .nesting(.v4), .nesting(.v5), .nesting(.v6), .nesting(.v7)]
    static let layoutsOfNestingV8ID: [Layout] = [.nesting(.v8)]

    /// Reads `r` as `layout`: nil when the shape does not fit, an error when it fits but is malformed.
    static func read(_ r: ByteReader, as layout: Layout) throws(DecodeError) -> VFIOCapability.Content? {
        switch layout {
        case .migration, .migrationI386: return try migration(r)
        case .dmaAvail: return try dmaAvail(r)
        case .nestingV1: return try nestingV1(r)
        case .nesting(let rev): return try nesting(r, rev, payload: rev == .v2 || rev == .v3 ? 12 : rev == .v4 ? 16 : 8)
        }
    }

    static func resolve(id: UInt16, _ r: ByteReader, kernel: KernelRelease?, notes: inout [String]) -> VFIOCapability.Content {
        let layouts = id == VFIOCapability.idMigration ? layoutsOfMigrationID : id == VFIOCapability.idDMAAvail ? layoutsOfDMAAvailID : layoutsOfNestingV8ID
        // Most capabilities fit exactly one layout: keep the first fit out of any array.
        var first: Candidate? = nil
        var more: [Candidate] = []
        for layout in layouts {
            guard let content = try? read(r, as: layout) else { continue }
            let fit = Candidate(layout: layout.resolvedMigration(content), content: content)
            if first == nil { first = fit } else { more.append(fit) }
        }
        guard let first else {
            // The slow path only: say which layout came closest (its error reached furthest into the bytes).
            var closest: DecodeError? = nil
            for layout in layouts {
                do { _ = try read(r, as: layout) } catch where closest == nil || error.offset > closest!.offset { closest = error } catch {}
            }
            return .unknown("no known layout of capability id \(id) fits its \(r.count) bytes" + (closest.map { " (closest: \($0))" } ?? ""))
        }
        var chosen = first
        if !more.isEmpty {
            let meaning = { (c: Candidate) in facts(c.content).filter { $0.name != "nesting.revision" } }
            if !more.allSatisfy({ meaning($0) == meaning(first) }) {
                let all = [first] + more
                let labels = all.map(\.layout.label)
                guard let kernel else {
                    notes.append("fits \(labels.joined(separator: " and ")); no kernel release given to choose")
                    return .ambiguous(labels)
                }
                let inEra = all.filter { $0.layout.inEra(kernel) }
                guard inEra.count == 1 else {
                    notes.append("fits \(labels.joined(separator: " and ")); kernel \(kernel) does not decide between them")
                    return .ambiguous(labels)
                }
                chosen = inEra[0]
                notes.append("fits \(labels.joined(separator: " and ")); chose \(chosen.layout.label) by kernel release \(kernel)")
                return chosen.content
            }
        }
        if let kernel, !chosen.layout.inEra(kernel) {
            notes.append("\(chosen.layout.label) on kernel \(kernel), outside \(chosen.layout.eraText) (backport or vendor tree?)")
        }
        return chosen.content
    }

    /// MIGRATION: +8 flags (no bits), +12 padding, +16 pgsize_bitmap, +24 max_dirty_bitmap_size (32 bytes);
    /// on i386 the u64s are only 4-aligned: +12 and +20 (28 bytes).
    static func migration(_ r: ByteReader) throws(DecodeError) -> VFIOCapability.Content? {
        let i386: Bool
        switch r.count {
        case 32: i386 = false
        case 28: i386 = true
        default: return nil
        }
        try r.requireZero(8, 4, "MIGRATION flags (no bits defined)")
        let m = VFIOCapability.Migration(flags: 0, pgsizeBitmap: try r.u64(i386 ? 12 : 16, "pgsize_bitmap"),
                                         maxDirtyBitmapSize: try r.u64(i386 ? 20 : 24, "max_dirty_bitmap_size"), i386: i386)
        return .migration(m)
    }

    /// DMA_AVAIL: +8 avail; 12 bytes, or 16 with zero padding from 6.6 on.
    static func dmaAvail(_ r: ByteReader) throws(DecodeError) -> VFIOCapability.Content? {
        guard r.count == 12 || (r.count == 16 && r.allZero(12, 4)) else { return nil }
        return .dmaAvail(try r.u32(8, "avail"))
    }

    /// Nesting v1: +8 nesting_capabilities, then optionally +12 stage1_formats.
    static func nestingV1(_ r: ByteReader) throws(DecodeError) -> VFIOCapability.Content? {
        guard r.count == 12 || r.count == 16 else { return nil }
        let caps = try r.u32(8, "nesting_capabilities")
        guard caps & ~1 == 0 else { return nil }
        return .nestingV1(capabilities: caps, stage1Formats: r.count == 16 ? try r.u32(12, "stage1_formats") : nil)
    }

    /// Nesting v2–v8: fixed words up to `payload` (flags and padding, zero), then an iommu_nesting_info
    /// whose own size word gives its length. Up to 7 zero bytes may follow (6.6-style 8-byte rounding).
    /// nil when the shape does not fit; an error when it fits but the info inside is malformed.
    static func nesting(_ r: ByteReader, _ revision: NestingInfo.Revision, payload: Int) throws(DecodeError) -> VFIOCapability.Content? {
        // Cheap shape checks first: most capabilities are some other layout, and those are not errors.
        guard r.count >= payload + 4 else { return nil }
        if payload > 8 && !r.allZero(8, payload - 8) { return nil }
        let size = Int(try r.u32(payload, "iommu_nesting_info size"))
        let slack = r.count - payload - size
        guard slack >= 0, slack < 8, r.allZero(payload + size, slack) else { return nil }
        let info = try NestingInfo.decode(try r.slice(payload, size, "iommu_nesting_info"), as: revision)
        return .nesting(info)
    }

    static func facts(_ content: VFIOCapability.Content) -> [Fact] {
        VFIOCapability(id: 0, version: 1, offset: 0, next: 0, bytes: [], content: content, notes: []).facts
    }
}
