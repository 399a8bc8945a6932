import Foundation

/// Times are stored as integer milliseconds since the Unix epoch; `openEnd` marks an interval still
/// open (a plain integer, so that `valid_to > T` stays an index range).
public enum StoreTime {
    static let openEnd = Int64.max

    public static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
    static func end(_ ms: Int64) -> Date? { ms == openEnd ? nil : date(ms) }
}
