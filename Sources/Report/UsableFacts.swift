import Decoders

/// The usable half of the cross-vendor facts (Decoders/CrossVendor.swift): what a VM can get on this
/// host, with this kernel, now. Decided only from what the kernel answered — the collector's probes and
/// capabilities the kernel reports only after allowing nesting — never from a version number or from the
/// registers alone. Each usable fact comes with `evidence.NAME`, the probe that decided it or what kept
/// anyone from asking, so that an explanation can say which half failed.
///
/// Two paths give a VM nested translation:
/// - iommufd: `IOMMU_HWPT_ALLOC` with `NEST_PARENT` on a device bound through its cdev (6.7+). The probe's
///   outcome decides; every probed device must allow it (a VM's device may be any of them).
/// - the patched VFIO nesting uAPI of the unmerged 2020–2021 series: the kernel adds the NESTING
///   capability to the GET_INFO chain only after `VFIO_SET_IOMMU(TYPE1_NESTING)` succeeded, so its
///   presence is the kernel's own statement. Upstream kernels accept TYPE1_NESTING on some IOMMUs but give
///   no way to bind a guest table, so a successful SET_IOMMU without that capability is not nesting.
public enum UsableFacts {
    /// The collector release that first sends kernel probes; older reports are "not probed".
    public static let firstProbingCollector = "capreg-collector 0.2.0"

    /// What one path tells about nesting.
    enum Path: Equatable {
        case allowed(String)
        /// The kernel refused: a definite no.
        case refused(String)
        /// The kernel has no such uAPI at all (no /dev/iommu): a no for this path only.
        case absent(String)
        /// Nobody could ask: permission, no device bound, device in use, probe not run.
        case unknown(String)

        var why: String {
            switch self {
            case .allowed(let s), .refused(let s), .absent(let s), .unknown(let s): return s
            }
        }
    }

    /// `facts` are the host's combined hardware facts (HostFacts.combine); the result is the usable
    /// facts and their evidence, to be added beside them.
    public static func derive(records: [CapabilityRecord], facts: [Fact], kernel: String, collectorVersion: String) -> [Fact] {
        var hardware: [String: FactValue] = [:]
        for fact in facts { hardware[fact.name] = fact.value }
        let probes = records.filter { $0.capability == SourceDecoder.kernelProbes }.map { record in
            (unit: record.unit, outcomes: Dictionary(record.facts.map { ($0.name, $0.value.description) }, uniquingKeysWith: { a, _ in a }))
        }
        let vfioNesting = records.first { $0.capability.hasPrefix("vfio-cap-") && $0.facts.contains { $0.name == "nesting.format" && $0.value != .text(CrossVendor.Format.none) } }
        let notProbed = probes.isEmpty
            ? "not probed: the report has no kernel probes (collector \(collectorVersion.isEmpty ? "unknown" : collectorVersion); probes since \(firstProbingCollector))"
            : nil

        let iommufd = iommufdPath(probes, notProbed: notProbed)
        let vfio = vfioPath(probes, nestingCapability: vfioNesting, kernel: kernel, notProbed: notProbed)

        var out: [Fact] = []
        func add(_ name: String, _ value: FactValue?, _ evidence: String) {
            if let value { out.append(Fact(name, value)) }
            out.append(Fact(CrossVendor.evidence(name), text: evidence))
        }

        // nesting
        let nesting: Bool?
        let nestingWhy: String
        switch (iommufd, vfio) {
        case (.allowed(let why), _), (_, .allowed(let why)): nesting = true; nestingWhy = why
        case (.refused(let why), _): nesting = false; nestingWhy = why
        case (.absent(let a), .refused(let b)), (.absent(let a), .absent(let b)):
            nesting = false; nestingWhy = "kernel \(kernel) has no nesting uAPI: " + a + "; " + b
        default: nesting = nil; nestingWhy = iommufd.why == vfio.why ? iommufd.why : iommufd.why + "; " + vfio.why
        }
        add(CrossVendor.nesting, nesting.map(FactValue.bool), nestingWhy)

        // first_level.format: the format a guest's first stage uses, where nesting is usable.
        switch nesting {
        case true?:
            let format = vfioNesting.flatMap { r in r.facts.first { $0.name == "nesting.format" }?.value }
                ?? hardware[CrossVendor.hw(CrossVendor.firstLevelFormat)]
            add(CrossVendor.firstLevelFormat, format, format == nil ? "nesting is usable but no first-level format was reported" : nestingWhy)
        case false?: add(CrossVendor.firstLevelFormat, .text(CrossVendor.Format.none), nestingWhy)
        case nil: add(CrossVendor.firstLevelFormat, nil, nestingWhy)
        }

        // pasid_bind and pasid_bits
        if case .allowed = vfio, let capability = vfioNesting {
            let bind = capability.facts.first { $0.name == "nesting.features.bind_pgtbl" }?.value
            let bits = capability.facts.first { $0.name == "nesting.pasid_bits" }?.value
            add(CrossVendor.pasidBind, bind, "the VFIO nesting capability reports BIND_PGTBL = \(bind?.description ?? "nothing")")
            add(CrossVendor.pasidBits, bits ?? .int(0), "PASID width of the VFIO nesting capability")
        } else {
            let pasid = outcome(probes, "probe.iommufd.hwpt_alloc.pasid", notProbed: notProbed)
            switch (nesting, pasid) {
            case (false?, _):
                add(CrossVendor.pasidBind, .bool(false), "no usable nesting: " + nestingWhy)
                add(CrossVendor.pasidBits, .int(0), "no usable nesting: " + nestingWhy)
            case (_, .allowed(let why)):
                let bits = hardware[CrossVendor.hw(CrossVendor.pasidBits)]
                if nesting == true { add(CrossVendor.pasidBind, .bool(true), nestingWhy + "; " + why) } else { add(CrossVendor.pasidBind, nil, nestingWhy) }
                add(CrossVendor.pasidBits, bits, bits == nil ? why + ", but no PASID width was reported" : why)
            case (_, .refused(let why)), (_, .absent(let why)):
                add(CrossVendor.pasidBind, .bool(false), why)
                add(CrossVendor.pasidBits, .int(0), why)
            case (_, .unknown(let why)):
                add(CrossVendor.pasidBind, nil, why)
                add(CrossVendor.pasidBits, nil, why)
            }
        }

        // dirty_tracking
        // IOMMU dirty tracking for a passed-through device exists only through iommufd.
        let dirty: Path
        if case .absent(let why) = iommufd { dirty = .absent(why) } else { dirty = outcome(probes, "probe.iommufd.hwpt_alloc.dirty_tracking", notProbed: notProbed) }
        switch dirty {
        case .allowed(let why): add(CrossVendor.dirtyTracking, .bool(true), why)
        case .refused(let why), .absent(let why): add(CrossVendor.dirtyTracking, .bool(false), why)
        case .unknown(let why): add(CrossVendor.dirtyTracking, nil, why)
        }
        return out
    }

    /// iommufd: the nest-parent allocation on every probed device, or why it could not be asked.
    static func iommufdPath(_ probes: [(unit: String, outcomes: [String: String])], notProbed: String?) -> Path {
        if let notProbed { return .unknown(notProbed) }
        // ENOENT on /dev/iommu: the node is created at boot for a built-in or modular iommufd alike.
        if probes.contains(where: { $0.outcomes["probe.iommufd.open"] == "ENOENT" }) {
            return .absent("no iommufd (/dev/iommu: ENOENT, kernel without CONFIG_IOMMUFD)")
        }
        return outcome(probes, "probe.iommufd.hwpt_alloc.nest_parent", notProbed: nil)
    }

    /// The VFIO nesting uAPI: the NESTING capability in the chain, or SET_IOMMU(TYPE1_NESTING) without one.
    static func vfioPath(_ probes: [(unit: String, outcomes: [String: String])], nestingCapability: CapabilityRecord?, kernel: String,
                         notProbed: String?) -> Path {
        if let capability = nestingCapability {
            let revision = capability.facts.first { $0.name == "nesting.revision" }?.value.description ?? "?"
            return .allowed("kernel \(kernel) reports the VFIO nesting capability (series \(revision)) on \(capability.unit): its nesting uAPI is present")
        }
        if let notProbed { return .unknown(notProbed) }
        let set = probes.compactMap { p in p.outcomes["probe.vfio.set_iommu.6"].map { (p.unit, $0) } }.filter { $0.1 != "skipped" }
        guard let first = set.first else {
            return .unknown("VFIO nesting not probed: " + (reasonNotAsked(probes, prefix: "probe.vfio.") ?? "no VFIO group was probed"))
        }
        if let refusal = set.first(where: { $0.1 != "ok" }) {
            return .refused("kernel \(kernel) refused VFIO_SET_IOMMU(TYPE1_NESTING) on \(refusal.0): \(refusal.1)")
        }
        return .refused("kernel \(kernel) accepted VFIO_SET_IOMMU(TYPE1_NESTING) on \(first.0) but reports no nesting capability: it has no VFIO uAPI to bind a guest page table")
    }

    /// One iommufd device probe over every probed device: allowed only when every device allowed it.
    /// `notProbed`: why the report has no probes at all.
    static func outcome(_ probes: [(unit: String, outcomes: [String: String])], _ name: String, notProbed: String?) -> Path {
        if let notProbed { return .unknown(notProbed) }
        let label = name.replacingOccurrences(of: "probe.iommufd.hwpt_alloc.", with: "IOMMU_HWPT_ALLOC ")
        let asked = probes.compactMap { p in p.outcomes[name].map { (p.unit, $0) } }.filter { $0.1 != "skipped" }
        guard !asked.isEmpty else {
            return .unknown("\(label) not probed: " + (reasonNotAsked(probes, prefix: "probe.iommufd.") ?? "no iommufd device was probed"))
        }
        if let refusal = asked.first(where: { $0.1 != "ok" }) {
            return .refused("kernel refused \(label) on \(refusal.0): \(refusal.1)")
        }
        return .allowed("kernel allowed \(label) on \(asked.map(\.0).joined(separator: ", ")) (freed at once)")
    }

    /// What kept the collector from asking, from the earliest failed step of a probe sequence.
    static func reasonNotAsked(_ probes: [(unit: String, outcomes: [String: String])], prefix: String) -> String? {
        let steps: [(String, String)] = [
            ("probe.iommufd.open", "/dev/iommu"), ("probe.iommufd.devices", "/dev/vfio/devices"),
            ("probe.iommufd.open_device", "the device cdev"), ("probe.iommufd.bind", "VFIO_DEVICE_BIND_IOMMUFD"),
            ("probe.iommufd.ioas_alloc", "IOMMU_IOAS_ALLOC"),
            ("probe.vfio.open_container", "/dev/vfio/vfio"), ("probe.vfio.open_group", "the VFIO group"),
        ].filter { $0.0.hasPrefix(prefix) }
        for (name, what) in steps {
            for p in probes {
                guard let value = p.outcomes[name] else { continue }
                if name == "probe.iommufd.devices" {
                    if value == "0" { return "no device is bound to vfio-pci (\(what) is empty)" }
                    if value == "ENOENT" { return "no vfio device cdevs (\(what) absent: kernel without CONFIG_VFIO_DEVICE_CDEV, or no device bound)" }
                    if KernelProbes.Outcome(value).map({ if case .errno = $0 { true } else { false } }) == true { return "\(what): \(value)" }
                    continue
                }
                guard value != "ok" else { continue }
                return describe(value, what: what)
            }
        }
        return nil
    }

    static func describe(_ errno: String, what: String) -> String {
        switch errno {
        case "ENOENT" where what == "/dev/iommu": return "the kernel has no iommufd (/dev/iommu: ENOENT)"
        case "ENOENT" where what == "/dev/vfio/vfio": return "the kernel has no VFIO container (/dev/vfio/vfio: ENOENT)"
        case "EACCES", "EPERM": return "permission denied on \(what) (\(errno)): the collector was not root"
        case "EBUSY": return "in use: \(what) is held by another process (a VM); it was not touched"
        case "ENODEV", "ENXIO": return "no device behind \(what) (\(errno))"
        default: return "\(what): \(errno)"
        }
    }
}
