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
        let report = try Report.decode(json: data)
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
