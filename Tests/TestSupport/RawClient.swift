import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately dumb HTTP client on a raw socket: it sends exactly the bytes a test gives it and
/// reads responses with its own small parser, so tests see what the server really wrote.
public final class RawClient: @unchecked Sendable {
    public struct Response {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The error body's `error` object, decoded.
        public var errorObject: [String: Any]? {
            let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            return json?["error"] as? [String: Any]
        }
    }

    public struct ClientError: Error, CustomStringConvertible {
        public let description: String
    }

    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: UInt16, host: String = "127.0.0.1") throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket failed") }
        var rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw ClientError(description: "connect: \(code == ECONNREFUSED ? "refused" : "errno \(code)")")
        }
    }

    deinit { close(fd) }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads more bytes within `timeout` seconds. nil: timed out; 0: EOF (or reset).
    private func fill(timeout: Double) -> Int? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { return 0 }
        buffer.append(contentsOf: chunk[0..<n])
        return n
    }

    /// The next response (interim 1xx ones included). Throws on timeout or EOF before a whole response.
    public func readResponse(timeout: Double = 5) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        func more() throws {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, let n = fill(timeout: left) else { throw ClientError(description: "timed out waiting for a response") }
            guard n > 0 else { throw ClientError(description: "connection closed before a whole response (had \(buffer.count) bytes)") }
        }
        var headEnd: Int?
        while true {
            if let range = findHeadEnd() { headEnd = range; break }
            try more()
        }
        guard let headEnd else { throw ClientError(description: "unreachable") }
        let headText = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw ClientError(description: "bad status line in \(headText)")
        }
        let headers = lines.filter { !$0.isEmpty }.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            return (String(line[..<colon]), line[colon...].dropFirst().trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headEnd + 4
        while buffer.count < bodyStart + length { try more() }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return Response(status: status, headers: headers, body: body)
    }

    /// A HEAD response: the head only, whatever Content-Length says.
    public func readHeadOnly(timeout: Double = 5) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        while findHeadEnd() == nil {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, let n = fill(timeout: left), n > 0 else { throw ClientError(description: "no head") }
        }
        let end = findHeadEnd()! + 4
        let head = Array(buffer[0..<end])
        buffer.removeFirst(end)
        var copy = RawClient.parseHeadOnly(head)
        copy = Response(status: copy.status, headers: copy.headers, body: [])
        return copy
    }

    private static func parseHeadOnly(_ head: [UInt8]) -> Response {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
        let headers = lines.filter { !$0.isEmpty }.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            return (String(line[..<colon]), line[colon...].dropFirst().trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: [])
    }

    /// True when the server closes the connection within `timeout` seconds with no further bytes.
    public func closedByPeer(within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let before = buffer.count
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, let n = fill(timeout: left) else { return false }
            if n == 0 { return buffer.count == before }
        }
    }

    /// The bytes up to and including the first `marker` (a stream's next event, say), read within
    /// `timeout` seconds; nil when it did not come (or the connection closed first).
    public func readThrough(_ marker: String, timeout: Double = 5) -> [UInt8]? {
        let m = Array(marker.utf8)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if buffer.count >= m.count, let i = (0...(buffer.count - m.count)).first(where: { buffer[$0..<($0 + m.count)].elementsEqual(m) }) {
                let out = Array(buffer[0..<(i + m.count)])
                buffer.removeFirst(i + m.count)
                return out
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, let n = fill(timeout: left), n > 0 else { return nil }
        }
    }

    /// Bytes buffered but not yet returned as a response.
    public var pending: Int { buffer.count }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
public func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
