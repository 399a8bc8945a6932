import Decoders
import Foundation
import Server
import Store
import Timestamps

/// The fleet-level reads: kernels, the vocabulary, and a summary.
extension API {
    /// GET /v1/kernels: per kernel release (version order), current hosts and how many support each key
    /// capability, with the revision they were counted at.
    func kernels(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["limit", "cursor"])
        let limit = try p.limit()
        var after: (key: String, release: String)?
        if let text = try PageCursor.decode("k", p.string("cursor")) {
            let parts = text.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw APIError.badParameter("cursor", "the cursor is not one this endpoint handed out") }
            after = (String(parts[0]), String(parts[1]))
        }
        let result = try store.kernelSummaries(after: after, limit: limit + 1)
        let rows = result.rows
        let page = rows.prefix(limit)
        let kernels: [JSONValue] = page.map { row in
            let k = row.summary
            return .object([
                ("release", .string(k.release)),
                ("hosts", .int(k.hosts)),
                ("nesting", .int(k.nesting)),
                ("pasid_bind", .int(k.pasidBind)),
                ("first_level_format", FactsJSON.counts(k.firstLevelFormats)),
                ("vendors", FactsJSON.counts(k.vendors)),
            ])
        }
        let next = rows.count > limit ? page.last.map { PageCursor.encode("k", $0.key + "\u{0}" + $0.summary.release) } : nil
        return .json(.object([("revision", .int(result.revision)), ("kernels", .array(kernels)), ("next_cursor", .optional(next))]))
    }

    /// GET /v1/capabilities: the vocabulary (every name a fact, a query or `fields` may use), by name.
    func capabilities(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["limit", "cursor"])
        let limit = try p.limit()
        let after = try PageCursor.decode("n", p.string("cursor"))
        let rest = Self.vocabularyByName.drop { after != nil && $0.name <= after! }
        let page = rest.prefix(limit)
        let items: [JSONValue] = page.map { e in
            .object([("name", .string(e.name)), ("type", .string(e.type.rawValue)), ("meaning", .string(e.meaning)),
                     ("source", .string(e.source))])
        }
        let next = rest.count > limit ? page.last.map { PageCursor.encode("n", $0.name) } : nil
        return .json(.object([("capabilities", .array(items)), ("next_cursor", .optional(next))]))
    }

    static let vocabularyByName = Vocabulary.byName.values.sorted { $0.name < $1.name }

    /// GET /v1/stats: counts over the whole registry.
    func stats(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        let s = try store.fleetStats()
        return .json(.object([
            ("revision", .int(s.revision)),
            ("hosts", .int(s.hosts)),
            ("reports", .int(s.reports)),
            ("kernels", .int(s.kernels)),
            ("nesting", .int(s.nesting)),
            ("pasid_bind", .int(s.pasidBind)),
            ("vendors", FactsJSON.counts(s.vendors)),
            ("first_level_format", FactsJSON.counts(s.firstLevelFormats)),
            ("capability_versions", .int(s.capabilityVersions)),
            ("fact_rows", .int(s.factRows)),
            ("current_facts", .int(s.currentFacts)),
            ("oldest_report", s.oldestReport.map { .string(RFC3339.format($0)) } ?? .null),
            ("newest_report", s.newestReport.map { .string(RFC3339.format($0)) } ?? .null),
            ("database_bytes", .int(store.databaseBytes())),
        ]))
    }
}
