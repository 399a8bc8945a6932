/// A duration written for people and command lines: a whole number and one unit, `90s`, `30m`, `2h`,
/// `7d`. Used by `capreg serve --stale-after` (the dashboard's stale hosts) and meant for any other
/// "how old is too old" setting, so that every option reads the same way.
public struct DurationText: Sendable, Hashable, CustomStringConvertible {
    /// Whole seconds (at least 1).
    public let seconds: Int64

    /// The longest accepted: 100 years, far past any freshness window, and no overflow when added to a time.
    public static let maxSeconds: Int64 = 100 * 365 * 86_400

    static let units: [(suffix: Character, seconds: Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]

    public init(seconds: Int64) {
        self.seconds = seconds
    }

    /// Parses `N` + `s|m|h|d` (N a positive decimal integer, no sign, no spaces, lowercase unit).
    public static func parse(_ text: String) throws(DurationError) -> DurationText {
        guard let unitChar = text.last, let unit = units.first(where: { $0.suffix == unitChar }) else {
            throw DurationError(text: text, reason: "expected a number and a unit: s, m, h or d (90s, 30m, 2h, 7d)")
        }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw DurationError(text: text, reason: "expected a whole number before '\(unitChar)' (90s, 30m, 2h, 7d)")
        }
        // Any count above maxSeconds is refused, so more than 19 digits never reach the multiplication.
        guard digits.count <= 12, let count = Int64(digits), count > 0 else {
            throw DurationError(text: text, reason: "expected a count within 1…\(maxSeconds / unit.seconds) for '\(unitChar)'")
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: unit.seconds)
        guard !overflow, seconds <= maxSeconds else {
            throw DurationError(text: text, reason: "expected a count within 1…\(maxSeconds / unit.seconds) for '\(unitChar)'")
        }
        return DurationText(seconds: seconds)
    }

    public var timeInterval: Double { Double(seconds) }

    /// The largest unit that divides it exactly: 7200 s is `2h`, 5400 s is `90m`.
    public var description: String {
        for unit in Self.units.reversed() where seconds % unit.seconds == 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }
}

public struct DurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public let reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\"\(text.prefix(40))\": \(reason)" }
}
