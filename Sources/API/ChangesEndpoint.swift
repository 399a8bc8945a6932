import Decoders
import Foundation
import Query
import Server
import Store
import Timestamps

/// GET /v1/changes?since=T1&until=T2&where=EXPR: per host, the facts gained, lost or changed between the
/// state at T1 and the state at T2, with the kernel before and after. `where` keeps hosts whose state at
/// T2 satisfies EXPR (labels as of the newest report). Hostname order, paged by cursor; a page examines
/// a bounded number of candidate hosts, so it may hold fewer than `limit` entries while `next_cursor`
/// still says more may follow.
extension API {
    func changes(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["since", "until", "where", "limit", "cursor"])
        guard let since = try p.time("since") else { throw APIError.badParameter("since", "required (an RFC 3339 time)") }
        let until = try p.time("until") ?? Date()
        guard since < until else { throw APIError.badParameter("since", "must be earlier than until") }
        let expr = try p.expression("where", overHistory: true)
        let limit = try p.limit()
        let after = try PageCursor.decode("c", p.string("cursor"))
        let page = try store.changePage(from: since, to: until, after: after, limit: limit, scanBudget: 4 * limit + 100,
                                        keep: Self.changeFilter(expr))
        let hosts: [JSONValue] = page.hosts.map { item in
            let c = item.change
            return .object([
                ("hostname", .string(c.hostname)),
                ("kernel_before", .optional(c.kernelBefore)),
                ("kernel_after", .optional(c.kernelAfter)),
                // The report in force at `until` (the `after` side) and who wrote it.
                ("report_id", .optional(item.source?.reportId)),
                ("written_by", .optional(item.source?.writtenBy)),
                ("peer", .optional(item.source?.peer)),
                ("changes", .array(c.changes.map { f in
                    .object([
                        ("name", .string(f.name)),
                        // gained: before is null; lost: after is null.
                        ("change", .string(f.before == nil ? "gained" : f.after == nil ? "lost" : "changed")),
                        ("before", f.before.map(FactsJSON.value) ?? .null),
                        ("after", f.after.map(FactsJSON.value) ?? .null),
                    ])
                })),
            ])
        }
        return .json(.object([
            ("revision", .int(page.revision)),
            ("since", .string(RFC3339.format(since))),
            ("until", .string(RFC3339.format(until))),
            ("hosts", .array(hosts)),
            ("next_cursor", .optional(page.nextAfter.map { PageCursor.encode("c", $0) })),
        ]))
    }

    /// The change feed's host filter (API and dashboard): the host's state at `until`, with its labels,
    /// matches `where` as the query language evaluates it; no expression keeps every host.
    static func changeFilter(_ expr: QueryExpr?) -> (HostSnapshot, [String: String]) -> Bool {
        { state, labels in
            guard let expr else { return true }
            let facts = Dictionary(state.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            return QueryEvaluator(facts: facts, kernelRelease: state.kernelRelease, labels: labels).matches(expr)
        }
    }
}
