#if canImport(Glibc)
import Glibc
#endif

public enum HTTPVersion: String, Sendable, Equatable {
    case http10 = "HTTP/1.0"
    case http11 = "HTTP/1.1"
}

/// One `name=value` pair of the query string, percent-decoded (`+` is a space, as in HTML forms).
public struct QueryItem: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// POLLRDHUP (Linux, <poll.h> under _GNU_SOURCE, which Swift's Glibc module does not define): the peer
/// closed its sending side.
private let pollReadHangUp: Int16 = 0x2000

/// A complete request as the parser delivers it: framing already checked, body fully read.
public struct HTTPRequest: Sendable, Equatable {
    /// As sent (a token, case-sensitive). Unknown methods reach the handler; refusing them is the router's job.
    public var method: String
    /// The request-target exactly as sent (origin-form `/a/b?x=1`, absolute-form, `*` or authority-form).
    public var target: String
    /// The path part of the target, still percent-encoded (`*` for OPTIONS *, the authority for CONNECT).
    public var path: String
    /// `path` split on `/` and percent-decoded per segment, so an encoded `%2F` stays inside its segment.
    /// `/v1/hosts/a%2Fb` gives `["v1", "hosts", "a/b"]`; `/` gives `[]`.
    public var pathSegments: [String]
    /// The query string as sent (without `?`), or nil when the target has none.
    public var rawQuery: String?
    public var query: [QueryItem]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The body's announced length (`Content-Length`, 0 without one). Equal to `body.count` once the
    /// body is read; in the head passed to `HTTPHandler.admit` the body is still empty.
    public var contentLength: Int
    /// What `HTTPHandler.admit` named for this request (nil: anonymous, or outside a server).
    public var identity: String?
    /// The peer as `ip:port` (`[ip]:port` for IPv6). Empty outside a server (parser tests, fuzzing).
    public var remoteAddress: String
    /// Whether the client asked to keep the connection open (HTTP/1.1 default, `Connection: close`,
    /// HTTP/1.0 `Connection: keep-alive`). The server may still close (shutdown, handler's choice).
    public var keepAlive: Bool
    /// The connection's socket while its handler runs (-1 outside a server), for `clientGone()`.
    public var connectionFD: Int32 = -1

    public init(method: String, target: String, path: String, pathSegments: [String], rawQuery: String?,
                query: [QueryItem], version: HTTPVersion, headers: HTTPHeaders, body: [UInt8],
                contentLength: Int? = nil, remoteAddress: String = "", keepAlive: Bool) {
        self.method = method
        self.target = target
        self.path = path
        self.pathSegments = pathSegments
        self.rawQuery = rawQuery
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.contentLength = contentLength ?? body.count
        self.remoteAddress = remoteAddress
        self.keepAlive = keepAlive
    }

    /// The first value of query parameter `name`, decoded.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// True once the client has closed or reset its connection while this request is being answered,
    /// so a long store read can stop: nobody is left to receive its answer. One poll() with no wait.
    /// A client that only half-closes (shutdown of its sending side) counts as gone too: curl, browsers
    /// and capreg's own client never do that before reading the answer.
    public func clientGone() -> Bool {
        guard connectionFD >= 0 else { return false }
        var entry = pollfd(fd: connectionFD, events: pollReadHangUp, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        return entry.revents & (pollReadHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// Every value of query parameter `name` (`?a=1&a=2`), decoded.
    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map { $0.value }
    }
}
