import Decoders
import Glibc
import Report

/// `/sys/bus/pci/devices/*` behind an IOMMU (those with an `iommu_group` link): one `pci-device` source
/// each, unit = the device's address. Only reads: identity files, link names, and the configuration
/// space (all 4096 bytes as root; 64 otherwise, and the decoder then leaves ATS/PRI/PASID unknown).
public enum PCIDeviceSource {
    /// More devices than any server has; a sysfs that lists more is not trusted to be one.
    public static let maxDevices = 4096

    public static func collect(root: String) -> [Report.Source] {
        let dir = root + "/bus/pci/devices"
        let names: [String]
        switch FileReader.list(dir) {
        case .success(let found): names = found
        case .failure(let e) where e.name == "ENOENT":
            return []  // no PCI bus (or a captured tree without one): no devices to report, and devices.count stays unknown
        case .failure(let e):
            return [Report.Source(kind: .pciDevice, unit: "pci", status: .unavailable, reason: e.name, detail: "\(dir): \(e.name)")]
        }
        var out: [Report.Source] = []
        for bdf in names where FileReader.linkName(dir + "/" + bdf + "/iommu_group") != nil {
            guard out.count < maxDevices else {
                out.append(Report.Source(kind: .pciDevice, unit: "pci", status: .unavailable, reason: "E2BIG",
                                         detail: "\(dir): more than \(maxDevices) devices behind an IOMMU; the rest were not read"))
                break
            }
            out.append(read(bdf: bdf, dir: dir + "/" + bdf))
        }
        return out
    }

    /// One device. Identity files must read; links may be absent (no driver, no cdev).
    static func read(bdf: String, dir: String) -> Report.Source {
        var files: [String: String] = [:]
        for name in ["vendor", "device", "class"] {
            switch FileReader.text(dir + "/" + name) {
            case .success(let text): files[name] = text
            case .failure(let e):
                return Report.Source(kind: .pciDevice, unit: bdf, status: .unavailable, reason: e.name, detail: "\(dir)/\(name): \(e.name)")
            }
        }
        for name in ["iommu_group", "iommu", "driver"] {
            if let target = FileReader.linkName(dir + "/" + name) { files[name] = target }
        }
        if case .success(let cdevs) = FileReader.list(dir + "/vfio-dev"), let cdev = cdevs.first(where: { $0.hasPrefix("vfio") }) {
            files["vfio-dev"] = cdev
        }
        var detail: String?
        switch FileReader.bytes(dir + "/config", limit: 4096) {
        case .success(let bytes): files.merge(PCIDevice.configFiles(bytes)) { a, _ in a }
        case .failure(let e): detail = "\(dir)/config: \(e.name)"
        }
        return Report.Source(kind: .pciDevice, unit: bdf, detail: detail, raw: SourceDecoder.sysfsRaw(files))
    }
}
