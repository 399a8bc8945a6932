import Decoders
import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
@testable import Synthetic
import TestRegistry

/// `devices(EXPR) op N` in SQL gives the reference evaluator's answer over each host's newest report,
/// after devices change, a newest report is retracted, and facts are redecoded; asked as of a time it is
/// refused, and explain counts each host's devices.
@Suite struct DevicesQueryTests {
    static let questions = [
        "devices(device.pasid.bits >= 16) >= 1",
        "devices(device.pasid.bits >= 16 and device.driver = \"vfio-pci\") >= 2",
        "devices(device.ats and device.pri) >= 3",
        "devices(device.vfio_cdev != \"none\")",
        "devices(not device.pasid) = 0",
        "devices(known(device.pasid.bits)) < 2",
        "not devices(device.class = \"0x010802\") >= 1",
        "devices(device.vendor_id in (\"0x144d\", \"0x8086\") and device.iommu_group > 12) >= 2 or nesting",
        "devices(device.nesting) >= 1",
        "devices(not known(device.nesting)) >= 1 and iommu.vendor = \"intel\"",
        "devices(device.pasid.exec or device.iommu_unit = \"ivhd1\") != 1",
        "devices.count >= 5 and devices(device.driver = \"i40e\") <= 1",
    ]

    /// Each host's newest counting report's evaluator, as the registry should see it.
    static func expected(_ reports: [Report], retracted: Set<String> = []) throws -> [String: QueryEvaluator] {
        var newest: [String: Report] = [:]
        for r in reports where !retracted.contains(r.reportId) {
            if let known = newest[r.host.hostname], known.collectedAt >= r.collectedAt { continue }
            newest[r.host.hostname] = r
        }
        return try newest.mapValues { r in
            let records = try SourceDecoder.records(of: r, kernel: KernelRelease(r.kernel.release))
            let facts = HostFacts.of(records, kernel: r.kernel.release, collectorVersion: r.collectorVersion)
            return QueryEvaluator(facts: Dictionary(facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                  kernelRelease: r.kernel.release, labels: r.host.labels,
                                  devices: HostDevices.of(records).map { d in Dictionary(d.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) })
        }
    }

    static func check(_ store: Registry, _ expected: [String: QueryEvaluator], _ context: String) throws {
        var matchedSome = 0
        for text in questions {
            let expr = try QueryParser.parse(text)
            let got = try store.allPages(expr, limit: 7).map(\.hostname)
            let want = expected.filter { $0.value.matches(expr) }.keys.sorted()
            #expect(got == want, "\(context): \(text)")
            if !want.isEmpty && want.count < expected.count { matchedSome += 1 }
        }
        #expect(matchedSome >= questions.count - 2, "\(context): the questions split the fleet")
    }

    @Test func sqlAnswersAsTheEvaluator() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("devices.sqlite"))
        var fleet = SyntheticFleet(hosts: 60, days: 3, seed: 5)
        fleet.devices = true
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        // One host's devices change on a later report: one is unbound from vfio-pci and one removed.
        let host = try #require(reports.last { $0.collectorVersion == "capreg-collector 0.3.0" && $0.sources.filter { $0.kind == .pciDevice }.count >= 3 })
        var changed = host
        changed.reportId = "changed-devices"
        changed.collectedAt = host.collectedAt.addingTimeInterval(60)
        let devices = changed.sources.indices.filter { changed.sources[$0].kind == .pciDevice }
        changed.sources.remove(at: devices.last!)
        var unbound = SyntheticDevice(bdf: changed.sources[devices[0]].unit)
        unbound.driver = nil
        unbound.pasidBits = 20
        changed.sources[devices[0]] = unbound.source
        reports.append(changed)
        _ = try store.ingest(reports)
        try Self.check(store, try Self.expected(reports), "after ingest")
        #expect(try store.currentDevices(hostname: host.host.hostname).count == devices.count - 1)

        // The newest report withdrawn: the host's devices are the earlier report's again.
        _ = try store.retract(reportId: "changed-devices", reason: "test")
        try Self.check(store, try Self.expected(reports, retracted: ["changed-devices"]), "after retraction")
        #expect(try store.currentDevices(hostname: host.host.hostname).count == devices.count)

        // A redecode rewrites nothing that was right, and puts back rows that went missing.
        try store.database.write { db in try db.execute("DELETE FROM current_device_facts WHERE name = 'device.ats'") }
        try store.database.write { db in try db.execute("UPDATE reports SET decoder_version = 0") }
        _ = try store.redecode()
        try Self.check(store, try Self.expected(reports, retracted: ["changed-devices"]), "after redecode")
    }

    @Test func nowOnlyAndExplained() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("explain.sqlite"))
        var fleet = SyntheticFleet(hosts: 20, days: 1, seed: 9)
        fleet.devices = true
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        let expr = try QueryParser.parse("devices(device.pasid.bits >= 16) >= 3")
        #expect(throws: HostAnswerError.devicesNowOnly) { try store.answer(HostQueryRequest(expr, reference: .time(Date()))) }
        #expect(throws: HostAnswerError.devicesNowOnly) { try store.answer(HostQueryRequest(expr, reference: .revision(1))) }
        let answer = try store.answer(HostQueryRequest(expr, limit: 100, notMatching: true))
        let expected = try Self.expected(reports)
        let others = try #require(answer.notMatching?.hosts)
        #expect(!others.isEmpty && !answer.matches.hosts.isEmpty)
        for host in others {
            let reasons = QueryExplainer(host.evaluator).reasons(expr)
            let want = QueryExplainer(try #require(expected[host.hostname])).reasons(expr)
            #expect(reasons.map(\.message) == want.map(\.message), "\(host.hostname)")
            #expect(reasons.count == 1 && (reasons[0].message.contains(" devices match ") || reasons[0].message.contains("reported no PCI devices")))
        }
    }
}
