import Foundation
import Report

/// A stored report withdrawn by an admin (`capreg retract`, migrations/0008).
public struct Retraction: Sendable, Hashable {
    public var reportId: String
    public var hostname: String
    /// The retracted report's own collected_at.
    public var collectedAt: Date
    /// When it was retracted.
    public var retractedAt: Date
    /// The registry revision the retraction made: answers at earlier revisions still count the report.
    public var revision: Int64
    public var reason: String
}

public enum RetractOutcome: Sendable, Hashable {
    /// Retracted now, by a new revision.
    case retracted(Retraction)
    /// Retracted before: nothing was written.
    case alreadyRetracted(Retraction)
}

public enum RetractError: Error, Hashable, CustomStringConvertible {
    case unknownReport(String)
    case reason(String)
    /// The host's only report still counting: a host keeps at least one (see docs/store.md).
    case onlyReport(reportId: String, hostname: String)
    /// The report before it, whose state would take its place, is not one today's decoders read.
    case previousUnreadable(reportId: String, message: String)
    /// A heartbeat kept as a report (migrations/sqlite/0012): it goes with the report it confirms.
    case heartbeat(reportId: String, confirms: String)

    public var description: String {
        switch self {
        case .unknownReport(let id): return "report_id \(id): no such report is stored"
        case .reason(let problem): return "reason: \(problem)"
        case .onlyReport(let id, let host):
            return "report_id \(id): it is the only report of host \(host) that still counts, and a host keeps at least one; "
                + "retract it after the host's next report has arrived"
        case .previousUnreadable(let id, let message):
            return "report_id \(id): the report before it cannot take its place: \(message) (run capreg redecode first)"
        case .heartbeat(let id, let confirms):
            return "report_id \(id): a heartbeat kept as a report; it repeats report \(confirms) and is withdrawn with it: retract that one"
        }
    }
}

/// SQL conditions that leave retracted reports out of "the report in force" lookups.
enum RetractionSQL {
    /// The report `alias` counts now: neither it nor, for a heartbeat kept as a report, the report it
    /// confirms is retracted.
    static func counts(_ alias: String) -> String {
        "NOT EXISTS (SELECT 1 FROM retractions x WHERE x.report IN (\(alias).id, \(alias).confirms))"
    }

    /// The report `alias` counted at revision `n` (a placeholder such as `?` or `?1`): not retracted by then.
    static func counts(_ alias: String, atRevision n: String) -> String {
        "NOT EXISTS (SELECT 1 FROM retractions x WHERE x.report IN (\(alias).id, \(alias).confirms) AND x.revision <= \(n))"
    }
}

/// The retracted reports, for a scan that reads many report rows: checked here, where a subquery per row
/// (RetractionSQL.counts) cost five times the scan of the covering index reports_kernel_moves itself.
struct RetractedReports {
    let ids: Set<Int64>

    init(_ db: any SQLConnection) throws { ids = Set(try db.values("SELECT report FROM retractions", as: Int64.self)) }

    /// Whether the report, or the report a heartbeat kept as a report confirms, is retracted.
    func contains(_ report: Int64, confirms: Int64?) -> Bool {
        !ids.isEmpty && (ids.contains(report) || confirms.map(ids.contains) == true)
    }
}

extension Registry {
    /// Longest `reason` taken, in characters.
    public static let maxRetractionReason = 1000

    /// Withdraws the report `reportId`: it stays stored (payload and all) and a retraction row records
    /// it; its host's history and current state become what they would be had it never arrived. One
    /// write transaction and one new revision; a report already retracted writes nothing.
    public func retract(reportId: String, reason: String, at now: Date = Date()) throws -> RetractOutcome {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw RetractError.reason("must not be empty: say why the report is withdrawn") }
        if reason.count > Self.maxRetractionReason { throw RetractError.reason("\(reason.count) characters; at most \(Self.maxRetractionReason)") }
        if !StoreText.bindable(reason) { throw RetractError.reason("must not contain NUL") }
        return try database.write { db in
            guard StoreText.bindable(reportId), let row = try db.row("""
                SELECT r.id, r.host_id, r.collected_at, h.hostname, (SELECT c.report_id FROM reports c WHERE c.id = r.confirms)
                FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.report_id = ?
                """, [reportId]) else { throw RetractError.unknownReport(reportId) }
            let (report, host, at, hostname): (Int64, Int64, Int64, String) = (row[0], row[1], row[2], row[3])
            if let earlier = try Self.retraction(db, report: report) { return .alreadyRetracted(earlier) }
            if let confirmed = row[4] as String? { throw RetractError.heartbeat(reportId: reportId, confirms: confirmed) }
            let others = try db.value("""
                SELECT count(*) FROM reports r WHERE r.host_id = ?1 AND r.id != ?2 AND r.confirms IS DISTINCT FROM ?2 AND \(RetractionSQL.counts("r"))
                """, [host, report], as: Int.self) ?? 0
            if others == 0 { throw RetractError.onlyReport(reportId: reportId, hostname: hostname) }
            // Its heartbeats kept as reports go with it (they no longer count once the retraction is stored).
            let heartbeats = try db.rows("SELECT id, collected_at FROM reports WHERE host_id = ? AND confirms = ? ORDER BY collected_at, id",
                                         [host, report])

            let revision = try Self.newRevision(db, .retraction, at: StoreTime.ms(now))
            let before = try WatchEvents.current(db, host: host)
            try db.execute("INSERT INTO retractions (report, revision, at, reason) VALUES (?, ?, ?, ?)", [report, revision, StoreTime.ms(now), reason])
            // History is recomputed below, so answers at earlier revisions read the rows as they stood (as for a redecode).
            try Self.saveFacts(db, host: host, before: revision)
            try Self.withdraw(db, report: report, host: host, at: at, reportId: reportId)
            for beat in heartbeats { try Self.withdraw(db, report: beat[0], host: host, at: beat[1], reportId: reportId) }
            try Heartbeats.withdraw(db, host: host, reports: [report] + heartbeats.map { $0[0] as Int64 })
            try KernelMoveSummary.refresh(db, host: host)
            try db.execute("""
                UPDATE hosts SET first_seen = (SELECT min(collected_at) FROM reports r WHERE r.host_id = ?1 AND \(RetractionSQL.counts("r"))),
                    last_seen = (SELECT max(t) FROM (SELECT max(collected_at) AS t FROM reports r WHERE r.host_id = ?1 AND \(RetractionSQL.counts("r"))
                                                    UNION ALL SELECT max(last_at) AS t FROM heartbeats WHERE host_id = ?1) AS seen)
                WHERE id = ?1
                """, [host])
            let after = try WatchEvents.current(db, host: host)
            try WatchEvents.record(db, host: host, kind: .retracted, revision: revision, at: StoreTime.ms(now), kernelBefore: before.kernel,
                                   kernelAfter: after.kernel, before: before.facts, after: after.facts)
            return .retracted(Retraction(reportId: reportId, hostname: hostname, collectedAt: StoreTime.date(at), retractedAt: StoreTime.date(StoreTime.ms(now)),
                                         revision: revision, reason: reason))
        }
    }

    /// The span the report held, [its time, the next counting report's), gets the state of the report
    /// before it (none before the host's first report), as ingest would have left it; when the report was
    /// the newest, that report becomes the host's current one.
    static func withdraw(_ db: any SQLConnection, report: Int64, host: Int64, at: Int64, reportId: String) throws {
        let placement = try Placement.of(db, host: host, at: at, receivedAfter: report)
        // A later-received report of the same time shadowed it: nothing of it was in force.
        guard placement.until > placement.at else { return }
        let before = try db.row("""
            SELECT r.id, r.payload FROM reports r
            WHERE r.host_id = ? AND (r.collected_at < ? OR (r.collected_at = ? AND r.id < ?)) AND \(RetractionSQL.counts("r"))
            ORDER BY r.collected_at DESC, r.id DESC LIMIT 1
            """, [host, at, at, report])
        var previous: (id: Int64, prepared: PreparedReport)?
        if let before {
            do { previous = (before[0], try decodeStored(before[1] as String)) } catch {
                throw RetractError.previousUnreadable(reportId: reportId, message: error.message)
            }
        }
        let opener = previous?.id ?? report
        let plan = try StateWriter.plan(db, host: host, placement: placement, report: opener, facts: previous?.prepared.facts ?? [],
                                        capabilities: previous?.prepared.capabilities ?? [], devices: previous?.prepared.devices ?? [])
        try StateWriter.commit(db, plan, report: opener)
        guard placement.isNewest, let previous else { return }
        let p = previous.prepared
        try db.execute("""
            UPDATE hosts SET machine_id = ?, current_report_id = ?, content_hash = ?, kernel_release = ?, kernel_key = ? WHERE id = ?
            """, [p.report.host.machineId, previous.id, p.contentHash, p.kernel.text, KernelKey.of(p.kernel), host])
        try StateWriter.updateKeyFacts(db, host: host, facts: p.facts)
        try Ingestor.writeLabels(db, host: host, of: p)
    }

    static func retraction(_ db: any SQLConnection, report: Int64) throws -> Retraction? {
        try db.row("""
            SELECT r.report_id, h.hostname, r.collected_at, x.at, x.revision, x.reason
            FROM retractions x JOIN reports r ON r.id = x.report JOIN hosts h ON h.id = r.host_id WHERE x.report = ?
            """, [report]).map(Self.retraction)
    }

    static func retraction(_ row: SQLRow) -> Retraction {
        Retraction(reportId: row[0], hostname: row[1], collectedAt: StoreTime.date(row[2]), retractedAt: StoreTime.date(row[3]),
                   revision: row[4], reason: row[5])
    }

    /// A host's retractions, oldest report time first (its history answer lists them).
    public func retractions(hostname: String) throws -> [Retraction] {
        try budgetedRead { db in try Self.retractions(db, hostname: hostname) }
    }

    static func retractions(_ db: any SQLConnection, hostname: String) throws -> [Retraction] {
        guard StoreText.bindable(hostname) else { return [] }
        return try db.rows("""
            SELECT r.report_id, h.hostname, r.collected_at, x.at, x.revision, x.reason
            FROM hosts h JOIN reports r ON r.host_id = h.id JOIN retractions x ON x.report = r.id
            WHERE h.hostname = ? ORDER BY r.collected_at, r.id
            """, [hostname]).map(Self.retraction)
    }
}
