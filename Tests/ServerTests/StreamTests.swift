import Foundation
import Testing
import TestSupport
@testable import Server
#if canImport(Glibc)
import Glibc
#endif

/// Responses that go on after the handler returns (StreamStart): held by the hub on one thread, not a
/// worker each; bounded in number, per identity and in buffered bytes; kept alive; closed when the
/// client leaves or the server stops.
@Suite("Server: streams")
struct StreamTests {
    /// A server whose `/stream` hands every stream to `streams`; `/plain` answers normally. The
    /// identity is the `x-id` header's value.
    final class StreamServer: @unchecked Sendable {
        let server: HTTPServer
        private let lock = NSLock()
        private var held: [StreamConnection] = []

        init(_ configure: (inout ServerConfig) -> Void = { _ in }) throws {
            var config = ServerConfig(host: "127.0.0.1", port: 0, drainTimeout: .seconds(2), lingerTimeout: .milliseconds(100))
            configure(&config)
            let box = Box()
            server = HTTPServer(config: config, handler: ClosureHandler(admit: { .admit(identity: $0.headers["x-id"]) }) { request in
                guard request.path == "/stream" else { return .text(.ok, "plain") }
                return HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/event-stream")]), stream: StreamStart(keepAlive: Array(": ka\n\n".utf8)) { s in
                    s.send(Array("hello\n\n".utf8))
                    box.owner?.keep(s)
                })
            })
            box.owner = self
            try server.start()
        }

        final class Box: @unchecked Sendable { weak var owner: StreamServer? }

        func keep(_ s: StreamConnection) { lock.withLock { held.append(s) } }
        var streams: [StreamConnection] { lock.withLock { held } }

        func open(id: String? = nil) throws -> RawClient {
            let c = try RawClient(port: server.port)
            c.send("GET /stream HTTP/1.1\r\nHost: t\r\n" + (id.map { "x-id: \($0)\r\n" } ?? "") + "\r\n")
            return c
        }

        deinit { server.shutdown() }
    }

    @Test func aStreamHasNoLengthAndClosesAndFreesItsWorker() throws {
        let s = try StreamServer()
        let c = try s.open()
        let head = try c.readHeadOnly()
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == nil)
        #expect(head.header("Connection") == "close")
        #expect(c.readThrough("hello\n\n") != nil)
        #expect(eventually { s.server.stats().streamsOpen == 1 && s.server.stats().connectionsOpen == 0 })
        // Written later, from another thread, it arrives.
        #expect(s.streams.count == 1)
        #expect(s.streams[0].send(Array("later\n\n".utf8)))
        #expect(c.readThrough("later\n\n") != nil)
        // A plain request meanwhile is served as ever.
        let other = try RawClient(port: s.server.port)
        other.send("GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try other.readResponse().text == "plain")
        // The application closes it after its last bytes.
        s.streams[0].finish(Array("bye\n\n".utf8))
        #expect(c.readThrough("bye\n\n") != nil)
        #expect(c.closedByPeer(within: 2))
        #expect(eventually { s.server.stats().streamsOpen == 0 })
    }

    @Test func aClientThatLeavesClosesItsStream() throws {
        let s = try StreamServer()
        var c: RawClient? = try s.open()
        #expect(c?.readThrough("hello\n\n") != nil)
        #expect(eventually { s.streams.count == 1 })
        c = nil  // closes the socket
        #expect(eventually { !s.streams[0].isOpen && s.server.stats().streamsOpen == 0 })
        #expect(!s.streams[0].send(Array("x".utf8)))
    }

    @Test func aReaderThatDoesNotReadIsCutNotBuffered() throws {
        let s = try StreamServer { $0.maxStreamBufferBytes = 64 * 1024; $0.writeTimeout = .seconds(30) }
        let c = try s.open()
        _ = try c.readHeadOnly()
        #expect(eventually { s.streams.count == 1 })
        let stream = s.streams[0]
        let chunk = [UInt8](repeating: 0x61, count: 256 * 1024)
        var sent = 0
        // The kernel's socket buffers take a few MiB at most; past them the stream's own 64 KiB bound cuts it.
        while sent < 256 << 20, stream.send(chunk) {
            sent += chunk.count
            #expect(stream.pendingBytes <= 64 * 1024)
        }
        #expect(sent < 64 << 20, "cut after \(sent) bytes")
        #expect(!stream.isOpen)
        #expect(s.server.stats().streamsCutSlow == 1)
        #expect(eventually { s.server.stats().streamsOpen == 0 })
    }

    @Test func streamsAreBoundedInAllAndPerIdentity() throws {
        let s = try StreamServer { $0.maxStreams = 3; $0.maxStreamsPerIdentity = 2 }
        let a1 = try s.open(id: "a"), a2 = try s.open(id: "a")
        #expect(try a1.readHeadOnly().status == 200)
        #expect(try a2.readHeadOnly().status == 200)
        let a3 = try s.open(id: "a")
        let refused = try a3.readResponse()
        #expect(refused.status == 429)
        #expect(refused.errorObject?["message"] as? String == "this client already holds 2 streams, its share; close one")
        let b1 = try s.open(id: "b")
        #expect(try b1.readHeadOnly().status == 200)
        let b2 = try s.open(id: "b")
        let full = try b2.readResponse()
        #expect(full.status == 503 && full.header("Retry-After") == "1")
        #expect(s.server.stats().streamsRefused == 2)
        // A place freed is a place taken again.
        s.streams[0].cut()
        #expect(eventually { s.server.stats().streamsOpen == 2 })
        let b3 = try s.open(id: "b")
        #expect(try b3.readHeadOnly().status == 200)
    }

    @Test func aQuietStreamGetsItsKeepAlive() throws {
        let s = try StreamServer { $0.streamKeepAlive = .milliseconds(300) }
        let c = try s.open()
        _ = try c.readHeadOnly()
        #expect(c.readThrough("hello\n\n") != nil)
        let started = Date()
        #expect(c.readThrough(": ka\n\n", timeout: 3) != nil)
        #expect(Date().timeIntervalSince(started) >= 0.25)
    }

    @Test func idleStreamsHoldNoThreads() throws {
        let s = try StreamServer()
        // Worker threads of every server in this process (other suites run beside this one).
        func workers() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").filter { task in
                (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.hasPrefix("http-worker") == true
            }.count
        }
        let threadsBefore = try workers()
        var clients: [RawClient] = []
        for _ in 0..<200 {
            let c = try s.open()
            _ = try c.readHeadOnly()
            clients.append(c)
        }
        #expect(eventually { s.server.stats().streamsOpen == 200 })
        // The workers that wrote the heads are kept for reuse, a handful; nowhere near one per stream.
        let threadsAfter = try workers()
        #expect(threadsAfter - threadsBefore < 100, "\(threadsBefore) -> \(threadsAfter) worker threads for 200 streams")
        // Every one of them is still served.
        for stream in s.streams { #expect(stream.send(Array("ping\n\n".utf8))) }
        for c in clients { #expect(c.readThrough("ping\n\n") != nil) }
    }

    @Test func shutdownClosesStreams() throws {
        let s = try StreamServer()
        let c = try s.open()
        _ = try c.readHeadOnly()
        #expect(eventually { s.server.stats().streamsOpen == 1 })
        let report = s.server.shutdown()
        #expect(report.drained)
        #expect(c.readThrough("hello\n\n") != nil)
        #expect(c.closedByPeer(within: 2))
    }

    @Test func aHeadRequestGetsTheHeadOnly() throws {
        let s = try StreamServer()
        let c = try RawClient(port: s.server.port)
        c.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try c.readHeadOnly()
        #expect(head.status == 200 && head.header("Connection") == "close")
        #expect(c.closedByPeer(within: 2))
        #expect(s.server.stats().streamsStarted == 0)
    }
}
