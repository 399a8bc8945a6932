import Decoders
import Foundation
import GRDB
import Report

/// The registry on one SQLite file: WAL, a DatabasePool (readers beside one writer), the schema from
/// migrations/ applied at open.
public final class SQLiteStore: RegistryStore {
    public let config: StoreConfig
    let pool: DatabasePool
    /// The budget every read of this view runs under (`limited(by:)`); nil: unbounded (CLI, ingest).
    let budget: QueryBudget?

    /// Opens (creating when absent) and migrates. `migrations` is for tests; the binary's own set is the default.
    public init(_ config: StoreConfig, migrations: [Migration] = Migration.sqlite) throws {
        self.config = config
        budget = nil
        var grdb = Configuration()
        grdb.busyMode = .timeout(config.busyTimeout)
        // The schema declares its references, but SQLite does not enforce them at run time: every id
        // ingest writes comes from a row it read or inserted in the same transaction, and enforcement
        // costs about a third of ingest time. Tests run PRAGMA foreign_key_check instead.
        grdb.foreignKeysEnabled = false
        let synchronous = config.durability == .full ? "FULL" : "NORMAL"
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            db.add(function: HostQuerySQL.coversFunction)
        }
        pool = try DatabasePool(path: config.path, configuration: grdb)
        try Migrator.migrate(pool, path: config.path, migrations: migrations)
    }

    /// Another view of `store`'s database (same pool), reading under `budget`.
    init(sharing store: SQLiteStore, budget: QueryBudget) {
        config = store.config
        pool = store.pool
        self.budget = budget
    }

    public convenience init(path: String, durability: Durability = .normal, migrations: [Migration] = Migration.sqlite) throws {
        try self.init(StoreConfig(path: path, durability: durability), migrations: migrations)
    }

    /// `writer`: who is storing them (recorded with each report); nil: unknown (tests, benchmarks).
    public func ingest(_ reports: [Report], receivedAt: Date = Date(), writer: Writer? = nil) throws -> [IngestResult] {
        let received = StoreTime.ms(receivedAt)
        let size = max(1, config.batchSize)
        let batches = stride(from: 0, to: reports.count, by: size).map { Array(reports[$0..<min($0 + size, reports.count)]) }
        var results: [IngestResult] = []
        results.reserveCapacity(reports.count)
        // Decoding the next batch overlaps writing this one (the writer is one thread; decoding is not).
        var next = batches.first.map(SQLiteStore.prepare) ?? []
        for index in batches.indices {
            let items = next
            let following = index + 1 < batches.count ? PreparedBatch(batches[index + 1]) : nil
            results += try write(items, receivedAt: received, writer: writer)
            next = following?.wait() ?? []
        }
        return results
    }

    /// One request's reports, all or nothing (POST /v1/reports): every report is decoded first, and the
    /// first that does not decode is thrown with nothing written; then all are written in one transaction.
    public func ingestAllOrNothing(_ reports: [Report], receivedAt: Date = Date(), writer: Writer? = nil) throws -> [IngestResult] {
        var items: [Ingestor.Item] = []
        items.reserveCapacity(reports.count)
        for (index, report) in reports.enumerated() {
            do {
                items.append(.ready(try PreparedReport(report)))
            } catch {
                throw UndecodableReport(index: index, reportId: report.reportId, error: error)
            }
        }
        return try write(items, receivedAt: StoreTime.ms(receivedAt), writer: writer)
    }

    /// Writes decoded reports in one transaction; results leave only after it committed.
    private func write(_ items: [Ingestor.Item], receivedAt received: Int64, writer: Writer?) throws -> [IngestResult] {
        try pool.write { db in
            // One lookup for the batch's ids; a repeat within the batch looks itself up.
            var maybeStored = try Ingestor.storedAmong(db, items.map(\.report.reportId))
            return try items.map { item in
                let id = item.report.reportId
                defer { maybeStored.insert(id) }
                return try Ingestor.ingest(db, item, receivedAt: received, writer: writer, mayBeStored: maybeStored.contains(id))
            }
        }
    }

    /// Decodes reports (no database work), on every core for large batches.
    static func prepare(_ reports: [Report]) -> [Ingestor.Item] {
        guard reports.count >= 64 else { return reports.map(one) }
        let slots = PreparedSlots(count: reports.count)
        DispatchQueue.concurrentPerform(iterations: reports.count) { i in slots.set(i, one(reports[i])) }
        return slots.items
    }

    static func one(_ report: Report) -> Ingestor.Item {
        do { return .ready(try PreparedReport(report)) } catch {
            if case .refused = error { return .refused(report, error.description) }
            return .undecodable(report, error.description)
        }
    }

    /// Checkpoints the WAL into the main file and truncates it (the CLI calls this at exit).
    public func checkpoint() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// `PRAGMA integrity_check` output ("ok" when intact).
    public func integrityCheck() throws -> String {
        try budgetedRead { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    public func reportCount() throws -> Int {
        try budgetedRead { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reports") ?? 0 }
    }

    /// Stored report ids among `ids`.
    public func storedReportIds(_ ids: [String]) throws -> Set<String> {
        try budgetedRead { db in
            var found = Set<String>()
            for id in ids where try Int.fetchOne(db, sql: "SELECT 1 FROM reports WHERE report_id = ?", arguments: [id]) != nil {
                found.insert(id)
            }
            return found
        }
    }
}

/// The report of an all-or-nothing ingest that today's decoders refuse, and where.
public struct UndecodableReport: Error, Sendable {
    public var index: Int
    public var reportId: String
    public var error: ReportError
}

/// A batch being decoded in the background.
private final class PreparedBatch: @unchecked Sendable {
    private var items: [Ingestor.Item] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ reports: [Report]) {
        // One thread: the other core is the writer's.
        DispatchQueue.global().async { [self] in
            items = reports.map(SQLiteStore.one)
            done.signal()
        }
    }

    func wait() -> [Ingestor.Item] {
        done.wait()
        return items
    }
}

/// Results of concurrentPerform, each slot written by exactly one iteration.
private final class PreparedSlots: @unchecked Sendable {
    private var slots: [Ingestor.Item?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ item: Ingestor.Item) {
        lock.lock()
        slots[i] = item
        lock.unlock()
    }
    var items: [Ingestor.Item] { slots.map { $0! } }
}
