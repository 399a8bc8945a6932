import Foundation
import Testing
import TestSupport

@Suite("capreg serve --stale-after")
struct StaleAfterOptionTests {
    @Test("a malformed duration is refused at start with what was expected")
    func refused() throws {
        let dir = try TempDir()
        let run = try CapregBinary.run(["serve", "--db", dir.path("r.sqlite"), "--listen", "127.0.0.1:0",
                                        "--stale-after", "2w"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--stale-after \"2w\": expected a number and a unit: s, m, h or d (90s, 30m, 2h, 7d)"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("r.sqlite")))
    }
}
