import Decoders
import Foundation
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite

@Suite struct IngestTests {
    @Test func firstReportCreatesHostWithDecodedFacts() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let report = Fixture.report("r1", at: 0, labels: ["rack": "r7"])
        let result = try #require(try store.ingest([report]).first)
        #expect(result.outcome == .created)
        #expect(result.duplicate == false)
        let state = try #require(try store.currentState(hostname: "h1"))
        let expected = try Fixture.expectedFacts(report)
        #expect(!expected.isEmpty)
        #expect(state.facts == expected)
        #expect(state.labels == ["rack": "r7"])
        #expect(state.kernelRelease == "6.1.0-18-amd64")
        #expect(state.machineId == "m-h1")
        #expect(try store.count("SELECT count(*) FROM facts") == expected.count)
        #expect(try store.count("SELECT count(*) FROM capability_versions") == 4, "vfio-info and three chain capabilities")
        #expect(try store.currentState(hostname: "nobody") == nil)
    }

    /// A host's labels as its reports change them: the print in its row and its host_labels rows agree
    /// with the newest report's labels (several, one, none, back again), and each distinct set is stored
    /// once with its entries.
    @Test func labelRowsFollowTheNewestReport() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let steps: [[String: String]] = [["rack": "r7", "pool": "db", "zone": "a"], ["rack": "r7", "pool": "db", "zone": "a"],
                                         ["rack": "r8"], [:], ["pool": "web", "rack": "r9"], ["rack": "r8"]]
        for (i, labels) in steps.enumerated() {
            _ = try store.ingest([Fixture.report("r\(i)", at: Double(i), labels: labels)])
            let rows = try store.database.read { db in
                try db.rows("SELECT h.label_print, l.key, l.value FROM hosts h LEFT JOIN host_labels l ON l.host_id = h.id ORDER BY l.key", [])
            }
            #expect(rows.compactMap { $0[1] as String? }.count == labels.count, "step \(i)")
            let stored = Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row[1] as String?).map { ($0, row[2] as String) } })
            #expect(stored == labels, "step \(i)")
            #expect(rows.allSatisfy { ($0[0] as String) == LabelPrint.of(labels) }, "step \(i)")
            #expect(try store.currentState(hostname: "h1")?.labels == labels, "step \(i)")
        }
        // A late report with other labels: history, the host's labels stay the newest report's.
        _ = try store.ingest([Fixture.report("late", at: -1, labels: ["rack": "old"])])
        #expect(try store.currentState(hostname: "h1")?.labels == steps.last)
        let sets = steps + [["rack": "old"]]
        let distinct = Set(sets.map(LabelPrint.of))
        #expect(try store.count("SELECT count(*) FROM label_sets") == distinct.count)
        #expect(try store.count("SELECT count(*) FROM label_set_entries") == sets.reduce(into: [String: Int]()) { $0[LabelPrint.of($1)] = $1.count }.values.reduce(0, +))
        // Each report points at the set of its own labels (one with the current report's labels takes its set unlooked-up).
        let pointed = try store.database.read { db in
            try db.rows("SELECT r.report_id, s.print FROM reports r JOIN label_sets s ON s.id = r.label_set_id", [])
        }
        // r1 repeats r0 exactly: a heartbeat, not a reports row.
        #expect(Set(pointed.map { $0[0] as String }) == ["r0", "r2", "r3", "r4", "r5", "late"])
        for row in pointed {
            let id = row[0] as String
            let labels = id == "late" ? ["rack": "old"] : steps[Int(id.dropFirst())!]
            #expect(row[1] as String == LabelPrint.of(labels), "\(id)")
        }
    }

    @Test func sameContentOnlyMovesLastSeen() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0)])
        let rows = try store.count("SELECT count(*) FROM facts")
        let result = try store.ingest([Fixture.report("r2", at: 5)])
        #expect(result.map(\.outcome) == [.unchanged])
        #expect(try store.count("SELECT count(*) FROM facts") == rows)
        #expect(try store.count("SELECT count(*) FROM capability_versions") == 4)
        #expect(try store.count("SELECT count(*) FROM facts WHERE valid_to < ?", [Int64.max]) == 0, "nothing closed")
        let state = try #require(try store.currentState(hostname: "h1"))
        #expect(state.lastSeen == Fixture.time(5))
        #expect(state.firstSeen == Fixture.time(0))
        #expect(try store.history(hostname: "h1").count == 1)
    }

    @Test func changedReportClosesOnlyChangedFacts() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0, pgsizes: 0x4020_1000)])
        let before = try store.count("SELECT count(*) FROM facts")
        // Dropping 1 GiB pages changes vfio.iova_pgsizes and vfio.pgsize_1g only.
        let result = try #require(try store.ingest([Fixture.report("r2", at: 5, pgsizes: 0x20_1000)]).first)
        #expect(result.outcome == .changed)
        #expect(result.factsClosed == 2)
        #expect(result.factsOpened == 2)
        #expect(try store.count("SELECT count(*) FROM facts") == before + 2)
        #expect(try store.count("SELECT count(*) FROM facts WHERE name = 'vfio.pgsize_2m'") == 1, "an unchanged fact stays one row")
        let closed = try store.count("SELECT count(*) FROM facts WHERE name = 'vfio.pgsize_1g' AND valid_to = ?",
                                     [StoreTime.ms(Fixture.time(5))])
        #expect(closed == 1, "closed at the changed report's time")
        let now = try #require(try store.currentState(hostname: "h1")).facts.byName
        #expect(now["vfio.pgsize_1g"] == .bool(false))
        #expect(now["vfio.pgsize_2m"] == .bool(true))
        #expect(try store.history(hostname: "h1").count == 2)
    }

    @Test func lostFactDisappearsFromCurrentState() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0, dmaAvail: true), Fixture.report("r2", at: 1, dmaAvail: false)])
        let now = try #require(try store.currentState(hostname: "h1")).facts.byName
        #expect(now["vfio.dma_avail"] == nil)
        #expect(try store.count("SELECT count(*) FROM current_facts WHERE name = 'vfio.dma_avail'") == 0)
        #expect(try store.factsAsOf(Fixture.time(0.5), hostname: "h1").first?.facts.byName["vfio.dma_avail"] != nil)
    }

    @Test func repeatedReportIdIsANoOpReturningTheOriginalOutcome() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let first = try store.ingest([Fixture.report("r1", at: 0), Fixture.report("r2", at: 5, pgsizes: 0x1000)])
        let rows = try store.count("SELECT count(*) FROM facts")
        // Same ids again, even with different content and in the same batch twice: nothing is written.
        let again = try store.ingest([Fixture.report("r2", at: 9, pgsizes: 0x4000_1000), Fixture.report("r1", at: 0),
                                      Fixture.report("r1", at: 0)])
        #expect(again.map(\.duplicate) == [true, true, true])
        #expect(again.map(\.outcome) == [first[1].outcome, first[0].outcome, first[0].outcome])
        #expect(again[0].factsOpened == first[1].factsOpened)
        #expect(try store.count("SELECT count(*) FROM facts") == rows)
        #expect(try store.count("SELECT count(*) FROM reports") == 2)
        #expect(try store.currentState(hostname: "h1")?.lastSeen == Fixture.time(5))
    }

    @Test func olderReportLandsInHistoryWithoutTouchingCurrentState() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let a = Fixture.report("a", at: 0, pgsizes: 0x4020_1000)
        let c = Fixture.report("c", at: 10, kernel: "6.12.9-amd64", pgsizes: 0x4020_1000)
        let b = Fixture.report("b", at: 5, kernel: "6.8.0-45-generic", pgsizes: 0x1000)
        _ = try store.ingest([a, c])
        let current = try store.currentState(hostname: "h1")
        let result = try #require(try store.ingest([b]).first)
        #expect(result.outcome == .history)
        #expect(try store.currentState(hostname: "h1") == current, "the newest report still defines now")
        #expect(try store.factsAsOf(Fixture.time(1), hostname: "h1").first?.facts == Fixture.expectedFacts(a))
        let atB = try #require(try store.factsAsOf(Fixture.time(6), hostname: "h1").first)
        #expect(atB.facts == (try Fixture.expectedFacts(b)))
        #expect(atB.kernelRelease == "6.8.0-45-generic")
        #expect(try store.factsAsOf(Fixture.time(11), hostname: "h1").first?.facts == Fixture.expectedFacts(c))
        #expect(try store.factsAsOf(Fixture.time(-1), hostname: "h1").isEmpty, "before the first report the host is unknown")
        // vfio.pgsize_2m: true, false (b), true again (c): split into three rows.
        #expect(try store.count("SELECT count(*) FROM facts WHERE name = 'vfio.pgsize_2m'") == 3)
        #expect(try store.history(hostname: "h1").map(\.kernelRelease) == ["6.1.0-18-amd64", "6.8.0-45-generic", "6.12.9-amd64"])
    }

    @Test func olderReportEqualToItsNeighboursChangesNothing() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("a", at: 0), Fixture.report("c", at: 10)])
        let rows = try store.count("SELECT count(*) FROM facts")
        let result = try store.ingest([Fixture.report("b", at: 5)])
        #expect(result.map(\.outcome) == [.unchanged])
        #expect(try store.count("SELECT count(*) FROM facts") == rows)
        #expect(try store.currentState(hostname: "h1")?.firstSeen == Fixture.time(0))
        // Older than every report: first seen moves back.
        _ = try store.ingest([Fixture.report("z", at: -5)])
        #expect(try store.currentState(hostname: "h1")?.firstSeen == Fixture.time(-5))
        #expect(try store.count("SELECT count(*) FROM facts") == rows, "equal content extends the rows back")
    }

    @Test func undecodableReportIsRejectedAndNotStored() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        var bad = Fixture.report("bad", at: 0)
        bad.sources = [Report.Source(kind: .vfio, unit: "vfio-group-1", raw: [1, 2, 3])]
        let results = try store.ingest([bad, Fixture.report("good", at: 1)])
        #expect(results.map(\.outcome) == [.rejected, .created])
        #expect(results[0].error?.contains("vfio-group-1") == true)
        #expect(try store.count("SELECT count(*) FROM reports") == 1)
    }

    /// All or nothing (POST /v1/reports): one undecodable report refuses the whole request, naming it.
    @Test func allOrNothingWritesNoneWhenOneIsUndecodable() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        var bad = Fixture.report("bad", host: "h2", at: 0)
        bad.sources = [Report.Source(kind: .vfio, unit: "vfio-group-7", raw: [1, 2, 3])]
        do {
            _ = try store.ingestAllOrNothing([Fixture.report("good", at: 1), bad, Fixture.report("later", at: 2)])
            Issue.record("an undecodable report must refuse the request")
        } catch let refusal as UndecodableReport {
            #expect(refusal.index == 1 && refusal.reportId == "bad")
            guard case .decode(let unit, _, let error) = refusal.error else { Issue.record("\(refusal.error)"); return }
            #expect(unit == "vfio-group-7" && error.offset >= 0)
        }
        #expect(try store.count("SELECT count(*) FROM reports") == 0)
        #expect(try store.count("SELECT count(*) FROM hosts") == 0)
        let results = try store.ingestAllOrNothing([Fixture.report("good", at: 1), Fixture.report("later", at: 2)])
        #expect(results.map(\.outcome) == [.created, .unchanged])
    }
}
