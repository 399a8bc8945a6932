import API
import Foundation
import Report
import Server
import Store
import Testing
import TestSupport
import RegistryClient
@testable import Synthetic

/// GET /v1/watch through a running server: long polls and server-sent events, resuming, `where=`,
/// stale and fresh as events, and every refusal.
@Suite("API: change stream")
struct WatchTests {
    /// Synthetic host 0 of seed 1 runs kernel 6.1 on day 0, 6.8 on day 1 and 7.0 on day 2, with facts
    /// that change alongside; `host` reports what it reported that day, at `at`.
    static func report(_ id: String, host: String, day: Int, at: Date = Date().addingTimeInterval(-60)) throws -> Report {
        var report = try #require(SyntheticFleet(hosts: 1, days: 3, seed: 1).report(host: 0, day: day))
        report.reportId = id
        report.host.hostname = host
        report.host.machineId = nil
        report.collectedAt = at
        return report
    }

    /// A server-sent event stream read off a raw socket.
    final class EventStream {
        let client: RawClient
        let head: RawClient.Response

        init(_ t: TestAPI, _ query: String = "", token: String = TestAPI.readerToken, lastEventID: String? = nil) throws {
            client = try RawClient(port: t.server.port)
            client.send("GET /v1/watch\(query) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n"
                        + (lastEventID.map { "Last-Event-ID: \($0)\r\n" } ?? "") + "\r\n")
            head = try client.readHeadOnly()
        }

        /// The next event (comments and `retry:` skipped): its `id:`, `event:` and decoded `data:`.
        func next(timeout: Double = 5) -> (id: String, kind: String, data: [String: Any])? {
            let deadline = Date().addingTimeInterval(timeout)
            while deadline.timeIntervalSinceNow > 0 {
                guard let block = client.readThrough("\n\n", timeout: deadline.timeIntervalSinceNow) else { return nil }
                var fields: [String: String] = [:]
                for line in String(decoding: block, as: UTF8.self).split(separator: "\n") where !line.hasPrefix(":") {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2 { fields[String(parts[0])] = parts[1].hasPrefix(" ") ? String(parts[1].dropFirst()) : String(parts[1]) }
                }
                guard let id = fields["id"], let kind = fields["event"], let data = fields["data"] else { continue }
                let json = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
                return (id, kind, json)
            }
            return nil
        }
    }

    static func events(_ r: APIClient.Response) -> [[String: Any]] { r.json["events"] as? [[String: Any]] ?? [] }

    @Test func aLongPollAnswersWhatIsThereOrWaitsForTheNext() throws {
        let t = try TestAPI()
        #expect(try t.push([Self.report("w0", host: "w", day: 0)]).status == 200)
        let first = try t.get("/v1/watch?since=0", token: TestAPI.readerToken)
        #expect(first.status == 200)
        let e = Self.events(first)
        #expect(e.count == 1 && e[0]["kind"] as? String == "changed" && e[0]["hostname"] as? String == "w")
        #expect(e[0]["kernel_before"] is NSNull && e[0]["kernel_after"] as? String == "6.1.0-18-amd64")
        #expect((e[0]["changes"] as? [[String: Any]])?.allSatisfy { $0["change"] as? String == "gained" } == true)
        let next = try #require(first.json["next"] as? Int)
        #expect(next == e[0]["id"] as? Int)

        // Nothing new: at once with wait=0 …
        let empty = try t.get("/v1/watch?since=\(next)&wait=0", token: TestAPI.readerToken)
        #expect(Self.events(empty).isEmpty && empty.json["next"] as? Int == next)

        // … or the next change as soon as it is stored.
        let answer = Locked<(APIClient.Response, TimeInterval)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let asked = Date()
        let reader = t.client(TestAPI.readerToken)
        Thread {
            let r = try? reader.get("/v1/watch?since=\(next)&wait=20")
            answer.set(r.map { ($0, Date().timeIntervalSince(asked)) })
            done.signal()
        }.start()
        usleep(300_000)
        #expect(try t.push([Self.report("w1", host: "w", day: 1)]).status == 200)
        #expect(done.wait(timeout: .now() + 10) == .success)
        let (r, seconds) = try #require(answer.get())
        #expect(r.status == 200 && seconds < 5, "answered after \(seconds) s")
        let changed = Self.events(r)
        #expect(changed.map { $0["kernel_after"] as? String } == ["6.8.0-45-generic"])
        #expect(changed.first?["kernel_before"] as? String == "6.1.0-18-amd64")

        // And none at all when nothing comes within wait.
        let started = Date()
        let quiet = try t.get("/v1/watch?since=\(r.json["next"] as? Int ?? 0)&wait=1", token: TestAPI.readerToken)
        #expect(quiet.status == 200 && Self.events(quiet).isEmpty)
        #expect(Date().timeIntervalSince(started) >= 0.9)
    }

    @Test func serverSentEventsFollowAndResumeAfterTheLastEventID() throws {
        let t = try TestAPI()
        let stream = try EventStream(t)
        #expect(stream.head.status == 200 && stream.head.header("Content-Type") == "text/event-stream")
        #expect(stream.head.header("Content-Length") == nil)
        #expect(try t.push([Self.report("a0", host: "a", day: 0), Self.report("b0", host: "b", day: 0)]).status == 200)
        let a = try #require(stream.next()), b = try #require(stream.next())
        #expect([a.data["hostname"] as? String, b.data["hostname"] as? String] == ["a", "b"])
        #expect(a.kind == "changed" && a.data["kind"] as? String == "changed" && a.id == "\(a.data["id"] as? Int ?? -1)")

        // Disconnected, a change happens; reconnecting with Last-Event-ID gets it first.
        #expect(try t.push([Self.report("a1", host: "a", day: 1)]).status == 200)
        let again = try EventStream(t, "?since=0", lastEventID: b.id)
        let missed = try #require(again.next())
        #expect(missed.data["hostname"] as? String == "a" && missed.data["kernel_after"] as? String == "6.8.0-45-generic")
        #expect(Int(missed.id)! > Int(b.id)!)
    }

    @Test func whereGivesHostsEnteringAndLeavingTheSet() throws {
        let t = try TestAPI()
        let expr = q("kernel >= \"6.8\"")
        let stream = try EventStream(t, "?where=\(expr)")
        // w enters (6.8), stays (7.0), leaves (6.1 again); v never matches.
        let days = [0, 1, 2, 0]
        var expected: [Bool] = []
        for (i, day) in days.enumerated() {
            #expect(try t.push([Self.report("v\(i)", host: "v", day: 0), Self.report("w\(i)", host: "w", day: day,
                                at: Date().addingTimeInterval(Double(i) - 60))]).status == 200)
            // What the registry's own query says of w now: the event must agree.
            let answer = try t.get("/v1/hosts?where=\(expr)&fresh_within=off", token: TestAPI.readerToken)
            let inSet = (answer.json["hosts"] as? [[String: Any]] ?? []).contains { $0["hostname"] as? String == "w" }
            if i > 0 || inSet { expected.append(inSet) }
        }
        var got: [(String, Bool)] = []
        while let e = stream.next(timeout: 2) {
            got.append((e.data["hostname"] as? String ?? "", e.data["matches"] as? Bool ?? false))
        }
        #expect(got.allSatisfy { $0.0 == "w" }, "\(got)")
        #expect(got.map(\.1) == expected && expected == [true, true, false])
    }

    @Test func stalenessIsAnEventAndSoIsComingBack() throws {
        let t = try TestAPI(staleAfter: DurationText(seconds: 2))
        t.api.startBackground()
        #expect(try t.push([Self.report("s0", host: "s", day: 0, at: Date())]).status == 200)
        let stream = try EventStream(t, "?since=0")
        #expect(stream.next()?.kind == "changed")
        let stale = try #require(stream.next(timeout: 6))
        #expect(stale.kind == "stale" && stale.data["hostname"] as? String == "s")
        #expect(stale.data["revision"] is NSNull && stale.data["changes"] == nil)
        // The same content again, now: a heartbeat, and the host is fresh.
        #expect(try t.push([Self.report("s1", host: "s", day: 0, at: Date())]).status == 200)
        let fresh = try #require(stream.next(timeout: 3))
        #expect(fresh.kind == "fresh" && fresh.data["hostname"] as? String == "s")
    }

    @Test func retractionsReachWatchers() throws {
        let t = try TestAPI()
        #expect(try t.push([Self.report("r0", host: "r", day: 0, at: Date().addingTimeInterval(-120)),
                            Self.report("r1", host: "r", day: 1)]).status == 200)
        let stream = try EventStream(t)
        _ = try t.store.retract(reportId: "r1", reason: "read from the wrong machine")
        let e = try #require(stream.next())
        #expect(e.kind == "retracted" && e.data["kernel_before"] as? String == "6.8.0-45-generic"
                && e.data["kernel_after"] as? String == "6.1.0-18-amd64")
        #expect(e.data["revision"] as? Int != nil)
    }

    @Test func refusalsNameTheirParameter() throws {
        let t = try TestAPI()
        #expect(try t.push([Self.report("x0", host: "x", day: 0), Self.report("x1", host: "x", day: 1)]).status == 200)
        func refused(_ target: String, _ status: Int, _ parameter: String?, headers: [(String, String)] = []) throws {
            let r = try t.client(TestAPI.readerToken).request("GET", target, headers: headers)
            #expect(r.status == status, "\(target): \(r.text)")
            if let parameter { #expect(r.error["parameter"] as? String == parameter, "\(target): \(r.text)") }
        }
        try refused("/v1/watch?since=abc", 400, "since")
        try refused("/v1/watch?since=-1", 400, "since")
        try refused("/v1/watch?since=99", 400, "since")
        try refused("/v1/watch?wait=56", 400, "wait")
        try refused("/v1/watch?limit=0", 400, "limit")
        try refused("/v1/watch?limit=1001", 400, "limit")
        try refused("/v1/watch?where=\(q("pasid_bits >="))", 400, "where")
        try refused("/v1/watch?since=0&follow=1", 400, "follow")
        try refused("/v1/watch?wait=5", 400, "wait", headers: [("Accept", "text/event-stream")])
        try refused("/v1/watch", 400, "Last-Event-ID", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", "x")])
        // Who may watch: readers (and admins), not collectors, not strangers.
        #expect(try t.client(TestAPI.collectorToken).get("/v1/watch?wait=0").status == 403)
        #expect(try t.client(nil).get("/v1/watch?wait=0").status == 401)
        #expect(try t.client(TestAPI.adminToken).get("/v1/watch?wait=0").status == 200)
        // Pruned: 410, saying where the stream now begins.
        #expect(try t.store.pruneWatchEvents(before: .distantPast, keep: 1) == 1)
        let gone = try t.get("/v1/watch?since=0", token: TestAPI.readerToken)
        #expect(gone.status == 410 && gone.error["code"] as? String == "gone" && gone.error["oldest_since"] as? Int == 1)
        #expect(Self.events(try t.get("/v1/watch?since=1", token: TestAPI.readerToken)).count == 1)
    }

    @Test func shutdownAnswersWaitingLongPolls() throws {
        let t = try TestAPI()
        #expect(try t.push([Self.report("q0", host: "q", day: 0)]).status == 200)
        let reader = t.client(TestAPI.readerToken)
        let answer = Locked<APIClient.Response?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            answer.set(try? reader.get("/v1/watch?since=1&wait=30"))
            done.signal()
        }.start()
        #expect(eventually { t.server.stats().streamsOpen == 1 })
        // As `capreg serve` stops: the reader first, then the server.
        t.api.stopBackground()
        t.server.shutdown()
        #expect(done.wait(timeout: .now() + 10) == .success)
        let r = try #require(answer.get())
        #expect(r.status == 200 && Self.events(r).isEmpty && r.json["next"] as? Int == 1, "\(r.text)")
    }

    @Test func watchersAreBoundedPerToken() throws {
        let t = try TestAPI(configure: { $0.maxStreamsPerIdentity = 2; $0.maxStreams = 3 })
        let a = try EventStream(t), b = try EventStream(t)
        #expect(a.head.status == 200 && b.head.status == 200)
        let c = try RawClient(port: t.server.port)
        c.send("GET /v1/watch HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(TestAPI.readerToken)\r\nAccept: text/event-stream\r\n\r\n")
        #expect(try c.readResponse().status == 429)
        let other = try EventStream(t, token: TestAPI.otherReaderToken)
        #expect(other.head.status == 200)
        let full = try RawClient(port: t.server.port)
        full.send("GET /v1/watch HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(TestAPI.adminToken)\r\nAccept: text/event-stream\r\n\r\n")
        #expect(try full.readResponse().status == 503)
        let metrics = try t.get("/metrics").text
        #expect(metrics.contains("\ncapreg_watchers 3\n") && metrics.contains("\ncapreg_watchers_refused_total 2\n"), "\(metrics.suffix(600))")
    }
}

/// A value shared with a thread.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}
