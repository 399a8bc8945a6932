import API
import ArgumentParser
import Foundation
import Timestamps

/// A time on the command line: RFC 3339, a date (midnight UTC), or a duration ago (24h, 7d). One
/// reading for every option that takes a time in the past (`audit --since`, `diff --at`, `why --at`).
enum TimeArgument {
    static func parse(_ text: String, option: String, now: Date) throws -> Date {
        do { return try RFC3339.parse(text, allowingDate: true) } catch let timeError {
            guard let duration = try? DurationText.parse(text) else {
                throw ValidationError("\(option) \(text.prefix(40)): \(timeError); or a duration ago such as 24h or 7d")
            }
            return now.addingTimeInterval(-duration.timeInterval)
        }
    }
}
