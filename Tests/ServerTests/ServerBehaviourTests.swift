import Foundation
import TestSupport
import Testing
@testable import Server

/// Requests over real sockets: keep-alive, pipelining, framing errors, the handler's view.
@Suite struct ServerBehaviourTests {
    @Test func keepAliveServesTwoRequestsOnOneConnection() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/a"))
        let first = try c.readResponse()
        #expect(first.status == 200)
        #expect(first.text == "GET /a")
        #expect(first.header("Connection") == "keep-alive")
        #expect(first.header("Date")?.hasSuffix(" GMT") == true)
        c.send(get("/b"))
        let second = try c.readResponse()
        #expect(second.text == "GET /b")
        #expect(t.server.stats().connectionsAccepted == 1)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/1") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + get("/3"))
        #expect(try c.readResponse().text == "GET /1")
        #expect(try c.readResponse().text == "hello")
        #expect(try c.readResponse().text == "GET /3")
    }

    @Test func handlerSeesDecodedQueryHeadersAndPeer() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/info?where=nesting.format+%3D+%22intel-vtd%22&limit=2", "X-TEST: yes\r\n"))
        let lines = try c.readResponse().text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "GET")
        #expect(lines[1] == "/info")
        #expect(lines[3] == "where=nesting.format = \"intel-vtd\"&limit=2")
        #expect(lines[4] == "yes")
        #expect(lines[5].hasPrefix("127.0.0.1:"))
    }

    @Test func bothContentLengthAndTransferEncodingGet400AndClose() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 400)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("Connection") == "close")
        #expect(r.errorObject?["code"] as? String == "bad_request")
        #expect((r.errorObject?["message"] as? String)?.contains("Transfer-Encoding") == true)
        #expect(c.closedByPeer(within: 3))
        #expect(t.server.stats().parseErrors == 1)
    }

    @Test func conflictingContentLengthsGet400() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
        #expect(try c.readResponse().status == 400)
        #expect(c.closedByPeer(within: 3))
    }

    @Test func chunkedBodyGets411() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 411)
        #expect(r.errorObject?["code"] as? String == "length_required")
    }

    @Test func oversizedHeadersGet431() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 17 * 1024))\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 431)
        #expect(r.errorObject?["code"] as? String == "header_fields_too_large")
    }

    @Test func tooManyHeadersGet431() throws {
        let t = try TestServer { $0.limits.maxHeaderCount = 10 }
        let c = try t.client()
        c.send(get("/", (0..<10).map { "X-\($0): v\r\n" }.joined()))
        #expect(try c.readResponse().status == 431)
    }

    @Test func oversizedBodyGets413WithoutReadingIt() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(4 * 1024 * 1024 + 1)\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 413)
        #expect(r.errorObject?["code"] as? String == "content_too_large")
        #expect(c.closedByPeer(within: 3))
    }

    @Test func bodyAtTheLimitIsServed() throws {
        let t = try TestServer { $0.limits.maxBodyBytes = 200_000 }
        let c = try t.client()
        let body = [UInt8](repeating: 0x61, count: 200_000)
        c.send(Array("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n".utf8) + body)
        #expect(try c.readResponse().body == body)
    }

    @Test func expectContinueGets100ThenTheResponse() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        #expect(try c.readResponse().status == 100)
        c.send("ping")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.text == "ping")
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() throws {
        let t = try TestServer()
        let plain = try t.client()
        plain.send("GET /x HTTP/1.0\r\n\r\n")
        #expect(try plain.readResponse().header("Connection") == "close")
        #expect(plain.closedByPeer(within: 3))

        let kept = try t.client()
        kept.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().header("Connection") == "keep-alive")
        kept.send("GET /y HTTP/1.0\r\n\r\n")
        #expect(try kept.readResponse().text == "GET /y")
    }

    @Test func connectionCloseIsHonoured() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/x", "Connection: close\r\n"))
        #expect(try c.readResponse().header("Connection") == "close")
        #expect(c.closedByPeer(within: 3))
        let d = try t.client()
        d.send(get("/close"))
        #expect(try d.readResponse().header("Connection") == "close")
        #expect(d.closedByPeer(within: 3))
    }

    @Test func headGetsLengthButNoBody() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send("HEAD /abc HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try c.readHeadOnly()
        #expect(r.header("Content-Length") == "9")  // "HEAD /abc"
        c.send(get("/next"))
        #expect(try c.readResponse().text == "GET /next")  // nothing stray between the two
    }

    @Test func ipv6Loopback() throws {
        let t = try TestServer(host: "::1")
        #expect(t.server.address == "::1")
        let c = try t.client()
        c.send(get("/info"))
        let text = try c.readResponse().text
        #expect(text.split(separator: "\n").last?.hasPrefix("[::1]:") == true)
    }

    @Test func portZeroReportsTheBoundPort() throws {
        let t = try TestServer()
        #expect(t.port != 0)
        #expect(t.server.address == "127.0.0.1")
        #expect(throws: HTTPServer.StartError.self) {
            try HTTPServer(config: ServerConfig(host: "127.0.0.1", port: t.port), handler: ClosureHandler { _ in HTTPResponse() }).start()
        }
    }

    @Test func everyResponseIsOneSend() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/1") + get("/2") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
        for _ in 0..<3 { _ = try c.readResponse() }
        let bad = try t.client()
        bad.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nX\n")  // a bare LF in the next request: 400
        _ = try bad.readResponse()
        let errorResponse = try bad.readResponse()
        #expect(errorResponse.status == 400)
        // Counted just after the send returns, so possibly a moment after the client has read it.
        #expect(eventually { t.server.stats().responsesWritten == 5 })
        let stats = t.server.stats()
        #expect(stats.responseSendCalls == stats.responsesWritten)
    }

    @Test func statsAndMetricsCountResponses() throws {
        let t = try TestServer()
        let c = try t.client()
        c.send(get("/a"))
        _ = try c.readResponse()
        c.send("GET / HTTP/1.1\r\n\r\n")  // no Host
        _ = try c.readResponse()
        // onResponse runs before the write, the counters just after it: wait for both.
        #expect(eventually { t.metrics.count == 2 && t.server.stats().responsesWritten == 2 })
        let stats = t.server.stats()
        #expect(stats.requestsHandled == 1)
        #expect(stats.responsesByClass[2] == 1)
        #expect(stats.responsesByClass[4] == 1)
        let metrics = t.metrics
        #expect(metrics[0].fromHandler && metrics[0].status == 200 && metrics[0].path == "/a" && metrics[0].method == "GET")
        #expect(!metrics[1].fromHandler && metrics[1].status == 400)
    }
}
