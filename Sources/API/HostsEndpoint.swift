import Decoders
import Foundation
import Query
import Server
import Store

/// GET /v1/hosts?where=EXPR&as_of=TIME&fields=a,b&limit=N&cursor=C: the hosts matching EXPR (every
/// host without it), now or as of a time, in hostname order, a page at a time (the store's keyset cursor).
extension API {
    func listHosts(_ request: HTTPRequest) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["where", "as_of", "fields", "limit", "cursor"])
        let expr = try p.expression("where")
        let asOf = try p.time("as_of")
        let fields = try p.fields()
        let limit = try p.limit()
        // Only fact names narrow the facts returned; kernel and labels are always part of a host.
        let names = fields.map { Set($0.compactMap { if case .fact(let name, _) = $0 { name } else { nil } }) }
        let page: HostPage
        do {
            page = try store.queryHosts(expr, asOf: asOf, fields: names, limit: limit, after: p.string("cursor"))
        } catch let error as HostQueryError {
            throw APIError.hostQuery(error)
        }
        let hosts: [JSONValue] = page.hosts.map { host in
            .object([
                ("hostname", .string(host.hostname)),
                ("kernel", .optional(host.kernelRelease)),
                ("reported_at", .string(RFC3339.format(host.reportedAt))),
                ("labels", FactsJSON.labels(host.labels)),
                ("facts", FactsJSON.object(host.facts)),
            ])
        }
        return .json(.object([
            ("as_of", asOf.map { .string(RFC3339.format($0)) } ?? .null),
            ("hosts", .array(hosts)),
            ("next_cursor", .optional(page.nextCursor)),
        ]))
    }
}
