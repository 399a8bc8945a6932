import Decoders
import Foundation
import GRDB
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic

@Suite struct QueryTests {
    /// h1 changes at 10h (kernel upgrade, no more 1 GiB pages), h2 never changes, h3 joins at 5h.
    func fleet(_ dir: TempDir) throws -> Registry {
        let store = try Fixture.store(dir)
        _ = try store.ingest([
            Fixture.report("h1-a", host: "h1", at: 0),
            Fixture.report("h2-a", host: "h2", at: 0),
            Fixture.report("h3-a", host: "h3", at: 5, dmaAvail: false),
            Fixture.report("h1-b", host: "h1", at: 10, kernel: "6.8.0-45-generic", pgsizes: 0x20_1000),
            Fixture.report("h2-b", host: "h2", at: 10),
        ])
        return store
    }

    @Test func fleetAsOfHoldsOnlyHostsKnownThen() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let early = try store.factsAsOf(Fixture.time(3))
        #expect(early.map(\.hostname) == ["h1", "h2"])
        #expect(early[0].facts == (try Fixture.expectedFacts(Fixture.report("x", at: 0))))
        #expect(early[0].kernelRelease == "6.1.0-18-amd64")
        let late = try store.factsAsOf(Fixture.time(11))
        #expect(late.map(\.hostname) == ["h1", "h2", "h3"])
        #expect(late[0].facts.byName["vfio.pgsize_1g"] == .bool(false))
        #expect(late[0].kernelRelease == "6.8.0-45-generic")
        #expect(late[2].facts.byName["vfio.dma_avail"] == nil)
    }

    @Test func changesBetweenTwoTimesNameGainedLostAndKernels() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let changes = try store.changes(from: Fixture.time(2), to: Fixture.time(12))
        #expect(changes.map(\.hostname) == ["h1", "h3"], "h2 sent a report but nothing changed")
        let h1 = changes[0]
        #expect(h1.kernelBefore == "6.1.0-18-amd64")
        #expect(h1.kernelAfter == "6.8.0-45-generic")
        #expect(h1.changes.map(\.name) == ["vfio.iova_pgsizes", "vfio.pgsize_1g"])
        #expect(h1.changes[1].before == .bool(true) && h1.changes[1].after == .bool(false))
        let h3 = changes[1]
        #expect(h3.kernelBefore == nil)
        #expect(h3.changes.allSatisfy { $0.before == nil && $0.after != nil }, "a new host gains every fact")
        #expect(try store.changes(from: Fixture.time(11), to: Fixture.time(20)).isEmpty)
        #expect(try store.changes(from: Fixture.time(6), to: Fixture.time(11)).map(\.hostname) == ["h1"])
    }

    @Test func historyListsVersionsWithSpansAndKernels() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let history = try store.history(hostname: "h1")
        #expect(history.count == 2)
        #expect(history[0].validFrom == Fixture.time(0))
        #expect(history[0].validTo == Fixture.time(10))
        #expect(history[0].kernelRelease == "6.1.0-18-amd64")
        #expect(history[1].validTo == nil)
        #expect(history[1].kernelRelease == "6.8.0-45-generic")
        #expect(history[1].facts == (try store.currentState(hostname: "h1")?.facts))
        #expect(try store.history(hostname: "h2").count == 1)
        #expect(try store.history(hostname: "none").isEmpty)
    }

    @Test func hostListCarriesCurrentFactsAndKeyColumns() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let hosts = try store.hosts()
        #expect(hosts.map(\.hostname) == ["h1", "h2", "h3"])
        for host in hosts { #expect(host.facts == (try store.currentState(hostname: host.hostname)?.facts)) }
        #expect(hosts[1].lastSeen == Fixture.time(10))
        #expect(hosts[2].firstSeen == Fixture.time(5))
    }

    @Test func keyFactColumnsFollowTheNewestReport() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let fleet = SyntheticFleet(hosts: 30, days: 3, seed: 7)
        var all: [Report] = []
        fleet.forEachReport { all.append($0) }
        let results = try store.ingest(all)
        #expect(results.allSatisfy { $0.outcome != .rejected }, "\(results.compactMap(\.error).prefix(3))")
        for host in try store.hosts() {
            let facts = host.facts.byName
            let row = try store.database.read { db in
                try db.row("SELECT cur_nesting, cur_vendor FROM hosts WHERE hostname = ?", [host.hostname])!
            }
            let nesting: Int64? = row[0]
            let vendor: String? = row[1]
            #expect(nesting == facts["nesting"].map { $0 == .bool(true) ? 1 : 0 })
            #expect(vendor == facts["iommu.vendor"]?.description)
        }
    }
}
