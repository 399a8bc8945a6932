import Foundation
import Server
import Store

/// GET /v1/hosts/{host}: the current state, and every unit's capabilities with their decoded values and
/// raw bytes (base64), exactly as reported.
extension API {
    func hostDetail(_ request: HTTPRequest, hostname: String) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        guard let detail = try store.hostDetail(hostname: hostname) else { throw APIError.notFound("no host named \(hostname.prefix(200))") }
        let s = detail.state
        var units: [(String, [JSONValue])] = []
        for cap in detail.capabilities {
            let item = JSONValue.object([
                ("capability", .string(cap.capability)),
                ("version", .int(cap.version)),
                ("kernel", .string(cap.kernelRelease)),
                ("since", .string(RFC3339.format(cap.validFrom))),
                ("decoder_version", .int(cap.decoderVersion)),
                ("raw_base64", .string(Data(cap.raw).base64EncodedString())),
                // The store wrote this JSON ({"facts":{…},"notes":[…]}); it is passed through, not re-encoded.
                ("decoded", .raw(cap.decodedJSON)),
            ])
            if units.last?.0 == cap.unit { units[units.count - 1].1.append(item) } else { units.append((cap.unit, [item])) }
        }
        return .json(.object([
            ("hostname", .string(s.hostname)),
            ("machine_id", .optional(s.machineId)),
            ("kernel", .optional(s.kernelRelease)),
            ("first_seen", .string(RFC3339.format(s.firstSeen))),
            ("last_seen", .string(RFC3339.format(s.lastSeen))),
            ("labels", FactsJSON.labels(s.labels)),
            ("facts", FactsJSON.object(s.facts)),
            ("units", .array(units.map { .object([("unit", .string($0.0)), ("capabilities", .array($0.1))]) })),
        ]))
    }

    /// GET /v1/hosts/{host}/history: versions oldest first, each with its span and kernel; paged by the
    /// start time of the last version returned.
    func hostHistory(_ request: HTTPRequest, hostname: String) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["limit", "cursor"])
        let limit = try p.limit()
        var after: Int64?
        if let text = try PageCursor.decode("v", p.string("cursor")) {
            guard let ms = Int64(text) else { throw APIError.badParameter("cursor", "the cursor is not one this endpoint handed out") }
            after = ms
        }
        guard try store.currentState(hostname: hostname) != nil else { throw APIError.notFound("no host named \(hostname.prefix(200))") }
        let all = try store.history(hostname: hostname)
        let rest = all.filter { after == nil || Self.ms($0.validFrom) > after! }
        let page = rest.prefix(limit)
        let versions: [JSONValue] = page.map { v in
            .object([
                ("valid_from", .string(RFC3339.format(v.validFrom))),
                ("valid_to", v.validTo.map { .string(RFC3339.format($0)) } ?? .null),
                ("kernel", .optional(v.kernelRelease)),
                ("facts", FactsJSON.object(v.facts)),
            ])
        }
        let next = rest.count > limit ? page.last.map { PageCursor.encode("v", String(Self.ms($0.validFrom))) } : nil
        return .json(.object([("hostname", .string(hostname)), ("versions", .array(versions)), ("next_cursor", .optional(next))]))
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
