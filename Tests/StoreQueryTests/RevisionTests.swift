import Foundation
import Query
import Report
import Testing
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
