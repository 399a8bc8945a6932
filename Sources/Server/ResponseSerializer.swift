#if canImport(Glibc)
import Glibc
#endif

/// Turns a response into the exact bytes of one write: status line, the handler's headers, then the
/// server's `Date`, `Content-Length` and `Connection`, then the body, all in one buffer.
enum ResponseSerializer {
    /// Headers only the server may set: it alone knows the framing and the connection's fate.
    private static let serverOwned: Set<String> = ["content-length", "transfer-encoding", "connection", "date", "keep-alive"]

    static func serialize(_ response: HTTPResponse, keepAlive: Bool, omitBody: Bool, date: String) -> [UInt8] {
        var response = response
        if !headersAreSafe(response.headers) {
            // A CR or LF in a handler's header would split the response; answer 500 instead.
            response = .error(.internalServerError, code: "internal_error", message: "the handler produced an invalid header")
        }
        let status = response.status
        let sendsBody = !status.forbidsBody && !omitBody
        var head = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for field in response.headers where !serverOwned.contains(field.key) {
            head += field.name
            head += ": "
            head += field.value
            head += "\r\n"
        }
        head += "Date: \(date)\r\n"
        // A stream's body ends with its connection (`keepAlive` is false for it).
        if status.code != 204 && status.code >= 200 && status.code != 304 && response.stream == nil {
            // HEAD answers with the length the GET would have had (RFC 9110 §8.6).
            head += "Content-Length: \(response.body.count)\r\n"
        }
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        var bytes: [UInt8] = []
        bytes.reserveCapacity(head.utf8.count + (sendsBody ? response.body.count : 0))
        bytes.append(contentsOf: head.utf8)
        if sendsBody { bytes.append(contentsOf: response.body) }
        return bytes
    }

    /// Names must be tokens, values visible text: no CR, LF, NUL or other controls.
    static func headersAreSafe(_ headers: HTTPHeaders) -> Bool {
        headers.allSatisfy { field in
            !field.name.isEmpty && field.name.utf8.allSatisfy(Ascii.isTokenChar)
                && field.value.utf8.allSatisfy { $0 == Ascii.tab || $0 >= 0x20 && $0 != 0x7F }
        }
    }

    /// A server-made error (400, 408, 503, ...) in the shared JSON shape; these always close.
    static func serverError(_ status: HTTPStatus, _ message: String, retryAfterSeconds: Int? = nil, date: String) -> [UInt8] {
        serialize(.serverError(status, message, retryAfterSeconds: retryAfterSeconds), keepAlive: false, omitBody: false, date: date)
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), formatted by hand with gmtime_r: no locale, no
/// Foundation formatter on the hot path.
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String { format(time(nil)) }

    static func format(_ seconds: time_t) -> String {
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = days[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
