import Decoders
import Report

/// `{"facts":{name:value,…},"notes":[…]}` with keys in byte order and values in their JSON types,
/// written by hand: JSONSerialization with sorted keys costs more than the rest of an ingest.
enum DecodedJSON {
    static func of(_ record: CapabilityRecord) -> String {
        var out = "{\"facts\":{"
        var first = true
        var seen = Set<String>()
        for fact in record.facts.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) where seen.insert(fact.name).inserted {
            if !first { out += "," }
            first = false
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

    static func string(_ s: String, into out: inout String) {
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
