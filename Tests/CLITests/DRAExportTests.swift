import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
import Timestamps

/// `capreg export dra` checked by the Kubernetes Python models and a real CEL implementation
/// (deploy/dra/check-resourceslices.py: kubernetes 37.0.2, cel-python 0.5.0): every slice valid, and for
/// several DeviceClass selectors the devices CEL selects are exactly the devices capreg answers for the
/// same question. Skipped without that Python (CAPREG_DRA_PYTHON, default ~/.cache/capreg/dra-venv/bin/python)
/// unless CAPREG_DRA_REQUIRED=1 (.ci/run).
@Suite("capreg export dra", .serialized)
struct DRAExportTests {
    static var python: String? {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        let path = ProcessInfo.processInfo.environment["CAPREG_DRA_PYTHON"] ?? cache.appendingPathComponent("capreg/dra-venv/bin/python").path
        let found = FileManager.default.isExecutableFile(atPath: path)
        if !found && ProcessInfo.processInfo.environment["CAPREG_DRA_REQUIRED"] == "1" {
            Issue.record("CAPREG_DRA_REQUIRED=1 but no Python with kubernetes and cel-python at \(path)")
        }
        return found ? path : nil
    }

    static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/dra/check-resourceslices.py").standardized.path

    /// A DeviceClass selector and the same question in capreg's words: the host's part, and the device's.
    struct Question {
        var cel: String
        var host: String
        var device: String
    }

    static let attr = #"device.attributes["capreg.io"]"#
    static let questions: [String: Question] = [
        "pasid20-nesting": Question(cel: "\(attr).pasidBits >= 20 && \(attr).nesting", host: "nesting", device: "device.pasid.bits >= 20"),
        "vfio-ats": Question(cel: #"\#(attr).driver == "vfio-pci" && \#(attr).ats"#, host: "", device: #"device.driver = "vfio-pci" and device.ats"#),
        "kernel-6.8-pri": Question(cel: #"\#(attr).kernel.compareTo(semver("6.8.0")) >= 0 && \#(attr).pri"#, host: #"kernel >= "6.8""#, device: "device.pri"),
        "amd-group-14": Question(cel: #"\#(attr).iommuGroup >= 14 && \#(attr).iommuVendor == "amd""#, host: #"iommu.vendor = "amd""#, device: "device.iommu_group >= 14"),
        "device-nesting": Question(cel: "\(attr).deviceNesting", host: "", device: "device.nesting"),
        "bus-3c-no-pasid": Question(cel: #"device.attributes["resource.kubernetes.io"].pciBusID.startsWith("0000:3c:") && !\#(attr).pasid"#,
                                    host: "", device: #"device.bdf in ("0000:3c:00.0", "0000:3c:00.1", "0000:3c:00.2", "0000:3c:00.3") and not device.pasid"#),
    ]

    /// capreg's answer: "host/pci-…" for every fresh host and device the question holds for, one query per
    /// device address (the synthetic fleet's devices sit at 0000:3b:00.0–3 and 0000:3c:00.0–3).
    static func capregAnswer(_ q: Question, db: String) throws -> Set<String> {
        var out = Set<String>()
        for bus in ["3b", "3c"] {
            for function in 0..<4 {
                let bdf = "0000:\(bus):00.\(function)"
                let device = "devices((\(q.device)) and device.bdf = \"\(bdf)\") >= 1"
                let expr = q.host.isEmpty ? device : "(\(q.host)) and \(device)"
                let run = try CapregBinary.run(["query", expr, "--json", "--limit", "1000", "--fresh-within", "2h", "--db", db])
                #expect(run.status == 0, "\(expr): \(run.stderr)")
                let rows = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]] ?? []
                for row in rows { out.insert("\(row["hostname"] as! String)/pci-0000-\(bus)-00-\(function)") }
            }
        }
        return out
    }

    static func check(_ python: String, slices: String, selectors: [String: String], dir: TempDir) throws -> (status: Int32, json: [String: Any], stderr: String) {
        let file = dir.path("selectors.json")
        try JSONSerialization.data(withJSONObject: selectors).write(to: URL(fileURLWithPath: file))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [checker, slices, file]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, (try? JSONSerialization.jsonObject(with: o)) as? [String: Any] ?? [:], String(decoding: e, as: UTF8.self))
    }

    @Test func kubernetesTakesTheSlicesAndCELSelectsWhatCapregAnswers() throws {
        guard let python = Self.python else { return }
        let dir = try TempDir()
        let db = dir.path("fleet.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "60", "--days", "4", "--seed", "7", "--devices", "--ingest", "--db", db]).status == 0)
        let export = try CapregBinary.run(["export", "dra", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let slices = dir.path("slices.json")
        try Data(export.stdout.utf8).write(to: URL(fileURLWithPath: slices))
        let result = try Self.check(python, slices: slices, selectors: Self.questions.mapValues(\.cel), dir: dir)
        #expect(result.status == 0 && result.json["valid"] as? Bool == true, "\(result.stderr)")
        let selected = result.json["selected"] as? [String: [String]] ?? [:]
        #expect((result.json["devices"] as? Int ?? 0) > 100)
        for (name, question) in Self.questions.sorted(by: { $0.key < $1.key }) {
            let capreg = try Self.capregAnswer(question, db: db)
            let cel = Set(selected[name] ?? [])
            #expect(cel == capreg, "\(name): CEL selected \(cel.count), capreg answers \(capreg.count); only CEL: \(cel.subtracting(capreg).sorted().prefix(5)), only capreg: \(capreg.subtracting(cel).sorted().prefix(5))")
            #expect(!capreg.isEmpty, "\(name) selects something")
        }
        // Stale hosts publish nothing: every exported node is fresh.
        let fresh = try CapregBinary.run(["query", "devices.count >= 1", "--json", "--limit", "1000", "--fresh-within", "2h", "--db", db])
        let freshHosts = Set(((try? JSONSerialization.jsonObject(with: Data(fresh.stdout.utf8))) as? [[String: Any]] ?? []).map { $0["hostname"] as! String })
        let list = try #require((try? JSONSerialization.jsonObject(with: Data(export.stdout.utf8))) as? [String: Any])
        let nodes = Set((list["items"] as? [[String: Any]] ?? []).compactMap { ($0["spec"] as? [String: Any])?["nodeName"] as? String })
        #expect(nodes == freshHosts && !nodes.isEmpty)
        let all = try CapregBinary.run(["query", "devices.count >= 1", "--json", "--limit", "1000", "--fresh-within", "off", "--db", db])
        #expect(all.stdout.components(separatedBy: "\"hostname\"").count - 1 > nodes.count, "the fleet has stale hosts with devices")
    }

    @Test func refusals() throws {
        let dir = try TempDir()
        let db = dir.path("fleet.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "3", "--days", "1", "--devices", "--ingest", "--db", db]).status == 0)
        let badDriver = try CapregBinary.run(["export", "dra", "--db", db, "--driver", "Not_A_Name"])
        #expect(badDriver.status == 64 && badDriver.stderr.contains("--driver"))
        let badExpr = try CapregBinary.run(["export", "dra", "--db", db, "device.ats"])
        #expect(badExpr.status == 65 && badExpr.stderr.contains("devices("))
        let followAlone = try CapregBinary.run(["export", "dra", "--db", db, "--follow"])
        #expect(followAlone.status == 64 && followAlone.stderr.contains("--out"))
        let noDB = try CapregBinary.run(["export", "dra", "--db", dir.path("none.sqlite")])
        #expect(noDB.status == 66)
        let file = dir.path("a-file")
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        let notDir = try CapregBinary.run(["export", "dra", "--db", db, "--out", file])
        #expect(notDir.status == 73 && notDir.stderr.contains("not a directory"))
    }

    /// --out DIR with --follow against capreg serve: a node's file follows its host's change within seconds
    /// and goes when the host turns stale; --db and --server write the same files.
    @Test func followingKeepsTheFilesCurrent() throws {
        let dir = try TempDir()
        let db = dir.path("fleet.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "12", "--days", "2", "--seed", "4", "--devices", "--ingest", "--db", db]).status == 0)
        let local = dir.path("local")
        #expect(try CapregBinary.run(["export", "dra", "--db", db, "--out", local, "--stale-after", "3650d"]).status == 0)
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"), extra: ["--stale-after", "3650d"])
        let remote = dir.path("remote")
        let once = try CapregBinary.run(["export", "dra", "--server", "http://127.0.0.1:\(server.port)", "--out", remote, "--stale-after", "3650d"])
        #expect(once.status == 0, "\(once.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: local).sorted()
        let remoteNames = try FileManager.default.contentsOfDirectory(atPath: remote).sorted()
        #expect(!names.isEmpty && names == remoteNames)
        for name in names {
            #expect(FileManager.default.contents(atPath: local + "/" + name) == FileManager.default.contents(atPath: remote + "/" + name), "\(name)")
        }
        server.stop()

        // A registry calling hosts stale after 5 s, followed with the same bound.
        let live = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("live.log"), extra: ["--stale-after", "5s"])
        defer { live.stop() }
        let out = dir.path("follow")
        let log = dir.url.appendingPathComponent("follow.log")
        let follow = try CapregBinary.start(["export", "dra", "--server", "http://127.0.0.1:\(live.port)", "--out", out, "--follow", "--stale-after", "5s"],
                                            log: log)
        defer {
            follow.terminate()
            follow.waitUntilExit()
            #expect(follow.terminationStatus == 0, "SIGTERM ends a follower with 0")
        }
        let followLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(eventually(30) { followLog().contains("nodes in") }, "\(followLog())")

        // One host reports now, with one device fewer: its file appears with that many devices.
        let line = try #require(try CapregBinary.run(["synth", "--hosts", "12", "--days", "2", "--seed", "4", "--devices", "--out", "-"]).stdout
            .split(separator: "\n").last { $0.contains("\"pci-device\"") && $0.components(separatedBy: "\"pci-device\"").count > 3 })
        var report = try #require((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
        var sources = report["sources"] as! [[String: Any]]
        let devices = sources.filter { $0["kind"] as? String == "pci-device" }.count
        sources.remove(at: sources.lastIndex { $0["kind"] as? String == "pci-device" }!)
        report["sources"] = sources
        report["report_id"] = "dra-follow-1"
        report["collected_at"] = RFC3339.format(Date())
        let host = (report["host"] as! [String: Any])["hostname"] as! String
        let file = dir.path("report.json")
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: file))
        let started = Date()
        #expect(try CapregBinary.run(["ingest", file, "--db", db]).status == 0)
        let path = out + "/" + host + ".json"
        func deviceCount() -> Int {
            guard let data = FileManager.default.contents(atPath: path),
                  let list = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let items = list["items"] as? [[String: Any]] else { return -1 }
            return items.reduce(0) { $0 + (((($1["spec"] as? [String: Any])?["devices"]) as? [Any])?.count ?? 0) }
        }
        #expect(eventually(10) { deviceCount() == devices - 1 }, "\(host): \(deviceCount()) devices; \(followLog())")
        #expect(Date().timeIntervalSince(started) < 5, "within seconds of the change")
        // Not seen again: stale after 5 s, and its file goes.
        #expect(eventually(15) { !FileManager.default.fileExists(atPath: path) }, "\(followLog())")
    }
}
