/// The request line and header fields of one request, checked line by line as they arrive, and the
/// framing decision made once the empty line ends them. Strict on purpose: anything two parsers could
/// read two ways (smuggling) is a 400.
struct RequestHead {
    var method: String
    var target: String
    var version: HTTPVersion
    var parsedTarget: RequestTarget
    var headers = HTTPHeaders()

    /// What the empty line decides: how long the body is, and how the connection goes on.
    struct Framing: Equatable {
        var contentLength: Int
        var keepAlive: Bool
        var expectsContinue: Bool
    }

    // MARK: request line

    /// `method SP request-target SP HTTP-version`, exactly one space each (RFC 9112 §3).
    static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestHead {
        guard let sp1 = line.firstIndex(of: Ascii.space) else {
            throw HTTPParseError(.badRequest, "malformed request line")
        }
        let method = line[..<sp1]
        guard !method.isEmpty, method.allSatisfy(Ascii.isTokenChar) else {
            throw HTTPParseError(.badRequest, "invalid method")
        }
        let rest = line[(sp1 + 1)...]
        guard let sp2 = rest.firstIndex(of: Ascii.space) else {
            throw HTTPParseError(.badRequest, "malformed request line: no HTTP version")
        }
        let targetBytes = rest[..<sp2]
        let versionBytes = rest[(sp2 + 1)...]
        let version = try parseVersion(versionBytes)
        let methodString = String(decoding: method, as: UTF8.self)
        let parsed = try RequestTarget.parse(targetBytes, method: methodString)
        return RequestHead(method: methodString, target: String(decoding: targetBytes, as: UTF8.self),
                           version: version, parsedTarget: parsed)
    }

    /// `HTTP/1.1` and `HTTP/1.0`; a later 1.x is served as 1.1 (RFC 9110 §2.5); other majors get 505.
    private static func parseVersion(_ v: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let b = Array(v)
        guard b.count == 8, b[0...4].elementsEqual("HTTP/".utf8), Ascii.isDigit(b[5]), b[6] == UInt8(ascii: "."),
              Ascii.isDigit(b[7]) else {
            throw HTTPParseError(.badRequest, "malformed HTTP version")
        }
        guard b[5] == UInt8(ascii: "1") else {
            throw HTTPParseError(.httpVersionNotSupported, "only HTTP/1.x is supported")
        }
        return b[7] == UInt8(ascii: "0") ? .http10 : .http11
    }

    // MARK: header fields

    /// `field-name ":" OWS field-value OWS`. No obs-fold, no space before the colon, no control bytes.
    mutating func addField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        guard let first = line.first, first != Ascii.space, first != Ascii.tab else {
            throw HTTPParseError(.badRequest, "obsolete line folding is not accepted")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError(.badRequest, "header field without a colon")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(Ascii.isTokenChar) else {
            throw HTTPParseError(.badRequest, "invalid header field name")
        }
        var value = line[(colon + 1)...]
        while let f = value.first, f == Ascii.space || f == Ascii.tab { value.removeFirst() }
        while let l = value.last, l == Ascii.space || l == Ascii.tab { value.removeLast() }
        var ascii = true
        for byte in value {
            if byte >= 0x80 { ascii = false; continue }
            guard byte == Ascii.tab || (byte >= 0x20 && byte < 0x7F) else {
                throw HTTPParseError(.badRequest, "invalid character in header field value")
            }
        }
        // Bytes past ASCII (obs-text) are kept only when they spell UTF-8, so handlers see exact text.
        let text: String
        if ascii {
            text = String(decoding: value, as: UTF8.self)
        } else if let decoded = validUTF8(value) {
            text = decoded
        } else {
            throw HTTPParseError(.badRequest, "header field value is not UTF-8")
        }
        headers.add(String(decoding: name, as: UTF8.self), text)
    }

    // MARK: framing

    /// RFC 9112 §6: Content-Length or nothing. Transfer-Encoding is refused (chunked: 411, others: 501),
    /// and any ambiguity about where the body ends is a 400.
    func framing(limits: HTTPLimits) throws(HTTPParseError) -> Framing {
        var contentLength: Int?
        var transferEncoding: [String] = []
        var hosts = 0
        var close = false
        var keepAliveToken = false
        var expectations: [String] = []
        for field in headers {
            switch field.key {
            case "content-length":
                guard contentLength == nil else { throw HTTPParseError(.badRequest, "more than one Content-Length") }
                contentLength = try Self.parseContentLength(field.value, limit: limits.maxBodyBytes)
            case "transfer-encoding":
                transferEncoding.append(field.value)
            case "host":
                hosts += 1
            case "connection":
                for token in Self.listTokens(field.value) {
                    if token == "close" { close = true } else if token == "keep-alive" { keepAliveToken = true }
                }
            case "expect":
                expectations.append(field.value.asciiLowercased())
            default:
                break
            }
        }
        if !transferEncoding.isEmpty {
            if contentLength != nil {
                throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding")
            }
            let codings = transferEncoding.flatMap(Self.listTokens)
            if codings.contains("chunked") {
                throw HTTPParseError(.lengthRequired, "chunked request bodies are not accepted; send Content-Length")
            }
            throw HTTPParseError(.notImplemented, "unsupported Transfer-Encoding")
        }
        if hosts > 1 { throw HTTPParseError(.badRequest, "more than one Host") }
        if version == .http11 && hosts == 0 { throw HTTPParseError(.badRequest, "missing Host") }
        let length = contentLength ?? 0
        var expectsContinue = false
        if version == .http11 && !expectations.isEmpty {
            // 100-continue is the only expectation there is (RFC 9110 §10.1.1).
            guard expectations.allSatisfy({ $0 == "100-continue" }) else {
                throw HTTPParseError(.expectationFailed, "only `Expect: 100-continue` is supported")
            }
            expectsContinue = length > 0
        }
        let keepAlive = version == .http11 ? !close : (keepAliveToken && !close)
        return Framing(contentLength: length, keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    /// `1*DIGIT`, nothing else: no sign, no list, no spaces inside. Past the limit: 413.
    static func parseContentLength(_ value: String, limit: Int) throws(HTTPParseError) -> Int {
        let digits = Array(value.utf8)
        guard !digits.isEmpty, digits.allSatisfy(Ascii.isDigit) else {
            throw HTTPParseError(.badRequest, "invalid Content-Length")
        }
        var n = 0
        for d in digits {
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
            n = next
            if o1 || o2 || n > limit { throw HTTPParseError(.contentTooLarge, "body larger than \(limit) bytes") }
        }
        return n
    }

    /// A comma-separated header list, lowercased and trimmed, empty members dropped.
    static func listTokens(_ value: String) -> [String] {
        value.split(separator: ",").compactMap { part in
            let t = part.trimmingSpacesAndTabs().asciiLowercased()
            return t.isEmpty ? nil : t
        }
    }
}

extension Substring {
    func trimmingSpacesAndTabs() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

enum Ascii {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenChar(_ b: UInt8) -> Bool { tokenTable[Int(b)] }

    private static let tokenTable: [Bool] = (0..<256).map { i in
        let b = UInt8(i)
        if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) { return true }
        return "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}
