import Foundation
import Timestamps

extension Report {
    /// The report as `Report.encoder` writes it (sorted keys, snake_case, RFC3339.format times), byte for byte,
    /// written by hand: the store keeps this text as `reports.payload` for every report it ingests, and
    /// JSONEncoder's boxing was a visible share of ingest CPU.
    ///
    /// What it mirrors (swift-foundation's JSONEncoder/JSONWriter): members sorted by the UTF-8 bytes of
    /// their keys; nil optionals left out; `"`, `\`, `/` and control characters escaped as JSONWriter does
    /// (`\b \f \n \r \t`, others `\u00xx` in lower-case hex), every other byte as is; times through
    /// `RFC3339.format` (UTC, milliseconds). Dictionary keys (labels, decoded) go through the snake_case conversion
    /// in JSONEncoder; that conversion is the identity only for ASCII keys without upper-case letters, so
    /// any other key falls back to JSONEncoder itself. Tests compare both over many reports.
    public func payloadJSON() -> String {
        if let fast = Self.handEncoded(self) { return fast }
        let data = (try? Report.encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The hand-written encoding, or nil when a dictionary key needs JSONEncoder's key conversion.
    static func handEncoded(_ r: Report) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(256 + r.sources.reduce(0) { $0 + ($1.raw?.utf8.count ?? 0) + 96 })
        // Top level, sorted: collected_at, collector_version, host, kernel, report_id, sources.
        out.append(contentsOf: #"{"collected_at":"#.utf8)
        appendString(RFC3339.format(r.collectedAt), to: &out)
        out.append(contentsOf: #","collector_version":"#.utf8)
        appendString(r.collectorVersion, to: &out)
        // host: hostname, labels, machine_id
        out.append(contentsOf: #","host":{"hostname":"#.utf8)
        appendString(r.host.hostname, to: &out)
        out.append(contentsOf: #","labels":"#.utf8)
        guard appendMap(r.host.labels, to: &out) else { return nil }
        if let machineId = r.host.machineId {
            out.append(contentsOf: #","machine_id":"#.utf8)
            appendString(machineId, to: &out)
        }
        // kernel: release, version
        out.append(contentsOf: #"},"kernel":{"release":"#.utf8)
        appendString(r.kernel.release, to: &out)
        if let version = r.kernel.version {
            out.append(contentsOf: #","version":"#.utf8)
            appendString(version, to: &out)
        }
        out.append(contentsOf: #"},"report_id":"#.utf8)
        appendString(r.reportId, to: &out)
        out.append(contentsOf: #","sources":["#.utf8)
        for (i, s) in r.sources.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // source: decoded, detail, kind, raw, reason, status, unit
            out.append(UInt8(ascii: "{"))
            var first = true
            func key(_ k: StaticString) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
                out.append(contentsOf: "\":".utf8)
            }
            if let decoded = s.decoded {
                key("decoded")
                guard appendMap(decoded, to: &out) else { return nil }
            }
            if let detail = s.detail { key("detail"); appendString(detail, to: &out) }
            key("kind"); appendString(s.kind.rawValue, to: &out)
            if let raw = s.raw { key("raw"); appendString(raw, to: &out) }
            if let reason = s.reason { key("reason"); appendString(reason, to: &out) }
            key("status"); appendString(s.status.rawValue, to: &out)
            key("unit"); appendString(s.unit, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// A string-to-string object with keys in UTF-8 byte order; false when a key is one JSONEncoder's
    /// snake_case conversion could change (anything but ASCII without A–Z).
    private static func appendMap(_ map: [String: String], to out: inout [UInt8]) -> Bool {
        for k in map.keys where !k.utf8.allSatisfy({ $0 < 0x80 && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }) {
            return false
        }
        out.append(UInt8(ascii: "{"))
        let sorted = map.sorted { a, b in a.key.utf8.lexicographicallyPrecedes(b.key.utf8) }
        for (i, (k, v)) in sorted.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendString(k, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString(v, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// A JSON string as JSONWriter escapes it (slashes escaped, control characters per JSONWriter).
    private static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        func hex(_ v: UInt8) -> UInt8 { v < 10 ? v + UInt8(ascii: "0") : v - 10 + UInt8(ascii: "a") }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0c: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0x0a: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0d: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x00...0x1f:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex(b >> 4))
                out.append(hex(b & 0xf))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
