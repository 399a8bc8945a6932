import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StorePostgres
import StoreSQLite
@testable import Synthetic

/// The same history stored on SQLite and on PostgreSQL gives the same answers: every ingest outcome and
/// revision, every host's current state and history, the fleet as of times, the change feed, kernel
/// counts, and random questions now, as of times and as of revisions (with explain lists and totals).
@Suite(.enabled(if: PostgresCluster.usable)) struct BackendEqualityTests {
    @Test func sqliteAndPostgresAnswerAlike() throws {
        let dir = try TempDir()
        let sqlite = try Registry.sqlite(path: dir.path("a.sqlite"))
        let postgres = Registry(try PostgresDatabase(url: PostgresCluster.freshDatabase()))
        let fleet = SyntheticFleet(hosts: 24, days: 8, seed: 21)
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        // Some arrive late (out of order): history is amended, not only appended.
        var dice = Dice(state: 21)
        for _ in 0..<(reports.count / 6) {
            let i = dice.below(reports.count), j = dice.below(reports.count)
            reports.swapAt(i, j)
        }
        let received = Date(timeIntervalSince1970: 1_760_000_000)
        var outcomes: [[IngestResult]] = []
        for registry in [sqlite, postgres] {
            var results: [IngestResult] = []
            for start in stride(from: 0, to: reports.count, by: 50) {
                results += try registry.ingest(Array(reports[start..<min(start + 50, reports.count)]), receivedAt: received)
            }
            outcomes.append(results)
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(Set(outcomes[0].map(\.outcome)).isSuperset(of: [.created, .changed, .unchanged, .history]), "the history covers every outcome")
        let retracted = try #require(outcomes[0].first { $0.outcome == .history })
        for registry in [sqlite, postgres] { _ = try registry.retract(reportId: retracted.reportId, reason: "equality test", at: received) }

        #expect(try sqlite.currentRevision() == postgres.currentRevision())
        let hosts = try sqlite.hosts()
        #expect(try postgres.hosts() == hosts)
        for host in hosts {
            #expect(try postgres.history(hostname: host.hostname) == sqlite.history(hostname: host.hostname), "\(host.hostname)")
        }
        let times = (0...8).map { fleet.start.addingTimeInterval(Double($0) * 86_400 + 3_600) }
        for t in times {
            #expect(try postgres.factsAsOf(t) == sqlite.factsAsOf(t), "as of \(t)")
        }
        for (from, to) in zip(times, times.dropFirst(3)) {
            #expect(try postgres.changes(from: from, to: to) == sqlite.changes(from: from, to: to))
        }
        #expect(try postgres.kernelSummaries(after: nil, limit: 1000).rows.map(\.summary) == sqlite.kernelSummaries(after: nil, limit: 1000).rows.map(\.summary))

        let revision = try sqlite.currentRevision()
        let references: [QueryReference] = [.now, .time(times[3]), .time(times[7]), .revision(revision / 3), .revision(revision - 1)]
        var expressions = RandomExpressions(seed: 22, hosts: hosts)
        let now = times.last!
        for i in 0..<60 {
            let text = expressions.expression()
            let expr = try QueryParser.parse(text)
            let reference = references[i % references.count]
            let request = HostQueryRequest(expr, reference: reference, limit: 7, freshWithin: i % 2 == 0 ? 2 * 86_400 : nil,
                                           notMatching: i % 3 == 0, totals: true)
            let a = try sqlite.answer(request, now: now), b = try postgres.answer(request, now: now)
            #expect(a.revision == b.revision && a.matches == b.matches && a.matchTotal == b.matchTotal && a.stale == b.stale
                    && a.staleTotal == b.staleTotal && a.notMatching == b.notMatching && a.notMatchingTotal == b.notMatchingTotal,
                    "\(text) at \(reference)")
        }
    }
}

/// capreg copy-store across backends: SQLite to PostgreSQL and back gives the registry it started from.
@Suite(.enabled(if: PostgresCluster.usable)) struct CrossBackendCopyTests {
    @Test func sqliteToPostgresAndBack() throws {
        let dir = try TempDir()
        let original = try Registry.sqlite(path: dir.path("a.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 15, days: 5, seed: 31).forEachReport { reports.append($0) }
        _ = try original.ingest(reports, writer: try Writer(identity: "cred:00000000000000ab", peer: "10.1.2.3"))
        _ = try original.issueCredential(role: .reader, binding: nil, expiresIn: nil)
        let postgres = Registry(try PostgresDatabase(url: PostgresCluster.freshDatabase()))
        let there = try RegistryCopy.copy(from: original, to: postgres, batchSize: 64)
        let back = try Registry.sqlite(path: dir.path("b.sqlite"))
        let again = try RegistryCopy.copy(from: postgres, to: back, batchSize: 64)
        // The per-table checksums are the same on all three: the same rows, value for value.
        #expect(there.tables.map(\.checksum) == again.tables.map(\.checksum))
        #expect(try back.hosts() == original.hosts())
        #expect(try postgres.hosts() == original.hosts())
        let host = try #require(original.hosts().first?.hostname)
        #expect(try postgres.history(hostname: host) == original.history(hostname: host))
        #expect(try postgres.credentials() == original.credentials())
        // PostgreSQL numbers new rows after the copied ones.
        var more: [Report] = []
        SyntheticFleet(hosts: 2, days: 1, seed: 32).forEachReport { more.append($0) }
        let added = try postgres.ingest(more).filter { !$0.heartbeat }
        #expect(!added.isEmpty && added.allSatisfy { ($0.revision ?? 0) > there.revision })
        #expect(try postgres.database.read { db in try db.value("SELECT min(id) FROM revisions WHERE id > ?", [there.revision], as: Int64.self) }
                == there.revision + 1)
    }
}
