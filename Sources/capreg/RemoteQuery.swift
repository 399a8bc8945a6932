import API
import Decoders
import Foundation
import Server
import Store
import Timestamps
import RegistryClient

/// `capreg query --server URL`: the same page, asked of a running registry over HTTP.
enum RemoteQuery {
    enum Failure: Error {
        /// The server refused the expression or a field: its error body, for the caret.
        case refused(status: Int, message: String, position: Int?, parameter: String?)
        case unauthorized(String)
        case unavailable(String)
    }

    /// One host that did not match and why (explain), as one line per reason.
    struct Explained: Sendable {
        var hostname: String
        var reasons: [String]
    }

    struct Answer {
        var page: HostPage
        /// With explain: the hosts that did not match (one page) and how many there are in all.
        var notMatching: [Explained]?
        var notMatchingTotal: Int?
        /// Matching hosts the server left out as stale (nil when it applied no freshness bound).
        var staleTotal: Int?
        /// The registry revision the server answered at.
        var revision: Int64
    }

    static func page(server: String, token: String?, tls: TLSOptions = TLSOptions(), expression: String?, asOf: Date?, asOfRevision: Int64? = nil, fields: [String]?,
                     limit: Int, cursor: String?, explain: Bool = false, freshWithin: String? = nil) throws -> Answer {
        let client: APIClient
        do {
            client = try APIClient(baseURL: server, token: token, tls: tls)
        } catch {
            throw Failure.unavailable("\(error)")
        }
        var items: [(String, String)] = [("limit", String(limit))]
        if let expression, !expression.isEmpty { items.append(("where", expression)) }
        if let asOf { items.append(("as_of", RFC3339.format(asOf))) }
        if let asOfRevision { items.append(("as_of_revision", String(asOfRevision))) }
        if let fields { items.append(("fields", fields.joined(separator: ","))) }
        if let cursor { items.append(("cursor", cursor)) }
        if explain { items.append(("explain", "true")) }
        if let freshWithin { items.append(("fresh_within", freshWithin)) }
        let target = APIClient.target("/v1/hosts", items)
        let response: APIClient.Response
        do {
            response = try client.get(target)
        } catch {
            throw Failure.unavailable("\(server): \(error)")
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard response.status == 200 else {
            let error = object?["error"] as? [String: Any]
            let message = error?["message"] as? String ?? "HTTP \(response.status)"
            if response.status == 401 || response.status == 403 { throw Failure.unauthorized(message) }
            if response.status == 400 {
                throw Failure.refused(status: response.status, message: message, position: error?["position"] as? Int,
                                      parameter: error?["parameter"] as? String)
            }
            throw Failure.unavailable("\(server): \(message)")
        }
        let page = try JSONDecoder().decode(Page.self, from: Data(response.body))
        let hosts = HostPage.make(hosts: try page.hosts.map { h in
            let reportedAt: Date
            do { reportedAt = try RFC3339.parse(h.reported_at) } catch {
                throw Failure.unavailable("\(server): host \(h.hostname): reported_at: \(error)")
            }
            return QueriedHost.make(hostname: h.hostname, kernelRelease: h.kernel, reportedAt: reportedAt,
                                    labels: h.labels, facts: h.facts.map { Fact($0.key, $0.value.value) }.sorted { $0.name < $1.name })
        }, nextCursor: page.next_cursor)
        let rejected = page.not_matching?.hosts.map { Explained(hostname: $0.hostname, reasons: ($0.reasons ?? []).map(\.message)) }
        return Answer(page: hosts, notMatching: rejected, notMatchingTotal: page.not_matching?.total,
                      staleTotal: page.stale?.total, revision: page.revision)
    }

    struct Page: Decodable {
        var revision: Int64
        var hosts: [Host]
        var next_cursor: String?
        var not_matching: Rejected?
        var stale: Counted?
    }

    /// A list of which only the total is needed (stale hosts).
    struct Counted: Decodable { var total: Int? }

    struct Rejected: Decodable {
        struct Host: Decodable {
            var hostname: String
            var reasons: [Reason]?
        }
        struct Reason: Decodable { var message: String }
        var total: Int?
        var hosts: [Host]
    }

    struct Host: Decodable {
        var hostname: String
        var kernel: String?
        var reported_at: String
        var labels: [String: String]
        var facts: [String: JSONFactValue]
    }
}
