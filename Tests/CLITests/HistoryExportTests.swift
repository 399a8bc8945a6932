import Foundation
import Testing
import TestSupport

/// `capreg export history` and `capreg import-history`: the files agree with their manifest, a changed
/// byte is found and named, and JSON Lines loads back into a registry whose own export is the same.
@Suite struct HistoryExportTests {
    static func manifest(_ dir: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as? [String: Any])
    }

    static func rows(_ manifest: [String: Any]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (manifest["files"] as? [[String: Any]] ?? []).map { ($0["table"] as? String ?? "", $0["rows"] as? Int ?? -1) })
    }

    @Test func jsonLinesRoundTripIsExact() throws {
        let dir = try TempDir()
        let db = dir.path("a.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "25", "--days", "12", "--seed", "5", "--start", "2025-01-01", "--ingest", "--db", db]).status == 0)
        let retracted = try CapregBinary.run(["retract", "synth-5-3-d0", "--reason", "test: withdrawn", "--db", db])
        #expect(retracted.status == 0, "\(retracted.stderr)")
        let a = dir.path("a-export")
        let export = try CapregBinary.run(["export", "history", "--out", a, "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let counts = Self.rows(try Self.manifest(a))
        #expect(counts["retractions"] == 1 && (counts["reports"] ?? 0) > 25 && (counts["facts"] ?? 0) > 0 && (counts["heartbeats"] ?? 0) > 0)
        // The counts are the files' lines.
        for (table, rows) in counts {
            let text = try String(contentsOfFile: a + "/\(table).jsonl", encoding: .utf8)
            #expect(text.split(separator: "\n").count == rows, "\(table)")
        }

        let copy = dir.path("b.sqlite")
        let load = try CapregBinary.run(["import-history", a, "--db", copy])
        #expect(load.status == 0, "\(load.stderr)")
        let b = dir.path("b-export")
        #expect(try CapregBinary.run(["export", "history", "--out", b, "--db", copy]).status == 0)
        for table in ["reports", "facts", "capabilities", "retractions"] {
            let left = try Data(contentsOf: URL(fileURLWithPath: a + "/\(table).jsonl"))
            let right = try Data(contentsOf: URL(fileURLWithPath: b + "/\(table).jsonl"))
            #expect(left == right, "\(table).jsonl differs after a round trip")
        }
        // Over HTTP, page by page with an admin token: the same files (nothing was written meanwhile).
        let tokens = dir.path("tokens")
        try Data("admin admin-token-0123456789abcdef\nreader reader-token-0123456789abcdef\n".utf8).write(to: URL(fileURLWithPath: tokens))
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"), extra: ["--tokens", tokens])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        let remote = dir.path("remote-export")
        let fetched = try CapregBinary.run(["export", "history", "--out", remote, "--server", url, "--token", "admin-token-0123456789abcdef"])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        for table in counts.keys {
            let left = try Data(contentsOf: URL(fileURLWithPath: a + "/\(table).jsonl"))
            #expect(left == (try Data(contentsOf: URL(fileURLWithPath: remote + "/\(table).jsonl"))), "\(table).jsonl over --server")
        }
        #expect(try CapregBinary.run(["export", "history", "--out", dir.path("r2"), "--server", url, "--token", "reader-token-0123456789abcdef"]).status == 77)

        // Loading twice would mix two histories: refused.
        #expect(try CapregBinary.run(["import-history", a, "--db", copy]).status == 73)

        // A window: only reports collected in it.
        let w = dir.path("window")
        #expect(try CapregBinary.run(["export", "history", "--out", w, "--since", "2025-01-05", "--until", "2025-01-07", "--db", db]).status == 0)
        let lines = try String(contentsOfFile: w + "/reports.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let at = object["collected_at"] as? String ?? ""
            #expect(at >= "2025-01-05" && at < "2025-01-07", "\(at)")
        }
    }

    @Test func aChangedFileIsFoundAndCSVIsForReading() throws {
        let dir = try TempDir()
        let db = dir.path("a.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "6", "--days", "3", "--ingest", "--db", db]).status == 0)
        let csv = dir.path("csv")
        #expect(try CapregBinary.run(["export", "history", "--out", csv, "--format", "csv", "--db", db]).status == 0)
        let verified = try CapregBinary.run(["import-history", csv, "--verify-only"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let header = try String(contentsOfFile: csv + "/facts.csv", encoding: .utf8).components(separatedBy: "\r\n").first
        #expect(header == "hostname,name,type,value_int,value_text,valid_from,valid_to,opened_by,closed_by")
        #expect(try CapregBinary.run(["import-history", csv, "--db", dir.path("c.sqlite")]).status == 65)

        // One byte changed, the size kept: the checksum names the file.
        let path = csv + "/reports.csv"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var bytes = original
        let i = bytes.count / 2
        bytes[i] = bytes[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try bytes.write(to: URL(fileURLWithPath: path))
        let tampered = try CapregBinary.run(["import-history", csv, "--verify-only"])
        #expect(tampered.status == 65 && tampered.stderr.contains("reports.csv") && tampered.stderr.contains("SHA-256"), "\(tampered.stderr)")
        try original.write(to: URL(fileURLWithPath: path))
        #expect(try CapregBinary.run(["import-history", csv, "--verify-only"]).status == 0)
        try FileManager.default.removeItem(atPath: csv + "/heartbeats.csv")
        #expect(try CapregBinary.run(["import-history", csv, "--verify-only"]).stderr.contains("heartbeats.csv"))

        // An export goes into a directory of its own; an import needs a finished one.
        #expect(try CapregBinary.run(["export", "history", "--out", csv, "--db", db]).status == 73)
        #expect(try CapregBinary.run(["export", "history", "--out", dir.path("x"), "--format", "xml", "--db", db]).status == 64)
        #expect(try CapregBinary.run(["export", "history", "--out", dir.path("x"), "--db", dir.path("none.sqlite")]).status == 66)
        try FileManager.default.createDirectory(atPath: dir.path("empty"), withIntermediateDirectories: true)
        #expect(try CapregBinary.run(["import-history", dir.path("empty"), "--verify-only"]).status == 65)
        #expect(try CapregBinary.run(["import-history", dir.path("nowhere"), "--verify-only"]).status == 66)
    }
}
