import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Store

/// The registry's store on PostgreSQL: `SQLDatabase` over PostgresNIO, for callers on plain threads.
/// Connections run on an event loop group of their own and each statement blocks its caller until it
/// is answered. See docs/postgres.md for what differs from SQLite.
public final class PostgresDatabase: SQLDatabase, @unchecked Sendable {
    public let dialect = SQLDialect.postgres
    public let location: String
    public let url: PostgresURL

    /// The advisory lock every writer and every migration holds for its transaction, so that writers in
    /// all processes on this database are serialized (revision numbers taken inside commit in order).
    /// "capreg" in ASCII.
    static let writeLockKey: Int64 = 0x6361_7072_6567

    private let password: String?
    private let tls: PostgresConnection.Configuration.TLS
    private let group: MultiThreadedEventLoopGroup
    private let pool: PostgresConnectionPool
    private let cache = PlaceholderCache()
    private let migrations: [Migration]
    /// PostgresNIO's own log lines are dropped: every failure reaches the caller as a thrown error.
    private let logger = Logger(label: "capreg.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private let closeLock = NSLock()
    private var closed = false

    /// Opens the database at `url` (password from `environment`: CAPREG_DB_PASSWORD_FILE or PGPASSWORD)
    /// and applies the missing `migrations`.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                migrations: [Migration] = Migration.postgres) throws {
        let url = try PostgresURL(text)
        let password = try PostgresPassword.resolve(environment)
        let tls = try Self.tls(url)
        self.url = url
        self.password = password
        self.tls = tls
        self.location = url.location
        self.migrations = migrations
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let logger = self.logger
        let connectionIDs = ManagedCounter()
        pool = PostgresConnectionPool(capacity: url.poolSize) {
            try Self.connect(url: url, password: password, tls: tls, group: group, id: connectionIDs.next(), logger: logger)
        }
        do {
            try PostgresMigrator.migrate(self, path: location, migrations: migrations)
            try DerivedRebuilds.run(self)
        } catch {
            try? close()
            throw error
        }
    }

    deinit { try? close() }

    public func read<T>(budget: QueryBudget?, _ body: (any SQLConnection) throws -> T) throws -> T {
        var begin = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"]
        if let budget {
            // Wall time, not CPU time: PostgreSQL cannot count one backend's CPU. At least 1 ms, since 0
            // would mean no limit at all.
            let (seconds, attoseconds) = budget.cpu.components
            let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            begin.append("SET LOCAL statement_timeout = \(milliseconds)")
        }
        return try transaction(begin: begin, budget: budget, writable: false, body)
    }

    public func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try transaction(begin: ["BEGIN", "SELECT pg_advisory_xact_lock(\(Self.writeLockKey))"], budget: nil, writable: true, body)
    }

    /// Runs `body` between `begin` and COMMIT (ROLLBACK when it throws) on a pooled connection.
    /// `begin` is sent without waiting (PostgresTransaction.send): its failure is thrown by the body's first
    /// statement. So is a connection lost while idle: when no statement of the body was answered yet,
    /// nothing of the transaction ran, and it is run once more on another connection. A failure later is
    /// the caller's, connection dropped. A read's COMMIT is not waited for either: it ends a snapshot and
    /// can lose nothing, and the connection's next statement runs after it.
    func transaction<T>(begin: [String], budget: QueryBudget?, writable: Bool, _ body: (any SQLConnection) throws -> T) throws -> T {
        var retried = false
        while true {
            let (connection, fresh) = try pool.take()
            let transaction = PostgresTransaction(connection: connection, logger: logger, cache: cache, budget: budget, writable: writable,
                                                  cancel: { [unowned self] in self.cancel(connection) })
            let result: T
            var commit: PostgresQueryResult?
            do {
                for statement in begin { try transaction.send(statement, translate: false) }
                result = try body(transaction)
                if writable {
                    commit = try transaction.run("COMMIT", translate: false, control: true)
                } else {
                    try transaction.send("COMMIT", translate: false)
                }
            } catch {
                end(transaction)
                if transaction.connectionLost && !transaction.answeredOne && !fresh && !retried {
                    retried = true
                    continue
                }
                throw error
            }
            pool.give(connection, reusable: true)
            // COMMIT of a transaction in which a statement failed (its error caught by the body) rolls
            // back, without an error: a write's work is not there, which the caller must know. (A read
            // loses nothing.)
            if let commit, commit.metadata.command == "ROLLBACK" {
                throw PostgresBackendError(sqlState: "25P02", message: "the transaction was rolled back at COMMIT: a statement in it "
                    + "had failed (outside a savepoint) and its error was caught", connectionLost: false)
            }
            return result
        }
    }

    /// Rolls back what is left of a failed transaction and gives its connection back (or drops it).
    private func end(_ transaction: PostgresTransaction) {
        var rolledBack = false
        if !transaction.connectionLost {
            rolledBack = (try? transaction.run("ROLLBACK", translate: false, control: true)) != nil
        }
        // A connection whose transaction could not be ended must not serve another one.
        pool.give(transaction.pooled, reusable: rolledBack && !transaction.connectionLost)
    }

    /// The database's size (pg_database_size); 0 when it cannot be read.
    public func storedBytes() -> Int64 {
        let size = try? read { db in try db.value("SELECT pg_database_size(current_database())", as: Int64.self) }
        return (size ?? nil) ?? 0
    }

    /// "ok" when the schema is the one this capreg carries (every migration recorded, none unknown).
    public func integrityCheck() throws -> String {
        try read { db in
            let applied: [String] = try db.values("SELECT name FROM schema_migrations ORDER BY name")
            let expected = migrations.map(\.name)
            if applied == expected { return "ok" }
            return "schema_migrations lists \(applied.joined(separator: ", ")); this capreg expects \(expected.joined(separator: ", "))"
        }
    }

    public func close() throws {
        closeLock.lock()
        defer { closeLock.unlock() }
        if closed { return }
        closed = true
        pool.close()
        try group.syncShutdownGracefully()
    }

    // MARK: Connecting

    static func tls(_ url: PostgresURL) throws -> PostgresConnection.Configuration.TLS {
        switch url.sslMode {
        case .disable:
            return .disable
        case .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if url.sslMode == .require {
                configuration.certificateVerification = .none
            } else {
                configuration.certificateVerification = .fullVerification
                if let root = url.sslRootCertificate { configuration.trustRoots = .file(root) }
            }
            return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    /// One connection to `host`.
    static func open(_ host: PostgresURL.Host, url: PostgresURL, password: String?, tls: PostgresConnection.Configuration.TLS,
                     group: MultiThreadedEventLoopGroup, id: Int, logger: Logger) throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(host: host.name, port: host.port, username: url.user,
                                                             password: password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(url.connectTimeoutSeconds))
        configuration.options.additionalStartupParameters = [("application_name", "capreg")]
        return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
    }

    /// Asks the server to cancel what `target`'s backend runs (pg_cancel_backend), from a connection of
    /// its own opened for this (a client that went away mid-statement: rare). Best effort.
    func cancel(_ target: PooledConnection) {
        do {
            let connection = try Self.open(target.host, url: url, password: password, tls: tls, group: group, id: 0, logger: logger)
            defer { try? connection.close().wait() }
            _ = try connection.query("SELECT pg_cancel_backend(\(target.backendPID))", logger: logger).wait()
        } catch {
            // The statement then runs to its statement_timeout.
        }
    }

    /// A connection to the first of the URL's hosts that answers and accepts writes. With one host, its
    /// answer is enough; with several (a Patroni cluster), a standby (pg_is_in_recovery) is passed over.
    static func connect(url: PostgresURL, password: String?, tls: PostgresConnection.Configuration.TLS,
                        group: MultiThreadedEventLoopGroup, id: Int, logger: Logger) throws -> PooledConnection {
        var failures: [String] = []
        for host in url.hosts {
            let connection: PostgresConnection
            do {
                connection = try open(host, url: url, password: password, tls: tls, group: group, id: id, logger: logger)
            } catch {
                failures.append("\(host): \(PostgresBackendError(error, connection: nil).message)")
                continue
            }
            do {
                let answer = try connection.query("SELECT pg_is_in_recovery(), pg_backend_pid()", logger: logger).wait()
                let (standby, pid) = try answer.rows.first!.decode((Bool, Int32).self)
                // With one host, its answer is enough (a standby then fails writes with 25006).
                if !standby || url.hosts.count == 1 { return PooledConnection(connection: connection, host: host, backendPID: pid) }
                failures.append("\(host): a standby (read-only)")
            } catch {
                failures.append("\(host): \(PostgresBackendError(error, connection: connection).message)")
            }
            try? connection.close().wait()
        }
        throw PostgresUnavailable(summary: "no writable PostgreSQL among \(url.hosts.count) host(s): " + failures.joined(separator: "; "))
    }
}

/// Connection ids for PostgresNIO's log metadata.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
