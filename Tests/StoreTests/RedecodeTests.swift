import Foundation
import GRDB
import Report
import Testing
import TestSupport
@testable import Store

@Suite struct RedecodeTests {
    func ingestFleet(_ path: String) throws -> (SQLiteStore, [Report]) {
        let store = try SQLiteStore(path: path)
        var reports: [Report] = []
        SyntheticFleet(hosts: 12, days: 5, seed: 5).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        return (store, reports)
    }

    func sameHistory(_ a: SQLiteStore, _ b: SQLiteStore) throws -> Bool {
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
        #expect(summary.reports == reports.count)
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
        try store.pool.write { db in
            try db.execute(sql: "UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute(sql: "UPDATE current_facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute(sql: "UPDATE reports SET decoder_version = 0 WHERE id % 2 = 0")
        }
        #expect(try !sameHistory(store, fresh))
        // The first half (an interrupted run), then everything that is still stale.
        let half = try store.redecode()
        #expect(half.changed > 0)
        try store.pool.write { db in try db.execute(sql: "UPDATE reports SET decoder_version = 0") }
        let rest = try store.redecode(batchSize: 7)
        #expect(rest.failed.isEmpty)
        #expect(try sameHistory(store, fresh))
        #expect(try store.redecodeBacklog() == 0)
        #expect(try store.redecode().reports == 0, "nothing left to do")
        #expect(try store.count("SELECT count(*) FROM facts") == fresh.count("SELECT count(*) FROM facts"), "no extra versions")
    }
}
