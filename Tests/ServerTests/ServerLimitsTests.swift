import Foundation
import TestSupport
import Testing
@testable import Server
#if canImport(Glibc)
import Glibc
#endif

/// Timeouts, the connection limit and shutdown. Timeouts are short (a few hundred ms); the tests wait
/// for them to fire but assert behaviour, never speed. Serialized so that they do not compete with
/// each other for the two cores and blur the timing they wait on.
@Suite(.serialized) struct ServerLimitsTests {
    @Test func slowlorisGets408WhileAnotherClientIsServed() throws {
        let t = try TestServer { $0.headerReadTimeout = .milliseconds(300) }
        let slow = try t.client()
        let started = Date()
        let stop = StopBox()
        // Dribbles a header line every 50 ms, for up to 3 s: far past the 300 ms deadline.
        let dribbler = Thread {
            _ = slow.send("GET / HTTP/1.1\r\nHost: t\r\n")
            for i in 0..<60 where !stop.stopped {
                guard slow.send("X-\(i): y\r\n") else { return }
                usleep(50_000)
            }
        }
        dribbler.start()
        usleep(100_000)
        let other = try t.client()
        other.send(get("/fast"))
        let served = try other.readResponse()
        #expect(served.status == 200)
        #expect(served.text == "GET /fast")

        let timedOut = try slow.readResponse(timeout: 5)
        stop.stop()
        let elapsed = Date().timeIntervalSince(started)
        #expect(timedOut.status == 408)
        #expect(timedOut.errorObject?["code"] as? String == "request_timeout")
        #expect(elapsed >= 0.25)
        #expect(elapsed < 2.5, "the deadline counts from the first byte; dribbling must not extend it")
        #expect(t.server.stats().readTimeouts == 1)
    }

    @Test func slowBodyGets408() throws {
        let t = try TestServer { $0.bodyReadTimeout = .milliseconds(300) }
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        let r = try c.readResponse(timeout: 5)
        #expect(r.status == 408)
        #expect((r.errorObject?["message"] as? String)?.contains("body") == true)
    }

    @Test func idleKeepAliveIsClosedAfterTheTimeout() throws {
        let t = try TestServer { $0.idleTimeout = .milliseconds(300) }
        let c = try t.client()
        c.send(get("/a"))
        _ = try c.readResponse()
        let since = Date()
        #expect(c.closedByPeer(within: 5))
        #expect(Date().timeIntervalSince(since) >= 0.25)
        #expect(eventually { t.server.stats().idleCloses == 1 })
        #expect(eventually { t.server.stats().connectionsOpen == 0 })
    }

    @Test func silentNewConnectionIsClosedAfterTheHeaderTimeout() throws {
        let t = try TestServer { $0.headerReadTimeout = .milliseconds(300) }
        let c = try t.client()
        #expect(c.closedByPeer(within: 5))
    }

    @Test func connectionsPastTheLimitGet503() throws {
        let t = try TestServer { $0.maxConnections = 2 }
        let a = try t.client()
        let b = try t.client()
        for c in [a, b] {
            c.send(get("/hold"))
            _ = try c.readResponse()
        }
        let third = try t.client()
        let r = try third.readResponse()
        #expect(r.status == 503)
        #expect(r.errorObject?["code"] as? String == "service_unavailable")
        #expect(third.closedByPeer(within: 3))
        #expect(t.server.stats().connectionsRejected == 1)
        #expect(t.server.stats().connectionsOpen == 2)
        // The two held connections are still served, and a slot freed is a slot reused.
        a.send(get("/again", "Connection: close\r\n"))
        #expect(try a.readResponse().text == "GET /again")
        #expect(eventually { t.server.stats().connectionsOpen == 1 })
        let fourth = try t.client()
        fourth.send(get("/four"))
        #expect(try fourth.readResponse().status == 200)
    }

    @Test func shutdownFinishesTheInFlightRequestThenRefuses() throws {
        let t = try TestServer()
        let port = t.port
        let idle = try t.client()
        idle.send(get("/x"))
        _ = try idle.readResponse()

        let busy = try t.client()
        busy.send(get("/slow?ms=500"))
        #expect(t.slowStarted.wait(timeout: .now() + 5) == .success)
        let reportBox = ReportBox()
        let stopper = Thread { reportBox.set(t.server.shutdown(drainTimeout: .seconds(5))) }
        stopper.start()

        #expect(idle.closedByPeer(within: 3), "idle keep-alive connections close at once")
        let r = try busy.readResponse(timeout: 5)
        #expect(r.status == 200)
        #expect(r.text == "slow done")
        #expect(r.header("Connection") == "close")
        #expect(busy.closedByPeer(within: 3))
        #expect(eventually { reportBox.report != nil })
        #expect(reportBox.report?.drained == true)
        #expect(reportBox.report?.cutConnections == 0)
        #expect(throws: RawClient.ClientError.self) { try RawClient(port: port) }
    }

    @Test func shutdownCutsWhatOutlivesTheDrainTimeout() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")  // never finishes
        #expect(eventually { t.server.stats().connectionsOpen == 1 })
        usleep(50_000)
        let report = t.server.shutdown(drainTimeout: .milliseconds(200))
        #expect(!report.drained)
        #expect(report.cutConnections == 1)
        #expect(t.server.shutdown() == report)
    }

    @Test func runUntilSignalDrainsAndReturns() throws {
        let server = HTTPServer(config: ServerConfig(host: "127.0.0.1", port: 0), handler: ClosureHandler { _ in .text(.ok, "up") })
        let reportBox = ReportBox()
        let runner = Thread { reportBox.set(try? server.runUntilSignal([SIGUSR2])) }
        runner.start()
        #expect(eventually { server.port != 0 })
        let c = try RawClient(port: server.port)
        c.send(get("/"))
        #expect(try c.readResponse().text == "up")
        kill(getpid(), SIGUSR2)
        #expect(eventually { reportBox.report != nil })
        #expect(reportBox.report?.drained == true)
        #expect(c.closedByPeer(within: 3))
    }
}

final class StopBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _stopped = false
    var stopped: Bool { lock.withLock { _stopped } }
    func stop() { lock.withLock { _stopped = true } }
}

final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _report: HTTPServer.ShutdownReport?
    var report: HTTPServer.ShutdownReport? { lock.withLock { _report } }
    func set(_ r: HTTPServer.ShutdownReport?) { lock.withLock { _report = r } }
}
