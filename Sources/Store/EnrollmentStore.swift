import Foundation

/// Enrollment codes (migrations/0011): issued by an admin, listed, revoked, and redeemed once for a
/// collector credential. Issue, revocation and redemption each write a credential_events row in the same
/// transaction; refused redemptions are counted on the code's row (bounded, unlike an event per attempt,
/// so whoever knows a code's id cannot grow the append-only table by retrying).
extension Registry {
    /// Makes a code for the host `binding` names, valid `seconds` from `now` (1 s…7 d). Its text is
    /// returned here and never again (only its digest is stored).
    public func issueEnrollmentCode(binding: HostBinding, expiresIn seconds: Int64 = EnrollmentCode.defaultLifetime,
                                    issuedBy: String? = nil, at now: Date = Date()) throws -> IssuedEnrollmentCode {
        if binding.isPattern { throw CredentialError.binding("an enrollment code is for one host: give --host or --machine-id, not a pattern") }
        if let problem = binding.problem { throw CredentialError.binding(problem) }
        guard (1...EnrollmentCode.maxLifetime).contains(seconds) else {
            throw CredentialError.lifetime("--expires: an enrollment code lives at most 7d (\(EnrollmentCode.maxLifetime) s); \(seconds) s asked")
        }
        return try database.write { db in
            let (id, text) = EnrollmentCodeText.make()
            let created = StoreTime.ms(now)
            try db.execute("""
                INSERT INTO enrollment_codes (id, digest, hostname, machine_id, created_at, expires_at, issued_by)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [id, CredentialToken.digest(text), binding.hostname, binding.machineId, created, created + seconds * 1000, issuedBy])
            let code = try Self.enrollmentCode(db, id: id)!
            try Self.record(db, nil, "issue", enrollmentCode: id, at: now,
                            "enrollment code for \(binding.description), expires \(Self.text(code.expiresAt))"
                                + (issuedBy.map { ", issued by \($0)" } ?? ""))
            return IssuedEnrollmentCode(code: code, text: text)
        }
    }

    /// Every enrollment code, oldest first; no code text is stored, so none can be listed.
    public func enrollmentCodes() throws -> [EnrollmentCode] {
        try database.read { db in
            try db.rows("SELECT \(Self.codeColumns) FROM enrollment_codes ORDER BY created_at, id").map(Self.enrollmentCode)
        }
    }

    /// The code with this id, or nil (also before migration 0011).
    public func enrollmentCode(id: String) throws -> EnrollmentCode? {
        try database.read { db in try db.tableExists("enrollment_codes") ? try Self.enrollmentCode(db, id: id) : nil }
    }

    /// Withdraws an unused code; returns it and whether this call revoked it (false: it already was, and
    /// nothing was written). A used code is refused (`CredentialError.codeUsed`): revoke its credential.
    public func revokeEnrollmentCode(id: String, at now: Date = Date()) throws -> (code: EnrollmentCode, revokedNow: Bool) {
        try database.write { db in
            guard let found = try Self.enrollmentCode(db, id: id) else { throw CredentialError.unknown(id) }
            if let credential = found.credential { throw CredentialError.codeUsed(id: id, credential: credential) }
            if found.revokedAt != nil { return (found, false) }
            try db.execute("UPDATE enrollment_codes SET revoked_at = ? WHERE id = ?", [StoreTime.ms(now), id])
            try Self.record(db, nil, "revoke", enrollmentCode: id, at: now, "enrollment code revoked, unused")
            return (try Self.enrollmentCode(db, id: id)!, true)
        }
    }

    /// Trades a code for a collector credential bound to the code's host, lifetime `credentialLifetime`,
    /// when the code is known, unused, unrevoked and unexpired at `now` and the claimed host matches its
    /// binding. One transaction: the check, the code marked used, the credential and its `enroll` event;
    /// two redemptions racing cannot both pass (the UPDATE only takes an unused row, and the store has one writer).
    /// A refusal of a known code is counted on its row, committed; a host mismatch leaves the code usable.
    public func redeemEnrollmentCode(_ text: String, hostname: String, machineId: String?,
                                     credentialLifetime: Int64 = Credential.defaultLifetime,
                                     at now: Date = Date()) throws -> Result<IssuedCredential, EnrollmentRefusal> {
        guard let id = EnrollmentCodeText.id(in: text) else { return .failure(.unknown) }
        let presented = CredentialToken.digest(text)
        return try database.write { db in
            guard let row = try db.row("SELECT \(Self.codeColumns), digest FROM enrollment_codes WHERE id = ?", [id]),
                  CredentialToken.sameDigest(row["digest"], presented) else { return .failure(.unknown) }
            let code = Self.enrollmentCode(row)
            if let refusal = Self.refusal(of: code, hostname: hostname, machineId: machineId, at: now) {
                try db.execute("""
                    UPDATE enrollment_codes SET refusals = refusals + 1, last_refused_at = ?, last_refusal = ? WHERE id = ?
                    """, [StoreTime.ms(now), Self.reason(refusal, hostname: hostname, machineId: machineId), id])
                return .failure(refusal)
            }
            let issued = try Self.issue(db, role: .collector, binding: code.binding, expiresIn: credentialLifetime, rotatedFrom: nil,
                                        enrolledWith: id, at: now)
            let marked = try db.execute("UPDATE enrollment_codes SET used_at = ?, credential = ? WHERE id = ? AND used_at IS NULL",
                                        [StoreTime.ms(now), issued.credential.id, id])
            // Unreachable with serialized writers; if it ever were reached, throwing rolls the credential back.
            guard marked == 1 else { throw ConcurrentRedemption(code: id) }
            return .success(issued)
        }
    }

    /// Why `code` may not be redeemed by this host now, or nil.
    static func refusal(of code: EnrollmentCode, hostname: String, machineId: String?, at now: Date) -> EnrollmentRefusal? {
        switch code.state(at: now) {
        case "used": return .used(id: code.id)
        case "revoked": return .revoked(id: code.id)
        case "expired": return .expired(id: code.id)
        default:
            guard code.binding.mismatch(hostname: hostname, machineId: machineId) != nil else { return nil }
            return .hostMismatch(id: code.id, mismatch: "the code is for \(code.binding.description)")
        }
    }

    /// The words kept in `last_refusal`: the reason and the host that tried (operators' clue to a typo or a theft).
    static func reason(_ refusal: EnrollmentRefusal, hostname: String, machineId: String?) -> String {
        let claimed = "claimed by host \(hostname.prefix(200))" + (machineId.map { ", machine-id \($0.prefix(200))" } ?? "")
        switch refusal {
        case .unknown: return "unknown code; \(claimed)"
        case .used: return "already used; \(claimed)"
        case .expired: return "expired; \(claimed)"
        case .revoked: return "revoked; \(claimed)"
        case .hostMismatch(_, let mismatch): return "another host: \(mismatch); \(claimed)"
        }
    }

    private static let codeColumns = """
        id, hostname, machine_id, created_at, expires_at, used_at, credential, revoked_at, issued_by, refusals, last_refused_at, last_refusal
        """

    private static func enrollmentCode(_ db: any SQLConnection, id: String) throws -> EnrollmentCode? {
        guard StoreText.bindable(id) else { return nil }
        return try db.row("SELECT \(codeColumns) FROM enrollment_codes WHERE id = ?", [id]).map(enrollmentCode)
    }

    private static func enrollmentCode(_ row: SQLRow) -> EnrollmentCode {
        func date(_ column: String) -> Date? { (row[column] as Int64?).map(StoreTime.date) }
        return EnrollmentCode(id: row["id"], binding: HostBinding(hostname: row["hostname"], machineId: row["machine_id"]),
                              createdAt: StoreTime.date(row["created_at"]), expiresAt: StoreTime.date(row["expires_at"]),
                              usedAt: date("used_at"), credential: row["credential"], revokedAt: date("revoked_at"),
                              issuedBy: row["issued_by"], refusals: row["refusals"], lastRefusedAt: date("last_refused_at"),
                              lastRefusal: row["last_refusal"])
    }
}

/// Two redemptions of one code met (writers are serialized, so never expected): the second rolls back.
struct ConcurrentRedemption: Error, CustomStringConvertible {
    var code: String
    var description: String { "enrollment code \(code) was redeemed concurrently" }
}
