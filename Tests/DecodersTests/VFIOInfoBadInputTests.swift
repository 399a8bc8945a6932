import Testing
@testable import Decoders

/// Hostile and broken GET_INFO buffers: each gets a typed error carrying the offset, never a crash or hang.
@Suite struct VFIOInfoBadInputTests {
    /// Header at 0, then capabilities at 24 and 36 (12-byte DMA_AVAIL-shaped caps), argsz patched.
    static func twoCaps(firstNext: UInt32, secondNext: UInt32 = 0) -> [UInt8] {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x1000); b.u32(24); b.u32(0)  // argsz, flags, iova_pgsizes, cap_offset, pad
        b.u16(3); b.u16(1); b.u32(firstNext); b.u32(7)             // +24 DMA_AVAIL, next, avail
        b.u16(3); b.u16(1); b.u32(secondNext); b.u32(9)            // +36 DMA_AVAIL, next, avail
        b.set32(0, UInt32(b.count))
        return b.bytes
    }

    func error(_ bytes: [UInt8]) -> DecodeError? {
        do { _ = try VFIOInfo.decode(bytes); return nil } catch { return error }
    }

    @Test func wellFormedTwoCapChainDecodes() throws {
        let info = try VFIOInfo.decode(Self.twoCaps(firstNext: 36))
        #expect(info.capabilities.map(\.content) == [.dmaAvail(7), .dmaAvail(9)])
    }

    @Test func nextPointingAtItselfIsABadLink() {
        let e = error(Self.twoCaps(firstNext: 24))
        #expect(e?.kind == .badLink)
        #expect(e?.offset == 28, "the next field of the capability at 24")
        #expect(e?.description.contains("points at itself") == true)
    }

    @Test func nextPointingBackwardsIsABadLink() {
        let e = error(Self.twoCaps(firstNext: 36, secondNext: 24))
        #expect(e?.kind == .badLink)
        #expect(e?.offset == 40)
        #expect(e?.description.contains("backwards") == true)
    }

    @Test func nextPointingIntoTheHeaderIsABadLink() {
        let e = error(Self.twoCaps(firstNext: 28))
        #expect(e?.kind == .badLink)
        #expect(e?.description.contains("into it") == true)
    }

    @Test func nextPastTheEndIsABadLink() {
        let e = error(Self.twoCaps(firstNext: 44))  // 44 + 8 > argsz 48
        #expect(e?.kind == .badLink)
        #expect(e?.description.contains("past the end") == true)
        #expect(error(Self.twoCaps(firstNext: 0xffff_fff0))?.kind == .badLink)
    }

    @Test func unalignedNextIsRejected() {
        let e = error(Self.twoCaps(firstNext: 34))
        #expect(e?.kind == .unaligned)
        #expect(e?.offset == 28)
    }

    @Test func capOffsetInsideTheFixedFieldsIsABadLink() {
        var b = Self.twoCaps(firstNext: 36)
        b[16] = 8
        #expect(error(b)?.kind == .badLink)
        #expect(error(b)?.offset == 16)
    }

    @Test func argszBeyondTheDataIsTruncated() {
        var b = Self.twoCaps(firstNext: 36)
        b[0] = 116  // what the first, short GET_INFO call answers
        let e = error(b)
        #expect(e?.kind == .truncated)
        #expect(e?.offset == 48)
    }

    @Test func argszShorterThanTheDataIsASizeMismatch() {
        var b = Self.twoCaps(firstNext: 36)
        b += [0, 0, 0, 0]
        #expect(error(b)?.kind == .sizeMismatch)
        #expect(error(b)?.offset == 0)
    }

    @Test func tinyAndZeroArgszAreRejected() {
        #expect(error([])?.kind == .truncated)
        #expect(error([0, 0, 0])?.kind == .truncated)
        var zero = Self.twoCaps(firstNext: 36)
        zero[0] = 0
        #expect(error(zero)?.kind == .badValue)
    }

    /// An IOVA_RANGE whose nr_iovas reaches into the next capability overlaps it.
    @Test func capabilityOverlappingTheNextIsTruncated() {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x1000); b.u32(24); b.u32(0)
        b.u16(1); b.u16(1); b.u32(56); b.u32(2); b.u32(0)  // +24 IOVA_RANGE claiming 2 ranges, next at 56
        b.u64(0); b.u64(0xffff)                            // +40 one range only before 56
        b.u16(3); b.u16(1); b.u32(0); b.u32(1)             // +56 DMA_AVAIL
        b.set32(0, UInt32(b.count))
        let e = error(b.bytes)
        #expect(e?.kind == .truncated)
        #expect(e?.offset == 40)
        #expect(e?.context == "capability id 1 at 24")
    }

    @Test func invertedRangeIsABadValue() {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x1000); b.u32(24); b.u32(0)
        b.u16(1); b.u16(1); b.u32(0); b.u32(1); b.u32(0)
        b.u64(0x2000); b.u64(0x1000)  // start > end
        b.set32(0, UInt32(b.count))
        #expect(error(b.bytes)?.kind == .badValue)
        #expect(error(b.bytes)?.offset == 40)
    }

    @Test func capOffsetWithoutCapsFlagIsRejected() {
        var b = Self.twoCaps(firstNext: 36)
        b[4] = 0x1  // PGSIZES only
        #expect(error(b)?.kind == .badValue)
        #expect(error(b)?.offset == 16)
    }

    @Test func unknownIdsAndVersionsAreKeptWhole() throws {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x1000); b.u32(24); b.u32(0)
        b.u16(0x99); b.u16(1); b.u32(40); b.u64(0xfeed_face_cafe_beef)  // +24 unknown id
        b.u16(1); b.u16(2); b.u32(0); b.u32(5)                            // +40 IOVA_RANGE version 2
        b.set32(0, UInt32(b.count))
        let info = try VFIOInfo.decode(b.bytes)
        #expect(info.capabilities.map(\.name) == ["unknown-153", "unknown-1"])
        #expect(info.capabilities[0].bytes.count == 16)
        #expect(info.capabilities[1].bytes.count == 12)
    }

    @Test func preCapabilityStructHasNoChain() throws {
        var b = LEBytes()
        b.u32(16); b.u32(0x1); b.u64(0x4020_1000)  // 5.3-era 16-byte struct
        let info = try VFIOInfo.decode(b.bytes)
        #expect(info.capOffset == nil)
        #expect(info.capabilities.isEmpty)
    }

    /// The longest legal chain (every capability an 8-byte header) is walked in linear time.
    @Test func longestChainIsBounded() throws {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x1000); b.u32(24); b.u32(0)
        let count = 8000
        for i in 0..<count {
            b.u16(0x77); b.u16(1); b.u32(i == count - 1 ? 0 : UInt32(24 + 8 * (i + 1)))
        }
        b.set32(0, UInt32(b.count))
        let info = try VFIOInfo.decode(b.bytes)
        #expect(info.capabilities.count == count)
    }
}
