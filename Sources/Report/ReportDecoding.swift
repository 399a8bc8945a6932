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

/// How far into the future a report's `collected_at` may lie, seen from the registry's clock at arrival.
/// The caller of the decoder reads its clock and passes it in (`capreg serve` / `capreg ingest`
/// `--max-clock-skew`); a time beyond it would win over every later report of that host, freezing it.
public struct ClockBound: Sendable, Equatable {
    /// The registry's time when the report arrived.
    public var now: Date
    /// Seconds `collected_at` may be ahead of `now`.
    public var maxSkew: TimeInterval
    /// Ten minutes: far more than NTP-synchronized clocks drift, far less than any report interval.
    public static let defaultMaxSkew: TimeInterval = 600

    public init(now: Date, maxSkew: TimeInterval = ClockBound.defaultMaxSkew) {
        self.now = now
        self.maxSkew = maxSkew
    }
}

extension Report {
    /// Most characters (Unicode scalars) in `report_id` and `host.hostname`.
    public static let maxIdentifierLength = 255
    /// Most labels on one host: a fleet's useful dimensions (rack, pool, zone, role, …) with room to spare,
    /// small enough that every list of hosts stays small (64 × (317 + 256) characters at most per host: key, value).
    public static let maxLabels = 64
    /// Most characters in a label key's name (the part after an optional `prefix/`): a DNS label, as in
    /// Kubernetes, so node labels can be copied over as they are.
    public static let maxLabelNameLength = 63
    /// Most characters in a label key's optional prefix (`topology.example.io` in `topology.example.io/zone`):
    /// a DNS subdomain, as in Kubernetes.
    public static let maxLabelPrefixLength = 253
    /// Most characters (Unicode scalars) in a label value: room for a rack, a ticket URL or an owner's
    /// address, not for documents.
    public static let maxLabelValueLength = 256

    /// Hostnames many machines carry at once (distribution defaults, the kernel's unset name): a report
    /// under one of them would merge unrelated hosts into one pseudo-host. Compared without case,
    /// surrounding whitespace or a trailing dot.
    public static let placeholderHostnames: Set<String> = [
        "localhost", "localhost.localdomain", "localhost4", "localhost4.localdomain4", "localhost6",
        "localhost6.localdomain6", "ip6-localhost", "ip6-loopback", "(none)",
    ]

    /// The one way report JSON becomes a Report: one JSON object, decoded and checked (`check(clock:)`).
    /// `clock` is the arrival's time and skew bound; nil only where a report already took once is read
    /// again (`capreg redecode`), since the bound is about the moment of arrival.
    public static func decode(json: Data, clock: ClockBound?) throws(ReportRefusal) -> Report {
        let report: Report
        do {
            report = try jsonDecoder.decode(Report.self, from: json)
        } catch {
            throw refusal(error, json: json)
        }
        try report.check(clock: clock)
        return report
    }

    /// One report object or an array of them (POST /v1/reports' body), each exactly as `decode(json:clock:)`
    /// takes it; the first refusal carries the report's index when the body is an array.
    public static func decodeOneOrMany(json: Data, clock: ClockBound?) throws(ReportRefusal) -> [Report] {
        guard json.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "[") else { return [try decode(json: json, clock: clock)] }
        let reports: [Report]
        do {
            reports = try jsonDecoder.decode([Report].self, from: json)
        } catch {
            throw refusal(error, json: json)
        }
        for (i, report) in reports.enumerated() {
            do {
                try report.check(clock: clock)
            } catch {
                throw ReportRefusal(index: i, field: error.field, problem: error.problem)
            }
        }
        return reports
    }

    /// What JSON's shape cannot say: identifiers 1…255 characters without control or invisible
    /// characters, a hostname that names one host, labels within their limits, a kernel release, and a
    /// `collected_at` at most `clock.maxSkew` ahead of `clock.now`. Times are parsed while decoding
    /// (RFC3339.parse, date-times only).
    public func check(clock: ClockBound?) throws(ReportRefusal) {
        if let problem = Self.identifierProblem(reportId) { throw ReportRefusal(field: "report_id", problem: problem) }
        if let problem = Self.hostnameProblem(host.hostname) { throw ReportRefusal(field: "host.hostname", problem: problem) }
        if host.labels.count > Self.maxLabels {
            throw ReportRefusal(field: "host.labels", problem: "\(host.labels.count) labels; at most \(Self.maxLabels)")
        }
        // Sorted, so the same report is refused naming the same label every time.
        for key in host.labels.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            if let problem = Self.labelProblem(key: key, value: host.labels[key]!) {
                throw ReportRefusal(field: "host.labels." + Self.shown(key), problem: problem)
            }
        }
        if kernel.release.isEmpty { throw ReportRefusal(field: "kernel.release", problem: "empty; expected `uname -r`") }
        // NUL in any other text: stored text ends at NUL, so it would be silently cut short.
        for (field, value) in otherText() where value.unicodeScalars.contains("\u{0}") {
            throw ReportRefusal(field: field, problem: "contains U+0000 (NUL); text may not contain NUL")
        }
        if let clock, collectedAt.timeIntervalSince(clock.now) > clock.maxSkew {
            let ahead = collectedAt.timeIntervalSince(clock.now)
            throw ReportRefusal(
                field: "collected_at",
                problem: "\(RFC3339.format(collectedAt)) is \(Self.span(ahead)) ahead of the registry's time \(RFC3339.format(clock.now)); "
                    + "at most \(Self.span(clock.maxSkew)) ahead is taken (--max-clock-skew); fix the host's clock")
        }
    }

    /// Every text of the report other than its identifiers and labels, with its field path.
    func otherText() -> [(String, String)] {
        var out: [(String, String)] = [("collector_version", collectorVersion), ("kernel.release", kernel.release)]
        if let machineId = host.machineId { out.append(("host.machine_id", machineId)) }
        if let version = kernel.version { out.append(("kernel.version", version)) }
        for (i, s) in sources.enumerated() {
            out.append(("sources[\(i)].unit", s.unit))
            if let reason = s.reason { out.append(("sources[\(i)].reason", reason)) }
            if let detail = s.detail { out.append(("sources[\(i)].detail", detail)) }
            if let raw = s.raw { out.append(("sources[\(i)].raw", raw)) }
            for (key, value) in (s.decoded ?? [:]).sorted(by: { $0.key < $1.key }) {
                out.append(("sources[\(i)].decoded", key))
                out.append(("sources[\(i)].decoded." + Self.shown(key), value))
            }
        }
        return out
    }

    /// Why `name` cannot be a host's identity, or nil when it can. Used by the registry (`check(clock:)`)
    /// and by the collector before it builds a report, so both refuse the same names.
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

    /// Why `key = value` cannot be a host label, or nil when it can. Used by the registry (`check(clock:)`)
    /// and by the collector (`--label`, `label.KEY` in its configuration file), so both refuse the same.
    ///
    /// A key is Kubernetes' label key: an optional prefix, a DNS subdomain of at most 253 characters
    /// (lowercase letters, digits, `-`, dots between parts) followed by `/`, then a name of 1…63 ASCII
    /// letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit. A value is at most
    /// 256 characters, none of them control or invisible (`invisibleProblem`); it may be empty.
    public static func labelProblem(key: String, value: String) -> String? {
        if let problem = labelKeyProblem(key) { return "key: " + problem }
        let count = value.unicodeScalars.count
        if count > maxLabelValueLength { return "value of \(count) characters; at most \(maxLabelValueLength)" }
        if let problem = invisibleProblem(value) { return "value " + problem }
        return nil
    }

    static func labelKeyProblem(_ key: String) -> String? {
        if key.isEmpty { return "empty" }
        if let problem = invisibleProblem(key) { return problem }
        let name: Substring
        if let slash = key.lastIndex(of: "/") {
            let prefix = key[..<slash]
            name = key[key.index(after: slash)...]
            let parts = prefix.split(separator: ".", omittingEmptySubsequences: false)
            let count = prefix.unicodeScalars.count
            if count > maxLabelPrefixLength { return "prefix of \(count) characters; at most \(maxLabelPrefixLength)" }
            if prefix.isEmpty || !parts.allSatisfy({ part in
                !part.isEmpty && part.unicodeScalars.allSatisfy({ isLowerAlnum($0) || $0 == "-" })
                    && isLowerAlnum(part.unicodeScalars.first!) && isLowerAlnum(part.unicodeScalars.last!)
            }) {
                return "the prefix before `/` must be a DNS subdomain (lowercase letters, digits and `-`, parts separated by dots)"
            }
        } else {
            name = Substring(key)
        }
        let count = name.unicodeScalars.count
        if count == 0 { return "empty name after `/`" }
        if count > maxLabelNameLength { return "name of \(count) characters; at most \(maxLabelNameLength)" }
        guard isLabelName(name) else {
            return "names are ASCII letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit"
        }
        return nil
    }

    /// Kubernetes' label name (a key's part after its prefix), also the form of a non-empty label value:
    /// 1…63 ASCII letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit. Host label
    /// keys are held to it here, and the collector's NFD feature file holds its names and values to it.
    public static func isLabelName<S: StringProtocol>(_ name: S) -> Bool {
        let scalars = name.unicodeScalars
        guard let first = scalars.first, let last = scalars.last, scalars.count <= maxLabelNameLength else { return false }
        return isAlnum(first) && isAlnum(last) && scalars.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    static func isLowerAlnum(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("0"..."9").contains(s) }
    static func isAlnum(_ s: Unicode.Scalar) -> Bool { isLowerAlnum(s) || ("A"..."Z").contains(s) }

    public static func identifierProblem(_ value: String) -> String? {
        if value.isEmpty { return "empty" }
        let count = value.unicodeScalars.count
        if count > maxIdentifierLength { return "\(count) characters; at most \(maxIdentifierLength)" }
        return invisibleProblem(value)
    }

    /// Characters that do not show, or show as something else, in an identifier or label: controls
    /// (C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F), format characters (general category Cf:
    /// zero-width spaces and joiners, bidirectional overrides, the byte order mark, soft hyphen) and the
    /// line and paragraph separators U+2028/U+2029. Two names differing only by them would look alike
    /// (and NUL ends a C string), so they are refused rather than removed: identities are compared byte
    /// for byte. Spaces and other visible characters are kept.
    public static func invisibleProblem(_ value: String) -> String? {
        for (i, s) in value.unicodeScalars.enumerated() {
            let kind: String
            switch s.properties.generalCategory {
            case .control: kind = "a control character"
            case .format: kind = "an invisible format character"
            case .lineSeparator, .paragraphSeparator: kind = "a line or paragraph separator"
            default: continue
            }
            return "contains \(codePoint(s)) (\(kind)) at character \(i + 1); control and invisible characters are not allowed"
        }
        return nil
    }

    static func codePoint(_ s: Unicode.Scalar) -> String {
        let hex = String(s.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// A label key as it may appear in a field path: controls and invisibles as `U+XXXX`, at most 80 characters.
    static func shown(_ key: String) -> String {
        var out = ""
        for (i, s) in key.unicodeScalars.enumerated() {
            if i == 80 { return out + "…" }
            switch s.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: out += "<" + codePoint(s) + ">"
            default: out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// `10m`, `2h`, `3650d`, `90s`: whole units as `capreg serve --max-clock-skew` takes them.
    static func span(_ seconds: TimeInterval) -> String {
        let s = Int64(seconds.rounded(.up))
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where s >= size && s % size == 0 { return "\(s / size)\(unit)" }
        if s >= 86_400 { return "\(s / 86_400)d" }
        return "\(s)s"
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
