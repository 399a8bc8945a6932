import Decoders
import JSONText
import Server

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

    /// Labels written straight into a response (the hosts page builds no tree).
    static func write(labels: [String: String], into out: inout JSONWriter) {
        out.objectStart()
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            out.key(key)
            out.string(value)
        }
        out.objectEnd()
    }

    static func labels(_ labels: [String: String]) -> JSONValue {
        .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    static func counts(_ counts: [String: Int]) -> JSONValue {
        .object(counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
    }
}
