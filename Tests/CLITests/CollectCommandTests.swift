import Foundation
import Testing
import TestSupport
import Timestamps

/// `capreg collect` as an agent against the real `capreg serve`.
@Suite("capreg collect", .serialized)
struct CollectCommandTests {
    static let sysfs = DecodeCommandTests.captures.appendingPathComponent("legacy-aw39/sysfs").path

    /// A loopback port nobody listens on right now.
    static func freePort() -> Int {
        let listener = try! LoopbackListener()
        defer { listener.close() }
        return Int(listener.port)
    }

    @Test("registry down, agent restarted, registry up: every report arrives, once")
    func spoolSurvivesDownRegistryAndRestarts() throws {
        let dir = try TempDir()
        let tokens = dir.url.appendingPathComponent("tokens")
        try "collector collector-token-0123456789abcdef\nreader reader-token-0123456789abcdef\n".write(to: tokens, atomically: true, encoding: .utf8)
        let port = Self.freePort()
        let agent = ["collect", "--push", "http://127.0.0.1:\(port)", "--token", "collector-token-0123456789abcdef",
                     "--spool", dir.path("spool"), "--once", "--attempts", "2", "--backoff-base", "0.05",
                     "--sysfs-root", Self.sysfs, "--hostname", "spool-host"]
        // Down: each run (a fresh process: a restarted agent) keeps its report and exits 75.
        for expected in 1...2 {
            let run = try CapregBinary.run(agent)
            #expect(run.status == 75, "stderr: \(run.stderr)")
            #expect(run.stderr.contains("ECONNREFUSED") && run.stderr.contains("waiting \(expected)"))
        }
        let server = Process()
        server.executableURL = try CapregBinary.url()
        server.arguments = ["serve", "--db", dir.path("r.sqlite"), "--listen", "127.0.0.1:\(port)", "--tokens", tokens.path]
        server.standardError = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var up = try CapregBinary.run(agent)
        var collected = 3
        for _ in 0..<50 where up.status == 75 { usleep(100_000); up = try CapregBinary.run(agent); collected += 1 }
        #expect(up.status == 0, "stderr: \(up.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("spool")).filter { $0.hasSuffix(".json") }.isEmpty)
        // Every report collected (two while down, then each run while starting up) was stored once.
        let text = try Self.get("http://127.0.0.1:\(port)/metrics", token: "reader-token-0123456789abcdef")
        func count(_ outcome: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix("capreg_ingested_reports_total{outcome=\"\(outcome)\"}") }
            return line.flatMap { Int($0.split(separator: " ").last!) } ?? -1
        }
        #expect(count("duplicate") == 0)
        #expect(count("created") == 1 && count("created") + count("unchanged") + count("changed") == collected, "\(text)")
    }

    static func get(_ url: String, token: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-sf", "-H", "Authorization: Bearer \(token)", url]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("a plain collect probes by default; --no-probes reads sysfs only")
    func probesByDefault() throws {
        let kinds: ([String]) throws -> [String] = { extra in
            let run = try CapregBinary.run(["collect", "--sysfs-root", Self.sysfs, "--hostname", "p"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
            #expect(report["collector_version"] as? String == "capreg-collector 0.3.0")
            return (report["sources"] as! [[String: Any]]).map { "\($0["kind"]!) \($0["unit"]!)" }
        }
        // Whatever this machine has, the device-less iommufd probe is always there to say it (ENOENT, EACCES, ok).
        #expect(try kinds([]).contains("probe iommufd"))
        #expect(try kinds(["--no-probes"]) == ["sysfs-intel dmar0"])
        #expect(try CapregBinary.run(["collect", "--no-probes", "--vfio-group", "3"]).status == 64)
    }

    @Test("--label is held to the registry's label rules: exit 64 naming the label; labels within them are sent")
    func labelLimits() throws {
        let base = ["collect", "--sysfs-root", Self.sysfs, "--hostname", "p", "--no-probes"]
        for (label, expected) in [("rack=r1\u{1}", "--label rack: value contains U+0001 (a control character) at character 3"),
                                  ("-rack=r1", "--label -rack: key: names are ASCII letters, digits"),
                                  ("rack=" + String(repeating: "v", count: 257), "--label rack: value of 257 characters; at most 256")] {
            let run = try CapregBinary.run(base + ["--label=" + label])
            #expect(run.status == 64, "\(label): \(run.stderr)")
            #expect(run.stderr.contains(expected), "\(label): \(run.stderr)")
        }
        let many = try CapregBinary.run(base + (0..<65).flatMap { ["--label", "k\($0)=v"] })
        #expect(many.status == 64)
        #expect(many.stderr.contains("65 labels with the configuration file's; at most 64"), "\(many.stderr)")
        let ok = try CapregBinary.run(base + ["--label", "topology.example.io/zone=eu-1a", "--label", "rack="])
        #expect(ok.status == 0, "\(ok.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as! [String: Any]
        #expect((report["host"] as? [String: Any])?["labels"] as? [String: String] == ["topology.example.io/zone": "eu-1a", "rack": ""])
    }

    @Test("a config that does not parse: exit 78 naming file and line")
    func badConfig() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("capreg-\(UUID().uuidString).conf")
        try "registry = http://127.0.0.1:1\nspool_max_bytes = many\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try CapregBinary.run(["collect", "--config", file.path])
        #expect(run.status == 78)
        #expect(run.stderr.contains("\(file.path):2: spool_max_bytes must be a positive whole number"), "\(run.stderr)")
    }

    @Test("no usable host identity: exit 68 with the reason, and no report is printed, spooled or sent")
    func placeholderHostnamesExit68() throws {
        let dir = try TempDir()
        for name in ["localhost", "", "(none)", "Localhost.localdomain"] {
            let printed = try CapregBinary.run(["collect", "--sysfs-root", Self.sysfs, "--hostname", name])
            #expect(printed.status == 68 && printed.stdout.isEmpty, "\(name): \(printed.stderr)")
            #expect(printed.stderr.hasPrefix("capreg collect: no usable host identity: the configured hostname"), "\(printed.stderr)")
        }
        let pushed = try CapregBinary.run(["collect", "--push", "http://127.0.0.1:9", "--spool", dir.path("spool"), "--once",
                                           "--sysfs-root", Self.sysfs, "--hostname", "localhost"])
        #expect(pushed.status == 68, "\(pushed.stderr)")
        let spooled = (try? FileManager.default.contentsOfDirectory(atPath: dir.path("spool"))) ?? []
        #expect(!spooled.contains { $0.hasSuffix(".json") })
        // The config's hostname is held to the same rule.
        try "hostname = localhost.localdomain\n".write(toFile: dir.path("c.conf"), atomically: true, encoding: .utf8)
        let configured = try CapregBinary.run(["collect", "--config", dir.path("c.conf"), "--sysfs-root", Self.sysfs])
        #expect(configured.status == 68 && configured.stderr.contains("\"localhost.localdomain\" is a name many machines share"))
        // A real name goes out as given.
        let named = try CapregBinary.run(["collect", "--sysfs-root", Self.sysfs, "--hostname", "rack12-node07"])
        #expect(named.status == 0 && named.stdout.contains(#""hostname":"rack12-node07""#), "\(named.stderr)")
        // Documented where an operator looks.
        let help = try CapregBinary.run(["collect", "--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("68 no usable host identity"), "\(help.stdout)")
    }

    @Test("--nfd-features-dir: NFD's feature file holds the registry's own facts for the report; bad options exit 64 naming them")
    func nfdFeatureFile() throws {
        let dir = try TempDir()
        let features = dir.path("features.d")
        try FileManager.default.createDirectory(atPath: features, withIntermediateDirectories: true)
        let sysfs = DecodeCommandTests.captures.appendingPathComponent("scalable-aw48/sysfs").path
        let run = try CapregBinary.run(["collect", "--sysfs-root", sysfs, "--hostname", "nfd-node", "--no-probes",
                                        "--nfd-features-dir", features, "--nfd-expiry", "3600"])
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: features + "/capreg", encoding: .utf8)
        #expect(try FileManager.default.contentsOfDirectory(atPath: features) == ["capreg"])
        let lines = text.split(separator: "\n")
        let expiry = try #require(lines.first { $0.hasPrefix("# +expiry-time=") })
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let collected = try RFC3339.parse(report["collected_at"] as! String)
        #expect(try RFC3339.parse(String(expiry.dropFirst("# +expiry-time=".count))) == collected.addingTimeInterval(3600))

        // The same report in a registry: each label is one of the host's facts there, with its value.
        try Data(run.stdout.utf8).write(to: dir.url.appendingPathComponent("r.json"))
        #expect(try CapregBinary.run(["ingest", "--db", dir.path("r.sqlite"), dir.path("r.json")]).status == 0)
        let queried = try CapregBinary.run(["query", "--db", dir.path("r.sqlite"), "--json", "--fresh-within", "off"])
        let hosts = try JSONSerialization.jsonObject(with: Data(queried.stdout.utf8)) as! [[String: Any]]
        let facts = try #require(hosts.first?["facts"] as? [String: Any])
        let labels = lines.filter { !$0.hasPrefix("#") }.map { line -> (String, String) in
            let eq = line.firstIndex(of: "=")!
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
        #expect(labels.map(\.0) == ["addr_width", "hw.dirty_tracking", "hw.first_level.format", "hw.nesting", "hw.pasid_bind", "iommu.vendor"]
            .map { "feature.node.kubernetes.io/capreg-" + $0 })
        for (key, value) in labels {
            let name = String(key.dropFirst("feature.node.kubernetes.io/capreg-".count))
            #expect(facts[name].map { "\($0)" == value || (($0 as? Bool).map { $0 ? "true" : "false" } == value) } == true,
                    "\(key)=\(value) against \(String(describing: facts[name]))")
        }

        let base = ["collect", "--sysfs-root", sysfs, "--hostname", "nfd-node", "--no-probes"]
        for (extra, message) in [(["--nfd-features-dir", dir.path("absent")], "--nfd-features-dir: \(dir.path("absent")) is not a directory"),
                                 (["--nfd-features-dir", features, "--nfd-expiry", "30"], "--nfd-expiry must be at least 60 seconds"),
                                 (["--nfd-features-dir", features, "--status"], "they exclude --status and --enroll"),
                                 (["--nfd-features-dir", features, "--nfd-expiry", "600", "--interval", "600", "--push", "http://127.0.0.1:9",
                                   "--spool", dir.path("spool")],
                                  "--nfd-expiry (600 s) must be longer than the collection interval (600 s, ±10%)")] {
            let refused = try CapregBinary.run(base + extra)
            #expect(refused.status == 64, "\(extra): \(refused.stderr)")
            #expect(refused.stderr.contains(message), "\(extra): \(refused.stderr)")
        }
    }
}
