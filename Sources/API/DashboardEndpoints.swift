import Dashboard
import Decoders
import Foundation
import Query
import Server
import Store

/// The dashboard's pages (Sources/Dashboard renders them): the same Parameters, store calls and query
/// parser as the JSON endpoints, so a refused parameter or expression reads exactly as the API says it.
extension API {
    func dashboardRefusal(_ error: APIError) -> HTTPResponse {
        var response = Layout.response(error.status, Layout.errorPage(error.status, message: error.message))
        for (name, value) in error.headers { response.headers.set(name, value) }
        return response
    }

    /// GET /: the fleet overview.
    func dashboardOverview(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        let now = Date()
        let kernels = try store.kernelSummaries(after: nil, limit: OverviewPage.kernelLimit + 1).rows
        let stale = try store.staleHosts(seenBefore: now.addingTimeInterval(-staleAfter.timeInterval), limit: OverviewPage.staleLimit)
        let page = OverviewPage(
            now: now, staleAfterText: staleAfter.description, staleAfterSeconds: staleAfter.timeInterval, stats: try store.fleetStats(),
            vendorFormats: try store.vendorFormatCounts(), kernels: kernels.prefix(OverviewPage.kernelLimit).map(\.summary),
            moreKernels: kernels.count > OverviewPage.kernelLimit, trueFacts: try store.trueFactCountsByKernel(OverviewPage.matrixFacts),
            staleTotal: stale.total, stale: stale.hosts)
        return Layout.response(.ok, page.render())
    }

    /// GET /ui/query?where=EXPR&fields=a,b&sort=COLUMN&order=desc&limit=N&format=csv&cursor=C
    func dashboardQuery(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["where", "fields", "sort", "order", "limit", "format", "cursor"])
        let csv = try Self.csvFormat(p)
        guard ["asc", "desc", nil].contains(p.string("order")) else {
            throw APIError.badParameter("order", "expected asc or desc, found \"\(p.string("order")!.prefix(40))\"")
        }
        // Absent `where`: the form alone; present but blank: every host, as in GET /v1/hosts.
        guard let text = p.string("where") else {
            if csv { throw APIError.badParameter("where", "required with format=csv") }
            return Layout.response(.ok, QueryPage(expression: nil, fields: p.string("fields")).render())
        }
        var page = QueryPage(expression: text, fields: p.string("fields"), sort: p.string("sort"), descending: p.string("order") == "desc")
        let expr: QueryExpr?
        let fields: [QueryTerm]?
        do {
            expr = try p.expression("where")
            fields = try p.fields()
        } catch {
            guard !csv, let refusal = Self.refusal(error, expression: text, fields: p.string("fields") ?? "") else { throw error }
            page.refusal = refusal
            return Layout.response(error.status, page.render())
        }
        let columns = fields ?? expr?.terms ?? []
        let names = Set(columns.compactMap { if case .fact(let name, _) = $0 { name } else { nil } })
        // The page shows one store page, a CSV download at most csvRowLimit rows (store pages of up to 1000
        // after `cursor`), each sorted within itself; the next download goes on after the last hostname.
        let limit = p.string("limit") == nil ? (csv ? QueryTable.csvRowLimit : 500) : try p.limit(max: csv ? QueryTable.csvRowLimit : HostQueryLimits.max)
        var hosts: [QueriedHost] = []
        var cursor = p.string("cursor")
        do {
            repeat {
                let result = try store.queryHosts(expr, asOf: nil, fields: names, limit: min(HostQueryLimits.max, limit - hosts.count), after: cursor)
                hosts += result.hosts
                cursor = result.nextCursor
            } while cursor != nil && hosts.count < limit
        } catch let error as HostQueryError {
            throw APIError.hostQuery(error)
        }
        page.more = cursor != nil
        let table = QueryTable(columns: columns, hosts: hosts).sorted(by: page.sort, descending: page.descending)
        if csv {
            var response = HTTPResponse.text(.ok, table.csv(), contentType: "text/csv; charset=utf-8")
            response.headers.set("Content-Disposition", "attachment; filename=\"capreg-hosts.csv\"")
            response.headers.set("X-Content-Type-Options", "nosniff")
            if let cursor {
                var next = page.parameters(sort: page.sort, descending: page.descending, csv: true)
                if let text = p.string("limit") { next.append(("limit", text)) }
                next.append(("cursor", cursor))
                response.headers.set("X-Next-Cursor", cursor)
                response.headers.set("Link", "<\(Links.query(next))>; rel=\"next\"")
            }
            return response
        }
        page.table = table
        return Layout.response(.ok, page.render())
    }

    static func csvFormat(_ p: Parameters) throws(APIError) -> Bool {
        switch p.string("format") {
        case nil, "html": return false
        case "csv": return true
        case let other?: throw APIError.badParameter("format", "expected html or csv, found \"\(other.prefix(40))\"")
        }
    }

    /// A refused `where` or `fields` as the page shows it: the API's message, a caret under the position,
    /// and for an unknown name in `where` the expression with each suggestion put in its place.
    static func refusal(_ error: APIError, expression: String, fields: String) -> QueryPage.Refusal? {
        var position: Int?
        var suggestions: [String] = []
        var parameter: String?
        for (key, value) in error.details {
            switch (key, value) {
            case ("position", .int(let n)): position = n
            case ("suggestions", .strings(let s)): suggestions = s
            case ("parameter", .string(let s)): parameter = s
            default: break
            }
        }
        guard let position, let parameter, parameter == "where" || parameter == "fields" else { return nil }
        let text = parameter == "where" ? expression : fields
        let pointing = QueryError(.syntax, at: position, "").pointing(into: text)
        var corrections: [String] = []
        if parameter == "where" {
            let chars = Array(text)
            let start = min(position, chars.count)
            var end = start
            while end < chars.count, chars[end].isLetter || chars[end].isNumber || "_.-/".contains(chars[end]) { end += 1 }
            corrections = suggestions.map { String(chars[..<start]) + $0 + String(chars[end...]) }
        }
        return QueryPage.Refusal(message: error.message, pointing: pointing, suggestions: corrections.isEmpty ? [] : suggestions,
                                 corrections: corrections)
    }

    /// GET /ui/host?name=HOSTNAME: one host (a query parameter, not a path segment, so that no hostname,
    /// `..` included, can change which page a link reaches).
    func dashboardHost(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["name"])
        guard let name = p.string("name"), !name.isEmpty else { throw APIError.badParameter("name", "required (a hostname)") }
        guard let detail = try store.hostDetail(hostname: name) else { throw APIError.notFound("no host named \(name.prefix(200))") }
        let page = HostDetailPage(detail: detail, steps: TimelineStep.steps(try store.history(hostname: name)), now: Date(),
                            staleAfterText: staleAfter.description, staleAfterSeconds: staleAfter.timeInterval,
                            retractions: try store.retractions(hostname: name))
        return Layout.response(.ok, page.render())
    }

    /// GET /ui/changes?since=DATE&until=DATE&where=EXPR&cursor=C: one page of GET /v1/changes, as a page.
    func dashboardChanges(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["since", "until", "where", "cursor"])
        let until = try p.time("until") ?? Date()
        let since = try p.time("since") ?? until.addingTimeInterval(-7 * 86_400)
        guard since < until else { throw APIError.badParameter("since", "must be earlier than until") }
        let stats = try store.fleetStats()
        var page = ChangesPage(since: since, until: until, expression: p.string("where"), hosts: [], nextCursor: nil,
                               oldestReport: stats.oldestReport, newestReport: stats.newestReport)
        let expr: QueryExpr?
        do {
            expr = try p.expression("where")
        } catch {
            guard let refusal = Self.refusal(error, expression: p.string("where") ?? "", fields: "") else { throw error }
            page.refusal = refusal
            return Layout.response(error.status, page.render())
        }
        let limit = HostQueryLimits.default
        let after = try PageCursor.decode("c", p.string("cursor"))
        // The same page, budget and filter as GET /v1/changes.
        let result = try store.changePage(from: since, to: until, after: after, limit: limit, scanBudget: 4 * limit + 100,
                                          keep: Self.changeFilter(expr))
        page.hosts = result.hosts
        page.nextCursor = result.nextAfter.map { PageCursor.encode("c", $0) }
        return Layout.response(.ok, page.render())
    }
}
