import Foundation

/// The registry's SQL text made PostgreSQL's: `?` placeholders become `$1, $2…` (and `?NNN` becomes
/// `$NNN`), and a script is cut into its statements. Both read the text through one lexer, so a `?` or
/// `;` inside a string, a quoted identifier, a comment or a `$$…$$` body is left alone.
public enum PostgresSQLText {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `?` and `?NNN` in one statement: their numbering would not agree.
        case mixedPlaceholders

        public var description: String {
            switch self {
            case .mixedPlaceholders: return "a statement mixes ? and ?NNN placeholders"
            }
        }
    }

    /// `sql` with its placeholders in PostgreSQL's form.
    public static func numberingPlaceholders(_ sql: String) throws -> String {
        let bytes = Array(sql.utf8)
        let code = codeMask(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var next = 1
        var sawPlain = false, sawNumbered = false
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            guard c == UInt8(ascii: "?"), code[i] else {
                out.append(c)
                i += 1
                continue
            }
            out.append(UInt8(ascii: "$"))
            var j = i + 1
            while j < bytes.count, isDigit(bytes[j]) { j += 1 }
            if j > i + 1 {
                sawNumbered = true
                out.append(contentsOf: bytes[(i + 1)..<j])
            } else {
                sawPlain = true
                out.append(contentsOf: String(next).utf8)
                next += 1
            }
            i = j
        }
        if sawPlain && sawNumbered { throw Failure.mixedPlaceholders }
        return String(decoding: out, as: UTF8.self)
    }

    /// The statements of a script, without their `;`; pieces holding only blanks and comments are left
    /// out (PostgreSQL answers an empty query with no command tag).
    public static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        let code = codeMask(bytes)
        var statements: [String] = []
        var start = 0
        var hasCode = false
        for i in 0...bytes.count {
            if i == bytes.count || (code[i] && bytes[i] == UInt8(ascii: ";")) {
                if hasCode { statements.append(String(decoding: bytes[start..<i], as: UTF8.self)) }
                start = i + 1
                hasCode = false
            } else if code[i] && !isBlank(bytes[i]) {
                hasCode = true
            }
        }
        return statements
    }

    /// For each byte of `sql`, whether it is plain SQL (true) or inside a string constant, a quoted
    /// identifier, a comment or a dollar-quoted body (false). Unterminated ones run to the end.
    static func codeMask(_ bytes: [UInt8]) -> [Bool] {
        var code = [Bool](repeating: true, count: bytes.count)
        let n = bytes.count
        func quiet(_ range: Range<Int>) { for k in range { code[k] = false } }
        var i = 0
        while i < n {
            let c = bytes[i]
            let next: UInt8? = i + 1 < n ? bytes[i + 1] : nil
            switch c {
            case UInt8(ascii: "'"):
                // E'…' strings take backslash escapes; standard strings only double the quote.
                let backslashes = i > 0 && (bytes[i - 1] == UInt8(ascii: "E") || bytes[i - 1] == UInt8(ascii: "e"))
                    && (i < 2 || !isIdentifierByte(bytes[i - 2]))
                let end = quotedEnd(bytes, from: i, quote: c, backslashes: backslashes)
                quiet(i..<end)
                i = end
            case UInt8(ascii: "\""):
                let end = quotedEnd(bytes, from: i, quote: c, backslashes: false)
                quiet(i..<end)
                i = end
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                var end = i
                while end < n, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                quiet(i..<end)
                i = end
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                // Block comments nest in PostgreSQL.
                var depth = 0, end = i
                while end < n {
                    if bytes[end] == UInt8(ascii: "/"), end + 1 < n, bytes[end + 1] == UInt8(ascii: "*") {
                        depth += 1; end += 2
                    } else if bytes[end] == UInt8(ascii: "*"), end + 1 < n, bytes[end + 1] == UInt8(ascii: "/") {
                        depth -= 1; end += 2
                        if depth == 0 { break }
                    } else {
                        end += 1
                    }
                }
                quiet(i..<end)
                i = end
            case UInt8(ascii: "$"):
                if let end = dollarQuotedEnd(bytes, from: i) {
                    quiet(i..<end)
                    i = end
                } else {
                    i += 1
                }
            default:
                i += 1
            }
        }
        return code
    }

    /// Just past the closing quote of the constant opened at `start` (doubled quotes stay inside).
    static func quotedEnd(_ bytes: [UInt8], from start: Int, quote: UInt8, backslashes: Bool) -> Int {
        var i = start + 1
        while i < bytes.count {
            if backslashes && bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
            if bytes[i] == quote {
                if i + 1 < bytes.count, bytes[i + 1] == quote { i += 2; continue }
                return i + 1
            }
            i += 1
        }
        return bytes.count
    }

    /// Just past the closing tag when a `$tag$` (or `$$`) body opens at `start`; nil when the `$` is
    /// something else: a parameter `$1`, or part of an identifier such as `a$b`.
    static func dollarQuotedEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        if start > 0, isIdentifierByte(bytes[start - 1]) { return nil }
        var j = start + 1
        if j < bytes.count, isDigit(bytes[j]) { return nil }
        while j < bytes.count, isIdentifierByte(bytes[j]), bytes[j] != UInt8(ascii: "$") { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "$") else { return nil }
        let tag = bytes[start...j]
        var k = j + 1
        while k + tag.count <= bytes.count {
            if bytes[k] == UInt8(ascii: "$"), bytes[k..<(k + tag.count)].elementsEqual(tag) { return k + tag.count }
            k += 1
        }
        return bytes.count
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    static func isBlank(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
    }

    /// Bytes of an unquoted identifier (letters, digits, `_`, `$`, and any non-ASCII byte).
    static func isIdentifierByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$") || c >= 0x80
    }
}

/// Translated statements by their registry text: the same few hundred statements run again and again.
/// Bounded: when full it starts over (the registry's statements are a small fixed set; only query-language
/// SQL varies, and that is cheap to translate again).
final class PlaceholderCache: @unchecked Sendable {
    private let lock = NSLock()
    private var translations: [String: String] = [:]
    private let capacity: Int

    init(capacity: Int = 1024) { self.capacity = capacity }

    func translated(_ sql: String) throws -> String {
        lock.lock()
        let cached = translations[sql]
        lock.unlock()
        if let cached { return cached }
        let translation = try PostgresSQLText.numberingPlaceholders(sql)
        lock.lock()
        if translations.count >= capacity { translations.removeAll(keepingCapacity: true) }
        translations[sql] = translation
        lock.unlock()
        return translation
    }
}
