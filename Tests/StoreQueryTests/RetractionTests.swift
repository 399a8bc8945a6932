import Decoders
import Foundation
import GRDB
import Query
import Report
@testable import Store
import StoreSQLite
import Testing
import TestSupport
import TestRegistry

/// `retract`: a stored report withdrawn by an admin. History and the current state become those of a
/// registry that never received it; answers at earlier revisions stay as they were.
@Suite struct RetractionTests {
    static let with2M: UInt64 = 0x4020_1000
    static let without2M: UInt64 = 0x4000_1000

    /// A report from year 9999 (a broken clock), as a store takes it when no clock bound applies.
    static func farFuture(_ id: String, host: String = "h1", pgsizes: UInt64) -> Report {
        var report = Fleet.report(id, host: host, at: 0, kernel: "9.9.9-bad", pgsizes: pgsizes, labels: ["rack": "bad"])
        report.collectedAt = Date(timeIntervalSince1970: 253_370_764_800)  // 9999-01-01T00:00:00Z
        return report
    }

    func hosts(_ store: Registry, _ query: String, _ reference: QueryReference = .now) throws -> [String] {
        try store.answer(HostQueryRequest(try QueryParser.parse(query), reference: reference, limit: 100)).matches.hosts.map(\.hostname)
    }

    @Test func aFarFutureReportFreezesTheHostUntilRetracted() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        _ = try store.ingest([Fleet.report("first", host: "h1", at: 0, kernel: "6.1.0-18-amd64", pgsizes: Self.with2M, labels: ["rack": "r1"])])
        _ = try store.ingest([Self.farFuture("y9999", pgsizes: Self.without2M)])
        // A normal later report cannot win: the host is frozen on the far-future one.
        let later = Fleet.report("later", host: "h1", at: 1, kernel: "6.1.0-20-amd64", pgsizes: Self.with2M, labels: ["rack": "r2"])
        #expect(try store.ingest([later]).first?.outcome == .history)
        #expect(try store.currentState(hostname: "h1")?.kernelRelease == "9.9.9-bad")
        #expect(try hosts(store, "vfio.pgsize_2m") == [])
        let before = try store.answer(HostQueryRequest(nil, limit: 1)).revision

        let outcome = try store.retract(reportId: "y9999", reason: "clock in year 9999")
        guard case .retracted(let r) = outcome else { Issue.record("not retracted: \(outcome)"); return }
        #expect(r.revision == before + 1)
        #expect(r.hostname == "h1" && r.reason == "clock in year 9999")

        // The later report is the current state now: facts, kernel, labels, last seen.
        let state = try #require(try store.currentState(hostname: "h1"))
        #expect(state.kernelRelease == "6.1.0-20-amd64")
        #expect(state.labels == ["rack": "r2"])
        #expect(state.lastSeen == Fleet.time(1))
        let never = try TestRegistry.open(dir.path("never.sqlite"))
        _ = try never.ingest([Fleet.report("first", host: "h1", at: 0, kernel: "6.1.0-18-amd64", pgsizes: Self.with2M), later])
        #expect(state.facts == (try never.currentState(hostname: "h1")?.facts))
        #expect(try hosts(store, "vfio.pgsize_2m") == ["h1"])
        #expect(try hosts(store, #"label.rack = "r2""#, .time(Fleet.time(5))) == ["h1"])

        // Earlier revisions answer as before: the far-future report in force, its facts and kernel.
        #expect(try hosts(store, "vfio.pgsize_2m", .revision(before)) == [])
        #expect(try hosts(store, "not vfio.pgsize_2m", .revision(before)) == ["h1"])
        let then = try store.answer(HostQueryRequest(nil, reference: .revision(before), fields: [], limit: 10)).matches.hosts
        #expect(then.map(\.kernelRelease) == ["9.9.9-bad"])
        #expect(then.map(\.labels) == [["rack": "bad"]])

        // History: no version from the retracted report; it is listed as retracted.
        let page = try #require(try store.historyPage(hostname: "h1", after: nil, limit: 100))
        #expect(page.versions.map(\.kernelRelease) == ["6.1.0-18-amd64", "6.1.0-20-amd64"])
        #expect(page.versions.last?.validTo == nil)
        #expect(page.retractions.map(\.reportId) == ["y9999"])
        #expect(page.retractions.first?.revision == r.revision)

        // Sent again it is a duplicate that stays retracted.
        let again = try #require(try store.ingest([Self.farFuture("y9999", pgsizes: Self.without2M)]).first)
        #expect(again.duplicate && again.retracted)
        #expect(try store.currentState(hostname: "h1")?.kernelRelease == "6.1.0-20-amd64")

        // Retracting twice writes nothing.
        let revision = try store.answer(HostQueryRequest(nil, limit: 1)).revision
        #expect(try store.retract(reportId: "y9999", reason: "again") == .alreadyRetracted(r))
        #expect(try store.answer(HostQueryRequest(nil, limit: 1)).revision == revision)

        // The host's next report is newest again.
        let next = Fleet.report("next", host: "h1", at: 2, kernel: "6.1.0-21-amd64", pgsizes: Self.without2M)
        #expect(try store.ingest([next]).first?.outcome == .changed)
        #expect(try store.currentState(hostname: "h1")?.kernelRelease == "6.1.0-21-amd64")
        #expect(try store.foreignKeyViolations() == [])
    }

    @Test func unknownOnlyAndBadReasonAreRefused() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("r.sqlite"))
        _ = try store.ingest([Fleet.report("only", host: "h1", at: 0, kernel: "6.1.0-18-amd64")])
        #expect(throws: RetractError.unknownReport("nope")) { try store.retract(reportId: "nope", reason: "x") }
        #expect(throws: RetractError.onlyReport(reportId: "only", hostname: "h1")) { try store.retract(reportId: "only", reason: "x") }
        #expect(throws: RetractError.self) { try store.retract(reportId: "only", reason: "  ") }
        #expect(throws: RetractError.self) { try store.retract(reportId: "only", reason: String(repeating: "x", count: 1001)) }
        #expect(try store.answer(HostQueryRequest(nil, limit: 1)).revision == 1)
    }

    /// A registry made before migrations/0008 keeps its revisions when the table is rebuilt, and takes retractions.
    @Test func migrationKeepsRevisionsOfAnOlderRegistry() throws {
        let dir = try TempDir()
        let path = dir.path("old.sqlite")
        do {
            // With 0014 and 0016, whose hosts.label_print, hosts.stale_since and watch_events today's ingest reads and writes
            // (no later migration rebuilds hosts). One kernel: a kernel move makes today's ingest rewrite the host's
            // moves (0019), which reads the retractions this schema does not have yet.
            let old = try Registry.sqlite(path: path, migrations: Migration.sqlite.filter {
                $0.name < "0008" || $0.name.hasPrefix("0014_") || $0.name.hasPrefix("0016_")
            })
            _ = try old.ingest([Fleet.report("a", host: "h1", at: 0, kernel: "6.1.0-1", labels: ["n": "a"]),
                                Fleet.report("b", host: "h1", at: 1, kernel: "6.1.0-1", labels: ["n": "b"])])
        }
        let store = try Registry.sqlite(path: path)
        #expect(try store.answer(HostQueryRequest(nil, limit: 1)).revision == 2)
        guard case .retracted(let r) = try store.retract(reportId: "b", reason: "test") else { Issue.record("not retracted"); return }
        #expect(r.revision == 3)
        #expect(try store.currentState(hostname: "h1")?.labels == ["n": "a"])
        #expect(try store.foreignKeyViolations() == [])
    }

    /// Retracting any one report leaves the history, current state and answers of a registry that never
    /// received it: reports of alternating and repeated content, so spans merge and split around it.
    @Test func retractingEqualsNeverReceiving() throws {
        let sizes = [Self.with2M, Self.without2M, Self.without2M, Self.with2M, Self.with2M]
        let kernels = ["6.1.0-1", "6.1.0-2", "6.1.0-2", "6.1.0-3", "6.1.0-3"]
        let order = [2, 0, 4, 1, 3]  // arrival order: out of order on purpose
        func reports(without: Int?) -> [Report] {
            order.filter { $0 != without }.map { i in
                Fleet.report("r\(i)", host: "h1", at: Double(i), kernel: kernels[i], pgsizes: sizes[i], labels: ["n": "\(i)"])
            }
        }
        for gone in sizes.indices {
            let dir = try TempDir()
            let retracted = try TestRegistry.open(dir.path("a.sqlite"))
            for r in reports(without: nil) { _ = try retracted.ingest([r]) }
            guard case .retracted = try retracted.retract(reportId: "r\(gone)", reason: "test") else {
                Issue.record("r\(gone) not retracted")
                continue
            }
            // A redecode reads every stored payload again: the retracted one must not come back.
            _ = try retracted.redecode(all: true)
            let never = try TestRegistry.open(dir.path("b.sqlite"))
            for r in reports(without: gone) { _ = try never.ingest([r]) }
            #expect(try retracted.hostDetail(hostname: "h1")?.capabilities == never.hostDetail(hostname: "h1")?.capabilities, "retracting r\(gone)")
            #expect(try retracted.history(hostname: "h1") == never.history(hostname: "h1"), "retracting r\(gone)")
            #expect(try retracted.currentState(hostname: "h1") == never.currentState(hostname: "h1"), "retracting r\(gone)")
            for hour in [-1.0, 0, 0.5, 1, 2, 3, 4, 9] {
                #expect(try hosts(retracted, "vfio.pgsize_2m", .time(Fleet.time(hour))) == hosts(never, "vfio.pgsize_2m", .time(Fleet.time(hour))),
                        "retracting r\(gone), at hour \(hour)")
            }
            #expect(try retracted.foreignKeyViolations() == [])
        }
    }
}

extension Registry {
}
