import API
import ArgumentParser
import Report

/// `--max-clock-skew`, the same on `capreg serve` and `capreg ingest`: how far into the future a report's
/// `collected_at` may lie when it arrives. A report beyond it is refused (400 / an error naming
/// `collected_at`), since a time in the future would win over every later report of that host.
struct ClockSkewOption: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Refuse reports whose collected_at is further than this ahead of this machine's clock (90s, 10m, 2h, 7d).
        """, valueName: "duration"))
    var maxClockSkew = "10m"

    func validate() throws {
        do { _ = try DurationText.parse(maxClockSkew) } catch { throw ValidationError("--max-clock-skew \(error)") }
    }

    /// The parsed bound (validate() has refused anything unparseable).
    var duration: DurationText { (try? DurationText.parse(maxClockSkew)) ?? DurationText(seconds: Int64(ClockBound.defaultMaxSkew)) }
}
