import Testing
@testable import Decoders

/// The whole VFIO_IOMMU_GET_INFO buffers real kernels returned (../shared/captures/*/vfio-info.hex),
/// checked against what the captures' README and console.txt document.
@Suite struct VFIOInfoCaptureTests {
    func decode(_ folder: String, kernel: String) throws -> VFIOInfo {
        try VFIOInfo.decode(try Captures.hexFile(folder, "vfio-info.hex"), kernel: KernelRelease(kernel))
    }

    @Test(arguments: [("legacy-aw39", 0x7f_ffff_ffff as UInt64, 39), ("scalable-aw48", 0xffff_ffff_ffff, 48)])
    func linux61ChainIsMigrationDMAAvailIOVARange(folder: String, top: UInt64, bits: Int) throws {
        let info = try decode(folder, kernel: "6.1.0-56-amd64")
        #expect(info.argsz == 116)
        #expect(info.flags == 0x3)
        #expect(info.iovaPgsizes == 0x4020_1000)
        #expect(info.capOffset == 24)
        #expect(info.capabilities.map(\.id) == [2, 3, 1])
        #expect(info.capabilities.map(\.offset) == [24, 56, 68])
        #expect(info.capabilities.map(\.next) == [56, 68, 0])
        #expect(info.capabilities.map(\.bytes.count) == [32, 12, 48])
        #expect(info.capabilities[0].content == .migration(.init(flags: 0, pgsizeBitmap: 0x1000, maxDirtyBitmapSize: 0x1000_0000)))
        #expect(info.capabilities[1].content == .dmaAvail(0xffff))
        #expect(info.capabilities[2].content == .iovaRange([.init(start: 0, end: 0xfed_fffff), .init(start: 0xfef0_0000, end: top)]))
        #expect(info.capabilities.allSatisfy { $0.notes.isEmpty })
        let facts = Dictionary(uniqueKeysWithValues: info.facts.map { ($0.name, $0.value) })
        #expect(facts["vfio.caps"] == .text("migration,dma_avail,iova_range"))
        #expect(facts["vfio.iova_top_bits"] == .int(Int64(bits)))
        #expect(facts["vfio.dma_avail"] == .int(0xffff))
        #expect(facts["vfio.pgsize_1g"] == .bool(true))
        #expect(facts["vfio.ambiguous"] == .bool(false))
        #expect(facts["hw.nesting"] == nil, "no nesting capability: absent, not false")
    }

    /// On 6.12 every capability is padded to 8 bytes: DMA_AVAIL takes 16, IOVA_RANGE moves to 72.
    @Test(arguments: [("bpo12k-q10-legacy-aw39", 0x7f_ffff_ffff as UInt64), ("iommufd-q10-scalable-flts", 0x7fff_ffff_ffff)])
    func linux612PadsCapabilitiesTo8Bytes(folder: String, top: UInt64) throws {
        let info = try decode(folder, kernel: "6.12.95+deb12-amd64")
        #expect(info.argsz == 120)
        #expect(info.capabilities.map(\.offset) == [24, 56, 72])
        #expect(info.capabilities.map(\.bytes.count) == [32, 16, 48])
        #expect(info.capabilities[1].content == .dmaAvail(0xffff))
        #expect(info.capabilities[2].content == .iovaRange([.init(start: 0, end: 0xfed_fffff), .init(start: 0xfef0_0000, end: top)]))
    }

    /// Without a kernel release the captured chains still decode: sizes alone decide ids 2 and 3 here.
    @Test func sizesAloneDecideTheCapturedChain() throws {
        let info = try VFIOInfo.decode(try Captures.hexFile("legacy-aw39", "vfio-info.hex"))
        #expect(info.capabilities.map(\.name) == ["migration", "dma_avail", "iova_range"])
    }

    /// The capability bytes are kept whole, header included, so they can be decoded again later.
    @Test func keepsRawCapabilityBytes() throws {
        let raw = try Captures.hexFile("legacy-aw39", "vfio-info.hex")
        let info = try VFIOInfo.decode(raw)
        #expect(Array(info.capabilities[1].bytes) == Array(raw[56..<68]))
    }
}
