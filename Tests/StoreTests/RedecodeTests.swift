import Decoders
import Foundation
import GRDB
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
import TestRegistry
@testable import Synthetic

@Suite struct RedecodeTests {
    func ingestFleet(_ path: String) throws -> (Registry, [Report]) {
        let store = try TestRegistry.open(path)
        var reports: [Report] = []
        SyntheticFleet(hosts: 12, days: 5, seed: 5).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        return (store, reports)
    }

    func sameHistory(_ a: Registry, _ b: Registry) throws -> Bool {
        let start = SyntheticFleet(hosts: 1, days: 1, seed: 5).start
        for hours in stride(from: 0.0, through: 5 * 24, by: 6) {
            let t = start.addingTimeInterval(hours * 3600)
            if try a.factsAsOf(t) != b.factsAsOf(t) { return false }
        }
        return try a.hosts() == b.hosts()
    }

    @Test func sameDecodersChangeNothing() throws {
        let dir = try TempDir()
        let (store, reports) = try ingestFleet(dir.path("a.sqlite"))
        let rows = try store.count("SELECT count(*) FROM facts")
        #expect(try store.redecodeBacklog() == 0)
        let summary = try store.redecode(all: true)
        // Every reports row is read again (the reports kept as heartbeats have no payload to read).
        #expect(summary.reports == (try store.reportCount()))
        #expect(summary.reports < reports.count, "the fleet's unchanged hourly reports are heartbeats")
        #expect(summary.changed == 0)
        #expect(summary.failed.isEmpty)
        #expect(try store.count("SELECT count(*) FROM facts") == rows)
    }

    /// History written by "an older decoder" (tampered values, decoder version 0) is brought to what
    /// today's decoders say, with new versions only where output differs; a run stopped halfway and
    /// run again ends the same.
    @Test func olderDecoderOutputIsReplacedAndRerunsConverge() throws {
        let dir = try TempDir()
        let (store, _) = try ingestFleet(dir.path("old.sqlite"))
        let (fresh, _) = try ingestFleet(dir.path("fresh.sqlite"))
        try store.database.write { db in
            try db.execute("UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute("UPDATE current_facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute("UPDATE reports SET decoder_version = 0 WHERE id % 2 = 0")
        }
        #expect(try !sameHistory(store, fresh))
        // The first half (an interrupted run), then everything that is still stale.
        let half = try store.redecode()
        #expect(half.changed > 0)
        try store.database.write { db in try db.execute("UPDATE reports SET decoder_version = 0") }
        let rest = try store.redecode(batchSize: 7)
        #expect(rest.failed.isEmpty)
        #expect(try sameHistory(store, fresh))
        #expect(try store.redecodeBacklog() == 0)
        #expect(try store.redecode().reports == 0, "nothing left to do")
        #expect(try store.count("SELECT count(*) FROM facts") == fresh.count("SELECT count(*) FROM facts"), "no extra versions")
    }

    /// A registry decoded before the hardware/usable split held the registers' answer under the plain
    /// names (`nesting`, `pasid_bind`, …) and no evidence. Redecode gives every stored report today's
    /// facts: the hardware half under `hw.`, the usable half from the report's own probes (unknown, with
    /// its reason, where it carried none), exactly as a registry fed the same reports today.
    @Test func registryFromBeforeTheSplitGetsBothHalves() throws {
        let dir = try TempDir()
        let (store, _) = try ingestFleet(dir.path("old.sqlite"))
        let (fresh, _) = try ingestFleet(dir.path("fresh.sqlite"))
        let usable = CrossVendor.usableNames.map { "'\($0)'" }.joined(separator: ",")
        try store.database.write { db in
            for table in ["facts", "current_facts"] {
                try db.execute("DELETE FROM \(table) WHERE name IN (\(usable)) OR name LIKE 'evidence.%' OR name LIKE 'probe.%' OR name = 'hw.dirty_tracking'")
                try db.execute("UPDATE \(table) SET name = substr(name, 4) WHERE name LIKE 'hw.%'")
            }
            try db.execute("UPDATE reports SET decoder_version = 1")
        }
        #expect(try store.count("SELECT count(*) FROM current_facts WHERE name = 'hw.nesting'") == 0)
        #expect(try !sameHistory(store, fresh))
        let summary = try store.redecode()
        #expect(summary.failed.isEmpty && summary.changed > 0)
        #expect(try sameHistory(store, fresh))
        for text in ["nesting", "hw.nesting and not nesting", #"pasid_bind and first_level.format = "intel-vtd""#, "not known(nesting)"] {
            let expr = try QueryParser.parse(text)
            func names(_ s: Registry) throws -> [String] { try s.queryHosts(expr, asOf: nil, fields: nil, limit: 1000, after: nil).hosts.map(\.hostname) }
            #expect(try names(store) == names(fresh), "\(text)")
        }
        #expect(try store.count("SELECT count(*) FROM current_facts WHERE name = 'evidence.nesting'") == store.hosts().count)
    }
}
