/// The request-target split into path and query (RFC 9112 §3.2), percent-decoding checked up front so
/// a malformed escape is a 400 from the parser rather than a surprise in a handler.
struct RequestTarget: Equatable {
    var path: String
    var pathSegments: [String]
    var rawQuery: String?
    var query: [QueryItem]

    static func parse(_ target: ArraySlice<UInt8>, method: String) throws(HTTPParseError) -> RequestTarget {
        guard let first = target.first else { throw HTTPParseError(.badRequest, "empty request target") }
        for byte in target where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "#") {
            throw HTTPParseError(.badRequest, "invalid character 0x\(String(byte, radix: 16)) in request target")
        }
        if first == UInt8(ascii: "/") { return try originForm(target) }
        if target.count == 1 && first == UInt8(ascii: "*") {
            guard method == "OPTIONS" else { throw HTTPParseError(.badRequest, "`*` target is only for OPTIONS") }
            return RequestTarget(path: "*", pathSegments: [], rawQuery: nil, query: [])
        }
        if let afterScheme = schemeEnd(target) {
            // absolute-form: keep what follows the authority; the authority itself is the Host's business.
            let rest = target[afterScheme...]
            guard let slash = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
                return RequestTarget(path: "/", pathSegments: [], rawQuery: nil, query: [])
            }
            if target[slash] == UInt8(ascii: "?") { return try originForm(([UInt8(ascii: "/")] + target[slash...])[...]) }
            return try originForm(target[slash...])
        }
        if method == "CONNECT" {
            return RequestTarget(path: String(decoding: target, as: UTF8.self), pathSegments: [], rawQuery: nil, query: [])
        }
        throw HTTPParseError(.badRequest, "request target must start with `/`")
    }

    /// Index just past `http://` or `https://` (case-insensitive), or nil.
    private static func schemeEnd(_ target: ArraySlice<UInt8>) -> ArraySlice<UInt8>.Index? {
        for scheme in ["http://", "https://"] {
            let s = Array(scheme.utf8)
            guard target.count >= s.count else { continue }
            if zip(target.prefix(s.count), s).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 }) {
                return target.startIndex + s.count
            }
        }
        return nil
    }

    private static func originForm(_ target: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestTarget {
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = target[..<(question ?? target.endIndex)]
        var segments: [String] = []
        if pathBytes.count > 1 {
            for part in pathBytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
                guard let decoded = percentDecode(part, plusIsSpace: false) else {
                    throw HTTPParseError(.badRequest, "invalid percent-encoding in path")
                }
                segments.append(decoded)
            }
        }
        var rawQuery: String?
        var items: [QueryItem] = []
        if let question {
            let queryBytes = target[(question + 1)...]
            rawQuery = String(decoding: queryBytes, as: UTF8.self)
            for pair in queryBytes.split(separator: UInt8(ascii: "&")) {
                let eq = pair.firstIndex(of: UInt8(ascii: "="))
                let nameBytes = pair[..<(eq ?? pair.endIndex)]
                let valueBytes = eq.map { pair[($0 + 1)...] } ?? []
                guard let name = percentDecode(nameBytes, plusIsSpace: true),
                      let value = percentDecode(valueBytes, plusIsSpace: true) else {
                    throw HTTPParseError(.badRequest, "invalid percent-encoding in query")
                }
                items.append(QueryItem(name: name, value: value))
            }
        }
        return RequestTarget(path: String(decoding: pathBytes, as: UTF8.self), pathSegments: segments,
                             rawQuery: rawQuery, query: items)
    }

    /// Decodes `%XX` escapes (and `+` when asked). Nil for a malformed escape or bytes that are not UTF-8.
    static func percentDecode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex,
                      let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return validUTF8(out[...])
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The bytes as a String if they are valid UTF-8 (decoding repairs invalid sequences, so compare back).
func validUTF8(_ bytes: ArraySlice<UInt8>) -> String? {
    let s = String(decoding: bytes, as: UTF8.self)
    return s.utf8.elementsEqual(bytes) ? s : nil
}
