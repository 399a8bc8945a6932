import API
import Dashboard
import Decoders
import Foundation
import Query
import RegistryClient
import Store
import Testing
@testable import Synthetic

/// GET /ui/audits: the chart counts what the query language counts as of each date, the downloads are the
/// page's data (CSV through the one writer, JSON the endpoints' documents), and refusals name their parameter.
@Suite("Dashboard: audits")
struct AuditsPageTests {
    static let fleet = SyntheticFleet(hosts: 40, days: 12, seed: 3)

    @Test("the chart's counts are the hosts `nesting` matches as of each date, by kernel series")
    func chartCountsAgreeWithTheQueryLanguage() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        let from = Self.fleet.start.addingTimeInterval(86_400), to = Self.fleet.start.addingTimeInterval(11 * 86_400)
        let timeline = try s.store.capabilityTimeline(name: "nesting", from: from, to: to, points: 11)
        #expect(timeline.times.count == 11 && !timeline.series.isEmpty)
        let nesting = try QueryParser.parse("nesting")
        for (i, time) in timeline.times.enumerated() {
            let hosts = try s.store.answer(HostQueryRequest(nesting, reference: .time(time), limit: 1000)).matches.hosts
            var bySeries: [String: Int] = [:]
            for host in hosts {
                let k = KernelRelease(host.kernelRelease ?? "")
                bySeries["\(k.major).\(k.minor)", default: 0] += 1
            }
            let charted = Dictionary(uniqueKeysWithValues: timeline.series.map { ($0.kernel, $0.counts[i]) }).filter { $0.value > 0 }
            #expect(charted == bySeries, "at \(time)")
            let all = try s.store.answer(HostQueryRequest(nil, reference: .time(time), limit: 1000)).matches.hosts.count
            #expect(timeline.hosts[i] == all, "hosts at \(time)")
        }
        #expect(throws: AuditRequestError.self) { try s.store.capabilityTimeline(name: "hw.nesting", from: from, to: to, points: 5) }
    }

    @Test("the page, its downloads and its refusals")
    func pageAndDownloads() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        let window = "from=2025-01-02&to=2025-01-12&fact=pasid_bind"
        let page = try s.get("/ui/audits?" + window)
        #expect(page.status == 200 && page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.text.contains("Hosts where pasid_bind holds") && page.text.contains("<svg") && !page.text.contains("<script"))
        let dates = (2...12).map { String(format: "2025-01-%02d", $0) }
        #expect(dates.allSatisfy { page.text.contains("text-anchor=\"end\">\($0)</text>") }, "a bar per date")

        let from = Self.fleet.start.addingTimeInterval(86_400), to = Self.fleet.start.addingTimeInterval(11 * 86_400)  // 2025-01-02, 2025-01-12
        let timeline = try s.store.capabilityTimeline(name: "pasid_bind", from: from, to: to, points: AuditsPage.points(from: from, to: to))
        let csv = try s.get("/ui/audits?" + window + "&download=timeline.csv")
        #expect(csv.status == 200 && csv.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(csv.header("Content-Disposition") == "attachment; filename=\"capreg-audit-timeline.csv\"")
        #expect(csv.text == AuditsPage.timelineCSV(timeline))
        #expect(csv.text.hasPrefix("time,hosts,") && csv.text.components(separatedBy: "\r\n").count == timeline.times.count + 2)
        let json = try s.get("/ui/audits?" + window + "&download=timeline.json")
        #expect(json.body == TimelineJSON.document(timeline).bytes)

        var diffAsked = FleetDiffRequest(from: from, to: to, staleAfter: 7200)
        diffAsked.layers = [.usable]
        diffAsked.hostLimit = 5
        #expect(try s.get("/ui/audits?" + window + "&download=diff.json").body == FleetDiffJSON.document(try s.store.fleetDiff(diffAsked), diffAsked).bytes)
        var upgradesAsked = KernelUpgradeRequest()
        upgradesAsked.layers = [.usable]
        upgradesAsked.hostLimit = 5
        let upgrades = try s.store.kernelUpgrades(upgradesAsked)
        #expect(try s.get("/ui/audits?" + window + "&download=upgrades.csv").text == AuditsPage.upgradesCSV(upgrades))
        #expect(AuditsPage.upgradesCSV(upgrades).components(separatedBy: "\r\n").count == upgrades.pairs.reduce(0) { $0 + $1.changes.count } + 2)

        for (target, parameter) in [("/ui/audits?download=all.zip", "download"), ("/ui/audits?fact=hw.nesting", "fact"),
                                    ("/ui/audits?from=2025-01-05&to=2025-01-02", "from"), ("/ui/audits?where=nesting", "where")] {
            let r = try s.get(target)
            #expect(r.status == 400 && r.text.contains(parameter), "\(target): \(r.status)")
        }
    }
}
