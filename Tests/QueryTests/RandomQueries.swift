import Decoders
import Query
import TestSupport

/// Random hosts and expression text over a small pool of facts (those of the vtd-nested profile among
/// them, so that profile calls come out true, false and unknown), kernels and labels.
struct RandomQueries: RandomQueryText {
    var dice: Dice

    static let facts = ["pasid_bind", "nesting", "vtd.ecap.ers", "pasid_bits", "addr_width", "first_level.format", "iommu.vendor",
                        "iommufd.data_type", "vtd.scalable_mode", "vtd.ecap.nest", "vtd.ecap.slts", "vtd.ecap.flts", "vfio.iova_top_bits",
                        "vtd.cap.fl1gp", "vtd.cap.fl5lp", "vtd.ecap.pasid", "vtd.pasid_bits", "vtd.ecap.slads", "vtd.ecap.smpwc",
                        "iommufd.vtd.errata_772415_spr17"]
    static let ints: [Int64] = [0, 8, 16, 20, 39, 47, 48, 57]
    static let texts = ["intel-vtd", "amd-v2", "arm-smmuv3", "intel", ""]
    static let kernels = ["5.4.0-150-generic", "5.10.0", "6.1.0-18-amd64", "6.8.0-45-generic", "7.0.1"]
    static let versions = ["5", "5.4", "5.10", "6.1", "6.1.0-18-amd64", "6.8", "7"]
    static let racks = ["r1", "r2", "r3"]
    /// IOVA window lists (`covers(vfio.iova_windows, …)`): the captured aw48 and aw39 ones, none, one
    /// window over everything, and a text that is not a list (unknown).
    static let windows = ["0x0-0xfedfffff,0xfef00000-0xffffffffffff", "0x0-0xfedfffff,0xfef00000-0x7fffffffff", "",
                          "0x0-0xffffffffffffffff", "0x0-0x1,garbage"]
    static let addresses = ["0", "0xfedfffff", "0xfee00000", "0xfef00000", "4276092928", "0x7fffffffff", "0x8000000000", "0xffffffffffff",
                            "0x7fffffffffffffff"]

    static func type(_ name: String) -> FactType { Vocabulary.byName[name]!.type }

    mutating func host() -> QueryEvaluator {
        var facts: [String: FactValue] = [:]
        for name in Self.facts where dice.chance(80) {
            switch Self.type(name) {
            case .bool: facts[name] = .bool(dice.chance(70))
            case .int: facts[name] = .int(dice.pick(Self.ints))
            case .text: facts[name] = .text(dice.pick(Self.texts))
            }
            if dice.chance(2) { facts[name] = .text("42") }  // stored with another type than the vocabulary's: unknown
        }
        if dice.chance(80) { facts[VFIOInfo.iovaWindows] = .text(dice.pick(Self.windows)) }
        let kernel = dice.chance(85) ? dice.pick(Self.kernels) : nil
        let labels = dice.chance(70) ? ["rack": dice.pick(Self.racks)] : [:]
        return QueryEvaluator(facts: facts, kernelRelease: kernel, labels: labels)
    }

    mutating func predicate() -> String {
        switch dice.below(13) {
        case 12: return "covers(\(VFIOInfo.iovaWindows), \(dice.pick(Self.addresses)))"
        case 0: return "\(dice.pick(["known", "has"]))(\(dice.pick(Self.facts + ["kernel", "label.rack", "label.row", VFIOInfo.iovaWindows])))"
        case 1: return profile()
        case 2:
            if dice.chance(20) { return "kernel in (\"\(dice.pick(Self.versions))\", \"\(dice.pick(Self.versions))\")" }
            return "kernel \(dice.pick(QueryOp.allCases).rawValue) \"\(dice.pick(Self.versions))\""
        case 3:
            let key = dice.pick(["rack", "row"])
            if dice.chance(25) { return "label.\(key) in (\"\(dice.pick(Self.racks))\", \"\(dice.pick(Self.racks))\")" }
            return "label.\(key) \(dice.chance(50) ? "=" : "!=") \"\(dice.pick(Self.racks))\""
        default: return fact()
        }
    }

    mutating func fact() -> String {
        let name = dice.pick(Self.facts)
        switch Self.type(name) {
        case .bool:
            if dice.chance(40) { return name }
            return "\(name) \(dice.chance(50) ? "=" : "!=") \(dice.chance(50))"
        case .int:
            if dice.chance(15) { return "\(name) \(dice.chance(30) ? "not in" : "in") (\(dice.pick(Self.ints)), \(dice.pick(Self.ints)))" }
            return "\(name) \(dice.pick(QueryOp.allCases).rawValue) \(dice.pick(Self.ints) + Int64(dice.below(3)) - 1)"
        case .text:
            if dice.chance(20) { return "\(name) in (\"\(dice.pick(Self.texts))\", \"\(dice.pick(Self.texts))\")" }
            return "\(name) \(dice.chance(60) ? "=" : "!=") \"\(dice.pick(Self.texts))\""
        }
    }

    mutating func profile() -> String {
        if dice.chance(15) { return dice.chance(50) ? #"profile("smmuv3-nested")"# : #"profile("amd-nested")"# }
        var arguments = ""
        if dice.chance(50) { arguments += ", aw_bits=\(dice.pick([39, 48, 57]))" }
        if dice.chance(50) { arguments += ", pasid_bits=\(dice.pick([0, 16, 20]))" }
        for flag in ["fs1gp", "dirty_tracking", "strict_ro"] where dice.chance(30) { arguments += ", \(flag)=\(dice.chance(50))" }
        return #"profile("vtd-nested""# + arguments + ")"
    }
}
