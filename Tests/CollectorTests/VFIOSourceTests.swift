import Collector
import Decoders
import Foundation
import Report
import Testing

/// The VFIO sequence against a replay of the legacy-aw39 kernel's answers.
@Suite struct VFIOSourceTests {
    @Test func legacyKernelSequenceKeepsTheWholeBuffer() throws {
        let kernel = try FakeKernel.legacy6_1()
        let sources = VFIOSource(io: kernel).collect(groups: nil)
        #expect(sources.map(\.kind) == [.vfio, .probe], "the GET_INFO buffer and what each step answered")
        let s = sources[0]
        #expect(s.kind == .vfio && s.unit == "vfio-group-3" && s.status == .ok)
        #expect(try s.rawBytes() == kernel.infoBuffer)
        #expect(s.detail == "api 0; check_extension 1=1 2=0 3=1 4=0 5=0 6=1 7=0 8=0 9=1 10=0; group flags 0x1; set_iommu 6 EINVAL; set_iommu 3 ok; get_info argsz 24→116")
        #expect(s.decoded?["collector.set_iommu.6"] == "EINVAL")
        #expect(s.decoded?["collector.iommu_type"] == "3")
        // Nesting was tried first; GET_INFO was asked twice; both fds were closed.
        let setIOMMU = kernel.calls.filter { $0.hasPrefix("ioctl 3 0x3b66") }
        #expect(setIOMMU == ["ioctl 3 0x3b66 6", "ioctl 3 0x3b66 3"])
        #expect(kernel.calls.filter { $0.hasPrefix("ioctl 3 0x3b70") } == ["ioctl 3 0x3b70 [24]", "ioctl 3 0x3b70 [116]"])
        #expect(kernel.calls.suffix(2).sorted() == ["close 3", "close 4"])
        // The probe source: the same answers, as the registry reads them.
        let probe = try Self.outcomes(sources[1])
        #expect(sources[1].unit == "vfio-group-3")
        #expect(probe["vfio.open_container"] == "ok" && probe["vfio.open_group"] == "ok")
        #expect((1...12).map { probe["vfio.check_extension.\($0)"] } == ["1", "0", "1", "0", "0", "1", "0", "0", "1", "0", "0", "0"])
        #expect(probe["vfio.set_iommu.6"] == "EINVAL" && probe["vfio.set_iommu.3"] == "ok" && probe["vfio.set_iommu.1"] == nil,
                "type 1 was not asked: type1v2 took")
        #expect(kernel.calls.filter { $0.hasPrefix("ioctl 3 0x3b65") }.count == 12)
        let decoded = Collector.decode(s, kernel: KernelRelease("6.1.0-56-amd64"))
        #expect(decoded.status == .ok)
        #expect(decoded.decoded?["vfio.iova_top_bits"] == "39")
        #expect(decoded.decoded?["vfio.caps"] == "migration,dma_avail,iova_range")
    }

    @Test func busyGroupIsUnavailableWithEBUSYAndTheReportStillHasIt() throws {
        let kernel = try FakeKernel.legacy6_1()
        kernel.openErrors["/dev/vfio/3"] = Errno(EBUSY)
        let sources = VFIOSource(io: kernel).collect(groups: ["3"])
        let s = sources[0]
        #expect(s.status == .unavailable && s.reason == "EBUSY" && s.raw == nil)
        #expect(s.detail?.hasSuffix("open /dev/vfio/3: EBUSY (in use by another process (a VM holds it): not touched)") == true)
        let probe = try Self.outcomes(sources[1])
        #expect(probe["vfio.open_group"] == "EBUSY" && probe["vfio.set_iommu.6"] == "skipped")
        // Only the private container was asked anything; the group got no ioctl.
        #expect(!kernel.calls.contains { $0.hasPrefix("ioctl 4 ") })
    }

    @Test func missingContainerIsENOENT() {
        let s = VFIOSource(io: FakeKernel()).collect(groups: ["12"])[0]
        #expect(s.unit == "vfio-group-12" && s.reason == "ENOENT")
    }

    @Test func everyTypeRefusedIsUnavailableWithTheLastErrno() throws {
        let kernel = try FakeKernel.legacy6_1()
        kernel.setIOMMUErrors = [6: Errno(ENODEV), 3: Errno(EPERM), 1: Errno(EPERM)]
        let s = VFIOSource(io: kernel).collect(groups: ["3"])[0]
        #expect(s.status == .unavailable && s.reason == "EPERM")
        #expect(s.decoded?["collector.set_iommu.6"] == "ENODEV")
    }

    @Test func noGroupsAtAllIsOneUnavailableSource() {
        let kernel = FakeKernel()
        kernel.directories = ["/dev/vfio": ["vfio"]]
        let s = VFIOSource(io: kernel).collect(groups: nil)
        #expect(s.count == 2 && s[0].reason == "ENOENT" && s[0].unit == "vfio")
        #expect(s[1].kind == .probe && s[1].unit == "vfio" && (try? Self.outcomes(s[1])["vfio.open_container"]) == "ENOENT")
    }

    /// A probe source's raw: probe key → outcome.
    static func outcomes(_ source: Report.Source) throws -> [String: String] {
        #expect(source.kind == .probe && source.status == .ok)
        return try JSONSerialization.jsonObject(with: Data(try #require(try source.rawBytes()))) as? [String: String] ?? [:]
    }

    @Test func errnoNamesAreDistinctAndKnown() {
        #expect(Errno(EINVAL).name == "EINVAL" && Errno(ENOTTY).name == "ENOTTY" && Errno(EOPNOTSUPP).name == "EOPNOTSUPP")
        #expect(Errno(4095).name == "E4095")
    }
}

/// IOMMU_GET_HW_INFO against the real answer in iommufd-q10-scalable-flts.
@Suite struct IOMMUFDSourceTests {
    static func kernel() throws -> FakeKernel {
        let k = FakeKernel()
        k.files = ["/dev/iommu": 5, "/dev/vfio/devices/vfio0": 6]
        k.directories = ["/dev/vfio/devices": ["vfio0"]]
        k.hwInfoStruct = Fixtures.hex(try Fixtures.consoleValue("iommufd-q10-scalable-flts", "iommufd.hw_info_hex"))
        k.hwInfoData = Fixtures.hex(try Fixtures.consoleValue("iommufd-q10-scalable-flts", "iommufd.hw_info_data_hex"))
        return k
    }

    @Test func realAnswerBecomesStructThenData() throws {
        let k = try Self.kernel()
        let all = IOMMUFDSource(io: k).collect(devices: nil)
        #expect(all.map { "\($0.kind) \($0.unit)" } == ["probe iommufd", "iommufd vfio0", "probe vfio0"])
        let s = all.filter { $0.kind == .iommufd }
        #expect(s.count == 1 && s[0].unit == "vfio0" && s[0].status == .ok)
        let raw = try #require(try s[0].rawBytes())
        #expect(raw == k.hwInfoStruct + k.hwInfoData, "data_uptr cleared, data_len bytes of data appended")
        let decoded = Collector.decode(s[0], kernel: nil)
        #expect(decoded.status == .ok)
        #expect(decoded.decoded?["vtd.cap"] == "0x1d2008c222f0686")
        #expect(k.calls.contains("ioctl 6 0x3b76 [16]") && k.calls.contains("ioctl 5 0x3b8a [296]"))
    }

    @Test func kernelWithoutIOMMUFDIsENOENT() throws {
        let k = try Self.kernel()
        k.files["/dev/iommu"] = nil
        let s = IOMMUFDSource(io: k).collect(devices: ["vfio0"])
        #expect(s.map { "\($0.kind) \($0.unit)" } == ["probe iommufd", "iommufd vfio0"], "no device is probed without an iommufd")
        #expect(s[1].reason == "ENOENT" && s[1].detail == "open /dev/iommu: ENOENT (the kernel has no iommufd: CONFIG_IOMMUFD is not set)")
        #expect(try VFIOSourceTests.outcomes(s[0])["iommufd.open"] == "ENOENT")
    }

    @Test func noCdevDirectoryIsOneUnavailableSource() throws {
        let s = IOMMUFDSource(io: FakeKernel()).collect(devices: nil)
        #expect(s.count == 2 && s[1].kind == .iommufd && s[1].unit == "iommufd" && s[1].reason == "ENOENT")
        #expect(try VFIOSourceTests.outcomes(s[0]) == ["iommufd.open": "ENOENT", "iommufd.devices": "ENOENT"])
    }
}
