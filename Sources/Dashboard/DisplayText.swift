import Decoders
import Foundation
import Timestamps

/// How times, ages and values read on a page.
public enum DisplayText {
    /// `2025-01-10 23:59 UTC`: RFC 3339's date and minute.
    public static func time(_ date: Date) -> String {
        let text = RFC3339.format(date)  // 2025-01-10T23:59:59.000Z
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    /// `2025-01-10`, for date inputs and links.
    public static func day(_ date: Date) -> String { String(time(date).prefix(10)) }

    /// `3 d 4 h`, `25 min`: the two largest units of a non-negative span.
    public static func age(_ seconds: Double) -> String {
        let s = max(0, Int64(seconds))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86_400 { return "\(s / 3600) h \(s / 60 % 60) min" }
        return "\(s / 86_400) d \(s / 3600 % 24) h"
    }

    public static func value(_ v: FactValue?) -> String { v.map(\.description) ?? "–" }

    /// `1 host`, `3 hosts`.
    public static func hosts(_ n: Int) -> String { n == 1 ? "1 host" : "\(n) hosts" }
}
