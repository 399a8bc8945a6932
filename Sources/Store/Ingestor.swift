import Decoders
import Foundation
import GRDB
import Report

/// One report's write, inside the caller's transaction.
enum Ingestor {
    enum Item: Sendable {
        case ready(PreparedReport)
        case undecodable(Report, String)

        var report: Report {
            switch self {
            case .ready(let p): return p.report
            case .undecodable(let r, _): return r
            }
        }
    }

    static func ingest(_ db: Database, _ item: Item, receivedAt: Int64) throws -> IngestResult {
        let report = item.report
        if let original = try storedOutcome(db, reportId: report.reportId) { return original }
        guard case .ready(let p) = item else {
            guard case .undecodable(_, let message) = item else { fatalError("unreachable") }
            return IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: .rejected, error: message)
        }
        let at = StoreTime.ms(report.collectedAt)
        let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, last_seen, content_hash FROM hosts WHERE hostname = ?"),
                                        arguments: [report.host.hostname])
        let host: Int64
        let placement: Placement
        var outcome: IngestOutcome
        var plan: StateWriter.Plan?
        let capabilities = p.capabilities
        if let existing {
            host = existing[0]
            let lastSeen: Int64 = existing[1]
            let currentHash: String? = existing[2]
            if at >= lastSeen {
                placement = Placement(at: at, until: StoreTime.openEnd, next: nil, isNewest: true)
                outcome = currentHash == p.contentHash ? .unchanged : .changed
            } else {
                placement = try Placement.of(db, host: host, at: at, receivedAfter: nil)
                outcome = .history
            }
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO hosts (hostname, machine_id, first_seen, last_seen, last_received) VALUES (?, ?, ?, ?, ?)
                """).execute(arguments: [report.host.hostname, report.host.machineId, at, at, receivedAt])
            host = db.lastInsertedRowID
            placement = Placement(at: at, until: StoreTime.openEnd, next: nil, isNewest: true)
            outcome = .created
        }
        if outcome != .unchanged {
            plan = try StateWriter.plan(db, host: host, placement: placement, facts: p.facts, capabilities: capabilities)
            if outcome == .history && plan!.isEmpty { outcome = .unchanged }
        }
        let written = plan?.written ?? StateWriter.Written()
        let reportRow = try insertReport(db, p, host: host, at: at, receivedAt: receivedAt, outcome: outcome, written: written)
        if let plan, !plan.isEmpty || outcome == .created { try StateWriter.commit(db, plan, report: reportRow) }
        try updateHost(db, p, host: host, at: at, receivedAt: receivedAt, report: reportRow, isNewest: placement.isNewest,
                       factsChanged: outcome == .created || outcome == .changed)
        return IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: outcome,
                            factsOpened: written.opened, factsClosed: written.closed)
    }

    static func storedOutcome(_ db: Database, reportId: String) throws -> IngestResult? {
        let sql = """
            SELECT r.outcome, r.facts_opened, r.facts_closed, h.hostname FROM reports r JOIN hosts h ON h.id = r.host_id
            WHERE r.report_id = ?
            """
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [reportId]) else { return nil }
        let outcome = IngestOutcome(rawValue: row[0]) ?? .changed
        return IngestResult(reportId: reportId, hostname: row[3], outcome: outcome, duplicate: true,
                            factsOpened: row[1], factsClosed: row[2])
    }

    static func insertReport(_ db: Database, _ p: PreparedReport, host: Int64, at: Int64, receivedAt: Int64,
                             outcome: IngestOutcome, written: StateWriter.Written) throws -> Int64 {
        let k = p.kernel
        try db.cachedStatement(sql: """
            INSERT INTO reports (report_id, host_id, collected_at, received_at, kernel_release, kernel_major, kernel_minor,
                kernel_patch, kernel_flavour, kernel_key, collector_version, source_kinds, content_hash, payload,
                decoder_version, outcome, facts_opened, facts_closed)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [p.report.reportId, host, at, receivedAt, k.text, k.major, k.minor, k.patch, k.flavour,
                                     KernelKey.of(k), p.report.collectorVersion, p.sourceKinds, p.contentHash, p.payload,
                                     SourceDecoder.decoderVersion, outcome.rawValue, written.opened, written.closed])
        return db.lastInsertedRowID
    }

    static func updateHost(_ db: Database, _ p: PreparedReport, host: Int64, at: Int64, receivedAt: Int64, report: Int64,
                           isNewest: Bool, factsChanged: Bool) throws {
        guard isNewest else {
            try db.cachedStatement(sql: "UPDATE hosts SET first_seen = min(first_seen, ?), last_received = ? WHERE id = ?")
                .execute(arguments: [at, receivedAt, host])
            return
        }
        try db.cachedStatement(sql: """
            UPDATE hosts SET machine_id = ?, last_seen = ?, last_received = ?, current_report_id = ?, content_hash = ?,
                kernel_release = ?, kernel_key = ? WHERE id = ?
            """).execute(arguments: [p.report.host.machineId, at, receivedAt, report, p.contentHash, p.kernel.text,
                                     KernelKey.of(p.kernel), host])
        if factsChanged {
            try StateWriter.updateKeyFacts(db, host: host, facts: Dictionary(p.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        try syncLabels(db, host: host, labels: p.report.host.labels)
    }

    /// Labels follow the newest report; rewritten only when they differ.
    static func syncLabels(_ db: Database, host: Int64, labels: [String: String]) throws {
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM host_labels WHERE host_id = ?"), arguments: [host])
        let stored = Dictionary(rows.map { ($0[0] as String, $0[1] as String) }, uniquingKeysWith: { a, _ in a })
        guard stored != labels else { return }
        try db.cachedStatement(sql: "DELETE FROM host_labels WHERE host_id = ?").execute(arguments: [host])
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            try db.cachedStatement(sql: "INSERT INTO host_labels (host_id, key, value) VALUES (?, ?, ?)").execute(arguments: [host, key, value])
        }
    }
}
