import Foundation
import Server
import Store
import Timestamps

/// GET /v1/hosts/{host}: the current state, and every unit's capabilities with their decoded values and
/// raw bytes (base64), exactly as reported. Both answers here carry the revision their data was read at.
extension API {
    func hostDetail(_ request: HTTPRequest, hostname: String, _ store: Registry) throws -> HTTPResponse {
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
            ("revision", .int(detail.revision)),
            ("hostname", .string(s.hostname)),
            ("machine_id", .optional(s.machineId)),
            ("kernel", .optional(s.kernelRelease)),
            ("first_seen", .string(RFC3339.format(s.firstSeen))),
            ("last_seen", .string(RFC3339.format(s.lastSeen))),
            ("labels", FactsJSON.labels(s.labels)),
            ("facts", FactsJSON.object(s.facts)),
            ("devices", .array(detail.devices.map { .object([("bdf", .string($0.bdf)), ("facts", FactsJSON.object($0.facts))]) })),
            ("units", .array(units.map { .object([("unit", .string($0.0)), ("capabilities", .array($0.1))]) })),
        ]))
    }

    /// GET /v1/hosts/{host}/history: versions oldest first, each with its span and kernel. A page reads a
    /// bounded span of the history (Registry.historyPage), so it may hold fewer than `limit` versions
    /// while `next_cursor` is not null. The cursor holds the next version's start and how far the history
    /// was read; the one-number cursors of earlier releases are refused.
    func hostHistory(_ request: HTTPRequest, hostname: String, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["limit", "cursor"])
        let limit = try p.limit()
        var after: HistoryCursor?
        if let text = try PageCursor.decode(Self.historyCursorTag, p.string("cursor")) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let start = Int64(parts[0]), let scanned = Int64(parts[1]), start <= scanned else {
                throw APIError.badParameter("cursor", "the cursor is not one this endpoint handed out")
            }
            after = HistoryCursor(versionStart: start, scannedTo: scanned)
        }
        guard let page = try store.historyPage(hostname: hostname, after: after, limit: limit) else {
            throw APIError.notFound("no host named \(hostname.prefix(200))")
        }
        let versions: [JSONValue] = page.versions.map { v in
            .object([
                ("valid_from", .string(RFC3339.format(v.validFrom))),
                ("valid_to", v.validTo.map { .string(RFC3339.format($0)) } ?? .null),
                ("kernel", .optional(v.kernelRelease)),
                ("facts", FactsJSON.object(v.facts)),
                // The report in force at valid_from and who wrote it (null: stored before writers were recorded).
                ("report_id", .optional(v.source?.reportId)),
                ("written_by", .optional(v.source?.writtenBy)),
                ("peer", .optional(v.source?.peer)),
            ])
        }
        // Retracted reports (capreg retract) left the versions; they are listed here, on every page.
        let retractions: [JSONValue] = page.retractions.map { r in
            .object([
                ("report_id", .string(r.reportId)),
                ("collected_at", .string(RFC3339.format(r.collectedAt))),
                ("retracted_at", .string(RFC3339.format(r.retractedAt))),
                ("revision", .int(r.revision)),
                ("reason", .string(r.reason)),
            ])
        }
        let next = page.next.map { PageCursor.encode(Self.historyCursorTag, "\($0.versionStart).\($0.scannedTo)") }
        return .json(.object([("revision", .int(page.revision)), ("hostname", .string(hostname)), ("versions", .array(versions)),
                              ("retractions", .array(retractions)), ("next_cursor", .optional(next))]))
    }

    /// "v" was the cursor that held one time (the last version's start).
    static let historyCursorTag = "v2"
}
