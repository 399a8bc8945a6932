import Decoders
import Foundation
import Report
import Testing

/// A report's devices: each pci-device record, plus what the kernel said through the device's cdev; the
/// host's facts keep none of a device's names but count the devices.
@Suite struct HostDevicesTests {
    static func device(_ bdf: String, cdev: String?, pasidWidth: Int?) -> Report.Source {
        var config = [UInt8](repeating: 0, count: 4096)
        if let width = pasidWidth {
            let header = UInt32(0x001B) | 1 << 16
            for b in 0..<4 { config[0x100 + b] = UInt8(truncatingIfNeeded: header >> (8 * b)) }
            config[0x105] = UInt8(width)
        }
        var files = ["vendor": "0x8086\n", "device": "0x0b25\n", "class": "0x088000\n", "iommu_group": "7", "iommu": "dmar0", "driver": "vfio-pci"]
        if let cdev { files["vfio-dev"] = cdev }
        files.merge(PCIDevice.configFiles(config)) { a, _ in a }
        return Report.Source(kind: .pciDevice, unit: bdf, raw: SourceDecoder.sysfsRaw(files))
    }

    /// struct iommu_hw_info (40 bytes, no type data) with out_max_pasid_log2 and out_capabilities.
    static func hwInfo(maxPasidLog2: UInt8, capabilities: UInt64) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 40)
        b[0] = 40
        b[28] = maxPasidLog2
        for i in 0..<8 { b[32 + i] = UInt8(truncatingIfNeeded: capabilities >> (8 * i)) }
        return b
    }

    static func records(_ sources: [Report.Source]) throws -> [CapabilityRecord] {
        let report = Report(reportId: "r", collectedAt: Date(), host: Report.Host(hostname: "h"), kernel: Report.Kernel(release: "6.15.0"),
                            collectorVersion: "capreg-collector 0.3.0", sources: sources)
        return try SourceDecoder.records(of: report, kernel: KernelRelease("6.15.0"))
    }

    @Test func kernelFactsJoinTheDeviceThroughItsCdev() throws {
        let records = try Self.records([
            Self.device("0000:00:02.0", cdev: "vfio0", pasidWidth: 20),
            Self.device("0000:00:03.0", cdev: "vfio1", pasidWidth: nil),
            Self.device("0000:00:04.0", cdev: nil, pasidWidth: 8),
            Report.Source(kind: .iommufd, unit: "vfio0", raw: Self.hwInfo(maxPasidLog2: 20, capabilities: 1)),
            Report.Source(kind: .probe, unit: "vfio0", raw: SourceDecoder.probeRaw(["iommufd.hwpt_alloc.nest_parent": "ok"])),
            Report.Source(kind: .iommufd, unit: "vfio1", raw: Self.hwInfo(maxPasidLog2: 0, capabilities: 0)),
            Report.Source(kind: .probe, unit: "vfio1", raw: SourceDecoder.probeRaw(["iommufd.hwpt_alloc.nest_parent": "EOPNOTSUPP"])),
        ])
        let devices = HostDevices.of(records)
        #expect(devices.map(\.bdf) == ["0000:00:02.0", "0000:00:03.0", "0000:00:04.0"])
        #expect(devices[0][PCIDevice.maxPasidLog2] == .int(20) && devices[0][PCIDevice.dirtyTracking] == .bool(true)
                && devices[0][PCIDevice.nesting] == .bool(true) && devices[0][PCIDevice.pasidBits] == .int(20))
        #expect(devices[1][PCIDevice.maxPasidLog2] == .int(0) && devices[1][PCIDevice.nesting] == .bool(false) && devices[1][PCIDevice.pasid] == .bool(false))
        // No cdev: nothing of the kernel's, unknown rather than false.
        #expect(devices[2][PCIDevice.nesting] == nil && devices[2][PCIDevice.maxPasidLog2] == nil && devices[2][PCIDevice.pasidBits] == .int(8))
        #expect(devices.allSatisfy { $0.facts.map(\.name) == $0.facts.map(\.name).sorted() })

        let host = HostFacts.of(records, kernel: "6.15.0", collectorVersion: "capreg-collector 0.3.0")
        #expect(!host.contains { $0.name.hasPrefix(PCIDevice.prefix) })
        #expect(host.first { $0.name == PCIDevice.hostCount }?.value == .int(3))
    }

    @Test func aProbeNobodyCouldAskIsUnknown() throws {
        for outcome in ["EACCES", "EBUSY", "skipped"] {
            let records = try Self.records([
                Self.device("0000:00:02.0", cdev: "vfio0", pasidWidth: nil),
                Report.Source(kind: .probe, unit: "vfio0", raw: SourceDecoder.probeRaw(["iommufd.hwpt_alloc.nest_parent": outcome])),
            ])
            #expect(HostDevices.of(records)[0][PCIDevice.nesting] == nil, "\(outcome)")
        }
    }

    @Test func noDevicesNoCount() throws {
        let records = try Self.records([Report.Source(kind: .iommufd, unit: "vfio0", raw: Self.hwInfo(maxPasidLog2: 0, capabilities: 0))])
        #expect(HostDevices.of(records).isEmpty)
        #expect(!HostFacts.of(records, kernel: "6.15.0", collectorVersion: "x").contains { $0.name == PCIDevice.hostCount })
    }
}
