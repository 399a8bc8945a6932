/// The dashboard's URLs. Hostnames and expressions are percent-encoded into them (and then HTML-escaped
/// like any other text when written into an attribute). A host is a query parameter, not a path segment,
/// so no hostname (`..` included) can change which page a link reaches.
public enum Links {
    public static let overview = "/"

    public static func host(_ hostname: String) -> String { "/ui/host" + queryString([("name", hostname)]) }

    public static func query(_ parameters: [(String, String)]) -> String { "/ui/query" + queryString(parameters) }

    public static func changes(_ parameters: [(String, String)]) -> String { "/ui/changes" + queryString(parameters) }

    public static func audits(_ parameters: [(String, String)]) -> String { "/ui/audits" + queryString(parameters) }

    static func queryString(_ parameters: [(String, String)]) -> String {
        parameters.isEmpty ? "" : "?" + parameters.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }

    /// Everything but RFC 3986 unreserved characters is escaped, UTF-8 byte by byte.
    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
