import Testing
@testable import Decoders

/// Fixtures come from the fact sheet (§3.2 struct iommu_hw_info offsets, §3.4 type-specific structs)
/// and the real IOMMU_GET_HW_INFO answer in iommufd-q10-scalable-flts/console.txt.
@Suite struct IOMMUFDHWInfoTests {
    func facts(_ info: IOMMUFDHWInfo) -> [String: FactValue] { Dictionary(uniqueKeysWithValues: info.facts.map { ($0.name, $0.value) }) }

    static func hw(size: UInt32 = 40, dataLen: UInt32, type: UInt32, pasidLog2: UInt8 = 0, caps: UInt64 = 0) -> LEBytes {
        var b = LEBytes()
        b.u32(size)          // +0 size
        b.u32(0)             // +4 flags
        b.u32(1)             // +8 dev_id
        b.u32(dataLen)       // +12 data_len
        b.u64(0)             // +16 data_uptr
        b.u32(type)          // +24 out_data_type
        b.bytes.append(pasidLog2); b.zeros(3)  // +28 out_max_pasid_log2, reserved
        if size >= 40 { b.u64(caps) }          // +32 out_capabilities
        if size > 40 { b.zeros(Int(size) - 40) }
        return b
    }

    /// VT-d data (§3.4): +0 flags, +4 reserved, +8 cap_reg, +16 ecap_reg.
    static func vtd(flags: UInt32, cap: UInt64, ecap: UInt64) -> [UInt8] {
        var b = LEBytes()
        b.u32(flags); b.u32(0); b.u64(cap); b.u64(ecap)
        return b.bytes
    }

    static func error(_ bytes: [UInt8]) -> DecodeError? {
        do { _ = try IOMMUFDHWInfo.decode(bytes); return nil } catch { return error }
    }

    static func consoleHex(_ key: String) throws -> [UInt8] {
        let console = try Captures.text("iommufd-q10-scalable-flts", "console.txt")
        guard let line = console.split(separator: "\n").first(where: { $0.hasPrefix(key + " ") }) else {
            throw Captures.CaptureMissing(path: "iommufd-q10-scalable-flts/console.txt line \(key)")
        }
        return Captures.hexBytes(String(line.split(separator: " ")[1]))
    }

    /// The real answer: 40-byte struct, VT-d, data_len 24, errata flag set, cap/ecap equal to sysfs.
    @Test func realKernelAnswer() throws {
        let infoBytes = try Self.consoleHex("iommufd.hw_info_hex"), dataBytes = try Self.consoleHex("iommufd.hw_info_data_hex")
        #expect(infoBytes.count == 40 && dataBytes.count == 24)
        let info = try IOMMUFDHWInfo.decode(info: infoBytes, data: dataBytes)
        #expect(info.size == 40 && info.flags == 0 && info.devId == 1 && info.dataLen == 24)
        #expect(info.outDataType == 1 && info.outMaxPasidLog2 == 0 && info.outCapabilities == 0)
        #expect(info.data == dataBytes)
        #expect(info.notes.isEmpty)
        let f = facts(info)
        #expect(f["iommufd.data_type"] == .text("intel-vtd"))
        #expect(f["iommufd.data_type_id"] == .int(1))
        #expect(f["iommufd.max_pasid_log2"] == .int(0))
        #expect(f["iommufd.vtd.errata_772415_spr17"] == .bool(true))
        #expect(f["iommufd.cap.dirty_tracking"] == .bool(false))
        #expect(f["iommufd.cap.pci_pasid_exec"] == .bool(false))
        let sysfs = "sysfs/class/iommu/dmar0/intel-iommu/"
        let cap = try Captures.text("iommufd-q10-scalable-flts", sysfs + "cap").trimmingCharacters(in: .whitespacesAndNewlines)
        let ecap = try Captures.text("iommufd-q10-scalable-flts", sysfs + "ecap").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(f["vtd.cap"] == .text("0x" + cap))
        #expect(f["vtd.ecap"] == .text("0x" + ecap))
        #expect(f["vtd.ecap.flts"] == .bool(true))
        #expect(f["vtd.addr_widths"] == .text("48"))
        #expect(f["iommu.vendor"] == .text("intel"))

        // capreg's own capture form: the struct then the data, one blob.
        let blob = try IOMMUFDHWInfo.decode(infoBytes + dataBytes)
        #expect(blob.facts == info.facts)
    }

    @Test func sixSixStructHasNoCapabilities() throws {
        var b = Self.hw(size: 32, dataLen: 24, type: 1)
        b.append(Self.vtd(flags: 0, cap: 0xd2_008c_2226_0286, ecap: 0xf0_0f4a))  // 6.6: flags 0
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.size == 32)
        #expect(info.outCapabilities == nil)
        let f = facts(info)
        #expect(f["iommufd.cap.dirty_tracking"] == nil, "no out_capabilities in the 6.6 struct: unknown")
        #expect(f["iommufd.vtd.errata_772415_spr17"] == .bool(false))
        #expect(f["vtd.cap.nd"] == .int(6))
    }

    /// A struct larger than 40 bytes (a newer caller): the data starts at `size`.
    @Test func largerStructPutsDataAtItsSize() throws {
        var b = Self.hw(size: 48, dataLen: 24, type: 1, caps: 1)
        b.append(Self.vtd(flags: 1, cap: 0, ecap: 1 << 43))  // ECAP.SMTS
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.size == 48)
        #expect(facts(info)["vtd.ecap.smts"] == .bool(true))
        #expect(facts(info)["iommufd.cap.dirty_tracking"] == .bool(true))
    }

    @Test func smmuv3AndCapabilities() throws {
        var b = Self.hw(dataLen: 40, type: 2, pasidLog2: 20, caps: 0b0110)  // PCI_PASID_EXEC, PCI_PASID_PRIV
        b.u32(0); b.u32(0)                           // +0 flags, +4 reserved
        for idr in SMMUv3RegistersTests.idr { b.u32(idr) }  // +8 IDR0..IDR5
        b.u32(0x43b); b.u32(2)                       // +32 IIDR, +36 AIDR
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.notes.isEmpty)
        let f = facts(info)
        #expect(f["iommufd.data_type"] == .text("arm-smmuv3"))
        #expect(f["iommufd.max_pasid_log2"] == .int(20))
        #expect(f["iommufd.cap.dirty_tracking"] == .bool(false))
        #expect(f["iommufd.cap.pci_pasid_exec"] == .bool(true))
        #expect(f["iommufd.cap.pci_pasid_priv"] == .bool(true))
        #expect(f["iommufd.cap.pci_ats_not_supported"] == .bool(false))
        #expect(f["smmu.idr0.s1p"] == .bool(true))
        #expect(f["smmu.iidr.implementer"] == .int(0x43b))
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["hw.pasid_bits"] == .int(20), "the IOMMU's SSIDSIZE, kept apart from max_pasid_log2")
    }

    /// The pre-merge 32-byte SMMUv3 struct (no IIDR/AIDR) is decoded, and said to be that.
    @Test func smmuv3DraftLayout() throws {
        var b = Self.hw(dataLen: 32, type: 2)
        b.u32(0); b.u32(0)
        for idr in SMMUv3RegistersTests.idr { b.u32(idr) }
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.notes.count == 1 && info.notes[0].contains("pre-merge"))
        #expect(facts(info)["smmu.idr1.ssidsize"] == .int(20))
        #expect(facts(info)["smmu.iidr.implementer"] == nil)
    }

    @Test func amdAndTegra() throws {
        var amd = Self.hw(dataLen: 16, type: 4)
        amd.u64(0x206d_73ef_2225_4ade); amd.u64(0xa0)  // +0 efr, +8 efr2 (SNPAVIC 5)
        let a = facts(try IOMMUFDHWInfo.decode(amd.bytes))
        #expect(a["iommufd.data_type"] == .text("amd"))
        #expect(a["amd.efr.gt"] == .bool(true))
        #expect(a["amd.efr2.snpavic"] == .int(5))
        #expect(a["iommu.vendor"] == .text("amd"))

        var tegra = Self.hw(dataLen: 8, type: 3)
        tegra.u32(0); tegra.bytes += [1, 2, 4, 0]  // +0 flags, +4 version 1, +5 log2vcmdqs 2, +6 log2vsids 4, +7 reserved
        let f = facts(try IOMMUFDHWInfo.decode(tegra.bytes))
        #expect(f["iommufd.data_type"] == .text("tegra241-cmdqv"))
        #expect(f["iommufd.tegra241.version"] == .int(1))
        #expect(f["iommufd.tegra241.log2vcmdqs"] == .int(2))
        #expect(f["iommufd.tegra241.log2vsids"] == .int(4))
        #expect(f["iommu.vendor"] == nil)
    }

    /// Pre-merge AMD patches used type 2 (now SMMUv3): 16 bytes of data can only be AMD's, and the result says so.
    @Test func type2With16BytesIsReadAsPreMergeAMDAndNoted() throws {
        var b = Self.hw(dataLen: 16, type: 2)
        b.u64(1 << 4); b.u64(0)  // EFR.GTSup
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.notes.count == 1)
        #expect(info.notes.first?.contains("ambiguous") == true)
        #expect(info.notes.first?.contains("pre-merge AMD") == true)
        let f = facts(info)
        #expect(f["iommufd.data_type"] == .text("arm-smmuv3"), "the number is reported as the kernel gave it")
        #expect(f["iommu.vendor"] == .text("amd"))
        #expect(f["amd.efr.gt"] == .bool(true))
        #expect(f["smmu.idr0.s1p"] == nil)
    }

    @Test func typeNoneHasNoVendorFacts() throws {
        let info = try IOMMUFDHWInfo.decode(Self.hw(dataLen: 0, type: 0).bytes)
        #expect(facts(info)["iommufd.data_type"] == .text("none"))
        #expect(facts(info)["iommu.vendor"] == nil)
        #expect(info.notes.isEmpty && info.data.isEmpty)
    }

    @Test func unknownTypeKeepsRawAndNotes() throws {
        var b = Self.hw(dataLen: 4, type: 9)
        b.u32(0xabcd)
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(facts(info)["iommufd.data_type"] == .text("unknown-9"))
        #expect(facts(info)["iommufd.data_type_id"] == .int(9))
        #expect(facts(info)["iommu.vendor"] == nil)
        #expect(info.data == [0xcd, 0xab, 0, 0])
        #expect(info.notes.count == 1)
    }

    /// data_len longer than the struct the decoder knows (a newer kernel): decoded, and noted.
    @Test func longerDataIsNoted() throws {
        var b = Self.hw(dataLen: 32, type: 1)
        b.append(Self.vtd(flags: 1, cap: 0, ecap: 0)); b.u64(0xffff)
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.notes.count == 1 && info.notes[0].contains("not decoded"))
        #expect(info.data.count == 32)
        #expect(facts(info)["iommufd.vtd.errata_772415_spr17"] == .bool(true))
    }

    /// Bytes after data_len (the kernel zero-fills the caller's buffer) are not part of the data.
    @Test func bytesAfterDataLenAreIgnored() throws {
        var b = Self.hw(dataLen: 8, type: 3)
        b.u32(0); b.bytes += [1, 2, 4, 0]
        b.zeros(232)
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.data.count == 8 && info.notes.isEmpty)
    }

    @Test func twoPartFormChecksTheStruct() throws {
        var long = Self.hw(dataLen: 0, type: 0)
        long.zeros(8)  // 48 bytes given for a 40-byte struct
        let info = try IOMMUFDHWInfo.decode(info: long.bytes, data: [])
        #expect(info.notes.count == 1 && info.notes[0].contains("8 bytes after"))
        do {
            _ = try IOMMUFDHWInfo.decode(info: Array(Self.hw(dataLen: 0, type: 0).bytes.prefix(32)), data: [])  // size 40, 32 given
            Issue.record("accepted a 40-byte size with 32 bytes")
        } catch {
            #expect(error.kind == .sizeMismatch && error.offset == 0)
        }
        do {
            _ = try IOMMUFDHWInfo.decode(info: Self.hw(dataLen: 24, type: 1).bytes, data: Array(repeating: 0, count: 20))
            Issue.record("accepted 20 data bytes for data_len 24")
        } catch {
            #expect(error.kind == .truncated && error.offset == 20 && error.context == "iommu_hw_info data")
        }
    }

    @Test func truncatedData() {
        var short = Self.hw(dataLen: 24, type: 1)
        short.u64(0)  // only 8 of 24 data bytes: ends at 48
        let e = Self.error(short.bytes)
        #expect(e?.kind == .truncated && e?.offset == 48)
    }

    @Test func absurdDataLen() {
        var absurd = Self.hw(dataLen: 0xffff_ffff, type: 1)
        absurd.u64(0)
        let e = Self.error(absurd.bytes)
        #expect(e?.kind == .truncated && e?.offset == 48)
    }

    /// data_len shorter than the type's struct: the struct is cut short where the data ends.
    @Test(arguments: [(1, 8), (2, 20), (3, 4), (4, 8)] as [(UInt32, UInt32)])
    func dataShorterThanItsType(type: UInt32, dataLen: UInt32) {
        var b = Self.hw(dataLen: dataLen, type: type)
        b.zeros(Int(dataLen))
        let e = Self.error(b.bytes)
        #expect(e?.kind == .truncated && e?.offset == 40 + Int(dataLen))
    }

    @Test(arguments: [0, 4, 31, 33, 36, 39])
    func badSizeField(size: UInt32) {
        var b = Self.hw(dataLen: 0, type: 0)
        b.set32(0, size)
        let e = Self.error(b.bytes)
        #expect(e?.kind == .badValue && e?.offset == 0)
    }

    @Test func sizeBeyondTheBytes() {
        let e = Self.error(Array(Self.hw(dataLen: 0, type: 0).bytes.prefix(20)))  // size 40, 20 bytes
        #expect(e?.kind == .sizeMismatch && e?.offset == 0)
        var huge = Self.hw(dataLen: 0, type: 0)
        huge.set32(0, 0xffff_ffff)
        let h = Self.error(huge.bytes)
        #expect(h?.kind == .sizeMismatch && h?.offset == 0)
        let tiny = Self.error([40, 0])  // not even the size field
        #expect(tiny?.kind == .truncated && tiny?.offset == 0)
    }
}
