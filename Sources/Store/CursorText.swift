import Foundation

/// The one cursor codec of every paged list (hosts, changes, history, kernels, the vocabulary): a tag
/// naming the list and format, then the last key of the page, base64url without padding, so that clients
/// treat cursors as opaque and a later format can be told apart.
public enum CursorText {
    /// Longer cursors are refused before decoding (no key of ours comes near it).
    public static let maxBytes = 4096

    public static func encode(_ tag: String, _ key: String) -> String {
        Base64URL.encode(Array((tag + ":" + key).utf8))
    }

    /// The key of a cursor made with `tag`; nil for anything else.
    public static func decode(_ tag: String, _ cursor: String) -> String? {
        guard cursor.utf8.count <= maxBytes, let bytes = Base64URL.decode(cursor),
              let text = String(validating: bytes, as: UTF8.self), text.hasPrefix(tag + ":") else { return nil }
        return String(text.dropFirst(tag.count + 1))
    }
}

/// RFC 4648 §5 base64url without padding, over bytes: through Foundation (Data's base64 and three
/// replacingOccurrences) one cursor cost a twentieth of a compact page.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let group = UInt32(bytes[i]) << 16 | (n > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (n > 2 ? UInt32(bytes[i + 2]) : 0)
            for k in 0...n { out.append(alphabet[Int(group >> (18 - 6 * UInt32(k)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `text`; nil for a character outside the alphabet, padding, a length that no encoding
    /// has (1 mod 4), or bits left over that an encoder would have written as zero.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var group: UInt32 = 0, bits = 0
        for c in chars {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default: return nil
            }
            group = group << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: group >> UInt32(bits)))
                group &= (1 << UInt32(bits)) - 1
            }
        }
        return group == 0 ? out : nil
    }
}
