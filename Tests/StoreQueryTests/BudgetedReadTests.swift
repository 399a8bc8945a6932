import Foundation
import GRDB
import Testing
import TestSupport
@testable import Store
import StoreSQLite

/// A budgeted read stops while its statement runs, not only between statements: a statement that would
/// never end (a recursive count without a bound) ends when its client goes, or when its CPU budget is spent.
@Suite struct BudgetedReadTests {
    static let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    @Test func aRunningStatementStopsWhenItsClientGoes() throws {
        let dir = try TempDir()
        let store = try Registry.sqlite(path: dir.path("r.sqlite"))
        let gone = Flag()
        let limited = store.limited(by: QueryBudget(cpu: .seconds(600), clientGone: { gone.isSet }))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { gone.set() }
        let started = Date()
        #expect(throws: QueryInterrupted(reason: .clientGone, budget: .seconds(600))) {
            try limited.budgetedRead { db in try db.value(Self.endless, as: Int.self) }
        }
        // Stopped soon after the client went, long before the budget: one poll every 10 ms of CPU.
        #expect(Date().timeIntervalSince(started) < 5)
        // The pooled connection is usable again, without the handler: an unbudgeted read answers.
        #expect(try store.reportCount() == 0)
    }

    @Test func aRunningStatementStopsAtItsBudget() throws {
        let dir = try TempDir()
        let store = try Registry.sqlite(path: dir.path("r.sqlite"))
        let limited = store.limited(by: QueryBudget(cpu: .milliseconds(200)))
        let started = Date()
        #expect(throws: QueryInterrupted(reason: .budget, budget: .milliseconds(200))) {
            try limited.budgetedRead { db in try db.value(Self.endless, as: Int.self) }
        }
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
