import Foundation
import Glibc
import GRDB
import GRDBSQLite
import Store

/// The state of one budgeted read, reached from SQLite's progress handler through its context pointer.
final class BudgetWatch {
    /// VM steps between two calls of the handler: a call reads the thread's CPU clock (a system call), so
    /// calls are a few tens of microseconds apart, and a read stops within about that of its budget.
    static let stepsPerCheck: Int32 = 4000
    /// CPU time between two polls of the client's connection (another system call).
    static let clientCheckInterval: UInt64 = 10_000_000

    let budget: QueryBudget
    let limit: UInt64
    var start: UInt64 = 0
    var lastClientCheck: UInt64 = 0
    /// Why the read was stopped, once it was.
    var stopped: QueryInterrupted.Reason?

    init(_ budget: QueryBudget) {
        self.budget = budget
        let (seconds, attoseconds) = budget.cpu.components
        limit = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    func begin() {
        start = BudgetWatch.threadCPU()
        // The first call polls at once: a client may have gone while its request waited for a read slot.
        lastClientCheck = start &- BudgetWatch.clientCheckInterval
    }

    /// Whether the read must stop now (and why, in `stopped`).
    func shouldStop() -> Bool {
        if stopped != nil { return true }
        let now = BudgetWatch.threadCPU()
        if now &- start > limit {
            stopped = .budget
        } else if now &- lastClientCheck >= BudgetWatch.clientCheckInterval {
            lastClientCheck = now
            if budget.clientGone() { stopped = .clientGone }
        }
        return stopped != nil
    }

    static func threadCPU() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Runs `body` with the progress handler installed on `db`, and removes it after (connections are
    /// pooled; the next read may have no budget or another).
    func run<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        guard let connection = db.sqliteConnection else { return try body(db) }
        begin()
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_progress_handler(connection, BudgetWatch.stepsPerCheck, { context in
            guard let context else { return 0 }
            return Unmanaged<BudgetWatch>.fromOpaque(context).takeUnretainedValue().shouldStop() ? 1 : 0
        }, context)
        defer { sqlite3_progress_handler(connection, 0, nil, nil) }
        return try body(db)
    }
}
