import Foundation

/// One PCI device behind an IOMMU, as sysfs shows it under `/sys/bus/pci/devices/BDF/`: identity, where it
/// sits (IOMMU unit, group), who drives it, and what its own PCI Express capabilities offer (ATS, PRI,
/// PASID), read from its configuration space. Pure: the collector gathers the files, this reads them.
///
/// The files (the report's `pci-device` source, raw = JSON object of name → text):
/// - `vendor`, `device`, `class`: the sysfs attribute texts (`0x8086\n`);
/// - `iommu_group`, `iommu`, `driver`: the names their links point at (`12`, `dmar0`, `vfio-pci`); no
///   `driver` key when no driver is bound;
/// - `vfio-dev`: the device's vfio cdev (`vfio0`) when it has one (CONFIG_VFIO_DEVICE_CDEV, bound to vfio-pci);
/// - `config`: the configuration space as read, in hex, and `config_size`: how many bytes were read (trailing
///   zero bytes are left out of `config`). A PCI Express device has 4096 bytes; conventional PCI 256; a
///   reader without CAP_SYS_ADMIN gets only the first 64 (then ATS/PRI/PASID stay unknown).
public enum PCIDevice {
    /// The per-device names start with this; they are not host facts (HostDevices keeps them per device).
    public static let prefix = "device."

    public static let bdf = "device.bdf"
    public static let vendorID = "device.vendor_id"
    public static let deviceID = "device.device_id"
    public static let classCode = "device.class"
    public static let iommuUnit = "device.iommu_unit"
    public static let iommuGroup = "device.iommu_group"
    public static let driver = "device.driver"
    public static let vfioCdev = "device.vfio_cdev"
    public static let ats = "device.ats"
    public static let pri = "device.pri"
    public static let pasid = "device.pasid"
    public static let pasidBits = "device.pasid.bits"
    public static let pasidExec = "device.pasid.exec"
    public static let pasidPriv = "device.pasid.priv"
    /// From the kernel (iommufd hw_info and probes of the device's cdev), added by HostDevices.
    public static let maxPasidLog2 = "device.max_pasid_log2"
    public static let dirtyTracking = "device.dirty_tracking"
    public static let nesting = "device.nesting"

    /// PCI Express extended capability ids (PCIe base spec 7.6; linux/pci_regs.h PCI_EXT_CAP_ID_*).
    static let extATS: UInt16 = 0x000F
    static let extPRI: UInt16 = 0x0013
    static let extPASID: UInt16 = 0x001B
    /// Extended capabilities start here and the space ends at 4096 (PCI_CFG_SPACE_SIZE / _EXP_SIZE).
    static let extStart = 0x100
    static let extEnd = 0x1000

    /// A device's facts from its files; `bdf` is the unit (`0000:3b:00.0`).
    public static func decode(bdf: String, files: [String: String]) throws(DecodeError) -> (facts: [Fact], notes: [String]) {
        var facts = [Fact(Self.bdf, text: bdf)]
        var notes: [String] = []
        for (file, name) in [("vendor", vendorID), ("device", deviceID), ("class", classCode)] {
            guard let text = files[file] else { continue }
            facts.append(Fact(name, text: try hexID(text, file: file)))
        }
        if let unit = files["iommu"] { facts.append(Fact(iommuUnit, text: try linkName(unit, file: "iommu"))) }
        if let group = files["iommu_group"] {
            let name = try linkName(group, file: "iommu_group")
            guard let number = Int64(name), number >= 0 else {
                throw DecodeError(.badText, offset: 0, expected: "an IOMMU group number", found: name, context: "pci-device \(bdf) iommu_group")
            }
            facts.append(Fact(iommuGroup, int: number))
        }
        for (file, name) in [("driver", driver), ("vfio-dev", vfioCdev)] {
            // No link: no driver bound, no cdev.
            facts.append(Fact(name, text: try files[file].map { (text) throws(DecodeError) in try linkName(text, file: file) } ?? "none"))
        }
        if let config = files["config"] {
            let bytes = try configBytes(config, size: files["config_size"], bdf: bdf)
            switch bytes.count {
            case extEnd...:
                facts += try extendedCapabilities(bytes, bdf: bdf)
            case 256:
                // Conventional PCI: no extended space, so none of the three.
                facts += [Fact(ats, false), Fact(pri, false), Fact(pasid, false)]
            case ..<256:
                notes.append("configuration space: \(bytes.count) bytes readable (the collector was not root); ATS, PRI and PASID unknown")
            default:
                // Neither conventional nor whole: a short read of an extended space.
                notes.append("configuration space: \(bytes.count) bytes read, neither 256 nor 4096; ATS, PRI and PASID unknown")
            }
        } else {
            notes.append("no configuration space read; ATS, PRI and PASID unknown")
        }
        return (facts, notes)
    }

    /// Walks the extended capability list from 0x100: header u32 = id (15:0), version (19:16), next
    /// (31:20). A `next` that is not a dword inside 0x100…0xffc after the current one ends the walk with an
    /// error (a looping list cannot loop: offsets only grow).
    static func extendedCapabilities(_ config: [UInt8], bdf: String) throws(DecodeError) -> [Fact] {
        let r = ByteReader(config, context: "pci-device \(bdf) config")
        var found: [UInt16: Int] = [:]
        var offset = extStart
        while true {
            let header = try r.u32(offset, "extended capability header")
            // An all-zero (or all-ones, device gone) first header: no extended capabilities.
            if header == 0 || header == 0xFFFF_FFFF { break }
            let id = UInt16(header & 0xFFFF)
            if found[id] == nil { found[id] = offset }
            let next = Int(header >> 20)
            if next == 0 { break }
            guard next > offset, next & 3 == 0, next <= extEnd - 4 else {
                throw DecodeError(.badLink, offset: offset, expected: "a next pointer past \(hex(UInt64(offset))), dword aligned, below 0x1000",
                                  found: hex(UInt64(next)), context: "pci-device \(bdf) extended capability \(hex(UInt64(id)))")
            }
            offset = next
        }
        var facts = [Fact(ats, found[extATS] != nil), Fact(pri, found[extPRI] != nil), Fact(pasid, found[extPASID] != nil)]
        if let at = found[extPASID] {
            // PASID Capability register (+4, u16): bit 1 execute, bit 2 privileged, bits 12:8 max PASID width.
            let capability = try r.u16(at + 4, "PASID capability register")
            facts += [Fact(pasidBits, int: (capability >> 8) & 0x1F), Fact(pasidExec, capability & 0x2 != 0), Fact(pasidPriv, capability & 0x4 != 0)]
        }
        return facts
    }

    /// `0x8086\n` → `0x8086` (lower case, as sysfs writes it).
    static func hexID(_ text: String, file: String) throws(DecodeError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("0x"), trimmed.count <= 10, trimmed.count > 2, UInt64(trimmed.dropFirst(2), radix: 16) != nil else {
            throw DecodeError(.badText, offset: 0, expected: "a hex id such as 0x8086", found: String(trimmed.prefix(32)), context: "pci-device \(file)")
        }
        return trimmed.lowercased()
    }

    /// A link's target name: letters, digits and `-_.:`, at most 64 bytes.
    static func linkName(_ text: String, file: String) throws(DecodeError) -> String {
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let allowed = name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x3A
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else {
            throw DecodeError(.badText, offset: 0, expected: "a name of at most 64 letters, digits, '-', '_', '.' or ':'",
                              found: String(name.prefix(32)), context: "pci-device \(file)")
        }
        return name
    }

    /// The config space as read: the hex text's bytes, then zero bytes up to `config_size` (the collector
    /// leaves trailing zeros out: most of a PCIe device's 4096 bytes are). At most 4096 bytes.
    static func configBytes(_ text: String, size sizeText: String?, bdf: String) throws(DecodeError) -> [UInt8] {
        var bytes = try hexBytes(text, bdf: bdf)
        guard let sizeText else { return bytes }
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespacesAndNewlines)), size >= bytes.count, size <= extEnd else {
            throw DecodeError(.sizeMismatch, offset: 0, expected: "config_size of \(bytes.count)…4096 bytes", found: String(sizeText.prefix(16)),
                              context: "pci-device \(bdf) config")
        }
        bytes += [UInt8](repeating: 0, count: size - bytes.count)
        return bytes
    }

    /// Hex pairs to bytes: at most 4096 bytes, whole bytes only.
    static func hexBytes(_ text: String, bdf: String) throws(DecodeError) -> [UInt8] {
        let digits = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard digits.count <= 2 * extEnd, digits.count % 2 == 0 else {
            throw DecodeError(.tooLarge, offset: 0, expected: "at most 4096 bytes of configuration space as hex pairs",
                              found: "\(digits.count) hex digits", context: "pci-device \(bdf) config")
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = BlobText.hexValue(digits[i]), let low = BlobText.hexValue(digits[i + 1]) else {
                throw DecodeError(.badText, offset: i / 2, expected: "hex digits", context: "pci-device \(bdf) config")
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    /// The collector's `config` and `config_size` for config bytes as read: hex without the trailing zeros.
    public static func configFiles(_ read: [UInt8]) -> [String: String] {
        var end = read.count
        while end > 0 && read[end - 1] == 0 { end -= 1 }
        return ["config": configText(Array(read[0..<end])), "config_size": String(read.count)]
    }

    /// Lower-case hex of bytes.
    static func configText(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The host fact counting the devices a report lists; absent when it lists none (a collector before
    /// 0.3.0, or none readable), so that "no device" is never read from a report that did not look.
    public static let hostCount = "devices.count"

    /// The host-level name (Vocabulary.all).
    public static let hostVocabulary: [VocabularyEntry] = [
        VocabularyEntry(hostCount, .int, "How many PCI devices behind an IOMMU the host reported (each one queryable inside devices(…)); absent when the report lists none.",
                        source: "the report's pci-device sources"),
    ]

    /// The device's names, types and meanings: queried inside `devices(…)`, never as host facts.
    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry(bdf, .text, "The device's PCI address, domain:bus:device.function (`0000:3b:00.0`).", source: "sysfs /sys/bus/pci/devices/BDF"),
        VocabularyEntry(vendorID, .text, "PCI vendor id, lower-case hex (`0x8086`).", source: "sysfs vendor"),
        VocabularyEntry(deviceID, .text, "PCI device id, lower-case hex.", source: "sysfs device"),
        VocabularyEntry(classCode, .text, "PCI class code, 24-bit hex (`0x020000` = Ethernet).", source: "sysfs class"),
        VocabularyEntry(iommuUnit, .text, "The IOMMU unit translating for the device (`dmar0`, `ivhd0`, `smmu3.0x…`).", source: "sysfs iommu link"),
        VocabularyEntry(iommuGroup, .int, "The device's IOMMU group number (devices of one group are passed through together).", source: "sysfs iommu_group link"),
        VocabularyEntry(driver, .text, "The bound driver (`vfio-pci`, `nvme`, …), or `none`.", source: "sysfs driver link"),
        VocabularyEntry(vfioCdev, .text, "The device's vfio device cdev (`vfio0` for /dev/vfio/devices/vfio0), through which iommufd hands it to a VM; `none` without one.", source: "sysfs vfio-dev"),
        VocabularyEntry(ats, .bool, "The device has the PCIe ATS capability (Address Translation Services).", source: "config space extended capability 0x0f"),
        VocabularyEntry(pri, .bool, "The device has the PCIe PRI capability (Page Request Interface, needed for I/O page faults).", source: "config space extended capability 0x13"),
        VocabularyEntry(pasid, .bool, "The device has the PCIe PASID capability.", source: "config space extended capability 0x1b"),
        VocabularyEntry(pasidBits, .int, "The device's Max PASID Width, in bits (0–20).", source: "PASID capability register bits 12:8"),
        VocabularyEntry(pasidExec, .bool, "The device's PASID capability supports Execute Permission.", source: "PASID capability register bit 1"),
        VocabularyEntry(pasidPriv, .bool, "The device's PASID capability supports Privileged Mode.", source: "PASID capability register bit 2"),
        VocabularyEntry(maxPasidLog2, .int, "The PASID width the kernel negotiated for the device with its IOMMU (min of both), in bits; 0 = none or a kernel before 6.15.", source: "iommufd hw_info of the device's cdev, byte 28"),
        VocabularyEntry(dirtyTracking, .bool, "The kernel reports IOMMU dirty tracking for the device.", source: "iommufd hw_info out_capabilities bit 0"),
        VocabularyEntry(nesting, .bool, "The kernel allowed a nesting parent page table (IOMMU_HWPT_ALLOC NEST_PARENT) for this device; absent when its cdev was not probed.", source: "kernel probe of the device's cdev"),
    ]

    public static let byName: [String: VocabularyEntry] = Dictionary(vocabulary.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
}
