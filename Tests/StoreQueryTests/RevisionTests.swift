import Foundation
import GRDB
import Query
import Report
import Testing
import TestSupport
@testable import Store

/// as_of_revision N must answer exactly what a registry that had received only the first N reports
/// answers now, whatever order the reports arrived in (late, out-of-order reports included).
@Suite struct RevisionTests {
    @Test(arguments: [UInt64(1), 2])
    func revisionEqualsARegistryCutAtThatReport(seed: UInt64) throws {
        let dir = try TempDir()
        var reports: [Report] = []
        SyntheticFleet(hosts: 25, days: 6, seed: seed).forEachReport { reports.append($0) }
        var dice = Dice(state: seed)
        // Arrival order: mostly by time, with a quarter of the reports swapped out of order.
        for i in reports.indices where dice.chance(25) { reports.swapAt(i, dice.below(reports.count)) }
        let full = try SQLiteStore(path: dir.path("full.sqlite"))
        _ = try full.ingest(reports)
        let exprs: [QueryExpr?] = [nil, try QueryParser.parse(#"pasid_bind and kernel >= "6.1""#),
                                   try QueryParser.parse("not vtd.ecap.ers or pasid_bits < 20")]
        for cut in [1, reports.count / 3, reports.count / 2, reports.count - 1] {
            let partial = try SQLiteStore(path: dir.path("cut-\(cut).sqlite"))
            _ = try partial.ingest(Array(reports.prefix(cut)))
            for expr in exprs {
                let past = try full.answer(HostQueryRequest(expr, reference: .revision(Int64(cut)), limit: 1000))
                let now = try partial.answer(HostQueryRequest(expr, limit: 1000))
                #expect(past.revision == Int64(cut))
                #expect(past.matches.hosts.map(\.hostname) == now.matches.hosts.map(\.hostname), "cut \(cut), \(expr?.description ?? "all")")
                for (a, b) in zip(past.matches.hosts, now.matches.hosts) {
                    #expect(a.facts == b.facts && a.kernelRelease == b.kernelRelease && a.reportedAt == b.reportedAt, "\(a.hostname) at \(cut)")
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
        let store = try SQLiteStore(path: dir.path("r.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 15, days: 4, seed: 9).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        // "An older decoder": its history says the opposite for one fact; every report awaits a redecode.
        try store.pool.write { db in
            try db.execute(sql: "UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute(sql: "UPDATE current_facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute(sql: "UPDATE reports SET decoder_version = 0")
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
        let store = try SQLiteStore(path: dir.path("s.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 5, days: 2, seed: 3).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        let summary = try store.redecode(all: true, batchSize: 10)
        #expect(summary.changed == 0)
        let batches = (reports.count + 9) / 10
        #expect(try store.answer(HostQueryRequest(nil, limit: 1)).revision == Int64(reports.count + batches))
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM facts_superseded") } == 0)
    }
}
