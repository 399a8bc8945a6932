import Decoders
import Foundation
import Store

/// GET /ui/host?name=H: one host's current state, its units' capabilities (decoded values beside the
/// raw bytes), and its timeline across kernel upgrades.
public struct HostDetailPage: Sendable {
    public var detail: HostDetail
    public var steps: [TimelineStep]
    public var now: Date
    public var staleAfterText: String
    public var staleAfterSeconds: Double
    /// Reports an admin withdrew (capreg retract): the timeline is the history without them.
    public var retractions: [Retraction]

    public init(detail: HostDetail, steps: [TimelineStep], now: Date, staleAfterText: String, staleAfterSeconds: Double,
                retractions: [Retraction] = []) {
        self.retractions = retractions
        self.detail = detail
        self.steps = steps
        self.now = now
        self.staleAfterText = staleAfterText
        self.staleAfterSeconds = staleAfterSeconds
    }

    static let keyFacts = ["iommu.vendor", "first_level.format", "nesting", "pasid_bind", "pasid_bits", "addr_width"]

    public func render() -> HTML {
        let s = detail.state
        let silent = now.timeIntervalSince(s.lastSeen)
        let staleTag: HTML = silent > staleAfterSeconds
            ? " <span class=\"tag lose\">stale: silent for \(DisplayText.age(silent)) (over \(staleAfterText))</span>" : ""
        let labels: [HTML] = s.labels.sorted { $0.key < $1.key }.map { key, value in
            "<a href=\"\(Links.query([("where", "label.\(key) = \(OverviewPage.quoted(value))")]))\">\(key) = \(value)</a>"
        }
        let facts = Dictionary(s.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var keys: HTML = ""
        for name in Self.keyFacts {
            keys += "<div class=\"kpi\"><b class=\"mono\">\(DisplayText.value(facts[name]))</b><span>\(name)</span></div>"
        }
        let labelChips: HTML = labels.isEmpty ? "" : "<div class=\"chips\">labels: \(labels)</div>"
        return Layout.page(title: s.hostname, section: .host, body: """
            <h1 class="mono name">\(s.hostname)</h1>
            <p class="sub">kernel <span class="mono">\(s.kernelRelease ?? "–")</span> · machine id <span class="mono">\(s.machineId ?? "–")</span> · \
            first seen \(DisplayText.time(s.firstSeen)) · last seen \(DisplayText.time(s.lastSeen))\(staleTag)</p>
            \(labelChips)
            <div class="kpis">\(keys)</div>
            <section class="card"><h2>What a VM can get here, and why</h2>\(usable(facts))</section>
            <section class="card"><h2>Timeline</h2>\(timeline())</section>
            \(retracted())
            <section class="card"><h2>Units and capabilities</h2>\(units())</section>
            <section class="card"><h2>Current facts (\(s.facts.count))</h2>\(factColumns(s.facts))</section>
            """)
    }

    /// Each usable fact beside its hardware half and the kernel's evidence (docs/capabilities.md).
    func usable(_ facts: [String: FactValue]) -> HTML {
        var rows: HTML = ""
        for name in CrossVendor.usableNames {
            rows += "<tr><td class=\"mono\">\(name)</td><td class=\"mono\">\(DisplayText.value(facts[name]))</td>"
                + "<td class=\"mono\">\(DisplayText.value(facts[CrossVendor.hw(name)]))</td>"
                + "<td>\(facts[CrossVendor.evidence(name)]?.description ?? "–")</td></tr>"
        }
        return "<table><thead><tr><th>fact</th><th>usable now</th><th>hardware (hw.)</th><th>evidence</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    /// Nothing when the host has no retracted report.
    func retracted() -> HTML {
        guard !retractions.isEmpty else { return "" }
        var rows: HTML = ""
        for r in retractions {
            rows += "<tr><td class=\"mono\">\(r.reportId)</td><td>\(DisplayText.time(r.collectedAt))</td>"
                + "<td>\(DisplayText.time(r.retractedAt))</td><td class=\"mono\">\(String(r.revision))</td><td>\(r.reason)</td></tr>"
        }
        return "<section class=\"card\"><h2>Retracted reports (\(retractions.count))</h2><table><thead><tr><th>report</th><th>collected</th>"
            + "<th>retracted</th><th>revision</th><th>reason</th></tr></thead><tbody>\(rows)</tbody></table></section>"
    }

    func timeline() -> HTML {
        guard !steps.isEmpty else { return "<p class=\"empty\">No versions recorded.</p>" }
        var items: HTML = ""
        for step in steps.reversed() {
            let span = "\(DisplayText.time(step.from)) → \(step.to.map(DisplayText.time) ?? "now")"
            var body: HTML
            if step.isFirst {
                body = "<span class=\"tag kern\">first report</span> on <span class=\"mono\">\(step.kernel ?? "–")</span>, \(step.factCount) facts"
            } else {
                body = step.kernelChanged
                    ? "<span class=\"tag kern\">kernel</span> <span class=\"mono\">\(step.kernelBefore ?? "–") → \(step.kernel ?? "–")</span>"
                    : "same kernel <span class=\"mono\">\(step.kernel ?? "–")</span>"
                if step.gained.isEmpty && step.lost.isEmpty && step.changed.isEmpty {
                    body += " · no fact changed"
                } else {
                    body += " · <span class=\"gain\">+\(step.gained.count) gained</span> · <span class=\"lose\">−\(step.lost.count) lost</span>"
                        + " · <span class=\"chg\">\(step.changed.count) changed</span>"
                }
                var lines: [HTML] = []
                for f in step.gained { lines.append("<li><span class=\"tag gain\">gained</span> <span class=\"mono\">\(f.name) = \(f.value.description)</span></li>") }
                for f in step.lost { lines.append("<li><span class=\"tag lose\">lost</span> <span class=\"mono\">\(f.name) (was \(f.value.description))</span></li>") }
                for c in step.changed {
                    lines.append("<li><span class=\"tag chg\">changed</span> <span class=\"mono\">\(c.name): \(c.before.description) → \(c.after.description)</span></li>")
                }
                if !lines.isEmpty { body += "<ul>\(lines)</ul>" }
            }
            items += "<li><b>\(span)</b><br>\(body)\(Self.writtenBy(step.source))</li>"
        }
        return "<p class=\"muted\">Newest first. Each step is a new version of the host's facts or kernel.</p><ol class=\"timeline\">\(items)</ol>"
    }

    /// Which report a step comes from, who wrote it and from where (migrations/0010). Identities are the
    /// registry's own words, peers the addresses it saw; both still go through the escaping interpolation.
    static func writtenBy(_ source: ReportSource?) -> HTML {
        guard let source else { return "" }
        let who: HTML = source.writtenBy.map { "<span class=\"mono\">\($0)</span>" } ?? "<span class=\"muted\">unknown</span>"
        let peer: HTML = source.peer.map { " from <span class=\"mono\">\($0)</span>" } ?? ""
        return "<div class=\"muted\">report <span class=\"mono\">\(source.reportId)</span> · written by \(who)\(peer)</div>"
    }

    func units() -> HTML {
        guard !detail.capabilities.isEmpty else { return "<p class=\"empty\">No capability sources are open for this host.</p>" }
        var out: HTML = ""
        var index = 0
        let caps = detail.capabilities
        while index < caps.count {
            let unit = caps[index].unit
            var rows: HTML = ""
            while index < caps.count && caps[index].unit == unit {
                let c = caps[index]
                let decoded = RawBytes.decoded(c.decodedJSON)
                // Small capabilities (a VFIO chain entry) open by default; register dumps of 70+ facts stay folded.
                let open: HTML = (decoded?.facts.count ?? 0) <= 8 ? " open" : ""
                let notes: HTML = (decoded?.notes ?? []).isEmpty ? "" : "<ul>\((decoded?.notes ?? []).map { n -> HTML in "<li>\(n)</li>" })</ul>"
                rows += """
                    <tr><td class="mono nw">\(c.capability)</td><td class="num">\(c.version)</td><td class="mono nw">\(c.kernelRelease)</td>\
                    <td class="nw">\(DisplayText.time(c.validFrom))</td><td class="num">\(c.decoderVersion)</td>\
                    <td><details\(open)><summary>\(decoded?.facts.count ?? 0) facts · \(c.raw.count) bytes</summary>\
                    \(factTable(decoded?.facts ?? []))\(notes)<pre class="hex">\(RawBytes.hexDump(c.raw))</pre></details></td></tr>
                    """
                index += 1
            }
            out += """
                <h3 class="mono">\(unit)</h3>
                <table><thead><tr><th>capability</th><th class="num">version</th><th>kernel</th><th>since</th><th class="num">decoder</th>\
                <th>decoded values and raw bytes</th></tr></thead><tbody>\(rows)</tbody></table>
                """
        }
        return out
    }

    /// Every current fact, name and value, flowing in columns (a host has about a hundred).
    func factColumns(_ facts: [Fact]) -> HTML {
        guard !facts.isEmpty else { return "<p class=\"empty\">No facts.</p>" }
        let items: [HTML] = facts.map { "<div><span class=\"mono muted\">\($0.name)</span> <span class=\"mono\">\($0.value.description)</span></div>" }
        return "<div class=\"facts\">\(items)</div>"
    }

    func factTable(_ facts: [(String, String)]) -> HTML {
        guard !facts.isEmpty else { return "<p class=\"empty\">No facts.</p>" }
        let rows: [HTML] = facts.map { "<tr><td class=\"mono\">\($0.0)</td><td class=\"mono\">\($0.1)</td></tr>" }
        return "<table><thead><tr><th>name</th><th>value</th></tr></thead><tbody>\(rows)</tbody></table>"
    }
}
