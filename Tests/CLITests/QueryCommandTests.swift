import Foundation
import Testing
import TestSupport

/// `capreg query` on a database `capreg synth --ingest` made: table, CSV, JSON, pages, refusals.
@Suite(.serialized) struct QueryCommandTests {
    final class Fleet: @unchecked Sendable {
        let dir: TempDir
        var db: String { dir.path("fleet.sqlite") }
        init() throws {
            dir = try TempDir()
            let run = try CapregBinary.run(["synth", "--hosts", "40", "--days", "2", "--seed", "1", "--ingest", "--db", db])
            guard run.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["stderr": run.stderr]) }
        }
    }

    static let seed = #"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#

    /// The same bound as the API's: a 1,000-entry list is refused (65, a refused expression) naming the limit.
    @Test func aListPastItsBoundIsRefused() throws {
        let dir = try TempDir()
        let list = Array(repeating: "\"6\"", count: 1000).joined(separator: ",")
        let run = try CapregBinary.run(["query", "kernel in (\(list))", "--db", dir.path("empty.sqlite")])
        #expect(run.status == 65, "\(run.stderr.prefix(300))")
        #expect(run.stderr.contains("the 'in' list has more than 256 entries; the limit is 256"), "\(run.stderr.prefix(300))")
    }

    @Test func tableJSONAndCSVAgree() throws {
        let fleet = try Fleet()
        let table = try CapregBinary.run(["query", Self.seed, "--db", fleet.db])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true)
                == ["hostname", "kernel", "pasid_bind", "first_level.format", "pasid_bits"])
        // Aligned: every column starts at the same offset on every row.
        let start = lines[0].range(of: "first_level.format")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst().dropLast() { #expect(line.dropFirst(start).hasPrefix("intel-vtd"), "\(line)") }

        let json = try CapregBinary.run(["query", Self.seed, "--db", fleet.db, "--json"])
        let hosts = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [[String: Any]]
        #expect(!hosts.isEmpty && lines.count == hosts.count + 2)
        #expect(lines.last?.hasPrefix("\(hosts.count) hosts at revision ") == true, "\(lines.last ?? "")")
        for host in hosts {
            let facts = host["facts"] as! [String: Any]
            #expect(facts["pasid_bind"] as? Bool == true && (facts["pasid_bits"] as! Int) >= 20)
            #expect(facts.count > 10, "without --fields JSON carries every fact")
        }
        let csv = try CapregBinary.run(["query", Self.seed, "--db", fleet.db, "--csv", "--fields", "pasid_bits,label.rack"])
        let rows = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first == "hostname,kernel,pasid_bits,label.rack")
        #expect(rows.dropFirst().map { $0.split(separator: ",")[0] } == hosts.map { Substring($0["hostname"] as! String) })
    }

    /// --explain: the matches as before, then every other host with the predicate and value that failed.
    @Test func explainListsTheOtherHostsWithReasons() throws {
        let fleet = try Fleet()
        let plain = try CapregBinary.run(["query", "pasid_bits >= 20", "--db", fleet.db, "--json", "--limit", "1000"])
        let matched = try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as! [[String: Any]]
        let run = try CapregBinary.run(["query", "pasid_bits >= 20", "--db", fleet.db, "--explain", "--json", "--limit", "1000"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect((object["hosts"] as! [[String: Any]]).count == matched.count)
        let rejected = (object["not_matching"] as! [String: Any])["hosts"] as! [[String: Any]]
        #expect(!rejected.isEmpty && matched.count + rejected.count == 40)
        let reasons = rejected.flatMap { $0["reasons"] as! [String] }
        #expect(reasons.contains { $0.hasPrefix("pasid_bits = ") && $0.contains(", needs >= 20 — hardware ") }, "\(reasons.prefix(3))")
        #expect(reasons.contains { $0.contains("unknown") }, "hosts without PASID never report pasid_bits")

        let table = try CapregBinary.run(["query", "pasid_bits >= 20", "--db", fleet.db, "--explain", "--limit", "1000"])
        #expect(table.stdout.contains("\nnot matching: \(rejected.count) hosts\n"), "\(table.stdout.suffix(400))")
        #expect(try CapregBinary.run(["query", "pasid_bits >= 20", "--db", fleet.db, "--explain", "--csv"]).status == 64)
        #expect(try CapregBinary.run(["query", "--db", fleet.db, "--fresh-within", "2x"]).status == 64)
    }

    /// --db and --server apply the same default freshness bound (2h), and every answer says how many
    /// matching hosts it left out as stale and how to include them.
    @Test func bothPathsLeaveOutStaleHostsAndSaySo() throws {
        let dir = try TempDir()
        let db = dir.path("old.sqlite")
        let synth = try CapregBinary.run(["synth", "--hosts", "40", "--days", "2", "--start", "2025-01-01", "--ingest", "--db", db])
        #expect(synth.status == 0, "\(synth.stderr)")
        let note = "40 more matched but are stale: --fresh-within off to include them"
        let table = try CapregBinary.run(["query", "--db", db])
        #expect(table.status == 0 && table.stdout.contains("\n0 hosts at revision ") && table.stdout.hasSuffix(" (\(note))\n"), "\(table.stdout)")
        let json = try CapregBinary.run(["query", "--db", db, "--json"])
        #expect(json.stdout == "[\n\n]\n" || json.stdout == "[]\n", "\(json.stdout)")
        #expect(json.stderr.contains(note), "JSON keeps standard output an array; the note goes to standard error: \(json.stderr)")
        let off = try CapregBinary.run(["query", "--db", db, "--fresh-within", "off"])
        #expect(off.stdout.contains("\n40 hosts at revision "), "\(off.stdout)")

        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        let remote = try CapregBinary.run(["query", "--server", url])
        #expect(remote.stdout == table.stdout, "the same answer from the server: \(remote.stdout) \(remote.stderr)")
        let remoteJSON = try CapregBinary.run(["query", "--server", url, "--json"])
        #expect(remoteJSON.stdout == json.stdout && remoteJSON.stderr.contains(note), "\(remoteJSON.stderr)")
        let remoteOff = try CapregBinary.run(["query", "--server", url, "--fresh-within", "off"])
        #expect(remoteOff.stdout == off.stdout)
    }

    @Test func pagesWithCursor() throws {
        let fleet = try Fleet()
        let all = try CapregBinary.run(["query", "--db", fleet.db, "--csv", "--limit", "1000"])
        var got: [String] = []
        var cursor: [String] = []
        for _ in 0..<100 {
            let run = try CapregBinary.run(["query", "--db", fleet.db, "--csv", "--limit", "15"] + cursor)
            #expect(run.status == 0)
            got += run.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
            guard let next = run.stderr.components(separatedBy: "--cursor ").dropFirst().first else { break }
            cursor = ["--cursor", next.trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        #expect(got == all.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty })
        #expect(got.count == 40)
    }

    @Test func refusalsPointAtThePosition() throws {
        let fleet = try Fleet()
        let unknown = try CapregBinary.run(["query", "pasid_bind and pasid_bitz >= 20", "--db", fleet.db])
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("at 15: unknown name 'pasid_bitz'; did you mean pasid_bits"))
        #expect(unknown.stderr.contains("  pasid_bind and pasid_bitz >= 20\n                 ^\n"))
        let syntax = try CapregBinary.run(["query", "pasid_bits >=", "--db", fleet.db])
        #expect(syntax.status == 65 && syntax.stderr.contains("at 13: expected a value after '>=', found end of input"))
        let field = try CapregBinary.run(["query", "nesting", "--fields", "pasid_bits,vtd.ecap.nets", "--db", fleet.db])
        #expect(field.status == 65 && field.stderr.contains("did you mean vtd.ecap.nest"))
        #expect(try CapregBinary.run(["query", "nesting", "--db", fleet.dir.path("none.sqlite")]).status == 66)
        #expect(try CapregBinary.run(["query", "nesting", "--db", fleet.db, "--cursor", "zzz"]).status == 64)
        #expect(try CapregBinary.run(["query", "nesting", "--db", fleet.db, "--as-of", "yesterday"]).status == 64)
        #expect(try CapregBinary.run(["query", "nesting", "--db", fleet.db, "--limit", "0"]).status == 64)
    }

    /// The table names the revision it read; --as-of-revision asks that revision (or an earlier one) again.
    @Test func asOfRevisionAsksAnEarlierRegistry() throws {
        let fleet = try Fleet()
        let now = try CapregBinary.run(["query", "--db", fleet.db, "--limit", "1000"])
        let revision = try #require(now.stdout.split(separator: "\n").last?.components(separatedBy: "at revision ").last.flatMap { Int($0) })
        // 40 hosts x 2 days: one revision per stored report; a day-1 report that repeats day 0 is a heartbeat (none).
        #expect(revision > 40 && revision <= 80)
        // The same hosts and kernels. The time shown at a revision is the newest report row's (heartbeats make no
        // revision), so freshness is left out of this comparison (docs/store.md, "Heartbeats").
        let all = try CapregBinary.run(["query", "--db", fleet.db, "--limit", "1000", "--fresh-within", "off"])
        let again = try CapregBinary.run(["query", "--db", fleet.db, "--limit", "1000", "--fresh-within", "off", "--as-of-revision", String(revision)])
        func columns(_ text: String) -> [String] { text.split(separator: "\n").dropLast().map { $0.split(separator: " ").prefix(2).joined(separator: " ") } }
        #expect(columns(again.stdout) == columns(all.stdout) && columns(all.stdout).count == 41, "\(again.stdout)")
        // Revision 1 holds one host's day-0 report, a day older than when it was written: stale by default.
        let first = try CapregBinary.run(["query", "--db", fleet.db, "--json", "--as-of-revision", "1", "--fresh-within", "off"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as! [Any]).count == 1, "one report stored: one host")
        let stale = try CapregBinary.run(["query", "--db", fleet.db, "--as-of-revision", "1"])
        #expect(stale.stdout.hasSuffix("0 hosts at revision 1 (1 more matched but is stale: --fresh-within off to include them)\n"), "\(stale.stdout)")
        let missing = try CapregBinary.run(["query", "--db", fleet.db, "--as-of-revision", "99999"])
        #expect(missing.status == 64 && missing.stderr.contains("revision 99999 does not exist: revisions run from 1 to \(revision)"), "\(missing.stderr)")
        #expect(try CapregBinary.run(["query", "--db", fleet.db, "--as-of-revision", "2", "--as-of", "2025-01-02"]).status == 64)
    }

    /// --fields takes every name a table or JSON answer shows; the always-present ones add no column.
    @Test func fieldsNameWhatAnswersShow() throws {
        let fleet = try Fleet()
        let csv = try CapregBinary.run(["query", "--db", fleet.db, "--csv", "--fields", "hostname,kernel,reported_at,age_seconds,pasid_bits"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.hasPrefix("hostname,kernel,pasid_bits\r\n"), "\(csv.stdout.prefix(200))")
        let plain = try CapregBinary.run(["query", "--db", fleet.db, "--csv", "--fields", "pasid_bits"])
        #expect(csv.stdout == plain.stdout)
        let typo = try CapregBinary.run(["query", "--db", fleet.db, "--fields", "hostnme"])
        #expect(typo.status == 65 && typo.stderr.contains("--fields at 0: unknown name 'hostnme'"), "\(typo.stderr)")
    }

    /// --csv writes through the dashboard's CSV writer: every cell a spreadsheet would run is guarded.
    @Test func csvGuardsFormulaCells() throws {
        let dir = try TempDir()
        let synth = try CapregBinary.run(["synth", "--hosts", "1", "--days", "1"])
        let line = try #require(synth.stdout.split(separator: "\n").first)
        var report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        var host = try #require(report["host"] as? [String: Any]), kernel = try #require(report["kernel"] as? [String: Any])
        host["hostname"] = "=cmd|' /C calc'!A0"
        // TAB and CR lead no stored value (ingest refuses control characters); the writer's guard for them is
        // QueryTableTests'. A `+` formula stands in for them here.
        host["labels"] = ["note": "@SUM(1)", "sum": "+1+2"]
        kernel["release"] = "-2+3"
        report["host"] = host
        report["kernel"] = kernel
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: dir.path("r.json")))
        let ingest = try CapregBinary.run(["ingest", dir.path("r.json"), "--db", dir.path("r.sqlite")])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let csv = try CapregBinary.run(["query", "--db", dir.path("r.sqlite"), "--csv", "--fresh-within", "off", "--fields", "label.note,label.sum"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == "hostname,kernel,label.note,label.sum\r\n\"'=cmd|' /C calc'!A0\",\"'-2+3\",\"'@SUM(1)\",\"'+1+2\"\r\n")
    }

    /// capreg ingest names the revisions its reports took; a repeat stores nothing and names none.
    @Test func ingestNamesItsRevisions() throws {
        let dir = try TempDir()
        let synth = try CapregBinary.run(["synth", "--hosts", "3", "--days", "1"])
        try Data(synth.stdout.utf8).write(to: URL(fileURLWithPath: dir.path("r.jsonl")))
        let first = try CapregBinary.run(["ingest", dir.path("r.jsonl"), "--db", dir.path("i.sqlite")])
        #expect(first.status == 0 && (first.stdout + first.stderr).contains("ingested 3 reports") && (first.stdout + first.stderr).hasSuffix(", revisions 1–3\n"),
                "\(first.stdout)\(first.stderr)")
        let again = try CapregBinary.run(["ingest", dir.path("r.jsonl"), "--db", dir.path("i.sqlite")])
        #expect(again.status == 0 && (again.stdout + again.stderr).contains("3 already stored") && !(again.stdout + again.stderr).contains("revisions"),
                "\(again.stdout)\(again.stderr)")
    }

    @Test func asOfBeforeTheFleetIsEmpty() throws {
        let fleet = try Fleet()
        let run = try CapregBinary.run(["query", "--db", fleet.db, "--json", "--as-of", "2020-01-01"])
        #expect(run.status == 0)
        let hosts = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [Any]
        #expect(hosts.isEmpty)
    }
}
