import Foundation

/// The one RFC 3339 parser and formatter: report times, query parameters (`as_of`, `since`, `until`), CLI
/// options (`--as-of`, `--start`, `--boot-time`), journal lines and every time the API, CLI and dashboard
/// print. By hand: ISO8601DateFormatter refuses valid forms (lowercase `t`/`z`, more than three fractional
/// digits) and allocates a formatter per call site.
///
/// Accepted (RFC 3339 §5.6 `date-time`), and nothing else:
///
///     YYYY-MM-DD ( T | t | space ) HH:MM:SS [ .F… ] ( Z | z | +HH:MM | -HH:MM )
///
/// - year 0000–9999 (four digits), month 01–12, a day that exists in that month (29 February only in a
///   leap year), hour 00–23, minute 00–59, second 00–59;
/// - second 60 only for a leap second: when the time in UTC is 23:59:60 on the last day of a month; it
///   is read as 23:59:59.999 (the last millisecond the registry can hold in that minute);
/// - a fraction of one or more digits, of any length; read to the nanosecond (the store keeps ms);
/// - offsets with hours 00–23 and minutes 00–59; `-00:00` is UTC;
/// - with `allowingDate`, also a bare `YYYY-MM-DD`: midnight UTC (for times a person types: query
///   parameters and CLI options; never in a report).
///
/// Refused, with the reason: a missing time zone, seconds or leading zeros, `+0100` or `+01`, `UTC`,
/// `24:00:00`, surrounding whitespace, anything after the time zone.
public enum RFC3339 {
    /// Why a text is not a time; `description` says what was expected and what is wrong.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var allowedDate: Bool

        public var description: String {
            (allowedDate ? "expected an RFC 3339 time (2025-01-05T12:00:00Z) or a date (2025-01-05)"
                         : "expected an RFC 3339 time (2025-01-05T12:00:00Z)") + ": " + reason
        }
    }

    /// A date-time, or with `allowingDate` also a bare date (midnight UTC).
    public static func parse(_ text: String, allowingDate: Bool = false) throws(Refusal) -> Date {
        let b = Array(text.utf8)
        func fail(_ reason: String) -> Refusal { Refusal(reason: reason, allowedDate: allowingDate) }
        func isDigit(_ i: Int) -> Bool { i < b.count && b[i] >= 0x30 && b[i] <= 0x39 }
        func num(_ from: Int, _ count: Int) -> Int? {
            guard (from..<(from + count)).allSatisfy(isDigit) else { return nil }
            return b[from..<(from + count)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }

        guard let year = num(0, 4), at(4, "-"), let month = num(5, 2), at(7, "-"), let day = num(8, 2) else {
            throw fail(b.isEmpty ? "the text is empty" : "it must start with a date YYYY-MM-DD")
        }
        guard (1...12).contains(month) else { throw fail("month \(month) is not 01–12") }
        guard day >= 1, day <= daysIn(month: month, year: year) else {
            throw fail("day \(day) does not exist in \(pad(year, 4))-\(pad(month, 2))")
        }
        if b.count == 10 {
            guard allowingDate else { throw fail("a date alone is not a time (add THH:MM:SSZ)") }
            return Date(timeIntervalSince1970: Double(daysFromCivil(year, month, day)) * 86400)
        }
        guard at(10, "T") || at(10, "t") || at(10, " ") else { throw fail("expected T (or t, or a space) after the date") }
        guard let hour = num(11, 2), at(13, ":"), let minute = num(14, 2), at(16, ":"), let second = num(17, 2) else {
            throw fail("the time must be HH:MM:SS, seconds included")
        }
        guard hour <= 23 else { throw fail("hour \(hour) is not 00–23") }
        guard minute <= 59 else { throw fail("minute \(minute) is not 00–59") }
        guard second <= 60 else { throw fail("second \(second) is not 00–59 (60 only for a leap second)") }
        var i = 19
        var nanos = 0
        if at(i, ".") {
            i += 1
            let start = i
            while isDigit(i) {
                if i - start < 9 { nanos = nanos * 10 + Int(b[i] - 0x30) }
                i += 1
            }
            guard i > start else { throw fail("a fraction needs at least one digit after the dot") }
            for _ in min(i - start, 9)..<9 { nanos *= 10 }
        }
        var offset = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-") {
            let sign = b[i] == 0x2B ? 1 : -1
            guard let oh = num(i + 1, 2), at(i + 3, ":"), let om = num(i + 4, 2), oh <= 23, om <= 59 else {
                throw fail("the offset must be +HH:MM or -HH:MM (hours 00–23, minutes 00–59)")
            }
            offset = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            throw fail(i == b.count ? "the time zone is missing (end with Z or an offset such as +01:00)"
                                    : "expected a fraction, Z or an offset such as +01:00 after the seconds")
        }
        guard i == b.count else { throw fail("unexpected text after the time zone") }
        let days = daysFromCivil(year, month, day)
        let local = days * 86400 + hour * 3600 + minute * 60
        if second == 60 {
            // A leap second is inserted at the end of a UTC month, after 23:59:59.
            let utc = local - offset
            let utcDay = utc >= 0 ? utc / 86400 : (utc - 86399) / 86400
            let (y, m, d) = civil(fromDays: Int64(utcDay))
            guard utc - utcDay * 86400 == 86340, d == Int64(daysIn(month: Int(m), year: Int(y))) else {
                throw fail("second 60 (a leap second) exists only at 23:59:60 UTC on a month's last day")
            }
            return Date(timeIntervalSince1970: Double(utc + 59) + 0.999)
        }
        return Date(timeIntervalSince1970: Double(local + second - offset) + Double(nanos) / 1e9)
    }

    /// `2025-01-05T12:00:00.000Z`: UTC, to the nearest millisecond (the store's resolution, which rounds
    /// the same way), so what is printed is what was stored.
    public static func format(_ date: Date) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `format(date)`'s bytes appended to `out`, without making a String (a page writes one per host).
    public static func append(_ date: Date, to out: inout [UInt8]) {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        // A year no time text can carry (parse takes 0000–9999) comes out as its decimal digits, padded.
        guard (0...9999).contains(y) else {
            out.append(contentsOf: ("\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(msOfDay / 3_600_000, 2)):"
                + "\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z").utf8)
            return
        }
        // The 24 bytes are written in place, then appended once: a page writes one per host, and 24
        // appends of a byte each (every one checking the array's uniqueness and capacity) cost more.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { text in
            func digits(_ n: Int64, _ width: Int, at start: Int) {
                var n = n
                for i in stride(from: start + width - 1, through: start, by: -1) {
                    text[i] = 0x30 + UInt8(truncatingIfNeeded: n % 10)
                    n /= 10
                }
            }
            digits(Int64(y), 4, at: 0)
            text[4] = 0x2D
            digits(Int64(m), 2, at: 5)
            text[7] = 0x2D
            digits(Int64(d), 2, at: 8)
            text[10] = 0x54
            digits(msOfDay / 3_600_000, 2, at: 11)
            text[13] = 0x3A
            digits(msOfDay / 60_000 % 60, 2, at: 14)
            text[16] = 0x3A
            digits(msOfDay / 1000 % 60, 2, at: 17)
            text[19] = 0x2E
            digits(msOfDay % 1000, 3, at: 20)
            text[23] = 0x5A
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    static func pad<N: BinaryInteger>(_ n: N, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
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
