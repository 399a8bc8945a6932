import Foundation
import Testing
import TestSupport

/// `capreg token`: issue prints the secret once, list never does, revoke and rotate act on a running
/// `capreg serve` without restart, and refusals exit with the CLI's codes.
@Suite struct TokenCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// GET /v1/hosts with `secret` on a fresh connection: the status.
    static func status(_ server: CapregBinary.Server, _ secret: String) throws -> Int {
        let c = try RawClient(port: server.port)
        _ = c.send("GET /v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(secret)\r\nConnection: close\r\n\r\n")
        return try c.readResponse().status
    }

    @Test func issueListRevokeRotateOnARunningServer() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let issue = try CapregBinary.run(["token", "issue", "--role", "reader", "--json", "--db", db])
        #expect(issue.status == 0, "\(issue.stderr)")
        let issued = try Self.json(issue.stdout)
        let id = try #require(issued["id"] as? String), secret = try #require(issued["secret"] as? String)
        #expect(secret.hasPrefix("capreg_\(id)_") && issue.stderr.contains("shown this once"))

        let collector = try CapregBinary.run(["token", "issue", "--role", "collector", "--host", "web-1", "--expires", "7d", "--db", db])
        #expect(collector.status == 0 && collector.stdout.hasPrefix("id: ") && collector.stdout.contains("\nsecret: capreg_"), "\(collector.stdout)")

        let list = try CapregBinary.run(["token", "list", "--db", db])
        #expect(list.status == 0 && list.stdout.contains(id) && list.stdout.contains("host web-1"), "\(list.stdout)")
        let listJSON = try CapregBinary.run(["token", "list", "--json", "--db", db])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listJSON.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2 && rows.contains { $0["hostname"] as? String == "web-1" && $0["role"] as? String == "collector" })
        for output in [list.stdout, listJSON.stdout] { #expect(!output.contains(String(secret.suffix(64))), "list never shows a secret") }

        // Issued before the server started: auth is on without a --tokens file.
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        #expect(try Self.status(server, secret) == 200)
        #expect(try Self.status(server, "capreg_\(id)_" + String(repeating: "0", count: 64)) == 401)

        let rotate = try CapregBinary.run(["token", "rotate", id, "--overlap", "1s", "--json", "--db", db])
        #expect(rotate.status == 0 && rotate.stderr.contains("\(id) stays valid until"), "\(rotate.stderr)")
        let newSecret = try #require(try Self.json(rotate.stdout)["secret"] as? String)
        let newId = try #require(try Self.json(rotate.stdout)["id"] as? String)
        #expect(try Self.status(server, secret) == 200, "the old one during the overlap")
        #expect(try Self.status(server, newSecret) == 200)
        Thread.sleep(forTimeInterval: 1.1)
        #expect(try Self.status(server, secret) == 401, "the old one after the overlap")

        let revoke = try CapregBinary.run(["token", "revoke", newId, "--db", db])
        #expect(revoke.status == 0 && revoke.stdout == "revoked \(newId)\n", "\(revoke.stdout)\(revoke.stderr)")
        let revokedAt = Date()
        #expect(try Self.status(server, newSecret) == 401)
        #expect(Date().timeIntervalSince(revokedAt) < 1)
        let again = try CapregBinary.run(["token", "revoke", newId, "--db", db])
        #expect(again.status == 0 && again.stdout.contains("already revoked"))

        let events = try CapregBinary.run(["token", "events", "--db", db])
        let kinds = events.stdout.split(separator: "\n").map { $0.split(separator: "\t")[1...2].joined(separator: " ") }
        #expect(kinds == ["\(id) issue", "\(collectorId(list.stdout, not: id)) issue", "\(newId) issue", "\(id) rotate", "\(newId) revoke"],
                "\(events.stdout)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db)) + ((try? Data(contentsOf: URL(fileURLWithPath: db + "-wal"))) ?? Data())
        #expect(bytes.range(of: Data(secret.suffix(64).utf8)) == nil && bytes.range(of: Data(newSecret.suffix(64).utf8)) == nil,
                "the database never holds a secret")
    }

    /// The id in `list`'s text other than `id`.
    func collectorId(_ list: String, not id: String) -> String {
        list.split(separator: "\n").dropFirst().map { String($0.prefix(16)) }.first { $0 != id } ?? "?"
    }

    @Test func refusalsExitWithTheCLIsCodes() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        func run(_ args: [String]) throws -> CapregBinary.Run { try CapregBinary.run(["token"] + args + ["--db", db]) }
        let noHost = try run(["issue", "--role", "collector"])
        #expect(noHost.status == 64 && noHost.stderr.contains("--host or --machine-id"), "\(noHost.stderr)")
        #expect(try run(["issue", "--role", "reader", "--host", "web-1"]).status == 64)
        #expect(try run(["issue", "--role", "root"]).status == 64)
        let expires = try run(["issue", "--role", "admin", "--expires", "soon"])
        #expect(expires.status == 64 && expires.stderr.contains("--expires"), "\(expires.stderr)")
        let placeholder = try run(["issue", "--role", "collector", "--host", "localhost"])
        #expect(placeholder.status == 65 && placeholder.stderr.contains("--host:"), "\(placeholder.stderr)")

        let missing = try CapregBinary.run(["token", "list", "--db", dir.path("absent.sqlite")])
        #expect(missing.status == 66 && !FileManager.default.fileExists(atPath: dir.path("absent.sqlite")))
        #expect(try run(["issue", "--role", "admin"]).status == 0)
        let unknown = try run(["revoke", "0123456789abcdef"])
        #expect(unknown.status == 65 && unknown.stderr.contains("0123456789abcdef: no such credential"), "\(unknown.stderr)")
        #expect(try run(["rotate", "0123456789abcdef"]).status == 65)
    }

    @Test func enrollPrintsACodeOnceAndCodesListsIt() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        func run(_ args: [String]) throws -> CapregBinary.Run { try CapregBinary.run(["token"] + args + ["--db", db]) }
        let json = try run(["enroll", "--host", "web-1", "--expires", "2h", "--json"])
        #expect(json.status == 0 && json.stderr.contains("shown this once"), "\(json.stderr)")
        let issued = try Self.json(json.stdout)
        let id = try #require(issued["id"] as? String), code = try #require(issued["code"] as? String)
        #expect(code.hasPrefix("capreg_enroll_\(id)_") && code.count == 95)
        let expires = try #require(issued["expires_at"] as? String)
        #expect(Set(issued.keys) == ["id", "code", "expires_at"] && expires.hasSuffix("Z"))

        let text = try run(["enroll", "--machine-id", "0123abcd"])
        #expect(text.status == 0 && text.stdout.hasPrefix("id: ") && text.stdout.contains("\ncode: capreg_enroll_"), "\(text.stdout)")

        let codes = try run(["codes"])
        #expect(codes.status == 0 && codes.stdout.contains("\(id)\tunused\t") && codes.stdout.contains("machine-id 0123abcd"), "\(codes.stdout)")
        let codesJSON = try run(["codes", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(codesJSON.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2 && rows[0]["hostname"] as? String == "web-1" && rows[0]["expires_at"] as? String == expires)
        #expect((rows[0]["issued_by"] as? String)?.hasPrefix("user:") == true)
        for output in [codes.stdout, codesJSON.stdout] { #expect(!output.contains(String(code.suffix(64))), "codes never shows a code") }

        let revoke = try run(["revoke", id])
        #expect(revoke.status == 0 && revoke.stdout == "revoked enrollment code \(id)\n", "\(revoke.stdout)\(revoke.stderr)")
        #expect(try run(["revoke", id]).stdout.contains("already revoked"))
        let events = try run(["events", id])
        #expect(events.stdout.split(separator: "\n").map { $0.split(separator: "\t")[1...2].joined(separator: " ") }
                == ["code:\(id) issue", "code:\(id) revoke"], "\(events.stdout)")

        #expect(try run(["enroll"]).status == 64, "a code needs a host")
        let long = try run(["enroll", "--host", "web-1", "--expires", "8d"])
        #expect(long.status == 64 && long.stderr.contains("at most 7d"), "\(long.stderr)")
        #expect(try run(["enroll", "--host", "localhost"]).status == 65)
        #expect(try CapregBinary.run(["token", "codes", "--db", dir.path("absent.sqlite")]).status == 66)
    }
}
