import Foundation
import Testing
import TestSupport

/// `capreg watch`: the change stream for people and scripts, from --db or a running server, printing
/// the same events either way.
@Suite("capreg watch")
struct WatchCommandTests {
    /// A two-day synthetic fleet: every host's first report is a change, and so is each kernel upgrade.
    static func fleet(_ dir: TempDir) throws -> String {
        let db = dir.path("w.sqlite")
        let run = try CapregBinary.run(["synth", "--hosts", "12", "--days", "2", "--seed", "1", "--ingest", "--db", db])
        #expect(run.status == 0, "\(run.stderr)")
        return db
    }

    @Test func onceFromTheDatabasePrintsEveryEventAndAFilterKeepsItsHosts() throws {
        let dir = try TempDir()
        let db = try Self.fleet(dir)
        let all = try CapregBinary.run(["watch", "--since", "0", "--once", "--db", db])
        #expect(all.status == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count >= 12, "\(all.stdout)")
        #expect(lines.allSatisfy { $0.hasPrefix("#") && $0.contains(" changed host-") })
        // Ids are the stream's, in order, each once.
        let ids = lines.compactMap { Int($0.dropFirst().prefix { $0.isNumber }) }
        #expect(ids == Array(1...ids.count))

        let json = try CapregBinary.run(["watch", "--since", "0", "--once", "--json", "--db", db, "iommu.vendor = \"amd\""])
        #expect(json.status == 0)
        let objects = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!objects.isEmpty && objects.count < lines.count)
        // Every host printed is an AMD host now, as the registry's own query says.
        let amd = try CapregBinary.run(["query", "iommu.vendor = \"amd\"", "--json", "--fresh-within", "off", "--limit", "1000", "--db", db])
        let amdHosts = Set(((try? JSONSerialization.jsonObject(with: Data(amd.stdout.utf8))) as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String })
        #expect(Set(objects.compactMap { $0["hostname"] as? String }) == amdHosts)
        #expect(objects.allSatisfy { $0["matches"] as? Bool == true })

        // From a later point only what follows it.
        let tail = try CapregBinary.run(["watch", "--since", "\(ids.count - 2)", "--once", "--db", db])
        #expect(tail.stdout.split(separator: "\n").count == 2)
    }

    @Test func aServerGivesTheSameEventsAsTheDatabase() throws {
        let dir = try TempDir()
        let db = try Self.fleet(dir)
        let local = try CapregBinary.run(["watch", "--since", "0", "--once", "--json", "--db", db])
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let remote = try CapregBinary.run(["watch", "--since", "0", "--once", "--json", "--server", "http://127.0.0.1:\(server.port)"])
        #expect(remote.status == 0, "\(remote.stderr)")
        // The server also writes stale events for hosts the synthetic fleet stopped; those come after.
        let localLines = local.stdout.split(separator: "\n")
        #expect(Array(remote.stdout.split(separator: "\n").prefix(localLines.count)) == localLines)
    }

    @Test func refusalsHaveTheirExitStatus() throws {
        let dir = try TempDir()
        #expect(try CapregBinary.run(["watch", "--once", "--db", dir.path("none.sqlite")]).status == 66)
        let db = try Self.fleet(dir)
        let bad = try CapregBinary.run(["watch", "--once", "--db", db, "pasid_bits >="])
        #expect(bad.status == 65 && bad.stderr.contains("capreg watch:"))
        #expect(try CapregBinary.run(["watch", "--once", "--since", "-3", "--db", db]).status == 64)
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let ahead = try CapregBinary.run(["watch", "--once", "--since", "100000", "--server", "http://127.0.0.1:\(server.port)"])
        #expect(ahead.status == 65 && ahead.stderr.contains("past the newest event"), "\(ahead.stderr)")
        #expect(try CapregBinary.run(["watch", "--once", "--server", "http://127.0.0.1:1"]).status == 69)
    }
}
