import Foundation
import Testing
import TestSupport

/// `capreg retract`: a report from 2099 (taken while the skew bound was raised to its 100-year limit) stops freezing its
/// host; refusals exit with the CLI's codes.
@Suite struct RetractCommandTests {
    /// A synthetic report with its id and time replaced, as one JSON line.
    static func report(from line: Substring, id: String, collectedAt: String) throws -> String {
        var report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        report["report_id"] = id
        report["collected_at"] = collectedAt
        return String(decoding: try JSONSerialization.data(withJSONObject: report), as: UTF8.self)
    }

    @Test func retractUnfreezesTheHostAndRefusesWhatItCannotDo() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let synth = try CapregBinary.run(["synth", "--hosts", "1", "--days", "1"])
        let line = try #require(synth.stdout.split(separator: "\n").first)
        let lines = [try Self.report(from: line, id: "good-1", collectedAt: "2025-01-01T00:00:00Z"),
                     try Self.report(from: line, id: "far", collectedAt: "2099-01-01T00:00:00Z"),
                     try Self.report(from: line, id: "good-2", collectedAt: "2025-01-02T00:00:00Z")]
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dir.path("r.jsonl")))
        let ingest = try CapregBinary.run(["ingest", dir.path("r.jsonl"), "--db", db, "--max-clock-skew", "36500d"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        func reportedAt() throws -> String? {
            let run = try CapregBinary.run(["query", "--db", db, "--json", "--fresh-within", "off"])
            let hosts = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
            return hosts?.first?["reported_at"] as? String
        }
        #expect(try reportedAt()?.hasPrefix("2099-01-01") == true, "frozen on the far-future report")

        let retract = try CapregBinary.run(["retract", "far", "--reason", "clock decades ahead", "--db", db])
        #expect(retract.status == 0, "\(retract.stderr)")
        #expect(retract.stdout.hasPrefix("retracted far of host ") && retract.stdout.contains("revision 4"), "\(retract.stdout)")
        #expect(try reportedAt()?.hasPrefix("2025-01-02") == true)

        let twice = try CapregBinary.run(["retract", "far", "--reason", "again", "--db", db])
        #expect(twice.status == 0 && twice.stdout.contains("far was already retracted") && twice.stdout.contains("clock decades ahead"),
                "\(twice.stdout)")

        let unknown = try CapregBinary.run(["retract", "nope", "--reason", "x", "--db", db])
        #expect(unknown.status == 65 && unknown.stderr.contains("report_id nope: no such report is stored"), "\(unknown.stderr)")
        _ = try CapregBinary.run(["retract", "good-1", "--reason", "x", "--db", db])
        let only = try CapregBinary.run(["retract", "good-2", "--reason", "x", "--db", db])
        #expect(only.status == 65 && only.stderr.contains("the only report of host"), "\(only.stderr)")

        #expect(try CapregBinary.run(["retract", "far", "--db", db]).status == 64, "--reason is required")
        #expect(try CapregBinary.run(["retract", "far", "--reason", " ", "--db", db]).status == 64)
        let missing = try CapregBinary.run(["retract", "far", "--reason", "x", "--db", dir.path("absent.sqlite")])
        #expect(missing.status == 66 && !FileManager.default.fileExists(atPath: dir.path("absent.sqlite")), "\(missing.stderr)")
    }
}
