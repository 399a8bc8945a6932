import Foundation
import JSONText

/// A stored report as written: when, by whom, from where, and what it did to its host.
public struct StoredWrite: Sendable, Hashable {
    public var reportId: String
    public var collectedAt: Date
    public var receivedAt: Date
    /// The ingest outcome (created, changed, unchanged, history).
    public var outcome: String
    public var revision: Int64
    /// nil: stored before writers were recorded (migrations/0010).
    public var writtenBy: String?
    public var peer: String?
}

/// One line of `capreg audit`: something that happened to a host's record, or was tried.
public enum AuditEvent: Sendable, Hashable {
    case write(StoredWrite)
    /// A write refused for this host (it claimed the host's name or machine-id).
    case refusal(WriteRefusal)
    case retraction(Retraction)
    /// An event of a credential bound to this host.
    case credential(CredentialEvent)

    /// When it happened: a write when it was received, the others when they were recorded.
    public var at: Date {
        switch self {
        case .write(let w): return w.receivedAt
        case .refusal(let r): return r.at
        case .retraction(let r): return r.retractedAt
        case .credential(let e): return e.at
        }
    }
}

/// A host's audit: its events in time order, oldest first.
public struct HostAudit: Sendable, Hashable {
    public var hostname: String
    public var events: [AuditEvent]
    /// Events at or after `since` left out by the limit (the oldest of them).
    public var omitted: Int
}

extension Registry {
    /// Everything recorded about `hostname` at or after `since`: its writes, the writes refused that
    /// claimed it (its name, or its machine-id), retractions of its reports, and events of credentials
    /// bound to it (its name, a pattern matching it, or its machine-id). The newest `limit`, oldest first,
    /// ties in that order of kinds and then as recorded. nil when nothing names the host: no report,
    /// no refusal and no credential.
    public func audit(hostname: String, since: Date?, limit: Int) throws -> HostAudit? {
        precondition(limit >= 1, "an audit shows at least one event")
        let from = since.map(StoreTime.ms) ?? Int64.min
        return try database.read { db -> HostAudit? in
            guard StoreText.bindable(hostname) else { return nil }
            let host = try db.row("SELECT id, machine_id FROM hosts WHERE hostname = ?", [hostname])
            let hostId: Int64? = host?[0], machineId: String? = host?[1]
            let credentials = try Self.credentialsBound(db, hostname: hostname, machineId: machineId)
            // Refused writes that claimed this host, and those this host's own identities (its credentials,
            // its client certificate) attempted for another: the second kind is what a compromised host does.
            let own = Self.jsonArray(credentials.map { "cred:" + $0 } + ["cert:" + hostname], checked: false)
            let refusalsClaiming = "(hostname = ?1 OR (CAST(?2 AS TEXT) IS NOT NULL AND machine_id = ?2) OR identity IN (\(db.dialect.jsonArrayElements("?3"))))"
            let claimed = try db.value("SELECT EXISTS (SELECT 1 FROM write_refusals WHERE \(refusalsClaiming))",
                                       [hostname, machineId, own], as: Bool.self) ?? false
            let codes = try db.values("SELECT id FROM enrollment_codes WHERE hostname = ? OR (CAST(? AS TEXT) IS NOT NULL AND machine_id = ?)",
                                      [hostname, machineId, machineId], as: String.self)
            guard hostId != nil || !credentials.isEmpty || !codes.isEmpty || claimed else { return nil }

            // Each kind's newest `limit` and its count; the merge below keeps the newest `limit` of all.
            var found: [(order: AuditOrder, event: AuditEvent)] = []
            var total = 0
            if let hostId {
                total += try db.value("SELECT count(*) FROM reports WHERE host_id = ? AND received_at >= ?", [hostId, from], as: Int.self) ?? 0
                for row in try db.rows("""
                    SELECT report_id, collected_at, received_at, outcome, id, written_by, peer FROM reports
                    WHERE host_id = ? AND received_at >= ? ORDER BY received_at DESC, id DESC LIMIT ?
                    """, [hostId, from, limit]) {
                    let write = StoredWrite(reportId: row[0], collectedAt: StoreTime.date(row[1]), receivedAt: StoreTime.date(row[2]),
                                            outcome: row[3], revision: row[4], writtenBy: row[5], peer: row[6])
                    found.append((AuditOrder(at: row[2], kind: 0, id: row[4]), .write(write)))
                }
                let retracted = "FROM retractions x JOIN reports r ON r.id = x.report JOIN hosts h ON h.id = r.host_id WHERE r.host_id = ? AND x.at >= ?"
                total += try db.value("SELECT count(*) \(retracted)", [hostId, from], as: Int.self) ?? 0
                for row in try db.rows("""
                    SELECT r.report_id, h.hostname, r.collected_at, x.at, x.revision, x.reason \(retracted) ORDER BY x.at DESC, x.revision DESC LIMIT ?
                    """, [hostId, from, limit]) {
                    found.append((AuditOrder(at: row[3], kind: 2, id: row[4]), .retraction(Self.retraction(row))))
                }
            }
            total += try db.value("SELECT count(*) FROM write_refusals WHERE \(refusalsClaiming) AND at >= ?4", [hostname, machineId, own, from], as: Int.self) ?? 0
            for row in try db.rows("""
                SELECT id, at, identity, peer, hostname, machine_id, report_id, reason, detail FROM write_refusals
                WHERE \(refusalsClaiming) AND at >= ?4 ORDER BY at DESC, id DESC LIMIT ?5
                """, [hostname, machineId, own, from, limit]) {
                found.append((AuditOrder(at: row["at"], kind: 1, id: row["id"]), .refusal(try Self.writeRefusal(row))))
            }
            // Events of the credentials bound to the host and of the enrollment codes issued for it (a code's
            // issue and revocation name no credential; its redemption names both, and is listed once).
            let concerning = """
                FROM credential_events WHERE (credential IN (\(db.dialect.jsonArrayElements("?1")))
                    OR enrollment_code IN (\(db.dialect.jsonArrayElements("?2")))) AND at >= ?3
                """
            let eventArguments: [any SQLBindable] = [Self.jsonArray(credentials), Self.jsonArray(codes), from]
            total += try db.value("SELECT count(*) \(concerning)", eventArguments, as: Int.self) ?? 0
            for row in try db.rows("SELECT credential, enrollment_code, kind, at, detail, id \(concerning) ORDER BY at DESC, id DESC LIMIT ?4", eventArguments + [limit]) {
                let event = CredentialEvent(credential: row[0], enrollmentCode: row[1], kind: row[2], at: StoreTime.date(row[3]), detail: row[4])
                found.append((AuditOrder(at: row[3], kind: 3, id: row[5]), .credential(event)))
            }
            let newest = found.sorted { $0.order > $1.order }.prefix(limit)
            return HostAudit(hostname: hostname, events: newest.reversed().map(\.event), omitted: total - newest.count)
        }
    }

    /// Strings as a JSON array for json_each (the one JSON escaper). `checked`: ids, which are hex digits
    /// in their schema's form; anything else is left out.
    static func jsonArray(_ ids: [String], checked: Bool = true) -> String {
        var json = JSONWriter()
        json.arrayStart()
        for id in ids where !checked || id.allSatisfy(\.isHexDigit) { json.string(id) }
        json.arrayEnd()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Ids of the collector credentials bound to the host: its hostname, a pattern matching it (as the
    /// server matches one, HostBinding.glob), or its machine-id.
    static func credentialsBound(_ db: any SQLConnection, hostname: String, machineId: String?) throws -> [String] {
        try db.rows("""
            SELECT id, hostname, machine_id, host_pattern FROM credentials
            WHERE role = 'collector' AND (hostname = ?1 OR host_pattern = 1 OR (CAST(?2 AS TEXT) IS NOT NULL AND machine_id = ?2)) ORDER BY created_at, id
            """, [hostname, machineId]).compactMap { row in
            let boundName: String? = row[1], boundMachine: String? = row[2], isPattern: Bool = row[3]
            let nameMatches = boundName.map { isPattern ? HostBinding.glob($0, matches: hostname) : $0 == hostname } ?? false
            let machineMatches = machineId != nil && boundMachine == machineId
            return nameMatches || machineMatches ? row[0] as String : nil
        }
    }
}

/// Where an event sits in an audit: time, then kind (a write before a refusal, a retraction, a credential
/// event of the same millisecond), then the order its table recorded it in.
struct AuditOrder: Comparable {
    var at: Int64
    var kind: Int
    var id: Int64

    static func < (a: AuditOrder, b: AuditOrder) -> Bool { (a.at, a.kind, a.id) < (b.at, b.kind, b.id) }
}
