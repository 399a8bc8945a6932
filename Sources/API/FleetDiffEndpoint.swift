import Decoders
import Foundation
import Server
import Store
import Timestamps

/// GET /v1/audits/fleet-diff: the fleet, or one host, at two times (docs/audits.md). Parameters are
/// spelled once here (`FleetDiffParameters`): the endpoint reads them, `capreg diff --server` writes them.
extension API {
    func fleetDiff(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: FleetDiffParameters.names)
        let asked = try FleetDiffParameters.request(p, defaultStaleAfter: staleAfter)
        do {
            return .json(FleetDiffJSON.document(try store.fleetDiff(asked), asked))
        } catch let error as AuditRequestError {
            throw APIError.badParameter(error.parameter, error.message)
        } catch let error as FleetDiffNoSuchHost {
            throw APIError.notFound("no host named \(error.hostname.prefix(255))")
        }
    }
}

public enum FleetDiffParameters {
    static let names: Set<String> = ["from", "to", "from_revision", "to_revision", "host", "fact", "layers", "stale_after", "host_limit", "hosts_after"]

    public static func items(_ request: FleetDiffRequest) -> [(String, String)] {
        var items: [(String, String)] = []
        if let r1 = request.fromRevision, let r2 = request.toRevision {
            items += [("from_revision", String(r1)), ("to_revision", String(r2))]
        } else {
            items += [("from", RFC3339.format(request.from)), ("to", RFC3339.format(request.to))]
        }
        items.append(("stale_after", DurationText(seconds: Int64(request.staleAfter)).description))
        if let host = request.hostname { items.append(("host", host)) }
        if let fact = request.fact { items.append(("fact", fact)) }
        items.append(("layers", KernelUpgradeParameters.layerText(request.layers)))
        items.append(("host_limit", String(request.hostLimit)))
        if let after = request.hostsAfter { items.append(("hosts_after", after)) }
        return items
    }

    static func request(_ p: Parameters, defaultStaleAfter: DurationText) throws(APIError) -> FleetDiffRequest {
        // Two times, or two revisions.
        let r1 = try p.positiveInteger("from_revision"), r2 = try p.positiveInteger("to_revision")
        if r1 != nil || r2 != nil {
            if p.string("from") != nil || p.string("to") != nil {
                throw APIError.badParameter(p.string("from") != nil ? "from" : "to", "give two times (from, to) or two revisions (from_revision, to_revision), not both")
            }
            guard r1 != nil else { throw APIError.badParameter("from_revision", "required with to_revision") }
            guard r2 != nil else { throw APIError.badParameter("to_revision", "required with from_revision") }
        }
        let from: Date, to: Date
        if r1 != nil {
            (from, to) = (Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0))
        } else {
            guard let first = try p.time("from") else { throw APIError.badParameter("from", "required: the first time (RFC 3339 or a date), or from_revision") }
            guard let second = try p.time("to") else { throw APIError.badParameter("to", "required: the second time (RFC 3339 or a date), or to_revision") }
            (from, to) = (first, second)
        }
        var stale = defaultStaleAfter
        if let text = p.string("stale_after") {
            do { stale = try DurationText.parse(text) } catch { throw APIError.badParameter("stale_after", "\(error.reason)") }
        }
        var request = FleetDiffRequest(from: from, to: to, staleAfter: stale.timeInterval)
        request.fromRevision = r1
        request.toRevision = r2
        if let host = p.string("host") {
            guard !host.isEmpty, host.utf8.count <= 255 else { throw APIError.badParameter("host", "a hostname of 1 to 255 bytes") }
            request.hostname = host
        }
        if let fact = p.string("fact") {
            guard fact == FleetDiffRequest.kernelFact || Vocabulary.entry(fact) != nil else {
                throw APIError.badParameter("fact", "\"\(fact.prefix(80))\" is not a host fact of the vocabulary (GET /v1/capabilities), nor kernel")
            }
            request.fact = fact
        }
        if let layers = try KernelUpgradeParameters.layers(p) { request.layers = layers }
        request.hostLimit = try KernelUpgradeParameters.hostLimit(p)
        request.hostsAfter = try KernelUpgradeParameters.hostsAfter(p)
        return request
    }
}

public enum FleetDiffJSON {
    public static func document(_ diff: FleetDiff, _ request: FleetDiffRequest) -> JSONValue {
        .object([
            ("from", .string(RFC3339.format(diff.from))),
            ("to", .string(RFC3339.format(diff.to))),
            ("from_revision", diff.fromRevision.map { .int($0) } ?? .null),
            ("to_revision", diff.toRevision.map { .int($0) } ?? .null),
            ("stale_after", .string(DurationText(seconds: Int64(request.staleAfter)).description)),
            ("host", .optional(request.hostname)),
            ("layers", KernelUpgradeJSON.layers(request.layers)),
            ("hosts", .object([("from", .int(diff.hostsFrom)), ("fresh_from", .int(diff.freshFrom)),
                               ("to", .int(diff.hostsTo)), ("fresh_to", .int(diff.freshTo))])),
            ("presence", .object(PresenceChange.allCases.map { ($0.rawValue, list(diff.presence[$0] ?? .none)) })),
            ("changes", .array(diff.changes.map { change in
                .object(KernelUpgradeJSON.valueChange(change.name, change.layer, change.change, change.before, change.after, change.hosts))
            })),
        ])
    }

    static func list(_ hosts: HostList) -> JSONValue { .object(listMembers(hosts)) }

    static func listMembers(_ hosts: HostList) -> [(String, JSONValue)] {
        [("hosts", .int(hosts.count)), ("hostnames", .array(hosts.hostnames.map(JSONValue.string))),
         ("next_hosts_after", hosts.moreHosts ? .optional(hosts.hostnames.last) : .null)]
    }
}
