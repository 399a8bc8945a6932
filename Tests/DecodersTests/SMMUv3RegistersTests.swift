import Testing
@testable import Decoders

/// Fixtures come from the fact sheet (§6.2 bit positions, §3.4 struct iommu_hw_info_arm_smmuv3 offsets).
@Suite struct SMMUv3RegistersTests {
    /// IDR0 S1P|S2P, TTF AArch64; IDR1 SSIDSIZE 20, SIDSIZE 16; IDR3 RIL; IDR5 OAS 5 (48 bits), 4K and 64K granules.
    static let idr: [UInt32] = [
        (1 << 1) | (1 << 0) | (2 << 2),  // IDR0: S1P, S2P, TTF=2
        (20 << 6) | 16,                  // IDR1: SSIDSIZE 20, SIDSIZE 16
        0xffff_ffff,                     // IDR2: no fields decoded, must not leak anywhere
        1 << 10,                         // IDR3: RIL
        0xffff_ffff,                     // IDR4: likewise
        (1 << 6) | (1 << 4) | 5,         // IDR5: GRAN64K, GRAN4K, OAS 5
    ]

    func facts(_ idr: [UInt32], iidr: UInt32? = nil, aidr: UInt32? = nil) throws -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: try SMMUv3Registers.decode(idr: idr, iidr: iidr, aidr: aidr).map { ($0.name, $0.value) })
    }

    // §6.2, copied from the fact sheet: (register, IDR index or -1 for IIDR, -2 for AIDR, name, low bit, width).
    static let table: [(String, Int, String, Int, Int)] = [
        ("idr0", 0, "s2p", 0, 1), ("idr0", 0, "s1p", 1, 1), ("idr0", 0, "ttf", 2, 2), ("idr0", 0, "cohacc", 4, 1),
        ("idr0", 0, "btm", 5, 1), ("idr0", 0, "httu", 6, 2), ("idr0", 0, "hyp", 9, 1), ("idr0", 0, "ats", 10, 1),
        ("idr0", 0, "asid16", 12, 1), ("idr0", 0, "msi", 13, 1), ("idr0", 0, "sev", 14, 1), ("idr0", 0, "pri", 16, 1),
        ("idr0", 0, "vmw", 17, 1), ("idr0", 0, "vmid16", 18, 1), ("idr0", 0, "cd2l", 19, 1), ("idr0", 0, "ttendian", 21, 2),
        ("idr0", 0, "stall_model", 24, 2), ("idr0", 0, "term_model", 26, 1), ("idr0", 0, "st_level", 27, 2),
        ("idr1", 1, "sidsize", 0, 6), ("idr1", 1, "ssidsize", 6, 5), ("idr1", 1, "priqs", 11, 5), ("idr1", 1, "evtqs", 16, 5),
        ("idr1", 1, "cmdqs", 21, 5), ("idr1", 1, "attr_types_ovr", 27, 1), ("idr1", 1, "rel", 28, 1),
        ("idr1", 1, "queues_preset", 29, 1), ("idr1", 1, "tables_preset", 30, 1),
        ("idr3", 3, "fwb", 8, 1), ("idr3", 3, "ril", 10, 1), ("idr3", 3, "bbml", 11, 2),
        ("idr5", 5, "oas", 0, 3), ("idr5", 5, "gran4k", 4, 1), ("idr5", 5, "gran16k", 5, 1), ("idr5", 5, "gran64k", 6, 1),
        ("idr5", 5, "vax", 10, 2), ("idr5", 5, "stall_max", 16, 16),
        ("iidr", -1, "implementer", 0, 12), ("iidr", -1, "revision", 12, 4), ("iidr", -1, "variant", 16, 4), ("iidr", -1, "product_id", 20, 12),
        ("aidr", -2, "minor", 0, 4), ("aidr", -2, "major", 4, 4),
    ]

    @Test func everyFieldAtItsPosition() throws {
        for (_, index, name, low, width) in Self.table {
            let ones: UInt32 = UInt32((UInt64(1) << UInt64(width)) - 1)
            var idr = [UInt32](repeating: 0, count: 6)
            var iidr: UInt32 = 0, aidr: UInt32 = 0
            switch index {
            case -1: iidr = ones << UInt32(low)
            case -2: aidr = ones << UInt32(low)
            default: idr[index] = ones << UInt32(low)
            }
            let f = try facts(idr, iidr: iidr, aidr: aidr)
            for (register, otherIndex, other, _, otherWidth) in Self.table {
                let isThis = other == name && otherIndex == index
                let expected: FactValue = isThis ? (width == 1 ? .bool(true) : .int(Int64(ones)))
                                                 : (otherWidth == 1 ? .bool(false) : .int(0))
                #expect(f["smmu.\(register).\(other)"] == expected, "\(name) set: smmu.\(register).\(other)")
            }
        }
        let emitted = Set(try facts([0, 0, 0, 0, 0, 0], iidr: 0, aidr: 0).keys.filter { $0.hasPrefix("smmu.") && $0.split(separator: ".").count == 3 })
        #expect(emitted == Set(Self.table.map { "smmu.\($0.0).\($0.2)" }))
    }

    @Test func decodesFieldsAndCrossVendorFacts() throws {
        let f = try facts(Self.idr, iidr: 0x43b, aidr: 0x2)
        #expect(f["smmu.idr0.s1p"] == .bool(true))
        #expect(f["smmu.idr0.s2p"] == .bool(true))
        #expect(f["smmu.idr0.ttf"] == .int(2))
        #expect(f["smmu.idr1.ssidsize"] == .int(20))
        #expect(f["smmu.idr1.sidsize"] == .int(16))
        #expect(f["smmu.idr3.ril"] == .bool(true))
        #expect(f["smmu.idr5.gran4k"] == .bool(true))
        #expect(f["smmu.idr5.gran16k"] == .bool(false))
        #expect(f["smmu.idr5.gran64k"] == .bool(true))
        #expect(f["smmu.idr5.oas"] == .int(5))
        #expect(f["smmu.oas_bits"] == .int(48))
        #expect(f["smmu.pasid_bits"] == .int(20))
        #expect(f["smmu.iidr.implementer"] == .int(0x43b))  // Arm's JEP106 code
        #expect(f["smmu.aidr.minor"] == .int(2))
        #expect(f["iommu.vendor"] == .text("arm"))
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["hw.pasid_bind"] == .bool(true))
        #expect(f["hw.pasid_bits"] == .int(20))
        #expect(f["addr_width"] == .int(48))
        #expect(f["hw.first_level.format"] == .text("arm-smmuv3"))
        #expect(f.keys.contains { $0.hasPrefix("smmu.idr2") || $0.hasPrefix("smmu.idr4") } == false)
    }

    @Test(arguments: [(0, 32), (1, 36), (2, 40), (3, 42), (4, 44), (5, 48), (6, 52), (7, nil)] as [(UInt32, Int?)])
    func outputAddressSize(oas: UInt32, bits: Int?) throws {
        let f = try facts([0, 0, 0, 0, 0, oas])  // IDR5.OAS 2:0
        #expect(f["smmu.oas_bits"] == bits.map { .int(Int64($0)) })
        #expect(f["addr_width"] == bits.map { .int(Int64($0)) }, "OAS 7 is reserved: unknown width")
    }

    @Test func stage1OnlyIsNotNesting() throws {
        let f = try facts([1 << 1, 0, 0, 0, 0, 0], iidr: nil, aidr: nil)  // IDR0.S1P only, SSIDSIZE 0
        #expect(f["hw.nesting"] == .bool(false))
        #expect(f["hw.pasid_bind"] == .bool(false))
        #expect(f["hw.pasid_bits"] == nil)
        #expect(f["smmu.pasid_bits"] == nil)
        #expect(f["hw.first_level.format"] == .text("arm-smmuv3"))
        #expect(f["smmu.iidr.implementer"] == nil, "no IIDR given")
        let s2 = try facts([1 << 0, 20 << 6, 0, 0, 0, 0])  // S2P only, SSIDSIZE 20
        #expect(s2["hw.first_level.format"] == .text("none"))
        #expect(s2["hw.pasid_bind"] == .bool(false))
    }

    /// The 40-byte struct iommu_hw_info_arm_smmuv3: +0 flags, +4 reserved, +8 IDR0..IDR5, +32 IIDR, +36 AIDR.
    @Test func bytesLayout() throws {
        var b = LEBytes()
        b.u32(0x1)                           // +0 flags
        b.u32(0)                             // +4 __reserved
        for idr in Self.idr { b.u32(idr) }   // +8 idr[6]
        b.u32(0x0123_443b)                   // +32 IIDR: product 0x012, variant 3, revision 4, implementer 0x43b
        b.u32(0x21)                          // +36 AIDR: major 2, minor 1
        #expect(b.count == 40)
        let f = Dictionary(uniqueKeysWithValues: try SMMUv3Registers.decodeBytes(b.bytes).map { ($0.name, $0.value) })
        #expect(f["smmu.flags"] == .text("0x1"))
        #expect(f["smmu.idr1.ssidsize"] == .int(20))
        #expect(f["smmu.oas_bits"] == .int(48))
        #expect(f["smmu.iidr.implementer"] == .int(0x43b))
        #expect(f["smmu.iidr.revision"] == .int(4))
        #expect(f["smmu.iidr.variant"] == .int(3))
        #expect(f["smmu.iidr.product_id"] == .int(0x012))
        #expect(f["smmu.aidr.major"] == .int(2))
        #expect(f["smmu.aidr.minor"] == .int(1))
    }

    @Test(arguments: [0, 5, 7, 12])
    func wrongIDRCount(count: Int) {
        do {
            _ = try SMMUv3Registers.decode(idr: Array(repeating: 0, count: count), iidr: nil, aidr: nil)
            Issue.record("accepted \(count) IDRs")
        } catch {
            #expect(error.kind == .sizeMismatch)
            #expect(error.offset == 0)
        }
    }

    @Test(arguments: [(0, 0), (39, 39), (41, 40), (80, 40)])
    func wrongByteCount(count: Int, offset: Int) {
        do {
            _ = try SMMUv3Registers.decodeBytes(Array(repeating: 0, count: count))
            Issue.record("accepted \(count) bytes")
        } catch {
            #expect(error.kind == .sizeMismatch)
            #expect(error.offset == offset)
        }
    }
}
