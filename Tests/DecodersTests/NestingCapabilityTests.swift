import Testing
@testable import Decoders

/// The proposed NESTING capability in each revision of its series (fact sheet §2), composed field by
/// field from the sheet's offsets, inside a whole GET_INFO buffer.
@Suite struct NestingCapabilityTests {
    // Masked VT-d registers as the series' driver reported them (§2.6).
    static let cap: UInt64 = (1 << 56)                       // FL1GP
    static let ecap: UInt64 = (1 << 29) | (1 << 31) | (1 << 40)  // PRS | SRS | PASID

    /// A 24-byte type1 info header followed by one capability at 24 (next 0), argsz patched to fit.
    static func buffer(capability: [UInt8]) -> [UInt8] {
        var b = LEBytes()
        b.u32(0)              // +0 argsz, patched below
        b.u32(0x3)            // +4 flags: PGSIZES | CAPS
        b.u64(0x4020_1000)    // +8 iova_pgsizes: 4K | 2M | 1G
        b.u32(24)             // +16 cap_offset
        b.u32(0)              // +20 pad
        b.append(capability)
        b.set32(0, UInt32(b.count))
        return b.bytes
    }

    static func header(id: UInt16) -> LEBytes {
        var h = LEBytes()
        h.u16(id)   // +0 id
        h.u16(1)    // +2 version
        h.u32(0)    // +4 next: last capability
        return h
    }

    func only(_ bytes: [UInt8], kernel: String? = nil) throws -> VFIOCapability {
        let info = try VFIOInfo.decode(Self.buffer(capability: bytes), kernel: kernel.map(KernelRelease.init))
        #expect(info.capabilities.count == 1)
        return info.capabilities[0]
    }

    func facts(_ cap: VFIOCapability) -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: cap.facts.map { ($0.name, $0.value) })
    }

    @Test func v5EmbedsLayoutBWithVTdData() throws {
        var c = Self.header(id: 3)
        c.u32(48)         // +8  info.size: 24 header + 24 VT-d
        c.u32(1)          // +12 info.format: IOMMU_PASID_FORMAT_INTEL_VTD
        c.u32(0x7)        // +16 info.features: SYSWIDE_PASID | BIND_PGTBL | CACHE_INVLD (old numbering)
        c.u32(0)          // +20 info.flags
        c.u16(48)         // +24 info.addr_width
        c.u16(20)         // +26 info.pasid_bits
        c.u32(0)          // +28 info.padding
        c.u32(0)          // +32 vtd.flags
        c.u32(0)          // +36 vtd.padding
        c.u64(Self.cap)   // +40 vtd.cap_reg
        c.u64(Self.ecap)  // +48 vtd.ecap_reg
        #expect(c.count == 56)
        let cap = try only(c.bytes, kernel: "5.8.0+vsva")
        let f = facts(cap)
        #expect(cap.name == "nesting")
        #expect(f["nesting.revision"] == .text("v5"))
        #expect(f["nesting.format"] == .text("intel-vtd"))
        #expect(f["nesting.features.syswide_pasid"] == .bool(true))
        #expect(f["nesting.features.bind_pgtbl"] == .bool(true))
        #expect(f["nesting.features.cache_invld"] == .bool(true))
        #expect(f["nesting.addr_width"] == .int(48))
        #expect(f["nesting.pasid_bits"] == .int(20))
        #expect(f["nesting.vtd.cap"] == .text("0x100000000000000"))
        #expect(f["nesting.vtd.cap.fl1gp"] == .bool(true))
        #expect(f["nesting.vtd.cap.fl5lp"] == .bool(false))
        #expect(f["nesting.vtd.ecap.pasid"] == .bool(true))
        #expect(f["nesting.vtd.ecap.ers"] == .bool(false))
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["hw.pasid_bind"] == .bool(true))
        #expect(f["hw.pasid_bits"] == .int(20))
        #expect(f["hw.first_level.format"] == .text("intel-vtd"))
        #expect(cap.notes.isEmpty)
    }

    /// v6 keeps v5's offsets but reorders the first words: argsz, flags, format, features.
    @Test func v6ReordersTheFirstWords() throws {
        var c = Self.header(id: 3)
        c.u32(48)         // +8  info.argsz
        c.u32(0)          // +12 info.flags
        c.u32(1)          // +16 info.format
        c.u32(0x7)        // +20 info.features
        c.u16(39)         // +24 addr_width
        c.u16(20)         // +26 pasid_bits
        c.u32(0)          // +28 padding
        c.u32(0); c.u32(0)   // +32 vtd.flags, padding
        c.u64(Self.cap)   // +40 cap_reg
        c.u64(Self.ecap)  // +48 ecap_reg
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v6"))
        #expect(f["nesting.format"] == .text("intel-vtd"))
        #expect(f["nesting.addr_width"] == .int(39))
    }

    @Test func v7HasA32ByteHeader() throws {
        var c = Self.header(id: 3)
        c.u32(56)         // +8  argsz: 32 + 24
        c.u32(0)          // +12 flags
        c.u32(1)          // +16 format
        c.u32(0x3)        // +20 features: SYSWIDE_PASID | BIND_PGTBL
        c.u16(57)         // +24 addr_width
        c.u16(16)         // +26 pasid_bits
        c.zeros(12)       // +28 padding[12]
        c.u32(0)          // +40 vtd.flags
        c.u32(0xdead)     // +44 implicit hole: not checked
        c.u64(Self.cap)   // +48 cap_reg
        c.u64(Self.ecap)  // +56 ecap_reg
        #expect(c.count == 64)
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v7"))
        #expect(f["nesting.addr_width"] == .int(57))
        #expect(f["nesting.pasid_bits"] == .int(16))
        #expect(f["nesting.features.cache_invld"] == .bool(false))
        #expect(f["nesting.vtd.ecap.srs"] == .bool(true))
    }

    /// v8 moved to id 4 and renumbered features: BIND_PGTBL 0, CACHE_INVLD 1 (VT-d reports 0x3).
    @Test func v8UsesId4AndNewFeatureBits() throws {
        var c = Self.header(id: 4)
        c.u32(64)         // +8  argsz: 32 + 32
        c.u32(0)          // +12 flags
        c.u32(1)          // +16 format
        c.u32(0x3)        // +20 features: BIND_PGTBL | CACHE_INVLD (new numbering)
        c.u16(48); c.u16(20) // +24 addr_width, +26 pasid_bits
        c.zeros(12)       // +28 padding
        c.u32(0)          // +40 vtd.flags
        c.zeros(12)       // +44 vtd.padding[12]
        c.u64(Self.cap)   // +56 cap_reg
        c.u64(Self.ecap)  // +64 ecap_reg
        #expect(c.count == 72)
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v8"))
        #expect(f["nesting.features.bind_pgtbl"] == .bool(true))
        #expect(f["nesting.features.cache_invld"] == .bool(true))
        #expect(f["nesting.features.syswide_pasid"] == nil, "v8 has no such bit")
        #expect(f["nesting.vtd.cap.fl1gp"] == .bool(true))
    }

    @Test func v4HasFlagsAndPaddingBeforeTheInfo() throws {
        var c = Self.header(id: 3)
        c.u32(0)          // +8  cap flags
        c.u32(0)          // +12 cap padding
        c.u32(48)         // +16 info.size
        c.u32(1)          // +20 format
        c.u32(0x2)        // +24 features: BIND_PGTBL only
        c.u32(0)          // +28 flags
        c.u16(48); c.u16(20) // +32 addr_width, pasid_bits
        c.u32(0)          // +36 padding
        c.u32(0); c.u32(0)   // +40 vtd flags, padding
        c.u64(Self.cap); c.u64(Self.ecap)
        #expect(c.count == 64)
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v4"))
        #expect(f["nesting.features.syswide_pasid"] == .bool(false))
        #expect(f["nesting.features.bind_pgtbl"] == .bool(true))
    }

    /// v3: flags at +8, a 16-byte header at +12, addr_width/pasid_bits inside the VT-d data.
    @Test func v3CarriesWidthsInTheVendorData() throws {
        var c = Self.header(id: 3)
        c.u32(0)          // +8  cap flags
        c.u32(40)         // +12 info.size: 16 + 24
        c.u32(1)          // +16 format
        c.u32(0x7)        // +20 features
        c.u32(0)          // +24 flags
        c.u32(0)          // +28 vtd.flags
        c.u16(39)         // +32 vtd.addr_width
        c.u16(20)         // +34 vtd.pasid_bits
        c.u64(Self.cap)   // +36 cap_reg (only 4-byte aligned: the reason for v4)
        c.u64(Self.ecap)  // +44 ecap_reg
        #expect(c.count == 52)
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v3"))
        #expect(f["nesting.addr_width"] == .int(39))
        #expect(f["nesting.pasid_bits"] == .int(20))
        #expect(f["nesting.vtd.ecap.prs"] == .bool(true))
    }

    /// v2 used id 2 (later MIGRATION) and exported the masks too.
    @Test func v2UsesId2WithMasks() throws {
        var c = Self.header(id: 2)
        c.u32(0)          // +8  cap flags
        c.u32(56)         // +12 info.size: 16 + 40
        c.u32(1); c.u32(0x7); c.u32(0) // format, features, flags
        c.u32(0)          // +28 vtd.flags
        c.u16(48); c.u16(20) // +32 addr_width, pasid_bits
        c.u64(Self.cap)   // +36 cap_reg
        c.u64(0x1100_0000_0000_0000) // +44 cap_mask
        c.u64(Self.ecap)  // +52 ecap_reg
        c.u64(0x104_e000_0000)       // +60 ecap_mask
        #expect(c.count == 68)
        let cap = try only(c.bytes, kernel: "5.7.0")
        guard case .nesting(let info) = cap.content else { Issue.record("not nesting: \(cap.content)"); return }
        #expect(info.revision == .v2)
        #expect(info.vtd?.capMask == 0x1100_0000_0000_0000)
        #expect(info.vtd?.ecapMask == 0x104_e000_0000)
    }

    /// SMMUv3 reported an empty info: format 0, no vendor data.
    @Test func emptyInfoMeansNoNesting() throws {
        var c = Self.header(id: 3)
        c.u32(24)         // +8 size: header only
        c.u32(0)          // format 0
        c.u32(0); c.u32(0)   // features, flags
        c.u16(0); c.u16(0); c.u32(0)
        let cap = try only(c.bytes)
        let f = facts(cap)
        #expect(f["hw.nesting"] == .bool(false))
        #expect(f["nesting.format"] == .text("none"))
        #expect(f["hw.pasid_bind"] == nil, "no format: binding is not described")
    }

    @Test func v1BareWordsUnderId2() throws {
        var c = Self.header(id: 2)
        c.u32(1)          // +8 nesting_capabilities: PASID_REQS
        c.u32(0x1)        // +12 stage1_formats
        let f = facts(try only(c.bytes))
        #expect(f["nesting.revision"] == .text("v1"))
        #expect(f["nesting.pasid_reqs"] == .bool(true))
    }

    /// Id 2 of 28 bytes fits both an i386 MIGRATION and a v2 nesting info of format 0, with different
    /// meanings: without a kernel release the result is ambiguous and keeps the bytes; a kernel release
    /// outside one layout's era decides, and says so.
    @Test func id2Of28BytesIsAmbiguousUntilTheKernelDecides() throws {
        var c = Self.header(id: 2)
        c.u32(0)          // +8  MIGRATION flags | v2 cap flags
        c.u32(16)         // +12 i386 pgsize_bitmap low | v2 info.size (16: header only)
        c.u32(0)          // +16 pgsize_bitmap high | info.format 0
        c.u32(1)          // +20 max_dirty_bitmap_size low | info.features SYSWIDE_PASID
        c.u32(0)          // +24 max_dirty_bitmap_size high | info.flags
        let ambiguous = try only(c.bytes)
        #expect(ambiguous.content == .ambiguous(["MIGRATION (i386 layout)", "NESTING v2"]))
        #expect(ambiguous.facts.isEmpty)
        #expect(Array(ambiguous.bytes) == c.bytes)
        #expect(ambiguous.notes.first?.contains("no kernel release") == true)

        let both = try only(c.bytes, kernel: "5.9.0")
        #expect(both.name == "ambiguous-2", "5.9 had MIGRATION and nesting trees")

        let old = try only(c.bytes, kernel: "5.6.0")
        #expect(old.name == "nesting")
        #expect(old.notes.first?.contains("chose NESTING v2 by kernel release 5.6.0") == true)

        let new = try only(c.bytes, kernel: "6.1.0")
        #expect(new.name == "migration")
    }

    @Test func dmaAvailOnAKernelBeforeItsReleaseIsNoted() throws {
        var c = Self.header(id: 3)
        c.u32(100)        // +8 avail
        let cap = try only(c.bytes, kernel: "5.8.18")
        #expect(cap.content == .dmaAvail(100))
        #expect(cap.notes.first?.contains("outside 5.10 and later or 5.4.y") == true)
        #expect(try only(c.bytes, kernel: "5.4.120").notes.isEmpty, "backported to 5.4.y")
    }

    /// An id-3 capability no layout fits is kept whole as unknown, never dropped.
    @Test func unfittableId3IsKeptAsUnknown() throws {
        var c = Self.header(id: 3)
        c.u32(999); c.u32(7); c.u32(7); c.u32(7)
        let cap = try only(c.bytes)
        guard case .unknown(let why) = cap.content else { Issue.record("expected unknown, got \(cap.content)"); return }
        #expect(why.contains("no known layout of capability id 3 fits its 24 bytes"))
        #expect(Array(cap.bytes) == c.bytes)
    }
}
