import Foundation
import Server
import Store

/// Read-your-writes: `POST /v1/reports` answers the revision that stored each report; a read given
/// `min_revision=N` answers only from a state at least that new. Each store read checks its own snapshot
/// (Registry.limited(by:minRevision:)), after the endpoint has checked its parameters, so a bad request is
/// a 400 whatever the revision. A registry behind (a standby that lags) lets go of its read slot, waits
/// up to `minRevisionWait` for the revision, and runs the request again; then answers 503 with
/// Retry-After rather than an older state. One database gives every serve replica the same state at once.
extension API {
    /// Two seconds: streaming replication lag in a healthy cluster is milliseconds; a standby seconds behind
    /// is better retried elsewhere than waited on by a thread.
    public static let defaultMinRevisionWait: Duration = .seconds(2)

    /// The request's min_revision: nil when absent; 400 when malformed or given to a request that reads no state.
    func minRevision(_ request: HTTPRequest, _ route: Route) throws(APIError) -> Int64? {
        guard let text = request.queryValue("min_revision") else { return nil }
        guard route.readsStore else {
            throw APIError.badParameter("min_revision", "only reads that answer from the registry's state take it")
        }
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let wanted = Int64(text), wanted >= 1 else {
            throw APIError.badParameter("min_revision", "expected a whole number of at least 1, found \"\(text.prefix(40))\"")
        }
        return wanted
    }

    /// Runs `attempt` until no read finds the registry behind its min_revision, waiting between attempts
    /// outside any read slot, up to `minRevisionWait`.
    func untilRevision(_ request: HTTPRequest, _ attempt: () throws -> HTTPResponse) throws -> HTTPResponse {
        let clock = ContinuousClock()
        let deadline = clock.now + minRevisionWait
        while true {
            do {
                return try attempt()
            } catch let behind as RevisionBehind {
                var current = behind.current
                while current < behind.wanted {
                    if clock.now >= deadline || request.clientGone() {
                        metrics.countError("revision_not_reached")
                        throw APIError(.serviceUnavailable, "revision_not_reached",
                                       "min_revision: this registry is at revision \(current), not yet \(behind.wanted); retry (or ask another replica)",
                                       details: [("parameter", .string("min_revision")), ("revision", .int(Int(current)))],
                                       headers: [("Retry-After", "1")])
                    }
                    Thread.sleep(forTimeInterval: 0.02)  // a revision check is one index lookup: 50 a second cost nothing
                    current = try registry.currentRevision()
                }
            }
        }
    }
}
