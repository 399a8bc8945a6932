import NIOCore
import Store

/// Rows as the text format of `COPY … FROM STDIN` (PostgreSQL's documentation, "COPY", File Formats, Text
/// Format): one line a row, columns separated by tabs, NULL as `\N`; in a value, backslash, tab, newline and
/// carriage return are written as `\\`, `\t`, `\n`, `\r`. Each column's text goes through its type's input
/// function: integers and floats in decimal, bytea as `\x` and hex (its backslash escaped, so `\\x…`).
enum PostgresCopyText {
    static func encode(_ rows: [[SQLValue]], into out: inout ByteBuffer) {
        for row in rows {
            for (i, value) in row.enumerated() {
                if i > 0 { out.writeInteger(UInt8(ascii: "\t")) }
                write(value, into: &out)
            }
            out.writeInteger(UInt8(ascii: "\n"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func write(_ value: SQLValue, into out: inout ByteBuffer) {
        switch value {
        case .null:
            out.writeStaticString("\\N")
        case .int(let i):
            out.writeString(String(i))
        case .double(let d):
            // Swift's description is the shortest text that reads back as the same double; PostgreSQL's
            // float8 input takes it, and "inf", "-inf", "nan" as Infinity, -Infinity, NaN.
            out.writeString(d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : d.description)
        case .text(let s):
            for byte in s.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): out.writeStaticString("\\\\")
                case UInt8(ascii: "\t"): out.writeStaticString("\\t")
                case UInt8(ascii: "\n"): out.writeStaticString("\\n")
                case UInt8(ascii: "\r"): out.writeStaticString("\\r")
                default: out.writeInteger(byte)
                }
            }
        case .blob(let bytes):
            out.writeStaticString("\\\\x")
            for byte in bytes {
                out.writeInteger(hexDigits[Int(byte >> 4)])
                out.writeInteger(hexDigits[Int(byte & 0x0f)])
            }
        }
    }
}
