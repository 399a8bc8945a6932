import Foundation
import Store
import StorePostgres
import StoreSQLite
import TestSupport

/// Which backend the store-backed suites run on: SQLite unless CAPREG_TEST_BACKEND=postgres, so the same
/// tests (store, query language, API, dashboard) run against both in CI.
public enum TestBackend: String, Sendable {
    case sqlite
    case postgres

    public static var current: TestBackend {
        ProcessInfo.processInfo.environment["CAPREG_TEST_BACKEND"] == "postgres" ? .postgres : .sqlite
    }
}

/// A test's registry on the backend under test.
public enum TestRegistry {
    /// A SQLite file at `path`, or on PostgreSQL a fresh database standing for it: the same path opens the
    /// same database again within the test process.
    public static func open(_ path: String, batchSize: Int = 500) throws -> Registry {
        switch TestBackend.current {
        case .sqlite: return try Registry.sqlite(path: path, batchSize: batchSize)
        case .postgres: return Registry(try openPostgres(path), batchSize: batchSize)
        }
    }
}

extension TestRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var databases: [String: String] = [:]

    /// What `capreg --db` takes for the registry `open(path)` opens: the path, or the database's URL.
    public static func location(_ path: String) throws -> String {
        switch TestBackend.current {
        case .sqlite: return path
        case .postgres: return try postgresURL(path)
        }
    }

    /// The PostgreSQL database standing for `path`: made fresh on the test cluster the first time.
    static func postgresURL(_ path: String) throws -> String {
        lock.lock()
        let known = databases[path]
        lock.unlock()
        if let known { return known }
        let made = try PostgresCluster.freshDatabase()
        lock.lock()
        defer { lock.unlock() }
        databases[path] = made
        return made
    }

    static func openPostgres(_ path: String) throws -> PostgresDatabase {
        try PostgresDatabase(url: try postgresURL(path))
    }
}

/// What the backend said refusing `body`'s statement (a CHECK, a trigger, a constraint): its summary; nil
/// when nothing was refused. Any other error is thrown on, so a mistyped statement fails the test.
public func backendRefusal<T>(_ body: () throws -> T) throws -> String? {
    do {
        _ = try body()
        return nil
    } catch let refusal as any SQLBackendError {
        return refusal.summary
    }
}

extension Registry {
    /// References that point at no row, as "table → parent". SQLite checks none at run time (see
    /// SQLiteDatabase), so its `PRAGMA foreign_key_check` is asked; PostgreSQL checks every reference at
    /// commit, so a committed database has none.
    public func foreignKeyViolations() throws -> [String] {
        guard dialect == .sqlite else { return [] }
        return try database.read { db in
            try db.rows("PRAGMA foreign_key_check").map { "\($0[0] as String) → \($0[2] as String)" }
        }
    }
}

extension TestRegistry {
    /// A registry on the PostgreSQL at `url` (a test's own cluster, which it may stop).
    public static func postgres(url: String) throws -> Registry {
        Registry(try PostgresDatabase(url: url))
    }
}
