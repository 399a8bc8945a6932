import Decoders

/// How facts look in every response: an object of vocabulary name → value in its JSON type.
enum FactsJSON {
    static func value(_ v: FactValue) -> JSONValue {
        switch v {
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .text(let s): return .string(s)
        }
    }

    static func object(_ facts: [Fact]) -> JSONValue { .object(facts.map { ($0.name, value($0.value)) }) }

    static func labels(_ labels: [String: String]) -> JSONValue {
        .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    static func counts(_ counts: [String: Int]) -> JSONValue {
        .object(counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
    }
}
