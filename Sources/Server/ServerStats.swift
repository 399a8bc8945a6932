import Foundation

/// One response as it left the server, for `/metrics` and access logs.
public struct ResponseMetric: Sendable {
    /// Empty when the request never parsed (a 400 on garbage, a 408 on a dribbled head).
    public let method: String
    /// The path as sent (still percent-encoded); empty when the request never parsed.
    public let path: String
    public let status: Int
    /// Time spent in the handler; zero for the server's own errors.
    public let handlerDuration: Duration
    public let requestBodyBytes: Int
    public let responseBytes: Int
    /// Whether the handler produced it (false: the server's own 400/408/411/413/431/... ).
    public let fromHandler: Bool
}

/// Counters since start. Cheap to read; the API's `/metrics` turns them into Prometheus text.
public struct ServerStats: Sendable, Equatable {
    /// Every connection accept() returned, the rejected ones included.
    public var connectionsAccepted = 0
    /// Turned away with 503 because every connection slot was busy (at accept, or, for a connection's
    /// first identified request, every slot identified connections may hold).
    public var connectionsRejected = 0
    public var connectionsOpen = 0
    /// Open connections without an identity (gauge).
    public var connectionsAnonymous = 0
    /// Anonymous connections cut to make room for a new connection when every slot was taken.
    public var anonymousConnectionsCut = 0
    /// Requests the handler refused after their head (`HTTPHandler.admit`), body unread.
    public var admissionRefusals = 0
    /// 429s: the request's identity already held `maxConnectionsPerIdentity` connections.
    public var identityShareRejections = 0
    /// 503s: the request's body did not fit in `maxBufferedBodyBytes` beside the bodies being held.
    public var bodyBudgetRejections = 0
    /// Body bytes reserved by requests being read or answered now (gauge).
    public var bufferedBodyBytes = 0
    /// Requests that reached the handler.
    public var requestsHandled = 0
    /// Responses by status class: index 1 is 1xx … index 5 is 5xx (index 0 unused). Includes the
    /// server's own errors and the 503s of rejected connections.
    public var responsesByClass = [Int](repeating: 0, count: 6)
    /// Requests the parser refused (malformed, too large, smuggling attempts).
    public var parseErrors = 0
    /// 408s: a head or body that did not arrive in time.
    public var readTimeouts = 0
    /// Keep-alive connections closed for idling past `idleTimeout`.
    public var idleCloses = 0
    /// Sum of handler durations, in seconds.
    public var handlerSeconds = 0.0
    /// Final responses written on accepted connections, and the send() calls they took: equal when
    /// every response went out in one write.
    public var responsesWritten = 0
    public var responseSendCalls = 0
    /// Streams (StreamStart) handed to the stream hub, and open now (gauge).
    public var streamsStarted = 0
    public var streamsOpen = 0
    /// Streams refused at their start: 503 (every place taken) or 429 (the identity's share).
    public var streamsRefused = 0
    /// Streams cut because their client did not read: the buffer would have passed its bound, or bytes
    /// waited longer than the write timeout.
    public var streamsCutSlow = 0
}

/// The live counters behind `ServerStats`, shared by every worker.
final class ServerCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var stats = ServerStats()

    func snapshot() -> ServerStats { lock.withLock { stats } }

    func update(_ change: (inout ServerStats) -> Void) {
        lock.withLock { change(&stats) }
    }

    func responseWritten(status: HTTPStatus, sendCalls: Int, handlerNanos: Int64?) {
        lock.withLock {
            stats.responsesByClass[min(5, max(0, status.statusClass))] += 1
            stats.responsesWritten += 1
            stats.responseSendCalls += sendCalls
            if let handlerNanos {
                stats.requestsHandled += 1
                stats.handlerSeconds += Double(handlerNanos) / 1e9
            }
        }
    }
}
