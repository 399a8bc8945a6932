import Testing
@testable import Decoders

/// A bare `iommu_nesting_info` (`capreg decode --kind nesting-info`): the layout is detected from the
/// bytes alone. v2 (layout A + 40-byte VT-d data) and v7 (layout C + 24) are both 56 bytes long and are
/// told apart by which word holds the format.
@Suite struct NestingInfoDetectTests {
    static let cap: UInt64 = 1 << 56, ecap: UInt64 = 1 << 40

    static var v7: [UInt8] {
        var b = LEBytes()
        b.u32(56); b.u32(0); b.u32(1); b.u32(0x7)  // argsz, flags, format VT-d, features
        b.u16(48); b.u16(20); b.zeros(12)          // addr_width, pasid_bits, padding
        b.u32(0); b.u32(0); b.u64(cap); b.u64(ecap) // vtd: flags, hole, cap, ecap
        return b.bytes
    }

    static var v2: [UInt8] {
        var b = LEBytes()
        b.u32(56); b.u32(1); b.u32(0x7); b.u32(0)  // size, format VT-d, features, flags
        b.u32(0); b.u16(39); b.u16(20)             // vtd: flags, addr_width, pasid_bits
        b.u64(cap); b.u64(0x1100_0000_0000_0000)   // cap, cap_mask
        b.u64(ecap); b.u64(0x104_e000_0000)        // ecap, ecap_mask
        return b.bytes
    }

    @Test func sameLengthDifferentLayoutsAreToldApart() throws {
        guard case .decoded(let seven) = try NestingInfo.detect(Self.v7) else { Issue.record("v7 ambiguous"); return }
        #expect(seven.revision == .v7 && seven.addrWidth == 48)
        guard case .decoded(let two) = try NestingInfo.detect(Self.v2) else { Issue.record("v2 ambiguous"); return }
        #expect(two.revision == .v2 && two.addrWidth == 39 && two.vtd?.capMask == 0x1100_0000_0000_0000)
    }

    @Test func forcedRevisionThatDoesNotFitNamesTheField() {
        do {
            _ = try NestingInfo.detect(Self.v7, revision: .v5)
            Issue.record("v7 bytes accepted as v5")
        } catch {
            #expect(error.context == "iommu_nesting_info (v5)")
            #expect(error.kind == .badValue)
        }
    }

    @Test func nothingFitsGivesTheFurthestError() {
        var b = LEBytes()
        b.u32(24); b.u32(9); b.u32(0); b.u32(0); b.u32(0); b.u32(0)  // format 9 is no known format
        #expect(throws: DecodeError.self) { try NestingInfo.detect(b.bytes) }
        #expect(throws: DecodeError.self) { try NestingInfo.detect([]) }
    }
}
