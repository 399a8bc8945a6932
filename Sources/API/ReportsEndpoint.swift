import Decoders
import Foundation
import Report
import Server
import Store

/// POST /v1/reports: a collector's push, one report or an array. All or nothing per request: the store
/// decodes every source (once) before anything is written, so an undecodable one answers 400 (naming
/// the unit, the capability and the byte offset) with nothing stored; the rest is one transaction.
extension API {
    static let maxIdentifierLength = 255

    /// Report JSON as Report.decoder reads it, but with our RFC 3339 parser for times (it accepts every
    /// form RFC 3339 allows, which the contract promises).
    static let reportDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 time")
            }
            return date
        }
        return d
    }()

    func postReports(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        let reports = try Self.parseReports(request.body, max: maxReportsPerRequest)
        let results: [IngestResult]
        do {
            results = try store.ingestAllOrNothing(reports, receivedAt: Date())
        } catch let refusal as UndecodableReport {
            throw Self.refusal(refusal)
        }
        for result in results { metrics.countIngest(result.duplicate ? "duplicate" : result.outcome.rawValue) }
        let items: [JSONValue] = results.map { r in
            .object([
                ("report_id", .string(r.reportId)),
                ("hostname", .string(r.hostname)),
                ("outcome", .string(r.outcome.rawValue)),
                ("duplicate", .bool(r.duplicate)),
                // A new version: the host's history gained rows (a repeat or an unchanged state adds none).
                ("recorded", .bool(!r.duplicate && r.outcome != .unchanged)),
                ("facts_opened", .int(r.factsOpened)),
                ("facts_closed", .int(r.factsClosed)),
                // ingestAllOrNothing stores every report it returns: each has its revision.
                ("revision", .int(r.revision ?? 0)),
            ])
        }
        return .json(.object([("results", .array(items))]))
    }

    static func parseReports(_ body: [UInt8], max: Int) throws(APIError) -> [Report] {
        guard let first = body.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            throw APIError(.badRequest, "invalid_report", "the body is empty; send a report (JSON object) or an array of reports")
        }
        var reports: [Report]
        do {
            if first == UInt8(ascii: "[") {
                reports = try reportDecoder.decode([Report].self, from: Data(body))
            } else {
                reports = [try reportDecoder.decode(Report.self, from: Data(body))]
            }
        } catch let error as DecodingError {
            throw APIError(.badRequest, "invalid_report", describe(error), details: [("path", .string(path(of: error)))])
        } catch {
            throw APIError(.badRequest, "invalid_report", "the body is not JSON")
        }
        guard reports.count <= max else {
            throw APIError(.badRequest, "too_many_reports", "\(reports.count) reports in one request; at most \(max)")
        }
        for (i, r) in reports.enumerated() {
            for (field, value) in [("report_id", r.reportId), ("host.hostname", r.host.hostname)]
            where value.isEmpty || value.unicodeScalars.count > maxIdentifierLength {
                throw APIError(.badRequest, "invalid_report", "report \(i): \(field) must be 1…\(maxIdentifierLength) characters",
                               details: [("path", .string("[\(i)].\(field)"))])
            }
        }
        return reports
    }

    /// The 400 for a report the decoders refuse: which report, unit, capability and byte offset.
    static func refusal(_ refusal: UndecodableReport) -> APIError {
        let reportId = refusal.reportId
        var details: [(String, ErrorDetail)] = [("report_id", .string(reportId)), ("report_index", .int(refusal.index))]
        switch refusal.error {
        case .decode(let unit, let kind, let e):
            details += [("unit", .string(unit)), ("source_kind", .string(kind)), ("capability", .string(e.context)),
                        ("offset", .int(e.offset)), ("expected", .string(e.expected))]
            if let found = e.found { details.append(("found", .string(found))) }
            return APIError(.badRequest, "undecodable_source",
                            "report \(reportId): \(kind) \(unit): \(e.context): at byte \(e.offset): expected \(e.expected)"
                                + (e.found.map { ", found \($0)" } ?? "") + "; nothing was stored",
                            details: details)
        case .badSource(let unit, let kind, let message):
            details += [("unit", .string(unit)), ("source_kind", .string(kind))]
            return APIError(.badRequest, "bad_source", "report \(reportId): \(kind) \(unit): \(message); nothing was stored",
                            details: details)
        }
    }

    static func path(of error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return ""
        }
        var keys = context.codingPath
        if case .keyNotFound(let key, _) = error { keys.append(key) }
        var out = ""
        for key in keys {
            if let i = key.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + snake(key.stringValue) }
        }
        return out
    }

    static func describe(_ error: DecodingError) -> String {
        let at = path(of: error)
        let place = at.isEmpty ? "the body" : at
        switch error {
        case .keyNotFound: return "\(place) is missing"
        case .typeMismatch(let type, _): return "\(place): expected \(typeName(type))"
        case .valueNotFound(let type, _): return "\(place): expected \(typeName(type)), found null"
        case .dataCorrupted(let c): return "\(place): \(c.debugDescription.prefix(200))"
        @unknown default: return "\(place) is invalid"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Date.Type: return "an RFC 3339 time"
        case is [Any].Type: return "an array"
        default: return String(describing: type).hasPrefix("Array") ? "an array" : "an object or value of \(type)"
        }
    }

    /// Coding keys come back camelCased after convertFromSnakeCase; clients wrote snake_case.
    static func snake(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
