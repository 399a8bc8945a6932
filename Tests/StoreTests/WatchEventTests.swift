import Decoders
import Foundation
import Report
@testable import Store
import Testing
import TestSupport

/// The change stream's events as the store writes them (migrations/sqlite/0016_watch_events.sql):
/// which writes make which events, the facts each carries, staleness sweeps, pruning, and the states a
/// `where=` filter reads before and after each event.
@Suite struct WatchEventTests {
    private func events(_ store: Registry, after: Int64 = 0, states: Bool = false) throws -> [WatchEvent] {
        try store.watchEvents(after: after, limit: 1000, withStates: states).events
    }

    @Test func reportsThatChangeTheCurrentStateAreEventsWithTheirFacts() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0)], receivedAt: Fixture.time(0), writer: nil)
        // The same content later: a heartbeat, not a change.
        _ = try store.ingest([Fixture.report("r2", at: 1)], receivedAt: Fixture.time(1), writer: nil)
        // 1 GiB pages gone and a new kernel: a change.
        let r3 = try store.ingest([Fixture.report("r3", at: 2, kernel: "6.8.0-45-generic", pgsizes: 0x0020_1000)], receivedAt: Fixture.time(2), writer: nil)
        // An older report amends history only: no event.
        _ = try store.ingest([Fixture.report("r0", at: -1, pgsizes: 0x1000)], receivedAt: Fixture.time(2), writer: nil)

        let all = try events(store)
        #expect(all.map(\.kind) == [.changed, .changed])
        #expect(all.map(\.id) == [1, 2])
        let first = try #require(all[0].change)
        #expect(first.kernelBefore == nil && first.kernelAfter == "6.1.0-18-amd64")
        let expected = try Fixture.expectedFacts(Fixture.report("r1", at: 0))
        #expect(first.changes.count == Set(expected.map(\.name)).count)
        #expect(first.changes.allSatisfy { $0.before == nil && $0.after == expected.byName[$0.name] })

        let second = try #require(all[1].change)
        #expect(second.kernelBefore == "6.1.0-18-amd64" && second.kernelAfter == "6.8.0-45-generic")
        let byName = Dictionary(uniqueKeysWithValues: second.changes.map { ($0.name, $0) })
        #expect(byName["vfio.pgsize_1g"]?.before == .bool(true))
        #expect(byName["vfio.pgsize_1g"]?.after == .bool(false))
        // Only what differs is listed.
        #expect(second.changes.allSatisfy { $0.before != $0.after })
        #expect(all[1].revision == r3[0].revision && all[1].revision != nil)
    }

    @Test func staleAndFreshFollowTheCutoffOncePerCrossing() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("a1", host: "a", at: 0), Fixture.report("b1", host: "b", at: 1)], receivedAt: Fixture.time(1), writer: nil)
        let base = try events(store).count
        // Cutoff between a's and b's last-seen: a is stale, b is not.
        #expect(try store.sweepStaleness(cutoff: Fixture.time(0.5), now: Fixture.time(2.5)) == 1)
        #expect(try store.sweepStaleness(cutoff: Fixture.time(0.5), now: Fixture.time(2.6)) == 0)
        var new = try events(store, after: Int64(base))
        #expect(new.map(\.kind) == [.stale] && new.map(\.hostname) == ["a"])
        #expect(new[0].revision == nil && new[0].change == nil)

        // a reports again (same content: a heartbeat), at or past the applied cutoff: fresh.
        _ = try store.ingest([Fixture.report("a2", host: "a", at: 3)], receivedAt: Fixture.time(3), writer: nil)
        new = try events(store, after: Int64(base))
        #expect(new.map(\.kind) == [.stale, .fresh] && new.last?.hostname == "a")

        // Later, both pass a new cutoff: each is stale once.
        #expect(try store.sweepStaleness(cutoff: Fixture.time(10), now: Fixture.time(12)) == 2)
        new = try events(store, after: Int64(base))
        #expect(new.suffix(2).map(\.kind) == [.stale, .stale])
        #expect(Set(new.suffix(2).map(\.hostname)) == ["a", "b"])

        // The bound grew (the cutoff moved back before a's last-seen): a is fresh again, b stays stale.
        #expect(try store.sweepStaleness(cutoff: Fixture.time(2), now: Fixture.time(12)) == 1)
        new = try events(store, after: Int64(base))
        #expect(new.last?.kind == .fresh && new.last?.hostname == "a")
    }

    @Test func aSweepMarksAtMostABatchAndGoesOnNextTime() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let n = Registry.staleSweepBatch + 5
        _ = try store.ingest((0..<n).map { Fixture.report("r\($0)", host: "h\($0)", at: Double($0) / 10_000) }, receivedAt: Fixture.time(1), writer: nil)
        let base = try store.watchEvents(after: 0, limit: 0, withStates: false).head
        #expect(base == Int64(n))
        #expect(try store.sweepStaleness(cutoff: Fixture.time(5), now: Fixture.time(6)) == Registry.staleSweepBatch)
        #expect(try store.sweepStaleness(cutoff: Fixture.time(5), now: Fixture.time(6)) == 5)
        #expect(try store.sweepStaleness(cutoff: Fixture.time(5), now: Fixture.time(6)) == 0)
        let stale = try store.watchEvents(after: base, limit: 10_000, withStates: false).events
        #expect(stale.count == n && Set(stale.map(\.hostname)).count == n && stale.allSatisfy { $0.kind == .stale })
    }

    @Test func retractionsAreEventsWithTheStateTheyPutBack() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0), Fixture.report("r2", at: 1, pgsizes: 0x0020_1000)], receivedAt: Fixture.time(1), writer: nil)
        let base = Int64(try events(store).count)
        _ = try store.retract(reportId: "r2", reason: "bad firmware read", at: Fixture.time(2))
        let new = try events(store, after: base)
        #expect(new.map(\.kind) == [.retracted])
        let change = try #require(new[0].change)
        let pg1g = change.changes.first { $0.name == "vfio.pgsize_1g" }
        #expect(pg1g?.before == .bool(false) && pg1g?.after == .bool(true))
        #expect(new[0].revision != nil)
    }

    @Test func statesBeforeAndAfterEachEventUndoLaterChanges() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let sizes: [UInt64] = [0x4020_1000, 0x0020_1000, 0x4020_1000]
        for (i, size) in sizes.enumerated() {
            _ = try store.ingest([Fixture.report("r\(i)", at: Double(i), pgsizes: size)], receivedAt: Fixture.time(Double(i)), writer: nil)
        }
        // A page holding only the middle event still reads its own before and after, not today's.
        let middle = try store.watchEvents(after: 1, limit: 1, withStates: true).events
        #expect(middle.count == 1)
        #expect(middle[0].before?.facts["vfio.pgsize_1g"] == .bool(true))
        #expect(middle[0].after?.facts["vfio.pgsize_1g"] == .bool(false))
        let all = try events(store, states: true)
        #expect(all.map { $0.after?.facts["vfio.pgsize_1g"] } == [.bool(true), .bool(false), .bool(true)])
        #expect(all[0].before?.facts.isEmpty == true && all[0].before?.kernelRelease == nil)
    }

    @Test func pruningKeepsTheNewestAndSaysWhereTheStreamBegins() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        for i in 0..<6 {
            _ = try store.ingest([Fixture.report("r\(i)", at: Double(i), pgsizes: i % 2 == 0 ? 0x4020_1000 : 0x0020_1000)],
                                 receivedAt: Fixture.time(Double(i)), writer: nil)
        }
        #expect(try store.pruneWatchEvents(before: Fixture.time(-100), keep: 4) == 2)
        let page = try store.watchEvents(after: 0, limit: 100, withStates: false)
        #expect(page.prunedThrough == 2 && page.head == 6 && page.events.map(\.id) == [3, 4, 5, 6])
        // By age: everything before hour 4.5 goes.
        #expect(try store.pruneWatchEvents(before: Fixture.time(4.5), keep: 100) == 3)
        #expect(try store.watchEvents(after: 0, limit: 100, withStates: false).events.map(\.id) == [6])
        // Ids are never reused once the table was emptied.
        #expect(try store.pruneWatchEvents(before: Fixture.time(100), keep: 0) == 1)
        _ = try store.ingest([Fixture.report("r9", at: 9, pgsizes: 0x1000)], receivedAt: Fixture.time(9), writer: nil)
        #expect(try store.watchEvents(after: 0, limit: 100, withStates: false).events.map(\.id) == [7])
    }
}
