/// GET /ui/query?where=EXPR: the query box, a refused expression shown as the API refuses it (same
/// message, position and nearest names, plus a caret under the spot), and the matching hosts as a table
/// sorted by any column (links, no script), with a CSV download (QueryTable.csvRowLimit rows per file).
public struct QueryPage: Sendable {
    /// What the API says about a refused expression or field list.
    public struct Refusal: Sendable {
        /// The API's message, e.g. `where: at 0: unknown name 'kernal'; did you mean kernel?`.
        public var message: String
        /// The refused text with a caret under the position (QueryError.pointing).
        public var pointing: String
        public var suggestions: [String]
        /// Corrected expressions, one per suggestion (empty when the refusal was not about `where`).
        public var corrections: [String]

        public init(message: String, pointing: String, suggestions: [String], corrections: [String]) {
            self.message = message
            self.pointing = pointing
            self.suggestions = suggestions
            self.corrections = corrections
        }
    }

    /// nil: no query asked yet (the form and examples only).
    public var expression: String?
    public var fields: String?
    public var refusal: Refusal?
    public var table: QueryTable?
    /// More hosts match than the page holds.
    public var more: Bool
    public var sort: String?
    public var descending: Bool

    public init(expression: String?, fields: String?, refusal: Refusal? = nil, table: QueryTable? = nil, more: Bool = false,
                sort: String? = nil, descending: Bool = false) {
        self.expression = expression
        self.fields = fields
        self.refusal = refusal
        self.table = table
        self.more = more
        self.sort = sort
        self.descending = descending
    }

    public static let examples = [
        "pasid_bind and first_level.format = \"intel-vtd\"",
        "nesting and kernel >= \"6.8\"",
        "iommu.vendor = \"amd\" and not pasid_bind",
        "has(nesting.revision)",
        "label.pool = \"gpu\" and pasid_bits >= 20",
    ]

    /// The parameters that reproduce this page (for sort links and the CSV link).
    public func parameters(sort: String? = nil, descending: Bool = false, csv: Bool = false) -> [(String, String)] {
        var out: [(String, String)] = [("where", expression ?? "")]
        if let fields, !fields.isEmpty { out.append(("fields", fields)) }
        if let sort { out.append(("sort", sort)) }
        if descending { out.append(("order", "desc")) }
        if csv { out.append(("format", "csv")) }
        return out
    }

    public func render() -> HTML {
        var body: HTML = """
            <h1>Query</h1>
            <p class="sub">The query language of <code>capreg query</code> and <code>GET /v1/hosts?where=</code> \
            (docs/queries.md): facts by vocabulary name, <code>kernel</code>, <code>label.KEY</code>, <code>has(NAME)</code>, \
            <code>and</code>/<code>or</code>/<code>not</code>.</p>
            <form class="q card" method="get" action="/ui/query">
            <input type="text" name="where" value="\(expression ?? "")" placeholder="pasid_bind and first_level.format = &quot;intel-vtd&quot;" \
            aria-label="query expression" autofocus>
            <input type="text" name="fields" value="\(fields ?? "")" placeholder="more columns: label.rack, pasid_bits" aria-label="extra columns">
            <button type="submit">Run</button>
            <div class="chips">\(Self.examples.map { e -> HTML in "<a href=\"\(Links.query([("where", e)]))\">\(e)</a>" })</div>
            </form>
            """
        if let refusal {
            let fixes: [HTML] = zip(refusal.suggestions, refusal.corrections).map { name, fixed in
                "<a href=\"\(Links.query([("where", fixed)]))\">\(name)</a>"
            }
            let hint: HTML = fixes.isEmpty ? "" : "<div class=\"chips\">did you mean: \(fixes)</div>"
            body += """
                <div class="error" role="alert"><b>\(refusal.message)</b><pre class="mono">\(refusal.pointing)</pre>\(hint)</div>
                """
        }
        if let table { body += results(table) }
        return Layout.page(title: "Query", section: .query, body: body)
    }

    func results(_ table: QueryTable) -> HTML {
        guard !table.hosts.isEmpty else {
            return "<div class=\"card\"><p class=\"empty\">No host matches \(expression.map { "“\($0)”" } ?? "").</p></div>"
        }
        let count = more ? "The first \(table.hosts.count) matching hosts (by hostname); more match: the CSV has up to \(QueryTable.csvRowLimit) per download, its Link header points to the next."
            : "\(table.hosts.count) matching host\(table.hosts.count == 1 ? "" : "s")."
        var head: HTML = ""
        for name in table.header {
            let active = sort == name || (sort == nil && name == "hostname")
            let nextDescending = active && !descending
            let arrow = active ? (descending ? " ▼" : " ▲") : ""
            let sortState = active ? (descending ? "descending" : "ascending") : "none"
            head += "<th aria-sort=\"\(sortState)\"><a href=\"\(Links.query(parameters(sort: name, descending: nextDescending)))\">\(name)\(arrow)</a></th>"
        }
        let rows: [HTML] = table.rows.map { cells in
            var row: HTML = ""
            for (i, cell) in cells.enumerated() {
                if i == 0, let name = cell {
                    row += "<td class=\"mono name\"><a href=\"\(Links.host(name))\">\(name)</a></td>"
                } else {
                    row += cell.map { "<td class=\"mono\">\($0)</td>" } ?? "<td class=\"muted\">–</td>"
                }
            }
            return "<tr>\(row)</tr>"
        }
        return """
            <section class="card"><p>\(count) <a href="\(Links.query(parameters(sort: sort, descending: descending, csv: true)))">Download CSV</a></p>
            <table><thead><tr>\(head)</tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }
}
