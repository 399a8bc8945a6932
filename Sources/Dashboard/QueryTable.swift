import CSVText
import Decoders
import Query
import Store

/// The rows of a query answer as the dashboard shows and downloads them: hostname, kernel, then one
/// column per extra term; sorted by any column.
public struct QueryTable: Sendable {
    /// Rows per CSV download: the server holds one download's hosts at a time, never the whole fleet's
    /// (the `Link: rel="next"` header reaches the next download).
    public static let csvRowLimit = 10_000

    public var columns: [QueryTerm]
    public var hosts: [QueriedHost]

    public init(columns: [QueryTerm], hosts: [QueriedHost]) {
        self.columns = columns.filter { $0 != .kernel }
        self.hosts = hosts
    }

    public var header: [String] { ["hostname", "kernel"] + columns.map(\.description) }

    /// A cell as typed data; nil when absent.
    enum Cell: Comparable {
        case bool(Bool), int(Int64), kernel(KernelRelease), text(String)

        var text: String {
            switch self {
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .kernel(let k): return k.description
            case .text(let s): return s
            }
        }

        /// Same-kind cells compare by value (kernels as versions); mixed kinds by kind, so any order is total.
        static func < (a: Cell, b: Cell) -> Bool {
            switch (a, b) {
            case (.bool(let x), .bool(let y)): return !x && y
            case (.int(let x), .int(let y)): return x < y
            case (.kernel(let x), .kernel(let y)): return x < y || (!(y < x) && x.description < y.description)
            case (.text(let x), .text(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
            default: return a.rank < b.rank
            }
        }

        var rank: Int {
            switch self {
            case .bool: return 0
            case .int: return 1
            case .kernel: return 2
            case .text: return 3
            }
        }
    }

    func cells(_ host: QueriedHost) -> [Cell?] {
        let facts = Dictionary(host.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        func cell(_ v: FactValue?) -> Cell? {
            switch v {
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .text(let s): return .text(s)
            case nil: return nil
            }
        }
        let kernel = host.kernelRelease.map { Cell.kernel(KernelRelease($0)) }
        return [.text(host.hostname), kernel] + columns.map { term -> Cell? in
            switch term {
            case .fact(let name, _): return cell(facts[name])
            case .kernel: return kernel
            case .label(let key): return host.labels[key].map(Cell.text)
            }
        }
    }

    /// Rows as text, absent cells nil.
    public var rows: [[String?]] { hosts.map { cells($0).map { $0?.text } } }

    /// Sorted by the column named `column` (a header name; unknown names leave the hostname order), absent
    /// values last whichever the direction, ties in hostname order.
    public func sorted(by column: String?, descending: Bool) -> QueryTable {
        guard let column, let index = header.firstIndex(of: column), index > 0 || descending else { return self }
        let keyed = hosts.map { (host: $0, key: cells($0)[index]) }
        var out = self
        out.hosts = keyed.enumerated().sorted { l, r in
            switch (l.element.key, r.element.key) {
            case (nil, nil): return l.offset < r.offset
            case (nil, _): return false
            case (_, nil): return true
            case (let a?, let b?):
                if a == b { return l.offset < r.offset }
                return descending ? b < a : a < b
            }
        }.map(\.element.host)
        return out
    }

    /// The rows as CSV through the one writer (CSVText: RFC 4180, every cell formula-guarded, header
    /// included); absent cells empty.
    public func csv() -> String {
        CSVWriter.document([header] + rows)
    }
}
