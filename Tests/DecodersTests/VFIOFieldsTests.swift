import Testing
@testable import Decoders

/// Every field of the upstream type1 capabilities (fact sheet §1.6) becomes a fact, and the IOVA
/// windows keep their list: a chain composed from the sheet's offsets, with the captured values.
@Suite struct VFIOFieldsTests {
    /// MIGRATION → DMA_AVAIL → IOVA_RANGE as Linux 6.1 lays it out (no padding), `windows` in IOVA_RANGE.
    static func chain(windows: [(UInt64, UInt64)], avail: UInt32 = 0xffff) -> [UInt8] {
        var b = LEBytes()
        b.u32(0); b.u32(0x3); b.u64(0x4020_1000); b.u32(24); b.u32(0)  // argsz (patched), flags, iova_pgsizes, cap_offset, pad
        b.u16(2); b.u16(1); b.u32(56)                                  // +24 MIGRATION, next 56
        b.u32(0); b.u32(0xdead_beef)                                   // +32 flags, +36 padding (not zeroed before 6.6)
        b.u64(0x1000); b.u64(0x1000_0000)                              // +40 pgsize_bitmap, +48 max_dirty_bitmap_size
        b.u16(3); b.u16(1); b.u32(68)                                  // +56 DMA_AVAIL, next 68
        b.u32(avail)                                                   // +64 avail
        b.u16(1); b.u16(1); b.u32(0)                                   // +68 IOVA_RANGE, last
        b.u32(UInt32(windows.count)); b.u32(0)                         // +76 nr_iovas, +80 reserved
        for (start, end) in windows { b.u64(start); b.u64(end) }
        b.set32(0, UInt32(b.count))
        return b.bytes
    }

    func facts(_ bytes: [UInt8]) throws -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: try VFIOInfo.decode(bytes).facts.map { ($0.name, $0.value) })
    }

    @Test func everyCapabilityFieldIsAFact() throws {
        let f = try facts(Self.chain(windows: [(0, 0xfed_fffff), (0xfef0_0000, 0xffff_ffff_ffff)]))
        #expect(f["vfio.migration.flags"] == .text("0x0"))
        #expect(f["vfio.migration.pgsize_bitmap"] == .text("0x1000"))
        #expect(f["vfio.migration.max_dirty_bitmap_size"] == .int(0x1000_0000))
        #expect(f["vfio.dma_avail"] == .int(0xffff))
        #expect(f["vfio.iova_ranges"] == .int(2))
        #expect(f["vfio.iova_windows"] == .text("0x0-0xfedfffff,0xfef00000-0xffffffffffff"))
        #expect(f["vfio.iova_top"] == .text("0xffffffffffff"))
        #expect(f["vfio.iova_top_bits"] == .int(48))
    }

    /// The windows text keeps the kernel's order and whole 64-bit ends; no window is the empty text.
    @Test func windowsTextKeepsKernelOrderAndFullWidth() throws {
        let f = try facts(Self.chain(windows: [(0xfef0_0000, .max), (0, 0xfed_fffff)]))
        #expect(f["vfio.iova_windows"] == .text("0xfef00000-0xffffffffffffffff,0x0-0xfedfffff"))
        #expect(f["vfio.iova_top"] == .text("0xffffffffffffffff"))
        let none = try facts(Self.chain(windows: []))
        #expect(none["vfio.iova_windows"] == .text(""))
        #expect(none["vfio.iova_ranges"] == .int(0))
        #expect(none["vfio.iova_top"] == nil)
    }

    /// The text parses back to exactly the ranges the capability holds.
    @Test func windowsTextRoundTrips() throws {
        let ranges: [(UInt64, UInt64)] = [(0, 0), (0x1000, 0xfed_fffff), (0xfef0_0000, 0x7f_ffff_ffff), (1 << 63, .max)]
        let info = try VFIOInfo.decode(Self.chain(windows: ranges))
        guard case .iovaRange(let decoded) = info.capabilities[2].content else { Issue.record("no IOVA_RANGE"); return }
        let text = IOVAWindows.text(decoded)
        #expect(IOVAWindows.parse(text) == ranges.map { IOVARange(start: $0.0, end: $0.1) })
    }
}
