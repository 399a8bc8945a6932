import Foundation
import GRDB
import Report

/// A write refused for its host (migrations/0010): who tried, from where, and what the report claimed.
public struct WriteRefusal: Sendable, Hashable {
    public var at: Date
    public var writer: Writer
    /// The host the refused report claimed (its host.hostname and host.machine_id) and its report_id.
    public var hostname: String
    public var machineId: String?
    public var reportId: String
    /// The API's error code (`host_mismatch`).
    public var reason: String
    /// Words for people: what the claim did not match.
    public var detail: String

    public init(at: Date, writer: Writer, hostname: String, machineId: String?, reportId: String, reason: String, detail: String) {
        self.at = at
        self.writer = writer
        self.hostname = hostname
        self.machineId = machineId
        self.reportId = reportId
        self.reason = reason
        self.detail = detail
    }

    /// Longest `reason` and `detail` kept, in characters.
    public static let maxReason = 64
    public static let maxDetail = 1000

    /// Why the row cannot be stored, naming the field; nil when it can. The claimed names come from a
    /// report the decoder accepted, so this only guards against a caller that skipped it.
    var problem: String? {
        if let p = Report.identifierProblem(hostname) { return "hostname: \(p)" }
        if let machineId, let p = Report.identifierProblem(machineId) { return "machine_id: \(p)" }
        if let p = Report.identifierProblem(reportId) { return "report_id: \(p)" }
        if let p = Writer.problem(reason, max: Self.maxReason) { return "reason: \(p)" }
        if detail.unicodeScalars.count > Self.maxDetail { return "detail: \(detail.unicodeScalars.count) characters; at most \(Self.maxDetail)" }
        if !StoreText.bindable(detail) { return "detail: contains NUL" }
        return nil
    }
}

public struct WriteRefusalError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

extension SQLiteStore {
    /// Refusals recorded per identity in any 60 s. A collector retrying a refused batch (a misconfigured
    /// host, every spool flush) would otherwise add a row per attempt forever: ten a minute say what it
    /// tried and how often, and the metric counts every one. Refusals need a bound credential, so the
    /// table grows by at most 14,400 rows (about 3 MB) a day per credential being refused.
    public static let maxRefusalsPerMinute = 10

    /// Records `refusal` unless its identity already has `maxRefusalsPerMinute` rows in the minute up to
    /// its time; true when it was recorded. The count is read first without the write lock, so a flood of
    /// refusals over the bound costs reads only; the write re-checks it in its transaction.
    public func recordRefusal(_ refusal: WriteRefusal) throws -> Bool {
        if let problem = refusal.problem { throw WriteRefusalError(description: problem) }
        let at = StoreTime.ms(refusal.at), identity = refusal.writer.identity
        func underBound(_ db: Database) throws -> Bool {
            let recent = try Int.fetchOne(db.cachedStatement(sql: Self.recentRefusalsSQL), arguments: [identity, at - 60_000, at]) ?? 0
            return recent < Self.maxRefusalsPerMinute
        }
        guard try pool.read(underBound) else { return false }
        return try pool.write { db in
            guard try underBound(db) else { return false }
            try db.cachedStatement(sql: """
                INSERT INTO write_refusals (at, identity, peer, hostname, machine_id, report_id, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [at, identity, refusal.writer.peer, refusal.hostname, refusal.machineId, refusal.reportId,
                                         refusal.reason, refusal.detail])
            return true
        }
    }

    /// An identity's refusals in a window: a range of the write_refusals_by_identity index (QueryPlanTests).
    static let recentRefusalsSQL = "SELECT count(*) FROM write_refusals WHERE identity IS ? AND at > ? AND at <= ?"

    static func writeRefusal(_ row: Row) throws -> WriteRefusal {
        WriteRefusal(at: StoreTime.date(row["at"]), writer: try Writer(identity: row["identity"], peer: row["peer"]),
                     hostname: row["hostname"], machineId: row["machine_id"], reportId: row["report_id"], reason: row["reason"],
                     detail: row["detail"])
    }
}
