import Foundation
import Glibc
import GRDB
import GRDBSQLite

/// What one store read made to answer a request may cost: CPU time of the reading thread since the read
/// began, and whether anyone still waits for it. A store `limited(by:)` a budget checks it from SQLite's
/// progress handler while a statement runs, and stops the statement (SQLITE_INTERRUPT) past it.
public struct QueryBudget: Sendable {
    /// CPU time (of the reading thread, not wall time: waiting for a core or a read slot costs nothing).
    public var cpu: Duration
    /// True once the client has gone (its connection closed): the read then stops, nobody reads its answer.
    public var clientGone: @Sendable () -> Bool

    public init(cpu: Duration, clientGone: @escaping @Sendable () -> Bool = { false }) {
        self.cpu = cpu
        self.clientGone = clientGone
    }
}

/// A read stopped before its end: past its budget, or because its client went away.
public struct QueryInterrupted: Error, Hashable, Sendable {
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        case budget
        case clientGone = "client_gone"
    }

    public var reason: Reason
    public var budget: Duration
}

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

extension SQLiteStore {
    /// This store, whose reads run under `budget` (the API makes one per request).
    public func limited(by budget: QueryBudget) -> SQLiteStore { SQLiteStore(sharing: self, budget: budget) }

    /// A read transaction, under this store's budget when it has one. Every read for an answer goes here.
    func budgetedRead<T>(_ body: (Database) throws -> T) throws -> T {
        guard let budget else { return try pool.read(body) }
        let watch = BudgetWatch(budget)
        do {
            return try withExtendedLifetime(watch) { try pool.read { db in try watch.run(db, body) } }
        } catch {
            // The statement stopped with SQLITE_INTERRUPT (and GRDB may have failed to end the transaction
            // after it): the reason is the watch's, not the error's.
            if let reason = watch.stopped { throw QueryInterrupted(reason: reason, budget: budget.cpu) }
            throw error
        }
    }
}
