import Decoders
import Foundation
import JSONText
import Query
import Server
import Store
import Timestamps

/// GET /v1/hosts: the hosts matching EXPR (every host without it), now, as of a time or as of a
/// registry revision, in hostname order, a page at a time. Hosts whose state is older than the
/// freshness bound (fresh_within, default the server's --stale-after) are left out and listed as stale;
/// explain=true adds the hosts that did not match, each with why. Every list is a bounded page.
extension API {
    static let hostsParameters: Set<String> = ["where", "as_of", "as_of_revision", "fields", "limit", "cursor", "fresh_within",
                                               "stale_cursor", "explain", "not_matching_cursor", "totals"]

    func listHosts(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: API.hostsParameters)
        let expr = try p.expression("where")
        let asOf = try p.time("as_of")
        let revision = try p.positiveInteger("as_of_revision")
        if asOf != nil && revision != nil { throw APIError.badParameter("as_of_revision", "give as_of or as_of_revision, not both") }
        let fields = try p.fields()
        let fresh = try p.freshWithin(default: staleAfter)
        let explain = try p.flag("explain")
        // Only fact names narrow the facts returned; kernel and labels are always part of a host.
        let names = fields.map { Set($0.compactMap { if case .fact(let name, _) = $0 { name } else { nil } }) }
        let reference: QueryReference = revision.map(QueryReference.revision) ?? asOf.map(QueryReference.time) ?? .now
        let query = HostQueryRequest(expr, reference: reference, fields: names, limit: try p.limit(), cursor: p.string("cursor"),
                                     freshWithin: fresh?.timeInterval, staleCursor: p.string("stale_cursor"), notMatching: explain,
                                     notMatchingCursor: p.string("not_matching_cursor"), totals: try p.flag("totals"))
        let answer: HostAnswer
        do {
            answer = try store.answer(query)
        } catch let error as HostQueryError {
            throw APIError.hostQuery(error)
        } catch let error as HostAnswerError {
            throw APIError.badParameter(error.parameter, error.description)
        }
        return .json(.ok, HostsAnswerJSON.encode(answer, asOf: asOf, revision: revision, freshWithin: fresh, limit: query.limit,
                                                 explain: explain ? expr : nil))
    }
}

/// The hosts answer written straight into the body: a page is thousands of facts, and a tree of them
/// cost more than the store's reads (docs/figures.md).
enum HostsAnswerJSON {
    static func encode(_ answer: HostAnswer, asOf: Date?, revision: Int64?, freshWithin: DurationText?, limit: Int,
                       explain expr: QueryExpr?) -> [UInt8] {
        // Sized from what the page holds: 2 KB a host reserved 200 KB for a compact page of 18 KB, and an
        // allocation that large is mapped and unmapped for every answer (a TLB shootdown across threads).
        var out = JSONWriter(capacity: 1024 + answer.matches.hosts.reduce(0) { $0 + estimatedBytes($1) }
                             + (answer.stale?.hosts.reduce(0) { $0 + estimatedBytes($1) } ?? 0))
        out.objectStart()
        out.key("revision")
        out.int(answer.revision)
        out.key("as_of")
        out.string(asOf.map(RFC3339.format))
        out.key("as_of_revision")
        if let revision { out.int(revision) } else { out.null() }
        out.key("reference_time")
        out.string(RFC3339.format(answer.referenceTime))
        out.key("fresh_within_seconds")
        if let freshWithin { out.int(freshWithin.seconds) } else { out.null() }
        out.key("data_age_seconds")
        let ages = answer.matches.hosts.map { age($0, answer) }
        if let oldest = ages.max(), let newest = ages.min() {
            out.objectStart()
            out.key("oldest")
            out.int(oldest)
            out.key("newest")
            out.int(newest)
            out.objectEnd()
        } else {
            out.null()
        }
        out.key("limit")
        out.int(limit)
        out.key("total")
        if let total = answer.matchTotal { out.int(total) } else { out.null() }
        out.key("hosts")
        out.arrayStart()
        for host in answer.matches.hosts {
            out.objectStart()
            writeHead(host, answer, into: &out)
            out.key("labels")
            host.writeLabels(into: &out)
            out.key("facts")
            host.writeFacts(into: &out)
            out.objectEnd()
        }
        out.arrayEnd()
        out.key("next_cursor")
        out.string(answer.matches.nextCursor)
        out.key("stale")
        if let stale = answer.stale {
            list(stale, total: answer.staleTotal, answer, into: &out) { _, _ in }
        } else {
            out.null()
        }
        out.key("not_matching")
        if let rejected = answer.notMatching, let expr {
            list(rejected, total: answer.notMatchingTotal, answer, into: &out) { host, out in
                out.key("reasons")
                ExplainJSON.write(QueryExplainer(host.evaluator).reasons(expr), into: &out)
            }
        } else {
            out.null()
        }
        out.objectEnd()
        return out.bytes
    }

    /// `{"total", "hosts": [{hostname, kernel, reported_at, age_seconds, …extra}], "next_cursor"}`.
    static func list(_ page: HostPage, total: Int?, _ answer: HostAnswer, into out: inout JSONWriter,
                     extra: (QueriedHost, inout JSONWriter) -> Void) {
        out.objectStart()
        out.key("total")
        if let total { out.int(total) } else { out.null() }
        out.key("hosts")
        out.arrayStart()
        for host in page.hosts {
            out.objectStart()
            writeHead(host, answer, into: &out)
            extra(host, &out)
            out.objectEnd()
        }
        out.arrayEnd()
        out.key("next_cursor")
        out.string(page.nextCursor)
        out.objectEnd()
    }

    static func writeHead(_ host: QueriedHost, _ answer: HostAnswer, into out: inout JSONWriter) {
        out.key("hostname")
        out.string(host.hostname)
        out.key("kernel")
        out.string(host.kernelRelease)
        out.key("reported_at")
        out.plainString { RFC3339.append(host.reportedAt, to: &$0) }
        out.key("age_seconds")
        out.int(age(host, answer))
    }

    /// About the bytes `writeHead`, the labels and the facts take (the facts as stored, already encoded).
    static func estimatedBytes(_ host: QueriedHost) -> Int {
        host.factsJSONBytes + host.hostname.utf8.count + (host.kernelRelease?.utf8.count ?? 4)
            + host.labelsJSONBytes + 120
    }

    /// Whole seconds from the host's state to the reference (0 for a report dated after it).
    static func age(_ host: QueriedHost, _ answer: HostAnswer) -> Int64 {
        max(0, Int64(answer.referenceTime.timeIntervalSince(host.reportedAt).rounded(.down)))
    }
}
