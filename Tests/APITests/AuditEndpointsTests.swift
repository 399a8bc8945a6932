import API
import Decoders
import Foundation
import Query
import Store
import Testing
import TestSupport
import RegistryClient
import Timestamps
@testable import Synthetic

/// The history reports over HTTP: what the parameters ask is what the store answers (the same document
/// `capreg … --db` prints), refusals name their parameter, and only readers and admins may ask.
@Suite("API: audits")
struct AuditEndpointsTests {
    static let fleet = SyntheticFleet(hosts: 40, days: 20, seed: 11)

    func document(_ value: JSONValue) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(value.bytes)) as? NSDictionary)
    }

    func answer(_ t: TestAPI, _ path: String, _ items: [(String, String)]) throws -> NSDictionary {
        let r = try t.get(APIClient.target(path, items))
        #expect(r.status == 200, "\(path) \(items): \(r.status) \(r.text.prefix(300))")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? NSDictionary)
    }

    @Test func parametersAskWhatTheStoreAnswers() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet)
        let version = { (text: String) in try KernelVersion.parse(text).get() }

        var upgrades: [KernelUpgradeRequest] = [KernelUpgradeRequest(), KernelUpgradeRequest(from: try version("5.15"), to: try version("6.1"))]
        var apart = KernelUpgradeRequest(to: try version("6.8"))
        apart.flavoursApart = true
        apart.layers = [.usable, .evidence]
        apart.hostLimit = 2
        upgrades.append(apart)
        var onePage = KernelUpgradeRequest()
        onePage.fact = "vfio.caps"
        onePage.hostLimit = 1
        onePage.hostsAfter = "host-000010"
        upgrades.append(onePage)
        for request in upgrades {
            let local = try document(KernelUpgradeJSON.report(try t.store.kernelUpgrades(request), request))
            #expect(try answer(t, "/v1/audits/kernel-upgrades", KernelUpgradeParameters.items(request)) == local)
        }
        let all = try t.store.kernelUpgrades(KernelUpgradeRequest())
        #expect(all.moves > 0 && !all.pairs.isEmpty, "the synthetic fleet upgrades kernels")
        // Evidence is left out unless asked for, and listed when it is.
        var withEvidence = KernelUpgradeRequest()
        withEvidence.layers = Set(FactLayer.allCases)
        let evidence = try t.store.kernelUpgrades(withEvidence).pairs.flatMap(\.changes).filter { $0.layer == .evidence }
        #expect(!evidence.isEmpty && all.pairs.flatMap(\.changes).allSatisfy { $0.layer != .evidence })
        var diffWithEvidence = FleetDiffRequest(from: Self.fleet.start.addingTimeInterval(86_400), to: Self.fleet.start.addingTimeInterval(Double(Self.fleet.days) * 86_400), staleAfter: 86_400)
        diffWithEvidence.layers = Set(FactLayer.allCases)
        #expect(try t.store.fleetDiff(diffWithEvidence).changes.contains { $0.layer == .evidence })

        var predict = UpgradePredictionRequest(to: try version("6.1"))
        predict.layers = [.kernel, .usable]
        let predicted = try document(KernelUpgradeJSON.prediction(try t.store.predictUpgrade(predict), predict))
        #expect(try answer(t, "/v1/audits/kernel-upgrades/predict", KernelUpgradeParameters.items(predict)) == predicted)

        let start = Self.fleet.start
        var diff = FleetDiffRequest(from: start.addingTimeInterval(86_400 * 2), to: start.addingTimeInterval(86_400 * 19), staleAfter: 86_400 * 2)
        let local = try document(FleetDiffJSON.document(try t.store.fleetDiff(diff), diff))
        #expect(try answer(t, "/v1/audits/fleet-diff", FleetDiffParameters.items(diff)) == local)
        diff.hostname = "host-000003"
        diff.layers = [.usable, .kernel]
        let one = try document(FleetDiffJSON.document(try t.store.fleetDiff(diff), diff))
        #expect(try answer(t, "/v1/audits/fleet-diff", FleetDiffParameters.items(diff)) == one)

        var revisions = FleetDiffRequest(from: start, to: start, staleAfter: 7200)
        revisions.fromRevision = 5
        revisions.toRevision = 40
        let byRevision = try document(FleetDiffJSON.document(try t.store.fleetDiff(revisions), revisions))
        #expect(try answer(t, "/v1/audits/fleet-diff", FleetDiffParameters.items(revisions)) == byRevision)
        #expect(byRevision["from_revision"] as? Int == 5 && byRevision["to_revision"] as? Int == 40)

        let at = start.addingTimeInterval(86_400 * 5)
        let provenance = try #require(try t.store.provenance(hostname: "host-000003", name: "hw.nesting", at: at))
        #expect(try answer(t, "/v1/hosts/host-000003/facts/hw.nesting/provenance", [("at", RFC3339.format(at))])
                == (try document(ProvenanceJSON.document(provenance))))
    }

    @Test func refusalsNameTheirParameter() throws {
        let t = try TestAPI()
        try t.pushFleet(SyntheticFleet(hosts: 5, days: 3, seed: 2))
        for (target, parameter) in [("/v1/audits/kernel-upgrades?from=not-a-kernel", "from"),
                                    ("/v1/audits/kernel-upgrades?to=1234567.1", "to"),
                                    ("/v1/audits/kernel-upgrades?flavours=some", "flavours"),
                                    ("/v1/audits/kernel-upgrades?layers=usable,firmware", "layers"),
                                    ("/v1/audits/kernel-upgrades?fact=nope", "fact"),
                                    ("/v1/audits/kernel-upgrades?host_limit=1001", "host_limit"),
                                    ("/v1/audits/kernel-upgrades?hosts_after=", "hosts_after"),
                                    ("/v1/audits/kernel-upgrades?where=nesting", "where"),
                                    ("/v1/audits/kernel-upgrades/predict", "to"),
                                    ("/v1/audits/fleet-diff?to=2025-01-02", "from"),
                                    ("/v1/audits/fleet-diff?from=2025-01-02", "to"),
                                    ("/v1/audits/fleet-diff?from=2025-01-03&to=2025-01-02", "from"),
                                    ("/v1/audits/fleet-diff?from=2025-01-01&to=2025-01-02&stale_after=soon", "stale_after"),
                                    ("/v1/audits/fleet-diff?from=2025-01-01&to=2025-01-02&fact=kernel.release", "fact"),
                                    ("/v1/audits/fleet-diff?from_revision=2", "to_revision"),
                                    ("/v1/audits/fleet-diff?from_revision=3&to_revision=2", "from_revision"),
                                    ("/v1/audits/fleet-diff?from_revision=1&to_revision=999999", "to_revision"),
                                    ("/v1/audits/fleet-diff?from=2025-01-01&from_revision=1&to_revision=2", "from"),
                                    ("/v1/hosts/host-000001/facts/nesting/provenance?at=yesterday", "at")] {
            let r = try t.get(target)
            #expect(r.status == 400 && r.error["parameter"] as? String == parameter, "\(target): \(r.status) \(r.text.prefix(200))")
        }
        #expect(try t.get("/v1/audits/fleet-diff?from=2025-01-01&to=2025-01-02&host=nobody").status == 404)
        #expect(try t.get("/v1/hosts/nobody/facts/nesting/provenance").status == 404)
        #expect(try t.get("/v1/hosts/host-000001/facts/no.such.fact/provenance").status == 404)
        #expect(try t.get("/v1/hosts/host-000001/facts/nesting/history").status == 404)
        for target in ["/v1/audits/kernel-upgrades", "/v1/audits/kernel-upgrades/predict?to=6.1",
                       "/v1/audits/fleet-diff?from=2025-01-01&to=2025-01-02", "/v1/hosts/host-000001/facts/nesting/provenance"] {
            #expect(try t.get(target, token: TestAPI.collectorToken).status == 403, "\(target)")
            #expect(try t.get(target, token: nil).status == 401, "\(target)")
            #expect(try t.get(target, token: TestAPI.readerToken).status == 200, "\(target)")
        }
    }
}

/// GET /v1/exports/history: pages of one table cover its rows once, in the store's order; admins only.
@Suite("API: history export")
struct HistoryExportEndpointTests {
    @Test func pagesCoverEveryRowOnceForAdminsOnly() throws {
        let t = try TestAPI()
        try t.pushFleet(SyntheticFleet(hosts: 12, days: 6, seed: 4))
        for table in HistoryTable.allCases {
            var whole: [[HistoryCell]] = []
            _ = try t.store.exportHistory(HistoryWindow(), tables: [table]) { _, cells in whole.append(cells) }
            var paged: [[HistoryCell]] = []
            var cursor: String?
            var pages = 0
            repeat {
                let r = try t.get("/v1/exports/history?table=\(table.rawValue)&limit=7" + (cursor.map { "&cursor=" + q($0) } ?? ""))
                #expect(r.status == 200, "\(r.text.prefix(200))")
                let rows = r.json["rows"] as? [[Any]] ?? []
                for row in rows {
                    paged.append(zip(table.columns, row).compactMap { HistoryPageJSON.cell($0.kind, from: $1) })
                }
                cursor = r.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10_000
            #expect(paged == whole, "\(table.rawValue): \(paged.count) rows paged, \(whole.count) whole")
        }
        #expect(try t.get("/v1/exports/history?table=facts", token: TestAPI.readerToken).status == 403)
        #expect(try t.get("/v1/exports/history?table=facts", token: nil).status == 401)
        for (target, parameter) in [("/v1/exports/history", "table"), ("/v1/exports/history?table=hosts", "table"),
                                    ("/v1/exports/history?table=facts&cursor=abc", "cursor"), ("/v1/exports/history?table=facts&limit=10001", "limit"),
                                    ("/v1/exports/history?table=facts&since=2025-01-03&until=2025-01-02", "since")] {
            let r = try t.get(target)
            #expect(r.status == 400 && r.error["parameter"] as? String == parameter, "\(target): \(r.status) \(r.text.prefix(200))")
        }
    }
}
