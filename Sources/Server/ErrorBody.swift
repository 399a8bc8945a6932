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
        var out = "{\"error\":{\"code\":"
        appendJSONString(code, to: &out)
        out += ",\"message\":"
        appendJSONString(message, to: &out)
        for (key, value) in details {
            out += ","
            appendJSONString(key, to: &out)
            out += ":"
            switch value {
            case .string(let s): appendJSONString(s, to: &out)
            case .int(let i): out += String(i)
            case .bool(let b): out += b ? "true" : "false"
            case .strings(let list):
                out += "["
                for (i, s) in list.enumerated() {
                    if i > 0 { out += "," }
                    appendJSONString(s, to: &out)
                }
                out += "]"
            case .rawJSON(let json): out += json
            }
        }
        out += "}}"
        return Array(out.utf8)
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
        case 431: "header_fields_too_large"
        case 500: "internal_error"
        case 501: "not_implemented"
        case 503: "service_unavailable"
        case 505: "http_version_not_supported"
        default: "http_\(status.code)"
        }
    }

    /// JSON string literal: escapes quote, backslash and control characters; other text passes as UTF-8.
    public static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings (hostnames, fact names, kernels) need no escape: append them whole. A byte that
        // may need one (0xE2 may start U+2028/U+2029) sends the string through the scalar loop below.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F || $0 == 0xE2 }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
