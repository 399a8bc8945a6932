/// `struct iommu_nesting_info` from the unmerged 2020–2021 VFIO nesting series, in each of its layouts
/// (fact sheet §2.3–2.6). The revisions reuse offsets with different meanings, so a layout is only
/// accepted when every self-check holds: the size word equals the bytes given, flag and padding words
/// are zero, the format is known and the vendor data has that format's length.
public struct NestingInfo: Hashable, Sendable {
    public enum Revision: String, Sendable, CaseIterable, Comparable {
        case v2, v3, v4, v5, v6, v7, v8
        public static func < (a: Revision, b: Revision) -> Bool { a.rawValue < b.rawValue }

        /// Header layout: A (16 bytes: size,format,features,flags), B (24: size,format,features,flags,aw,pb),
        /// B2 (24: argsz,flags,format,features,aw,pb), C (32: argsz,flags,format,features,aw,pb,pad[12]).
        var header: Header {
            switch self {
            case .v2, .v3: return .a
            case .v4, .v5: return .b
            case .v6: return .b2
            case .v7, .v8: return .c
            }
        }
        /// v8 renumbered the feature bits (BIND_PGTBL 0, CACHE_INVLD 1); v2–v7 had SYSWIDE_PASID 0.
        var newFeatureBits: Bool { self == .v8 }
        /// Bytes of VT-d vendor data after the header (§2.5).
        var vtdLength: Int {
            switch self {
            case .v2: return 40
            case .v3, .v4, .v5, .v6, .v7: return 24
            case .v8: return 32
            }
        }
    }

    enum Header { case a, b, b2, c
        var size: Int { switch self { case .a: return 16; case .b, .b2: return 24; case .c: return 32 } }
    }

    public struct VTd: Hashable, Sendable {
        public var flags: UInt32
        /// Masked by the driver to FL1GP|FL5LP (cap) and PRS|ERS|SRS|EAFS|PASID (ecap), not raw registers.
        public var cap: UInt64
        public var ecap: UInt64
        /// Only v2 exported the masks it applied.
        public var capMask: UInt64?
        public var ecapMask: UInt64?
    }

    public var revision: Revision
    public var size: UInt32
    public var format: UInt32
    public var features: UInt32
    public var flags: UInt32
    public var addrWidth: UInt16
    public var pasidBits: UInt16
    public var vtd: VTd?

    public static let formatIntelVTd: UInt32 = 1

    /// Decodes `bytes` as exactly `revision`'s layout, or throws saying which self-check failed.
    public static func decode(_ r: ByteReader, as revision: Revision) throws(DecodeError) -> NestingInfo {
        let h = revision.header
        let r = r.named(.nesting(revision, vendor: false))
        try r.need(0, h.size, "the \(h.size)-byte header")
        let size = try r.u32(0, "size")
        guard Int(size) == r.count else {
            throw DecodeError(.sizeMismatch, offset: r.base, expected: "size word = \(r.count) (the bytes given)", found: String(size), context: r.context)
        }
        var info = NestingInfo(revision: revision, size: size, format: 0, features: 0, flags: 0, addrWidth: 0, pasidBits: 0, vtd: nil)
        switch h {
        case .a, .b:
            info.format = try r.u32(4, "format")
            info.features = try r.u32(8, "features")
            info.flags = try r.u32(12, "flags")
            try r.requireZero(12, 4, "flags (no bits defined)")
        case .b2, .c:
            info.flags = try r.u32(4, "flags")
            try r.requireZero(4, 4, "flags (no bits defined)")
            info.format = try r.u32(8, "format")
            info.features = try r.u32(12, "features")
        }
        if h != .a {
            info.addrWidth = try r.u16(16, "addr_width")
            info.pasidBits = try r.u16(18, "pasid_bits")
            try r.requireZero(20, h.size - 20, "padding")
        }
        let allowed: UInt32 = revision.newFeatureBits ? 0x3 : 0x7
        guard info.features & ~allowed == 0 else {
            throw DecodeError(.badValue, offset: r.base + (h == .a || h == .b ? 8 : 12),
                              expected: "feature bits within \(hex(UInt64(allowed)))", found: hex(UInt64(info.features)), context: r.context)
        }
        let vendorLength: Int
        switch info.format {
        case 0: vendorLength = 0
        case formatIntelVTd: vendorLength = revision.vtdLength
        default:
            throw DecodeError(.badValue, offset: r.base + (h == .a || h == .b ? 4 : 8),
                              expected: "format 0 (none) or 1 (IOMMU_PASID_FORMAT_INTEL_VTD)", found: String(info.format), context: r.context)
        }
        guard r.count == h.size + vendorLength else {
            throw DecodeError(.sizeMismatch, offset: r.base, expected: "\(h.size + vendorLength) bytes for format \(info.format)",
                              found: String(r.count), context: r.context)
        }
        if vendorLength > 0 {
            let v = try r.slice(h.size, vendorLength, "VT-d data", place: .nesting(revision, vendor: true))
            info.vtd = try decodeVTd(v, revision: revision, info: &info)
        }
        return info
    }

    /// `iommu_nesting_info_vtd` per §2.5. In v2/v3 addr_width and pasid_bits live here, not in the header.
    static func decodeVTd(_ v: ByteReader, revision: Revision, info: inout NestingInfo) throws(DecodeError) -> VTd {
        let flags = try v.u32(0, "flags")
        switch revision {
        case .v2:
            info.addrWidth = try v.u16(4, "addr_width")
            info.pasidBits = try v.u16(6, "pasid_bits")
            return VTd(flags: flags, cap: try v.u64(8, "cap_reg"), ecap: try v.u64(24, "ecap_reg"),
                       capMask: try v.u64(16, "cap_mask"), ecapMask: try v.u64(32, "ecap_mask"))
        case .v3:
            info.addrWidth = try v.u16(4, "addr_width")
            info.pasidBits = try v.u16(6, "pasid_bits")
            return VTd(flags: flags, cap: try v.u64(8, "cap_reg"), ecap: try v.u64(16, "ecap_reg"))
        case .v4, .v5, .v6, .v7:
            // v4–v6 name bytes 4–7 padding; v7 leaves them an implicit hole, so they are not checked.
            return VTd(flags: flags, cap: try v.u64(8, "cap_reg"), ecap: try v.u64(16, "ecap_reg"))
        case .v8:
            try v.requireZero(4, 12, "padding")
            return VTd(flags: flags, cap: try v.u64(16, "cap_reg"), ecap: try v.u64(24, "ecap_reg"))
        }
    }

    /// Decodes a bare `iommu_nesting_info` (no VFIO header): tries every layout, or only `revision` if given.
    /// Layouts that fit but decode to different values make the result `.ambiguous`.
    public static func detect(_ bytes: [UInt8], revision: Revision? = nil) throws(DecodeError) -> Detection {
        let r = ByteReader(bytes, context: "iommu_nesting_info")
        if let revision { return .decoded(try decode(r, as: revision)) }
        return try choose(r, among: Revision.allCases)
    }

    public enum Detection: Hashable, Sendable {
        case decoded(NestingInfo)
        /// Several layouts fit with different meanings; each candidate is listed.
        case ambiguous([NestingInfo])
    }

    /// Tries each revision's layout on `r`; one fit (or fits that agree on every fact) decodes, several
    /// differing fits are ambiguous, none rethrows the error of the attempt that got furthest into the bytes.
    static func choose(_ r: ByteReader, among revisions: [Revision]) throws(DecodeError) -> Detection {
        var fits: [NestingInfo] = []
        var best: DecodeError? = nil
        for revision in revisions {
            do { fits.append(try decode(r, as: revision)) } catch {
                if best == nil || error.offset > best!.offset { best = error }
            }
        }
        guard let first = fits.first else {
            throw best ?? DecodeError(.badValue, offset: r.base, expected: "a known iommu_nesting_info layout", context: r.context)
        }
        if fits.dropFirst().allSatisfy({ $0.meaningFacts == first.meaningFacts }) { return .decoded(first) }
        return .ambiguous(fits)
    }

    // MARK: facts

    /// Facts that describe the capability itself (everything but the revision label).
    var meaningFacts: [Fact] { facts.filter { $0.name != "nesting.revision" } }

    public var facts: [Fact] {
        let f = Feature.self
        var out: [Fact] = [
            Fact("nesting.revision", text: revision.rawValue),
            Fact("nesting.format", text: Self.formatName(format)),
            Fact("nesting.format_id", int: format),
            Fact("nesting.features", hex: UInt64(features)),
            Fact("nesting.size", int: size),
            Fact("nesting.flags", hex: UInt64(flags)),
        ]
        if !revision.newFeatureBits { out.append(Fact(f.syswidePasid, hasFeature(.syswidePasid))) }
        out.append(Fact(f.bindPgtbl, hasFeature(.bindPgtbl)))
        out.append(Fact(f.cacheInvld, hasFeature(.cacheInvld)))
        // Headers B, B2 and C carry both widths whatever the format; A has them only in the VT-d data.
        if format != 0 || revision.header != .a {
            out.append(Fact("nesting.addr_width", int: addrWidth))
            out.append(Fact("nesting.pasid_bits", int: pasidBits))
        }
        if let vtd {
            out.append(Fact("nesting.vtd.flags", hex: UInt64(vtd.flags)))
            out.append(Fact("nesting.vtd.cap", hex: vtd.cap))
            out.append(Fact("nesting.vtd.ecap", hex: vtd.ecap))
            if let capMask = vtd.capMask { out.append(Fact("nesting.vtd.cap_mask", hex: capMask)) }
            if let ecapMask = vtd.ecapMask { out.append(Fact("nesting.vtd.ecap_mask", hex: ecapMask)) }
            for field in Self.vtdCapFields { out.append(field.fact(vtd.cap)) }
            for field in Self.vtdEcapFields { out.append(field.fact(vtd.ecap)) }
        }
        // Cross-vendor, hardware half: a nesting capability with a format means the container runs
        // two-stage translation. (Its presence is also the kernel's evidence: Report/UsableFacts.swift.)
        out.append(Fact(CrossVendor.hw(CrossVendor.nesting), format != 0))
        out.append(Fact(CrossVendor.hw(CrossVendor.firstLevelFormat), text: Self.formatName(format)))
        if format != 0 {
            out.append(Fact(CrossVendor.hw(CrossVendor.pasidBind), hasFeature(.bindPgtbl)))
            if pasidBits > 0 { out.append(Fact(CrossVendor.hw(CrossVendor.pasidBits), int: pasidBits)) }
        }
        return out
    }

    enum FeatureBit { case syswidePasid, bindPgtbl, cacheInvld }

    func hasFeature(_ bit: FeatureBit) -> Bool {
        let position: Int?
        switch (bit, revision.newFeatureBits) {
        case (.syswidePasid, false): position = 0
        case (.bindPgtbl, false): position = 1
        case (.cacheInvld, false): position = 2
        case (.syswidePasid, true): position = nil
        case (.bindPgtbl, true): position = 0
        case (.cacheInvld, true): position = 1
        }
        guard let position else { return false }
        return features & (1 << UInt32(position)) != 0
    }

    public static func formatName(_ format: UInt32) -> String {
        switch format {
        case 0: return CrossVendor.Format.none
        case formatIntelVTd: return CrossVendor.Format.intelVTd
        default: return "unknown-\(format)"
        }
    }

    enum Feature {
        static let syswidePasid = "nesting.features.syswide_pasid"
        static let bindPgtbl = "nesting.features.bind_pgtbl"
        static let cacheInvld = "nesting.features.cache_invld"
    }

    /// The only register bits the VT-d driver passed through (§2.6); other bits are masked to zero.
    static let vtdCapFields: [RegisterField] = [
        RegisterField("nesting.vtd.cap.fl1gp", bit: 56, "First-level 1 GiB pages, as passed through the nesting info's masked cap_reg."),
        RegisterField("nesting.vtd.cap.fl5lp", bit: 60, "First-level 5-level paging, as passed through the nesting info's masked cap_reg."),
    ]
    static let vtdEcapFields: [RegisterField] = [
        RegisterField("nesting.vtd.ecap.prs", bit: 29, "Page request support, from the nesting info's masked ecap_reg."),
        RegisterField("nesting.vtd.ecap.ers", bit: 30, "Execute request support, from the nesting info's masked ecap_reg."),
        RegisterField("nesting.vtd.ecap.srs", bit: 31, "Supervisor request support, from the nesting info's masked ecap_reg."),
        RegisterField("nesting.vtd.ecap.eafs", bit: 34, "Extended accessed flag support, from the nesting info's masked ecap_reg."),
        RegisterField("nesting.vtd.ecap.pasid", bit: 40, "PASID support, from the nesting info's masked ecap_reg."),
    ]

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("nesting.revision", .text, "Which revision of the unmerged VFIO nesting series laid out the capability (`v1`–`v8`).",
                        source: "chosen from capability id, length and self-described sizes (fact sheet §2.9)"),
        VocabularyEntry("nesting.format", .text, "First-level page-table format the IOMMU accepts for binding: `intel-vtd`, `none`, or `unknown-N`.",
                        source: "iommu_nesting_info.format (IOMMU_PASID_FORMAT_INTEL_VTD = 1)"),
        VocabularyEntry("nesting.format_id", .int, "The raw format number behind `nesting.format`.", source: "iommu_nesting_info.format"),
        VocabularyEntry("nesting.features", .text, "Raw feature word, hex; bit meanings differ between v2–v7 and v8.", source: "iommu_nesting_info.features"),
        VocabularyEntry("nesting.size", .int, "Bytes of the nesting info, vendor data included (the kernel's size or argsz word; it must equal the bytes the capability carries).",
                        source: "iommu_nesting_info.size (v2–v5) or .argsz (v6–v8), +0"),
        VocabularyEntry("nesting.flags", .text, "Flags word of the nesting info, hex (no bits defined in any revision; a set bit makes the layout not fit).",
                        source: "iommu_nesting_info.flags: +12 (v2–v5), +4 (v6–v8)"),
        VocabularyEntry(Feature.syswidePasid, .bool, "PASIDs are system-wide and must be allocated through the host (v2–v7 only).",
                        source: "features bit 0 (v2–v7)"),
        VocabularyEntry(Feature.bindPgtbl, .bool, "The owner binds its first-level page table explicitly (guest page-table bind).",
                        source: "features bit 1 (v2–v7), bit 0 (v8)"),
        VocabularyEntry(Feature.cacheInvld, .bool, "The owner must issue first-level cache invalidations explicitly.",
                        source: "features bit 2 (v2–v7), bit 1 (v8)"),
        VocabularyEntry("nesting.addr_width", .int, "First-level input address width of the nesting domain, in bits (the domain's guest address width).",
                        source: "header +16 (v4–v8) or VT-d data +4 (v2, v3)"),
        VocabularyEntry("nesting.pasid_bits", .int, "PASID width in bits the host supports for bound tables (log2 of the system PASID limit).",
                        source: "header +18 (v4–v8) or VT-d data +6 (v2, v3)"),
        VocabularyEntry("nesting.vtd.flags", .text, "VT-d vendor flags word, hex (no bits defined).", source: "iommu_nesting_info_vtd.flags"),
        VocabularyEntry("nesting.vtd.cap", .text, "VT-d CAP as reported in the nesting info, hex — masked to FL1GP|FL5LP, not the raw register.",
                        source: "iommu_nesting_info_vtd.cap_reg"),
        VocabularyEntry("nesting.vtd.ecap", .text, "VT-d ECAP as reported in the nesting info, hex — masked to PRS|ERS|SRS|EAFS|PASID, not the raw register.",
                        source: "iommu_nesting_info_vtd.ecap_reg"),
        VocabularyEntry("nesting.vtd.cap_mask", .text, "The mask the VT-d driver applied to `nesting.vtd.cap`, hex (v2 only: FL1GP|FL5LP, 0x1100000000000000).",
                        source: "iommu_nesting_info_vtd.cap_mask (v2 VT-d data +16)"),
        VocabularyEntry("nesting.vtd.ecap_mask", .text, "The mask the VT-d driver applied to `nesting.vtd.ecap`, hex (v2 only: PRS|ERS|SRS|EAFS|PASID, 0x104e0000000).",
                        source: "iommu_nesting_info_vtd.ecap_mask (v2 VT-d data +32)"),
    ] + vtdCapFields.vocabulary(register: "nesting info VT-d cap_reg") + vtdEcapFields.vocabulary(register: "nesting info VT-d ecap_reg")
}
