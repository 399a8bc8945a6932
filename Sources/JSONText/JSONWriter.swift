/// Writes JSON straight into the bytes of a response body: member order as written, no intermediate
/// tree, no Foundation encoder. Commas are placed by the writer (one flag per open container), so
/// callers only say what comes next. The only JSON string escaper of the server and the API.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Open containers.
    private var depth = 0
    /// Per open container, whether the next element needs a comma before it: bit d - 1 for the container
    /// at depth d up to 64, `deeper` past it. A bit, not an array of flags: each element's comma check
    /// wrote to an array (a uniqueness check and a store), a tenth of the writer's time.
    private var needsComma: UInt64 = 0
    private var deeper: [Bool] = []
    /// A key was just written: its value takes no comma.
    private var afterKey = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func objectStart() { open(0x7B) }
    public mutating func objectEnd() { close(0x7D) }
    public mutating func arrayStart() { open(0x5B) }
    public mutating func arrayEnd() { close(0x5D) }

    private mutating func open(_ bracket: UInt8) {
        element()
        bytes.append(bracket)
        depth += 1
        if depth <= 64 { needsComma &= ~(1 << (depth - 1)) } else { deeper.append(false) }
    }

    private mutating func close(_ bracket: UInt8) {
        precondition(depth > 0, "JSONWriter: a container closed that was not opened")
        if depth > 64 { deeper.removeLast() }
        depth -= 1
        bytes.append(bracket)
    }

    /// An object member's key; the next write is its value.
    public mutating func key(_ k: String) {
        element()
        appendLiteral(k)
        bytes.append(0x3A)
        afterKey = true
    }

    public mutating func string(_ s: String) { element(); appendLiteral(s) }
    public mutating func string(_ s: String?) { if let s { string(s) } else { null() } }
    public mutating func int(_ i: Int64) { element(); appendDigits(i) }
    public mutating func int(_ i: Int) { int(Int64(i)) }
    public mutating func bool(_ b: Bool) { element(); raw(b ? "true" : "false") }
    public mutating func null() { element(); raw("null") }

    /// A string value whose bytes `write` appends between the quotes, unescaped: the caller vouches that
    /// they need no escape (digits and ASCII punctuation, as in a timestamp).
    public mutating func plainString(_ write: (inout [UInt8]) -> Void) {
        element()
        bytes.append(0x22)
        write(&bytes)
        bytes.append(0x22)
    }

    /// Already-encoded JSON (the caller vouches for it) as the next value.
    public mutating func json(_ encoded: String) { element(); bytes.append(contentsOf: encoded.utf8) }

    /// Comma bookkeeping before any value, key or container.
    private mutating func element() {
        if afterKey { afterKey = false; return }
        guard depth > 0 else { return }
        if depth <= 64 {
            let bit: UInt64 = 1 << (depth - 1)
            if needsComma & bit != 0 { bytes.append(0x2C) } else { needsComma |= bit }
        } else {
            if deeper[depth - 65] { bytes.append(0x2C) } else { deeper[depth - 65] = true }
        }
    }

    private mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendDigits(_ i: Int64) {
        if i >= 0 && i < 10 { bytes.append(0x30 + UInt8(i)); return }
        bytes.append(contentsOf: String(i).utf8)
    }

    /// An object member's key given as UTF-8 bytes (a slice of stored text, with no String made for it).
    public mutating func key(utf8 k: UnsafeBufferPointer<UInt8>) {
        element()
        appendLiteral(utf8: k, valid: false)
        bytes.append(0x3A)
        afterKey = true
    }

    /// A string value given as UTF-8 bytes (invalid sequences are written as U+FFFD, as String would read them).
    public mutating func string(utf8 s: UnsafeBufferPointer<UInt8>) { element(); appendLiteral(utf8: s, valid: false) }

    private mutating func appendLiteral(_ s: String) {
        var s = s
        s.withUTF8 { appendLiteral(utf8: $0, valid: true) }
    }

    /// A JSON string literal: escapes quote, backslash, control characters, DEL and U+2028/U+2029
    /// (which break JavaScript that embeds JSON); other text passes as UTF-8.
    /// `valid`: the bytes are a String's, valid UTF-8; others may not be, and any byte past ASCII sends
    /// them through the scalar loop, which reads invalid sequences as U+FFFD.
    private mutating func appendLiteral(utf8: UnsafeBufferPointer<UInt8>, valid: Bool) {
        bytes.append(0x22)
        // Most strings (hostnames, fact names, kernels) need no escape: append them whole. A byte that
        // may need one (0xE2 may start U+2028/U+2029) sends the string through the scalar loop below.
        // Past ASCII: 0xE2 only, for valid UTF-8; any byte, for bytes that may not be.
        if JSONWriter.needsNoEscape(utf8, unchecked: valid ? 0 : 0x80) {
            bytes.append(contentsOf: utf8)
        } else {
            for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
                switch scalar {
                case "\"": bytes.append(contentsOf: [0x5C, 0x22])
                case "\\": bytes.append(contentsOf: [0x5C, 0x5C])
                case "\n": bytes.append(contentsOf: [0x5C, 0x6E])
                case "\r": bytes.append(contentsOf: [0x5C, 0x72])
                case "\t": bytes.append(contentsOf: [0x5C, 0x74])
                case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                    let hex = String(scalar.value, radix: 16)
                    bytes.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
                default:
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(0x22)
    }

    /// No byte may need an escape. Eight bytes at a time while every byte is printable ASCII other than
    /// quote and backslash (most of an answer's strings, through); from the first word that is not (it
    /// may hold a control, a quote, a backslash, DEL or a byte past ASCII), byte by byte.
    /// `contains(where:)` called the buffer iterator's `next` once a byte: a tenth of a compact page's JSON.
    private static func needsNoEscape(_ utf8: UnsafeBufferPointer<UInt8>, unchecked: UInt8) -> Bool {
        guard let base = utf8.baseAddress else { return true }
        var i = 0
        while i + 8 <= utf8.count,
              !mayNeedEscape(UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
            i += 8
        }
        while i < utf8.count {
            let b = base[i]
            if b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F || b == 0xE2 || b & unchecked != 0 { return false }
            i += 1
        }
        return true
    }

    /// Whether any byte of the word is below 0x20, a quote, a backslash, or 0x7F and above. Exact as
    /// a whole (the classic zero-byte and less-than tests for bytes below 0x80, byte order immaterial);
    /// a word it flags is read again byte by byte, so the answer never rests on it alone.
    static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        let below20 = (w &- ones &* 0x20) & ~w & highs != 0
        return w & highs != 0 || below20 || hasZeroByte(w ^ (ones &* 0x22)) || hasZeroByte(w ^ (ones &* 0x5C))
            || hasZeroByte(w ^ (ones &* 0x7F))
    }
}
