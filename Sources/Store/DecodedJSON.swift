import Decoders
import Foundation
import Report

/// `{"facts":{name:value,…},"notes":[…]}` with keys in byte order and values in their JSON types,
/// written by hand: JSONSerialization with sorted keys costs more than the rest of an ingest.
enum DecodedJSON {
    static func of(_ record: CapabilityRecord) -> String {
        var out = "{\"facts\":{"
        // Decoders mostly emit names in order already: check before sorting. The sort is stable, so a
        // repeated name keeps its first value (adjacent after sorting).
        func before(_ a: Fact, _ b: Fact) -> Bool { utf8Precedes(a.name, b.name) }
        let facts = zip(record.facts, record.facts.dropFirst()).allSatisfy { before($0, $1) } ? record.facts : record.facts.sorted(by: before)
        var previous: String?
        for fact in facts where fact.name != previous {
            if previous != nil { out += "," }
            previous = fact.name
            string(fact.name, into: &out)
            out += ":"
            switch fact.value {
            case .bool(let b): out += b ? "true" : "false"
            case .int(let i): out += String(i)
            case .text(let s): string(s, into: &out)
            }
        }
        out += "},\"notes\":["
        for (i, note) in record.notes.enumerated() {
            if i > 0 { out += "," }
            string(note, into: &out)
        }
        return out + "]}"
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

    static func string(_ s: String, into out: inout String) {
        // Most text needs no escaping: append it whole.
        var s = s
        if !s.withUTF8({ $0.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
