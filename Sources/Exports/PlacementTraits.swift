import Decoders
import Query

/// capreg's answers as OpenStack Placement traits (docs/placement.md): custom traits on each host's
/// resource provider, so that `GET /allocation_candidates?required=…` asks what capreg would answer.
///
/// - a usable boolean fact that is true: `CUSTOM_CAPREG_NESTING`, `CUSTOM_CAPREG_PASID_BIND`, …
///   (false and unknown give no trait: Placement's `required` then leaves the host out, as capreg's
///   query does; a trait is never set from hardware without the kernel's evidence);
/// - a number as a ladder of thresholds it reaches: `pasid_bits = 20` gives `…_PASID_BITS_GE_1`, `_GE_8`,
///   `_GE_16` and `_GE_20`, so `pasid_bits >= 16` is `required=CUSTOM_CAPREG_PASID_BITS_GE_16`;
/// - a text as its value: `CUSTOM_CAPREG_FIRST_LEVEL_FORMAT_INTEL_VTD`, `CUSTOM_CAPREG_IOMMU_VENDOR_AMD`;
/// - a compatibility profile the host satisfies with its defaults: `CUSTOM_CAPREG_PROFILE_VTD_NESTED`.
/// The hardware's own names (`hw.…`) and evidence texts are not traits: a scheduler places on what a VM
/// can get. Every name capreg sets starts with `CUSTOM_CAPREG_`, the prefix it alone may touch.
public enum PlacementTraits {
    public static let prefix = "CUSTOM_CAPREG_"

    /// The facts exported, with the thresholds of the numbers.
    static let booleans = [CrossVendor.nesting, CrossVendor.pasidBind, CrossVendor.dirtyTracking]
    static let texts = [CrossVendor.vendor, CrossVendor.firstLevelFormat]
    static let ladders: [(name: String, steps: [Int64])] = [
        (CrossVendor.pasidBits, [1, 8, 16, 20]),
        (CrossVendor.addrWidth, [39, 48, 52, 57, 64]),
    ]

    /// The profiles, expanded once with their defaults.
    static let profiles: [(trait: String, name: String, expression: QueryExpr)] = CompatibilityProfile.all.compactMap { profile in
        guard let expanded = try? profile.expand() else { return nil }
        return (prefix + "PROFILE_" + part(profile.name), profile.name, expanded.expression)
    }

    /// The traits a host with these facts, kernel and labels gets, sorted.
    public static func of(facts: [String: FactValue], kernelRelease: String?, labels: [String: String] = [:]) -> [String] {
        var out: [String] = []
        for name in booleans where facts[name] == .bool(true) { out.append(prefix + part(name)) }
        for name in texts {
            if case .text(let value)? = facts[name], !value.isEmpty { out.append(prefix + part(name) + "_" + part(value)) }
        }
        for (name, steps) in ladders {
            guard case .int(let value)? = facts[name] else { continue }
            for step in steps where value >= step { out.append(prefix + part(name) + "_GE_\(step)") }
        }
        let evaluator = QueryEvaluator(facts: facts, kernelRelease: kernelRelease, labels: labels)
        for (trait, _, expression) in profiles where evaluator.matches(expression) { out.append(trait) }
        return out.sorted()
    }

    /// A name or value as a trait's part: letters upper-cased, every other character but a digit `_`
    /// (Placement's custom traits are `CUSTOM_[A-Z0-9_]+`, at most 255 characters).
    static func part(_ text: String) -> String {
        String(text.unicodeScalars.map { s -> Character in
            switch s {
            case "a"..."z": Character(String(s).uppercased())
            case "A"..."Z", "0"..."9": Character(s)
            default: "_"
            }
        })
    }

    /// Every trait `of` can give (for creating them in Placement before use): the booleans, every ladder
    /// step, the profiles, and the text values capreg's decoders produce.
    public static var all: [String] {
        var out = booleans.map { prefix + part($0) }
        for (name, steps) in ladders { out += steps.map { prefix + part(name) + "_GE_\($0)" } }
        out += profiles.map(\.trait)
        let formats = [CrossVendor.Format.intelVTd, CrossVendor.Format.armSMMUv3, CrossVendor.Format.amdV2, CrossVendor.Format.none]
        out += formats.map { prefix + part(CrossVendor.firstLevelFormat) + "_" + part($0) }
        out += ["intel", "amd", "arm"].map { prefix + part(CrossVendor.vendor) + "_" + part($0) }
        return out.sorted()
    }

    /// The query capreg would ask for `trait` (the inverse, for tests and docs): nil for a trait not capreg's.
    public static func question(for trait: String) -> String? {
        if let p = profiles.first(where: { $0.trait == trait }) { return "profile(\"\(p.name)\")" }
        for name in booleans where prefix + part(name) == trait { return name }
        for (name, steps) in ladders {
            for step in steps where prefix + part(name) + "_GE_\(step)" == trait { return "\(name) >= \(step)" }
        }
        return nil
    }
}
