import Decoders
import Foundation
import JSONText

/// A queried host's facts, held as they were read: a list (from fact rows) or the encoded object
/// (host_facts_json, as ingest wrote it). The API sends the object as is; typed consumers get the list.
enum QueriedFacts: Sendable {
    case list([Fact])
    case json(String)

    /// Sorted by name. A malformed object (not one ingest wrote) reads as the facts before the fault.
    var list: [Fact] {
        switch self {
        case .list(let facts): return facts
        case .json(let text): return FactsObjectReader.facts(text)
        }
    }

    var json: String {
        switch self {
        case .list(let facts): return DecodedJSON.currentFacts(facts.map { (key: $0.name, value: $0.value) })
        case .json(let text): return text
        }
    }

    /// The object, written straight into an answer: a list is not encoded into a String of its own first
    /// (a compact page's hosts each made one, to be copied once).
    func writeJSON(into out: inout JSONWriter) {
        switch self {
        case .list(let facts): DecodedJSON.factsObject(facts.lazy.map { ($0.name, $0.value) }, into: &out)
        case .json(let text): out.json(text)
        }
    }

    /// About the object's bytes: exact for stored text; for a list, texts counted as if they needed no
    /// escape (page byte bounds, Registry.page, and the answer buffer's size).
    var approximateBytes: Int {
        switch self {
        case .json(let text): return text.utf8.count
        case .list(let facts):
            return facts.reduce(2) { sum, fact in
                let value: Int
                switch fact.value {
                case .bool: value = 5
                case .int: value = 20
                case .text(let t): value = t.utf8.count + 2
                }
                return sum + fact.name.utf8.count + 4 + value
            }
        }
    }
}

/// A queried host's labels as they were read: a list (sorted by key), or a page's `hosts.label_print`.
enum QueriedLabels: Sendable {
    case list([(key: String, value: String)])
    case print(String)

    var list: [(key: String, value: String)] {
        switch self {
        case .list(let list): return list
        case .print(let print): return QueriedHost.sorted(LabelPrint.entries(print))
        }
    }
}

/// Reads the flat `{name: true|false|integer|"text", …}` object DecodedJSON.currentFacts (or migration
/// 0003's backfill) writes. Bounds-checked; stops at the first thing it does not expect.
enum FactsObjectReader {
    static func facts(_ text: String) -> [Fact] {
        var facts: [Fact] = []
        var text = text
        text.withUTF8 { bytes in
            var i = 0
            func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 } }
            func take(_ byte: UInt8) -> Bool {
                skipSpace()
                guard i < bytes.count, bytes[i] == byte else { return false }
                i += 1
                return true
            }
            guard take(0x7B) else { return }
            if take(0x7D) { return }
            repeat {
                skipSpace()
                guard let name = string(bytes, &i), take(0x3A) else { return }
                skipSpace()
                // A value counts only when its object goes on or ends (a cut-off number is not a value).
                guard let value = value(bytes, &i) else { return }
                skipSpace()
                guard i < bytes.count, bytes[i] == 0x2C || bytes[i] == 0x7D else { return }
                facts.append(Fact(name, value))
            } while take(0x2C)
        }
        return facts
    }

    private static func value(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> FactValue? {
        guard i < b.count else { return nil }
        func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count, memcmp(b.baseAddress! + i, word.utf8Start, n) == 0 else { return false }
            i += n
            return true
        }
        switch b[i] {
        case 0x22: return string(b, &i).map(FactValue.text)
        case 0x74: return literal("true") ? .bool(true) : nil
        case 0x66: return literal("false") ? .bool(false) : nil
        default:
            let start = i
            if b[i] == 0x2D { i += 1 }
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            return Int64(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)).map(FactValue.int)
        }
    }

    /// A JSON string literal at `i` (on its opening quote), unescaped.
    private static func string(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> String? {
        guard i < b.count, b[i] == 0x22 else { return nil }
        i += 1
        let start = i
        while i < b.count, b[i] != 0x22, b[i] != 0x5C { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == 0x22 {  // no escapes: the common case
            defer { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }
        var out = Array(b[start..<i])
        var pendingHigh: UInt32?
        while i < b.count {
            let c = b[i]
            i += 1
            if c == 0x22 { return String(decoding: out, as: UTF8.self) }
            guard c == 0x5C else { out.append(c); continue }
            guard i < b.count else { return nil }
            let e = b[i]
            i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                guard i + 4 <= b.count, let unit = UInt32(String(decoding: UnsafeBufferPointer(rebasing: b[i..<i + 4]), as: UTF8.self), radix: 16)
                else { return nil }
                i += 4
                var scalar: Unicode.Scalar?
                if (0xD800...0xDBFF).contains(unit) { pendingHigh = unit; continue }
                if (0xDC00...0xDFFF).contains(unit), let high = pendingHigh {
                    scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                } else {
                    scalar = Unicode.Scalar(unit)
                }
                pendingHigh = nil
                guard let scalar else { return nil }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: return nil
            }
        }
        return nil
    }
}
