import Decoders
import Foundation
import Report

/// The registry: ingest, history and answers, written once over the backend interface (SQLDatabase), so
/// that SQLite (StoreSQLite) and PostgreSQL (StorePostgres) answer alike. The API, dashboard and CLI hold one.
public final class Registry: RegistryStore, @unchecked Sendable {
    public let database: any SQLDatabase
    /// Reports that share one write transaction in a batch ingest.
    public let batchSize: Int
    /// The budget every read of this view runs under (`limited(by:)`); nil: unbounded (CLI, ingest).
    let budget: QueryBudget?
    /// Every read of this view must see at least this revision (min_revision), or throws RevisionBehind.
    let minRevision: Int64?

    public init(_ database: any SQLDatabase, batchSize: Int = 500) {
        self.database = database
        self.batchSize = batchSize
        budget = nil
        minRevision = nil
    }

    /// Another view of `store`'s database, reading under `budget`.
    init(sharing store: Registry, budget: QueryBudget, minRevision: Int64?) {
        database = store.database
        batchSize = store.batchSize
        self.budget = budget
        self.minRevision = minRevision
    }

    public var dialect: SQLDialect { database.dialect }

    /// This registry, whose reads run under `budget` and, with `minRevision`, answer only from a state at
    /// least that new (the API makes one per request).
    public func limited(by budget: QueryBudget, minRevision: Int64? = nil) -> Registry {
        Registry(sharing: self, budget: budget, minRevision: minRevision)
    }

    /// A read transaction, under this registry's budget when it has one. Every read for an answer goes here.
    /// With a minimum revision the transaction's own snapshot is checked, so what the body reads is at
    /// least that new.
    func budgetedRead<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try database.read(budget: budget) { db in
            if let minRevision {
                let current = try Self.revision(db)
                if current < minRevision { throw RevisionBehind(current: current, wanted: minRevision) }
            }
            return try body(db)
        }
    }

    /// `writer`: who is storing them (recorded with each report); nil: unknown (tests, benchmarks).
    public func ingest(_ reports: [Report], receivedAt: Date = Date(), writer: Writer? = nil) throws -> [IngestResult] {
        let received = StoreTime.ms(receivedAt)
        let size = max(1, batchSize)
        let batches = stride(from: 0, to: reports.count, by: size).map { Array(reports[$0..<min($0 + size, reports.count)]) }
        var results: [IngestResult] = []
        results.reserveCapacity(reports.count)
        // Decoding the next batch overlaps writing this one (the writer is one thread; decoding is not).
        var next = batches.first.map(Registry.prepare) ?? []
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
        try database.write { db in
            // One lookup for the batch's ids; a repeat within the batch looks itself up. Refused reports are
            // answered before any lookup: their ids may not even be bound (PostgreSQL refuses NUL in text).
            let ids = items.compactMap { item -> String? in
                if case .refused = item { return nil }
                return item.report.reportId
            }
            var maybeStored = try Ingestor.storedAmong(db, ids)
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

    /// Ends the registry's use at the end of a command: SQLite folds its WAL into the file, PostgreSQL
    /// closes its connections. Nothing may use the registry after.
    public func close() throws { try database.close() }

    /// The backend's consistency check ("ok" when intact).
    public func integrityCheck() throws -> String { try database.integrityCheck() }

    public func reportCount() throws -> Int {
        try budgetedRead { db in try db.value("SELECT count(*) FROM reports") ?? 0 }
    }
}

/// A read given a minimum revision found the registry older (a standby behind its primary).
public struct RevisionBehind: Error, Sendable {
    public var current: Int64
    public var wanted: Int64
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
            items = reports.map(Registry.one)
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
