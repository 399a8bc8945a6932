import Foundation
import Timestamps

/// Credentials in the registry (migrations/0009): issue, list, revoke, rotate, and the server's lookup.
/// Enrollment codes, which become credentials, are in EnrollmentStore.swift.
/// Every change writes a credential_events row in the same transaction.
extension Registry {
    /// Makes a credential; its secret is returned here and never again (only its digest is stored).
    public func issueCredential(role: Role, binding: HostBinding?, expiresIn seconds: Int64?, at now: Date = Date()) throws -> IssuedCredential {
        try database.write { db in try Self.issue(db, role: role, binding: binding, expiresIn: seconds, rotatedFrom: nil, at: now) }
    }

    /// Every credential, oldest first; no secret is stored, so none can be listed.
    public func credentials() throws -> [Credential] {
        try database.read { db in try db.rows("SELECT \(Self.credentialColumns) FROM credentials ORDER BY created_at, id").map(Self.credential) }
    }

    /// True when any credential or enrollment code was ever issued: the server then requires tokens even
    /// without a --tokens file (a registry that expects hosts to enroll is not an open one). A schema from
    /// before migration 0009 or 0011 (tests open stores with fewer migrations) holds none.
    public func hasCredentials() throws -> Bool {
        try database.read { db in
            for table in ["credentials", "enrollment_codes"] where try db.tableExists(table) {
                if try db.value("SELECT EXISTS (SELECT 1 FROM \(table))") ?? false { return true }
            }
            return false
        }
    }

    /// Revokes `id` at `now`; returns the credential and whether this call revoked it (false: it already was,
    /// and nothing was written).
    public func revokeCredential(id: String, at now: Date = Date()) throws -> (credential: Credential, revokedNow: Bool) {
        try database.write { db in
            let found = try Self.credential(db, id: id)
            if found.revokedAt != nil { return (found, false) }
            try db.execute("UPDATE credentials SET revoked_at = ? WHERE id = ?", [StoreTime.ms(now), id])
            try Self.record(db, id, "revoke", at: now, "revoked")
            return (try Self.credential(db, id: id), true)
        }
    }

    /// Issues a successor of `id` (same role and binding, a new secret, `expiresIn` from now) and cuts the
    /// old one's life to `overlap` from now (never lengthens it): both work during the overlap, so the
    /// collector can be given the new secret without a gap. Returns the old credential as it now stands and the new one.
    public func rotateCredential(id: String, overlap: Int64, expiresIn seconds: Int64?, at now: Date = Date()) throws
        -> (old: Credential, new: IssuedCredential) {
        try database.write { db in
            let old = try Self.credential(db, id: id)
            let state = old.state(at: now)
            guard state == "active" else { throw CredentialError.inactive(id: id, state: state) }
            let until = min(StoreTime.ms(now) + overlap * 1000, old.expiresAt.map(StoreTime.ms) ?? Int64.max)
            try db.execute("UPDATE credentials SET expires_at = ? WHERE id = ?", [until, id])
            let new = try Self.issue(db, role: old.role, binding: old.binding, expiresIn: seconds, rotatedFrom: id, at: now)
            try Self.record(db, id, "rotate", at: now,
                            "replaced by \(new.credential.id); valid until \(Self.text(StoreTime.date(until))) (overlap)")
            return (try Self.credential(db, id: id), new)
        }
    }

    /// The credential a presented token names, when the token is its secret and it is neither revoked nor
    /// expired at `now`; nil otherwise. One read of the row by its primary key, then a constant-time comparison.
    public func credential(presenting token: String, at now: Date = Date()) throws -> Credential? {
        guard let id = CredentialToken.id(in: token) else { return nil }
        let presented = CredentialToken.digest(token)
        return try database.read { db in
            guard let row = try db.row("SELECT \(Self.credentialColumns), digest FROM credentials WHERE id = ?", [id]),
                  CredentialToken.sameDigest(row["digest"], presented) else { return nil }
            let found = Self.credential(row)
            return found.state(at: now) == "active" ? found : nil
        }
    }

    /// Credential events, oldest first: of one credential or enrollment code, or all when `id` is nil.
    public func credentialEvents(id: String? = nil) throws -> [CredentialEvent] {
        try database.read { db in
            try db.rows("""
                SELECT credential, enrollment_code, kind, at, detail FROM credential_events
                WHERE CAST(?1 AS TEXT) IS NULL OR credential = ?1 OR enrollment_code = ?1 ORDER BY id
                """, [id]).map {
                CredentialEvent(credential: $0[0], enrollmentCode: $0[1], kind: $0[2], at: StoreTime.date($0[3]), detail: $0[4])
            }
        }
    }

    private static let credentialColumns = "id, role, hostname, machine_id, host_pattern, created_at, expires_at, revoked_at, rotated_from"

    /// Inserts a credential and its birth event: `issue`, or `enroll` naming the code it was redeemed from.
    static func issue(_ db: any SQLConnection, role: Role, binding: HostBinding?, expiresIn seconds: Int64?, rotatedFrom: String?,
                      enrolledWith code: String? = nil, at now: Date) throws -> IssuedCredential {
        let binding = role == .collector ? binding : nil
        if role == .collector, let problem = binding?.problem ?? (binding == nil ? HostBinding(hostname: nil, machineId: nil).problem : nil) {
            throw CredentialError.binding(problem)
        }
        let (id, token) = CredentialToken.make()
        let created = StoreTime.ms(now)
        try db.execute("""
            INSERT INTO credentials (id, role, hostname, machine_id, host_pattern, digest, created_at, expires_at, rotated_from)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [id, role.rawValue, binding?.hostname, binding?.machineId, binding?.isPattern ?? false,
                             CredentialToken.digest(token), created, seconds.map { created + $0 * 1000 }, rotatedFrom])
        let credential = try Self.credential(db, id: id)
        var detail = "role \(role.rawValue)" + (binding.map { ", \($0.description)" } ?? "")
            + ", expires " + (credential.expiresAt.map(Self.text) ?? "never")
        if let rotatedFrom { detail += ", replaces \(rotatedFrom)" }
        if let code { detail += ", from enrollment code \(code)" }
        try record(db, id, code == nil ? "issue" : "enroll", enrollmentCode: code, at: now, detail)
        return IssuedCredential(credential: credential, secret: token)
    }

    /// Appends an event about credential `id` and/or enrollment code `enrollmentCode`.
    static func record(_ db: any SQLConnection, _ id: String?, _ kind: String, enrollmentCode: String? = nil, at now: Date, _ detail: String) throws {
        try db.execute("INSERT INTO credential_events (credential, enrollment_code, kind, at, detail) VALUES (?, ?, ?, ?, ?)",
                       [id, enrollmentCode, kind, StoreTime.ms(now), detail])
    }

    private static func credential(_ db: any SQLConnection, id: String) throws -> Credential {
        guard StoreText.bindable(id),
              let row = try db.row("SELECT \(credentialColumns) FROM credentials WHERE id = ?", [id]) else {
            throw CredentialError.unknown(id)
        }
        return credential(row)
    }

    private static func credential(_ row: SQLRow) -> Credential {
        let hostname: String? = row["hostname"], machineId: String? = row["machine_id"]
        let binding = hostname == nil && machineId == nil ? nil : HostBinding(hostname: hostname, machineId: machineId, isPattern: row["host_pattern"])
        return Credential(id: row["id"], role: Role(rawValue: row["role"])!, binding: binding, createdAt: StoreTime.date(row["created_at"]),
                          expiresAt: (row["expires_at"] as Int64?).map(StoreTime.date), revokedAt: (row["revoked_at"] as Int64?).map(StoreTime.date),
                          rotatedFrom: row["rotated_from"])
    }

    static func text(_ date: Date) -> String { RFC3339.format(date) }
}
