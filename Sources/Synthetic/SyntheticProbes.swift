import Decoders
import Report

/// What a synthetic host's kernel answers to the collector's probes, by the rules a real kernel follows
/// (fact sheet §1.2, §3.1, §3.5; the real 6.12 answers in ../shared/captures/iommufd-q10-scalable-flts):
/// the fleet's probes are made from hardware and kernel here so that its usable facts come out of the
/// registry's own derivation, never written in directly.
enum SyntheticProbes {
    /// The VFIO container probes of one group: CHECK_EXTENSION answers and SET_IOMMU(TYPE1_NESTING).
    static func vfio(kernel k: KernelRelease, vtdNest: Bool, vsva: Bool) -> [String: String] {
        // From 6.13 TYPE1_NESTING is reserved: CHECK answers 0 and SET(6) behaves as SET(3).
        let nestingType = !k.atLeast(6, 13)
        var out = ["vfio.open_container": "ok", "vfio.open_group": "ok"]
        for n in 1...12 {
            let answer: Bool
            switch n {
            case 1, 3: answer = true
            case 6: answer = nestingType
            case 9: answer = k.atLeast(5, 12)
            default: answer = false
            }
            out["vfio.check_extension.\(n)"] = answer ? "1" : "0"
        }
        // VT-d enables nesting only on units with ECAP.NEST; other drivers have no enable_nesting.
        out["vfio.set_iommu.6"] = !nestingType || vtdNest || vsva ? "ok" : "EINVAL"
        if out["vfio.set_iommu.6"] != "ok" { out["vfio.set_iommu.3"] = "ok" }
        return out
    }

    /// The device-less iommufd probes: /dev/iommu, the device cdevs and the command generation.
    static func iommufdKernel(kernel k: KernelRelease, hasIOMMUFD: Bool, devices: Int) -> [String: String] {
        guard hasIOMMUFD else { return ["iommufd.open": "ENOENT"] }
        var out = ["iommufd.open": "ok", "iommufd.devices": String(devices)]
        // Known commands by release (fact sheet §3.1): 0x8e by 6.11, 0x91 by 6.13, 0x94 by 6.17.
        let last = k.atLeast(6, 17) ? 0x94 : k.atLeast(6, 13) ? 0x91 : k.atLeast(6, 11) ? 0x8e : 0x8d
        for cmd in 0x80...0x97 { out["iommufd.cmd.0x" + String(cmd, radix: 16)] = cmd <= last ? "EINVAL" : "ENOTTY" }
        return out
    }

    /// One bound device's allocations on a VT-d unit, as the kernel's checks decide them (§3.5).
    static func iommufdDevice(kernel k: KernelRelease, cap: UInt64, ecap: UInt64) -> [String: String] {
        func bit(_ n: Int) -> Bool { (ecap >> UInt64(n)) & 1 == 1 }
        let smts = bit(43), nest = bit(26), slts = bit(46), slads = bit(45), pasid = bit(40)
        let nestParent = smts && nest && slts
        var out = ["iommufd.open_device": "ok", "iommufd.bind": "ok", "iommufd.ioas_alloc": "ok", "iommufd.hwpt_alloc.plain": "ok"]
        out["iommufd.hwpt_alloc.nest_parent"] = nestParent ? "ok" : "EOPNOTSUPP"
        out["iommufd.hwpt_alloc.dirty_tracking"] = smts && slads ? "ok" : "EOPNOTSUPP"
        out["iommufd.hwpt_alloc.pasid"] = k.atLeast(6, 15) && smts && pasid ? "ok" : "EOPNOTSUPP"
        let viommu = k.atLeast(6, 13)
        out["iommufd.viommu_alloc"] = viommu && nestParent ? "ok" : "skipped"
        out["iommufd.vdevice_alloc"] = viommu && nestParent ? "ok" : "skipped"
        out["iommufd.hw_info.input_type"] = "skipped"
        return out
    }

    static func source(_ unit: String, _ outcomes: [String: String]) -> Report.Source {
        Report.Source(kind: .probe, unit: unit, raw: raw(outcomes))
    }

    /// SourceDecoder.probeRaw's bytes, written by SyntheticBytes.sysfsRaw: JSONSerialization with sorted
    /// keys took about a third of `capreg synth --ingest`'s CPU. Its order is numeric (`check_extension.2`
    /// before `check_extension.10`); for the fleet's keys (lowercase ASCII, digits, `.`, `_`) a numeric
    /// compare gives it (SyntheticFleetTests compares every probe set the fleet makes).
    static func raw(_ outcomes: [String: String]) -> [UInt8] {
        let sorted = outcomes.sorted { $0.key.compare($1.key, options: .numeric) == .orderedAscending }
        return SyntheticBytes.sysfsRaw(sorted.map { ($0.key, $0.value) })
    }
}
