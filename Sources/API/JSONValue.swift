import Server

/// A JSON value with object members in the order written, encoded by hand: responses are deterministic
/// (tests and docs compare them) and no Foundation encoder sits on the request path.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// Already-encoded JSON written by the store (decoded capability values); inserted as is.
    case raw(String)

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.encoded() == b.encoded() }

    public static func int(_ i: Int) -> JSONValue { .int(Int64(i)) }
    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    public func encoded() -> String {
        var out = ""
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    public var bytes: [UInt8] { Array(encoded().utf8) }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): ErrorBody.appendJSONString(s, to: &out)
        case .raw(let json): out += json
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                ErrorBody.appendJSONString(key, to: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }
}
