import Decoders
import Foundation
import Query
@testable import Store
import StoreSQLite
import TestSupport

/// Random expression text over the names and values a fleet actually holds, plus absent names, absent
/// labels, kernel series and exact releases, profile calls: every construct of the language, nested.
struct RandomExpressions: RandomQueryText {
    var dice: Dice
    /// Observed values per fact name.
    let values: [String: [FactValue]]
    let labels: [String: [String]]
    let names: [String]

    init(seed: UInt64, hosts: [HostState]) {
        dice = Dice(state: seed)
        var values: [String: Set<FactValue>] = [:]
        var labels: [String: Set<String>] = [:]
        for host in hosts {
            for fact in host.facts { values[fact.name, default: []].insert(fact.value) }
            for (k, v) in host.labels { labels[k, default: []].insert(v) }
        }
        // Names no host reports: their predicates are unknown everywhere.
        for entry in Vocabulary.all where values[entry.name] == nil && (entry.name.hasPrefix("smmu.") || entry.name.hasPrefix("amd.efr2")) {
            values[entry.name] = []
        }
        self.values = values.mapValues { $0.sorted { $0.description < $1.description } }
        self.labels = labels.mapValues { $0.sorted() }
        names = self.values.keys.sorted()
    }

    static let kernels = ["5", "5.4", "5.9", "5.10", "5.15", "5.15.0", "6", "6.1", "6.1.0-18-amd64", "6.6", "6.8.0-45-generic",
                          "6.12.9", "6.12.9-amd64", "7", "7.0.1-1-amd64"]

    mutating func predicate() -> String {
        switch dice.below(10) {
        case 0:
            if dice.chance(25) { return profile() }
            return "\(dice.chance(50) ? "known" : "has")(\(dice.pick(names)))"
        case 1: return kernel()
        case 2: return label()
        default:
            if dice.chance(10) { return covers() }
            return fact()
        }
    }

    static let addresses = ["0", "0xfedfffff", "0xfee00000", "0xfef00000", "0x7fffffffff", "0x8000000000", "0xffffffffffff", "0x1000000000000"]

    /// Whether an IOVA window list covers an address around the windows' edges (synthetic hosts are 39 or
    /// 48 bits, with the MSI hole), on the lists hosts report or an unreported name.
    mutating func covers() -> String {
        "covers(\(dice.pick(Vocabulary.windowLists.sorted())), \(dice.pick(Self.addresses)))"
    }

    /// A profile call: named groups of conditions, most of them on facts no synthetic host reports.
    mutating func profile() -> String {
        if dice.chance(30) { return dice.chance(50) ? #"profile("smmuv3-nested", oas_bits=48)"# : #"profile("amd-nested", guest_levels=5)"# }
        return #"profile("vtd-nested", aw_bits="# + "\(dice.pick([39, 48, 57])), pasid_bits=\(dice.pick([0, 16, 20])), dirty_tracking=\(dice.chance(50)))"
    }

    mutating func kernel() -> String {
        if dice.chance(20) { return "kernel in (" + (0...dice.below(3)).map { _ in quote(dice.pick(Self.kernels)) }.joined(separator: ", ") + ")" }
        return "kernel \(dice.pick(QueryOp.allCases).rawValue) \(quote(dice.pick(Self.kernels)))"
    }

    mutating func label() -> String {
        let keys = labels.keys.sorted() + ["nope"]
        let key = dice.pick(keys)
        if dice.chance(15) { return "has(label.\(key))" }
        let value = dice.pick((labels[key] ?? []) + ["r-none"])
        if dice.chance(20) { return "label.\(key) in (\(quote(value)), \(quote(dice.pick((labels[key] ?? []) + ["x"]))))" }
        return "label.\(key) \(dice.chance(50) ? "=" : "!=") \(quote(value))"
    }

    mutating func fact() -> String {
        let name = dice.pick(names)
        let type = Vocabulary.entry(name)!.type
        let seen = values[name] ?? []
        switch type {
        case .bool:
            if dice.chance(40) { return name }
            return "\(name) \(dice.chance(50) ? "=" : "!=") \(dice.chance(50))"
        case .int:
            let ints = seen.compactMap { if case .int(let i) = $0 { i } else { nil } }
            func value() -> Int64 { ints.isEmpty || dice.chance(20) ? Int64(dice.below(70)) - 5 : dice.pick(ints) + Int64(dice.below(3)) - 1 }
            if dice.chance(15) { return "\(name) \(dice.chance(30) ? "not in" : "in") (\(value()), \(value()))" }
            return "\(name) \(dice.pick(QueryOp.allCases).rawValue) \(value())"
        case .text:
            let texts = seen.map(\.description) + ["", "none", "x' OR 1=1 --"]
            if dice.chance(20) { return "\(name) in (\(quote(dice.pick(texts))), \(quote(dice.pick(texts))))" }
            return "\(name) \(dice.chance(60) ? "=" : "!=") \(quote(dice.pick(texts)))"
        }
    }

    func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
