import Testing
@testable import Decoders

@Suite struct VTdRegistersTests {
    func facts(_ cap: UInt64, _ ecap: UInt64) -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: VTdRegisters.decode(cap: cap, ecap: ecap).map { ($0.name, $0.value) })
    }

    func capture(_ folder: String) throws -> [String: FactValue] {
        let dir = "sysfs/class/iommu/dmar0/intel-iommu/"
        let facts = try VTdRegisters.decode(capText: try Captures.text(folder, dir + "cap"), ecapText: try Captures.text(folder, dir + "ecap"))
        return Dictionary(uniqueKeysWithValues: facts.map { ($0.name, $0.value) })
    }

    /// What the fact sheet's §4 marks "C" for the legacy capture (cap d2008c22260286, ecap f00f4a).
    @Test(arguments: ["legacy-aw39", "bpo12k-q10-legacy-aw39"])
    func legacyCapture(folder: String) throws {
        let f = try capture(folder)
        #expect(f["vtd.cap"] == .text("0xd2008c22260286"))
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
        #expect(f["vtd.cap.mamv"] == .int(18))
        #expect(f["vtd.ecap.ir"] == .bool(true))
        #expect(f["vtd.ecap.pt"] == .bool(true))
        #expect(f["vtd.ecap.sc"] == .bool(false))
        #expect(f["vtd.ecap.iro"] == .int(0xf))
        #expect(f["vtd.iotlb_reg_offset"] == .int(0xf0))
        #expect(f["vtd.ecap.mhmv"] == .int(0xf))
        #expect(f["vtd.ecap.nest"] == .bool(false))
        #expect(f["vtd.sl_addr_widths"] == .text("39"))
        #expect(f["vtd.sl_levels"] == .text("3"))
        #expect(f["vtd.addr_widths"] == .text("39"))
        #expect(f["addr_width"] == .int(39))
        #expect(f["iommu.vendor"] == .text("intel"))
        #expect(f["nesting"] == .bool(false))
        #expect(f["pasid_bind"] == .bool(false))
        #expect(f["pasid_bits"] == nil, "no PASID: unknown width, not zero")
        #expect(f["first_level.format"] == .text("none"))
    }

    /// scalable-aw48: cap d2008c222f0686, ecap 480080f00f4a — SMTS, SLTS, SRS set; no FLTS, no PASID.
    @Test func scalableCapture() throws {
        let f = try capture("scalable-aw48")
        #expect(f["vtd.cap.sagaw"] == .int(0x6))
        #expect(f["vtd.max_guest_addr_width"] == .int(48))
        #expect(f["vtd.ecap.smts"] == .bool(true))
        #expect(f["vtd.ecap.slts"] == .bool(true))
        #expect(f["vtd.ecap.srs"] == .bool(true))
        #expect(f["vtd.ecap.flts"] == .bool(false))
        #expect(f["vtd.scalable_mode"] == .bool(true))
        #expect(f["vtd.sl_addr_widths"] == .text("39,48"))
        #expect(f["vtd.addr_widths"] == .text("39,48"), "no first level: second-level SAGAW as is")
        #expect(f["addr_width"] == .int(48))
        #expect(f["nesting"] == .bool(false), "QEMU reports NEST = 0")
    }

    /// iommufd-q10-scalable-flts: ecap 880000f00f4a — FLTS without SLTS, so the first level's widths rule.
    @Test func firstLevelOnlyCapture() throws {
        let f = try capture("iommufd-q10-scalable-flts")
        #expect(f["vtd.cap"] == .text("0x1d2008c222f0686"))
        #expect(f["vtd.cap.fl1gp"] == .bool(true))
        #expect(f["vtd.ecap.flts"] == .bool(true))
        #expect(f["vtd.ecap.slts"] == .bool(false))
        #expect(f["vtd.fl_addr_widths"] == .text("48"))
        #expect(f["vtd.addr_widths"] == .text("48"))
        #expect(f["first_level.format"] == .text("intel-vtd"))
    }

    /// A nesting-capable unit composed from the §4 bit positions.
    @Test func nestingCapableUnit() {
        let cap: UInt64 = (1 << 60)        // FL5LP
            | (1 << 56)                    // FL1GP
            | (UInt64(56) << 16)           // MGAW field 56 → 57 bits
            | (UInt64(0b1100) << 8)        // SAGAW: 48 and 57
        let ecap: UInt64 = (1 << 47)       // FLTS
            | (1 << 46)                    // SLTS
            | (1 << 43)                    // SMTS
            | (1 << 40)                    // PASID
            | (UInt64(19) << 35)           // PSS 19 → 20 PASID bits
            | (1 << 26)                    // NEST
        let f = facts(cap, ecap)
        #expect(f["vtd.ecap.pss"] == .int(19))
        #expect(f["vtd.pasid_bits"] == .int(20))
        #expect(f["pasid_bits"] == .int(20))
        #expect(f["vtd.fl_addr_widths"] == .text("48,57"))
        #expect(f["vtd.addr_widths"] == .text("48,57"))
        #expect(f["vtd.sl_levels"] == .text("4,5"))
        #expect(f["addr_width"] == .int(57))
        #expect(f["nesting"] == .bool(true))
        #expect(f["pasid_bind"] == .bool(true))
        #expect(f["first_level.format"] == .text("intel-vtd"))
    }

    /// MGAW caps the widths: SAGAW claims 48 but MGAW is 39.
    @Test func mgawCapsAddressWidth() {
        let f = facts((UInt64(0b110) << 8) | (UInt64(38) << 16), 0)
        #expect(f["vtd.addr_widths"] == .text("39"))
        #expect(f["addr_width"] == .int(39))
    }

    @Test func nestWithoutScalableModeIsNotNesting() {
        #expect(facts(0, 1 << 26)["nesting"] == .bool(false))
    }

    @Test func badRegisterTextNamesTheRegister() {
        #expect(throws: DecodeError.self) { try VTdRegisters.decode(capText: "zz", ecapText: "0") }
        do {
            _ = try VTdRegisters.decode(capText: "d2008c22260286", ecapText: "12345678901234567")
            Issue.record("17 hex digits accepted")
        } catch {
            #expect(error.kind == .badText)
            #expect(error.context == "VT-d ECAP")
        }
        #expect((try? VTdRegisters.decode(capText: "0xd2008c22260286\n", ecapText: " f00f4a ")) != nil)
        #expect((try? VTdRegisters.decode(capText: "", ecapText: "0")) == nil)
    }
}
