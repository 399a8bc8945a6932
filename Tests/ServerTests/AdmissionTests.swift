import Foundation
import TestSupport
import Testing
@testable import Server

/// Admission after the head, before the body: refusals without reading a body, the server-wide
/// buffered-body budget, anonymous connections that cannot keep identified ones out, and each
/// identity's share of connections.
@Suite struct AdmissionTests {
    /// `/private` needs an `X-Identity` header (401 without one, before any body); that header names
    /// the identity of every request that has one.
    static func identityFromHeader(_ head: HTTPRequest) -> Admission {
        if let identity = head.headers["x-identity"] { return .admit(identity: identity) }
        if head.path == "/private" {
            return .refuse(.error(.unauthorized, code: "unauthorized", message: "who are you?"))
        }
        return .admit(identity: nil)
    }

    static func post(_ path: String, length: Int, _ extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(length)\r\n\(extra)\r\n"
    }

    @Test func aRefusedHeadIsAnsweredWithoutItsBody() throws {
        let t = try TestServer(admit: Self.identityFromHeader)
        let c = try t.client()
        // 4 MiB announced, none of it sent: the answer cannot have waited for it.
        c.send(Self.post("/private", length: 4 * 1024 * 1024))
        let r = try c.readResponse(timeout: 3)
        #expect(r.status == 401)
        #expect(r.errorObject?["message"] as? String == "who are you?")
        #expect(r.header("Connection") == "close")
        #expect(c.closedByPeer(within: 3))
        // Asked to confirm with 100-continue, the server refuses instead of inviting the body.
        let asking = try t.client()
        asking.send(Self.post("/private", length: 1024, "Expect: 100-continue\r\n"))
        #expect(try asking.readResponse(timeout: 3).status == 401)
        let stats = t.server.stats()
        #expect(stats.admissionRefusals == 2)
        #expect(stats.requestsHandled == 0)
        #expect(stats.bufferedBodyBytes == 0)
        #expect(t.metrics.allSatisfy { $0.status == 401 && $0.requestBodyBytes == 0 })
    }

    /// A client that goes on sending a body refused on its head is read for at most 256 KiB, not for the
    /// whole linger time: with a 30 s linger and 48 MiB announced, the server closes (a reset, as the
    /// client's unread bytes arrive) long before the body is through. Before, it read all of it.
    @Test func aRefusedBodyIsDiscardedOnlyUpToTheLingerBound() throws {
        let size = 48 * 1024 * 1024
        let t = try TestServer(configure: {
            $0.limits.maxBodyBytes = 64 * 1024 * 1024
            $0.lingerTimeout = .seconds(30)
        }, admit: Self.identityFromHeader)
        let c = try t.client()
        #expect(c.send(Self.post("/private", length: size)))
        let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
        var sent = 0
        while sent < size, c.send(chunk) { sent += chunk.count }
        #expect(sent < size, "the server stopped reading the refused body (sent \(sent) of \(size) bytes)")
        #expect(t.server.stats().admissionRefusals == 1)
    }

    @Test func theHeadOfARequestWhoseBodyCameWithItIsAdmittedToo() throws {
        let t = try TestServer(admit: Self.identityFromHeader)
        let c = try t.client()
        c.send(Self.post("/private", length: 5) + "hello")
        #expect(try c.readResponse().status == 401)
        let named = try t.client()
        named.send(Self.post("/echo", length: 5, "X-Identity: a\r\n") + "hello")
        #expect(try named.readResponse().text == "hello")
        #expect(t.server.stats().admissionRefusals == 1)
    }

    @Test func bodiesPastTheBufferedBudgetGet503BeforeBeingRead() throws {
        let size = 600 * 1024
        let t = try TestServer {
            $0.limits.maxBodyBytes = 1024 * 1024
            $0.maxBufferedBodyBytes = 1024 * 1024
        }
        let holding = try t.client()
        holding.send(Self.post("/echo", length: size) + String(repeating: "x", count: 1000))
        #expect(eventually { t.server.stats().bufferedBodyBytes == size })

        let refused = try t.client()
        refused.send(Self.post("/echo", length: size))
        let r = try refused.readResponse(timeout: 3)
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "1")
        #expect(r.errorObject?["code"] as? String == "service_unavailable")
        #expect((r.errorObject?["message"] as? String)?.contains("1048576-byte") == true)
        #expect(t.server.stats().bodyBudgetRejections == 1)

        holding.send(String(repeating: "x", count: size - 1000))
        #expect(try holding.readResponse().body.count == size)
        #expect(eventually { t.server.stats().bufferedBodyBytes == 0 }, "released once answered")
        let later = try t.client()
        later.send(Self.post("/echo", length: size) + String(repeating: "y", count: size))
        #expect(try later.readResponse().status == 200)
    }

    /// Connections that send nothing, dribble a head or are refused fill every slot; a client that
    /// names itself still gets in (the oldest idle anonymous connection is cut) and is served.
    @Test func anAnonymousFloodCannotKeepAnIdentifiedClientOut() throws {
        let t = try TestServer(configure: {
            $0.maxConnections = 8
            $0.reservedAnonymousConnections = 2
        }, admit: Self.identityFromHeader)
        // An identified client idle between requests: never cut, whatever the flood does.
        let kept = try t.client()
        kept.send(get("/first", "X-Identity: kept\r\n"))
        #expect(try kept.readResponse().status == 200)
        var flood: [RawClient] = []
        for i in 0..<24 {
            let c = try t.client()
            switch i % 3 {
            case 0: break                                             // silent
            case 1: c.send("GET /dribble HT")                         // a head that never ends
            default: c.send(Self.post("/private", length: 1 << 20))   // refused, then lingering
            }
            flood.append(c)
        }
        #expect(eventually { t.server.stats().anonymousConnectionsCut >= 8 })

        let started = Date()
        let good = try t.client()
        good.send(get("/work", "X-Identity: good\r\n"))
        let r = try good.readResponse(timeout: 3)
        #expect(r.status == 200)
        #expect(r.text == "GET /work")
        #expect(Date().timeIntervalSince(started) < 2)
        kept.send(get("/again", "X-Identity: kept\r\n"))
        #expect(try kept.readResponse().text == "GET /again")
        _ = flood
    }

    /// Identified connections leave the reserved slots to anonymous ones: a probe without an identity is
    /// served while identified clients hold every other slot.
    @Test func identifiedConnectionsLeaveTheReserveToProbes() throws {
        let t = try TestServer(configure: {
            $0.maxConnections = 4
            $0.reservedAnonymousConnections = 1
        }, admit: Self.identityFromHeader)
        var held: [RawClient] = []
        for name in ["a", "b", "c"] {
            let c = try t.client()
            c.send(get("/x", "X-Identity: \(name)\r\n"))
            #expect(try c.readResponse().status == 200)
            held.append(c)
        }
        let fourth = try t.client()
        fourth.send(get("/x", "X-Identity: d\r\n"))
        let r = try fourth.readResponse()
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "1")
        #expect(fourth.closedByPeer(within: 3))
        let probe = try t.client()
        probe.send(get("/healthz"))
        #expect(try probe.readResponse().status == 200)
        #expect(t.server.stats().connectionsRejected == 1)
        _ = held
    }

    @Test func oneIdentityHoldsItsShareAndNoMore() throws {
        let t = try TestServer(configure: {
            $0.maxConnections = 16
            $0.maxConnectionsPerIdentity = 2
        }, admit: Self.identityFromHeader)
        var held: [RawClient] = []
        for _ in 0..<2 {
            let c = try t.client()
            c.send(get("/x", "X-Identity: greedy\r\n"))
            #expect(try c.readResponse().status == 200)
            held.append(c)
        }
        let third = try t.client()
        third.send(get("/x", "X-Identity: greedy\r\n"))
        let r = try third.readResponse()
        #expect(r.status == 429)
        #expect(r.header("Retry-After") == "1")
        #expect(r.errorObject?["code"] as? String == "too_many_requests")
        #expect(third.closedByPeer(within: 3))

        let other = try t.client()
        other.send(get("/x", "X-Identity: modest\r\n"))
        #expect(try other.readResponse().status == 200)
        #expect(t.server.stats().identityShareRejections == 1)

        // A connection given back is a share given back.
        held[0].send(get("/bye", "X-Identity: greedy\r\nConnection: close\r\n"))
        _ = try held[0].readResponse()
        #expect(eventually { t.server.stats().connectionsOpen == 2 })
        let again = try t.client()
        again.send(get("/x", "X-Identity: greedy\r\n"))
        #expect(try again.readResponse().status == 200)
    }
}
