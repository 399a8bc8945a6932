import Foundation
import Testing
import Timestamps

/// The one RFC 3339 parser and formatter (Sources/Timestamps): what is accepted, what is refused and why.
@Suite("RFC 3339")
struct RFC3339Tests {
    static func ms(_ text: String, allowingDate: Bool = false) throws -> Int64 {
        Int64((try RFC3339.parse(text, allowingDate: allowingDate).timeIntervalSince1970 * 1000).rounded())
    }

    /// 2025-01-05T12:00:00Z in milliseconds since the epoch.
    static let noon: Int64 = 1_736_078_400_000

    @Test("accepted forms and the instant each one means", arguments: [
        ("2025-01-05T12:00:00Z", noon),
        ("2025-01-05t12:00:00z", noon),
        ("2025-01-05 12:00:00Z", noon),
        ("2025-01-05T13:30:00+01:30", noon),
        ("2025-01-05T06:30:00-05:30", noon),
        ("2025-01-05T12:00:00-00:00", noon),
        ("2025-01-05T12:00:00+00:00", noon),
        ("2025-01-05T12:00:00.5Z", noon + 500),
        ("2025-01-05T12:00:00.123Z", noon + 123),
        ("2025-01-05T12:00:00.123456789Z", noon + 123),
        ("2025-01-05T12:00:00.123456789123456789Z", noon + 123),
        ("2025-01-05T12:00:00.0009Z", noon + 1),  // to the nearest millisecond, as the store keeps it
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1000),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("9999-12-31T23:59:59Z", 253_402_300_799_000),
        // Leap seconds: 23:59:60 UTC on a month's last day, read as the minute's last millisecond.
        ("2016-12-31T23:59:60Z", 1_483_228_799_999),
        ("2017-01-01T00:59:60+01:00", 1_483_228_799_999),
        ("2015-06-30T23:59:60.5Z", 1_435_708_799_999),
    ] as [(String, Int64)])
    func accepted(_ text: String, expected: Int64) throws {
        #expect(try Self.ms(text) == expected)
    }

    @Test("refused forms name what is wrong", arguments: [
        ("", "the text is empty"),
        ("2025-01-05", "a date alone is not a time"),
        ("2025-01-05T12:00:00", "the time zone is missing"),
        ("2025-01-05T12:00Z", "the time must be HH:MM:SS"),
        ("2025-1-5T12:00:00Z", "it must start with a date YYYY-MM-DD"),
        ("25-01-05T12:00:00Z", "it must start with a date YYYY-MM-DD"),
        ("+12025-01-05T12:00:00Z", "it must start with a date YYYY-MM-DD"),
        ("2025-13-05T12:00:00Z", "month 13 is not 01–12"),
        ("2025-00-05T12:00:00Z", "month 0 is not 01–12"),
        ("2025-02-29T12:00:00Z", "day 29 does not exist in 2025-02"),
        ("1900-02-29T12:00:00Z", "day 29 does not exist in 1900-02"),
        ("2025-04-31T12:00:00Z", "day 31 does not exist in 2025-04"),
        ("2025-01-05X12:00:00Z", "expected T (or t, or a space) after the date"),
        ("2025-01-05T24:00:00Z", "hour 24 is not 00–23"),
        ("2025-01-05T12:60:00Z", "minute 60 is not 00–59"),
        ("2025-01-05T12:00:61Z", "second 61 is not 00–59"),
        ("2025-01-05T12:00:60Z", "second 60 (a leap second) exists only at 23:59:60 UTC on a month's last day"),
        ("2016-12-31T23:59:60+01:00", "second 60 (a leap second) exists only at 23:59:60 UTC on a month's last day"),
        ("2016-12-30T23:59:60Z", "second 60 (a leap second) exists only at 23:59:60 UTC on a month's last day"),
        ("2025-01-05T12:00:00.Z", "a fraction needs at least one digit after the dot"),
        ("2025-01-05T12:00:00,5Z", "expected a fraction, Z or an offset such as +01:00 after the seconds"),
        ("2025-01-05T12:00:00+0100", "the offset must be +HH:MM or -HH:MM"),
        ("2025-01-05T12:00:00+01", "the offset must be +HH:MM or -HH:MM"),
        ("2025-01-05T12:00:00+24:00", "the offset must be +HH:MM or -HH:MM"),
        ("2025-01-05T12:00:00+01:60", "the offset must be +HH:MM or -HH:MM"),
        ("2025-01-05T12:00:00 UTC", "expected a fraction, Z or an offset such as +01:00 after the seconds"),
        ("2025-01-05T12:00:00 01:00", "expected a fraction, Z or an offset such as +01:00 after the seconds"),
        ("2025-01-05T12:00:00Z ", "unexpected text after the time zone"),
        (" 2025-01-05T12:00:00Z", "it must start with a date YYYY-MM-DD"),
        ("2025-01-05T12:00:00ZZ", "unexpected text after the time zone"),
        ("２０２５-01-05T12:00:00Z", "it must start with a date YYYY-MM-DD"),
    ] as [(String, String)])
    func refused(_ text: String, reason: String) {
        do {
            _ = try RFC3339.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.reason.hasPrefix(reason), "\(text): \(error.reason)")
            #expect(error.description.hasPrefix("expected an RFC 3339 time (2025-01-05T12:00:00Z): "))
        }
    }

    @Test("a bare date is midnight UTC where a person types a time, and only there")
    func bareDate() throws {
        #expect(try Self.ms("2025-01-05", allowingDate: true) == Self.noon - 12 * 3_600_000)
        #expect(throws: RFC3339.Refusal.self) { try RFC3339.parse("2025-01-05") }
        #expect(throws: RFC3339.Refusal.self) { try RFC3339.parse("2025-02-30", allowingDate: true) }
        do {
            _ = try RFC3339.parse("2025-01", allowingDate: true)
            Issue.record("accepted 2025-01")
        } catch {
            #expect(error.description == "expected an RFC 3339 time (2025-01-05T12:00:00Z) or a date (2025-01-05): it must start with a date YYYY-MM-DD")
        }
    }

    @Test("format: UTC, milliseconds, and parse reads back the same millisecond")
    func formatRoundTrip() throws {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_736_078_400.5)) == "2025-01-05T12:00:00.500Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_736_078_399.9996)) == "2025-01-05T12:00:00.000Z")
        // Every stored millisecond (the store keeps Int64 ms and makes Dates as ms / 1000) prints as itself.
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let ms = Int64.random(in: -62_167_219_200_000...253_402_300_799_999, using: &g)
            let text = RFC3339.format(Date(timeIntervalSince1970: Double(ms) / 1000))
            #expect(try Self.ms(text) == ms, "\(ms) -> \(text)")
        }
    }
}
