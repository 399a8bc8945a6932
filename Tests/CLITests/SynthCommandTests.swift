import Foundation
import Testing
import TestSupport
import Timestamps

/// `capreg synth`: deterministic JSON Lines, and --start placing day 0.
@Suite struct SynthCommandTests {
    func times(_ stdout: String) throws -> [Date] {
        try stdout.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return try RFC3339.parse(object["collected_at"] as! String)
        }
    }

    @Test func startPlacesDayZero() throws {
        let plain = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "2025-01-01"])
        #expect(plain.status == 0)
        #expect(try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "2025-01-01"]).stdout == plain.stdout,
                "the same seed and start give the same bytes")
        let jan = Date(timeIntervalSince1970: 1_735_689_600)
        #expect(try times(plain.stdout).allSatisfy { $0 >= jan && $0 < jan.addingTimeInterval(2 * 86_400) })

        let feb = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "2025-02-01T00:00:00Z"])
        #expect(try times(feb.stdout) == times(plain.stdout).map { $0.addingTimeInterval(31 * 86_400) })
    }

    /// By default the last day ends now and its reports come in the last hour: fresh for serve's 2h default.
    @Test func theDefaultEndsNow() throws {
        let before = Date()
        let run = try CapregBinary.run(["synth", "--hosts", "20", "--days", "3"])
        let after = Date()
        #expect(run.status == 0, "\(run.stderr)")
        let lastDay = run.stdout.split(separator: "\n").filter { $0.contains("-d2\"") }.joined(separator: "\n")
        let last = try times(lastDay)
        #expect(last.count >= 15, "most hosts still report on the last day")
        #expect(last.allSatisfy { $0 > before.addingTimeInterval(-3600) && $0 <= after }, "\(last)")
        #expect(try times(run.stdout).allSatisfy { $0 > before.addingTimeInterval(-3 * 86_400) && $0 <= after })
        #expect(try CapregBinary.run(["synth", "--hosts", "20", "--days", "3", "--start", "now"]).status == 0)
        let bad = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "yesterday"])
        #expect(bad.status == 64 && bad.stderr.contains("--start yesterday"), "\(bad.stderr)")
    }

    /// --out writes into the path it names: a symlink stays a symlink (and its target gets the lines), as
    /// /dev/null stays a device. It was once replaced by a new file renamed over it.
    @Test func outWritesInPlace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synth-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("old old old old old old old old old old\n".utf8).write(to: URL(fileURLWithPath: dir + "/target"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/target")
        let run = try CapregBinary.run(["synth", "--hosts", "3", "--days", "1", "--start", "2025-01-01", "--out", dir + "/link"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link") == dir + "/target")
        let written = try String(contentsOfFile: dir + "/target", encoding: .utf8)
        #expect(written == (try CapregBinary.run(["synth", "--hosts", "3", "--days", "1", "--start", "2025-01-01"])).stdout)

        let refused = try CapregBinary.run(["synth", "--hosts", "3", "--days", "1", "--out", dir + "/missing/file"])
        #expect(refused.status == 64 && refused.stderr.contains("--out \(dir)/missing/file"), "\(refused.stderr)")
    }
}
