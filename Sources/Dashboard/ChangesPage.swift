import Decoders
import Foundation
import Store

/// GET /ui/changes?since=DATE&until=DATE&where=EXPR: the fleet's change feed between two dates, as
/// GET /v1/changes computes it (the same store page, filter and cursor), with a chart of which facts moved.
public struct ChangesPage: Sendable {
    public var since: Date
    public var until: Date
    public var expression: String?
    public var refusal: QueryPage.Refusal?
    public var hosts: [ChangedHost]
    /// The cursor of the next page, when more hosts may follow.
    public var nextCursor: String?
    /// The registry's oldest and newest report, to offer the span that holds data.
    public var oldestReport: Date?
    public var newestReport: Date?

    public init(since: Date, until: Date, expression: String?, refusal: QueryPage.Refusal? = nil, hosts: [ChangedHost],
                nextCursor: String?, oldestReport: Date?, newestReport: Date?) {
        self.since = since
        self.until = until
        self.expression = expression
        self.refusal = refusal
        self.hosts = hosts
        self.nextCursor = nextCursor
        self.oldestReport = oldestReport
        self.newestReport = newestReport
    }

    func parameters(cursor: String? = nil) -> [(String, String)] {
        var out = [("since", DisplayText.day(since)), ("until", DisplayText.day(until))]
        if let expression, !expression.isEmpty { out.append(("where", expression)) }
        if let cursor { out.append(("cursor", cursor)) }
        return out
    }

    public func render() -> HTML {
        var body: HTML = """
            <h1>Changes</h1>
            <p class="sub">Per host, the facts gained, lost or changed between its state at the first date and at the second \
            (dates are midnight UTC), with the kernel before and after: <code>GET /v1/changes</code>.</p>
            <form class="q card" method="get" action="/ui/changes">
            <label>from <input type="date" name="since" value="\(DisplayText.day(since))"></label>
            <label>to <input type="date" name="until" value="\(DisplayText.day(until))"></label>
            <input type="text" name="where" value="\(expression ?? "")" placeholder="only hosts matching (at the second date), e.g. nesting" \
            aria-label="query expression">
            <button type="submit">Show</button>
            \(spanHint())
            </form>
            """
        if let refusal {
            let fixes: [HTML] = zip(refusal.suggestions, refusal.corrections).map { name, fixed in
                var fixedPage = self
                fixedPage.expression = fixed
                return "<a href=\"\(Links.changes(fixedPage.parameters()))\">\(name)</a>"
            }
            let hint: HTML = fixes.isEmpty ? "" : "<div class=\"chips\">did you mean: \(fixes)</div>"
            body += "<div class=\"error\" role=\"alert\"><b>\(refusal.message)</b><pre class=\"mono\">\(refusal.pointing)</pre>\(hint)</div>"
        } else {
            body += results()
        }
        return Layout.page(title: "Changes", section: .changes, body: body)
    }

    func spanHint() -> HTML {
        guard let oldest = oldestReport, let newest = newestReport else { return "" }
        // The day after the newest report, so that its changes fall inside the window.
        let end = DisplayText.day(newest.addingTimeInterval(86_400))
        let link = Links.changes([("since", DisplayText.day(oldest)), ("until", end)])
        return "<div class=\"chips\">reports span \(DisplayText.time(oldest)) – \(DisplayText.time(newest)): <a href=\"\(link)\">the whole span</a></div>"
    }

    func results() -> HTML {
        guard !hosts.isEmpty else {
            let more: HTML = nextCursor.map { "<a href=\"\(Links.changes(parameters(cursor: $0)))\">look further</a>" } ?? ""
            return "<div class=\"card\"><p class=\"empty\">No host changed between \(DisplayText.day(since)) and \(DisplayText.day(until)) in this part of the fleet.</p>\(more)</div>"
        }
        var tally: [String: (gained: Int, lost: Int, changed: Int)] = [:]
        var kernelUpgrades = 0
        for host in hosts {
            if host.change.kernelBefore != nil && host.change.kernelBefore != host.change.kernelAfter { kernelUpgrades += 1 }
            for c in host.change.changes {
                var t = tally[c.name] ?? (0, 0, 0)
                if c.before == nil { t.gained += 1 } else if c.after == nil { t.lost += 1 } else { t.changed += 1 }
                tally[c.name] = t
            }
        }
        let top = tally.sorted { ($0.value.gained + $0.value.lost + $0.value.changed, $1.key) > ($1.value.gained + $1.value.lost + $1.value.changed, $0.key) }
            .prefix(12)
        let bars = top.map { name, t in
            Charts.Bar(label: name, segments: [Charts.Segment(series: 2, value: t.gained), Charts.Segment(series: 4, value: t.lost),
                                              Charts.Segment(series: 1, value: t.changed)])
        }
        let legend: HTML = "<div class=\"legend\"><span><i class=\"f2\"></i>gained</span><span><i class=\"f4\"></i>lost</span><span><i class=\"f1\"></i>changed</span></div>"
        let rows: [HTML] = hosts.map { host in
            let c = host.change
            let kernel: HTML = c.kernelBefore == c.kernelAfter
                ? "<span class=\"mono\">\(c.kernelAfter ?? "–")</span>"
                : c.kernelBefore == nil ? "<span class=\"tag kern\">new host</span> <span class=\"mono\">\(c.kernelAfter ?? "–")</span>"
                : "<span class=\"mono\">\(c.kernelBefore ?? "–") → \(c.kernelAfter ?? "–")</span>"
            let items: [HTML] = c.changes.map { f in
                switch (f.before, f.after) {
                case (nil, let a?): return "<li><span class=\"tag gain\">gained</span> <span class=\"mono\">\(f.name) = \(a.description)</span></li>"
                case (let b?, nil): return "<li><span class=\"tag lose\">lost</span> <span class=\"mono\">\(f.name) (was \(b.description))</span></li>"
                default: return "<li><span class=\"tag chg\">changed</span> <span class=\"mono\">\(f.name): \(DisplayText.value(f.before)) → \(DisplayText.value(f.after))</span></li>"
                }
            }
            let list: HTML = items.isEmpty ? "<span class=\"muted\">kernel only</span>"
                : items.count <= 6 ? "<ul>\(items)</ul>"
                : "<details><summary>\(items.count) facts</summary><ul>\(items)</ul></details>"
            return "<tr><td class=\"mono name\"><a href=\"\(Links.host(c.hostname))\">\(c.hostname)</a></td><td>\(kernel)</td><td>\(list)</td></tr>"
        }
        let next: HTML = nextCursor.map { "<p><a href=\"\(Links.changes(parameters(cursor: $0)))\">Next hosts →</a></p>" } ?? ""
        return """
            <div class="grid"><section class="card"><h2>What moved</h2>\
            <p class="muted">\(hosts.count) hosts on this page changed; \(kernelUpgrades) of them changed kernel.</p>\
            \(Charts.bars(bars, title: "Facts gained, lost and changed across the hosts on this page", width: 760, labelWidth: 300))\(legend)</section></div>
            <section class="card"><h2>Hosts</h2><table><thead><tr><th>hostname</th><th>kernel</th><th>changes</th></tr></thead>\
            <tbody>\(rows)</tbody></table>\(next)</section>
            """
    }
}
