import Foundation
import TestSupport
import Glibc
import Synchronization

/// A loopback-only HTTP sink for delivery tests: accepts POSTs, answers with the status the test
/// sets (or drops the connection), and records the bodies it answered 2xx to.
final class TestSink: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let state = Mutex<(status: Int, accepted: [[UInt8]], requests: Int, authorization: [String], refusing: String?)>((200, [], 0, [], nil))
    private let stopped = Atomic<Bool>(false)

    /// status 0: close without answering.
    var status: Int {
        get { state.withLock { $0.status } }
        set { state.withLock { $0.status = newValue } }
    }
    /// A body containing this text is refused with 400 and an error body shaped like the registry's.
    var refusing: String? {
        get { state.withLock { $0.refusing } }
        set { state.withLock { $0.refusing = newValue } }
    }
    static let refusalMessage = "collected_at: 2099-01-01T00:00:00Z is more than 10m ahead of the registry's clock"
    var accepted: [[UInt8]] { state.withLock { $0.accepted } }
    var requests: Int { state.withLock { $0.requests } }
    var authorizations: [String] { state.withLock { $0.authorization } }

    init() throws {
        let listener = try LoopbackListener()
        let fd = listener.fd
        port = listener.port
        self.fd = fd
        Thread.detachNewThread { [self] in self.serve() }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve() {
        while !stopped.load(ordering: .relaxed) {
            let c = accept(fd, nil, nil)
            if c < 0 { if stopped.load(ordering: .relaxed) { return } else { continue } }
            handle(c)
            close(c)
        }
    }

    private func handle(_ c: Int32) {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        var head: String?
        var bodyStart = 0, length = 0
        while true {
            let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return }
            data += buf[0..<n]
            if head == nil, let r = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                head = String(decoding: data[..<r.lowerBound], as: UTF8.self)
                bodyStart = r.upperBound
                for line in head!.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if head != nil && data.count - bodyStart >= length { break }
        }
        let body = Array(data[bodyStart..<(bodyStart + length)])
        let auth = head!.split(separator: "\r\n").first { $0.lowercased().hasPrefix("authorization:") }.map(String.init) ?? ""
        let (status, refused) = state.withLock { s -> (Int, Bool) in
            s.requests += 1
            s.authorization.append(auth)
            if let text = s.refusing, String(decoding: body, as: UTF8.self).contains(text) { return (400, true) }
            if (200..<300).contains(s.status) { s.accepted.append(body) }
            return (s.status, false)
        }
        guard status != 0 else { return }
        let answer = refused ? "{\"error\":{\"code\":\"bad_report\",\"message\":\"\(Self.refusalMessage)\",\"path\":\"collected_at\"}}"
            : "{\"status\":\(status)}"
        let response = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(answer.utf8.count)\r\nConnection: close\r\n\r\n\(answer)"
        _ = Array(response.utf8).withUnsafeBytes { send(c, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
