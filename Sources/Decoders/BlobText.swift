import Foundation

/// Turns what a user hands `capreg decode` (a file or stdin) into bytes, and register text
/// (as sysfs prints it: hex without `0x`, trailing newline) into integers.
public enum BlobEncoding: String, Sendable, CaseIterable {
    case raw, hex, base64

    /// Text that is only hex digits (with optional `0x`, whitespace, `:` or `-` separators) is hex;
    /// text that is only base64 characters is base64; anything else is raw bytes.
    public static func detect(_ data: [UInt8]) -> BlobEncoding {
        var sawContent = false
        var allHex = true
        var allBase64 = true
        for b in data {
            switch b {
            case 0x09, 0x0A, 0x0D, 0x20: continue
            default: sawContent = true
            }
            let isHexDigit = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
            let isSep = b == 0x3A || b == 0x2D || b == 0x78 || b == 0x58  // ':' '-' 'x' 'X'
            let isB64 = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2B || b == 0x2F || b == 0x3D
            if !(isHexDigit || isSep) { allHex = false }
            if !isB64 { allBase64 = false }
            if !allHex && !allBase64 { return .raw }
        }
        if !sawContent { return .raw }
        return allHex ? .hex : .base64
    }
}

public enum BlobText {
    /// Decodes `data` in the given (or detected) encoding.
    public static func bytes(_ data: [UInt8], encoding: BlobEncoding? = nil) throws(DecodeError) -> [UInt8] {
        switch encoding ?? BlobEncoding.detect(data) {
        case .raw: return data
        case .hex: return try hexBytes(data)
        case .base64:
            let text = String(decoding: data.filter { !($0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09) }, as: UTF8.self)
            guard let decoded = Data(base64Encoded: text) else {
                throw DecodeError(.badText, offset: 0, expected: "base64 text", found: "characters or padding base64 does not allow", context: "input")
            }
            return [UInt8](decoded)
        }
    }

    /// Hex text to bytes: whitespace and `:`/`-` separators are ignored, `0x` prefixes are skipped.
    public static func hexBytes(_ data: [UInt8]) throws(DecodeError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count / 2)
        var high: UInt8? = nil
        var i = 0
        while i < data.count {
            let b = data[i]
            if b == 0x30, i + 1 < data.count, data[i + 1] | 0x20 == 0x78 {  // "0x"
                i += 2
                continue
            }
            switch b {
            case 0x09, 0x0A, 0x0D, 0x20, 0x3A, 0x2D:
                i += 1
                continue
            default: break
            }
            guard let nibble = hexValue(b) else {
                throw DecodeError(.badText, offset: i, expected: "a hex digit", found: "byte \(hex(UInt64(b)))", context: "hex input")
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
            i += 1
        }
        if high != nil {
            throw DecodeError(.badText, offset: data.count, expected: "an even number of hex digits", found: "an odd number", context: "hex input")
        }
        return out
    }

    /// A register value as text: sysfs hex (`d2008c22260286`), `0x…` hex, with surrounding whitespace.
    /// Register text is always hex (the kernel prints `%llx`), so no decimal form is accepted.
    public static func register(_ text: String, name: String = "register") throws(DecodeError) -> UInt64 {
        var value: UInt64 = 0
        var digits = 0
        var seenEnd = false
        var utf8 = Substring(text).utf8[...]
        while let b = utf8.first, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { utf8 = utf8.dropFirst() }
        if utf8.count >= 2, utf8.first == 0x30, utf8.dropFirst().first! | 0x20 == 0x78 { utf8 = utf8.dropFirst(2) }
        for b in utf8 {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { seenEnd = true; continue }
            guard !seenEnd, digits < 16, let nibble = hexValue(b) else { return try registerError(text, name) }
            value = value << 4 | UInt64(nibble)
            digits += 1
        }
        guard digits > 0 else { return try registerError(text, name) }
        return value
    }

    static func registerError(_ text: String, _ name: String) throws(DecodeError) -> UInt64 {
        throw DecodeError(.badText, offset: 0, expected: "\(name) as hex text of at most 16 digits (sysfs form, optional 0x)",
                          found: "\"\(text.prefix(40))\"", context: name)
    }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}
