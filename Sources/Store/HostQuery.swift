import Decoders
import Foundation
import JSONText
import Query
import Report

/// Answers "which hosts match EXPR (now, or as of T)", a page at a time. A separate protocol from
/// RegistryStore so that the query seam stays small; a PostgreSQL backend implements both, reusing
/// HostQuerySQL's plain SQL.
public protocol HostQuerying: Sendable {
    /// Hosts matching `expr` (every host when nil), ordered by hostname, at most `limit`
    /// (1…HostQueryLimits.max), starting after `cursor` (a previous page's `nextCursor`).
    /// `fields` restricts the facts returned to those names (nil: every fact).
    func queryHosts(_ expr: QueryExpr?, asOf: Date?, fields: Set<String>?, limit: Int, after cursor: String?) throws -> HostPage
}

public enum HostQueryLimits {
    public static let `default` = 100
    public static let max = 1000
    /// A page of hosts or changes ends early, with its cursor, once the JSON it makes passes about this
    /// many bytes (docs/api.md): `limit` bounds rows, this bounds what one answer holds in memory.
    public static let maxPageBytes = 4 << 20
}

public struct QueriedHost: Sendable, Hashable {
    public var hostname: String
    /// The kernel of the report the answer rests on (the newest, or the one in force at T).
    public var kernelRelease: String?
    /// Collected-at time of that report.
    public var reportedAt: Date
    /// Labels as that report gave them, sorted by key (the order answers list them in): a page reads a
    /// list per host, not a dictionary.
    public internal(set) var labelList: [(key: String, value: String)] {
        get { storedLabels.list }
        set { storedLabels = .list(newValue) }
    }
    /// The labels as read: a list, or a page's `hosts.label_print`, read only when asked for (the API
    /// writes a print's JSON straight from it, `writeLabels`).
    var storedLabels: QueriedLabels

    /// Labels as that report gave them.
    public var labels: [String: String] {
        get { Dictionary(labelList, uniquingKeysWith: { first, _ in first }) }
        set { labelList = QueriedHost.sorted(newValue.map { (key: $0.key, value: $0.value) }) }
    }
    /// Facts (all, or the requested fields), as read.
    var storedFacts: QueriedFacts
    /// The host's PCI devices, read only where asked (`HostQueryRequest.devices`) or where an answer
    /// explains `devices(…)`; nil otherwise.
    public internal(set) var devices: [DeviceFacts]?
    /// With `devices`: the registry revision of the host's current report (an export's generation).
    public internal(set) var currentRevision: Int64?

    /// Facts (all, or the requested fields), sorted by name.
    public var facts: [Fact] { storedFacts.list }

    /// The same facts as the JSON object the API answers with (as stored, when the page read it whole).
    public var factsJSON: String { storedFacts.json }

    /// `factsJSON`, written into an answer without a String made for it.
    public func writeFacts(into out: inout JSONWriter) { storedFacts.writeJSON(into: &out) }

    /// About the bytes `writeFacts` writes.
    public var factsJSONBytes: Int { storedFacts.approximateBytes }

    init(hostname: String, kernelRelease: String?, reportedAt: Date, labels: [String: String], facts: QueriedFacts) {
        self.init(hostname: hostname, kernelRelease: kernelRelease, reportedAt: reportedAt,
                  labelList: QueriedHost.sorted(labels.map { (key: $0.key, value: $0.value) }), facts: facts)
    }

    /// `labelList` sorted by key, one entry per key.
    init(hostname: String, kernelRelease: String?, reportedAt: Date, labelList: [(key: String, value: String)], facts: QueriedFacts) {
        self.init(hostname: hostname, kernelRelease: kernelRelease, reportedAt: reportedAt, labels: .list(labelList), facts: facts)
    }

    init(hostname: String, kernelRelease: String?, reportedAt: Date, labels: QueriedLabels, facts: QueriedFacts) {
        self.hostname = hostname
        self.kernelRelease = kernelRelease
        self.reportedAt = reportedAt
        self.storedLabels = labels
        self.storedFacts = facts
    }

    /// The labels as a JSON object, keys in `labelList`'s order.
    public func writeLabels(into out: inout JSONWriter) {
        if case .print(let print) = storedLabels, LabelPrint.writeJSON(print, into: &out) { return }
        out.objectStart()
        for (key, value) in labelList {
            out.key(key)
            out.string(value)
        }
        out.objectEnd()
    }

    /// About the bytes of the labels' JSON.
    public var labelsJSONBytes: Int {
        switch storedLabels {
        case .print(let print): return print.utf8.count + 2
        case .list(let list): return list.reduce(2) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 }
        }
    }

    /// By key (String order, as answers have always listed labels); already sorted lists, as read in key
    /// order, pass through unchanged.
    static func sorted(_ labels: [(key: String, value: String)]) -> [(key: String, value: String)] {
        var labels = labels
        if !zip(labels, labels.dropFirst()).allSatisfy({ $0.key < $1.key }) { labels.sort { $0.key < $1.key } }
        return labels
    }

    public static func == (a: QueriedHost, b: QueriedHost) -> Bool {
        a.hostname == b.hostname && a.kernelRelease == b.kernelRelease && a.reportedAt == b.reportedAt && a.labels == b.labels
            && a.facts == b.facts
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hostname)
        hasher.combine(reportedAt)
    }
}

public struct HostPage: Sendable, Hashable {
    public var hosts: [QueriedHost]
    /// Opaque; pass it back for the next page. nil on the last page.
    public var nextCursor: String?
}

public enum HostQueryError: Error, Hashable, Sendable, CustomStringConvertible {
    case badCursor
    case badLimit(Int)

    public var description: String {
        switch self {
        case .badCursor: return "the cursor is not one this registry handed out"
        case .badLimit(let n): return "limit \(n) is outside 1…\(HostQueryLimits.max)"
        }
    }
}

/// Keyset cursor of host lists: the last hostname of a page (CursorText, tag `h1`).
public enum HostCursor {
    static let tag = "h1"

    public static func encode(after hostname: String) -> String { CursorText.encode(tag, hostname) }

    public static func decode(_ cursor: String) throws -> String {
        guard let hostname = CursorText.decode(tag, cursor) else { throw HostQueryError.badCursor }
        return hostname
    }
}

extension Registry: HostQuerying {
    public func queryHosts(_ expr: QueryExpr?, asOf: Date? = nil, fields: Set<String>? = nil, limit: Int = HostQueryLimits.default,
                           after cursor: String? = nil) throws -> HostPage {
        try answer(HostQueryRequest(expr, reference: asOf.map(QueryReference.time) ?? .now, fields: fields, limit: limit, cursor: cursor)).matches
    }
}
