import Dashboard
import Foundation
import Server
import Store
import Timestamps

/// GET /ui/audits?from=DATE&to=DATE&fact=NAME[&download=PART.csv|PART.json]: the audits page, and each of
/// its parts as a file (PART: timeline, upgrades, diff). JSON parts are the endpoints' documents.
extension API {
    static let auditDownloads: Set<String> = ["timeline.csv", "timeline.json", "upgrades.csv", "upgrades.json", "diff.csv", "diff.json"]

    func dashboardAudits(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["from", "to", "fact", "download"])
        let stats = try store.fleetStats()
        // Default: the last 30 days that hold reports (a registry of old reports still shows them).
        let newest = stats.newestReport.map { $0.addingTimeInterval(86_400) } ?? Date()
        let to = try p.time("to") ?? Date(timeIntervalSince1970: (newest.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        let from = try p.time("from") ?? to.addingTimeInterval(-30 * 86_400)
        guard from < to else { throw APIError.badParameter("from", "must be earlier than to") }
        let fact = p.string("fact") ?? Registry.timelineFacts[0]
        guard Registry.timelineFacts.contains(fact) else {
            throw APIError.badParameter("fact", "one of \(Registry.timelineFacts.joined(separator: ", "))")
        }
        let download = p.string("download")
        if let download, !Self.auditDownloads.contains(download) {
            throw APIError.badParameter("download", "one of \(Self.auditDownloads.sorted().joined(separator: ", "))")
        }
        var upgradesAsked = KernelUpgradeRequest()
        upgradesAsked.layers = [.usable]
        upgradesAsked.hostLimit = 5
        var diffAsked = FleetDiffRequest(from: from, to: to, staleAfter: staleAfter.timeInterval)
        diffAsked.layers = [.usable]
        diffAsked.hostLimit = 5
        func file(_ name: String, _ body: [UInt8], _ type: String) -> HTTPResponse {
            var response = HTTPResponse(status: .ok, body: body)
            response.headers.set("Content-Type", type)
            response.headers.set("Content-Disposition", "attachment; filename=\"capreg-audit-\(name)\"")
            return response
        }
        do {
            switch download {
            case "timeline.csv", "timeline.json":
                let timeline = try store.capabilityTimeline(name: fact, from: from, to: to, points: AuditsPage.points(from: from, to: to))
                return download == "timeline.csv" ? file(download!, Array(AuditsPage.timelineCSV(timeline).utf8), "text/csv; charset=utf-8")
                    : file(download!, TimelineJSON.document(timeline).bytes, "application/json")
            case "upgrades.csv", "upgrades.json":
                let report = try store.kernelUpgrades(upgradesAsked)
                return download == "upgrades.csv" ? file(download!, Array(AuditsPage.upgradesCSV(report).utf8), "text/csv; charset=utf-8")
                    : file(download!, KernelUpgradeJSON.report(report, upgradesAsked).bytes, "application/json")
            case "diff.csv", "diff.json":
                let diff = try store.fleetDiff(diffAsked)
                return download == "diff.csv" ? file(download!, Array(AuditsPage.diffCSV(diff).utf8), "text/csv; charset=utf-8")
                    : file(download!, FleetDiffJSON.document(diff, diffAsked).bytes, "application/json")
            default:
                let page = AuditsPage(from: from, to: to, fact: fact,
                                      timeline: try store.capabilityTimeline(name: fact, from: from, to: to, points: AuditsPage.points(from: from, to: to)),
                                      upgrades: try store.kernelUpgrades(upgradesAsked), diff: try store.fleetDiff(diffAsked))
                return Layout.response(.ok, page.render())
            }
        } catch let error as AuditRequestError {
            throw APIError.badParameter(error.parameter, error.message)
        }
    }
}

/// The audits page's chart as JSON: the times, the hosts with a state at each, and per kernel series its counts.
public enum TimelineJSON {
    public static func document(_ t: CapabilityTimeline) -> JSONValue {
        .object([
            ("fact", .string(t.name)),
            ("times", .array(t.times.map { .string(RFC3339.format($0)) })),
            ("hosts", .array(t.hosts.map { .int($0) })),
            ("series", .array(t.series.map { .object([("kernel", .string($0.kernel)), ("counts", .array($0.counts.map { .int($0) }))]) })),
        ])
    }
}
