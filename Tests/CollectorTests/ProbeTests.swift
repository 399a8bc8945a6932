import Collector
import Decoders
import Foundation
import Report
import Testing

/// The kernel probes against replays: the real 6.12 capture (iommufd-q10-scalable-flts), a device a VM
/// holds, no permission, no iommufd, no device; and what the registry makes of each report.
@Suite struct ProbeTests {
    static let capture = "iommufd-q10-scalable-flts"
    static let kernel612 = "6.12.95-vmharness-iommufd"

    /// Every source of one run against `kernel`, sysfs read from the capture.
    static func collect(_ kernel: FakeKernel) -> Report {
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture(capture).appendingPathComponent("sysfs").path
        o.hostname = "replay"
        return try! Collector(options: o, io: kernel).collect(kernel: Report.Kernel(release: kernel612))
    }

    static var sysfs: String { Fixtures.capture(capture).appendingPathComponent("sysfs").path }

    static func probes(_ report: Report, _ unit: String) throws -> [String: String] {
        try VFIOSourceTests.outcomes(try #require(report.sources.first { $0.kind == .probe && $0.unit == unit }, "no probe source \(unit)"))
    }

    /// The registry's view: every source decoded, then the host's facts (hardware and usable).
    static func hostFacts(_ report: Report) throws -> [String: String] {
        var records: [CapabilityRecord] = []
        for source in report.sources { records += try SourceDecoder.records(source, kernel: KernelRelease(report.kernel.release)) }
        let facts = HostFacts.of(records, kernel: report.kernel.release, collectorVersion: report.collectorVersion)
        return Dictionary(facts.map { ($0.name, $0.value.description) }, uniquingKeysWith: { a, _ in a })
    }

    /// IOMMU_DESTROY calls on the iommufd (fd 5) after the 24 zero-size command probes (one of which is 0x80).
    static func destroys(_ k: FakeKernel) -> Int {
        k.calls.filter { $0.hasPrefix("ioctl 5 ") }.dropFirst(24).filter { $0.hasPrefix("ioctl 5 0x3b80 ") }.count
    }

    @Test func replayOf6_12GivesTheCapturedAnswers() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        let report = Self.collect(k)
        #expect(report.collectorVersion == "capreg-collector 0.3.0")
        // Device-less: /dev/iommu, two cdevs, the command generation exactly as the capture printed it.
        let base = try Self.probes(report, "iommufd")
        #expect(base["iommufd.open"] == "ok" && base["iommufd.devices"] == "2")
        for n in 0x80...0x97 {
            #expect(base["iommufd.cmd.0x" + String(n, radix: 16)] == (n <= 0x8e ? "EINVAL" : "ENOTTY"), "command 0x\(String(n, radix: 16))")
        }
        // Each zero-size probe sent an 8-byte argument whose size field is 0 (FakeKernel refuses it before any work).
        #expect(k.calls.filter { $0.hasPrefix("ioctl 5 0x3b8") || $0.hasPrefix("ioctl 5 0x3b9") }.prefix(24).allSatisfy { $0.hasSuffix("[8]") })
        // Per device, as console.txt's iommufd.hwpt_alloc lines say.
        for unit in ["vfio0", "vfio1"] {
            let p = try Self.probes(report, unit)
            #expect(p == [
                "iommufd.open_device": "ok", "iommufd.bind": "ok", "iommufd.ioas_alloc": "ok",
                "iommufd.hwpt_alloc.plain": "ok", "iommufd.hwpt_alloc.nest_parent": "EOPNOTSUPP",
                "iommufd.hwpt_alloc.dirty_tracking": "EOPNOTSUPP", "iommufd.hwpt_alloc.pasid": "EOPNOTSUPP",
                "iommufd.viommu_alloc": "skipped", "iommufd.vdevice_alloc": "skipped", "iommufd.hw_info.input_type": "skipped",
            ], "\(unit)")
        }
        // The legacy path of the same boot: set_iommu type 6 … errno 22, then type1v2.
        for group in ["1", "2"] {
            let v = try Self.probes(report, "vfio-group-\(group)")
            #expect(v["vfio.set_iommu.6"] == "EINVAL" && v["vfio.set_iommu.3"] == "ok" && v["vfio.check_extension.6"] == "1")
        }
        // Every object allocated was destroyed: per device an IOAS and the plain HWPT.
        #expect(k.allocated.count == 4 && k.live.isEmpty)
        #expect(Self.destroys(k) == k.allocated.count)
        #expect(!k.calls.contains { $0.contains(" 0x3b77 ") }, "nothing is ever attached")
        // Nothing else refused along the way.
        #expect(report.sources.filter { $0.status == .unavailable }.isEmpty, "\(report.sources.filter { $0.status == .unavailable })")
    }

    @Test func replayOf6_12DecodesToNoNestingNamingEOPNOTSUPP() throws {
        let facts = try Self.hostFacts(Self.collect(try FakeKernel.iommufd6_12(sysfs: Self.sysfs)))
        #expect(facts["nesting"] == "false")
        #expect(facts["evidence.nesting"]?.contains("EOPNOTSUPP") == true, "\(facts["evidence.nesting"] ?? "-")")
        #expect(facts["dirty_tracking"] == "false" && facts["probe.iommufd.commands"] == "0x80-0x8e")
    }

    @Test func allowedNestParentIsAskedForVIOMMUAndVDeviceAndEverythingIsFreedInOrder() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.hwptErrors = [:]
        k.iommufdKnown.formUnion([0x8f, 0x90, 0x91])
        let report = Self.collect(k)
        let p = try Self.probes(report, "vfio0")
        #expect(p["iommufd.hwpt_alloc.nest_parent"] == "ok" && p["iommufd.viommu_alloc"] == "ok" && p["iommufd.vdevice_alloc"] == "ok")
        // Per device: IOAS, plain, nest parent, vIOMMU, vDevice, dirty, PASID — all destroyed.
        #expect(k.allocated.count == 14 && k.live.isEmpty)
        #expect(Self.destroys(k) == 14)
        // Each freed as soon as asked; a vDevice before its vIOMMU before its nest parent (FakeKernel answers
        // EBUSY to destroying an object something still holds, as the kernel does, and live would not be empty).
        let sequence = k.calls.filter { $0.hasPrefix("ioctl 5 ") }.dropFirst(24)  // after the command probes
            .filter { ["0x3b80", "0x3b89", "0x3b90", "0x3b91"].contains(String($0.split(separator: " ")[2])) }
        #expect(Array(sequence.prefix(8)) == ["ioctl 5 0x3b89 [48]", "ioctl 5 0x3b80 [8]", "ioctl 5 0x3b89 [48]", "ioctl 5 0x3b90 [40]",
                                              "ioctl 5 0x3b91 [24]", "ioctl 5 0x3b80 [8]", "ioctl 5 0x3b80 [8]", "ioctl 5 0x3b80 [8]"])
        #expect(try Self.hostFacts(report)["nesting"] == "true")
    }

    @Test func nestParentAllowedButVIOMMUUnknownToTheKernelIsSkipped() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.hwptErrors = [:]
        let p = try Self.probes(Self.collect(k), "vfio0")
        #expect(p["iommufd.hwpt_alloc.nest_parent"] == "ok" && p["iommufd.viommu_alloc"] == "skipped" && p["iommufd.vdevice_alloc"] == "skipped")
        #expect(!k.calls.contains { $0.contains(" 0x3b90 [40]") }, "0x90 is ENOTTY on 6.12: not asked")
        #expect(k.live.isEmpty)
    }

    @Test func deviceInUseGetsNoOpenAndNoIoctlAndAnIdlePeerIsAskedInstead() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.openErrors["/dev/vfio/1"] = Errno(EBUSY)   // a VM holds edu's group
        let sources = IOMMUFDSource(io: k, sysfsRoot: Self.sysfs).collect(devices: ["vfio0"])
        #expect(sources.map { "\($0.kind) \($0.unit)" } == ["probe iommufd", "iommufd vfio0", "probe vfio0", "iommufd vfio1", "probe vfio1"])
        #expect(sources[1].status == .unavailable && sources[1].reason == "EBUSY")
        let busy = try VFIOSourceTests.outcomes(sources[2])
        #expect(busy["iommufd.bind"] == "EBUSY" && busy["iommufd.open_device"] == nil && busy["iommufd.hwpt_alloc.nest_parent"] == "skipped")
        #expect(sources[2].detail?.contains("in use: open /dev/vfio/1: EBUSY") == true)
        // Its cdev (fd 6) was never opened and got no ioctl; the stand-in did.
        #expect(!k.calls.contains("open /dev/vfio/devices/vfio0") && !k.calls.contains { $0.hasPrefix("ioctl 6 ") })
        #expect(sources[4].detail?.contains("probed in place of busy vfio0") == true)
        #expect(try VFIOSourceTests.outcomes(sources[4])["iommufd.hwpt_alloc.nest_parent"] == "EOPNOTSUPP")
        #expect(k.live.isEmpty)
    }

    @Test func busyGroupIsReplacedByAnIdleGroupOfTheSameUnit() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.openErrors["/dev/vfio/1"] = Errno(EBUSY)
        let sources = VFIOSource(io: k, sysfsRoot: Self.sysfs).collect(groups: ["1"])
        #expect(sources.map { "\($0.kind) \($0.unit)" } == ["vfio vfio-group-1", "probe vfio-group-1", "vfio vfio-group-2", "probe vfio-group-2"])
        #expect(try VFIOSourceTests.outcomes(sources[1])["vfio.open_group"] == "EBUSY")
        #expect(try VFIOSourceTests.outcomes(sources[3])["vfio.set_iommu.6"] == "EINVAL" && sources[2].status == .ok)
    }

    @Test func onlyBusyDevicesLeaveNestingUnknownSayingInUse() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.openErrors["/dev/vfio/1"] = Errno(EBUSY)
        k.openErrors["/dev/vfio/2"] = Errno(EBUSY)
        let report = Self.collect(k)
        let facts = try Self.hostFacts(report)
        #expect(facts["nesting"] == nil, "nobody could ask: unknown, never false")
        #expect(facts["evidence.nesting"]?.contains("in use") == true, "\(facts["evidence.nesting"] ?? "-")")
        #expect(!k.calls.contains { $0.hasPrefix("ioctl 6 ") || $0.hasPrefix("ioctl 8 ") || $0.hasPrefix("ioctl 4 ") || $0.hasPrefix("ioctl 7 ") })
    }

    @Test func notRootSaysPermissionInTheOutcomesAndTheHints() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        for path in ["/dev/iommu", "/dev/vfio/vfio", "/dev/vfio/1", "/dev/vfio/2"] { k.openErrors[path] = Errno(EACCES) }
        let report = Self.collect(k)
        #expect(try Self.probes(report, "iommufd")["iommufd.open"] == "EACCES")
        #expect(try Self.probes(report, "vfio-group-1")["vfio.open_container"] == "EACCES")
        let iommufd = try #require(report.sources.first { $0.kind == .iommufd && $0.unit == "vfio0" })
        #expect(iommufd.reason == "EACCES" && iommufd.detail?.contains("permission denied: run the collector as root") == true)
        #expect(!(iommufd.detail ?? "").contains("CONFIG_IOMMUFD"), "no guess about the kernel on a permission error")
        let facts = try Self.hostFacts(report)
        #expect(facts["nesting"] == nil && facts["evidence.nesting"]?.contains("permission denied") == true, "\(facts["evidence.nesting"] ?? "-")")
    }

    @Test func kernelWithoutIOMMUFDSaysSoAndNestingIsFalseFromTheRefusedVFIOType() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.files["/dev/iommu"] = nil
        let report = Self.collect(k)
        #expect(try Self.probes(report, "iommufd")["iommufd.open"] == "ENOENT")
        #expect(!report.sources.contains { $0.kind == .probe && $0.unit.hasPrefix("vfio") && !$0.unit.hasPrefix("vfio-group") })
        #expect(report.sources.first { $0.kind == .iommufd }?.detail?.contains("the kernel has no iommufd") == true)
        let facts = try Self.hostFacts(report)
        #expect(facts["nesting"] == "false" && facts["evidence.nesting"]?.contains("no iommufd") == true, "\(facts["evidence.nesting"] ?? "-")")
    }

    @Test(arguments: [("empty", "0", "no device is bound to vfio-pci"), ("absent", "ENOENT", "no vfio device cdevs")])
    func noDeviceBoundSaysSo(_ state: String, _ outcome: String, _ evidence: String) throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.directories["/dev/vfio/devices"] = state == "empty" ? [] : nil
        k.directories["/dev/vfio"] = ["vfio"]
        let report = Self.collect(k)
        #expect(try Self.probes(report, "iommufd")["iommufd.devices"] == outcome)
        let facts = try Self.hostFacts(report)
        #expect(facts["nesting"] == nil && facts["evidence.nesting"]?.contains(evidence) == true, "\(facts["evidence.nesting"] ?? "-")")
        #expect(k.live.isEmpty && k.allocated.isEmpty)
    }

    @Test func vanishedDeviceHintsNoDevice() throws {
        let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
        k.openErrors["/dev/vfio/devices/vfio1"] = Errno(ENODEV)
        let sources = IOMMUFDSource(io: k, sysfsRoot: Self.sysfs).collect(devices: ["vfio1"])
        #expect(sources[1].reason == "ENODEV" && sources[1].detail?.hasSuffix("ENODEV (no device: it was unbound or removed)") == true)
        #expect(try VFIOSourceTests.outcomes(sources[2])["iommufd.open_device"] == "ENODEV")
    }

    @Test func probesOffReadsSysfsOnly() throws {
        let k = FakeKernel()
        var o = Collector.Options()
        o.sysfsRoot = Self.sysfs
        o.vfioGroups = .named([])
        o.iommufdDevices = .named([])
        let report = try Collector(options: o, io: k).collect(kernel: Report.Kernel(release: "6.12.95"))
        #expect(report.sources.map(\.kind) == [.sysfsIntel] && k.calls.isEmpty)
    }

    /// Behind an SMMUv3 the Tegra241 CMDQV data is asked for with IOMMU_HW_INFO_FLAG_INPUT_TYPE and kept
    /// as its own source; a kernel before 6.17 refuses the flag, and that refusal is the probe's outcome.
    @Test func tegra241DataIsAskedForBehindAnSMMUv3() throws {
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func info(type: UInt32, dataLen: UInt32, flags: UInt32 = 0) -> [UInt8] {
            le(40) + le(flags) + le(1) + le(dataLen) + [UInt8](repeating: 0, count: 8) + le(type) + le(0) + [UInt8](repeating: 0, count: 8)
        }
        let idr0: UInt32 = 0b11 | 2 << 2 | 1 << 27
        let smmu = le(0) + le(0) + [idr0, 16 | 20 << 6, 0, 1 << 8, 0, 5 | 0x70].flatMap(le) + le(0) + le(0)
        for newKernel in [true, false] {
            let k = try FakeKernel.iommufd6_12(sysfs: Self.sysfs)
            k.hwInfoStruct = info(type: 2, dataLen: 40)
            k.hwInfoData = smmu
            if newKernel { k.inputTypeAnswers[3] = (info(type: 3, dataLen: 8, flags: 1), [0, 0, 0, 0, 1, 2, 5, 0]) }
            let report = Self.collect(k)
            #expect(try Self.probes(report, "vfio0")["iommufd.hw_info.input_type"] == (newKernel ? "ok" : "EOPNOTSUPP"))
            let tegra = report.sources.first { $0.unit == "vfio0-tegra241" }
            #expect((tegra != nil) == newKernel)
            if let tegra {
                #expect(tegra.kind == .iommufd && tegra.status == .ok)
                let facts = try SourceDecoder.records(tegra, kernel: KernelRelease(Self.kernel612)).flatMap(\.facts)
                #expect(facts.contains(Fact("iommufd.tegra241.version", int: 1)) && facts.contains(Fact("iommufd.tegra241.log2vsids", int: 5)))
                #expect(!facts.contains { $0.name == "iommufd.data_type" }, "an asked-for type does not rename the unit's IOMMU")
                let host = try Self.hostFacts(report)
                #expect(host["iommufd.data_type"] == "arm-smmuv3")
            }
        }
    }
}
