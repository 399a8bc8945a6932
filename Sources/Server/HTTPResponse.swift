/// What a handler answers. The server adds `Date`, `Content-Length` and `Connection` itself (any the
/// handler sets are replaced), and drops the body of HEAD requests and 1xx/204/304 responses.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Close the connection after this response even if the client wants keep-alive.
    public var closeConnection: Bool
    /// A body written after the handler returns (StreamStart); `body` is then ignored.
    public var stream: StreamStart?

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                closeConnection: Bool = false, stream: StreamStart? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.closeConnection = closeConnection
        self.stream = stream
    }

    /// A response with `Content-Type: application/json` and already-encoded JSON bytes.
    public static func json(_ status: HTTPStatus = .ok, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }

    public static func text(_ status: HTTPStatus = .ok, _ text: String,
                            contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(text.utf8))
    }

    /// The one error shape of the whole API: `{"error": {"code": "...", "message": "...", ...}}`.
    /// `details` add members after `message` (for example a position or the nearest known names).
    public static func error(_ status: HTTPStatus, code: String, message: String,
                             details: [(String, ErrorDetail)] = []) -> HTTPResponse {
        .json(status, ErrorBody.encode(code: code, message: message, details: details))
    }

    /// An error the server itself answers, with the code it uses for `status`; `retryAfterSeconds`
    /// sets `Retry-After` (load shedding: 429, 503).
    static func serverError(_ status: HTTPStatus, _ message: String, retryAfterSeconds: Int? = nil) -> HTTPResponse {
        var response = HTTPResponse.error(status, code: ErrorBody.code(for: status), message: message)
        if let retryAfterSeconds { response.headers.set("Retry-After", String(retryAfterSeconds)) }
        return response
    }
}
