import Foundation

/// Everything the server can be told. Defaults suit a registry behind a scheduler on one host; the CLI
/// picks the listen address (127.0.0.1:8080), tests pick port 0 and short timeouts.
public struct ServerConfig: Sendable {
    /// IPv4 or IPv6 literal (`127.0.0.1`, `::1`, `0.0.0.0`, `::`) or a name getaddrinfo resolves.
    public var host: String
    /// 0 asks the kernel for a free port; `HTTPServer.port` tells which after `start()`.
    public var port: UInt16
    public var limits: HTTPLimits
    /// Connections served at once (one worker thread each). The next one gets 503 and is closed, or,
    /// with `reservedAnonymousConnections`, cuts the oldest idle anonymous connection (ConnectionSlots).
    public var maxConnections: Int
    /// Slots identified connections may not take, kept for anonymous ones (every new connection until
    /// its first request is admitted with an identity, and requests that need none, such as health
    /// probes). When every slot is taken, a new connection cuts the oldest anonymous connection not being
    /// served, so anonymous clients cannot keep an identified one out. nil: the handler names no
    /// identities; nothing is cut and a full server answers 503. At most `maxConnections - 1`.
    public var reservedAnonymousConnections: Int?
    /// Connections one identity may hold at once; its next request gets 429 (`Retry-After: 1`) and the
    /// connection is closed. nil: no bound.
    public var maxConnectionsPerIdentity: Int?
    /// Bytes of request bodies held at once over every connection: each admitted request takes its
    /// `Content-Length` before its body is read and gives it back once answered. One that does not fit
    /// gets 503 (`Retry-After: 1`) without its body being read. Raised to `limits.maxBodyBytes` if below,
    /// so any allowed body fits alone.
    public var maxBufferedBodyBytes: Int
    /// From a request's first byte until its empty line. A client dribbling its head gets 408.
    /// Also bounds a new connection's wait for its first byte (closed silently).
    public var headerReadTimeout: Duration
    /// From the end of the head until the last body byte. Past it: 408.
    public var bodyReadTimeout: Duration
    /// How long a keep-alive connection may sit between requests before it is closed silently.
    public var idleTimeout: Duration
    /// How long one response may take to leave (a client that stops reading).
    public var writeTimeout: Duration
    /// `shutdown()` waits this long for in-flight requests before cutting their connections.
    public var drainTimeout: Duration
    /// After the server closes a connection, how long it reads and discards what the client still
    /// sends, so that a reset does not destroy the response before the client reads it.
    public var lingerTimeout: Duration
    public var listenBacklog: Int32
    /// Streams (responses that go on after the handler returns: StreamStart) held at once, beside the
    /// connections. The next one gets 503 (`Retry-After: 1`). Each costs a descriptor, no thread.
    public var maxStreams: Int
    /// Streams one identity may hold at once; its next gets 429. nil: no bound but `maxStreams`.
    public var maxStreamsPerIdentity: Int?
    /// Bytes a stream may have waiting for its client; a stream that would pass it is cut.
    public var maxStreamBufferBytes: Int
    /// A stream quiet for this long gets its keep-alive bytes (StreamStart.keepAlive).
    public var streamKeepAlive: Duration
    /// Called for every response, just before it is written (handler responses and the server's own errors, the 503s
    /// of the accept thread included), on the thread that wrote it, for metrics and access logs.
    /// Keep it quick.
    public var onResponse: (@Sendable (ResponseMetric) -> Void)?

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, limits: HTTPLimits = HTTPLimits(),
                maxConnections: Int = 256, reservedAnonymousConnections: Int? = nil,
                maxConnectionsPerIdentity: Int? = nil, maxBufferedBodyBytes: Int = 32 * 1024 * 1024,
                headerReadTimeout: Duration = .seconds(10),
                bodyReadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(30),
                writeTimeout: Duration = .seconds(30), drainTimeout: Duration = .seconds(10),
                lingerTimeout: Duration = .milliseconds(500), listenBacklog: Int32 = 512,
                maxStreams: Int = 10_000, maxStreamsPerIdentity: Int? = nil, maxStreamBufferBytes: Int = 256 * 1024,
                streamKeepAlive: Duration = .seconds(15),
                onResponse: (@Sendable (ResponseMetric) -> Void)? = nil) {
        self.host = host
        self.port = port
        self.limits = limits
        self.maxConnections = max(1, maxConnections)
        self.reservedAnonymousConnections = reservedAnonymousConnections
        self.maxConnectionsPerIdentity = maxConnectionsPerIdentity
        self.maxBufferedBodyBytes = maxBufferedBodyBytes
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.drainTimeout = drainTimeout
        self.lingerTimeout = lingerTimeout
        self.listenBacklog = listenBacklog
        self.maxStreams = max(0, maxStreams)
        self.maxStreamsPerIdentity = maxStreamsPerIdentity.map { max(1, $0) }
        self.maxStreamBufferBytes = max(4096, maxStreamBufferBytes)
        self.streamKeepAlive = streamKeepAlive
        self.onResponse = onResponse
    }
}
