import Foundation
import GRDB
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic
import TestRegistry

/// as_of_revision N must answer exactly what a registry that had received only the reports up to the one
/// that made revision N answers at its own newest revision, whatever order the reports arrived in (late,
/// out-of-order reports included). Heartbeats make no revision: a cut after one is asked at the revision
/// its answer named.
@Suite struct RevisionTests {
    @Test(arguments: [UInt64(1), 2])
    func revisionEqualsARegistryCutAtThatReport(seed: UInt64) throws {
        let dir = try TempDir()
        var reports: [Report] = []
        SyntheticFleet(hosts: 25, days: 6, seed: seed).forEachReport { reports.append($0) }
        var dice = Dice(state: seed)
        // Arrival order: mostly by time, with a quarter of the reports swapped out of order.
        for i in reports.indices where dice.chance(25) { reports.swapAt(i, dice.below(reports.count)) }
        let full = try TestRegistry.open(dir.path("full.sqlite"))
        let results = try full.ingest(reports)
        #expect(results.contains { $0.heartbeat } && results.contains { !$0.heartbeat })
        let exprs: [QueryExpr?] = [nil, try QueryParser.parse(#"pasid_bind and kernel >= "6.1""#),
                                   try QueryParser.parse("not vtd.ecap.ers or pasid_bits < 20")]
        for cut in [1, reports.count / 3, reports.count / 2, reports.count - 1] {
            let partial = try TestRegistry.open(dir.path("cut-\(cut).sqlite"))
            let revision = try #require(try partial.ingest(Array(reports.prefix(cut))).last?.revision)
            #expect(revision == results[cut - 1].revision)
            for expr in exprs {
                let past = try full.answer(HostQueryRequest(expr, reference: .revision(revision), limit: 1000))
                let now = try partial.answer(HostQueryRequest(expr, reference: .revision(revision), limit: 1000))
                #expect(past.revision == revision)
                #expect(past.matches.hosts.map(\.hostname) == now.matches.hosts.map(\.hostname), "cut \(cut), \(expr?.description ?? "all")")
                for (a, b) in zip(past.matches.hosts, now.matches.hosts) {
                    #expect(a.facts == b.facts && a.kernelRelease == b.kernelRelease && a.reportedAt == b.reportedAt && a.labels == b.labels,
                            "\(a.hostname) at \(cut)")
                }
            }
        }
    }
}

/// A redecode is a write: it advances the revision, and an answer at an earlier revision still reads the
/// facts that revision held (the rows the redecode saved), while answers from then on read the new ones.
@Suite struct RedecodeRevisionTests {
    @Test func earlierRevisionsKeepTheirFactsAcrossARedecode() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 15, days: 4, seed: 9).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        // "An older decoder": its history says the opposite for one fact; every report awaits a redecode.
        try store.database.write { db in
            try db.execute("UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute("UPDATE current_facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute("UPDATE reports SET decoder_version = 0")
        }
        let newest = try store.answer(HostQueryRequest(nil, limit: 1)).revision
        let exprs: [QueryExpr?] = [nil, try QueryParser.parse("vfio.pgsize_2m"), try QueryParser.parse("not vfio.pgsize_2m and known(vfio.pgsize_2m)")]
        func answers(at n: Int64) throws -> [[QueriedHost]] {
            try exprs.map { try store.answer(HostQueryRequest($0, reference: .revision(n), limit: 1000)).matches.hosts }
        }
        let cuts = [Int64(reports.count / 2), newest]
        let before = try cuts.map(answers)

        let summary = try store.redecode(batchSize: 1000)
        #expect(summary.changed > 0)
        let after = try store.answer(HostQueryRequest(nil, limit: 1)).revision
        #expect(after == newest + 1, "one batch, one revision")
        #expect(summary.revisions == after...after)
        for (n, old) in zip(cuts, before) {
            let again = try answers(at: n)
            #expect(again.map { $0.map(\.hostname) } == old.map { $0.map(\.hostname) }, "revision \(n)")
            #expect(again.map { $0.map(\.facts) } == old.map { $0.map(\.facts) }, "revision \(n)")
        }
        // At the redecode's own revision the facts are the new decoders' (the opposite of before), as now.
        let rewritten = try answers(at: after)
        let now = try exprs.map { try store.answer(HostQueryRequest($0, limit: 1000)).matches.hosts }
        #expect(rewritten.map { $0.map(\.hostname) } == now.map { $0.map(\.hostname) })
        #expect(rewritten[1].map(\.hostname) == before[1][2].map(\.hostname), "pgsize_2m flipped for every host")
        #expect(!rewritten[1].isEmpty)
    }

    @Test func aRedecodeThatChangesNoFactSavesNothing() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("s.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 5, days: 2, seed: 3).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        let before = try store.currentRevision()
        let summary = try store.redecode(all: true, batchSize: 10)
        #expect(summary.changed == 0)
        let batches = (try store.reportCount() + 9) / 10
        #expect(try store.answer(HostQueryRequest(nil, limit: 1)).revision == before + Int64(batches))
        #expect(try store.database.read { db in try db.value("SELECT count(*) FROM facts_superseded", as: Int.self) } == 0)
    }
}

/// Labels come from the report in force at the revision (or time), not from today's host row; the
/// migration's backfill from stored payloads gives every report the label set ingest gave it.
@Suite struct LabelHistoryTests {
    func store(_ dir: TempDir) throws -> Registry {
        let store = try TestRegistry.open(dir.path("l.sqlite"))
        _ = try store.ingest([
            Fleet.report("1", host: "h1", at: 0, kernel: "6.1.0-18-amd64", labels: ["rack": "r1", "pool": "gpu"]),
            Fleet.report("2", host: "h2", at: 1, kernel: "6.1.0-18-amd64", labels: ["rack": "r1"]),
            Fleet.report("3", host: "h1", at: 2, kernel: "6.1.0-18-amd64", labels: ["rack": "r2"]),
            Fleet.report("4", host: "h2", at: 3, kernel: "6.1.0-18-amd64", labels: ["rack": "r1"]),
        ])
        return store
    }

    @Test func revisionsReadTheLabelsOfTheirTime() throws {
        let dir = try TempDir()
        let store = try store(dir)
        func hosts(_ query: String, _ reference: QueryReference) throws -> [String] {
            try store.answer(HostQueryRequest(try QueryParser.parse(query), reference: reference, limit: 100)).matches.hosts.map(\.hostname)
        }
        #expect(try hosts(#"label.rack = "r1""#, .now) == ["h2"])
        #expect(try hosts(#"label.rack = "r1""#, .revision(2)) == ["h1", "h2"])
        #expect(try hosts(#"label.pool = "gpu""#, .revision(2)) == ["h1"])
        #expect(try hosts(#"has(label.pool)"#, .revision(3)) == [])
        let page = try store.answer(HostQueryRequest(nil, reference: .revision(1), limit: 100)).matches.hosts
        #expect(page.map(\.labels) == [["rack": "r1", "pool": "gpu"]])
    }

    // Runs SQLite's migration 0007 itself.
    @Test(.enabled(if: TestBackend.current == .sqlite)) func backfillFromPayloadsEqualsIngest() throws {
        let dir = try TempDir()
        let store = try store(dir)
        let sql = try #require(Migration.sqlite.first { $0.name == "0007_report_labels" }?.sql)
        let backfill = String(sql[try #require(sql.firstRange(of: "-- Backfill")).lowerBound...])
        func labelsPerReport() throws -> [[String: String]] {
            try store.database.read { db in
                try db.values("SELECT id FROM reports ORDER BY id", as: Int64.self).map { id in
                    var labels: [String: String] = [:]
                    for row in try db.rows("""
                        SELECT e.key, e.value FROM reports r JOIN label_set_entries e ON e.set_id = r.label_set_id WHERE r.id = ?
                        """, [id]) { labels[row[0]] = row[1] }
                    return labels
                }
            }
        }
        let ingested = try labelsPerReport()
        // Report 4 repeats report 2 in everything but its time: a heartbeat, no reports row.
        #expect(ingested == [["rack": "r1", "pool": "gpu"], ["rack": "r1"], ["rack": "r2"]])
        let sets = try store.database.read { db in try db.value("SELECT count(*) FROM label_sets", as: Int.self) }
        #expect(sets == 3, "equal label sets are stored once")
        try store.database.write { db in
            try db.executeScript("UPDATE reports SET label_set_id = NULL; DELETE FROM label_set_entries; DELETE FROM label_sets;")
            try db.executeScript(backfill)
        }
        #expect(try labelsPerReport() == ingested)
        #expect(try store.database.read { db in try db.value("SELECT count(*) FROM label_sets", as: Int.self) } == 3)
    }
}

extension LabelHistoryTests {
    /// The change feed filters on, and shows, the labels at the window's end, not today's.
    @Test func changeFeedUsesTheLabelsAtItsEnd() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("c.sqlite"))
        _ = try store.ingest([
            Fleet.report("1", host: "h1", at: 0, kernel: "6.1.0-18-amd64", pgsizes: 0x1000, labels: ["rack": "r1"]),
            Fleet.report("2", host: "h1", at: 2, kernel: "6.1.0-18-amd64", pgsizes: 0x4020_1000, labels: ["rack": "r2"]),
            Fleet.report("3", host: "h1", at: 4, kernel: "6.1.0-18-amd64", pgsizes: 0x1000, labels: ["rack": "r3"]),
        ])
        let page = try store.changePage(from: Fleet.time(1), to: Fleet.time(3), after: nil, limit: 10, scanBudget: 10) { _, labels in
            labels["rack"] == "r2"
        }
        #expect(page.hosts.map(\.change.hostname) == ["h1"])
        #expect(page.hosts.first?.labels == ["rack": "r2"])
    }
}
