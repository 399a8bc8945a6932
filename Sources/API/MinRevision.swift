import Foundation
import Server
import Store

/// Read-your-writes: `POST /v1/reports` answers the revision that stored each report; a read given
/// `min_revision=N` answers only from a state at least that new. One database gives every serve replica
/// the same state once committed; a replica reading a standby that lags waits here (outside any read
/// slot) up to `minRevisionWait`, then answers 503 with Retry-After instead of an older state.
extension API {
    /// Two seconds: streaming replication lag in a healthy cluster is milliseconds; a standby seconds behind
    /// is better retried elsewhere than waited on by a thread.
    public static let defaultMinRevisionWait: Duration = .seconds(2)

    func awaitRevision(_ request: HTTPRequest, _ route: Route) throws {
        guard let text = request.queryValue("min_revision") else { return }
        guard route.readsStore else {
            throw APIError.badParameter("min_revision", "only reads that answer from the registry's state take it")
        }
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let wanted = Int64(text), wanted >= 1 else {
            throw APIError.badParameter("min_revision", "expected a whole number of at least 1, found \"\(text.prefix(40))\"")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + minRevisionWait
        while true {
            let current = try registry.currentRevision()
            if current >= wanted { return }
            if clock.now >= deadline || request.clientGone() {
                metrics.countError("revision_not_reached")
                throw APIError(.serviceUnavailable, "revision_not_reached",
                               "min_revision: this registry is at revision \(current), not yet \(wanted); retry (or ask another replica)",
                               details: [("parameter", .string("min_revision")), ("revision", .int(Int(current)))], headers: [("Retry-After", "1")])
            }
            Thread.sleep(forTimeInterval: 0.02)  // a revision check is one index lookup: 50 a second cost nothing
        }
    }
}
