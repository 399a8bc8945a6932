/// Where a VFIO group or vfio device cdev sits, read from sysfs links: its PCI devices, its group, its
/// IOMMU unit, and the other vfio-bound devices of that unit. The probes use it to tell whether a device
/// is held (through its group) and to ask an idle device of the same unit in place of a busy one: what a
/// kernel allows depends on the unit, not on which of its devices is asked.
struct Topology {
    var io: any DeviceIO
    var sysfsRoot: String
    var devRoot: String

    private func linkName(_ path: String) -> String? {
        guard case .success(let target) = io.readLink(path), let name = target.split(separator: "/").last else { return nil }
        return String(name)
    }

    private func names(_ directory: String) -> [String] {
        (try? io.list(directory).get()) ?? []
    }

    /// `vfio0` → `0000:00:03.0` (the cdev's parent device).
    func pciDevice(ofCdev cdev: String) -> String? { linkName("\(sysfsRoot)/class/vfio-dev/\(cdev)/device") }

    /// The IOMMU group number of a PCI device.
    func group(ofPCI device: String) -> String? { linkName("\(sysfsRoot)/bus/pci/devices/\(device)/iommu_group") }

    /// The IOMMU unit (`dmar0`, `ivhd0`, …) serving a PCI device.
    func unit(ofPCI device: String) -> String? { linkName("\(sysfsRoot)/bus/pci/devices/\(device)/iommu") }

    /// The vfio device cdev of a PCI device bound to a vfio driver (kernel with the cdev), else nil.
    func cdev(ofPCI device: String) -> String? {
        names("\(sysfsRoot)/bus/pci/devices/\(device)/vfio-dev").first { $0.hasPrefix("vfio") }
    }

    func devices(ofGroup group: String) -> [String] { names("\(sysfsRoot)/kernel/iommu_groups/\(group)/devices") }

    func devices(ofUnit unit: String) -> [String] { names("\(sysfsRoot)/class/iommu/\(unit)/devices") }

    func unit(ofGroup group: String) -> String? { devices(ofGroup: group).lazy.compactMap { unit(ofPCI: $0) }.first }

    /// Other VFIO groups (with a /dev/vfio node) on the same IOMMU unit as `group`, in natural order.
    func peerGroups(of group: String) -> [String] {
        guard let unit = unit(ofGroup: group) else { return [] }
        let present = Set(names("\(devRoot)/vfio"))
        var out: [String] = []
        for device in devices(ofUnit: unit) {
            if let g = self.group(ofPCI: device), g != group, present.contains(g), !out.contains(g) { out.append(g) }
        }
        return out.sorted(by: naturalOrder)
    }

    /// Other vfio device cdevs on the same IOMMU unit as `cdev`, in natural order.
    func peerCdevs(of cdev: String) -> [String] {
        guard let device = pciDevice(ofCdev: cdev), let unit = unit(ofPCI: device) else { return [] }
        var out: [String] = []
        for peer in devices(ofUnit: unit) where peer != device {
            if let c = self.cdev(ofPCI: peer), !out.contains(c) { out.append(c) }
        }
        return out.sorted(by: naturalOrder)
    }
}
