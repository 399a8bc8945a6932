import Decoders
import Foundation
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic

/// The paged fleet-wide as-of and change feed give the whole-fleet answers, a page at a time.
@Suite struct FleetPageTests {
    func fleet(_ dir: TempDir) throws -> (Registry, SyntheticFleet) {
        let store = try Fixture.store(dir)
        let fleet = SyntheticFleet(hosts: 60, days: 5, seed: 7)
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        return (store, fleet)
    }

    @Test func asOfPagesEqualTheWholeFleet() throws {
        let dir = try TempDir()
        let (store, fleet) = try fleet(dir)
        for day in [0.2, 2.5, 4.9] {
            let t = fleet.start.addingTimeInterval(day * 86_400)
            var paged: [HostSnapshot] = []
            var after: String?
            repeat {
                let page = try store.factsAsOfPage(t, after: after, limit: 7)
                #expect(page.items.count <= 7)
                paged += page.items
                after = page.nextAfter
            } while after != nil
            #expect(paged == (try store.factsAsOf(t)))
            let named = try store.factsAsOfPage(t, limit: 100, names: ["nesting.supported", "iommu.vendor"])
            #expect(named.items.allSatisfy { $0.facts.allSatisfy { ["nesting.supported", "iommu.vendor"].contains($0.name) } })
        }
    }

    @Test func changePagesEqualTheWholeFeed() throws {
        let dir = try TempDir()
        let (store, fleet) = try fleet(dir)
        let from = fleet.start.addingTimeInterval(0.5 * 86_400), to = fleet.start.addingTimeInterval(3.5 * 86_400)
        let whole = try store.changes(from: from, to: to)
        #expect(!whole.isEmpty)
        var paged: [HostChange] = []
        var after: String?
        repeat {
            let page = try store.changesPage(from: from, to: to, after: after, limit: 4)
            #expect(page.items.count <= 4)
            paged += page.items
            after = page.nextAfter
        } while after != nil
        #expect(paged == whole)
        // Named facts only: every listed change is one of them, and the kernel only when named.
        let named = try store.changesPage(from: from, to: to, limit: 1000, names: ["vfio.dma_avail"])
        #expect(named.items.allSatisfy { $0.changes.map(\.name) == ["vfio.dma_avail"] })
        let kernels = try store.changesPage(from: from, to: to, limit: 1000, names: ["kernel"])
        #expect(kernels.items.allSatisfy { $0.changes.isEmpty && $0.kernelBefore != $0.kernelAfter })
        #expect(kernels.items.map(\.hostname) == whole.filter { $0.kernelBefore != $0.kernelAfter }.map(\.hostname))
    }

    @Test func aKernelUpgradeThatChangedNoFactIsInTheFeed() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([
            Fixture.report("a", host: "h1", at: 0, kernel: "6.1.0-18-amd64"),
            Fixture.report("b", host: "h1", at: 10, kernel: "6.1.0-19-amd64"),
        ])
        #expect(try store.factsAsOf(Fixture.time(1)).first?.facts == (try store.factsAsOf(Fixture.time(11)).first?.facts))
        let changes = try store.changes(from: Fixture.time(1), to: Fixture.time(11))
        #expect(changes.map(\.hostname) == ["h1"])
        #expect(changes.first?.kernelBefore == "6.1.0-18-amd64" && changes.first?.kernelAfter == "6.1.0-19-amd64")
        #expect(changes.first?.changes.isEmpty == true)
        #expect(try store.changes(from: Fixture.time(11), to: Fixture.time(20)).isEmpty)
    }
}
