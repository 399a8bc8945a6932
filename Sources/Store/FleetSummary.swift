import Foundation

/// Current hosts on one kernel release, and how many of them support each key capability (from the
/// current-state columns of `hosts`).
public struct KernelSummary: Sendable, Hashable {
    public var release: String
    public var hosts: Int
    public var nesting: Int
    public var pasidBind: Int
    /// Hosts per `first_level.format` value (hosts without the fact are not counted).
    public var firstLevelFormats: [String: Int]
    /// Hosts per `iommu.vendor` value.
    public var vendors: [String: Int]
}

/// A page of `kernelSummaries`: rows in version order, each with its sort key (the cursor's half), and the
/// registry revision they were read at (same transaction).
public struct KernelSummaryPage: Sendable {
    public var revision: Int64
    public var rows: [(key: String, summary: KernelSummary)]
}

public struct FleetStats: Sendable, Hashable {
    /// The registry revision these counts were read at (the newest write; 0 when empty).
    public var revision: Int64
    public var hosts: Int
    public var reports: Int
    public var capabilityVersions: Int
    public var factRows: Int
    public var currentFacts: Int
    public var kernels: Int
    public var nesting: Int
    public var pasidBind: Int
    public var vendors: [String: Int]
    public var firstLevelFormats: [String: Int]
    public var oldestReport: Date?
    public var newestReport: Date?
}

extension Registry {
    /// Kernel releases in version order (kernel_key, then the text), a page at a time after `after`
    /// (the previous page's last (key, release)), stamped with the revision of the same read.
    public func kernelSummaries(after: (key: String, release: String)?, limit: Int) throws -> KernelSummaryPage {
        try budgetedRead { db in
            let sql = """
                SELECT kernel_key, kernel_release, count(*),
                       sum(CASE WHEN cur_nesting = 1 THEN 1 ELSE 0 END), sum(CASE WHEN cur_pasid_bind = 1 THEN 1 ELSE 0 END)
                FROM hosts
                WHERE kernel_release IS NOT NULL AND (kernel_key > ? OR (kernel_key = ? AND kernel_release > ?))
                GROUP BY kernel_key, kernel_release ORDER BY kernel_key, kernel_release LIMIT ?
                """
            let key = after?.key ?? "", release = after?.release ?? ""
            let found = try db.rows(sql, [key, key, release, limit])
            let rows: [(key: String, summary: KernelSummary)] = try found.map { row in
                let k: String = row[0], r: String = row[1]
                let formats = try counts(db, column: "cur_first_level_format", key: k, release: r)
                let vendors = try counts(db, column: "cur_vendor", key: k, release: r)
                return (k, KernelSummary(release: r, hosts: row[2], nesting: row[3], pasidBind: row[4],
                                         firstLevelFormats: formats, vendors: vendors))
            }
            return KernelSummaryPage(revision: try Registry.revision(db), rows: rows)
        }
    }

    /// `column` is one of two fixed names above, never caller text.
    private func counts(_ db: any SQLConnection, column: String, key: String, release: String) throws -> [String: Int] {
        let sql = "SELECT \(column), count(*) FROM hosts WHERE kernel_key = ? AND kernel_release = ? AND \(column) IS NOT NULL GROUP BY 1"
        var out: [String: Int] = [:]
        for row in try db.rows(sql, [key, release]) { out[row[0]] = row[1] }
        return out
    }

    public func fleetStats() throws -> FleetStats {
        try budgetedRead { db in
            func count(_ sql: String) throws -> Int { try db.value(sql, as: Int.self) ?? 0 }
            func grouped(_ column: String) throws -> [String: Int] {
                var out: [String: Int] = [:]
                for row in try db.rows("SELECT \(column), count(*) FROM hosts WHERE \(column) IS NOT NULL GROUP BY 1") {
                    out[row[0]] = row[1]
                }
                return out
            }
            let times = try db.row("SELECT min(first_seen), max(last_seen) FROM hosts")
            return FleetStats(
                revision: try Registry.revision(db),
                hosts: try count("SELECT count(*) FROM hosts"),
                reports: try count("SELECT count(*) FROM reports"),
                capabilityVersions: try count("SELECT count(*) FROM capability_versions"),
                factRows: try count("SELECT count(*) FROM facts"),
                currentFacts: try count("SELECT count(*) FROM current_facts"),
                kernels: try count("SELECT count(DISTINCT kernel_release) FROM hosts"),
                nesting: try count("SELECT count(*) FROM hosts WHERE cur_nesting = 1"),
                pasidBind: try count("SELECT count(*) FROM hosts WHERE cur_pasid_bind = 1"),
                vendors: try grouped("cur_vendor"), firstLevelFormats: try grouped("cur_first_level_format"),
                oldestReport: (times?[0] as Int64?).map(StoreTime.date), newestReport: (times?[1] as Int64?).map(StoreTime.date))
        }
    }

    /// For readiness probes: the migrations this binary carries that the database has not applied
    /// (empty when current). Throws when the database cannot be read.
    public func pendingMigrations() throws -> [String] {
        let applied = try budgetedRead { db in Set(try db.values("SELECT name FROM schema_migrations", as: String.self)) }
        return Migration.of(dialect).map(\.name).filter { !applied.contains($0) }
    }

    /// Bytes the database takes (SQLite: the file plus its WAL).
    public func databaseBytes() -> Int64 { database.storedBytes() }
}
