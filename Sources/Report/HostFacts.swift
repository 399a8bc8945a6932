import Decoders

/// A host's facts are its units' facts combined, conservatively, because a VM's device may sit behind
/// any unit: a boolean holds only if it holds on every unit that reports it, an integer is the smallest
/// reported, and text that differs between units becomes the sorted distinct values joined by `,`.
/// A name no unit reports stays absent (unknown), never false.
public enum HostFacts {
    public static func combine(_ records: [CapabilityRecord]) -> [Fact] {
        var order: [String] = []
        var values: [String: [FactValue]] = [:]
        for record in records {
            for fact in record.facts {
                if values[fact.name] == nil { order.append(fact.name) }
                values[fact.name, default: []].append(fact.value)
            }
        }
        return order.sorted().map { name in Fact(name, combine(values[name]!)) }
    }

    static func combine(_ values: [FactValue]) -> FactValue {
        if values.allSatisfy({ $0.type == .bool }) {
            return .bool(values.allSatisfy { $0 == .bool(true) })
        }
        if values.allSatisfy({ $0.type == .int }) {
            return values.min { a, b in
                if case .int(let x) = a, case .int(let y) = b { return x < y }
                return false
            }!
        }
        let distinct = Set(values.map(\.description)).sorted()
        return .text(distinct.joined(separator: ","))
    }
}
