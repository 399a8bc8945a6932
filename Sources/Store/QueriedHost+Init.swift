import Decoders
import Foundation
import Query

/// Public builders for answers that arrive from elsewhere (`capreg query --server` reads them from the
/// HTTP API); the memberwise initializers are internal to the store.
extension QueriedHost {
    public static func make(hostname: String, kernelRelease: String?, reportedAt: Date, labels: [String: String], facts: [Fact]) -> QueriedHost {
        QueriedHost(hostname: hostname, kernelRelease: kernelRelease, reportedAt: reportedAt, labels: labels, facts: .list(facts))
    }
}

extension HostPage {
    public static func make(hosts: [QueriedHost], nextCursor: String?) -> HostPage {
        HostPage(hosts: hosts, nextCursor: nextCursor)
    }
}

extension QueriedHost {
    /// The host's values as the query language evaluates (and explains) them.
    public var evaluator: QueryEvaluator {
        QueryEvaluator(facts: Dictionary(facts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }),
                       kernelRelease: kernelRelease, labels: labels,
                       devices: devices?.map { d in Dictionary(d.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) })
    }
}
