import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
@testable import Synthetic
import TestRegistry

/// Unchanged reports kept as heartbeats (migrations/sqlite/0012): no reports row, no revision, the same
/// answers as when every report was a row.
@Suite struct HeartbeatTests {
    func ms(_ hours: Double) -> Int64 { StoreTime.ms(Fleet.time(hours)) }

    @Test func anUnchangedReportIsAHeartbeat() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        let first = try store.ingest([Fleet.report("a", host: "h1", at: 0, kernel: "6.1.0-1")])[0]
        let beat = try store.ingest([Fleet.report("b", host: "h1", at: 1, kernel: "6.1.0-1")])[0]
        #expect(beat.heartbeat && beat.outcome == .unchanged && !beat.duplicate)
        #expect(beat.revision == first.revision, "a heartbeat makes no revision: it answers the one it confirmed")
        #expect(try store.reportCount() == 1)
        #expect(try store.heartbeatCounts() == (1, 1))
        #expect(try store.currentState(hostname: "h1")?.lastSeen == Fleet.time(1))
        // At the same time again (another id): nothing new, nothing written.
        let again = try store.ingest([Fleet.report("c", host: "h1", at: 1, kernel: "6.1.0-1")])[0]
        #expect(again.heartbeat && again.revision == first.revision)
        #expect(try store.heartbeatCounts() == (1, 1))
        // Anything else a reports row records (labels, the writer) keeps the report as a row.
        let relabelled = try store.ingest([Fleet.report("d", host: "h1", at: 2, kernel: "6.1.0-1", labels: ["rack": "r2"])])[0]
        #expect(!relabelled.heartbeat && relabelled.outcome == .unchanged && relabelled.revision == first.revision! + 1)
        let other = try Writer(identity: "cred:00000000000000aa", peer: "192.0.2.1")
        let written = try store.ingest([Fleet.report("e", host: "h1", at: 3, kernel: "6.1.0-1", labels: ["rack": "r2"])], writer: other)[0]
        #expect(!written.heartbeat)
        let sameWriter = try store.ingest([Fleet.report("f", host: "h1", at: 4, kernel: "6.1.0-1", labels: ["rack": "r2"])], writer: other)[0]
        #expect(sameWriter.heartbeat)
        #expect(try store.reportCount() == 3)
        // Collected after it was received (a clock ahead): a row, so that it can be retracted by its id.
        let ahead = try store.ingest([Fleet.report("g", host: "h1", at: 5, kernel: "6.1.0-1", labels: ["rack": "r2"])],
                                     receivedAt: Fleet.time(4.5), writer: other)[0]
        #expect(!ahead.heartbeat && ahead.outcome == .unchanged)
        #expect(try store.reportCount() == 4)
        #expect(try store.foreignKeyViolations() == [])
    }

    /// Many heartbeats fill rows of 64 and stay in time order; as-of answers see the newest one at or
    /// before T.
    @Test func rowsFillAndAsOfSeesTheNewestHeartbeat() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        let reports = (0..<150).map { Fleet.report("r\($0)", host: "h1", at: Double($0), kernel: "6.1.0-1") }
        _ = try store.ingest(reports)
        #expect(try store.reportCount() == 1)
        #expect(try store.heartbeatCounts() == (3, 149))
        for hours in [0.5, 63.5, 64.0, 64.2, 100.9, 149.0, 500.0] {
            let answer = try store.answer(HostQueryRequest(nil, reference: .time(Fleet.time(hours)), limit: 10))
            #expect(answer.matches.hosts.first?.reportedAt == Fleet.time(min(149, hours.rounded(.down))), "as of \(hours) h")
        }
        // The SQL function and the Swift search agree (the as-of answers above used the function).
        let times = (0..<64).map { ms(Double($0) * 0.25) }
        let blob = Heartbeats.blob(firstAt: times[0], times)
        for t in stride(from: times[0] - 1000, through: times[63] + 1000, by: 450_000) {
            let want = times.last { $0 <= t }
            #expect(Heartbeats.lastBeat(firstAt: times[0], blob, atOrBefore: t) == want)
            let sql = try store.database.read { db in
                try db.value("SELECT capreg_last_beat(?, ?, ?)", [times[0], blob, t], as: Int64?.self) ?? nil
            }
            #expect(sql == want, "capreg_last_beat at \(t)")
        }
    }

    /// A late report among heartbeats ends at the next one, which becomes a reports row: the state it
    /// confirms holds again from there.
    @Test func aLateReportEndsAtTheNextHeartbeat() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        let a = (0...3).map { Fleet.report("a\($0)", host: "h1", at: Double($0), kernel: "6.1.0-1") }
        _ = try store.ingest(a)
        #expect(try store.reportCount() == 1)
        let late = try store.ingest([Fleet.report("b", host: "h1", at: 1.5, kernel: "6.1.0-2")])[0]
        #expect(late.outcome == .history)
        #expect(try store.reportCount() == 3, "a0, b, and the heartbeat at 2 h kept as a report")
        func kernel(_ hours: Double) throws -> String? { try store.factsAsOf(Fleet.time(hours), hostname: "h1").first?.kernelRelease }
        #expect(try kernel(1.2) == "6.1.0-1")
        #expect(try kernel(1.7) == "6.1.0-2")
        #expect(try kernel(2.5) == "6.1.0-1")
        #expect(try store.currentState(hostname: "h1")?.kernelRelease == "6.1.0-1")
        #expect(try store.currentState(hostname: "h1")?.lastSeen == Fleet.time(3))
        // The same reports in time order give the same history.
        let ordered = try TestRegistry.open(dir.path("o.sqlite"))
        _ = try ordered.ingest([a[0], a[1], Fleet.report("b", host: "h1", at: 1.5, kernel: "6.1.0-2"), a[2], a[3]])
        #expect(try store.history(hostname: "h1").map { [$0.validFrom, $0.validTo] as [Date?] }
                == ordered.history(hostname: "h1").map { [$0.validFrom, $0.validTo] as [Date?] })
        for hours in stride(from: 0.0, through: 4, by: 0.25) {
            #expect(try store.factsAsOf(Fleet.time(hours)) == ordered.factsAsOf(Fleet.time(hours)), "as of \(hours) h")
        }
        // A redecode reads the kept heartbeat's payload at its own place: nothing changes.
        #expect(try store.redecode(all: true).changed == 0)
        #expect(try store.foreignKeyViolations() == [])
    }

    /// Retracting a report withdraws its heartbeats, those kept as reports included; such a row cannot
    /// be retracted on its own.
    @Test func retractingAReportWithdrawsItsHeartbeats() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        _ = try store.ingest([Fleet.report("p", host: "h1", at: 0, kernel: "6.1.0-0")]
                             + (1...4).map { Fleet.report("a\($0)", host: "h1", at: Double($0), kernel: "6.1.0-1") })
        _ = try store.ingest([Fleet.report("b", host: "h1", at: 2.5, kernel: "6.1.0-2")])
        let kept = try #require(try store.database.read { db in
            try db.value("SELECT report_id FROM reports WHERE outcome = 'heartbeat'", as: String.self)
        })
        #expect(kept.hasPrefix("\u{1F}"))
        #expect(throws: RetractError.heartbeat(reportId: kept, confirms: "a1")) { try store.retract(reportId: kept, reason: "test") }
        guard case .retracted = try store.retract(reportId: "a1", reason: "test") else { Issue.record("not retracted"); return }
        // As if a1 and the reports it repeated had never come: p until b, then b.
        let never = try TestRegistry.open(dir.path("n.sqlite"))
        _ = try never.ingest([Fleet.report("p", host: "h1", at: 0, kernel: "6.1.0-0"), Fleet.report("b", host: "h1", at: 2.5, kernel: "6.1.0-2")])
        for hours in stride(from: 0.0, through: 5, by: 0.25) {
            #expect(try store.factsAsOf(Fleet.time(hours)) == never.factsAsOf(Fleet.time(hours)), "as of \(hours) h")
        }
        #expect(try store.currentState(hostname: "h1") == never.currentState(hostname: "h1"))
        #expect(try store.currentState(hostname: "h1")?.lastSeen == Fleet.time(2.5))
        #expect(try store.heartbeatCounts().rows == 0)
        #expect(try store.foreignKeyViolations() == [])
    }

    /// A fleet arriving shuffled (late reports among heartbeats) answers as the same fleet arriving in
    /// time order: facts and last-seen times as of any time, and now.
    @Test(arguments: [UInt64(3), 4])
    func shuffledArrivalEqualsTimeOrder(seed: UInt64) throws {
        let dir = try TempDir()
        var reports: [Report] = []
        let fleet = SyntheticFleet(hosts: 12, days: 5, seed: seed)
        fleet.forEachReport { reports.append($0) }
        reports.sort { ($0.collectedAt, $0.reportId) < ($1.collectedAt, $1.reportId) }
        let ordered = try TestRegistry.open(dir.path("o.sqlite"))
        let results = try ordered.ingest(reports)
        #expect(results.filter(\.heartbeat).count > reports.count / 3, "the synthetic fleet repeats itself")
        var dice = Dice(state: seed)
        var shuffled = reports
        for i in shuffled.indices where dice.chance(30) { shuffled.swapAt(i, dice.below(shuffled.count)) }
        let mixed = try TestRegistry.open(dir.path("m.sqlite"))
        _ = try mixed.ingest(shuffled)
        for hours in stride(from: 0.0, through: 5 * 24 + 2, by: 7.3) {
            let t = fleet.start.addingTimeInterval(hours * 3600)
            #expect(try mixed.factsAsOf(t) == ordered.factsAsOf(t), "as of \(hours) h")
            let seen = { (r: Registry) in try r.answer(HostQueryRequest(nil, reference: .time(t), limit: 100)).matches.hosts.map { [$0.hostname, "\($0.reportedAt)"] } }
            #expect(try seen(mixed) == seen(ordered), "last seen as of \(hours) h")
        }
        #expect(try mixed.hosts() == ordered.hosts())
        #expect(try mixed.redecode(all: true).changed == 0)
        #expect(try mixed.foreignKeyViolations() == [])
    }

    /// Pruning heartbeats deletes their rows only: facts, reports and last_seen stay.
    @Test func pruningKeepsFactsAndLastSeen() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        _ = try store.ingest((0..<100).map { Fleet.report("r\($0)", host: "h1", at: Double($0), kernel: $0 == 50 ? "6.1.0-2" : "6.1.0-1") })
        let history = try store.history(hostname: "h1")
        let before = try store.heartbeatCounts()
        #expect(try store.pruneHeartbeats(olderThan: Fleet.time(60)) >= 1)
        let after = try store.heartbeatCounts()
        #expect(after.rows < before.rows && after.heartbeats < before.heartbeats && after.heartbeats > 0)
        #expect(try store.history(hostname: "h1") == history)
        #expect(try store.currentState(hostname: "h1")?.lastSeen == Fleet.time(99))
        #expect(try store.foreignKeyViolations() == [])
    }
}
