import Foundation
import Testing
import TestSupport

/// `capreg collect --interval` as a daemon against a loopback `capreg serve`: one full report, then
/// heartbeats; SIGTERM exits 0; the registry has 1 created + N unchanged and last-seen moved.
@Suite("capreg collect daemon", .serialized)
struct CollectDaemonTests {
    static let reader = "reader-token-0123456789abcdef"
    static let collector = "collector-token-0123456789abcdef"

    /// Polls `condition` every 0.1 s for at most `seconds`.
    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    static func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    static func json(_ url: String) throws -> [String: Any] {
        let body = try CollectCommandTests.get(url, token: reader)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(url): \(body)")
    }

    @Test("full report, then heartbeats; SIGTERM exits 0; 1 created + N unchanged, last_seen moves")
    func daemonHeartbeats() throws {
        let dir = try TempDir()
        let tokens = dir.url.appendingPathComponent("tokens")
        try "collector \(Self.collector)\nreader \(Self.reader)\n".write(to: tokens, atomically: true, encoding: .utf8)

        let serveLog = dir.url.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: serveLog.path, contents: nil)
        let server = Process()
        server.executableURL = try CapregBinary.url()
        server.arguments = ["serve", "--db", dir.path("r.sqlite"), "--listen", "127.0.0.1:0", "--tokens", tokens.path]
        server.standardError = try FileHandle(forWritingTo: serveLog)
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        #expect(Self.waitFor(10) { Self.text(serveLog).contains("listening on 127.0.0.1:") }, "\(Self.text(serveLog))")
        let log = Self.text(serveLog)
        let match = try #require(log.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression))
        let port = log[match].split(separator: ":").last!
        let base = "http://127.0.0.1:\(port)"

        let spool = dir.url.appendingPathComponent("spool")
        let agentLog = dir.url.appendingPathComponent("agent.log")
        FileManager.default.createFile(atPath: agentLog.path, contents: nil)
        let agent = Process()
        agent.executableURL = try CapregBinary.url()
        agent.arguments = ["collect", "--push", base, "--token", Self.collector, "--spool", spool.path, "--interval", "1",
                           "--sysfs-root", CollectCommandTests.sysfs, "--hostname", "daemon-host", "--label", "role=test"]
        agent.standardError = try FileHandle(forWritingTo: agentLog)
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL); agent.waitUntilExit() } }

        func count(_ what: String) -> Int { Self.text(agentLog).components(separatedBy: "INFO spooled \(what) ").count - 1 }
        func pending() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? []).filter { $0.hasPrefix("r-") }.count
        }
        // The first report is stored as the host's first version.
        #expect(Self.waitFor(10) { count("report") == 1 && pending() == 0 }, "\(Self.text(agentLog))")
        let first = try Self.json("\(base)/v1/hosts/daemon-host")
        let firstSeen = try #require(first["last_seen"] as? String)
        #expect(first["first_seen"] as? String == firstSeen)
        // Then heartbeats, each delivered (interval 1 s ±10%; collected_at has whole seconds).
        #expect(Self.waitFor(15) { count("heartbeat") >= 3 && pending() == 0 }, "\(Self.text(agentLog))")

        agent.terminate()  // SIGTERM
        agent.waitUntilExit()
        let agentText = Self.text(agentLog)
        #expect(agent.terminationReason == .exit && agent.terminationStatus == 0, "\(agentText)")
        #expect(agentText.contains("INFO stopping"))
        #expect(!agentText.contains("ERROR") && !agentText.contains("WARN"), "\(agentText)")
        let full = count("report"), heartbeats = count("heartbeat")
        // A heartbeat spooled just before SIGTERM may still wait in the spool (sent on the next start).
        let left = pending()
        #expect(full == 1 && left <= 1)

        let metrics = try CollectCommandTests.get("\(base)/metrics", token: Self.reader)
        func ingested(_ outcome: String) -> Int {
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("capreg_ingested_reports_total{outcome=\"\(outcome)\"}") }
            return line.flatMap { Int($0.split(separator: " ").last!) } ?? 0
        }
        #expect(ingested("created") == 1, "\(metrics)")
        #expect(ingested("unchanged") == heartbeats - left && heartbeats - left >= 3, "\(heartbeats) heartbeats, \(left) left\n\(metrics)")
        #expect(ingested("changed") == 0 && ingested("duplicate") == 0 && ingested("history") == 0)

        let host = try Self.json("\(base)/v1/hosts/daemon-host")
        let lastSeen = try #require(host["last_seen"] as? String)
        #expect(host["first_seen"] as? String == firstSeen)
        #expect(lastSeen > firstSeen, "last_seen \(lastSeen) did not move from \(firstSeen)")
        // Heartbeats add no history: still one version.
        let history = try Self.json("\(base)/v1/hosts/daemon-host/history")
        #expect((history["versions"] as? [Any])?.count == 1, "\(history)")
    }
}
