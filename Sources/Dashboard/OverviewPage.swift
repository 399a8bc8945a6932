import Foundation
import Store

/// GET /: the fleet at a glance. Counts by vendor and first-level format, hosts per kernel, the
/// capability × kernel matrix and the hosts that stopped reporting.
public struct OverviewPage: Sendable {
    public var now: Date
    /// The configured stale interval, as written (`2h`), and in seconds.
    public var staleAfterText: String
    public var staleAfterSeconds: Double
    public var stats: FleetStats
    public var vendorFormats: [(vendor: String?, format: String?, hosts: Int)]
    /// Current kernels in version order (at most `kernelLimit`).
    public var kernels: [KernelSummary]
    public var moreKernels: Bool
    /// Per release, hosts holding each of `matrixFacts` as true.
    public var trueFacts: [String: [String: Int]]
    public var staleTotal: Int
    public var stale: [StaleHost]

    /// The bool capabilities of the matrix, beside one column per first-level format.
    public static let matrixFacts = ["nesting", "pasid_bind", "vtd.scalable_mode", "vfio.pgsize_1g", "iommufd.cap.dirty_tracking"]
    public static let kernelLimit = 200
    public static let staleLimit = 50

    public init(now: Date, staleAfterText: String, staleAfterSeconds: Double, stats: FleetStats,
                vendorFormats: [(vendor: String?, format: String?, hosts: Int)], kernels: [KernelSummary], moreKernels: Bool,
                trueFacts: [String: [String: Int]], staleTotal: Int, stale: [StaleHost]) {
        self.now = now
        self.staleAfterText = staleAfterText
        self.staleAfterSeconds = staleAfterSeconds
        self.stats = stats
        self.vendorFormats = vendorFormats
        self.kernels = kernels
        self.moreKernels = moreKernels
        self.trueFacts = trueFacts
        self.staleTotal = staleTotal
        self.stale = stale
    }

    public func render() -> HTML {
        guard stats.hosts > 0 else {
            return Layout.page(title: "Fleet", section: .overview, body: """
                <h1>Fleet overview</h1>
                <div class="card"><p class="empty">No host has reported yet.</p>
                <p>Collectors push reports to <code>POST /v1/reports</code> (<code>capreg collect --push URL</code>).
                To look around first, <code>capreg synth --hosts 200 --days 10 --ingest</code> fills a registry with a synthetic fleet.</p></div>
                """)
        }
        return Layout.page(title: "Fleet", section: .overview, body: """
            <h1>Fleet overview</h1>
            <p class="sub">\(stats.hosts) hosts, reports from \(stats.oldestReport.map(DisplayText.time) ?? "–") to \
            \(stats.newestReport.map(DisplayText.time) ?? "–"); now \(DisplayText.time(now)).</p>
            \(kpis())
            <div class="grid">
            <section class="card"><h2>Hosts by IOMMU vendor and first-level format</h2>\(vendorChart())</section>
            <section class="card"><h2>Hosts by kernel release</h2>\(kernelChart())</section>
            </div>
            <section class="card"><h2>Key capabilities by kernel release</h2>
            <p class="muted">Hosts on each current kernel that support each capability now; a cell links to those hosts.</p>
            \(matrix())</section>
            <section class="card"><h2>Stale hosts</h2>\(staleTable())</section>
            """)
    }

    func kpis() -> HTML {
        func kpi(_ value: Int, _ label: String, warn: Bool = false) -> HTML {
            "<div class=\"kpi\(warn ? " warn" : "")\"><b>\(value)</b><span>\(label)</span></div>"
        }
        return """
            <div class="kpis">\(kpi(stats.hosts, "hosts"))\(kpi(stats.nesting, "nesting"))\(kpi(stats.pasidBind, "PASID bind"))\
            \(kpi(stats.kernels, "kernel releases"))\(kpi(stats.reports, "reports stored"))\
            \(kpi(staleTotal, "stale (not seen in \(staleAfterText))", warn: staleTotal > 0))</div>
            """
    }

    func vendorChart() -> HTML {
        let formats = Array(Set(vendorFormats.map { $0.format ?? "unknown" })).sorted()
        let vendors = Array(Set(vendorFormats.map { $0.vendor ?? "unknown" })).sorted()
        let bars = vendors.map { vendor in
            Charts.Bar(label: vendor, segments: formats.enumerated().map { i, format in
                Charts.Segment(series: i, value: vendorFormats.filter { ($0.vendor ?? "unknown") == vendor && ($0.format ?? "unknown") == format }
                    .reduce(0) { $0 + $1.hosts })
            }, href: vendor == "unknown" ? nil : Links.query([("where", "iommu.vendor = \(Self.quoted(vendor))")]))
        }
        let rows: [HTML] = vendorFormats.map { row in
            var terms: [String] = []
            if let v = row.vendor { terms.append("iommu.vendor = \(Self.quoted(v))") }
            // A host whose kernel nobody asked has no usable format: link to those too.
            terms.append(row.format.map { "first_level.format = \(Self.quoted($0))" } ?? "not known(first_level.format)")
            let count: HTML = terms.count == 2 ? "<a href=\"\(Links.query([("where", terms.joined(separator: " and "))]))\">\(row.hosts)</a>" : "\(row.hosts)"
            return "<tr><td class=\"mono\">\(row.vendor ?? "unknown")</td><td class=\"mono\">\(row.format ?? "unknown")</td><td class=\"num\">\(count)</td></tr>"
        }
        return Charts.bars(bars, title: "Hosts by IOMMU vendor, split by first-level format") + Charts.legend(formats.map { "first level: \($0)" })
            + "<table><thead><tr><th>vendor</th><th>first-level format</th><th class=\"num\">hosts</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    func kernelChart() -> HTML {
        let vendors = Array(Set(kernels.flatMap { $0.vendors.keys })).sorted()
        let bars = kernels.map { k in
            Charts.Bar(label: k.release, segments: vendors.enumerated().map { i, v in Charts.Segment(series: i, value: k.vendors[v] ?? 0) },
                       href: Links.query([("where", "kernel = \(Self.quoted(k.release))")]))
        }
        let note: HTML = moreKernels ? "<p class=\"muted\">Only the first \(Self.kernelLimit) releases are shown.</p>" : ""
        return Charts.bars(bars, title: "Hosts by kernel release, split by IOMMU vendor") + Charts.legend(vendors) + note
    }

    func matrix() -> HTML {
        let formats = Array(Set(kernels.flatMap { $0.firstLevelFormats.keys })).filter { $0 != "none" }.sorted()
        var head: HTML = "<th>kernel release</th><th class=\"num\">hosts</th>"
        for name in Self.matrixFacts { head += "<th class=\"mono\">\(Self.breakable(name))</th>" }
        for format in formats { head += "<th class=\"mono\">first_<wbr>level = \(format)</th>" }
        var rows: HTML = ""
        for k in kernels {
            let kernelTerm = "kernel = \(Self.quoted(k.release))"
            var row: HTML = "<td class=\"mono\">\(k.release)</td><td class=\"num\">\(k.hosts)</td>"
            for name in Self.matrixFacts {
                row += cell(trueFacts[k.release]?[name] ?? 0, of: k.hosts, where: "\(kernelTerm) and \(name)")
            }
            for format in formats {
                row += cell(k.firstLevelFormats[format] ?? 0, of: k.hosts, where: "\(kernelTerm) and first_level.format = \(Self.quoted(format))")
            }
            rows += "<tr>\(row)</tr>"
        }
        return "<table class=\"matrix\"><thead><tr>\(head)</tr></thead><tbody>\(rows)</tbody></table>"
    }

    func cell(_ count: Int, of hosts: Int, where expr: String) -> HTML {
        let share = hosts == 0 ? 0 : count * 100 / hosts
        let heat = count == 0 ? 0 : min(5, 1 + share / 20)
        return "<td class=\"cell h\(heat)\"><a href=\"\(Links.query([("where", expr)]))\">\(count)<small>\(share)%</small></a></td>"
    }

    func staleTable() -> HTML {
        guard staleTotal > 0 else {
            return "<p class=\"empty\">Every host reported within the last \(staleAfterText) (capreg serve --stale-after).</p>"
        }
        let rows: [HTML] = stale.map { h in
            """
            <tr class="stale"><td class="mono name"><a href="\(Links.host(h.hostname))">\(h.hostname)</a></td>\
            <td>\(DisplayText.time(h.lastSeen))</td><td class="num">\(DisplayText.age(now.timeIntervalSince(h.lastSeen)))</td>\
            <td class="mono">\(h.kernelRelease ?? "–")</td></tr>
            """
        }
        let shown = staleTotal > stale.count ? " (the \(stale.count) silent longest are listed)" : ""
        return """
            <p class="muted">\(staleTotal) of \(stats.hosts) hosts have not reported in the last \(staleAfterText)\(shown).</p>
            <table><thead><tr><th>hostname</th><th>last seen</th><th class="num">silent for</th><th>kernel</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    /// A long fact name that may wrap after its dots and underscores (a narrow matrix column).
    static func breakable(_ name: String) -> HTML {
        var out: HTML = ""
        var part = ""
        for c in name {
            part.append(c)
            if c == "." || c == "_" {
                out += "\(part)<wbr>"
                part = ""
            }
        }
        return out + "\(part)"
    }

    /// A string literal of the query language.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
