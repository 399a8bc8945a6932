import Collector
import Decoders
import Foundation
import Report
import Testing
import TestSupport

/// sysfs trees captured from real kernels, read with --sysfs-root.
@Suite struct SysfsSourceTests {
    /// The values captures/README.md documents for each folder.
    static let documented: [(String, cap: String, ecap: String)] = [
        ("legacy-aw39", "d2008c22260286", "f00f4a"),
        ("scalable-aw48", "d2008c222f0686", "480080f00f4a"),
        ("bpo12k-q10-legacy-aw39", "d2008c22260286", "f00f4a"),
        ("iommufd-q10-scalable-flts", "1d2008c222f0686", "880000f00f4a"),
    ]

    @Test(arguments: documented)
    func capturedTreeIsReadExactlyAndDecodes(_ capture: (String, cap: String, ecap: String)) throws {
        let sources = SysfsSource.collect(root: Fixtures.capture(capture.0).appendingPathComponent("sysfs").path)
        #expect(sources.count == 1)
        let source = try #require(sources.first)
        #expect(source.kind == .sysfsIntel && source.unit == "dmar0" && source.status == .ok)
        let files = try JSONSerialization.jsonObject(with: Data(try #require(try source.rawBytes()))) as! [String: String]
        #expect(files["cap"] == capture.cap + "\n")
        #expect(files["ecap"] == capture.ecap + "\n")
        #expect(files["version"] == "1:0\n" && files["address"] == "fed90000\n")
        #expect(files.count == 4, "only the register files: domains_used changes at runtime")
        let decoded = Collector.decode(source, kernel: nil)
        #expect(decoded.decoded?["vtd.cap"] == "0x" + capture.cap)
        #expect(decoded.decoded?["vtd.ecap"] == "0x" + capture.ecap)
    }

    @Test func scalableCaptureDecodesItsDocumentedWidths() throws {
        let source = SysfsSource.collect(root: Fixtures.capture("scalable-aw48").appendingPathComponent("sysfs").path)[0]
        let decoded = try #require(Collector.decode(source, kernel: nil).decoded)
        #expect(decoded["addr_width"] == "48")
        #expect(decoded["vtd.scalable_mode"] == "true")
        #expect(decoded["vtd.ecap.nest"] == "false")
    }

    @Test func missingClassDirectoryIsUnavailableWithENOENT() throws {
        let dir = try TempDir()
        let sources = SysfsSource.collect(root: dir.url.path)
        #expect(sources.count == 1)
        #expect(sources[0].status == .unavailable && sources[0].reason == "ENOENT")
        #expect(sources[0].detail?.contains("class/iommu") == true)
    }

    @Test func unreadableFileIsUnavailableNamingIt() throws {
        let dir = try TempDir()
        let unit = dir.url.appendingPathComponent("class/iommu/dmar1/intel-iommu")
        try FileManager.default.createDirectory(at: unit, withIntermediateDirectories: true)
        for f in ["version", "address", "cap"] { try "1\n".write(to: unit.appendingPathComponent(f), atomically: true, encoding: .utf8) }
        try FileManager.default.createDirectory(at: unit.appendingPathComponent("ecap"), withIntermediateDirectories: true)
        let source = SysfsSource.collect(root: dir.url.path)[0]
        #expect(source.unit == "dmar1" && source.status == .unavailable && source.reason == "EISDIR")
        #expect(source.detail?.hasSuffix("intel-iommu/ecap: EISDIR") == true)
    }

    @Test func amdUnitAndUnitsWithoutRegistersAndNaturalOrder() throws {
        let dir = try TempDir()
        let amd = dir.url.appendingPathComponent("class/iommu/ivhd0/amd-iommu")
        try FileManager.default.createDirectory(at: amd, withIntermediateDirectories: true)
        try "40\n".write(to: amd.appendingPathComponent("cap"), atomically: true, encoding: .utf8)
        try "206d73ef22254ade\n".write(to: amd.appendingPathComponent("features"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("class/iommu/smmu3.0x0000000009050000"), withIntermediateDirectories: true)
        for n in [10, 2] {
            let u = dir.url.appendingPathComponent("class/iommu/dmar\(n)/intel-iommu")
            try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
            for (f, v) in [("version", "1:0"), ("address", "fed90000"), ("cap", "d2008c22260286"), ("ecap", "f00f4a")] {
                try (v + "\n").write(to: u.appendingPathComponent(f), atomically: true, encoding: .utf8)
            }
        }
        let sources = SysfsSource.collect(root: dir.url.path)
        #expect(sources.map(\.unit) == ["dmar2", "dmar10", "ivhd0"])
        let amdSource = Collector.decode(sources[2], kernel: KernelRelease("5.15.0"))
        #expect(amdSource.kind == .sysfsAMD && amdSource.status == .ok)
        #expect(amdSource.decoded?["iommu.vendor"] == "amd")
    }
}
