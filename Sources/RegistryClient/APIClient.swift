import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The one HTTP client in capreg: the collector's pushes and enrollment, `capreg query --server`, and
/// the tests. A blocking face on AsyncHTTPClient, so TLS (server verification, client certificates) is
/// SwiftNIO SSL's, never ours; keep-alive connections are reused within a process.
///
/// `http://` talks to a registry on loopback or a trusted network; `https://` to nginx in front of it
/// (deploy/nginx). HTTP/1.1 only: the registry and its proxy speak nothing else.
public struct APIClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct ClientError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// `http` or `https`.
    public let scheme: String
    public let host: String
    public let port: UInt16
    /// The path of the URL the client was made from ("" when it had none): `capreg collect --push`
    /// posts there.
    public let path: String
    public var token: String?
    public var timeoutSeconds: Int = 30
    /// Checked every 100 ms while waiting for an answer; true cancels the request (the collector's SIGTERM:
    /// the report stays in the spool, and the agent stops at once instead of after the deadline).
    public var cancelWhen: (@Sendable () -> Bool)?
    /// Answers longer than this fail (a page of the API is at most 4 MiB; the rest is headroom).
    public var maxResponseBytes: Int = 16 << 20
    public let tls: TLSOptions

    /// `http[s]://host[:port][/path]`; `[::1]` for IPv6. TLS options apply to https only.
    public init(baseURL: String, token: String? = nil, tls: TLSOptions = TLSOptions()) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.user == nil, url.query == nil else {
            throw ClientError(description: "expected a URL like https://registry.example:8443 or http://127.0.0.1:8080, got \(baseURL)")
        }
        if scheme == "http" && !tls.isEmpty {
            throw ClientError(description: "\(baseURL): --ca, --client-cert and --client-key need an https:// URL")
        }
        try tls.check()
        self.scheme = scheme
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = UInt16(url.port ?? (scheme == "https" ? 443 : 80))
        self.path = url.path == "/" ? "" : url.path
        self.token = token
        self.tls = tls
    }

    public init(host: String, port: UInt16, token: String? = nil) {
        scheme = "http"
        self.host = host
        self.port = port
        path = ""
        self.token = token
        tls = TLSOptions()
    }

    /// `target` is the path and query, already percent-encoded.
    public func request(_ method: String, _ target: String, body: [UInt8] = [], headers: [(String, String)] = []) throws -> Response {
        let client = try SharedClients.client(for: tls)
        let authority = host.contains(":") ? "[\(host)]" : host
        var request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: "\(scheme)://\(authority):\(port)\(target)", method: HTTPMethod(rawValue: method))
        } catch {
            throw ClientError(description: "\(method) \(target): \(error)")
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "POST" || method == "PUT" { request.body = .bytes(body) }
        let accumulator = ResponseAccumulator(request: request, maxBodySize: maxResponseBytes)
        let deadline = NIODeadline.now() + .seconds(Int64(timeoutSeconds))
        // AsyncHTTPClient's `deadline` ends the wait for a connection (a registry that is down is reported
        // within the configured connect timeout, SharedClients.connectionWait) but also a request still
        // being answered when it passes (seen: a 90-report POST that took 6 s failed when this was 5 s), so
        // it is the whole exchange's. The timer below ends what the deadline does not (seen: a POST cut by an
        // nginx restart waited forever, with no timer left to end it).
        let task = client.execute(request: request, delegate: accumulator, deadline: deadline)
        let timer = task.eventLoop.scheduleTask(deadline: deadline) { task.cancel() }
        defer { timer.cancel() }
        var stopped = false
        if let cancelWhen {
            let done = DispatchSemaphore(value: 0)
            task.futureResult.whenComplete { _ in done.signal() }
            while done.wait(timeout: .now() + 0.1) == .timedOut {
                if cancelWhen() { stopped = true; task.cancel(); break }
            }
        }
        do {
            let answer = try task.wait()
            return Response(status: Int(answer.status.code), headers: answer.headers.map { ($0.name, $0.value) },
                            body: answer.body.map { Array($0.readableBytesView) } ?? [])
        } catch {
            if stopped { throw ClientError(description: "\(authority):\(port): stopped before an answer") }
            throw ClientError(description: "\(authority):\(port): \(Self.words(for: error))")
        }
    }

    public func get(_ target: String) throws -> Response { try request("GET", target) }

    /// A POST whose failure is a value: the collector's delivery decides from it whether to retry.
    public func post(_ target: String, _ body: [UInt8], contentType: String = "application/json") -> Result<Response, ClientError> {
        Result { try request("POST", target, body: body, headers: [("Content-Type", contentType)]) }
            .mapError { $0 as? ClientError ?? ClientError(description: "\($0)") }
    }

    /// `path?name=value&…`, each value percent-encoded (`encode`).
    public static func target(_ path: String, _ items: [(String, String)]) -> String {
        path + "?" + items.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes a query value (everything but unreserved characters).
    public static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// ECONNREFUSED (Connection refused): the name an operator greps for, and the words.
    static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [ECONNREFUSED: "ECONNREFUSED", ETIMEDOUT: "ETIMEDOUT", EHOSTUNREACH: "EHOSTUNREACH",
                                      ENETUNREACH: "ENETUNREACH", ECONNRESET: "ECONNRESET", EPIPE: "EPIPE", EADDRNOTAVAIL: "EADDRNOTAVAIL"]
        return "\(names[code] ?? "errno \(code)") (\(String(cString: strerror(code))))"
    }

    /// What went wrong, in words an operator can act on (NIO's error names are not).
    static func words(for error: Error) -> String {
        switch error {
        case let e as NIOSSLError: return "TLS failed: \(e)"
        case let e as BoringSSLError: return "TLS failed: \(e)"
        case let e as HTTPClientError where e == .deadlineExceeded || e == .cancelled: return "no answer within the deadline"
        case let e as HTTPClientError where e == .connectTimeout: return "connection timed out"
        case let e as HTTPClientError where e == .remoteConnectionClosed: return "the server closed the connection"
        case is ResponseAccumulator.ResponseTooBigError: return "the answer is larger than the client accepts"
        case let e as NIOConnectionError:
            if let io = e.connectionErrors.first?.error as? IOError { return "cannot connect: \(errnoName(io.errnoCode))" }
            return "cannot connect: " + (e.connectionErrors.first.map { "\($0.error)" } ?? e.dnsAAAAError.map { "cannot resolve: \($0)" } ?? "\(e)")
        case let e as IOError: return errnoName(e.errnoCode)
        default: return "\(error)"
        }
    }
}
