import CSVText
import Decoders
import Foundation
import Query
import Store
import Timestamps

/// How `capreg query` prints a page: an aligned table, RFC 4180 CSV, or a JSON array of objects.
enum QueryOutput {
    /// One cell of a host's row: hostname, kernel, then the columns. nil when absent.
    static func cells(_ host: QueriedHost, columns: [QueryTerm]) -> [String?] {
        let facts = Dictionary(host.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        return [host.hostname, host.kernelRelease] + columns.map { term -> String? in
            switch term {
            case .fact(let name, _): return facts[name]?.description
            case .kernel: return host.kernelRelease
            case .label(let key): return host.labels[key]
            }
        }
    }

    /// What freshness left out and how to get it back, for every answer; nil when nothing was left out.
    static func staleNote(_ stale: Int?) -> String? {
        guard let stale, stale > 0 else { return nil }
        return "\(stale) more matched but \(stale == 1 ? "is" : "are") stale: --fresh-within off to include them"
    }

    static func header(_ columns: [QueryTerm]) -> [String] { ["hostname", "kernel"] + columns.map(\.description) }

    /// Absent values show as `-`; control characters (hostnames and labels come from agents) as `?`.
    static func table(_ hosts: [QueriedHost], columns: [QueryTerm]) -> String {
        TextTable.render([header(columns)] + hosts.map { cells($0, columns: columns).map { $0 ?? "-" } })
    }

    /// The page as CSV through the one writer (CSVText: RFC 4180, every cell formula-guarded); absent is empty.
    static func csv(_ hosts: [QueriedHost], columns: [QueryTerm]) -> String {
        CSVWriter.document([header(columns)] + hosts.map { cells($0, columns: columns) })
    }

    /// `[{"hostname", "kernel", "reported_at", "labels": {…}, "facts": {name: value}}]`, facts typed as JSON.
    static func json(_ hosts: [QueriedHost]) -> String { text(objects(hosts)) }

    /// --explain --json: `{"hosts": […], "not_matching": {"total": N, "hosts": [{"hostname", "reasons": […]}]}}`.
    static func explainedJSON(_ hosts: [QueriedHost], notMatching: [RemoteQuery.Explained], total: Int?) -> String {
        let rejected: [[String: Any]] = notMatching.map { ["hostname": $0.hostname, "reasons": $0.reasons] }
        return text(["hosts": objects(hosts), "not_matching": ["total": total.map { $0 as Any } ?? NSNull(), "hosts": rejected]])
    }

    static func objects(_ hosts: [QueriedHost]) -> [[String: Any]] {
        hosts.map { host in
            ["hostname": host.hostname, "kernel": host.kernelRelease.map { $0 as Any } ?? NSNull(),
             "reported_at": RFC3339.format(host.reportedAt), "labels": host.labels, "facts": DecodeOutput.factsObject(host.facts)]
        }
    }

    static func text(_ object: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
