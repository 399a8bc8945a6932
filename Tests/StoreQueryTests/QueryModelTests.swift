import Decoders
import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic

/// The strongest check of the SQL compiler: on a synthetic fleet, for hundreds of random expressions,
/// the hosts SQL returns equal the hosts the Swift reference evaluator picks from the store's own
/// current state (`hosts()`) or history (`factsAsOf`).
@Suite struct QueryModelTests {
    static func facts(_ facts: [Fact]) -> [String: FactValue] {
        Dictionary(facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func nowEqualsReferenceEvaluation() throws {
        let dir = try TempDir()
        let (store, _) = try Fleet.synthetic(dir, hosts: 60, days: 6, seed: 11)
        let hosts = try store.hosts()
        var random = RandomExpressions(seed: 42, hosts: hosts)
        var split = 0
        for _ in 0..<400 {
            let text = random.expression()
            let expr = try QueryParser.parse(text)
            let expected = hosts.filter {
                QueryEvaluator(facts: Self.facts($0.facts), kernelRelease: $0.kernelRelease, labels: $0.labels).matches(expr)
            }
            let got = try store.allPages(expr, limit: 1 + random.dice.below(25))
            #expect(got.map(\.hostname) == expected.map(\.hostname), "\(text)")
            if !expected.isEmpty && expected.count < hosts.count { split += 1 }
        }
        // Expressions that match some hosts but not all are what tell a wrong compiler apart.
        #expect(split >= 150, "only \(split) expressions split the fleet")
    }

    @Test func asOfEqualsReferenceEvaluation() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 50, days: 8, seed: 5)
        let labels = Dictionary(try store.hosts().map { ($0.hostname, $0.labels) }, uniquingKeysWith: { a, _ in a })
        var random = RandomExpressions(seed: 7, hosts: try store.hosts())
        var split = 0
        for day in [-1.0, 0.5, 2.5, 5.25, 7.9] {
            let t = fleet.start.addingTimeInterval(day * 86_400)
            let snapshots = try store.factsAsOf(t, hostname: nil)
            for _ in 0..<80 {
                let text = random.expression()
                let expr = try QueryParser.parse(text)
                let expected = snapshots.filter {
                    QueryEvaluator(facts: Self.facts($0.facts), kernelRelease: $0.kernelRelease, labels: labels[$0.hostname] ?? [:]).matches(expr)
                }
                let got = try store.allPages(expr, asOf: t, limit: 1 + random.dice.below(25))
                #expect(got.map(\.hostname) == expected.map(\.hostname), "as of day \(day): \(text)")
                if !expected.isEmpty && expected.count < snapshots.count { split += 1 }
            }
        }
        #expect(split >= 120, "only \(split) expressions split the fleet")
    }

    /// Profiles compile to the same SQL as their conditions would: on a synthetic fleet plus two hosts
    /// that report iommufd and VFIO together (the fleet's iommufd hosts report no VFIO IOVA range, so
    /// vtd-nested is never true there), SQL and the evaluator pick the same hosts now and as of a day.
    @Test func profilesEqualReferenceEvaluation() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 60, days: 6, seed: 11)
        _ = try store.ingest([Self.nestingReport("nest-48", topIOVA: 0xffff_ffff_ffff), Self.nestingReport("nest-39", topIOVA: 0x7f_ffff_ffff)])
        let hosts = try store.hosts()
        // The synthetic nesting registers have no FL1GP: the guest must not ask for 1 GiB pages.
        let queries = [#"profile("vtd-nested", fs1gp=false)"#, #"profile("vtd-nested", aw_bits=39, fs1gp=false, pasid_bits=20)"#,
                       #"not profile("vtd-nested", aw_bits=57)"#, #"known(iommufd.data_type) and not profile("vtd-nested", fs1gp=false)"#,
                       #"profile("vtd-nested", fs1gp=false) or profile("smmuv3-nested") or pasid_bits < 20"#]
        var split = 0
        for text in queries {
            let expr = try QueryParser.parse(text)
            let expected = hosts.filter {
                QueryEvaluator(facts: Self.facts($0.facts), kernelRelease: $0.kernelRelease, labels: $0.labels).matches(expr)
            }
            #expect(try store.allPages(expr, limit: 7).map(\.hostname) == expected.map(\.hostname), "\(text)")
            if !expected.isEmpty && expected.count < hosts.count { split += 1 }
            let t = fleet.start.addingTimeInterval(2.5 * 86_400)
            let snapshots = try store.factsAsOf(t, hostname: nil)
            let labels = Dictionary(hosts.map { ($0.hostname, $0.labels) }, uniquingKeysWith: { a, _ in a })
            let expectedThen = snapshots.filter {
                QueryEvaluator(facts: Self.facts($0.facts), kernelRelease: $0.kernelRelease, labels: labels[$0.hostname] ?? [:]).matches(expr)
            }
            #expect(try store.allPages(expr, asOf: t, limit: 7).map(\.hostname) == expectedThen.map(\.hostname), "as of day 2.5: \(text)")
        }
        #expect(split == queries.count, "only \(split) profile queries split the fleet")
    }

    /// A nesting-capable VT-d host on kernel 7 with iommufd and a VFIO device whose IOVA ends at `topIOVA`.
    static func nestingReport(_ host: String, topIOVA: UInt64) -> Report {
        let (cap, ecap) = SyntheticFleet.vtdRegisters(.vtdNesting)
        var shape = SyntheticBytes.VFIOShape()
        shape.topIOVA = topIOVA
        return Report(reportId: "r-\(host)", collectedAt: Fleet.time(1), host: Report.Host(hostname: host, machineId: "m-\(host)", labels: [:]),
                      kernel: Report.Kernel(release: "7.0.1-1-amd64"), collectorVersion: "test",
                      sources: [Report.Source(kind: .iommufd, unit: "iommufd-dev-1", raw: SyntheticBytes.iommufdVTd(cap: cap, ecap: ecap, maxPasidLog2: 20)),
                                Report.Source(kind: .vfio, unit: "vfio-group-1", raw: SyntheticBytes.vfioInfo(shape)),
                                // What kernel 7 answers the collector's probes on these registers.
                                SyntheticProbes.source("iommufd-dev-1", SyntheticProbes.iommufdDevice(kernel: KernelRelease("7.0.1-1-amd64"), cap: cap, ecap: ecap)),
                                SyntheticProbes.source("iommufd", SyntheticProbes.iommufdKernel(kernel: KernelRelease("7.0.1-1-amd64"), hasIOMMUFD: true, devices: 1))])
    }

    /// What a page says of each host is the host's state (now) or snapshot (as of T).
    @Test func returnedHostsCarryTheirState() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 30, days: 4, seed: 9)
        let now = try store.allPages(nil, limit: 1000)
        let hosts = try store.hosts()
        #expect(now.map(\.hostname) == hosts.map(\.hostname))
        for (got, want) in zip(now, hosts) {
            #expect(got.facts == want.facts && got.kernelRelease == want.kernelRelease && got.labels == want.labels && got.reportedAt == want.lastSeen)
        }
        let t = fleet.start.addingTimeInterval(1.5 * 86_400)
        let past = try store.allPages(nil, asOf: t, limit: 1000)
        let snapshots = try store.factsAsOf(t, hostname: nil)
        #expect(past.map(\.hostname) == snapshots.map(\.hostname))
        for (got, want) in zip(past, snapshots) {
            #expect(got.facts == want.facts && got.kernelRelease == want.kernelRelease && got.reportedAt <= t)
        }
        let fields = try store.queryHosts(nil, asOf: nil, fields: ["hw.pasid_bits", "iommu.vendor"], limit: 1000, after: nil)
        #expect(fields.hosts.allSatisfy { $0.facts.allSatisfy { ["hw.pasid_bits", "iommu.vendor"].contains($0.name) } })
        #expect(fields.hosts.contains { $0.facts.count == 2 })
    }
}
