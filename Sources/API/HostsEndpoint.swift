import Decoders
import Foundation
import JSONText
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
        // Written straight into the body: a page is thousands of facts, and a tree of them cost more
        // than the store's reads (docs/figures.md).
        var out = JSONWriter(capacity: 2048 * max(1, page.hosts.count))
        out.objectStart()
        out.key("as_of")
        out.string(asOf.map(RFC3339.format))
        out.key("hosts")
        out.arrayStart()
        for host in page.hosts {
            out.objectStart()
            out.key("hostname")
            out.string(host.hostname)
            out.key("kernel")
            out.string(host.kernelRelease)
            out.key("reported_at")
            out.string(RFC3339.format(host.reportedAt))
            out.key("labels")
            FactsJSON.write(labels: host.labels, into: &out)
            out.key("facts")
            out.json(host.factsJSON)
            out.objectEnd()
        }
        out.arrayEnd()
        out.key("next_cursor")
        out.string(page.nextCursor)
        out.objectEnd()
        return .json(.ok, out.bytes)
    }
}
