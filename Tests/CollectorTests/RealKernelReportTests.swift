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
