import Testing
@testable import Decoders

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
        return b
    }

    /// The real answer in iommufd-q10-scalable-flts/console.txt: 40-byte struct, VT-d, data_len 24,
    /// errata flag set, cap/ecap equal to sysfs.
    @Test func realKernelAnswer() throws {
        let console = try Captures.text("iommufd-q10-scalable-flts", "console.txt")
        func hexLine(_ key: String) -> [UInt8] {
            let line = console.split(separator: "\n").first { $0.hasPrefix(key + " ") }!
            return Captures.hexBytes(String(line.split(separator: " ")[1]))
        }
        let info = try IOMMUFDHWInfo.decode(info: hexLine("iommufd.hw_info_hex"), data: hexLine("iommufd.hw_info_data_hex"))
        #expect(info.size == 40 && info.dataLen == 24 && info.outDataType == 1 && info.outCapabilities == 0)
        let f = facts(info)
        #expect(f["iommufd.data_type"] == .text("intel-vtd"))
        #expect(f["iommufd.vtd.errata_772415_spr17"] == .bool(true))
        #expect(f["iommufd.cap.dirty_tracking"] == .bool(false))
        let sysfs = "sysfs/class/iommu/dmar0/intel-iommu/"
        #expect(f["vtd.cap"] == .text("0x" + (try Captures.text("iommufd-q10-scalable-flts", sysfs + "cap")).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(f["vtd.ecap"] == .text("0x" + (try Captures.text("iommufd-q10-scalable-flts", sysfs + "ecap")).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(f["vtd.ecap.flts"] == .bool(true))
    }

    @Test func sixSixStructHasNoCapabilities() throws {
        var b = Self.hw(size: 32, dataLen: 24, type: 1)
        b.u32(0); b.u32(0); b.u64(0); b.u64(0)  // VT-d data: flags 0 (6.6), reserved, cap, ecap
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.outCapabilities == nil)
        #expect(facts(info)["iommufd.cap.dirty_tracking"] == nil)
        #expect(facts(info)["iommufd.vtd.errata_772415_spr17"] == .bool(false))
    }

    @Test func smmuv3AndCapabilities() throws {
        var b = Self.hw(dataLen: 40, type: 2, pasidLog2: 20, caps: 0b111)
        b.u32(0); b.u32(0)                           // flags, reserved
        for idr in SMMUv3RegistersTests.idr { b.u32(idr) }
        b.u32(0x43b); b.u32(2)                       // IIDR, AIDR
        let f = facts(try IOMMUFDHWInfo.decode(b.bytes))
        #expect(f["iommufd.max_pasid_log2"] == .int(20))
        #expect(f["iommufd.cap.dirty_tracking"] == .bool(true))
        #expect(f["iommufd.cap.pci_pasid_priv"] == .bool(true))
        #expect(f["iommufd.cap.pci_ats_not_supported"] == .bool(false))
        #expect(f["smmu.idr0.s1p"] == .bool(true))
        #expect(f["nesting"] == .bool(true))
    }

    @Test func amdAndTegra() throws {
        var amd = Self.hw(dataLen: 16, type: 4)
        amd.u64(0x206d_73ef_2225_4ade); amd.u64(0)
        #expect(facts(try IOMMUFDHWInfo.decode(amd.bytes))["amd.efr.gt"] == .bool(true))

        var tegra = Self.hw(dataLen: 8, type: 3)
        tegra.u32(0); tegra.bytes += [1, 2, 4, 0]  // flags, version 1, log2vcmdqs 2, log2vsids 4
        let f = facts(try IOMMUFDHWInfo.decode(tegra.bytes))
        #expect(f["iommufd.tegra241.version"] == .int(1))
        #expect(f["iommufd.tegra241.log2vsids"] == .int(4))
    }

    /// Pre-merge AMD patches used type 2 (now SMMUv3): 16 bytes of data can only be AMD's, and the result says so.
    @Test func type2With16BytesIsReadAsPreMergeAMDAndNoted() throws {
        var b = Self.hw(dataLen: 16, type: 2)
        b.u64(0x10); b.u64(0)
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(info.notes.first?.contains("pre-merge AMD") == true)
        #expect(facts(info)["iommu.vendor"] == .text("amd"))
    }

    @Test func unknownTypeKeepsNoteNoVendorFacts() throws {
        var b = Self.hw(dataLen: 4, type: 9)
        b.u32(0xabcd)
        let info = try IOMMUFDHWInfo.decode(b.bytes)
        #expect(facts(info)["iommufd.data_type"] == .text("unknown-9"))
        #expect(facts(info)["iommu.vendor"] == nil)
        #expect(!info.notes.isEmpty)
    }

    @Test func badSizesAndLengths() {
        func kind(_ bytes: [UInt8]) -> DecodeError.Kind? {
            do { _ = try IOMMUFDHWInfo.decode(bytes); return nil } catch { return error.kind }
        }
        var short = Self.hw(dataLen: 24, type: 1)
        short.u64(0)  // only 8 of 24 data bytes
        #expect(kind(short.bytes) == .truncated)
        var absurd = Self.hw(dataLen: 0xffff_ffff, type: 1)
        absurd.u64(0)
        #expect(kind(absurd.bytes) == .truncated)
        var tooSmall = Self.hw(dataLen: 8, type: 1)
        tooSmall.u64(0)
        #expect(kind(tooSmall.bytes) == .truncated, "VT-d data needs 24 bytes")
        var badSize = Self.hw(dataLen: 0, type: 0)
        badSize.set32(0, 36)
        #expect(kind(badSize.bytes) == .badValue)
        #expect(kind(Array(Self.hw(dataLen: 0, type: 0).bytes.prefix(20))) == .truncated)
    }
}
