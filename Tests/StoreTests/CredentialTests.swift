import Foundation
import GRDB
@testable import Store
import StoreSQLite
import TestSupport
import Testing
import TestRegistry

/// Credentials in the registry (migrations/0009): a secret works until revoked, expired or rotated out,
/// is never stored in clear, and every change leaves an event that cannot be changed or deleted.
@Suite struct CredentialTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let web1 = HostBinding(hostname: "web-1", machineId: nil)

    @Test func issuedSecretWorksAndNothingElseDoes() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        #expect(try store.hasCredentials() == false)
        let issued = try store.issueCredential(role: .collector, binding: Self.web1, expiresIn: 86_400, at: Self.t0)
        #expect(try store.hasCredentials())
        #expect(issued.secret.hasPrefix("capreg_\(issued.credential.id)_") && issued.secret.count == 7 + 16 + 1 + 64)
        let found = try #require(try store.credential(presenting: issued.secret, at: Self.t0))
        #expect(found.role == .collector && found.binding == Self.web1 && found.id == issued.credential.id)

        // The same id with another secret, a truncated one, and another shape are all refused.
        var wrong = Array(issued.secret)
        wrong[wrong.count - 1] = wrong.last == "0" ? "1" : "0"
        #expect(try store.credential(presenting: String(wrong), at: Self.t0) == nil)
        #expect(try store.credential(presenting: String(issued.secret.dropLast()), at: Self.t0) == nil)
        #expect(try store.credential(presenting: "reader-token-0123456789abcdef", at: Self.t0) == nil)

        // Expired at the end of its lifetime.
        #expect(try store.credential(presenting: issued.secret, at: Self.t0.addingTimeInterval(86_399)) != nil)
        #expect(try store.credential(presenting: issued.secret, at: Self.t0.addingTimeInterval(86_400)) == nil)
    }

    @Test func revokedIsRefusedAndRevokingTwiceWritesNothing() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let issued = try store.issueCredential(role: .reader, binding: nil, expiresIn: nil, at: Self.t0)
        #expect(issued.credential.expiresAt == nil)
        let first = try store.revokeCredential(id: issued.credential.id, at: Self.t0.addingTimeInterval(5))
        #expect(first.revokedNow && first.credential.state(at: Self.t0) == "revoked")
        #expect(try store.credential(presenting: issued.secret, at: Self.t0.addingTimeInterval(6)) == nil)
        #expect(try store.revokeCredential(id: issued.credential.id).revokedNow == false)
        #expect(throws: CredentialError.unknown("0000000000000000")) { try store.revokeCredential(id: "0000000000000000") }
        #expect(try store.credentialEvents(id: issued.credential.id).map(\.kind) == ["issue", "revoke"])
    }

    @Test func rotationKeepsBothValidDuringTheOverlapOnly() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        let old = try store.issueCredential(role: .collector, binding: HostBinding(hostname: "web-1", machineId: "abc"), expiresIn: 90 * 86_400, at: Self.t0)
        let (before, new) = try store.rotateCredential(id: old.credential.id, overlap: 3600, expiresIn: 90 * 86_400, at: Self.t0.addingTimeInterval(10))
        #expect(before.expiresAt == Self.t0.addingTimeInterval(3610))
        #expect(new.credential.rotatedFrom == old.credential.id && new.credential.binding == old.credential.binding && new.secret != old.secret)
        let during = Self.t0.addingTimeInterval(3609), after = Self.t0.addingTimeInterval(3610)
        #expect(try store.credential(presenting: old.secret, at: during) != nil)
        #expect(try store.credential(presenting: new.secret, at: during) != nil)
        #expect(try store.credential(presenting: old.secret, at: after) == nil)
        #expect(try store.credential(presenting: new.secret, at: after) != nil)
        // An overlap never lengthens a life: rotating again with a longer overlap keeps the earlier end.
        let again = try store.rotateCredential(id: old.credential.id, overlap: 86_400, expiresIn: 60, at: Self.t0.addingTimeInterval(20))
        #expect(again.old.expiresAt == Self.t0.addingTimeInterval(3610))
        _ = try store.revokeCredential(id: new.credential.id, at: after)
        #expect(throws: CredentialError.inactive(id: new.credential.id, state: "revoked")) {
            try store.rotateCredential(id: new.credential.id, overlap: 60, expiresIn: 60, at: after)
        }
        let kinds = try store.credentialEvents().map { "\($0.credential == old.credential.id ? "old" : "other") \($0.kind)" }
        #expect(kinds == ["old issue", "other issue", "old rotate", "other issue", "old rotate", "other revoke"])
    }

    // Reads the SQLite file's bytes.
    @Test(.enabled(if: TestBackend.current == .sqlite)) func theDatabaseNeverHoldsASecret() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        var secrets: [String] = []
        for _ in 0..<3 { secrets.append(try store.issueCredential(role: .admin, binding: nil, expiresIn: 60, at: Self.t0).secret) }
        let rotated = try store.rotateCredential(id: try #require(CredentialToken.id(in: secrets[0])), overlap: 60, expiresIn: 60, at: Self.t0)
        secrets.append(rotated.new.secret)
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.url.path) {
            bytes += try Data(contentsOf: dir.url.appendingPathComponent(name))
        }
        try store.close()
        bytes += try Data(contentsOf: URL(fileURLWithPath: dir.path("r.sqlite")))
        for secret in secrets {
            // The random part alone: the id before it is meant to be stored.
            let random = Data(secret.suffix(64).utf8)
            #expect(bytes.range(of: random) == nil)
            #expect(bytes.range(of: Data(CredentialToken.digest(secret).utf8)) != nil, "the digest is what is stored")
        }
    }

    @Test func eventsCannotBeChangedOrDeleted() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        _ = try store.issueCredential(role: .admin, binding: nil, expiresIn: 60)
        #expect(try backendRefusal { try store.database.write { db in try db.execute("DELETE FROM credential_events") } } != nil)
        #expect(try backendRefusal { try store.database.write { db in try db.execute("UPDATE credential_events SET detail = 'x'") } } != nil)
        #expect(try store.credentialEvents().count == 1)
    }

    @Test func bindingsAreCheckedAndMatched() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        #expect(throws: CredentialError.self) { try store.issueCredential(role: .collector, binding: nil, expiresIn: 60) }
        #expect(throws: CredentialError.self) { try store.issueCredential(role: .collector, binding: HostBinding(hostname: "localhost", machineId: nil), expiresIn: 60) }
        #expect(throws: CredentialError.self) { try store.issueCredential(role: .collector, binding: HostBinding(hostname: "**", machineId: nil, isPattern: true), expiresIn: 60) }
        // A reader is never bound, whatever is passed.
        #expect(try store.issueCredential(role: .reader, binding: Self.web1, expiresIn: 60).credential.binding == nil)

        #expect(Self.web1.mismatch(hostname: "web-1", machineId: nil) == nil)
        #expect(Self.web1.mismatch(hostname: "web-2", machineId: nil) == "this credential may write host \"web-1\"; the report is for host \"web-2\"")
        let both = HostBinding(hostname: "web-1", machineId: "abc")
        #expect(both.mismatch(hostname: "web-1", machineId: "abc") == nil)
        #expect(both.mismatch(hostname: "web-1", machineId: nil)?.contains("no machine-id") == true)
        #expect(both.mismatch(hostname: "web-1", machineId: "abd")?.contains("machine-id abd") == true)
        let pattern = HostBinding(hostname: "rack7-*.lab", machineId: nil, isPattern: true)
        #expect(pattern.mismatch(hostname: "rack7-12.lab", machineId: nil) == nil)
        #expect(pattern.mismatch(hostname: "rack7-.lab", machineId: nil) == nil)
        #expect(pattern.mismatch(hostname: "rack8-12.lab", machineId: nil) != nil)
        #expect(pattern.mismatch(hostname: "rack7-12.lab.evil", machineId: nil) != nil)
        // Without the pattern flag a `*` is a plain character.
        #expect(HostBinding(hostname: "rack7-*", machineId: nil).mismatch(hostname: "rack7-1", machineId: nil) != nil)
    }
}
