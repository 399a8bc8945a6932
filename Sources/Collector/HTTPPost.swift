#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A minimal HTTP/1.1 client: one POST per connection (`Connection: close`), `http://` only,
/// Content-Length body, a deadline for the whole exchange. Enough for POST /v1/reports; statically
/// linkable (no libcurl). For https, run a TLS proxy on loopback.
public struct HTTPPost: Sendable {
    public let host: String
    public let port: UInt16
    public let path: String
    public var token: String?
    public var timeoutSeconds: Int = 30

    public struct Response: Sendable {
        public var status: Int
        public var body: String
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `http://host[:port][/path]`; a URL without a path (or `/`) posts to /v1/reports.
    public init(url: String, token: String?) throws(Failure) {
        guard let u = URL(string: url), u.scheme == "http", let host = u.host, !host.isEmpty else {
            throw Failure(description: "\(url): expected http://HOST[:PORT][/PATH]")
        }
        self.host = host
        self.port = UInt16(u.port ?? 80)
        self.path = (u.path.isEmpty || u.path == "/") ? "/v1/reports" : u.path
        self.token = token
    }

    public func post(_ body: [UInt8]) -> Result<Response, Failure> {
        let fd: Int32
        switch connect() {
        case .success(let s): fd = s
        case .failure(let f): return .failure(f)
        }
        defer { close(fd) }
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "User-Agent: \(Collector.version)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Failure(description: "send to \(host):\(port): \(Errno.current.name)"))
            }
            sent += n
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while answer.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if answer.isEmpty { return .failure(Failure(description: "receive from \(host):\(port): \(Errno.current.name)")) }
                break
            }
            if n == 0 { break }
            answer += chunk[0..<n]
            if let r = Self.complete(answer) { return .success(r) }
        }
        return Self.complete(answer, eof: true).map { .success($0) }
            ?? .failure(Failure(description: "\(host):\(port) closed the connection without a complete HTTP response"))
    }

    /// A response once its head and Content-Length body are in (or at EOF without a length).
    static func complete(_ bytes: [UInt8], eof: Bool = false) -> Response? {
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else { return nil }
        let body = bytes[end.upperBound...]
        let length = lines.dropFirst().compactMap { line -> Int? in
            let kv = line.split(separator: ":", maxSplits: 1)
            guard kv.count == 2, kv[0].lowercased() == "content-length" else { return nil }
            return Int(kv[1].trimmingCharacters(in: .whitespaces))
        }.first
        if let length {
            guard body.count >= length else { return nil }
            return Response(status: status, body: String(decoding: body.prefix(length), as: UTF8.self))
        }
        return eof ? Response(status: status, body: String(decoding: body, as: UTF8.self)) : nil
    }

    func connect() -> Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(Failure(description: "resolve \(host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = Errno.current.name; continue }
            // SO_SNDTIMEO bounds connect() and send(), SO_RCVTIMEO each recv().
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return .success(fd) }
            lastError = Errno.current.name
            close(fd)
        }
        return .failure(Failure(description: "connect to \(host):\(port): \(lastError)"))
    }
}
