import Foundation
import Testing
import TestSupport

/// `capreg collect --enroll CODE --server URL` against the real `capreg serve`: the credential lands in the
/// spool directory with mode 0600 and later pushes use it; refused codes exit 77 and keep nothing.
@Suite("capreg collect --enroll", .serialized)
struct CollectEnrollTests {
    static let sysfs = CollectCommandTests.sysfs

    /// `capreg token enroll --json` on `db`: the code's text.
    static func code(_ db: String, host: String, extra: [String] = []) throws -> String {
        let run = try CapregBinary.run(["token", "enroll", "--host", host, "--json", "--db", db] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try TokenCommandTests.json(run.stdout)["code"] as? String)
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("enroll once, keep the credential 0600, push with it; a used code or another host's exits 77")
    func enrollThenPush() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let code = try Self.code(db, host: "enroll-host")
        let other = try Self.code(db, host: "someone-else")
        // The codes exist before the server starts: auth is on, without a --tokens file.
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        let spool = dir.path("spool")
        let enroll = ["collect", "--server", url, "--spool", spool, "--hostname", "enroll-host", "--sysfs-root", Self.sysfs, "--no-probes"]

        let enrolled = try CapregBinary.run(enroll + ["--enroll", code])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(enrolled.stdout.hasPrefix("enrolled as enroll-host: credential "), "\(enrolled.stdout)")
        let credential = spool + "/credential"
        #expect(try Self.mode(credential) == 0o600)
        let secret = try String(contentsOfFile: credential, encoding: .utf8).trimmingCharacters(in: .newlines)
        let id = String(enrolled.stdout.split(separator: " ").last ?? "").trimmingCharacters(in: .newlines)
        #expect(secret.hasPrefix("capreg_\(id)_"), "\(secret.prefix(24))… vs \(id)")
        #expect(!enrolled.stdout.contains(secret) && !enrolled.stderr.contains(secret), "the secret is only in the file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasPrefix(".credential") }.isEmpty)

        // A later push finds the credential by itself.
        let push = try CapregBinary.run(["collect", "--push", url, "--spool", spool, "--once", "--attempts", "1",
                                         "--hostname", "enroll-host", "--sysfs-root", Self.sysfs, "--no-probes"])
        #expect(push.status == 0, "\(push.stderr)")

        // The same code again, and another host's code: refused (77), and the kept credential is untouched.
        let reused = try CapregBinary.run(enroll + ["--enroll", code])
        #expect(reused.status == 77 && reused.stderr.contains("unknown, used, expired or revoked"), "\(reused.stderr)")
        let mismatch = try CapregBinary.run(enroll + ["--enroll", other])
        #expect(mismatch.status == 77 && mismatch.stderr.contains("for another host"), "\(mismatch.stderr)")
        #expect(try String(contentsOfFile: credential, encoding: .utf8).trimmingCharacters(in: .newlines) == secret)

        let codes = try CapregBinary.run(["token", "codes", "--json", "--db", db])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(codes.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { "\($0["state"]!) \($0["refusals"]!)" } == ["used 1", "unused 1"], "\(codes.stdout)")
        #expect(rows.first?["credential"] as? String == id)
        let events = try CapregBinary.run(["token", "events", "--db", db])
        #expect(events.stdout.contains("\t\(id)\tenroll\t"), "\(events.stdout)")
    }

    @Test("a spool directory others may write is refused before the code is sent (73)")
    func unsafeDirectory() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let code = try Self.code(db, host: "enroll-host")
        let spool = dir.path("open")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        chmod(spool, 0o777)
        // Nothing listens on port 9: had the code been sent, the exit would be 75.
        let run = try CapregBinary.run(["collect", "--enroll", code, "--server", "http://127.0.0.1:9", "--spool", spool,
                                        "--hostname", "enroll-host", "--sysfs-root", Self.sysfs])
        #expect(run.status == 73 && run.stderr.contains("may be written by others"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
        let down = try CapregBinary.run(["collect", "--enroll", code, "--server", "http://127.0.0.1:9", "--spool", dir.path("spool"),
                                         "--hostname", "enroll-host", "--sysfs-root", Self.sysfs])
        #expect(down.status == 75 && down.stderr.contains("still unused"), "\(down.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("spool") + "/credential"))
        #expect(try CapregBinary.run(["collect", "--enroll", code, "--push", "http://127.0.0.1:9"]).status == 64)
        #expect(try CapregBinary.run(["collect", "--enroll", code]).status == 64, "no --server and no config")
        let badURL = try CapregBinary.run(["collect", "--enroll", code, "--server", "registry:8080", "--spool", dir.path("spool"),
                                           "--hostname", "enroll-host", "--sysfs-root", Self.sysfs])
        #expect(badURL.status == 64 && badURL.stderr.contains("--server:"), "\(badURL.stderr)")
    }
}
