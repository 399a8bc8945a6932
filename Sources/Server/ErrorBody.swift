// fuzz/run.sh compiles Server and JSONText as one module (the http_request target), where there is
// nothing to import.
#if canImport(JSONText)
import JSONText
#endif

/// A value that may sit beside `code` and `message` in an error body.
public enum ErrorDetail: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
    /// Already-encoded JSON, inserted as is (the caller vouches for it).
    case rawJSON(String)
}

/// Encodes the error shape by hand: tiny, deterministic member order, and no Foundation encoder on a
/// path that also runs when the server is shedding load.
public enum ErrorBody {
    public static func encode(code: String, message: String, details: [(String, ErrorDetail)] = []) -> [UInt8] {
        var out = JSONWriter()
        out.objectStart()
        out.key("error")
        out.objectStart()
        out.key("code")
        out.string(code)
        out.key("message")
        out.string(message)
        for (key, value) in details {
            out.key(key)
            switch value {
            case .string(let s): out.string(s)
            case .int(let i): out.int(i)
            case .bool(let b): out.bool(b)
            case .strings(let list):
                out.arrayStart()
                for s in list { out.string(s) }
                out.arrayEnd()
            case .rawJSON(let json): out.json(json)
            }
        }
        out.objectEnd()
        out.objectEnd()
        return out.bytes
    }

    /// The machine-readable `code` the server uses for each status it produces itself.
    public static func code(for status: HTTPStatus) -> String {
        switch status.code {
        case 400: "bad_request"
        case 408: "request_timeout"
        case 411: "length_required"
        case 413: "content_too_large"
        case 414: "uri_too_long"
        case 417: "expectation_failed"
        case 429: "too_many_requests"
        case 431: "header_fields_too_large"
        case 500: "internal_error"
        case 501: "not_implemented"
        case 503: "service_unavailable"
        case 505: "http_version_not_supported"
        default: "http_\(status.code)"
        }
    }
}
