import Foundation
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

    /// The claimed names and the detail are kept as `recordable` renders them.
    public init(at: Date, writer: Writer, hostname: String, machineId: String?, reportId: String, reason: String, detail: String) {
        self.at = at
        self.writer = writer
        self.hostname = Self.recordable(hostname, max: Report.maxIdentifierLength)
        self.machineId = machineId.map { Self.recordable($0, max: Report.maxIdentifierLength) }
        self.reportId = Self.recordable(reportId, max: Report.maxIdentifierLength)
        self.reason = reason
        self.detail = Self.recordable(detail, max: Self.maxDetail)
    }

    /// Longest `reason` and `detail` kept, in characters.
    public static let maxReason = 64
    public static let maxDetail = 1000

    /// Text a refused report claimed, as it can be stored and shown: characters that do not show
    /// (controls, NUL included, and format characters) as `<U+XXXX>`, cut to `max` characters with `…`,
    /// and `""` for empty text. The report decoder refuses such report ids and hostnames already, but
    /// a machine-id only with NUL, and the detail quotes it: a refusal must be recorded whatever the
    /// report claimed, or a claim could be shaped to leave no record.
    static func recordable(_ text: String, max: Int) -> String {
        if text.isEmpty { return "\"\"" }
        let pieces: [String] = text.unicodeScalars.map { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                return "<U+" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex + ">"
            default:
                return String(scalar)
            }
        }
        let length = { (piece: String) in piece.unicodeScalars.count }
        if pieces.reduce(0, { $0 + length($1) }) <= max { return pieces.joined() }
        var out = "", count = 0
        for piece in pieces {
            if count + length(piece) > max - 1 { break }  // room for the …
            out += piece
            count += length(piece)
        }
        return out + "…"
    }
}

public struct WriteRefusalError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

extension Registry {
    /// Refusals recorded per identity in any 60 s. A collector retrying a refused batch (a misconfigured
    /// host, every spool flush) would otherwise add a row per attempt forever: ten a minute say what it
    /// tried and how often, and the metric counts every one. Refusals need a bound credential, so the
    /// table grows by at most 14,400 rows (a few MB) a day per credential being refused.
    public static let maxRefusalsPerMinute = 10

    /// Records `refusal` unless its identity already has `maxRefusalsPerMinute` rows in the minute up to
    /// its time; true when it was recorded. The count is read first without the write lock, so a flood of
    /// refusals over the bound costs reads only; the write re-checks it in its transaction.
    public func recordRefusal(_ refusal: WriteRefusal) throws -> Bool {
        // The reason is ours (an API error code); everything the report claimed is recordable already.
        if let problem = Writer.problem(refusal.reason, max: WriteRefusal.maxReason) { throw WriteRefusalError(description: "reason: \(problem)") }
        let at = StoreTime.ms(refusal.at), identity = refusal.writer.identity
        func underBound(_ db: any SQLConnection) throws -> Bool {
            let recent = try db.value(Self.recentRefusalsSQL, [identity, at - 60_000, at], as: Int.self) ?? 0
            return recent < Self.maxRefusalsPerMinute
        }
        guard try database.read(underBound) else { return false }
        return try database.write { db in
            guard try underBound(db) else { return false }
            try db.execute("""
                INSERT INTO write_refusals (at, identity, peer, hostname, machine_id, report_id, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [at, identity, refusal.writer.peer, refusal.hostname, refusal.machineId, refusal.reportId,
                                         refusal.reason, refusal.detail])
            return true
        }
    }

    /// An identity's refusals in a window: a range of the write_refusals_by_identity index (QueryPlanTests).
    static let recentRefusalsSQL = "SELECT count(*) FROM write_refusals WHERE identity IS NOT DISTINCT FROM ? AND at > ? AND at <= ?"

    static func writeRefusal(_ row: SQLRow) throws -> WriteRefusal {
        WriteRefusal(at: StoreTime.date(row["at"]), writer: try Writer(identity: row["identity"], peer: row["peer"]),
                     hostname: row["hostname"], machineId: row["machine_id"], reportId: row["report_id"], reason: row["reason"],
                     detail: row["detail"])
    }
}
