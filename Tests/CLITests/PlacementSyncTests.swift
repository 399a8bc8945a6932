import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import PlacementSync
import RegistryClient
import Testing
import TestSupport
import Timestamps

/// `capreg sync placement` against a real OpenStack Placement (PyPI openstack-placement, SQLite, noauth2,
/// started here by deploy/placement/throwaway-placement.py): for several questions, Placement's allocation
/// candidates are exactly the hosts capreg answers, before and after a host changes and after hosts go stale.
/// Skipped without openstack-placement (CAPREG_PLACEMENT_PYTHON, default ~/.cache/capreg/placement-venv/bin/python),
/// unless CAPREG_PLACEMENT_REQUIRED=1 (.ci/run), which makes its absence a failure.
@Suite("capreg sync placement", .serialized)
struct PlacementSyncTests {
    /// A running throwaway Placement, stopped with the value.
    final class Placement {
        let process = Process()
        let url: String
        let client: APIClient
        let dir: TempDir

        static var python: String? {
            let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
            let path = ProcessInfo.processInfo.environment["CAPREG_PLACEMENT_PYTHON"]
                ?? cache.appendingPathComponent("capreg/placement-venv/bin/python").path
            let found = FileManager.default.isExecutableFile(atPath: path)
            if !found && ProcessInfo.processInfo.environment["CAPREG_PLACEMENT_REQUIRED"] == "1" {
                Issue.record("CAPREG_PLACEMENT_REQUIRED=1 but no Python with openstack-placement at \(path)")
            }
            return found ? path : nil
        }

        init?() throws {
            guard let python = Self.python else { return nil }
            dir = try TempDir()
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/placement/throwaway-placement.py")
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script.standardized.path, dir.path("placement")]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = ""
            let handle = out.fileHandleForReading
            while !line.contains("\n") {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { break }
                line += String(decoding: chunk, as: UTF8.self)
            }
            guard let range = line.range(of: "listening on ") else {
                process.terminate()
                throw Failure("Placement did not start: \(line)")
            }
            url = "http://" + line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            client = try APIClient(baseURL: url)
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        struct Failure: Error, CustomStringConvertible {
            var description: String
            init(_ d: String) { description = d }
        }

        func call(_ method: String, _ path: String, _ body: Any? = nil) throws -> (status: Int, json: [String: Any]) {
            let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
            let r = try client.request(method, path, body: bytes, headers: [("X-Auth-Token", "admin"), ("OpenStack-API-Version", "placement 1.39"),
                                                                           ("Content-Type", "application/json")])
            return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
        }

        /// A compute node's provider: a name and 64 VCPUs.
        @discardableResult
        func provider(_ name: String) throws -> String {
            let made = try call("POST", "/resource_providers", ["name": name])
            guard made.status == 200, let uuid = made.json["uuid"] as? String else { throw Failure("POST /resource_providers \(made)") }
            let inventory = try call("PUT", "/resource_providers/\(uuid)/inventories",
                                     ["resource_provider_generation": 0, "inventories": ["VCPU": ["total": 64]]])
            guard inventory.status == 200 else { throw Failure("inventory: \(inventory)") }
            return uuid
        }

        /// Provider names Placement offers for one VCPU with every trait of `required`.
        func candidates(_ required: [String]) throws -> Set<String> {
            let r = try call("GET", "/allocation_candidates?resources=VCPU:1&limit=10000&required=\(required.joined(separator: ","))")
            guard r.status == 200 else { throw Failure("allocation_candidates: \(r)") }
            let names = try Dictionary(uniqueKeysWithValues: providersByUUID().map { ($0.key, $0.value) })
            return Set((r.json["provider_summaries"] as? [String: Any] ?? [:]).keys.compactMap { names[$0] })
        }

        func providersByUUID() throws -> [String: String] {
            let r = try call("GET", "/resource_providers")
            return Dictionary(uniqueKeysWithValues: (r.json["resource_providers"] as? [[String: Any]] ?? []).compactMap { p in
                (p["uuid"] as? String).flatMap { u in (p["name"] as? String).map { (u, $0) } }
            })
        }

        func traits(_ uuid: String) throws -> Set<String> { Set(try call("GET", "/resource_providers/\(uuid)/traits").json["traits"] as? [String] ?? []) }
    }

    /// capreg's questions and the traits that ask them of Placement.
    static let questions: [(expression: String, traits: [String])] = [
        ("nesting", ["CUSTOM_CAPREG_NESTING"]),
        ("pasid_bits >= 20", ["CUSTOM_CAPREG_PASID_BITS_GE_20"]),
        ("nesting and pasid_bits >= 16 and first_level.format = \"intel-vtd\"",
         ["CUSTOM_CAPREG_NESTING", "CUSTOM_CAPREG_PASID_BITS_GE_16", "CUSTOM_CAPREG_FIRST_LEVEL_FORMAT_INTEL_VTD"]),
        ("iommu.vendor = \"amd\" and pasid_bind", ["CUSTOM_CAPREG_IOMMU_VENDOR_AMD", "CUSTOM_CAPREG_PASID_BIND"]),
        ("profile(\"vtd-nested\")", ["CUSTOM_CAPREG_PROFILE_VTD_NESTED"]),
        ("profile(\"amd-nested\")", ["CUSTOM_CAPREG_PROFILE_AMD_NESTED"]),
    ]

    static func capregAnswer(_ expression: String, db: String, freshWithin: String) throws -> Set<String> {
        let run = try CapregBinary.run(["query"] + (expression.isEmpty ? [] : [expression]) + ["--json", "--limit", "1000", "--fresh-within", freshWithin, "--db", db])
        #expect(run.status == 0, "\(run.stderr)")
        let hosts = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]] ?? []
        return Set(hosts.compactMap { $0["hostname"] as? String })
    }

    static func sync(_ p: Placement, db: String, staleAfter: String = "2h") throws -> CapregBinary.Run {
        let run = try CapregBinary.run(["sync", "placement", "--url", p.url, "--placement-token", "admin", "--db", db, "--stale-after", staleAfter])
        #expect(run.status == 0, "\(run.stderr)")
        return run
    }

    /// Every question asked both ways gives the same hosts, and at least one question some hosts.
    static func agree(_ p: Placement, db: String, freshWithin: String = "2h", expectSome: Bool = true) throws {
        var some = false
        for (expression, traits) in questions {
            let capreg = try Self.capregAnswer(expression, db: db, freshWithin: freshWithin)
            let placement = try p.candidates(traits)
            #expect(placement == capreg, "\(expression): Placement \(placement.sorted()) vs capreg \(capreg.sorted())")
            some = some || !capreg.isEmpty
        }
        #expect(some == expectSome)
    }

    @Test func allocationCandidatesAreCapregsAnswers() throws {
        guard let p = try Placement() else { return }
        let dir = try TempDir()
        let db = dir.path("fleet.sqlite")
        // The last of 4 days ends now; some hosts stopped reporting days ago (stale for 2h).
        #expect(try CapregBinary.run(["synth", "--hosts", "60", "--days", "4", "--seed", "1", "--ingest", "--db", db]).status == 0)
        let hostnames = try Self.capregAnswer("", db: db, freshWithin: "off")
        #expect(hostnames.count == 60)
        var uuids: [String: String] = [:]
        for name in hostnames.sorted() { uuids[name] = try p.provider(name) }
        // A provider capreg has no host for, and another writer's trait on one of capreg's hosts: both untouched.
        let other = try p.provider("not-a-capreg-host")
        #expect(try p.call("PUT", "/traits/CUSTOM_RACK_A").status == 201)
        let first = hostnames.sorted()[0]
        let gen = try p.call("GET", "/resource_providers/\(uuids[first]!)/traits").json["resource_provider_generation"] as! Int
        #expect(try p.call("PUT", "/resource_providers/\(uuids[first]!)/traits", ["resource_provider_generation": gen, "traits": ["CUSTOM_RACK_A"]]).status == 200)

        let run = try Self.sync(p, db: db)
        #expect(run.stderr.contains("60 hosts, 61 providers"), "\(run.stderr)")
        try Self.agree(p, db: db)
        #expect(try p.traits(uuids[first]!).contains("CUSTOM_RACK_A"))
        #expect(try p.traits(other).isEmpty)
        // Some hosts are stale: they carry none of capreg's traits.
        let fresh = try Self.capregAnswer("", db: db, freshWithin: "2h")
        let stale = hostnames.subtracting(fresh)
        #expect(!stale.isEmpty && !fresh.isEmpty)
        for name in stale { #expect(try p.traits(uuids[name]!).allSatisfy { !$0.hasPrefix("CUSTOM_CAPREG_") }) }

        // A second run writes nothing.
        #expect(try Self.sync(p, db: db).stderr.contains("0 updated, 0 cleared (stale), 60 unchanged"))

        // A host changes: a nesting host reports what a host without nesting reported.
        let nesting = try Self.capregAnswer("nesting", db: db, freshWithin: "2h").sorted()
        let without = try Self.capregAnswer("not nesting", db: db, freshWithin: "2h").sorted()
        let target = try #require(nesting.first), donor = try #require(without.first)
        let file = try Self.transplant(dir: dir, donor: donor, target: target, at: Date(), id: "placement-test-change")
        #expect(try CapregBinary.run(["ingest", file, "--db", db]).status == 0)
        #expect(try !Self.capregAnswer("nesting", db: db, freshWithin: "2h").contains(target))
        #expect(try Self.sync(p, db: db).stderr.contains("1 updated"))
        try Self.agree(p, db: db)

        // Every host goes stale: Placement offers none of them for any question, as capreg answers none.
        usleep(1_500_000)
        #expect(try Self.sync(p, db: db, staleAfter: "1s").stderr.contains("cleared"))
        try Self.agree(p, db: db, freshWithin: "1s", expectSome: false)
        #expect(try p.traits(uuids[first]!) == ["CUSTOM_RACK_A"])
    }

    /// The donor's newest report from the fleet, made `target`'s at `at` (JSON file in `dir`).
    static func transplant(dir: TempDir, donor: String, target: String, at: Date, id: String) throws -> String {
        let line = try CapregBinary.run(["synth", "--hosts", "60", "--days", "4", "--seed", "1", "--out", "-"]).stdout
            .split(separator: "\n").last { $0.contains("\"hostname\":\"\(donor)\"") }
        let text = try #require(line)
        var report = try #require((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])
        var host = report["host"] as! [String: Any]
        host["hostname"] = target
        host["machine_id"] = nil
        report["host"] = host
        report["report_id"] = id
        report["collected_at"] = RFC3339.format(at)
        let file = dir.path("\(id).json")
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test func followingTheChangeStreamReachesPlacementWithinSeconds() throws {
        guard let p = try Placement() else { return }
        let dir = try TempDir()
        let db = dir.path("fleet.sqlite")
        #expect(try CapregBinary.run(["synth", "--hosts", "60", "--days", "4", "--seed", "1", "--ingest", "--db", db]).status == 0)
        let all = try Self.capregAnswer("", db: db, freshWithin: "off")
        var uuids: [String: String] = [:]
        for name in all.sorted() { uuids[name] = try p.provider(name) }
        let donor = try #require(try Self.capregAnswer("nesting", db: db, freshWithin: "2h").sorted().first)
        let target = try #require(try Self.capregAnswer("not nesting", db: db, freshWithin: "off").sorted().first)

        // A registry that calls hosts stale after 4 s, and a sync following it with the same bound.
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"), extra: ["--stale-after", "4s"])
        defer { server.stop() }
        let log = dir.url.appendingPathComponent("follow.log")
        let follow = try CapregBinary.start(["sync", "placement", "--url", p.url, "--placement-token", "admin", "--follow", "--stale-after", "4s",
                                             "--server", "http://127.0.0.1:\(server.port)"], log: log)
        defer {
            follow.terminate()
            follow.waitUntilExit()
            #expect(follow.terminationStatus == 0, "SIGTERM ends a follower with 0")
        }
        let followLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(eventually(30) { followLog().contains("60 hosts, 60 providers") }, "\(followLog())")

        // The target reports the donor's facts, now: nesting, and fresh.
        let changedAt = Date()
        let file = try Self.transplant(dir: dir, donor: donor, target: target, at: changedAt, id: "follow-change")
        #expect(try CapregBinary.run(["ingest", file, "--db", db]).status == 0)
        #expect(eventually(10) { (try? p.traits(uuids[target]!).contains("CUSTOM_CAPREG_NESTING")) == true }, "\(followLog())")
        let visible = Date().timeIntervalSince(changedAt)
        #expect(visible < 5, "the change reached Placement after \(visible) s")
        // Four seconds later it is stale: its traits go.
        #expect(eventually(15) { (try? p.traits(uuids[target]!).contains { $0.hasPrefix("CUSTOM_CAPREG_") }) == false }, "\(followLog())")
        #expect(Date().timeIntervalSince(changedAt) >= 4)
    }

    @Test func aChangedGenerationIsReadAgainAndRetried() throws {
        guard let p = try Placement() else { return }
        let uuid = try p.provider("h1")
        let sync = try PlacementSync(url: p.url, token: "admin")
        _ = try sync.load()
        // Another writer adds its trait between capreg's read and its write, once.
        #expect(try p.call("PUT", "/traits/CUSTOM_OTHER").status == 201)
        var interfered = false
        sync.beforeWrite = { provider in
            guard !interfered else { return }
            interfered = true
            let gen = (try? p.call("GET", "/resource_providers/\(provider)/traits").json["resource_provider_generation"] as? Int) ?? -1
            _ = try? p.call("PUT", "/resource_providers/\(provider)/traits", ["resource_provider_generation": gen, "traits": ["CUSTOM_OTHER"]])
        }
        let summary = try sync.apply([PlacementSync.Host(hostname: "h1", traits: ["CUSTOM_CAPREG_NESTING"])])
        #expect(summary.conflicts == 1 && summary.updated == 1)
        #expect(try p.traits(uuid) == ["CUSTOM_OTHER", "CUSTOM_CAPREG_NESTING"])
    }
}
