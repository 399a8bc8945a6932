import Decoders
import Foundation
import Report
import Testing

/// Reports `capreg collect` printed inside a real 6.1 kernel (collector/realkernel-test.sh, saved from
/// serial.log): they decode cleanly through the registry's SourceDecoder and carry the same bytes as
/// the shared captures of the same configurations.
@Suite struct RealKernelReportTests {
    @Test(arguments: [("realkernel-legacy-6.1-report.json", "legacy-aw39"), ("realkernel-scalable-aw48-6.1-report.json", "scalable-aw48")])
    func savedReportDecodesAndMatchesTheCapture(_ fixture: String, _ capture: String) throws {
        let data = try Data(contentsOf: Fixtures.repo.appendingPathComponent("Tests/CollectorTests/Fixtures/\(fixture)"))
        let report = try Report.decode(json: data, clock: nil)
        let kernel = KernelRelease(report.kernel.release)
        #expect(report.kernel.release == "6.1.0-56-amd64")
        var records: [CapabilityRecord] = []
        for source in report.sources { records += try SourceDecoder.records(source, kernel: kernel) }
        #expect(Set(records.map(\.capability)) == ["vtd-regs", "vfio-info", "vfio-cap-1", "vfio-cap-2", "vfio-cap-3"])
        let vfio = try #require(report.sources.first { $0.kind == .vfio })
        let captured = Fixtures.hex(try Fixtures.text(Fixtures.capture(capture).appendingPathComponent("vfio-info.hex")))
        #expect(try vfio.rawBytes() == captured)
        #expect(vfio.detail?.contains("set_iommu 6 EINVAL; set_iommu 3 ok") == true)
        let iommufd = try #require(report.sources.first { $0.kind == .iommufd })
        #expect(iommufd.status == .unavailable && iommufd.reason == "ENOENT")
    }
}

/// Reports a plain `capreg collect` (0.2.0, probing) printed inside vmharness guests (collector/vmharness-test.sh,
/// saved from its report.json): what the registry makes of real kernels' answers.
@Suite struct VMHarnessReportTests {
    static func load(_ name: String) throws -> (Report, [String: String]) {
        let data = try Data(contentsOf: Fixtures.repo.appendingPathComponent("Tests/CollectorTests/Fixtures/\(name)"))
        let report = try Report.decode(json: data, clock: nil)
        return (report, try ProbeTests.hostFacts(report))
    }

    @Test func iommufdKernelRefusedTheNestParentSoNestingIsFalse() throws {
        let (report, facts) = try Self.load("vmharness-iommufd-6.12-report.json")
        #expect(report.kernel.release == "6.12.95-vmharness-iommufd" && report.collectorVersion == "capreg-collector 0.2.0")
        #expect(facts["nesting"] == "false" && facts["hw.nesting"] == "false")
        #expect(facts["evidence.nesting"] == "kernel refused IOMMU_HWPT_ALLOC nest_parent on vfio0: EOPNOTSUPP")
        #expect(facts["dirty_tracking"] == "false" && facts["probe.iommufd.commands"] == "0x80-0x8e")
        // The same unit as the shared capture of this configuration: hw_info as vfioprobe printed it there.
        let hw = try #require(try report.sources.first { $0.kind == .iommufd && $0.unit == "vfio0" }?.rawBytes())
        let captured = Fixtures.hex(try Fixtures.consoleValue("iommufd-q10-scalable-flts", "iommufd.hw_info_hex"))
            + Fixtures.hex(try Fixtures.consoleValue("iommufd-q10-scalable-flts", "iommufd.hw_info_data_hex"))
        #expect(hw == captured)
    }

    @Test func kernelWithoutIOMMUFDHasNoNestingUAPI() throws {
        let (report, facts) = try Self.load("vmharness-legacy-6.1-report.json")
        #expect(report.kernel.release.hasPrefix("6.1.0-"))
        #expect(facts["nesting"] == "false")
        #expect(facts["evidence.nesting"]?.contains("no iommufd (/dev/iommu: ENOENT") == true)
        #expect(facts["evidence.nesting"]?.contains("refused VFIO_SET_IOMMU(TYPE1_NESTING) on vfio-group-1: EINVAL") == true)
    }
}

/// A 0.3.0 collector's report from the vmharness iommufd guest (6.12.95, QEMU 10 q35 with VT-d; saved from
/// collector/vmharness-test.sh's report.json): every PCI device behind the IOMMU, QEMU's edu (conventional
/// PCI) and e1000e (PCIe) bound to vfio-pci with their cdevs, and the kernel's answers joined to each.
@Suite struct VMHarnessDevicesTests {
    @Test func realDevicesDecodeWithTheKernelsAnswers() throws {
        let data = try Data(contentsOf: Fixtures.repo.appendingPathComponent("Tests/CollectorTests/Fixtures/vmharness-iommufd-6.12-devices-report.json"))
        let report = try Report.decode(json: data, clock: nil)
        #expect(report.collectorVersion == "capreg-collector 0.3.0")
        let records = try SourceDecoder.records(of: report, kernel: KernelRelease(report.kernel.release))
        let devices = HostDevices.of(records)
        #expect(devices.map(\.bdf) == ["0000:00:00.0", "0000:00:03.0", "0000:00:04.0", "0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3"])
        let edu = try #require(devices.first { $0.bdf == "0000:00:03.0" })
        let e1000e = try #require(devices.first { $0.bdf == "0000:00:04.0" })
        #expect(edu[PCIDevice.vendorID] == .text("0x1234") && edu[PCIDevice.vfioCdev] == .text("vfio0") && edu[PCIDevice.driver] == .text("vfio-pci"))
        #expect(e1000e[PCIDevice.deviceID] == .text("0x10d3") && e1000e[PCIDevice.vfioCdev] == .text("vfio1"))
        // QEMU's VT-d without ECAP.NEST: the kernel refused each device a nest parent; neither has PASID.
        for d in [edu, e1000e] {
            #expect(d[PCIDevice.nesting] == .bool(false) && d[PCIDevice.maxPasidLog2] == .int(0) && d[PCIDevice.pasid] == .bool(false), "\(d.bdf)")
        }
        // The host bridge has no cdev: nothing of the kernel's.
        let bridge = try #require(devices.first)
        #expect(bridge[PCIDevice.classCode] == .text("0x060000") && bridge[PCIDevice.nesting] == nil && bridge[PCIDevice.driver] == .text("none"))
        let host = HostFacts.of(records, kernel: report.kernel.release, collectorVersion: report.collectorVersion)
        #expect(host.first { $0.name == PCIDevice.hostCount }?.value == .int(6))
    }
}
