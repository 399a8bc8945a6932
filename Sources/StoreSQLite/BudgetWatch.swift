import Foundation
import Glibc
import GRDB
import GRDBSQLite
import Store

/// The state of one budgeted read, reached from SQLite's progress handler through its context pointer.
/// A thread's CPU time never runs ahead of the wall clock, so the handler reads the thread's CPU clock (a
/// system call) only once the read has lasted its budget in wall time; before that it reads the monotonic
/// clock, which the vDSO answers without entering the kernel. A read that waits for the CPU pays the system
/// call on every check after that; a read that does not pays it once.
final class BudgetWatch {
    /// VM steps between two calls of the handler (a few tens of microseconds): a read stops within about
    /// that of its budget.
    static let stepsPerCheck: Int32 = 4000
    /// Wall time between two polls of the client's connection (another system call).
    static let clientCheckInterval: UInt64 = 10_000_000

    let budget: QueryBudget
    let limit: UInt64
    var startCPU: UInt64 = 0
    var startWall: UInt64 = 0
    var lastClientCheck: UInt64 = 0
    /// Why the read was stopped, once it was.
    var stopped: QueryInterrupted.Reason?

    init(_ budget: QueryBudget) {
        self.budget = budget
        let (seconds, attoseconds) = budget.cpu.components
        limit = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    func begin() {
        startCPU = BudgetWatch.clock(CLOCK_THREAD_CPUTIME_ID)
        startWall = BudgetWatch.clock(CLOCK_MONOTONIC)
        // The first call polls at once: a client may have gone while its request waited for a read slot.
        lastClientCheck = startWall &- BudgetWatch.clientCheckInterval
    }

    /// Whether the read must stop now (and why, in `stopped`).
    func shouldStop() -> Bool {
        if stopped != nil { return true }
        let wall = BudgetWatch.clock(CLOCK_MONOTONIC)
        if wall &- startWall > limit && BudgetWatch.clock(CLOCK_THREAD_CPUTIME_ID) &- startCPU > limit {
            stopped = .budget
        } else if wall &- lastClientCheck >= BudgetWatch.clientCheckInterval {
            lastClientCheck = wall
            if budget.clientGone() { stopped = .clientGone }
        }
        return stopped != nil
    }

    static func clock(_ id: clockid_t) -> UInt64 {
        var t = timespec()
        clock_gettime(id, &t)
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
