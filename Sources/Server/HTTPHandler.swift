/// The application side of the server. Called on a worker thread, one request at a time per
/// connection, many connections at once: implementations must be thread-safe.
public protocol HTTPHandler: Sendable {
    /// Called once a request's head is parsed, before the server reads its body or sends
    /// `100 Continue`: the place to refuse (unknown path, wrong method, missing token) without paying
    /// for a body. `head` is the request with an empty `body`; `contentLength` says what is announced.
    /// The default admits every request without an identity.
    func admit(_ head: HTTPRequest) -> Admission

    func handle(_ request: HTTPRequest) -> HTTPResponse
}

extension HTTPHandler {
    public func admit(_ head: HTTPRequest) -> Admission { .admit(identity: nil) }
}

/// What `admit` decides about a request whose head has arrived.
public enum Admission: Sendable, Equatable {
    /// Read the body and call `handle`. `identity` names who asks (a short id, never a secret); the
    /// server bounds the connections each identity holds (`ServerConfig.maxConnectionsPerIdentity`) and
    /// counts a connection without one as anonymous (`ServerConfig.reservedAnonymousConnections`).
    case admit(identity: String?)
    /// Answer this without reading the body, then close: the unread body leaves the framing unknown.
    case refuse(HTTPResponse)
}

/// A handler from closures, for tests and small tools.
public struct ClosureHandler: HTTPHandler {
    private let admission: @Sendable (HTTPRequest) -> Admission
    private let body: @Sendable (HTTPRequest) -> HTTPResponse

    public init(admit: @escaping @Sendable (HTTPRequest) -> Admission = { _ in .admit(identity: nil) },
                _ body: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.admission = admit
        self.body = body
    }

    public func admit(_ head: HTTPRequest) -> Admission { admission(head) }
    public func handle(_ request: HTTPRequest) -> HTTPResponse { body(request) }
}
