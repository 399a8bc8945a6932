import Foundation
import RegistryClient

/// Sends the spool's reports oldest first, one per request. 2xx: removed. 400/413/415/422 (the
/// registry will never take this report): moved to rejected/ and logged. Anything else (no
/// connection, 5xx, 401/403 while a token is being fixed, 408, 429): kept, retried with backoff.
public struct Delivery: Sendable {
    public var spool: Spool
    public var client: APIClient
    public var backoff: Backoff
    public var log: @Sendable (String) -> Void
    public var sleep: @Sendable (Double) -> Void
    public var shouldStop: @Sendable () -> Bool

    public init(spool: Spool, client: APIClient, backoff: Backoff = Backoff(), log: @escaping @Sendable (String) -> Void,
                sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
                shouldStop: @escaping @Sendable () -> Bool = { false }) {
        self.spool = spool
        // A stop (SIGTERM) also ends a request in flight: the report stays spooled, and the agent exits at once.
        var client = client
        client.cancelWhen = shouldStop
        self.client = client
        self.backoff = backoff
        self.log = log
        self.sleep = sleep
        self.shouldStop = shouldStop
    }

    public struct Outcome: Equatable, Sendable {
        public var delivered = 0
        public var rejected = 0
        public var remaining = 0
        public var failedAttempts = 0

        public init(delivered: Int = 0, rejected: Int = 0, remaining: Int = 0, failedAttempts: Int = 0) {
            self.delivered = delivered; self.rejected = rejected; self.remaining = remaining; self.failedAttempts = failedAttempts
        }
    }

    static let permanent: Set<Int> = [400, 413, 415, 422]

    /// The push URL's path, or POST /v1/reports when it has none.
    var target: String { client.path.isEmpty ? "/v1/reports" : client.path }

    /// Until the spool is empty, `maxFailures` consecutive failures, or the next retry would start
    /// after `deadline`.
    public func drain(maxFailures: Int? = nil, deadline: Date? = nil) -> Outcome {
        var outcome = Outcome()
        var failures = 0
        while let entry = spool.pending().first, !shouldStop() {
            let sent: Result<APIClient.Response, APIClient.ClientError>
            switch spool.read(entry) {
            case .success(let body): sent = client.post(target, body)
            case .failure(let e): sent = .failure(APIClient.ClientError(description: "read \(entry.name): \(e.name)"))
            }
            switch sent {
            case .success(let r) where (200..<300).contains(r.status):
                do { try spool.remove(entry) } catch {
                    log("ERROR delivered \(entry.name) but could not remove it (\(error)); the registry will see it again as a duplicate")
                }
                outcome.delivered += 1
                spool.count(delivered: 1, at: Date())
                failures = 0
                continue
            case .success(let r) where Self.permanent.contains(r.status):
                log("ERROR registry refused \(entry.name) with \(r.status): \(r.text.prefix(300)); kept in \(spool.rejectedDirectory)")
                do { try spool.reject(entry, refusal: Refusal(status: r.status, body: r.text, at: Date())) } catch {
                    log("ERROR could not move \(entry.name) to rejected/ (\(error)); stopping delivery")
                    outcome.remaining = spool.pending().count
                    return outcome
                }
                outcome.rejected += 1
                spool.count(rejected: 1)
                continue
            case .success(let r):
                log("WARN \(entry.name): registry answered \(r.status): \(r.text.prefix(200))")
            case .failure(let f):
                log("WARN \(entry.name): \(f)")
            }
            failures += 1
            outcome.failedAttempts += 1
            if let maxFailures, failures >= maxFailures { break }
            let wait = backoff.delay(attempt: failures - 1)
            if let deadline, Date().addingTimeInterval(wait) > deadline { break }
            log("INFO retrying in \(String(format: "%.1f", wait)) s (\(spool.pending().count) waiting)")
            sleep(wait)
        }
        outcome.remaining = spool.pending().count
        return outcome
    }
}
