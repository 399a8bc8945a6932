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
        let plain = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2"])
        #expect(plain.status == 0)
        #expect(try CapregBinary.run(["synth", "--hosts", "5", "--days", "2"]).stdout == plain.stdout, "the same seed gives the same bytes")
        #expect(try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "2025-01-01"]).stdout == plain.stdout, "the default")
        let jan = Date(timeIntervalSince1970: 1_735_689_600)
        #expect(try times(plain.stdout).allSatisfy { $0 >= jan && $0 < jan.addingTimeInterval(2 * 86_400) })

        let feb = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "2025-02-01T00:00:00Z"])
        #expect(try times(feb.stdout) == times(plain.stdout).map { $0.addingTimeInterval(31 * 86_400) })

        let now = Date()
        let recent = try times(CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "now"]).stdout)
        #expect(recent.allSatisfy { $0 > now.addingTimeInterval(-2 * 86_400 - 60) && $0 <= Date() })
        #expect(recent.contains { $0 > now.addingTimeInterval(-86_400 - 60) }, "the last day ends now")

        let bad = try CapregBinary.run(["synth", "--hosts", "5", "--days", "2", "--start", "yesterday"])
        #expect(bad.status == 64 && bad.stderr.contains("--start yesterday"), "\(bad.stderr)")
    }
}
