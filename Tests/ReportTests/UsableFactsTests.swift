import Decoders
import Foundation
import Report
import Testing

/// The usable half comes from the kernel's answers only: registers alone never make a usable fact true.
@Suite struct UsableFactsTests {
    /// A nesting-capable VT-d unit: scalable mode, NEST, PASID (20 bits), FLTS and SLTS — hw.pasid_bind holds.
    static let nestingCap: UInt64 = 0xd2_008c_222f_0686 | 1 << 56
    static let nestingEcap: UInt64 = 0x4800_80f0_0f4a | 1 << 26 | 1 << 40 | 19 << 35 | 1 << 47

    static func sysfs(cap: UInt64 = nestingCap, ecap: UInt64 = nestingEcap) -> Report.Source {
        Report.Source(kind: .sysfsIntel, unit: "dmar0",
                      raw: SourceDecoder.sysfsRaw(["cap": String(cap, radix: 16) + "\n", "ecap": String(ecap, radix: 16) + "\n"]))
    }

    static func probe(_ unit: String, _ outcomes: [String: String]) -> Report.Source {
        Report.Source(kind: .probe, unit: unit, raw: SourceDecoder.probeRaw(outcomes))
    }

    static func facts(_ sources: [Report.Source], kernel: String, collector: String = "capreg-collector 0.2.0") throws -> [String: FactValue] {
        let release = KernelRelease(kernel)
        let records = try sources.flatMap { try SourceDecoder.records($0, kernel: release) }
        let all = HostFacts.of(records, kernel: kernel, collectorVersion: collector)
        #expect(all.map(\.name) == all.map(\.name).sorted(), "sorted by name")
        for fact in all { #expect(Vocabulary.entry(fact.name)?.type == fact.value.type, "\(fact.name) is in the vocabulary with its type") }
        return Dictionary(all.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static let noIOMMUFD = ["iommufd.open": "ENOENT"]
    static func vfioGroup(setNesting: String, checkNesting: String = "1") -> [String: String] {
        ["vfio.open_container": "ok", "vfio.open_group": "ok", "vfio.check_extension.1": "1", "vfio.check_extension.3": "1",
         "vfio.check_extension.6": checkNesting, "vfio.set_iommu.6": setNesting, "vfio.set_iommu.3": setNesting == "ok" ? "skipped" : "ok"]
    }
    static func device(nestParent: String, pasid: String = "EOPNOTSUPP", dirty: String = "EOPNOTSUPP") -> [String: String] {
        ["iommufd.open_device": "ok", "iommufd.bind": "ok", "iommufd.ioas_alloc": "ok", "iommufd.hwpt_alloc.plain": "ok",
         "iommufd.hwpt_alloc.nest_parent": nestParent, "iommufd.hwpt_alloc.pasid": pasid, "iommufd.hwpt_alloc.dirty_tracking": dirty]
    }

    /// The issue's case: a 5.15 host whose registers say NEST, PASID and FLTS. No released kernel of that
    /// age gives a VM a guest PASID table: no iommufd, and TYPE1_NESTING without the unmerged bind uAPI.
    @Test func hardwareCanKernelCannot() throws {
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", Self.noIOMMUFD), Self.probe("vfio-group-7", Self.vfioGroup(setNesting: "EINVAL"))],
                               kernel: "5.15.0-91-generic")
        #expect(f["hw.pasid_bind"] == .bool(true) && f["hw.nesting"] == .bool(true) && f["hw.first_level.format"] == .text("intel-vtd"))
        #expect(f["nesting"] == .bool(false) && f["pasid_bind"] == .bool(false))
        #expect(f["first_level.format"] == .text("none") && f["pasid_bits"] == .int(0) && f["dirty_tracking"] == .bool(false))
        let why = f["evidence.nesting"]?.description ?? ""
        #expect(why.contains("kernel 5.15.0-91-generic has no nesting uAPI") && why.contains("/dev/iommu: ENOENT") && why.contains("EINVAL"), "\(why)")
        // The same kernel accepting TYPE1_NESTING but reporting no nesting capability is still no uAPI.
        let accepted = try Self.facts([Self.sysfs(), Self.probe("iommufd", Self.noIOMMUFD), Self.probe("vfio-group-7", Self.vfioGroup(setNesting: "ok"))],
                                      kernel: "5.15.0-91-generic")
        #expect(accepted["nesting"] == .bool(false))
        #expect(accepted["evidence.nesting"]?.description.contains("reports no nesting capability") == true)
    }

    /// With nothing to probe, the same host's usable facts are unknown, and the evidence says why.
    @Test func nothingAskedIsUnknown() throws {
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", Self.noIOMMUFD)], kernel: "5.15.0-91-generic")
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["nesting"] == nil && f["pasid_bind"] == nil && f["first_level.format"] == nil && f["pasid_bits"] == nil)
        #expect(f["evidence.nesting"]?.description.contains("no VFIO group was probed") == true, "\(f["evidence.nesting"]!)")

        let old = try Self.facts([Self.sysfs()], kernel: "6.1.0-18-amd64", collector: "capreg-collector 0.1.0")
        for name in CrossVendor.usableNames {
            #expect(old[name] == nil, "\(name)")
            #expect(old[CrossVendor.evidence(name)]?.description.contains("not probed") == true)
        }
        #expect(old["evidence.nesting"]?.description.contains("capreg-collector 0.1.0") == true)
    }

    /// Why nobody could ask is told apart: permission, no device bound, a device in use.
    @Test(arguments: [
        (["iommufd.open": "EACCES"], "permission denied on /dev/iommu (EACCES): the collector was not root"),
        (["iommufd.open": "ok", "iommufd.devices": "0"], "no device is bound to vfio-pci"),
        (["iommufd.open": "ok", "iommufd.devices": "ENOENT"], "no vfio device cdevs"),
    ])
    func cannotAskSaysWhy(outcomes: [String: String], reason: String) throws {
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", outcomes)], kernel: "6.12.9-amd64")
        #expect(f["nesting"] == nil)
        #expect(f["evidence.nesting"]?.description.contains(reason) == true, "\(f["evidence.nesting"]!)")
    }

    @Test func deviceInUseIsNotTouchedAndStaysUnknown() throws {
        let busy = ["iommufd.open_device": "ok", "iommufd.bind": "EBUSY", "iommufd.ioas_alloc": "skipped", "iommufd.hwpt_alloc.plain": "skipped",
                    "iommufd.hwpt_alloc.nest_parent": "skipped", "iommufd.hwpt_alloc.pasid": "skipped", "iommufd.hwpt_alloc.dirty_tracking": "skipped"]
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", ["iommufd.open": "ok", "iommufd.devices": "1"]), Self.probe("vfio0", busy)],
                               kernel: "7.0.1-1-amd64")
        #expect(f["nesting"] == nil)
        #expect(f["evidence.nesting"]?.description.contains("in use") == true, "\(f["evidence.nesting"]!)")
    }

    /// The kernel allowed a nest parent and a PASID-capable HWPT: the seed's question holds.
    @Test func kernelAllows() throws {
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", ["iommufd.open": "ok", "iommufd.devices": "1"]),
                                Self.probe("vfio0", Self.device(nestParent: "ok", pasid: "ok"))], kernel: "7.0.1-1-amd64")
        #expect(f["nesting"] == .bool(true) && f["pasid_bind"] == .bool(true))
        #expect(f["first_level.format"] == .text("intel-vtd") && f["pasid_bits"] == .int(20))
        #expect(f["dirty_tracking"] == .bool(false), "no SLADS: the kernel refused the dirty-tracking HWPT")
        #expect(f["evidence.nesting"]?.description.contains("allowed IOMMU_HWPT_ALLOC nest_parent on vfio0") == true)
        // Without the PASID flag (a 6.12 kernel refuses it), nesting stays but PASID binding does not.
        let older = try Self.facts([Self.sysfs(), Self.probe("iommufd", ["iommufd.open": "ok", "iommufd.devices": "1"]),
                                    Self.probe("vfio0", Self.device(nestParent: "ok"))], kernel: "6.12.9-amd64")
        #expect(older["nesting"] == .bool(true) && older["pasid_bind"] == .bool(false) && older["pasid_bits"] == .int(0))
    }

    /// A VM's device may be any probed device: one refusal makes the host's answer false.
    @Test func everyProbedDeviceMustAllow() throws {
        let f = try Self.facts([Self.sysfs(), Self.probe("iommufd", ["iommufd.open": "ok", "iommufd.devices": "2"]),
                                Self.probe("vfio0", Self.device(nestParent: "ok")), Self.probe("vfio1", Self.device(nestParent: "EOPNOTSUPP"))],
                               kernel: "6.12.9-amd64")
        #expect(f["nesting"] == .bool(false))
        #expect(f["evidence.nesting"]?.description == "kernel refused IOMMU_HWPT_ALLOC nest_parent on vfio1: EOPNOTSUPP")
    }

    /// The real 6.12 kernel under QEMU's VT-d (../shared/captures/iommufd-q10-scalable-flts/console.txt):
    /// its probe answers, as the guest printed them, give nesting false, with the errno the kernel returned.
    @Test func realKernel612Answers() throws {
        let console = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/captures/iommufd-q10-scalable-flts/console.txt").standardized, encoding: .utf8)
        var device: [String: String] = ["iommufd.open_device": "ok", "iommufd.bind": "ok", "iommufd.ioas_alloc": "ok"]
        var kernel: [String: String] = ["iommufd.open": "ok", "iommufd.devices": "2"]
        let errnoNames = ["0": "ok", "22": "EINVAL", "25": "ENOTTY", "95": "EOPNOTSUPP"]
        for line in console.split(separator: "\n").prefix { !$0.hasPrefix("=== vfioprobe 0000:00:04.0") } {
            let w = line.split(separator: " ").map(String.init)
            if w.count >= 8, w[0] == "iommufd.hwpt_alloc" { device["iommufd.hwpt_alloc." + w[1]] = errnoNames[w[7]] }
            if w.count >= 6, w[0] == "iommufd.cmd" { kernel["iommufd.cmd." + w[1]] = errnoNames[w[5]] }
        }
        #expect(device["iommufd.hwpt_alloc.nest_parent"] == "EOPNOTSUPP" && kernel["iommufd.cmd.0x8e"] == "EINVAL")
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/captures/iommufd-q10-scalable-flts/sysfs/class/iommu/dmar0/intel-iommu").standardized
        let cap = try String(contentsOf: capture.appendingPathComponent("cap"), encoding: .utf8)
        let ecap = try String(contentsOf: capture.appendingPathComponent("ecap"), encoding: .utf8)
        let sysfs = Report.Source(kind: .sysfsIntel, unit: "dmar0", raw: SourceDecoder.sysfsRaw(["cap": cap, "ecap": ecap]))
        let f = try Self.facts([sysfs, Self.probe("iommufd", kernel), Self.probe("vfio0", device)], kernel: "6.12.95-vmharness-iommufd")
        #expect(f["probe.iommufd.commands"] == .text("0x80-0x8e"))
        #expect(f["probe.iommufd.hwpt_alloc.nest_parent"] == .text("EOPNOTSUPP"))
        #expect(f["hw.nesting"] == .bool(false), "QEMU's VT-d never sets ECAP.NEST")
        #expect(f["nesting"] == .bool(false) && f["pasid_bind"] == .bool(false) && f["dirty_tracking"] == .bool(false))
        #expect(f["evidence.nesting"]?.description.contains("EOPNOTSUPP") == true)
    }

    /// Probe maps are bounded and checked; a refusal names what is wrong.
    @Test func badProbeMapsAreRefused() throws {
        func refusal(_ json: String) -> String? {
            let source = Report.Source(kind: .probe, unit: "vfio0", raw: Array(json.utf8))
            do { _ = try SourceDecoder.records(source, kernel: nil); return nil } catch { return "\(error)" }
        }
        #expect(refusal(#"{"iommufd.bind":"ok"}"#) == nil)
        #expect(refusal(#"["ok"]"#)?.contains("a JSON object of probe name to outcome text") == true)
        #expect(refusal(#"{"iommufd.bind":"maybe"}"#)?.contains("outcome of iommufd.bind") == true)
        #expect(refusal(#"{"iommufd.bind":1}"#)?.contains("outcome of iommufd.bind") == true)
        #expect(refusal(#"{"Bad Key":"ok"}"#)?.contains("probe names") == true)
        #expect(refusal(#"{"iommufd.bind":"E\u0000"}"#) != nil)
        let many = "{" + (0..<129).map { "\"k\($0)\":\"ok\"" }.joined(separator: ",") + "}"
        #expect(refusal(many)?.contains("at most 128 probes") == true)
        // A key a newer collector sends is kept raw and noted, not guessed at.
        let records = try SourceDecoder.records(Report.Source(kind: .probe, unit: "vfio0", raw: Array(#"{"iommufd.future_thing":"ok"}"#.utf8)), kernel: nil)
        #expect(records.first?.facts.isEmpty == true && records.first?.notes.first?.contains("iommufd.future_thing") == true)
    }
}
