import Testing
@testable import Decoders

@Suite struct AMDRegistersTests {
    func facts(_ efr: UInt64, _ efr2: UInt64? = nil) -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: AMDRegisters.decode(efr: efr, efr2: efr2).map { ($0.name, $0.value) })
    }

    /// The EFR from the fact sheet's boot-log example: 0x206d73ef22254ade, names PPR X2APIC NX GT IA GA PC GA_vAPIC.
    @Test func bootLogExampleMatchesItsNames() {
        let f = facts(0x206d_73ef_2225_4ade)
        #expect(f["amd.efr.pref"] == .bool(false))
        #expect(f["amd.efr.ppr"] == .bool(true))
        #expect(f["amd.efr.xt"] == .bool(true))
        #expect(f["amd.efr.nx"] == .bool(true))
        #expect(f["amd.efr.gt"] == .bool(true))
        #expect(f["amd.efr.ia"] == .bool(true))
        #expect(f["amd.efr.ga"] == .bool(true))
        #expect(f["amd.efr.he"] == .bool(false))
        #expect(f["amd.efr.pc"] == .bool(true))
        #expect(f["amd.efr.gam"] == .bool(true))
        #expect(f["amd.efr.snp"] == .bool(false))
        #expect(f["amd.efr.pasmax"] == .int(0xf))      // bits 36:32 of 0x...ef → 0xf
        #expect(f["amd.pasid_bits"] == .int(16))
        #expect(f["amd.host_levels"] == .int(6))        // HATS bits 11:10 of 0x4ade = 2
        #expect(f["iommu.vendor"] == .text("amd"))
        #expect(f["first_level.format"] == .text("amd-v2"))
    }

    @Test func composedFields() {
        let efr: UInt64 = (1 << 4)       // GTSup
            | (1 << 48)                   // GIoSup
            | (UInt64(1) << 10)           // HATS 1 → 5 levels
            | (UInt64(1) << 12)           // GATS 1 → 5-level guest tables
            | (UInt64(19) << 32)          // PASmax 19 → 20 bits
        let f = facts(efr, UInt64(5) << 5)  // EFR2 SNPAVIC 5
        #expect(f["amd.host_levels"] == .int(5))
        #expect(f["amd.guest_levels"] == .int(5))
        #expect(f["addr_width"] == .int(57))
        #expect(f["pasid_bits"] == .int(20))
        #expect(f["nesting"] == .bool(true))
        #expect(f["pasid_bind"] == .bool(true))
        #expect(f["amd.efr2.snpavic"] == .int(5))
        #expect(facts(3 << 10)["amd.host_levels"] == nil, "HATS 3 is invalid")
        #expect(facts(0)["nesting"] == .bool(false))
        #expect(facts(0)["pasid_bits"] == nil)
    }

    @Test func sysfsSingleValueIsEFR() throws {
        let p = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade\n", kernel: KernelRelease("5.15.0"))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == nil && p.note == nil)
    }

    @Test func sysfsPairOn60IsEFR2First() throws {
        let p = try AMDRegisters.parseSysfsFeatures("1:206d73ef22254ade\n", kernel: KernelRelease("6.0.12"))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == 1 && p.note == nil)
    }

    @Test func sysfsPairLaterIsDecidedByShapeAndSaysSo() throws {
        let p = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade:1", kernel: KernelRelease("6.8.0"))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == 1)
        #expect(p.note?.contains("chosen by shape") == true)
    }

    @Test func sysfsPairThatShapeCannotTellIsRefused() {
        #expect(throws: DecodeError.self) { try AMDRegisters.parseSysfsFeatures("1:2", kernel: nil) }
        #expect(throws: DecodeError.self) { try AMDRegisters.parseSysfsFeatures("206d73ef22254ade:1", kernel: KernelRelease("5.19.0")) }
        #expect(throws: DecodeError.self) { try AMDRegisters.parseSysfsFeatures("a:b:c", kernel: nil) }
    }
}

@Suite struct SMMUv3RegistersTests {
    /// IDR0 S1P|S2P, TTF AArch64; IDR1 SSIDSIZE 20, SIDSIZE 16; IDR3 RIL; IDR5 OAS 5 (48 bits), 4K and 64K granules.
    static let idr: [UInt32] = [
        (1 << 1) | (1 << 0) | (2 << 2),  // IDR0: S1P, S2P, TTF=2
        (20 << 6) | 16,                  // IDR1: SSIDSIZE 20, SIDSIZE 16
        0,                               // IDR2
        1 << 10,                         // IDR3: RIL
        0,                               // IDR4
        (1 << 6) | (1 << 4) | 5,         // IDR5: GRAN64K, GRAN4K, OAS 5
    ]

    @Test func decodesFieldsAndCrossVendorFacts() throws {
        let facts = Dictionary(uniqueKeysWithValues: try SMMUv3Registers.decode(idr: Self.idr, iidr: 0x43b, aidr: 0x2).map { ($0.name, $0.value) })
        #expect(facts["smmu.idr0.s1p"] == .bool(true))
        #expect(facts["smmu.idr0.ttf"] == .int(2))
        #expect(facts["smmu.idr1.ssidsize"] == .int(20))
        #expect(facts["smmu.idr1.sidsize"] == .int(16))
        #expect(facts["smmu.idr3.ril"] == .bool(true))
        #expect(facts["smmu.idr5.gran16k"] == .bool(false))
        #expect(facts["smmu.oas_bits"] == .int(48))
        #expect(facts["smmu.iidr.implementer"] == .int(0x43b))
        #expect(facts["nesting"] == .bool(true))
        #expect(facts["pasid_bind"] == .bool(true))
        #expect(facts["pasid_bits"] == .int(20))
        #expect(facts["addr_width"] == .int(48))
        #expect(facts["first_level.format"] == .text("arm-smmuv3"))
    }

    @Test func stage1OnlyIsNotNesting() throws {
        let facts = try SMMUv3Registers.decode(idr: [1 << 1, 0, 0, 0, 0, 0], iidr: nil, aidr: nil)
        #expect(facts.contains(Fact("nesting", false)))
        #expect(!facts.contains { $0.name == "pasid_bits" })
    }

    @Test func wrongCountsAreErrors() {
        do { _ = try SMMUv3Registers.decode(idr: [0, 0], iidr: nil, aidr: nil); Issue.record("accepted 2 IDRs") } catch {
            #expect(error.kind == .sizeMismatch)
        }
        do { _ = try SMMUv3Registers.decodeBytes(Array(repeating: 0, count: 39)); Issue.record("accepted 39 bytes") } catch {
            #expect(error.kind == .sizeMismatch && error.offset == 39)
        }
    }
}
