import CSVText
import Decoders
import Foundation
import Store
import Timestamps

/// GET /ui/audits: the history reports where people would rather look than read (docs/audits.md): a chart
/// of how many hosts held a usable capability over time, per kernel series; what kernel upgrades changed
/// of what a VM can get; and the fleet at the two dates. Each part downloads as CSV (the one CSV writer)
/// or JSON (the endpoints' documents).
public struct AuditsPage: Sendable {
    public var from: Date
    public var to: Date
    public var fact: String
    public var timeline: CapabilityTimeline
    public var upgrades: KernelUpgradeReport
    public var diff: FleetDiff

    public init(from: Date, to: Date, fact: String, timeline: CapabilityTimeline, upgrades: KernelUpgradeReport, diff: FleetDiff) {
        self.from = from
        self.to = to
        self.fact = fact
        self.timeline = timeline
        self.upgrades = upgrades
        self.diff = diff
    }

    /// The chart's points: one a day, at most Registry.maxTimelinePoints.
    public static func points(from: Date, to: Date) -> Int {
        min(Registry.maxTimelinePoints, max(2, Int(to.timeIntervalSince(from) / 86_400) + 1))
    }

    func parameters(download: String? = nil) -> [(String, String)] {
        var out = [("from", DisplayText.day(from)), ("to", DisplayText.day(to)), ("fact", fact)]
        if let download { out.append(("download", download)) }
        return out
    }

    func downloads(_ part: String) -> HTML {
        "<span class=\"chips\"><a href=\"\(Links.audits(parameters(download: part + ".csv")))\">CSV</a> "
            + "<a href=\"\(Links.audits(parameters(download: part + ".json")))\">JSON</a></span>"
    }

    public func render() -> HTML {
        let options: [HTML] = Registry.timelineFacts.map { name in
            name == fact ? "<option selected>\(name)</option>" : "<option>\(name)</option>"
        }
        var body: HTML = """
            <h1>Audits</h1>
            <p class="sub">History turned into answers: what kernel upgrades changed, and the fleet at two dates \
            (midnight UTC) as the registry knows them now. <code>capreg audit kernel-upgrade</code>, <code>capreg diff</code>.</p>
            <form class="q card" method="get" action="/ui/audits">
            <label>from <input type="date" name="from" value="\(DisplayText.day(from))"></label>
            <label>to <input type="date" name="to" value="\(DisplayText.day(to))"></label>
            <label>capability <select name="fact">\(options)</select></label>
            <button type="submit">Show</button>
            </form>
            """
        body += "<section class=\"card\"><h2>Hosts where \(fact) holds, per kernel series \(downloads("timeline"))</h2>\(chart())</section>"
        body += "<section class=\"card\"><h2>What kernel upgrades changed of what a VM can get \(downloads("upgrades"))</h2>\(upgradeTable())</section>"
        body += "<section class=\"card\"><h2>The fleet on \(DisplayText.day(from)) and on \(DisplayText.day(to)) \(downloads("diff"))</h2>\(diffTables())</section>"
        return Layout.page(title: "Audits", section: .audits, body: body)
    }

    /// One stacked bar per date, a segment per kernel series (the five largest; the rest as `other`).
    func chart() -> HTML {
        guard !timeline.series.isEmpty else { return "<p class=\"empty\">No host held \(fact) between these dates.</p>" }
        let (names, rows) = Self.chartSeries(timeline)
        let bars = timeline.times.enumerated().map { i, time in
            Charts.Bar(label: DisplayText.day(time), segments: rows.enumerated().map { Charts.Segment(series: $0.offset, value: $0.element[i]) })
        }
        return Charts.bars(bars, title: "Hosts where \(fact) holds, per kernel series", labelWidth: 100) + Charts.legend(names)
    }

    /// The series a chart draws: the five largest, then the rest summed as `other`.
    static func chartSeries(_ timeline: CapabilityTimeline) -> (names: [String], rows: [[Int]]) {
        let shown = timeline.series.prefix(5)
        var names = shown.map(\.kernel)
        var rows = shown.map(\.counts)
        let rest = timeline.series.dropFirst(5)
        if !rest.isEmpty {
            names.append("other")
            rows.append(timeline.times.indices.map { i in rest.reduce(0) { $0 + $1.counts[i] } })
        }
        return (names, rows)
    }

    func upgradeTable() -> HTML {
        guard !upgrades.pairs.isEmpty else { return "<p class=\"empty\">No host has moved between kernels.</p>" }
        var rows: HTML = ""
        for pair in upgrades.pairs {
            let causes = "registers same \(pair.causes[.kernel] ?? 0), changed \(pair.causes[.hardware] ?? 0), not reported \(pair.causes[.unknown] ?? 0)"
            let changes: [HTML] = pair.changes.map { change in
                let names: [HTML] = change.hostnames.map { "<a href=\"\(Links.host($0))\">\($0)</a> " }
                return "<div>\(change.change.rawValue) <b>\(change.name)</b> \(DisplayText.value(change.before)) → \(DisplayText.value(change.after)): \(DisplayText.hosts(change.hosts)) \(names)\(change.moreHosts ? "…" : "")</div>"
            }
            let cell: HTML = changes.isEmpty ? "none" : "\(changes)"
            rows += "<tr><td>\(pair.from) → \(pair.to)</td><td>\(pair.hosts)</td><td>\(causes)</td><td>\(cell)</td></tr>"
        }
        return "<table><thead><tr><th>kernels</th><th>hosts</th><th>cause</th><th>usable capabilities</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    func diffTables() -> HTML {
        var presence: HTML = ""
        for kind in PresenceChange.allCases {
            let list = diff.presence[kind] ?? .none
            let names: [HTML] = list.hostnames.map { "<a href=\"\(Links.host($0))\">\($0)</a> " }
            presence += "<tr><td>\(kind.rawValue)</td><td>\(list.count)</td><td>\(names)\(list.moreHosts ? "…" : "")</td></tr>"
        }
        var changes: HTML = ""
        for change in diff.changes {
            let names: [HTML] = change.hosts.hostnames.map { "<a href=\"\(Links.host($0))\">\($0)</a> " }
            changes += "<tr><td>\(change.layer.rawValue)</td><td>\(change.change.rawValue)</td><td>\(change.name)</td><td>\(DisplayText.value(change.before))</td>"
                + "<td>\(DisplayText.value(change.after))</td><td>\(change.hosts.count)</td><td>\(names)\(change.hosts.moreHosts ? "…" : "")</td></tr>"
        }
        let hosts = "\(diff.hostsFrom) hosts (\(diff.freshFrom) fresh) on the first date, \(diff.hostsTo) (\(diff.freshTo) fresh) on the second"
        let changeTable: HTML = diff.changes.isEmpty ? "<p class=\"empty\">No usable capability changed on hosts present at both dates.</p>"
            : "<table><thead><tr><th>layer</th><th>change</th><th>fact</th><th>before</th><th>after</th><th>hosts</th><th>hostnames</th></tr></thead><tbody>\(changes)</tbody></table>"
        return """
            <p>\(hosts)</p>
            <table><thead><tr><th>hosts</th><th>count</th><th>hostnames</th></tr></thead><tbody>\(presence)</tbody></table>
            \(changeTable)
            """
    }

    // CSV downloads, through the one CSV writer.

    public static func timelineCSV(_ timeline: CapabilityTimeline) -> String {
        CSVWriter.document([["time", "hosts"] + timeline.series.map(\.kernel)] + timeline.times.indices.map { i in
            [RFC3339.format(timeline.times[i]), String(timeline.hosts[i])] + timeline.series.map { String($0.counts[i]) }
        })
    }

    public static func upgradesCSV(_ report: KernelUpgradeReport) -> String {
        var rows: [[String?]] = [["from", "to", "direction", "fact", "layer", "change", "before", "after", "hosts", "kernel", "hardware", "unknown"]]
        for pair in report.pairs {
            for c in pair.changes {
                rows.append([pair.from, pair.to, pair.isUpgrade ? "upgrade" : "downgrade", c.name, c.layer.rawValue, c.change.rawValue,
                             c.before?.description, c.after?.description, String(c.hosts)]
                            + ChangeCause.allCases.map { String(c.causes[$0] ?? 0) })
            }
        }
        return CSVWriter.document(rows)
    }

    public static func diffCSV(_ diff: FleetDiff) -> String {
        var rows: [[String?]] = [["kind", "fact", "layer", "change", "before", "after", "hosts"]]
        for kind in PresenceChange.allCases { rows.append(["presence", kind.rawValue, nil, nil, nil, nil, String(diff.presence[kind]?.count ?? 0)]) }
        for c in diff.changes {
            rows.append(["fact", c.name, c.layer.rawValue, c.change.rawValue, c.before?.description, c.after?.description, String(c.hosts.count)])
        }
        return CSVWriter.document(rows)
    }
}
