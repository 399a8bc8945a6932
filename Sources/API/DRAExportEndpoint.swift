import Exports
import Foundation
import JSONText
import Query
import Server
import Store

/// GET /v1/exports/dra: the fresh hosts' devices as Kubernetes `resource.k8s.io/v1` ResourceSlices
/// (Exports/DRAResourceSlices), a page of hosts at a time, as a Kubernetes `List` whose
/// `metadata.continue` is the next page's cursor. `where` keeps the hosts that match; `node` asks for one
/// host. Stale hosts (fresh_within, default the server's --stale-after) publish nothing: fail closed.
extension API {
    static let draParameters: Set<String> = ["driver", "where", "node", "fresh_within", "limit", "cursor"]

    func draExport(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: API.draParameters)
        let driver = p.string("driver") ?? DRAResourceSlices.defaultDriver
        guard DRAResourceSlices.isDriverName(driver) else {
            throw APIError.badParameter("driver", "a DRA driver name: a DNS subdomain of at most 63 characters, e.g. capreg.io")
        }
        let expr = try p.expression("where")
        let fresh = try p.freshWithin(default: staleAfter)
        let node = p.string("node")
        if let node, !DRAResourceSlices.isDNSSubdomain(node) {
            throw APIError.badParameter("node", "a Kubernetes node name (a DNS subdomain of at most 253 characters)")
        }
        if node != nil && (p.string("cursor") != nil || p.string("limit") != nil) {
            throw APIError.badParameter(p.string("cursor") != nil ? "cursor" : "limit", "applies to the whole fleet, not to one node")
        }
        var query = HostQueryRequest(expr, limit: try p.limit(), cursor: p.string("cursor"), freshWithin: fresh?.timeInterval)
        query.devices = true
        query.hostname = node
        let hosts: [QueriedHost]
        let next: String?
        do {
            let answer = try store.answer(query)
            hosts = answer.matches.hosts
            next = answer.matches.nextCursor
        } catch let error as HostQueryError {
            throw APIError.hostQuery(error)
        }
        return .json(.ok, DRAResourceSlices.list(API.draSlices(hosts, driver: driver).flatMap(\.slices), continue: next))
    }

    /// Each host of a page read with its devices, and its slices: what the endpoint answers and what
    /// `capreg export dra --db` writes.
    public static func draSlices(_ hosts: [QueriedHost], driver: String) -> [(node: String, slices: [[UInt8]])] {
        hosts.map { host in
            let exported = DRAResourceSlices.Host(hostname: host.hostname,
                                                  facts: Dictionary(host.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                                  kernelRelease: host.kernelRelease, generation: host.currentRevision ?? 0, devices: host.devices ?? [])
            return (host.hostname, DRAResourceSlices.slices(exported, driver: driver))
        }
    }
}
