import Testing
@testable import Decoders

/// Fixtures come from the fact sheet (§4.1/§4.2 bit positions, §4.3 rules) and the real captures,
/// never from the decoder's own tables.
@Suite struct VTdRegistersTests {
    func facts(_ cap: UInt64, _ ecap: UInt64) -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: VTdRegisters.decode(cap: cap, ecap: ecap).map { ($0.name, $0.value) })
    }

    func capture(_ folder: String) throws -> [String: FactValue] {
        let dir = "sysfs/class/iommu/dmar0/intel-iommu/"
        let facts = try VTdRegisters.decode(capText: try Captures.text(folder, dir + "cap"), ecapText: try Captures.text(folder, dir + "ecap"))
        return Dictionary(uniqueKeysWithValues: facts.map { ($0.name, $0.value) })
    }

    // §4.1 / §4.2, copied from the fact sheet's tables: (name, low bit, width).
    static let capTable: [(String, Int, Int)] = [
        ("nd", 0, 3), ("afl", 3, 1), ("rwbf", 4, 1), ("plmr", 5, 1), ("phmr", 6, 1), ("cm", 7, 1), ("sagaw", 8, 5),
        ("mgaw", 16, 6), ("zlr", 22, 1), ("isoch", 23, 1), ("fro", 24, 10), ("sllps", 34, 4), ("psi", 39, 1), ("nfr", 40, 8),
        ("mamv", 48, 6), ("dwd", 54, 1), ("drd", 55, 1), ("fl1gp", 56, 1), ("pi", 59, 1), ("fl5lp", 60, 1), ("ecmds", 61, 1),
        ("esirtps", 62, 1), ("esrtps", 63, 1),
    ]
    static let ecapTable: [(String, Int, Int)] = [
        ("c", 0, 1), ("qi", 1, 1), ("dt", 2, 1), ("ir", 3, 1), ("eim", 4, 1), ("pt", 6, 1), ("sc", 7, 1), ("iro", 8, 10),
        ("mhmv", 20, 4), ("ecs", 24, 1), ("mts", 25, 1), ("nest", 26, 1), ("dis", 27, 1), ("broken_pasid", 28, 1), ("prs", 29, 1),
        ("ers", 30, 1), ("srs", 31, 1), ("nwfs", 33, 1), ("eafs", 34, 1), ("pss", 35, 5), ("pasid", 40, 1), ("dit", 41, 1),
        ("pds", 42, 1), ("smts", 43, 1), ("vcs", 44, 1), ("slads", 45, 1), ("slts", 46, 1), ("flts", 47, 1), ("smpwc", 48, 1),
        ("rps", 49, 1), ("pms", 51, 1),
    ]

    /// Each field alone at all-ones reads back as exactly that field: positions and widths match the sheet,
    /// and the decoder has no field the sheet lacks.
    @Test(arguments: [("vtd.cap", true), ("vtd.ecap", false)])
    func everyFieldAtItsPosition(prefix: String, isCap: Bool) {
        let table = isCap ? Self.capTable : Self.ecapTable
        for (name, low, width) in table {
            let ones: UInt64 = (1 << UInt64(width)) - 1
            let register = ones << UInt64(low)
            let f = isCap ? facts(register, 0) : facts(0, register)
            for (other, _, otherWidth) in table {
                let expected: FactValue = other == name ? (width == 1 ? .bool(true) : .int(Int64(ones)))
                                                        : (otherWidth == 1 ? .bool(false) : .int(0))
                #expect(f["\(prefix).\(other)"] == expected, "\(name) set: \(prefix).\(other)")
            }
        }
        let emitted = Set(facts(0, 0).keys.filter { $0.hasPrefix(prefix + ".") })
        #expect(emitted == Set(table.map { "\(prefix).\($0.0)" }))
    }

    /// What the fact sheet's §4 marks "C" for the legacy capture (cap d2008c22260286, ecap f00f4a).
    @Test(arguments: ["legacy-aw39", "bpo12k-q10-legacy-aw39"])
    func legacyCapture(folder: String) throws {
        let f = try capture(folder)
        #expect(f["vtd.cap"] == .text("0xd2008c22260286"))
        #expect(f["vtd.ecap"] == .text("0xf00f4a"))
        #expect(f["vtd.cap.nd"] == .int(6))
        #expect(f["vtd.domains"] == .int(65536))
        #expect(f["vtd.cap.cm"] == .bool(true))
        #expect(f["vtd.cap.sagaw"] == .int(0x2))
        #expect(f["vtd.cap.mgaw"] == .int(0x26))
        #expect(f["vtd.max_guest_addr_width"] == .int(39))
        #expect(f["vtd.cap.fro"] == .int(0x22))
        #expect(f["vtd.fault_reg_offset"] == .int(0x220))
        #expect(f["vtd.cap.sllps"] == .int(3))
        #expect(f["vtd.sl_large_pages"] == .text("2M,1G"))
        #expect(f["vtd.cap.psi"] == .bool(true))
        #expect(f["vtd.cap.nfr"] == .int(0))
        #expect(f["vtd.num_fault_regs"] == .int(1))
        #expect(f["vtd.cap.mamv"] == .int(18))
        #expect(f["vtd.ecap.qi"] == .bool(true))
        #expect(f["vtd.ecap.ir"] == .bool(true))
        #expect(f["vtd.ecap.pt"] == .bool(true))
        #expect(f["vtd.ecap.sc"] == .bool(false))
        #expect(f["vtd.ecap.iro"] == .int(0xf))
        #expect(f["vtd.iotlb_reg_offset"] == .int(0xf0))
        #expect(f["vtd.ecap.mhmv"] == .int(0xf))
        #expect(f["vtd.ecap.nest"] == .bool(false))
        #expect(f["vtd.ecap.smts"] == .bool(false))
        #expect(f["vtd.scalable_mode"] == .bool(false))
        #expect(f["vtd.sl_addr_widths"] == .text("39"))
        #expect(f["vtd.sl_levels"] == .text("3"))
        #expect(f["vtd.addr_widths"] == .text("39"))
        #expect(f["vtd.fl_addr_widths"] == nil, "no FLTS: no first level")
        #expect(f["vtd.pasid_bits"] == nil)
        #expect(f["addr_width"] == .int(39))
        #expect(f["iommu.vendor"] == .text("intel"))
        #expect(f["hw.nesting"] == .bool(false))
        #expect(f["hw.pasid_bind"] == .bool(false))
        #expect(f["hw.pasid_bits"] == nil, "no PASID: unknown width, not zero")
        #expect(f["hw.first_level.format"] == .text("none"))
    }

    /// scalable-aw48: cap d2008c222f0686, ecap 480080f00f4a — SMTS, SLTS, SRS set; no FLTS, no PASID.
    @Test func scalableCapture() throws {
        let f = try capture("scalable-aw48")
        #expect(f["vtd.cap.sagaw"] == .int(0x6))
        #expect(f["vtd.cap.mgaw"] == .int(0x2f))
        #expect(f["vtd.max_guest_addr_width"] == .int(48))
        #expect(f["vtd.ecap.smts"] == .bool(true))
        #expect(f["vtd.ecap.slts"] == .bool(true))
        #expect(f["vtd.ecap.srs"] == .bool(true))
        #expect(f["vtd.ecap.flts"] == .bool(false))
        #expect(f["vtd.ecap.pasid"] == .bool(false))
        #expect(f["vtd.ecap.nest"] == .bool(false))
        #expect(f["vtd.scalable_mode"] == .bool(true))
        #expect(f["vtd.sl_addr_widths"] == .text("39,48"))
        #expect(f["vtd.sl_levels"] == .text("3,4"))
        #expect(f["vtd.addr_widths"] == .text("39,48"), "no first level: second-level SAGAW as is")
        #expect(f["addr_width"] == .int(48))
        #expect(f["hw.nesting"] == .bool(false), "QEMU reports NEST = 0")
        #expect(f["hw.first_level.format"] == .text("none"))
    }

    /// iommufd-q10-scalable-flts: cap 1d2008c222f0686, ecap 880000f00f4a — FLTS without SLTS, so the
    /// first level's widths rule (§4.3), not SAGAW's 39,48.
    @Test func firstLevelOnlyCapture() throws {
        let f = try capture("iommufd-q10-scalable-flts")
        #expect(f["vtd.cap"] == .text("0x1d2008c222f0686"))
        #expect(f["vtd.ecap"] == .text("0x880000f00f4a"))
        #expect(f["vtd.cap.fl1gp"] == .bool(true))
        #expect(f["vtd.cap.fl5lp"] == .bool(false))
        #expect(f["vtd.ecap.smts"] == .bool(true))
        #expect(f["vtd.ecap.flts"] == .bool(true))
        #expect(f["vtd.ecap.slts"] == .bool(false))
        #expect(f["vtd.ecap.srs"] == .bool(false))
        #expect(f["vtd.sl_addr_widths"] == .text("39,48"))
        #expect(f["vtd.fl_addr_widths"] == .text("48"))
        #expect(f["vtd.addr_widths"] == .text("48"))
        #expect(f["addr_width"] == .int(48))
        #expect(f["hw.first_level.format"] == .text("intel-vtd"))
        #expect(f["hw.nesting"] == .bool(false))
    }

    /// A nesting-capable unit composed from the §4 bit positions.
    @Test func nestingCapableUnit() {
        let cap: UInt64 = (1 << 60)        // FL5LP
            | (1 << 56)                    // FL1GP
            | (UInt64(0x15) << 40)         // NFR 0x15 → 22 fault registers
            | (UInt64(0b01) << 34)         // SLLPS: 2 MiB only
            | (UInt64(0x40) << 24)         // FRO 0x40 → 0x400
            | (UInt64(56) << 16)           // MGAW field 56 → 57 bits
            | (UInt64(0b1100) << 8)        // SAGAW: 48 and 57
            | 2                            // ND 2 → 256 domains
        let ecap: UInt64 = (1 << 47)       // FLTS
            | (1 << 46)                    // SLTS
            | (1 << 43)                    // SMTS
            | (1 << 40)                    // PASID
            | (UInt64(19) << 35)           // PSS 19 → 20 PASID bits
            | (1 << 26)                    // NEST
            | (UInt64(0x30) << 8)          // IRO 0x30 → 0x300
        let f = facts(cap, ecap)
        #expect(f["vtd.domains"] == .int(256))
        #expect(f["vtd.num_fault_regs"] == .int(22))
        #expect(f["vtd.fault_reg_offset"] == .int(0x400))
        #expect(f["vtd.iotlb_reg_offset"] == .int(0x300))
        #expect(f["vtd.sl_large_pages"] == .text("2M"))
        #expect(f["vtd.max_guest_addr_width"] == .int(57))
        #expect(f["vtd.ecap.pss"] == .int(19))
        #expect(f["vtd.pasid_bits"] == .int(20))
        #expect(f["hw.pasid_bits"] == .int(20))
        #expect(f["vtd.sl_addr_widths"] == .text("48,57"))
        #expect(f["vtd.sl_levels"] == .text("4,5"))
        #expect(f["vtd.fl_addr_widths"] == .text("48,57"))
        #expect(f["vtd.addr_widths"] == .text("48,57"))
        #expect(f["vtd.scalable_mode"] == .bool(true))
        #expect(f["addr_width"] == .int(57))
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["hw.pasid_bind"] == .bool(true))
        #expect(f["hw.first_level.format"] == .text("intel-vtd"))
    }

    /// With both levels, the effective SAGAW is the intersection (§4.3): SL 39,48 ∩ FL 48 (no FL5LP).
    @Test func bothLevelsIntersect() {
        let cap: UInt64 = (UInt64(0b0110) << 8)  // SAGAW: 39 and 48
            | (UInt64(47) << 16)                 // MGAW → 48
        let ecap: UInt64 = (1 << 47) | (1 << 46) | (1 << 43)  // FLTS, SLTS, SMTS
        let f = facts(cap, ecap)
        #expect(f["vtd.addr_widths"] == .text("48"))
        #expect(f["vtd.sl_addr_widths"] == .text("39,48"))
        #expect(facts(cap, ecap & ~(1 << 43))["vtd.addr_widths"] == .text("39,48"), "FLTS without SMTS: second level only")
    }

    /// PASID without scalable mode: the unit's width is shown, the cross-vendor fact stays unknown.
    @Test func pasidNeedsScalableModeForCrossVendorBits() {
        let f = facts(0, (1 << 40) | (UInt64(4) << 35))  // PASID, PSS 4
        #expect(f["vtd.pasid_bits"] == .int(5))
        #expect(f["hw.pasid_bits"] == nil)
    }

    /// MGAW caps the width, not the table depths: SAGAW 39,48 with MGAW 39 → 39; SAGAW 48 alone → still 39.
    @Test func mgawCapsAddressWidth() {
        let both = facts((UInt64(0b110) << 8) | (UInt64(38) << 16), 0)
        #expect(both["vtd.addr_widths"] == .text("39,48"))
        #expect(both["addr_width"] == .int(39))
        let deep = facts((UInt64(0b100) << 8) | (UInt64(38) << 16), 0)
        #expect(deep["addr_width"] == .int(39))
        let none = facts(UInt64(38) << 16, 0)  // SAGAW empty
        #expect(none["vtd.addr_widths"] == .text(""))
        #expect(none["addr_width"] == nil, "no usable width: unknown")
    }

    @Test func nestWithoutScalableModeIsNotNesting() {
        #expect(facts(0, 1 << 26)["hw.nesting"] == .bool(false))
        #expect(facts(0, (1 << 26) | (1 << 43))["hw.nesting"] == .bool(true))
    }

    /// Raw registers, then CAP and ECAP fields in bit order, then derived facts: the same every time.
    @Test func factOrderIsDeterministic() {
        let names = VTdRegisters.decode(cap: 0xd2_008c_2226_0286, ecap: 0xf0_0f4a).map(\.name)
        #expect(names == VTdRegisters.decode(cap: 0xd2_008c_2226_0286, ecap: 0xf0_0f4a).map(\.name))
        let fields = ["vtd.cap", "vtd.ecap"] + Self.capTable.map { "vtd.cap.\($0.0)" } + Self.ecapTable.map { "vtd.ecap.\($0.0)" }
        #expect(Array(names.prefix(fields.count)) == fields)
    }

    @Test func sysfsTextForms() throws {
        let f = try VTdRegisters.decode(capText: "0xd2008c22260286\n", ecapText: " f00f4a ")
        #expect(f.contains(Fact("vtd.cap.nd", int: 6)))
        #expect(try VTdRegisters.decode(capText: "ffffffffffffffff", ecapText: "0").contains(Fact("vtd.cap.esrtps", true)))
    }

    @Test(arguments: [("zz", "0", "VT-d CAP"), ("", "0", "VT-d CAP"), ("d2008c22260286", "12345678901234567", "VT-d ECAP"),
                      ("1 2", "0", "VT-d CAP"), ("d2008c22260286", "-1", "VT-d ECAP")])
    func badRegisterText(cap: String, ecap: String, register: String) {
        do {
            _ = try VTdRegisters.decode(capText: cap, ecapText: ecap)
            Issue.record("accepted cap \"\(cap)\" ecap \"\(ecap)\"")
        } catch {
            #expect(error.kind == .badText)
            #expect(error.offset == 0)
            #expect(error.context == register)
        }
    }
}
