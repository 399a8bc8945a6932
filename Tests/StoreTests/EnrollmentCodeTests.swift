import Foundation
import GRDB
@testable import Store
import StoreSQLite
import TestSupport
import Testing
import TestRegistry

/// Enrollment codes (migrations/0011): a code becomes one collector credential bound to its host, once,
/// before it expires; every other redemption fails without issuing anything, and what happened is recorded.
@Suite struct EnrollmentCodeTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let web1 = HostBinding(hostname: "web-1", machineId: nil)

    func credential(_ result: Result<IssuedCredential, EnrollmentRefusal>) -> IssuedCredential? {
        if case .success(let issued) = result { return issued }
        return nil
    }

    func refusal(_ result: Result<IssuedCredential, EnrollmentRefusal>) -> EnrollmentRefusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test func aCodeWorksOnceAndBecomesABoundCollectorCredential() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let code = try store.issueEnrollmentCode(binding: Self.web1, issuedBy: "user:ops", at: Self.t0)
        #expect(code.text.hasPrefix("capreg_enroll_\(code.code.id)_") && code.text.count == 14 + 16 + 1 + 64)
        #expect(code.code.expiresAt == Self.t0.addingTimeInterval(3600) && code.code.state(at: Self.t0) == "unused")
        #expect(try store.hasCredentials(), "a registry expecting enrollments requires tokens")

        let at = Self.t0.addingTimeInterval(60)
        let issued = try #require(credential(try store.redeemEnrollmentCode(code.text, hostname: "web-1", machineId: "abc", at: at)))
        #expect(issued.credential.role == .collector && issued.credential.binding == Self.web1)
        #expect(issued.credential.expiresAt == at.addingTimeInterval(TimeInterval(Credential.defaultLifetime)))
        #expect(try store.credential(presenting: issued.secret, at: at)?.id == issued.credential.id)

        let again = refusal(try store.redeemEnrollmentCode(code.text, hostname: "web-1", machineId: "abc", at: at.addingTimeInterval(1)))
        #expect(again == .used(id: code.code.id))
        #expect(try store.credentials().count == 1, "the second redemption issued nothing")

        let stored = try #require(try store.enrollmentCode(id: code.code.id))
        #expect(stored.state(at: at) == "used" && stored.usedAt == at && stored.credential == issued.credential.id)
        #expect(stored.issuedBy == "user:ops" && stored.refusals == 1)
        #expect(stored.lastRefusal == "already used; claimed by host web-1, machine-id abc", "\(stored.lastRefusal ?? "nil")")

        let events = try store.credentialEvents()
        #expect(events.map(\.kind) == ["issue", "enroll"])
        #expect(events[0].credential == nil && events[0].enrollmentCode == code.code.id && events[0].detail.contains("issued by user:ops"))
        #expect(events[1].credential == issued.credential.id && events[1].enrollmentCode == code.code.id)
        #expect(events[1].detail.contains("from enrollment code \(code.code.id)") && events[1].detail.contains("host web-1"))
        #expect(try store.credentialEvents(id: code.code.id).count == 2 && store.credentialEvents(id: issued.credential.id).count == 1)
    }

    @Test func expiredRevokedAndUnknownCodesIssueNothing() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let short = try store.issueEnrollmentCode(binding: Self.web1, expiresIn: 60, at: Self.t0)
        #expect(refusal(try store.redeemEnrollmentCode(short.text, hostname: "web-1", machineId: nil, at: Self.t0.addingTimeInterval(60)))
                == .expired(id: short.code.id))

        let revoked = try store.issueEnrollmentCode(binding: Self.web1, at: Self.t0)
        #expect(try store.revokeEnrollmentCode(id: revoked.code.id, at: Self.t0).revokedNow)
        #expect(try store.revokeEnrollmentCode(id: revoked.code.id, at: Self.t0).revokedNow == false)
        #expect(refusal(try store.redeemEnrollmentCode(revoked.text, hostname: "web-1", machineId: nil, at: Self.t0)) == .revoked(id: revoked.code.id))

        // A wrong secret for a known id, a credential's shape, and garbage: unknown, and the known code is untouched.
        let live = try store.issueEnrollmentCode(binding: Self.web1, at: Self.t0)
        var wrong = Array(live.text)
        wrong[wrong.count - 1] = wrong.last == "0" ? "1" : "0"
        for text in [String(wrong), String(live.text.dropLast()), "capreg_" + live.code.id + "_" + String(repeating: "0", count: 64), "", "x"] {
            #expect(refusal(try store.redeemEnrollmentCode(text, hostname: "web-1", machineId: nil, at: Self.t0)) == .unknown, "\(text)")
        }
        #expect(try store.enrollmentCode(id: live.code.id)?.refusals == 0)
        #expect(try store.credentials().isEmpty)
        #expect(try store.credentialEvents().map(\.kind) == ["issue", "issue", "revoke", "issue"])
    }

    @Test func anotherHostIsRefusedAndTheCodeStaysUsable() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let code = try store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: "0123abcd"), at: Self.t0)
        for (host, machine) in [("web-2", "0123abcd"), ("web-1", "ffff0000"), ("web-1", nil)] as [(String, String?)] {
            let refused = refusal(try store.redeemEnrollmentCode(code.text, hostname: host, machineId: machine, at: Self.t0))
            guard case .hostMismatch(let id, _) = refused else { Issue.record("\(host) \(machine ?? "-"): \(String(describing: refused))"); continue }
            #expect(id == code.code.id)
        }
        let stored = try #require(try store.enrollmentCode(id: code.code.id))
        #expect(stored.state(at: Self.t0) == "unused" && stored.refusals == 3)
        #expect(stored.lastRefusal?.contains("claimed by host web-1") == true && stored.lastRefusal?.contains("another host") == true)
        let issued = try #require(credential(try store.redeemEnrollmentCode(code.text, hostname: "web-1", machineId: "0123abcd", at: Self.t0)))
        #expect(issued.credential.binding == HostBinding(hostname: "web-1", machineId: "0123abcd"))
    }

    @Test func issuingChecksTheBindingAndTheLifetime() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        #expect(throws: CredentialError.self) { try store.issueEnrollmentCode(binding: HostBinding(hostname: nil, machineId: nil)) }
        #expect(throws: CredentialError.self) { try store.issueEnrollmentCode(binding: HostBinding(hostname: "localhost", machineId: nil)) }
        #expect(throws: CredentialError.self) { try store.issueEnrollmentCode(binding: HostBinding(hostname: "rack7-*", machineId: nil, isPattern: true)) }
        #expect(throws: CredentialError.self) { try store.issueEnrollmentCode(binding: Self.web1, expiresIn: EnrollmentCode.maxLifetime + 1) }
        #expect(throws: CredentialError.self) { try store.issueEnrollmentCode(binding: Self.web1, expiresIn: 0) }
        #expect(try store.issueEnrollmentCode(binding: Self.web1, expiresIn: EnrollmentCode.maxLifetime).code.binding == Self.web1)
        // The schema holds the same bound, whoever writes.
        #expect(try backendRefusal {
            try store.database.write { db in
                try db.execute("INSERT INTO enrollment_codes (id, digest, hostname, created_at, expires_at) VALUES ('x', 'd', 'h', 0, ?)",
                               [(EnrollmentCode.maxLifetime + 1) * 1000])
            }
        } != nil)
    }

    @Test func aUsedCodeCannotBeRevoked() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let code = try store.issueEnrollmentCode(binding: Self.web1, at: Self.t0)
        let issued = try #require(credential(try store.redeemEnrollmentCode(code.text, hostname: "web-1", machineId: nil, at: Self.t0)))
        #expect(throws: CredentialError.codeUsed(id: code.code.id, credential: issued.credential.id)) {
            try store.revokeEnrollmentCode(id: code.code.id)
        }
        #expect(throws: CredentialError.unknown("0000000000000000")) { try store.revokeEnrollmentCode(id: "0000000000000000") }
    }

    // Reads the SQLite file's bytes.
    @Test(.enabled(if: TestBackend.current == .sqlite)) func theDatabaseNeverHoldsACode() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let codes = try (0..<3).map { _ in try store.issueEnrollmentCode(binding: Self.web1, at: Self.t0) }
        let issued = try #require(credential(try store.redeemEnrollmentCode(codes[0].text, hostname: "web-1", machineId: nil, at: Self.t0)))
        try store.close()
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.url.path) {
            bytes += try Data(contentsOf: dir.url.appendingPathComponent(name))
        }
        for text in codes.map(\.text) + [issued.secret] {
            #expect(bytes.range(of: Data(text.suffix(64).utf8)) == nil)
            #expect(bytes.range(of: Data(CredentialToken.digest(text).utf8)) != nil, "the digest is what is stored")
        }
    }

    /// 0011 rebuilds credential_events (a CHECK cannot be altered): the events written under 0009 keep their
    /// ids, order and words, and the rebuilt table is as append-only as the old one.
    @Test func migration0011KeepsEventsAndTheirGuards() throws {
        let dir = try TempDir()
        let path = dir.path("r.sqlite")
        let upTo0009 = try #require(Migration.sqlite.firstIndex { $0.name.hasPrefix("0009") })
        do {
            let old = try Registry.sqlite(path: path, migrations: Array(Migration.sqlite.prefix(through: upTo0009)))
            try old.database.write { db in
                try db.executeScript("""
                    INSERT INTO credentials (id, role, digest, created_at) VALUES ('00000000000000aa', 'admin', 'd', 1);
                    INSERT INTO credential_events (id, credential, kind, at, detail) VALUES (7, '00000000000000aa', 'issue', 1, 'role admin');
                    INSERT INTO credential_events (id, credential, kind, at, detail) VALUES (9, '00000000000000aa', 'revoke', 2, 'revoked');
                    """)
            }
        }
        let store = try Registry.sqlite(path: path)
        let ids = try store.database.read { db in try db.values("SELECT id FROM credential_events ORDER BY id", as: Int64.self) }
        #expect(ids == [7, 9])
        #expect(try store.credentialEvents().map { "\($0.credential ?? "-") \($0.kind) \($0.detail)" }
                == ["00000000000000aa issue role admin", "00000000000000aa revoke revoked"])
        #expect(try backendRefusal { try store.database.write { db in try db.execute("DELETE FROM credential_events") } } != nil)
        #expect(try backendRefusal { try store.database.write { db in try db.execute("UPDATE credential_events SET detail = 'x'") } } != nil)
        // An event must name a credential or a code, and an enroll both.
        #expect(try backendRefusal {
            try store.database.write { db in try db.execute("INSERT INTO credential_events (kind, at, detail) VALUES ('issue', 3, 'x')") }
        } != nil)
        #expect(try backendRefusal {
            try store.database.write { db in
                try db.execute("INSERT INTO credential_events (credential, kind, at, detail) VALUES ('00000000000000aa', 'enroll', 3, 'x')")
            }
        } != nil)
        // New events follow the old ones.
        let code = try store.issueEnrollmentCode(binding: Self.web1)
        #expect(try store.credentialEvents().map(\.kind) == ["issue", "revoke", "issue"])
        #expect(try store.credentialEvents().last?.enrollmentCode == code.code.id)
    }
}
