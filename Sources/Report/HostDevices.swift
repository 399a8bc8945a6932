import Decoders

/// One PCI device's facts (`device.*` names), kept apart from the host's: a host has one IOMMU answer
/// per name, but many devices, and "hosts with at least N devices that …" needs each device whole.
public struct DeviceFacts: Hashable, Sendable {
    /// The device's PCI address, its unit in the report (`0000:3b:00.0`).
    public var bdf: String
    /// Sorted by name.
    public var facts: [Fact]

    public init(bdf: String, facts: [Fact]) {
        self.bdf = bdf
        self.facts = facts
    }

    public subscript(name: String) -> FactValue? { facts.first { $0.name == name }?.value }
}

/// A report's devices: each `pci-device` record's facts, plus what the kernel said about the device
/// through its vfio cdev, whose iommufd records carry the cdev's name as their unit:
/// - `device.max_pasid_log2` and `device.dirty_tracking` from its `iommufd-hw-info`;
/// - `device.nesting` from its probe of IOMMU_HWPT_ALLOC(NEST_PARENT): `ok` is true, an errno is false,
///   not asked (skipped, busy, not root) is absent.
public enum HostDevices {
    public static func of(_ records: [CapabilityRecord]) -> [DeviceFacts] {
        var byCdev: [String: [CapabilityRecord]] = [:]
        for record in records where record.capability == "iommufd-hw-info" || record.capability == SourceDecoder.kernelProbes {
            byCdev[record.unit, default: []].append(record)
        }
        var out: [DeviceFacts] = []
        for record in records where record.capability == SourceDecoder.pciDevice {
            var facts = record.facts
            if case .text(let cdev)? = record.facts.first(where: { $0.name == PCIDevice.vfioCdev })?.value, cdev != "none" {
                facts += kernelFacts(byCdev[cdev] ?? [])
            }
            out.append(DeviceFacts(bdf: record.unit, facts: facts.sorted { $0.name < $1.name }))
        }
        return out.sorted { $0.bdf < $1.bdf }
    }

    static func kernelFacts(_ records: [CapabilityRecord]) -> [Fact] {
        var out: [Fact] = []
        for record in records {
            for fact in record.facts {
                switch fact.name {
                case "iommufd.max_pasid_log2": out.append(Fact(PCIDevice.maxPasidLog2, fact.value))
                case "iommufd.cap.dirty_tracking": out.append(Fact(PCIDevice.dirtyTracking, fact.value))
                case "probe.iommufd.hwpt_alloc.nest_parent":
                    // Refused is a no; not asked, or asked without the right to (permission, a VM holds it), is unknown.
                    switch KernelProbes.Outcome(fact.value.description) {
                    case .ok?: out.append(Fact(PCIDevice.nesting, true))
                    case .errno(let name)? where !["EACCES", "EPERM", "EBUSY"].contains(name): out.append(Fact(PCIDevice.nesting, false))
                    default: break
                    }
                default: break
                }
            }
        }
        return out
    }
}
