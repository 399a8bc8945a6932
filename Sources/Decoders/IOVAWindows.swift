/// A list of usable IOVA windows as one text fact (`vfio.iova_windows`): each window `0xSTART-0xEND`
/// (lowercase hex, `end` inclusive, as the kernel's `struct vfio_iova_range`), comma-separated, in the
/// kernel's order; the empty text is a container with no usable window. The one form that is stored,
/// read back by the query language's `covers(…)` (evaluator and SQL alike) and combined across units.
public enum IOVAWindows {
    public static func text(_ windows: [IOVARange]) -> String {
        windows.map { hex($0.start) + "-" + hex($0.end) }.joined(separator: ",")
    }

    /// The windows of `text`, or nil when it is not in the form `text(_:)` writes (every start ≤ its
    /// end). Linear in the text's length.
    public static func parse(_ text: String) -> [IOVARange]? {
        var windows: [IOVARange] = []
        var utf8 = Substring(text).utf8[...]
        guard !utf8.isEmpty else { return [] }
        while true {
            guard let start = number(&utf8), utf8.popFirst() == UInt8(ascii: "-"), let end = number(&utf8), start <= end else { return nil }
            windows.append(IOVARange(start: start, end: end))
            guard let separator = utf8.popFirst() else { return windows }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
    }

    /// `0x` and 1–16 lowercase hex digits, consumed from the front of `utf8`.
    static func number(_ utf8: inout Substring.UTF8View.SubSequence) -> UInt64? {
        guard utf8.popFirst() == UInt8(ascii: "0"), utf8.popFirst() == UInt8(ascii: "x") else { return nil }
        var value: UInt64 = 0
        var digits = 0
        while let c = utf8.first {
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            default: return digits == 0 ? nil : value
            }
            guard digits < 16 else { return nil }
            value = value << 4 | UInt64(digit)
            digits += 1
            utf8.removeFirst()
        }
        return digits == 0 ? nil : value
    }

    /// Whether some window of `text` contains `address`; nil when `text` is not a window list.
    public static func covers(_ text: String, _ address: UInt64) -> Bool? {
        parse(text).map { windows in windows.contains { $0.start <= address && address <= $0.end } }
    }

    /// The addresses usable in every one of `lists`: sorted, overlapping or touching windows merged.
    /// What a host's several containers have in common.
    public static func intersection(_ lists: [[IOVARange]]) -> [IOVARange] {
        guard var result = lists.first.map(normalized) else { return [] }
        for list in lists.dropFirst() {
            let other = normalized(list)
            var out: [IOVARange] = []
            var i = 0, j = 0
            while i < result.count && j < other.count {
                let start = max(result[i].start, other[j].start), end = min(result[i].end, other[j].end)
                if start <= end { out.append(IOVARange(start: start, end: end)) }
                if result[i].end < other[j].end { i += 1 } else { j += 1 }
            }
            result = out
        }
        return result
    }

    /// Sorted by start, overlapping or touching windows merged.
    static func normalized(_ windows: [IOVARange]) -> [IOVARange] {
        var out: [IOVARange] = []
        for w in windows.sorted(by: { $0.start < $1.start }) {
            if let last = out.last, last.end == .max || w.start <= last.end + 1 {
                out[out.count - 1].end = max(last.end, w.end)
            } else {
                out.append(w)
            }
        }
        return out
    }
}
