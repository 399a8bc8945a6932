import Foundation

/// How a capability's stored bytes and decoded JSON are shown.
enum RawBytes {
    /// A classic hex dump: offset, 16 bytes in hex, the printable ASCII beside (others as `.`). At most
    /// `limit` bytes, so one odd capability cannot blow a page up.
    static func hexDump(_ bytes: [UInt8], limit: Int = 4096) -> String {
        var lines: [String] = []
        let shown = bytes.prefix(limit)
        for start in stride(from: 0, to: shown.count, by: 16) {
            let row = shown[start..<min(start + 16, shown.count)]
            let hex = row.map { String(format: "%02x", $0) }.joined(separator: " ")
            let ascii = String(row.map { $0 >= 0x20 && $0 < 0x7f ? Character(Unicode.Scalar($0)) : "." })
            lines.append(String(format: "%04x  ", start) + hex.padding(toLength: 47, withPad: " ", startingAt: 0) + "  " + ascii)
        }
        if bytes.count > limit { lines.append("… \(bytes.count - limit) more bytes") }
        return lines.isEmpty ? "(no bytes)" : lines.joined(separator: "\n")
    }

    /// `{"facts":{…},"notes":[…]}` as the store wrote it, read back as (name, value text) pairs and notes.
    static func decoded(_ json: String) -> (facts: [(String, String)], notes: [String])? {
        struct Shape: Decodable {
            var facts: [String: Scalar]
            var notes: [String]
        }
        enum Scalar: Decodable {
            case text(String)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let b = try? c.decode(Bool.self) { self = .text(b ? "true" : "false") }
                else if let i = try? c.decode(Int64.self) { self = .text(String(i)) }
                else { self = .text(try c.decode(String.self)) }
            }
        }
        guard let shape = try? JSONDecoder().decode(Shape.self, from: Data(json.utf8)) else { return nil }
        let facts = shape.facts.sorted { $0.key < $1.key }.map { key, value -> (String, String) in
            if case .text(let s) = value { return (key, s) }
            return (key, "")
        }
        return (facts, shape.notes)
    }
}
