import API
import Dashboard
import Decoders
import Foundation
import Query
import RegistryClient
import Report
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

    @Test("a retracted move to another kernel series leaves the chart, as the query language reads it")
    func aRetractedMoveLeavesTheChart() throws {
        let fleet = SyntheticFleet(hosts: 300, days: 12, seed: 3)
        let s = try DashboardServer()
        try s.ingest(fleet)
        let from = fleet.start.addingTimeInterval(86_400), to = fleet.start.addingTimeInterval(11 * 86_400)
        let nesting = try QueryParser.parse("nesting")
        func holding(at time: Date) throws -> [QueriedHost] {
            try s.store.answer(HostQueryRequest(nesting, reference: .time(time), limit: 1000)).matches.hosts
        }
        // Each move to another series, and when its kernel stops (the host's next report on another kernel; the
        // same reports after it are its heartbeats, withdrawn with it).
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        let byHost = Dictionary(grouping: reports, by: \.host.hostname).values.map { $0.sorted { $0.collectedAt < $1.collectedAt } }
        func series(_ r: Report) -> String { let k = KernelRelease(r.kernel.release); return "\(k.major).\(k.minor)" }
        let moves = byHost.flatMap { host in
            host.indices.dropFirst().filter { series(host[$0 - 1]) != series(host[$0]) }.map { i in
                (report: host[i], until: host[(i + 1)...].first { $0.kernel.release != host[i].kernel.release }?.collectedAt ?? .distantFuture)
            }
        }
        // One in force at a date of the chart on a host that holds nesting then and just before the move: once
        // it is retracted the host still counts there, under its earlier kernel's series.
        let before = try s.store.capabilityTimeline(name: "nesting", from: from, to: to, points: 11)
        let holders = try before.times.map { Set(try holding(at: $0).map(\.hostname)) }
        let moved = try #require(try moves.first { move in
            let host = move.report.host.hostname
            return try zip(before.times, holders).contains { time, hosts in
                time >= move.report.collectedAt && time < move.until && hosts.contains(host)
            } && holding(at: move.report.collectedAt.addingTimeInterval(-1)).contains { $0.hostname == host }
        }?.report)
        guard case .retracted = try s.store.retract(reportId: moved.reportId, reason: "test") else {
            Issue.record("not retracted")
            return
        }
        let after = try s.store.capabilityTimeline(name: "nesting", from: from, to: to, points: 11)
        #expect(after != before, "the retraction changes the chart")
        for (i, time) in after.times.enumerated() {
            var bySeries: [String: Int] = [:]
            for host in try holding(at: time) {
                let k = KernelRelease(host.kernelRelease ?? "")
                bySeries["\(k.major).\(k.minor)", default: 0] += 1
            }
            let charted = Dictionary(uniqueKeysWithValues: after.series.map { ($0.kernel, $0.counts[i]) }).filter { $0.value > 0 }
            #expect(charted == bySeries, "at \(time)")
        }
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
