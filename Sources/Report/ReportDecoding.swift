import Foundation
import Timestamps

/// A report the registry will not take: where (the field's wire path) and why. Every path that reads report
/// JSON (POST /v1/reports, `capreg ingest`, `capreg redecode` over stored payloads, the collector's tests)
/// goes through `Report.decode`, so the same text is taken or refused the same way, in the same words.
public struct ReportRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The report's position when an array of reports was decoded at once; nil for a single report.
    public var index: Int?
    /// `collected_at`, `host.hostname`, `sources[2].kind`; empty when the text as a whole is at fault.
    public var field: String
    /// What is wrong, e.g. `missing`, `expected a string`, `expected an RFC 3339 time (…): …`.
    public var problem: String

    public init(index: Int? = nil, field: String, problem: String) {
        self.index = index
        self.field = field
        self.problem = problem
    }

    /// `[1].collected_at`, `collected_at`, or empty: the API's `path`.
    public var path: String {
        guard let index else { return field }
        return "[\(index)]" + (field.isEmpty ? "" : "." + field)
    }

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}

extension Report {
    /// Most characters (Unicode scalars) in `report_id` and `host.hostname`.
    public static let maxIdentifierLength = 255

    /// Hostnames many machines carry at once (distribution defaults, the kernel's unset name): a report
    /// under one of them would merge unrelated hosts into one pseudo-host. Compared without case,
    /// surrounding whitespace or a trailing dot.
    public static let placeholderHostnames: Set<String> = [
        "localhost", "localhost.localdomain", "localhost4", "localhost4.localdomain4", "localhost6",
        "localhost6.localdomain6", "ip6-localhost", "ip6-loopback", "(none)",
    ]

    /// The one way report JSON becomes a Report: one JSON object, decoded and checked (`check()`).
    public static func decode(json: Data) throws(ReportRefusal) -> Report {
        let report: Report
        do {
            report = try jsonDecoder.decode(Report.self, from: json)
        } catch {
            throw refusal(error, json: json)
        }
        try report.check()
        return report
    }

    /// One report object or an array of them (POST /v1/reports' body), each exactly as `decode(json:)`
    /// takes it; the first refusal carries the report's index when the body is an array.
    public static func decodeOneOrMany(json: Data) throws(ReportRefusal) -> [Report] {
        guard json.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "[") else { return [try decode(json: json)] }
        let reports: [Report]
        do {
            reports = try jsonDecoder.decode([Report].self, from: json)
        } catch {
            throw refusal(error, json: json)
        }
        for (i, report) in reports.enumerated() {
            do {
                try report.check()
            } catch {
                throw ReportRefusal(index: i, field: error.field, problem: error.problem)
            }
        }
        return reports
    }

    /// What JSON's shape cannot say: identifiers 1…255 characters, a hostname that names one host, a
    /// kernel release. Times are checked while decoding (RFC3339.parse, date-times only).
    public func check() throws(ReportRefusal) {
        if let problem = Self.identifierProblem(reportId) { throw ReportRefusal(field: "report_id", problem: problem) }
        if let problem = Self.hostnameProblem(host.hostname) { throw ReportRefusal(field: "host.hostname", problem: problem) }
        if kernel.release.isEmpty { throw ReportRefusal(field: "kernel.release", problem: "empty; expected `uname -r`") }
    }

    /// Why `name` cannot be a host's identity, or nil when it can. Used by the registry (`check()`) and by
    /// the collector before it builds a report, so both refuse the same names.
    public static func hostnameProblem(_ name: String) -> String? {
        if let problem = identifierProblem(name) { return problem }
        var key = name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if key.hasSuffix(".") { key.removeLast() }
        if key.isEmpty { return "blank" }
        if placeholderHostnames.contains(key) {
            return "\"\(name)\" is a name many machines share, not one host's identity; give the host its own name"
        }
        return nil
    }

    static func identifierProblem(_ value: String) -> String? {
        if value.isEmpty { return "empty" }
        let count = value.unicodeScalars.count
        return count > maxIdentifierLength ? "\(count) characters; at most \(maxIdentifierLength)" : nil
    }

    /// Snake_case keys; times through RFC3339.parse (a date-time: a bare date is not a report time).
    static let jsonDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            guard let text = try? c.decode(String.self) else {
                throw DecodingError.typeMismatch(Date.self, .init(codingPath: c.codingPath, debugDescription: "not a string"))
            }
            do {
                return try RFC3339.parse(text)
            } catch {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(error); found \"\(text.prefix(40))\"")
            }
        }
        return d
    }()

    static func refusal(_ error: any Error, json: Data) -> ReportRefusal {
        guard let error = error as? DecodingError else { return ReportRefusal(field: "", problem: "not valid JSON") }
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return ReportRefusal(field: "", problem: "not a report")
        }
        var keys = context.codingPath
        if case .keyNotFound(let key, _) = error { keys.append(key) }
        var index: Int?
        if let first = keys.first, let i = first.intValue {
            index = i
            keys.removeFirst()
        }
        var field = ""
        for key in keys {
            if let i = key.intValue { field += "[\(i)]" } else { field += (field.isEmpty ? "" : ".") + snakeCase(key.stringValue) }
        }
        let problem: String
        switch error {
        case .keyNotFound: problem = "missing"
        case .valueNotFound(let type, _): problem = "expected \(typeName(type)), found null"
        case .typeMismatch(let type, _):
            problem = field.isEmpty ? "expected a report (a JSON object)" : "expected \(typeName(type))"
        case .dataCorrupted(let c):
            if !context.codingPath.isEmpty {
                problem = c.debugDescription
            } else {
                problem = json.allSatisfy(isJSONWhitespace) ? "empty; expected a report (a JSON object)" : "not valid JSON"
            }
        @unknown default: problem = "not a report"
        }
        return ReportRefusal(index: index, field: field, problem: problem)
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Date.Type: return "an RFC 3339 time (a string such as 2025-01-05T12:00:00Z)"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a value of type \(name)"
        }
    }

    /// The wire name of a key (the decoder converts snake_case to camelCase).
    static func snakeCase(_ key: String) -> String {
        key.reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }

    static func isJSONWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
}

extension SourceKind {
    /// An unknown kind is refused by name, listing the kinds there are.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let kind = SourceKind(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "expected one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(text.prefix(40))\"")
        }
        self = kind
    }
}

extension Report.Source.Status {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let status = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected ok or unavailable, found \"\(text.prefix(40))\"")
        }
        self = status
    }
}
