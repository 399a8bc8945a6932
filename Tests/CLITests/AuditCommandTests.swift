import Foundation
import Glibc
import Testing
import TestSupport

/// `capreg audit --host H`: writes by the CLI and by a credential through a running server, a refused
/// write, a retraction and credential events, as one timeline in the order they happened; refusals exit
/// with the CLI's codes.
@Suite struct AuditCommandTests {
    /// A synthetic report as host `host`, with its id and time replaced, as JSON text.
    static func report(from line: Substring, host: String, id: String, collectedAt: String) throws -> String {
        var report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        var hostObject = try #require(report["host"] as? [String: Any])
        hostObject["hostname"] = host
        hostObject.removeValue(forKey: "machine_id")
        report["host"] = hostObject
        report["report_id"] = id
        report["collected_at"] = collectedAt
        return String(decoding: try JSONSerialization.data(withJSONObject: report), as: UTF8.self)
    }

    /// POST /v1/reports with `secret`: the status.
    static func post(_ server: CapregBinary.Server, _ body: String, secret: String) throws -> Int {
        let c = try RawClient(port: server.port)
        _ = c.send("POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(secret)\r\nContent-Type: application/json\r\n"
                   + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        return try c.readResponse().status
    }

    static func issue(_ db: String, host: String) throws -> (id: String, secret: String) {
        let run = try CapregBinary.run(["token", "issue", "--role", "collector", "--host", host, "--json", "--db", db])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        return (try #require(object["id"] as? String), try #require(object["secret"] as? String))
    }

    @Test func auditListsOneHostsTimelineInOrder() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let synth = try CapregBinary.run(["synth", "--hosts", "1", "--days", "1"])
        let line = try #require(synth.stdout.split(separator: "\n").first)
        let lines = [try Self.report(from: line, host: "web-1", id: "r1", collectedAt: "2025-01-01T00:00:00Z"),
                     try Self.report(from: line, host: "web-1", id: "r2", collectedAt: "2025-01-02T00:00:00Z")]
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dir.path("r.jsonl")))
        let ingest = try CapregBinary.run(["ingest", dir.path("r.jsonl"), "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let own = try Self.issue(db, host: "web-1")
        let other = try Self.issue(db, host: "db-7")
        do {
            let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
            defer { server.stop() }
            #expect(try Self.post(server, try Self.report(from: line, host: "web-1", id: "r3", collectedAt: "2025-01-03T00:00:00Z"),
                                  secret: own.secret) == 200)
            #expect(try Self.post(server, try Self.report(from: line, host: "web-1", id: "forged", collectedAt: "2025-01-04T00:00:00Z"),
                                  secret: other.secret) == 403)
        }
        #expect(try CapregBinary.run(["retract", "r1", "--reason", "clock\nwrong", "--db", db]).status == 0)
        #expect(try CapregBinary.run(["token", "revoke", own.id, "--db", db]).status == 0)

        let text = try CapregBinary.run(["audit", "--host", "web-1", "--db", db])
        #expect(text.status == 0, "\(text.stderr)")
        let rows = text.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["TIME", "EVENT", "WHO", "PEER", "WHAT"])
        // r2 repeats r1 (same content, labels and writer): a heartbeat, which keeps no reports row and is no write event.
        #expect(rows.dropFirst().map { $0[1] } == ["write", "credential", "write", "refused", "retracted", "credential"], "\(text.stdout)")
        // Aligned: every column starts where the header's does.
        let header = String(text.stdout.prefix { $0 != "\n" })
        let whatColumn = try #require(header.range(of: "WHAT")).lowerBound.utf16Offset(in: header)
        for row in text.stdout.split(separator: "\n").dropFirst() {
            #expect(row.utf16.count > whatColumn && row.dropFirst(whatColumn - 2).hasPrefix("  ") && !row.dropFirst(whatColumn).hasPrefix(" "), "\(row)")
        }
        #expect(rows[5][2] == "-" && text.stdout.contains("clock wrong (revision"), "the reason stays on its line")

        let json = try CapregBinary.run(["audit", "--host", "web-1", "--json", "--db", db])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stderr)")
        let events = try #require(document["events"] as? [[String: Any]])
        #expect(document["hostname"] as? String == "web-1" && document["omitted"] as? Int == 0 && document["since"] is NSNull)
        let user = String(cString: try #require(getpwuid(geteuid())).pointee.pw_name)
        #expect(events[0]["event"] as? String == "write" && events[0]["report_id"] as? String == "r1")
        #expect(events[0]["written_by"] as? String == "cli:ingest:\(user)" && events[0]["peer"] is NSNull, "\(events[0])")
        #expect(events[1]["credential"] as? String == own.id && events[1]["kind"] as? String == "issue")
        #expect(events[2]["report_id"] as? String == "r3" && events[2]["written_by"] as? String == "cred:\(own.id)"
                && events[2]["peer"] as? String == "127.0.0.1", "\(events[2])")
        #expect(events[3]["event"] as? String == "refused" && events[3]["report_id"] as? String == "forged"
                && events[3]["identity"] as? String == "cred:\(other.id)" && events[3]["reason"] as? String == "host_mismatch", "\(events[3])")
        #expect(events[4]["event"] as? String == "retracted" && events[4]["reason"] as? String == "clock\nwrong")
        #expect(events[5]["kind"] as? String == "revoke")
        let times = events.compactMap { $0["at"] as? String }
        #expect(times.count == 6 && times == times.sorted())

        // The newest N, and a word on what was left out; --since as a duration ago keeps everything here.
        let newest = try CapregBinary.run(["audit", "--host", "web-1", "--limit", "2", "--db", db])
        #expect(newest.status == 0 && newest.stdout.split(separator: "\n").count == 3 && newest.stderr.contains("4 older events left out"),
                "\(newest.stdout)\(newest.stderr)")
        let recent = try CapregBinary.run(["audit", "--host", "web-1", "--since", "1h", "--json", "--db", db])
        #expect((try JSONSerialization.jsonObject(with: Data(recent.stdout.utf8)) as? [String: Any])?["events"].map { ($0 as? [Any])?.count } == 6)

        let unknown = try CapregBinary.run(["audit", "--host", "nobody", "--db", db])
        #expect(unknown.status == 65 && unknown.stderr.contains("no host named nobody"), "\(unknown.stderr)")
        let missing = try CapregBinary.run(["audit", "--host", "web-1", "--db", dir.path("absent.sqlite")])
        #expect(missing.status == 66 && !FileManager.default.fileExists(atPath: dir.path("absent.sqlite")), "\(missing.stderr)")
        #expect(try CapregBinary.run(["audit", "--host", "web-1", "--limit", "0", "--db", db]).status == 64)
        let badSince = try CapregBinary.run(["audit", "--host", "web-1", "--since", "yesterday", "--db", db])
        #expect(badSince.status == 64 && badSince.stderr.contains("--since yesterday"), "\(badSince.stderr)")
        #expect(try CapregBinary.run(["audit", "--db", db]).status == 64, "--host is required")
    }
}
