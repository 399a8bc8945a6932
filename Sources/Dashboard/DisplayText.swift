import Decoders
import Foundation

/// How times, ages and values read on a page.
public enum DisplayText {
    /// `2025-01-10 23:59 UTC`.
    public static func time(_ date: Date) -> String {
        let s = Int64((date.timeIntervalSince1970).rounded(.down))
        let days = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        let secondOfDay = s - days * 86_400
        let (y, m, d) = civil(days)
        return String(format: "%04lld-%02lld-%02lld %02lld:%02lld UTC", y, m, d, secondOfDay / 3600, secondOfDay / 60 % 60)
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

    /// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
    static func civil(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
