import Foundation
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic

/// capreg copy-store's core: a registry with every kind of row (history, a redecode's saved facts, a
/// retraction, credentials with a rotation, enrollment codes, refused writes) moves whole, answers the
/// same questions after, and an interrupted copy finishes when run again.
@Suite struct RegistryCopyTests {
    /// A registry holding a row in every table.
    static func populated(_ dir: TempDir, _ name: String) throws -> Registry {
        let store = try Fixture.store(dir, name)
        var reports: [Report] = []
        var fleet = SyntheticFleet(hosts: 25, days: 6, seed: 11)
        fleet.devices = true
        fleet.forEachReport { reports.append($0) }
        let writer = try Writer(identity: "cred:0123456789abcdef", peer: "10.0.0.7")
        _ = try store.ingest(reports, writer: writer)
        // A redecode that changes facts saves the rows it replaced (facts_superseded).
        try store.database.write { db in
            try db.execute("UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m'")
            try db.execute("UPDATE reports SET decoder_version = 0")
        }
        _ = try store.redecode()
        let host = reports[0].host.hostname
        let second = try #require(reports.filter { $0.host.hostname == host }.dropFirst().first)
        _ = try store.retract(reportId: second.reportId, reason: "copy test")
        let admin = try store.issueCredential(role: .admin, binding: nil, expiresIn: nil)
        let collector = try store.issueCredential(role: .collector, binding: HostBinding(hostname: host, machineId: nil), expiresIn: 86_400)
        _ = try store.rotateCredential(id: collector.credential.id, overlap: 60, expiresIn: nil)
        _ = try store.revokeCredential(id: admin.credential.id)
        _ = try store.issueEnrollmentCode(binding: HostBinding(hostname: "new-host", machineId: nil))
        _ = try store.recordRefusal(WriteRefusal(at: Date(), writer: writer, hostname: "other", machineId: nil, reportId: "r-x",
                                                 reason: "host_mismatch", detail: "bound to \(host)"))
        return store
    }

    @Test func everyTableMovesAndAnswersStayTheSame() throws {
        let dir = try TempDir()
        let source = try Self.populated(dir, "a.sqlite")
        let copy = try Fixture.store(dir, "b.sqlite")
        let summary = try RegistryCopy.copy(from: source, to: copy, batchSize: 97)
        #expect(summary.revision == (try source.currentRevision()))
        #expect(Set(summary.tables.map(\.table)) == Set(RegistryCopy.tables.map(\.name)))
        // derived_rebuilds is empty once a registry is open.
        for table in summary.tables where !["host_labels", "label_set_entries", "label_sets", "derived_rebuilds"].contains(table.table) {
            #expect(table.rows > 0, "\(table.table) is empty in the populated registry: the test does not cover it")
        }
        #expect(try copy.currentRevision() == source.currentRevision())
        #expect(try copy.hosts() == source.hosts())
        for host in try source.hosts().prefix(5) {
            #expect(try copy.history(hostname: host.hostname) == source.history(hostname: host.hostname))
            #expect(try copy.audit(hostname: host.hostname, since: nil, limit: 500) == source.audit(hostname: host.hostname, since: nil, limit: 500))
        }
        #expect(try copy.credentials() == source.credentials())
        #expect(try copy.credentialEvents() == source.credentialEvents())
        #expect(try copy.enrollmentCodes() == source.enrollmentCodes())
        // The copy goes on numbering where the source stopped.
        var more: [Report] = []
        SyntheticFleet(hosts: 3, days: 1, seed: 12).forEachReport { more.append($0) }
        let results = try copy.ingest(more)
        #expect(results.compactMap(\.revision).min() == summary.revision + 1)
    }

    struct Stop: Error {}

    @Test func anInterruptedCopyFinishesWhenRunAgain() throws {
        let dir = try TempDir()
        let source = try Self.populated(dir, "a.sqlite")
        let copy = try Fixture.store(dir, "b.sqlite")
        var batches = 0
        #expect(throws: Stop.self) {
            _ = try RegistryCopy.copy(from: source, to: copy, batchSize: 50) { table, _ in
                batches += 1
                if table == "facts" && batches > 40 { throw Stop() }
            }
        }
        let partial = try copy.database.read { try $0.value("SELECT count(*) FROM facts", as: Int.self) ?? 0 }
        let whole = try source.database.read { try $0.value("SELECT count(*) FROM facts", as: Int.self) ?? 0 }
        #expect(partial > 0 && partial < whole)
        let summary = try RegistryCopy.copy(from: source, to: copy, batchSize: 50)
        #expect(summary.tables.first { $0.table == "facts" }?.rows == whole)
        #expect(summary.tables.first { $0.table == "hosts" }?.copied == 0, "hosts were complete: nothing copied twice")
        #expect(try copy.hosts() == source.hosts())
    }

    @Test func anotherRegistrysRowsAreRefused() throws {
        let dir = try TempDir()
        let source = try Self.populated(dir, "a.sqlite")
        let other = try Fixture.store(dir, "b.sqlite")
        _ = try other.ingest([Fixture.report("elsewhere-1", host: "elsewhere", at: 1)])
        #expect(throws: RegistryCopy.CopyError.self) { _ = try RegistryCopy.copy(from: source, to: other) }
    }
}
