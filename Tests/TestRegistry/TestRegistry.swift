import Foundation
import Report
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

    /// As `open`, at the schema of the migrations named before `name` only (upgrade tests; `open` then
    /// upgrades it). Each backend numbers its own: PostgreSQL's began at what SQLite's 0011 had made.
    public static func open(_ path: String, migrationsBefore name: String) throws -> Registry {
        switch TestBackend.current {
        case .sqlite: return try Registry.sqlite(path: path, migrations: Migration.sqlite.filter { $0.name < name })
        case .postgres: return Registry(try PostgresDatabase(url: try postgresURL(path), migrations: Migration.postgres.filter { $0.name < name }))
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

extension Registry {
    /// The ids of `reports` the registry keeps: as a reports row, or as a heartbeat (its time in one of
    /// its host's heartbeat rows, or a reports row of its host at the same time and content, which a
    /// heartbeat at the host's last_seen repeats).
    public func keptReportIds(_ reports: [Report]) throws -> Set<String> {
        try database.read { db in
            var kept = Set<String>()
            for report in reports {
                let at = StoreTime.ms(report.collectedAt)
                if try db.value("SELECT 1 FROM reports WHERE report_id = ?", [report.reportId], as: Int.self) != nil
                    || db.rows("""
                        SELECT b.first_at, b.times FROM heartbeats b JOIN hosts h ON h.id = b.host_id
                        WHERE h.hostname = ? AND b.first_at <= ? AND b.last_at >= ?
                        """, [report.host.hostname, at, at]).contains(where: { Heartbeats.times(firstAt: $0[0], $0[1] as Data).contains(at) })
                    || db.value("""
                        SELECT 1 FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.hostname = ? AND r.collected_at = ?
                        """, [report.host.hostname, at], as: Int.self) != nil {
                    kept.insert(report.reportId)
                }
            }
            return kept
        }
    }
}

extension TestRegistry {
    /// A registry on the PostgreSQL at `url` (a test's own cluster, which it may stop).
    public static func postgres(url: String) throws -> Registry {
        Registry(try PostgresDatabase(url: url))
    }
}
