import Decoders
import Testing

/// PCI devices from their sysfs files: ids and links as read, ATS/PRI/PASID from the extended capability
/// list of the configuration space (PCIe base spec 7.6: header id 15:0, version 19:16, next 31:20).
@Suite struct PCIDeviceTests {
    /// A 4096-byte config space with the given extended capabilities at the given offsets, chained in order.
    static func config(_ caps: [(id: UInt16, at: Int, body: [UInt8])], size: Int = 4096) -> [UInt8] {
        var c = [UInt8](repeating: 0, count: size)
        c[0] = 0x86; c[1] = 0x80
        for (i, cap) in caps.enumerated() {
            let next = i + 1 < caps.count ? caps[i + 1].at : 0
            let header = UInt32(cap.id) | 1 << 16 | UInt32(next) << 20
            for b in 0..<4 { c[cap.at + b] = UInt8(truncatingIfNeeded: header >> (8 * b)) }
            for (j, byte) in cap.body.enumerated() { c[cap.at + 4 + j] = byte }
        }
        return c
    }

    static func files(_ config: [UInt8]?, driver: String? = "vfio-pci", cdev: String? = "vfio3") -> [String: String] {
        var f = ["vendor": "0x8086\n", "device": "0x1572\n", "class": "0x020000\n", "iommu_group": "42", "iommu": "dmar1"]
        if let driver { f["driver"] = driver }
        if let cdev { f["vfio-dev"] = cdev }
        if let config { f.merge(PCIDevice.configFiles(config)) { a, _ in a } }
        return f
    }

    static func facts(_ files: [String: String]) throws -> [String: FactValue] {
        Dictionary(try PCIDevice.decode(bdf: "0000:3b:00.0", files: files).facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func identityAndLinks() throws {
        let f = try Self.facts(Self.files(Self.config([])))
        #expect(f["device.bdf"] == .text("0000:3b:00.0"))
        #expect(f["device.vendor_id"] == .text("0x8086") && f["device.device_id"] == .text("0x1572") && f["device.class"] == .text("0x020000"))
        #expect(f["device.iommu_group"] == .int(42) && f["device.iommu_unit"] == .text("dmar1"))
        #expect(f["device.driver"] == .text("vfio-pci") && f["device.vfio_cdev"] == .text("vfio3"))
        // An empty extended list: a PCIe device with none of the three.
        #expect(f["device.ats"] == .bool(false) && f["device.pri"] == .bool(false) && f["device.pasid"] == .bool(false))
        let unbound = try Self.facts(Self.files(Self.config([]), driver: nil, cdev: nil))
        #expect(unbound["device.driver"] == .text("none") && unbound["device.vfio_cdev"] == .text("none"))
    }

    @Test func extendedCapabilitiesAnywhereInTheList() throws {
        // PASID capability register: width 20 (bits 12:8), exec (bit 1), not priv (bit 2).
        let pasid: [UInt8] = [0x02, 20]
        let f = try Self.facts(Self.files(Self.config([(0x0001, 0x100, []), (0x000F, 0x148, []), (0x001B, 0x200, pasid), (0x0013, 0x300, [])])))
        #expect(f["device.ats"] == .bool(true) && f["device.pri"] == .bool(true) && f["device.pasid"] == .bool(true))
        #expect(f["device.pasid.bits"] == .int(20) && f["device.pasid.exec"] == .bool(true) && f["device.pasid.priv"] == .bool(false))
        let narrow = try Self.facts(Self.files(Self.config([(0x001B, 0x100, [0x04, 5])])))
        #expect(narrow["device.pasid.bits"] == .int(5) && narrow["device.pasid.priv"] == .bool(true) && narrow["device.ats"] == .bool(false))
    }

    @Test func configSizesSayWhatIsKnown() throws {
        // Trailing zeros are left out of the text and restored from config_size.
        let files = Self.files(Self.config([(0x000F, 0x100, [])]))
        #expect(files["config_size"] == "4096" && files["config"]!.count < 2 * 0x110)
        #expect(try Self.facts(files)["device.ats"] == .bool(true))
        // Conventional PCI: 256 bytes, no extended space: none of the three.
        let conventional = try Self.facts(Self.files(Array(Self.config([]).prefix(256))))
        #expect(conventional["device.pasid"] == .bool(false))
        // Not root: 64 bytes; unknown, with a note saying why.
        let decoded = try PCIDevice.decode(bdf: "0000:3b:00.0", files: Self.files(Array(Self.config([]).prefix(64))))
        #expect(!decoded.facts.contains { $0.name == "device.pasid" || $0.name == "device.ats" })
        #expect(decoded.notes.first?.contains("64 bytes") == true)
        // A read of neither size (a short read of an extended space; the fuzzer's find): unknown, not "conventional".
        let odd = try PCIDevice.decode(bdf: "0000:3b:00.0", files: Self.files(Array(Self.config([]).prefix(370))))
        #expect(!odd.facts.contains { $0.name == "device.pasid" } && odd.notes.first?.contains("neither 256 nor 4096") == true)
    }

    @Test func badBytesAreRefusedWithWhere() {
        func refusal(_ files: [String: String]) -> DecodeError? {
            do { _ = try PCIDevice.decode(bdf: "0000:3b:00.0", files: files); return nil } catch { return error }
        }
        // A next pointer backwards (a loop), unaligned, or past the end.
        for next in [0x100, 0x102, 0xffe] {
            var c = Self.config([(0x000F, 0x100, [])])
            let header = UInt32(0x000F) | 1 << 16 | UInt32(next) << 20
            for b in 0..<4 { c[0x100 + b] = UInt8(truncatingIfNeeded: header >> (8 * b)) }
            #expect(refusal(Self.files(c))?.kind == .badLink, "next \(next)")
        }
        var big = Self.files(nil)
        big["config"] = String(repeating: "ab", count: 4097)
        #expect(refusal(big)?.kind == .tooLarge)
        var odd = Self.files(nil)
        odd["config"] = "abc"
        #expect(refusal(odd)?.kind == .tooLarge)
        var notHex = Self.files(nil)
        notHex["config"] = "zz"
        #expect(refusal(notHex)?.kind == .badText)
        var shrunk = Self.files(Self.config([]))
        shrunk["config_size"] = "8192"
        #expect(refusal(shrunk)?.kind == .sizeMismatch)
        var badGroup = Self.files(nil)
        badGroup["iommu_group"] = "-1"
        #expect(refusal(badGroup)?.kind == .badText)
        var badLink = Self.files(nil)
        badLink["driver"] = "vfio pci\u{0}"
        #expect(refusal(badLink)?.kind == .badText)
        var badID = Self.files(nil)
        badID["vendor"] = "8086"
        #expect(refusal(badID)?.kind == .badText)
    }

    @Test func everyNameIsInTheDeviceVocabularyAndNoneInTheHosts() throws {
        let f = try Self.facts(Self.files(Self.config([(0x001B, 0x100, [0, 8])])))
        for (name, value) in f {
            let entry = try #require(Vocabulary.deviceByName[name], "\(name)")
            #expect(entry.type == value.type, "\(name)")
            #expect(Vocabulary.byName[name] == nil, "\(name) must not be a host name")
        }
        #expect(Vocabulary.byName[PCIDevice.hostCount]?.type == .int)
    }
}
