import Foundation
import Testing
import TestSupport

/// `capreg audit kernel-upgrade`, `audit predict`, `diff` and `why`: --db and --server print the same
/// document, the table says what the document says, and refusals exit with the CLI's codes.
@Suite struct HistoryReportCommandTests {
    static func json(_ run: CapregBinary.Run) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? NSDictionary, "\(run.status) \(run.stderr)")
    }

    @Test func localAndRemoteDocumentsAgreeAndTablesShowThem() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "40", "--days", "20", "--seed", "11", "--start", "2025-01-01", "--ingest", "--db", db]).status == 0)
        let commands: [[String]] = [
            ["audit", "kernel-upgrade"],
            ["audit", "kernel-upgrade", "--from", "5.15", "--to", "6.1", "--flavours", "apart", "--layer", "kernel", "--host-limit", "2"],
            ["audit", "predict", "--to", "6.1", "--layer", "kernel"],
            ["diff", "--at", "2025-01-03", "--at", "2025-01-19T12:00:00Z", "--stale-after", "2d"],
            ["diff", "--at", "2025-01-03", "--at", "2025-01-19", "--host", "host-000003", "--fact", "kernel"],
            ["diff", "--revision", "10", "--revision", "90"],
            ["why", "host-000003", "hw.nesting", "--at", "2025-01-10"],
            ["why", "host-000003", "nesting", "--at", "2025-01-10"],
        ]
        var local: [NSDictionary] = []
        for command in commands {
            let run = try CapregBinary.run(command + ["--json", "--db", db])
            #expect(run.status == 0, "\(command): \(run.stderr)")
            local.append(try Self.json(run))
        }
        let upgrades = local[0]["pairs"] as? [[String: Any]] ?? []
        #expect(!upgrades.isEmpty, "the synthetic fleet upgrades kernels")

        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { _ = server.stop() }
        for (command, document) in zip(commands, local) {
            let run = try CapregBinary.run(command + ["--json", "--server", "http://127.0.0.1:\(server.port)"])
            #expect(run.status == 0, "\(command): \(run.stderr)")
            #expect(try Self.json(run) == document, "\(command)")
        }

        // The table: one heading per pair with its hosts, and a row per change.
        let table = try CapregBinary.run(["audit", "kernel-upgrade", "--db", db])
        #expect(table.status == 0)
        let first = try #require(upgrades.first)
        #expect(table.stdout.contains("\(first["from"]!) → \(first["to"]!) (\(first["direction"]!)): \(first["hosts"]!) hosts"))
        let changes = (first["changes"] as? [[String: Any]] ?? []).count
        let section = table.stdout.components(separatedBy: "\n\n")[0].split(separator: "\n")
        #expect(section.count == 2 + changes)  // heading, column names, the changes
        let diff = try CapregBinary.run(["diff", "--at", "2025-01-03", "--at", "2025-01-19T12:00:00Z", "--stale-after", "2d", "--db", db])
        let presence = local[3]["presence"] as? [String: [String: Any]] ?? [:]
        #expect(diff.stdout.contains("added  \(presence["added"]?["hosts"] ?? -1)"), "\(diff.stdout)")
        let why = try CapregBinary.run(["why", "host-000003", "hw.nesting", "--at", "2025-01-10", "--db", db])
        #expect(why.stdout.hasPrefix("host-000003 hw.nesting at 2025-01-10T00:00:00.000Z: \(local[6]["value"]!)"), "\(why.stdout)")
    }

    @Test func refusalsExitWithTheCLIsCodes() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "3", "--days", "2", "--ingest", "--db", db]).status == 0)
        let cases: [([String], Int32)] = [
            (["audit", "kernel-upgrade", "--from", "x.y", "--db", db], 64),
            (["audit", "kernel-upgrade", "--flavours", "mixed", "--db", db], 64),
            (["audit", "kernel-upgrade", "--layer", "firmware", "--db", db], 64),
            (["audit", "kernel-upgrade", "--fact", "nope", "--db", db], 64),
            (["audit", "kernel-upgrade", "--host-limit", "1001", "--db", db], 64),
            (["audit", "predict", "--db", db], 64),
            (["audit", "kernel-upgrade", "--db", dir.path("none.sqlite")], 66),
            (["diff", "--at", "2025-01-02", "--db", db], 64),
            (["diff", "--at", "2025-01-03", "--at", "2025-01-02", "--db", db], 64),
            (["diff", "--at", "2025-01-01", "--at", "2025-01-02", "--host", "nobody", "--db", db], 65),
            (["diff", "--at", "soon", "--at", "2025-01-02", "--db", db], 64),
            (["diff", "--revision", "3", "--db", db], 64),
            (["diff", "--revision", "3", "--revision", "2", "--db", db], 64),
            (["diff", "--revision", "1", "--revision", "2", "--at", "2025-01-01", "--db", db], 64),
            (["diff", "--revision", "1", "--revision", "99999", "--db", db], 64),
            (["why", "host-000000", "no.such.fact", "--db", db], 64),
            (["why", "nobody", "nesting", "--db", db], 65),
            (["why", "host-000000", "nesting", "--db", dir.path("none.sqlite")], 66),
            (["why", "host-000000", "nesting", "--server", "http://127.0.0.1:1"], 69),
        ]
        for (arguments, status) in cases {
            let run = try CapregBinary.run(arguments)
            #expect(run.status == status, "\(arguments): \(run.status) \(run.stderr)")
        }
        // `capreg audit --host H` still means `audit host`.
        #expect(try CapregBinary.run(["audit", "--host", "host-000000", "--db", db]).status == 0)
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        #expect(try CapregBinary.run(["why", "nobody", "nesting", "--server", url]).status == 65)
        #expect(try CapregBinary.run(["diff", "--at", "2025-01-01", "--at", "2025-01-02", "--host", "nobody", "--server", url]).status == 65)
    }
}
