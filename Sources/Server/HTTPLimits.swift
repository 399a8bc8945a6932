/// What one request may weigh. Defaults follow the issue: 16 KiB of request line and header fields,
/// 4 MiB of body.
public struct HTTPLimits: Sendable, Equatable {
    /// Request line plus header fields, CRLFs included. Past it: 414 while still on the request line,
    /// 431 after.
    public var maxHeadBytes: Int
    /// Header fields per request. Past it: 431.
    public var maxHeaderCount: Int
    /// `Content-Length` ceiling. Past it: 413, answered before any of the body is read.
    public var maxBodyBytes: Int

    public init(maxHeadBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 4 * 1024 * 1024) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Why the parser refused a request: the status to answer and a message safe to show the client.
/// After an error the connection's framing is unknown, so the server answers and closes.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let message: String

    public init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }
}

public enum HTTPParseResult: Sendable, Equatable {
    /// Nothing complete yet; feed more bytes.
    case needMore
    /// A request's head, complete and checked (framing included); its `body` is empty and not read yet.
    /// The same request follows as `.request` once its body is in.
    case head(HTTPRequest)
    case request(HTTPRequest)
    case error(HTTPParseError)
}
