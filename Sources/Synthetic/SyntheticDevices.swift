import Decoders
import Report

/// PCI devices as a collector reports them (`pci-device` sources): the files PCIDeviceSource reads,
/// with a configuration space laid out per the PCIe base spec so the registry decodes it like any other.
public struct SyntheticDevice: Hashable, Sendable {
    public var bdf: String
    public var vendor: UInt16 = 0x8086
    public var device: UInt16 = 0x1572
    public var classCode: UInt32 = 0x020000
    public var group: Int = 1
    public var unit: String = "dmar0"
    public var driver: String? = "vfio-pci"
    public var cdev: String?
    public var ats = false
    public var pri = false
    /// The PASID capability's Max PASID Width; nil: no PASID capability.
    public var pasidBits: Int?
    public var pasidExec = false
    public var pasidPriv = false
    /// Bytes of configuration space read: 4096 (PCIe, as root), 256 (conventional), 64 (not root).
    public var configSize = 4096

    public init(bdf: String) { self.bdf = bdf }

    /// The configuration space: ids and class in the header, then the extended capabilities asked for
    /// (ATS, PRI, PASID, in that order) chained from 0x100, 0x20 bytes apart.
    public var config: [UInt8] {
        var c = [UInt8](repeating: 0, count: 4096)
        func put16(_ v: UInt16, _ at: Int) { c[at] = UInt8(v & 0xff); c[at + 1] = UInt8(v >> 8) }
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { c[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        put16(vendor, 0)
        put16(device, 2)
        put32(classCode << 8 | 0x01, 8)  // revision 1 in the low byte
        let ids: [UInt16] = (ats ? [0x000F] : []) + (pri ? [0x0013] : []) + (pasidBits != nil ? [0x001B] : [])
        for (i, id) in ids.enumerated() {
            let at = 0x100 + 0x20 * i
            let next = i + 1 < ids.count ? at + 0x20 : 0
            put32(UInt32(id) | 1 << 16 | UInt32(next) << 20, at)
            if id == 0x001B, let bits = pasidBits {
                put16(UInt16(bits & 0x1F) << 8 | (pasidExec ? 0x2 : 0) | (pasidPriv ? 0x4 : 0), at + 4)
            }
        }
        return Array(c.prefix(configSize))
    }

    /// The device as a report source.
    public var source: Report.Source {
        func hex(_ v: UInt64, _ digits: Int) -> String {
            let s = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s + "\n"
        }
        var files = ["vendor": hex(UInt64(vendor), 4), "device": hex(UInt64(device), 4), "class": hex(UInt64(classCode), 6),
                     "iommu_group": String(group), "iommu": unit]
        if let driver { files["driver"] = driver }
        if let cdev { files["vfio-dev"] = cdev }
        files.merge(PCIDevice.configFiles(config)) { a, _ in a }
        return Report.Source(kind: .pciDevice, unit: bdf, raw: SourceDecoder.sysfsRaw(files))
    }
}
