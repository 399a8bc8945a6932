import JSONText
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

    public func encoded() -> String { String(decoding: bytes, as: UTF8.self) }

    public var bytes: [UInt8] {
        var out = JSONWriter()
        write(into: &out)
        return out.bytes
    }

    func write(into out: inout JSONWriter) {
        switch self {
        case .null: out.null()
        case .bool(let b): out.bool(b)
        case .int(let i): out.int(i)
        case .string(let s): out.string(s)
        case .raw(let json): out.json(json)
        case .array(let items):
            out.arrayStart()
            for item in items { item.write(into: &out) }
            out.arrayEnd()
        case .object(let members):
            out.objectStart()
            for (key, value) in members {
                out.key(key)
                value.write(into: &out)
            }
            out.objectEnd()
        }
    }
}
