import Decoders
import Foundation
import GRDB
import GRDBSQLite
import Store

/// The registry on one SQLite file: WAL, a DatabasePool (readers beside one writer), the schema from
/// migrations/sqlite/ applied at open.
public final class SQLiteDatabase: SQLDatabase, @unchecked Sendable {
    public let dialect = SQLDialect.sqlite
    public let config: StoreConfig
    let pool: DatabasePool

    /// Opens (creating when absent) and migrates. `migrations` is for tests; the binary's own set is the default.
    public init(_ config: StoreConfig, migrations: [Migration] = Migration.sqlite) throws {
        self.config = config
        var grdb = Configuration()
        grdb.busyMode = .timeout(config.busyTimeout)
        // The schema declares its references, but SQLite does not enforce them at run time: every id
        // ingest writes comes from a row it read or inserted in the same transaction, and enforcement
        // costs about a third of ingest time. Tests run PRAGMA foreign_key_check instead.
        grdb.foreignKeysEnabled = false
        let synchronous = config.durability == .full ? "FULL" : "NORMAL"
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if !db.configuration.readonly {
                // Each report is written in a savepoint, and a multi-row INSERT may be undone alone: before
                // changing a page already dirty, SQLite copies it to a statement journal, a temporary file
                // past 64 KiB. A new host's report wrote about 500 such pages (pwrite calls, a quarter of
                // ingest time, in the kernel); in memory they are copies. The writer's page cache holds a
                // batch's dirty pages (SQLite's default, 2 MB, spilled and re-read them); it grows only as used.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                try db.execute(sql: "PRAGMA cache_size = -\(SQLiteDatabase.writerCacheKiB)")
            }
            db.add(function: SQLiteDatabase.coversFunction)
            db.add(function: SQLiteDatabase.lastBeatFunction)
        }
        pool = try DatabasePool(path: config.path, configuration: grdb)
        try SQLiteMigrator.migrate(pool, path: config.path, migrations: migrations)
        try DerivedRebuilds.run(self)
    }

    /// The writer connection's page cache, KiB.
    static let writerCacheKiB = 65_536

    public var location: String { config.path }

    public func read<T>(budget: QueryBudget?, _ body: (any SQLConnection) throws -> T) throws -> T {
        guard let budget else { return try readTransaction { db in try body(GRDBConnection(db)) } }
        let watch = BudgetWatch(budget)
        do {
            return try withExtendedLifetime(watch) { try readTransaction { db in try watch.run(db) { try body(GRDBConnection($0)) } } }
        } catch {
            // The statement stopped with SQLITE_INTERRUPT (and GRDB may have failed to end the transaction
            // after it): the reason is the watch's, not the error's.
            if let reason = watch.stopped { throw QueryInterrupted(reason: reason, budget: budget.cpu) }
            throw error
        }
    }

    /// `body` in one read transaction on a pooled reader, begun and ended by cached statements: GRDB's
    /// `read` prepares its BEGIN and its COMMIT anew each time, a twentieth of a compact page's answer.
    private func readTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead { db in
            try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
            do {
                let value = try body(db)
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                return value
            } catch {
                // A statement stopped by the budget (SQLITE_INTERRUPT) may leave the transaction open.
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
    }

    public func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.write { db in try body(GRDBConnection(db)) }
    }

    public func storedBytes() -> Int64 {
        [config.path, config.path + "-wal"].reduce(0) { sum, path in
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            return sum + size
        }
    }

    /// `PRAGMA integrity_check` output ("ok" when intact).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    /// Checkpoints the WAL into the main file and truncates it (the CLI calls this at exit).
    public func close() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// `capreg_covers(windows, address)`: 1 when a window of the text (IOVAWindows' form) contains the
    /// address, 0 when none does, NULL when the text is not a window list or the address is not a
    /// non-negative integer. Linear in the text. Every connection registers it (compiled queries call it).
    public static let coversFunction = DatabaseFunction("capreg_covers", argumentCount: 2, pure: true) { values in
        guard let text = String.fromDatabaseValue(values[0]), let address = Int64.fromDatabaseValue(values[1]), address >= 0,
              let covered = IOVAWindows.covers(text, UInt64(address)) else { return nil }
        return covered ? 1 : 0
    }

    /// `capreg_last_beat(first_at, times, t)`: the newest heartbeat of a heartbeats row at or before t (ms),
    /// NULL when none is (Heartbeats.lastBeat; PostgreSQL's function of the same name, migrations/postgres/0012).
    public static let lastBeatFunction = DatabaseFunction("capreg_last_beat", argumentCount: 3, pure: true) { values in
        guard let firstAt = Int64.fromDatabaseValue(values[0]), let times = Data.fromDatabaseValue(values[1]),
              let t = Int64.fromDatabaseValue(values[2]) else { return nil }
        return Heartbeats.lastBeat(firstAt: firstAt, times, atOrBefore: t)
    }
}

/// One transaction's statements on a GRDB connection; statements are prepared once per connection
/// and cached by their text.
final class GRDBConnection: SQLConnection {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    init(_ db: Database) { self.db = db }

    /// As optional existentials: GRDB's initializer for those maps with a closure, the one for a sequence
    /// of DatabaseValue with a key path, which the runtime instantiates on every call (perf: a few % of a page).
    static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value.sqlValue {
            case .null: return DatabaseValue.null
            case .int(let i): return i.databaseValue
            case .double(let d): return d.databaseValue
            case .text(let s): return s.databaseValue
            case .blob(let b): return Data(b).databaseValue
            }
        })
    }

    static func value(_ v: DatabaseValue) -> SQLValue {
        switch v.storage {
        case .null: return .null
        case .int64(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .text(s)
        case .blob(let b): return .blob([UInt8](b))
        }
    }

    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func insert(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int64 {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.lastInsertedRowID
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        let names = SQLColumnNames(statement.columnNames)
        return try Row.fetchAll(statement, arguments: Self.arguments(arguments)).map { row in
            SQLRow(columns: names, values: row.databaseValues.map(Self.value))
        }
    }

    func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (any SQLColumns) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        let reader = ColumnReader(statement: statement.sqliteStatement)
        while try cursor.next() != nil { try body(reader) }
    }

    func executeScript(_ sql: String) throws {
        try db.execute(sql: sql)
    }
}

extension DatabaseError: SQLBackendError {
    public var summary: String { "SQLite error \(resultCode.rawValue): \(message ?? "no message")" }
}

extension Registry {
    /// A registry on the SQLite file at `path` (the embedded default), created with its schema when absent.
    public static func sqlite(path: String, durability: Durability = .normal, migrations: [Migration] = Migration.sqlite,
                              batchSize: Int = 500) throws -> Registry {
        Registry(try SQLiteDatabase(StoreConfig(path: path, durability: durability), migrations: migrations), batchSize: batchSize)
    }
}
