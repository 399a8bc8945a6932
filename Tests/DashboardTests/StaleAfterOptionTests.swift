import Foundation
import Testing

@Suite("capreg serve --stale-after")
struct StaleAfterOptionTests {
    @Test("a malformed duration is refused at start with what was expected")
    func refused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capreg-stale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CapregBinary.run(["serve", "--db", dir.appendingPathComponent("r.sqlite").path, "--listen", "127.0.0.1:0",
                                        "--stale-after", "2w"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--stale-after \"2w\": expected a number and a unit: s, m, h or d (90s, 30m, 2h, 7d)"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.sqlite").path))
    }
}
