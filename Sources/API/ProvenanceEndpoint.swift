import Decoders
import Foundation
import Server
import Store
import Timestamps

/// GET /v1/hosts/{host}/facts/{name}/provenance: where one fact of one host at one time came from
/// (docs/audits.md). `at` defaults to now.
extension API {
    func factProvenance(_ request: HTTPRequest, hostname: String, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["at"])
        let name = request.pathSegments[4]
        guard Vocabulary.entry(name) != nil else {
            throw APIError.notFound("\(name.prefix(80)) is not a host fact of the vocabulary (GET /v1/capabilities)")
        }
        let at = try p.time("at") ?? Date()
        guard let provenance = try store.provenance(hostname: hostname, name: name, at: at) else {
            throw APIError.notFound("no host named \(hostname.prefix(200))")
        }
        return .json(ProvenanceJSON.document(provenance))
    }
}

public enum ProvenanceJSON {
    public static func document(_ p: FactProvenance) -> JSONValue {
        .object([
            ("host", .string(p.hostname)),
            ("fact", .string(p.name)),
            ("layer", .string(FactLayer.of(p.name).rawValue)),
            ("at", .string(RFC3339.format(p.at))),
            ("value", p.value.map(FactsJSON.value) ?? .null),
            ("valid_from", .optional(p.validFrom.map(RFC3339.format))),
            ("valid_to", .optional(p.validTo.map(RFC3339.format))),
            ("set_by", p.setBy.map(report) ?? .null),
            ("in_force", p.inForce.map(report) ?? .null),
            ("derived", .bool(p.derived)),
            ("evidence", .optional(p.evidence)),
            ("sources", .array(p.sources.map { s in
                .object([
                    ("unit", .string(s.unit)),
                    ("capability", .string(s.capability)),
                    ("version", .int(s.version)),
                    ("kernel", .string(s.kernelRelease)),
                    ("decoder_version", .int(s.decoderVersion)),
                    ("value", s.value.map(FactsJSON.value) ?? .null),
                    ("valid_from", .string(RFC3339.format(s.validFrom))),
                    ("valid_to", .optional(s.validTo.map(RFC3339.format))),
                    ("first_sent_by", .string(s.openedBy)),
                    ("raw_base64", .string(Data(s.raw).base64EncodedString())),
                ])
            })),
            ("rewrites", .array(p.rewrites.map { r in
                .object([
                    ("revision", .int(r.revision)),
                    ("kind", .string(r.kind)),
                    ("at", .string(RFC3339.format(r.at))),
                    ("decoder_version", .int(r.decoderVersion)),
                    ("before", r.before.map(FactsJSON.value) ?? .null),
                    ("changed_value", .bool(r.changedValue)),
                ])
            })),
        ])
    }

    static func report(_ r: ReportOrigin) -> JSONValue {
        .object([
            ("revision", .int(r.revision)),
            ("report_id", .string(r.reportId)),
            ("collector_version", .string(r.collectorVersion)),
            ("kernel", .string(r.kernelRelease)),
            ("written_by", .optional(r.writtenBy)),
            ("collected_at", .string(RFC3339.format(r.collectedAt))),
            ("received_at", .string(RFC3339.format(r.receivedAt))),
            ("decoder_version", .int(r.decoderVersion)),
            ("outcome", .string(r.outcome)),
        ])
    }
}
