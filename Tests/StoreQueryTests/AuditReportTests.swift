import Decoders
import Foundation
import Query
import Report
@testable import Store
@testable import Synthetic
import Testing
import TestSupport
import TestRegistry

/// The history reports (issue 18): kernel-upgrade impact, its prediction, the fleet at two times, and a
/// fact's provenance, on a small fleet whose every move is known.
@Suite struct AuditReportTests {
    static let with2M: UInt64 = 0x4020_1000
    static let without2M: UInt64 = 0x4000_1000
    /// Two VT-d register sets: the second differs in ECAP (another IOMMU).
    static let regsA: (UInt64, UInt64) = (0xd2_008c_222f_0686, 0xf0_0f5e)
    static let regsB: (UInt64, UInt64) = (0xd2_008c_222f_0686, 0xf0_0f1a)

    /// A report with a VFIO info buffer (pgsizes decide vfio.pgsize_2m) and, when given, VT-d registers.
    static func report(_ id: String, _ host: String, at hours: Double, _ kernel: String, pgsizes: UInt64,
                       regs: (UInt64, UInt64)?) -> Report {
        var report = Fleet.report(id, host: host, at: hours, kernel: kernel, pgsizes: pgsizes)
        if let regs {
            report.sources.append(Report.Source(kind: .sysfsIntel, unit: "dmar0",
                                                raw: SyntheticBytes.sysfsIntel(cap: regs.0, ecap: regs.1, address: 0xfed9_0000)))
        }
        return report
    }

    /// h1: 6.6 → 6.12, same registers, loses 2M pages. h2: 6.6 → 6.12, registers change, loses 2M pages.
    /// h3: 6.6 → 6.12 without registers, nothing else changes. h4: 6.6 → 6.8. h5: 6.12 → 6.6 (down).
    /// h6: stays on 6.6. h7: 6.6 → 6.12, then that report is retracted. h8: first reports at 2 h.
    static func fleet(_ dir: TempDir) throws -> Registry {
        let store = try TestRegistry.open(dir.path("audit.sqlite"))
        let reports = [
            report("h1-a", "h1", at: 0, "6.6.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h1-b", "h1", at: 1, "6.12.0-1-generic", pgsizes: without2M, regs: regsA),
            report("h2-a", "h2", at: 0, "6.6.0-3-generic", pgsizes: with2M, regs: regsA),
            report("h2-b", "h2", at: 2, "6.12.0-2-generic", pgsizes: without2M, regs: regsB),
            report("h3-a", "h3", at: 0, "6.6.0-1-generic", pgsizes: with2M, regs: nil),
            report("h3-b", "h3", at: 1, "6.12.0-1-generic", pgsizes: with2M, regs: nil),
            report("h4-a", "h4", at: 0, "6.6.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h4-b", "h4", at: 1, "6.8.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h5-a", "h5", at: 0, "6.12.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h5-b", "h5", at: 1, "6.6.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h6-a", "h6", at: 0, "6.6.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h7-a", "h7", at: 0, "6.6.0-1-generic", pgsizes: with2M, regs: regsA),
            report("h7-b", "h7", at: 1, "6.12.0-1-generic", pgsizes: without2M, regs: regsA),
            report("h8-a", "h8", at: 2, "6.12.0-1-generic", pgsizes: with2M, regs: regsB),
        ]
        #expect(try store.ingest(reports).allSatisfy { $0.outcome != .rejected })
        _ = try store.retract(reportId: "h7-b", reason: "test: a report that never counted")
        return store
    }

    static func change(_ pair: KernelUpgradePair, _ name: String) -> [KernelUpgradeChange] { pair.changes.filter { $0.name == name } }

    @Test func kernelUpgradeImpactPerPairWithCauses() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        let v = { (text: String) in try KernelVersion.parse(text).get() }
        let report = try store.kernelUpgrades(KernelUpgradeRequest(from: try v("6.6"), to: try v("6.12")))
        #expect(report.moves == 3)
        let pair = try #require(report.pairs.first)
        #expect(report.pairs.count == 1)
        #expect(pair.from == "6.6" && pair.to == "6.12" && pair.isUpgrade)
        #expect(pair.hosts == 3 && pair.moves == 3)  // h7's move was retracted
        #expect(pair.causes == [.kernel: 1, .hardware: 1, .unknown: 1])
        let lost = Self.change(pair, "vfio.pgsize_2m")
        #expect(lost.count == 1)
        #expect(lost.first?.change == .lost && lost.first?.before == .bool(true) && lost.first?.after == .bool(false))
        #expect(lost.first?.hosts == 2 && lost.first?.hostnames == ["h1", "h2"])
        #expect(lost.first?.causes == [.kernel: 1, .hardware: 1])
        // h2's other IOMMU: register facts changed on it alone, in the hardware layer.
        let registers = pair.changes.filter { FactLayer.isRegister($0.name) }
        #expect(!registers.isEmpty)
        #expect(registers.allSatisfy { $0.layer == .hardware && $0.hostnames == ["h2"] && $0.causes == [.hardware: 1] })
        // Evidence is words: left out unless asked for.
        #expect(pair.changes.allSatisfy { $0.layer != .evidence })
        // Layer order: nothing of the kernel layer before the hardware's.
        let layers = pair.changes.map { FactLayer.allCases.firstIndex(of: $0.layer)! }
        #expect(layers == layers.sorted())
    }

    @Test func everyPairFlavoursAndHostPages() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        let all = try store.kernelUpgrades(KernelUpgradeRequest())
        #expect(all.pairs.map { "\($0.from)>\($0.to):\($0.isUpgrade ? "up" : "down")" } == ["6.6>6.8:up", "6.6>6.12:up", "6.12>6.6:down"])
        #expect(all.moves == 5)

        var apart = KernelUpgradeRequest(to: try KernelVersion.parse("6.12").get())
        apart.flavoursApart = true
        let releases = try store.kernelUpgrades(apart).pairs.map { "\($0.from)>\($0.to)=\($0.hosts)" }
        #expect(releases == ["6.6.0-1-generic>6.12.0-1-generic=2", "6.6.0-3-generic>6.12.0-2-generic=1"])

        var page = KernelUpgradeRequest(to: try KernelVersion.parse("6.12").get())
        page.fact = "vfio.pgsize_2m"
        page.hostLimit = 1
        let first = try #require(try store.kernelUpgrades(page).pairs.first?.changes.first)
        #expect(first.hostnames == ["h1"] && first.moreHosts && first.hosts == 2)
        page.hostsAfter = "h1"
        let second = try #require(try store.kernelUpgrades(page).pairs.first?.changes.first)
        #expect(second.hostnames == ["h2"] && !second.moreHosts)
        #expect(try store.kernelUpgrades(page).pairs.first?.changes.count == 1)

        var bad = KernelUpgradeRequest()
        bad.fact = "no.such.fact"
        #expect(throws: AuditRequestError.self) { try store.kernelUpgrades(bad) }
        bad = KernelUpgradeRequest()
        bad.hostLimit = KernelUpgradeRequest.maxHostLimit + 1
        #expect(throws: AuditRequestError.self) { try store.kernelUpgrades(bad) }
    }

    @Test func predictionFindsHostsWithTheLosersHardware() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        var request = UpgradePredictionRequest(to: try KernelVersion.parse("6.12").get())
        request.layers = [.kernel]
        let prediction = try store.predictUpgrade(request)
        // h1 and h2 lost vfio.pgsize_2m; both had registers A before their move.
        #expect(prediction.losers == 2 && prediction.losersWithoutRegisters == 0)
        let hardware = try #require(prediction.classes.first)
        #expect(prediction.classes.count == 1)
        #expect(hardware.losers == 2 && hardware.vendor == "intel" && hardware.lost.contains("vfio.pgsize_2m"))
        // On a kernel older than 6.12 now with registers A: h4 (6.8), h5 (back on 6.6), h6, h7 (its 6.12 report retracted).
        #expect(hardware.hostnames == ["h4", "h5", "h6", "h7"] && hardware.candidates == 4)
        // What a VM can get did not change on these moves: nothing to predict.
        #expect(try store.predictUpgrade(UpgradePredictionRequest(to: try KernelVersion.parse("6.12").get())).losers == 0)
    }

    /// Heartbeats decide freshness at each time: the newest one at or before it, found in a row's times when
    /// the row goes on past it. staleAfter is 1 h; the diff runs from 2.5 h to 4.5 h.
    @Test func heartbeatsDecideStaleAndBack() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("beats.sqlite"))
        func beats(_ host: String, _ hours: [Double]) -> [Report] {
            [Fleet.report("\(host)-0", host: host, at: 0, kernel: "6.6.0-1-generic")]
                + hours.map { Fleet.report("\(host)-\($0)", host: host, at: $0, kernel: "6.6.0-1-generic") }
        }
        let results = try store.ingest(beats("fresh", [1, 2, 3, 4]) + beats("gone-quiet", [1]) + beats("back", [4.2]) + beats("stale", [1, 2]))
        #expect(results.filter(\.heartbeat).count == 8)
        let diff = try store.fleetDiff(FleetDiffRequest(from: Fleet.time(2.5), to: Fleet.time(4.5), staleAfter: 3600))
        #expect(diff.hostsFrom == 4 && diff.hostsTo == 4)
        #expect(diff.freshFrom == 2 && diff.freshTo == 2)
        #expect(diff.presence[.stale]?.hostnames == ["stale"])
        #expect(diff.presence[.back]?.hostnames == ["back"])
        #expect(diff.changes.isEmpty)
    }

    @Test func theFleetAtTwoTimes() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        var request = FleetDiffRequest(from: Fleet.time(0.5), to: Fleet.time(2.5), staleAfter: 3600)
        let diff = try store.fleetDiff(request)
        #expect(diff.hostsFrom == 7 && diff.hostsTo == 8)
        #expect(diff.freshFrom == 7 && diff.freshTo == 2)
        #expect(diff.presence[.added]?.hostnames == ["h8"])
        #expect(diff.presence[.gone]?.count == 0)
        #expect(diff.presence[.stale]?.hostnames == ["h1", "h3", "h4", "h5", "h6", "h7"])
        #expect(diff.presence[.back]?.count == 0)
        let pgsize = diff.changes.filter { $0.name == "vfio.pgsize_2m" }
        #expect(pgsize.count == 1 && pgsize.first?.hosts.hostnames == ["h1", "h2"] && pgsize.first?.change == .lost)
        let kernels = diff.changes.filter { $0.name == FleetDiffRequest.kernelFact }.map { "\($0.before!)>\($0.after!)=\($0.hosts.hostnames)" }.sorted()
        #expect(kernels == ["6.12.0-1-generic>6.6.0-1-generic=[\"h5\"]", "6.6.0-1-generic>6.12.0-1-generic=[\"h1\", \"h3\"]",
                            "6.6.0-1-generic>6.8.0-1-generic=[\"h4\"]", "6.6.0-3-generic>6.12.0-2-generic=[\"h2\"]"])
        // h8 is added, not a change of each of its facts.
        #expect(diff.changes.allSatisfy { !$0.hosts.hostnames.contains("h8") })

        // Before anything changed, nothing changed.
        let same = try store.fleetDiff(FleetDiffRequest(from: Fleet.time(0.2), to: Fleet.time(0.6), staleAfter: 3600))
        #expect(same.changes.isEmpty && same.presence.values.allSatisfy { $0.count == 0 })

        request.hostname = "h2"
        let one = try store.fleetDiff(request)
        #expect(one.hostsFrom == 1 && one.changes.allSatisfy { $0.hosts.hostnames == ["h2"] })
        #expect(one.changes.contains { $0.name == "vfio.pgsize_2m" })
        request.hostname = "nobody"
        #expect(throws: FleetDiffNoSuchHost.self) { try store.fleetDiff(request) }
        #expect(throws: AuditRequestError.self) {
            try store.fleetDiff(FleetDiffRequest(from: Fleet.time(2), to: Fleet.time(1), staleAfter: 3600))
        }
    }

    @Test func theRegistryAtTwoRevisions() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        // Revisions: the fourteen reports in order (h1-a is 1, h7-b 13, h8-a 14), then the retraction of h7-b (15).
        func diff(_ r1: Int64, _ r2: Int64) throws -> FleetDiff {
            var request = FleetDiffRequest(from: Fleet.time(0), to: Fleet.time(0), staleAfter: 3600)
            request.fromRevision = r1
            request.toRevision = r2
            return try store.fleetDiff(request)
        }
        let first = try diff(1, 2)
        #expect(first.fromRevision == 1 && first.toRevision == 2 && first.hostsFrom == 1 && first.hostsTo == 1)
        #expect(first.changes.first { $0.name == "vfio.pgsize_2m" }?.hosts.hostnames == ["h1"])
        #expect(first.changes.contains { $0.name == FleetDiffRequest.kernelFact && $0.after == .text("6.12.0-1-generic") })
        let added = try diff(2, 14)
        #expect(added.presence[.added]?.hostnames == ["h2", "h3", "h4", "h5", "h6", "h7", "h8"] && added.hostsTo == 8)
        // The retraction, seen between the revisions around it: h7 back on 6.6 with 2M pages, nothing else.
        let retraction = try diff(14, 15)
        #expect(retraction.changes.allSatisfy { $0.hosts.hostnames == ["h7"] } && !retraction.changes.isEmpty)
        #expect(retraction.changes.contains { $0.name == "vfio.pgsize_2m" && $0.change == .gained })
        #expect(retraction.changes.contains { $0.name == FleetDiffRequest.kernelFact && $0.before == .text("6.12.0-1-generic") && $0.after == .text("6.6.0-1-generic") })
        // Reading only the hosts touched between the revisions, or walking every host, answers alike.
        for (r1, r2) in [(1, 2), (2, 14), (14, 15), (1, 15), (5, 5)] as [(Int64, Int64)] {
            var request = FleetDiffRequest(from: Fleet.time(0), to: Fleet.time(0), staleAfter: 3600)
            request.hostLimit = 100
            #expect(try store.fleetDiff(request, fromRevision: r1, toRevision: r2)
                    == (try store.fleetDiff(request, fromRevision: r1, toRevision: r2, readOneByOneUpTo: -1)), "\(r1)…\(r2)")
        }
        // The same two revisions answer the same after later writes (answers at a revision do not move).
        _ = try store.retract(reportId: "h2-b", reason: "test")
        #expect(try diff(14, 15) == retraction)
        #expect(throws: AuditRequestError.self) { try diff(3, 2) }
        #expect(throws: AuditRequestError.self) { try diff(1, 99) }
    }

    @Test func provenanceNamesTheReportBytesAndRewrites() throws {
        let dir = try TempDir()
        let store = try Self.fleet(dir)
        let before = try #require(try store.provenance(hostname: "h2", name: "vfio.pgsize_2m", at: Fleet.time(1)))
        #expect(before.value == .bool(true))
        #expect(before.setBy?.reportId == "h2-a" && before.inForce?.reportId == "h2-a")
        #expect(before.setBy?.kernelRelease == "6.6.0-3-generic" && before.setBy?.collectorVersion == "test")
        #expect(before.validFrom == Fleet.time(0) && before.validTo == Fleet.time(2))
        let source = try #require(before.sources.first)
        #expect(before.sources.count == 1 && source.unit == "vfio-group-1" && source.value == .bool(true) && source.openedBy == "h2-a")
        // The stored bytes are exactly the reported buffer's (its fixed header, before the chain).
        var shape = SyntheticBytes.VFIOShape()
        shape.pgsizes = Self.with2M
        let reported = SyntheticBytes.vfioInfo(shape)
        #expect(!source.raw.isEmpty && source.raw == Array(reported.prefix(source.raw.count)))
        #expect(source.decoderVersion == SourceDecoder.decoderVersion && !before.derived && before.rewrites.isEmpty)

        let after = try #require(try store.provenance(hostname: "h2", name: "vfio.pgsize_2m", at: Fleet.time(3)))
        #expect(after.value == .bool(false) && after.setBy?.reportId == "h2-b" && after.validTo == nil)
        // A register fact comes from the sysfs registers.
        let register = try #require(try store.provenance(hostname: "h2", name: "hw.nesting", at: Fleet.time(3)))
        #expect(register.sources.map(\.capability) == ["vtd-regs"])

        // A retraction rewrites the host's facts: the value at 3 h goes back, and the rewrite says so.
        _ = try store.retract(reportId: "h2-b", reason: "test")
        let rewritten = try #require(try store.provenance(hostname: "h2", name: "vfio.pgsize_2m", at: Fleet.time(3)))
        #expect(rewritten.value == .bool(true) && rewritten.setBy?.reportId == "h2-a")
        #expect(rewritten.rewrites.count == 1)
        #expect(rewritten.rewrites.first?.kind == "retraction" && rewritten.rewrites.first?.before == .bool(false)
            && rewritten.rewrites.first?.changedValue == true)
        // At 1 h the retraction changed nothing of this fact.
        let earlier = try #require(try store.provenance(hostname: "h2", name: "vfio.pgsize_2m", at: Fleet.time(1)))
        #expect(earlier.rewrites.first?.changedValue == false)

        // Absent: unknown, still with the report in force. No such host: nil.
        let absent = try #require(try store.provenance(hostname: "h3", name: "hw.nesting", at: Fleet.time(1)))
        #expect(absent.value == nil && absent.inForce?.reportId == "h3-b" && absent.sources.isEmpty)
        #expect(try store.provenance(hostname: "nobody", name: "nesting", at: Fleet.time(1)) == nil)
    }
}

/// The partial indexes of migrations/0018 serve only queries whose conditions name the same literals:
/// the lists in the code and in the migrations (both backends) must agree.
@Suite struct AuditIndexLiteralsTests {
    @Test func migrationsNameTheLiteralsTheQueriesUse() throws {
        let capabilities = Registry.registerCapabilities.map { "'\($0)'" }.joined(separator: ", ")
        let names = Registry.timelineFacts.map { "'\($0)'" }.joined(separator: ", ")
        for migrations in [Migration.sqlite, Migration.postgres] {
            let sql = try #require(migrations.first { $0.name == "0018_audit_indexes" }?.sql)
            #expect(sql.contains("WHERE capability IN (\(capabilities))"))
            #expect(sql.contains("WHERE name IN (\(names))"))
        }
        #expect(Registry.registerCapabilitiesSQL == "c.capability IN (\(capabilities))")
        #expect(Registry.timelineFactsSQL == "name IN (\(names))")
    }

    /// SQLite uses a partial index only when the query repeats its condition: the chart's read and the
    /// register check must name the index's terms as the migration writes them.
    @Test func theChartAndTheRegisterCheckReadTheirPartialIndexes() throws {
        guard TestBackend.current == .sqlite else { return }
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("plans.sqlite"))
        let chart = try store.plan("""
            SELECT host_id, valid_from, valid_to, value_int, value_text FROM facts
            WHERE \(Registry.timelineFactsSQL) AND name = 'nesting' AND valid_from <= ? AND valid_to > ?
            """, [.int(2), .int(1)])
        #expect(chart.contains { $0.contains("COVERING INDEX facts_usable_history") }, "\(chart)")
        let registers = try store.plan("""
            SELECT c.host_id FROM capability_versions c WHERE c.host_id = ? AND c.valid_to = ? AND \(Registry.registerCapabilitiesSQL)
            """, [.int(1), .int(1)])
        #expect(registers.contains { $0.contains("capability_versions_registers") }, "\(registers)")
    }
}
