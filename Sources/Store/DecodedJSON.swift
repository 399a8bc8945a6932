import Decoders
import Foundation
import JSONText
import Report

/// `{"facts":{name:value,…},"notes":[…]}` with keys in byte order and values in their JSON types,
/// written by hand: JSONSerialization with sorted keys costs more than the rest of an ingest.
enum DecodedJSON {
    static func of(_ record: CapabilityRecord) -> String {
        var out = JSONWriter(capacity: 1024)
        out.objectStart()
        out.key("facts")
        // Decoders mostly emit names in order already: check before sorting. The sort is stable, so a
        // repeated name keeps its first value (adjacent after sorting).
        func before(_ a: Fact, _ b: Fact) -> Bool { utf8Precedes(a.name, b.name) }
        let facts = zip(record.facts, record.facts.dropFirst()).allSatisfy { before($0, $1) } ? record.facts : record.facts.sorted(by: before)
        factsObject(facts.lazy.map { ($0.name, $0.value) }, into: &out)
        out.key("notes")
        out.arrayStart()
        for note in record.notes { out.string(note) }
        out.arrayEnd()
        out.objectEnd()
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `{name: value, …}` of facts sorted by name; a repeated name keeps its first value. The same
    /// object the API answers with, so the hosts' encoded current facts go out as stored.
    static func factsObject<S: Sequence>(_ facts: S, into out: inout JSONWriter) where S.Element == (String, FactValue) {
        out.objectStart()
        var previous: String?
        for (name, value) in facts where name != previous {
            previous = name
            out.key(name)
            Self.value(value, into: &out)
        }
        out.objectEnd()
    }

    /// A fact's value in its JSON type (null when absent).
    static func value(_ v: FactValue?, into out: inout JSONWriter) {
        switch v {
        case nil: out.null()
        case .bool(let b)?: out.bool(b)
        case .int(let i)?: out.int(i)
        case .text(let s)?: out.string(s)
        }
    }

    /// The encoded current facts of a host (host_facts_json).
    static func currentFacts(_ facts: [(key: String, value: FactValue)]) -> String {
        var out = JSONWriter(capacity: 64 * facts.count + 2)
        factsObject(facts.lazy.map { ($0.key, $0.value) }, into: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// Byte order of the UTF-8 text (memcmp: the generic UTF8View comparison cost more than the JSON).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }
}
