import Foundation
import Testing
import TestSupport
@testable import Store
import StoreSQLite

/// The store reads whose return types carry a revision: each stamps the revision of its own read.
@Suite struct StoreRevisionStampTests {
    @Test func readsCarryTheRevisionTheyWereReadAt() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        func expectStamps(_ revision: Int64) throws {
            #expect(try store.hostDetail(hostname: "h1")?.revision == revision)
            #expect(try store.historyPage(hostname: "h1", after: nil, limit: 5)?.revision == revision)
            #expect(try store.changePage(from: Fixture.time(-1), to: Fixture.time(10), after: nil, limit: 5, scanBudget: 10).revision == revision)
            // An empty window reads nothing else, but still says which revision it saw.
            #expect(try store.changePage(from: Fixture.time(1), to: Fixture.time(1), after: nil, limit: 5, scanBudget: 10).revision == revision)
            #expect(try store.kernelSummaries(after: nil, limit: 5).revision == revision)
        }
        _ = try store.ingest([Fixture.report("r1", at: 0), Fixture.report("r2", host: "h2", at: 1)])
        try expectStamps(2)
        _ = try store.ingest([Fixture.report("r3", at: 2, pgsizes: 0x1000)])
        try expectStamps(3)
    }
}
