import Foundation
import Logging
import NIOCore
import PostgresNIO
import Store

/// The statements of one transaction on one pooled connection, run from the caller's thread (which
/// blocks on each statement's future: callers are plain threads, never the event loop's).
final class PostgresTransaction: SQLConnection {
    let dialect = SQLDialect.postgres
    let pooled: PooledConnection
    var connection: PostgresConnection { pooled.connection }
    private let logger: Logger
    /// Cancels the statement running on this connection (from another connection).
    private let cancel: () -> Void
    /// Set when the statement was cancelled because the client had gone.
    private var cancelledForGoneClient = false
    private let cache: PlaceholderCache
    /// A budgeted read's budget and when the read began: statement_timeout bounds each statement, this
    /// bounds the read between statements.
    private let budget: QueryBudget?
    /// A write transaction: there "read-only transaction" (25006) means the server became a standby.
    private let writable: Bool
    private let began = ContinuousClock.now
    /// Set once a statement failed at the connection level: the pool then drops the connection.
    private(set) var connectionLost = false
    /// Statements sent without waiting for their answers (`send`).
    private let unwaited = UnwaitedAnswers()
    /// Whether a statement waited for has been answered without error (the body has read something).
    private(set) var answeredOne = false

    init(connection: PooledConnection, logger: Logger, cache: PlaceholderCache, budget: QueryBudget?, writable: Bool,
         cancel: @escaping () -> Void) {
        self.pooled = connection
        self.cancel = cancel
        self.writable = writable
        self.logger = logger
        self.cache = cache
        self.budget = budget
    }

    /// One statement, its rows and its command tag. Errors are PostgresBackendError, or QueryInterrupted
    /// for a budgeted read past its budget (statement_timeout, SQLSTATE 57014) or whose client has gone.
    /// `control`: a transaction's own BEGIN, COMMIT or ROLLBACK, which no budget stops (a ROLLBACK
    /// after the budget ran out must still reach the server).
    func run(_ sql: String, _ arguments: [any SQLBindable] = [], translate: Bool = true, control: Bool = false) throws -> PostgresQueryResult {
        if let budget, !control {
            if budget.clientGone() { throw QueryInterrupted(reason: .clientGone, budget: budget.cpu) }
            if ContinuousClock.now - began > budget.cpu { throw QueryInterrupted(reason: .budget, budget: budget.cpu) }
        }
        let text = translate ? try cache.translated(sql) : sql
        let query = PostgresQuery(unsafeSQL: text, binds: PostgresValues.bindings(arguments))
        return try perform(control: control) { connection.query(query, logger: logger) }
    }

    /// Sends a statement without waiting for its answer (SQLConnection.send; a transaction's BEGIN, SET
    /// LOCAL and lock, a read's COMMIT). PostgresNIO runs a connection's statements one after another in
    /// the order sent, so it has been answered by the time a later statement is; its failure is thrown by
    /// the next statement waited for (`perform`). Each answer waited for costs a hand-off from the event
    /// loop to this thread (docs/figures.md).
    func send(_ sql: String, _ arguments: [any SQLBindable]) throws {
        try send(sql, arguments, translate: true)
    }

    func send(_ sql: String, _ arguments: [any SQLBindable] = [], translate: Bool) throws {
        if connection.isClosed { throw PostgresBackendError(sqlState: nil, message: "the connection is closed", connectionLost: true) }
        let text = translate ? try cache.translated(sql) : sql
        unwaited.track(connection.query(PostgresQuery(unsafeSQL: text, binds: PostgresValues.bindings(arguments)), logger: logger))
    }

    /// Starts one operation on the connection and waits for its answer, its failure said as
    /// PostgresBackendError (or QueryInterrupted, as `run` says). A failure of a statement sent earlier
    /// without waiting comes first: the later statement's own failure follows from it.
    private func perform<T: Sendable>(control: Bool, _ start: () -> EventLoopFuture<T>) throws -> T {
        do {
            // A statement on a connection already closed would never be answered (PostgresNIO drops it).
            if connection.isClosed { throw PostgresBackendError(sqlState: nil, message: "the connection is closed", connectionLost: true) }
            let result = Result { try answer(start(), watchingClient: !control) }
            if let earlier = unwaited.takeFailure() { throw earlier }
            let value = try result.get()
            answeredOne = true
            return value
        } catch {
            var failure = PostgresBackendError(error, connection: connection)
            // In a read-only transaction 25006 is the caller's write, not a failover.
            if failure.sqlState == "25006" && !writable && !connection.isClosed { failure.connectionLost = false }
            if failure.connectionLost { connectionLost = true }
            if let budget, !control, failure.sqlState == "57014" {
                throw QueryInterrupted(reason: cancelledForGoneClient ? .clientGone : .budget, budget: budget.cpu)
            }
            throw failure
        }
    }

    /// The future's value, waited for on this thread. PostgresNIO leaves a statement unanswered when its
    /// connection closes just as it is sent, so the wait looks at the connection every second. A budgeted
    /// read also asks every 50 ms whether its client has gone, and then has the statement cancelled (it
    /// fails with 57014, which `run` reports as `.clientGone`).
    private func answer<T: Sendable>(_ future: EventLoopFuture<T>, watchingClient: Bool) throws -> T {
        let answered = DispatchSemaphore(value: 0)
        let box = AnswerBox<T>()
        future.whenComplete { result in
            box.result = result
            answered.signal()
        }
        let watch = watchingClient ? budget : nil
        let interval: DispatchTimeInterval = watch == nil ? .seconds(1) : .milliseconds(50)
        while answered.wait(timeout: .now() + interval) == .timedOut {
            if let watch, !cancelledForGoneClient, watch.clientGone() {
                cancelledForGoneClient = true
                cancel()
            }
            guard connection.isClosed else { continue }
            // Closed: the statement's own failure, when it comes at once, says more.
            if answered.wait(timeout: .now() + .milliseconds(200)) == .success { break }
            throw PostgresBackendError(sqlState: nil, message: "the connection closed while a statement ran", connectionLost: true)
        }
        return try box.result!.get()
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func insert(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int64 {
        var statement = Substring(sql)
        while let last = statement.last, last == ";" || last.isWhitespace { statement = statement.dropLast() }
        let result = try run(statement + " RETURNING id", arguments)
        guard let row = result.rows.first, let cell = row.first, let id = Int64.read(try PostgresValues.decoded(cell)) else {
            throw PostgresBackendError(sqlState: nil, message: "INSERT … RETURNING id answered no id", connectionLost: false)
        }
        return id
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        try PostgresValues.rows(run(sql, arguments).rows)
    }

    /// Materializes the rows first (PostgresNIO hands rows over on its event loop, and `body` must run
    /// on this thread).
    func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (any SQLColumns) throws -> Void) throws {
        for row in try rows(sql, arguments) { try body(row) }
    }

    /// One `COPY table (columns) FROM STDIN` of every row (PostgresCopyText): a bulk move sends its rows in
    /// one stream, not a statement per 64 rows each parsed and planned by the server.
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) throws {
        guard !rows.isEmpty else { return }
        var data = ByteBuffer()
        PostgresCopyText.encode(rows, into: &data)
        let (connection, logger, payload) = (self.connection, self.logger, data)
        try perform(control: false) {
            // PostgresNIO offers COPY as async only: it runs on CopyExecutor, waited for like any statement.
            let promise = connection.eventLoop.makePromise(of: Void.self)
            Task(executorPreference: CopyExecutor.shared) {
                do {
                    try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(payload) }
                    promise.succeed(())
                } catch {
                    promise.fail(error)
                }
            }
            return promise.futureResult
        }
    }

    /// Statement by statement: PostgresNIO speaks only the extended protocol, one statement per query.
    func executeScript(_ sql: String) throws {
        for statement in PostgresSQLText.statements(sql) { _ = try run(statement, translate: false) }
    }
}

/// The first failure among statements sent without waiting, recorded on the event loop as they are
/// answered (in the order sent, before any later statement's answer).
private final class UnwaitedAnswers: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?
    /// A failure was thrown: later ones follow from it.
    private var reported = false

    func track(_ future: EventLoopFuture<PostgresQueryResult>) {
        future.whenFailure { [self] error in
            lock.lock()
            if first == nil && !reported { first = error }
            lock.unlock()
        }
    }

    /// The failure, once: the statements after it (a ROLLBACK) are answered for themselves.
    func takeFailure() -> (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        guard let failure = first else { return nil }
        first = nil
        reported = true
        return failure
    }
}

/// A future's result handed from the event loop to the waiting thread (the semaphore orders the two).
private final class AnswerBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
