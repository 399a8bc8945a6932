import Collector
import Foundation
import RegistryClient
import Report
import Synchronization
import Testing
import TestSupport

/// Spool, push, retry and heartbeat against a loopback sink.
@Suite(.serialized) struct DeliveryTests {
    static func report(_ n: Int, host: String = "h1") throws -> Report {
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture("legacy-aw39").appendingPathComponent("sysfs").path
        o.vfioGroups = .named([])      // sysfs only: these reports are about delivery, not what this machine's kernel allows
        o.iommufdDevices = .named([])
        o.hostname = host
        return try Collector(options: o).collect(now: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)),
                                             kernel: Report.Kernel(release: "6.1.0-56-amd64"))
    }

    static func delivery(_ spool: Spool, _ sink: TestSink, log: Lines? = nil) throws -> Delivery {
        Delivery(spool: spool, client: try APIClient(baseURL: sink.url, token: "collector-token-0123456789"),
                 backoff: Backoff(base: 0.01, cap: 0.05), log: { m in log?.append(m) })
    }

    @Test func spoolWritesDurablyOldestFirstAndLeavesNoTemporaryFiles() throws {
        let dir = try TempDir()
        let spool = try Spool(directory: dir.url.path)
        let later = try Self.report(2), earlier = try Self.report(1)
        try spool.add(later)
        try spool.add(earlier)
        let pending = spool.pending()
        #expect(pending.map(\.name) == ["r-001700000001000-\(earlier.reportId).json", "r-001700000002000-\(later.reportId).json"])
        let back = try Report.decode(json: Data(try spool.read(pending[0]).get()), clock: nil)
        #expect(back == earlier)
        let all = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(!all.contains { $0.hasPrefix(".tmp") })
    }

    @Test func fullSpoolRefusesTheNewReportLoudlyAndKeepsTheOld() throws {
        let dir = try TempDir()
        let one = try Report.encoder.encode(Self.report(1)).count
        let spool = try Spool(directory: dir.url.path, maxBytes: one + one / 2)
        try spool.add(Self.report(1))
        #expect(throws: Spool.SpoolError.self) { try spool.add(Self.report(2)) }
        let third = try Self.report(3)
        do { try spool.add(third) } catch {
            #expect(error.description.contains("spool full") && error.description.contains("NOT spooled"))
        }
        #expect(spool.pending().count == 1)
    }

    @Test func deliversEveryReportOnceAndEmptiesTheSpool() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        let reports = try (1...3).map { try Self.report($0) }
        for r in reports { try spool.add(r) }
        let outcome = try Self.delivery(spool, sink).drain(maxFailures: 3)
        #expect(outcome == Delivery.Outcome(delivered: 3, rejected: 0, remaining: 0, failedAttempts: 0))
        let ids = try sink.accepted.map { try Report.decode(json: Data($0), clock: nil).reportId }
        #expect(ids == reports.map(\.reportId))
        #expect(sink.authorizations.allSatisfy { $0 == "Authorization: Bearer collector-token-0123456789" })
    }

    @Test func serverErrorsRetryWithBackoffThenKeepTheReport() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        sink.status = 503
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        try spool.add(Self.report(1))
        let log = Lines()
        let outcome = try Self.delivery(spool, sink, log: log).drain(maxFailures: 3)
        #expect(outcome.delivered == 0 && outcome.remaining == 1 && outcome.failedAttempts == 3)
        #expect(sink.requests == 3)
        #expect(log.all.filter { $0.hasPrefix("INFO retrying") }.count == 2)
        // The registry comes back: the same report id arrives, once.
        sink.status = 201
        #expect(try Self.delivery(spool, sink).drain(maxFailures: 1).delivered == 1)
        #expect(sink.accepted.count == 1 && spool.pending().isEmpty)
    }

    @Test func registryDownIsAConnectFailureAndNothingIsLost() throws {
        let sink = try TestSink()
        let url = sink.url
        sink.stop()
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        try spool.add(Self.report(1))
        let log = Lines()
        let d = Delivery(spool: spool, client: try APIClient(baseURL: url, token: nil), backoff: Backoff(base: 0.01, cap: 0.01),
                         log: { m in log.append(m) })
        #expect(d.drain(maxFailures: 2).remaining == 1)
        #expect(log.all.contains { $0.contains("ECONNREFUSED") })
    }

    /// A registry that takes the connection and never answers: a stop (SIGTERM) ends the request in
    /// flight at once, not after the client's 30 s deadline, and the report stays spooled.
    @Test func aStopEndsARequestThatGetsNoAnswer() throws {
        let silent = try LoopbackListener(backlog: 8)  // never accepted: the kernel completes the handshake, nobody reads
        defer { silent.close() }
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        try spool.add(Self.report(1))
        let started = Date()
        let log = Lines()
        let d = Delivery(spool: spool, client: try APIClient(baseURL: "http://127.0.0.1:\(silent.port)", token: nil),
                         log: { m in log.append(m) }, shouldStop: { Date().timeIntervalSince(started) > 0.5 })
        let outcome = d.drain(maxFailures: 3)
        #expect(outcome.remaining == 1 && outcome.delivered == 0)
        #expect(Date().timeIntervalSince(started) < 5, "stopped at once, not after the 30 s deadline")
        #expect(log.all.contains { $0.contains("stopped before an answer") }, "\(log.all)")
    }

    @Test func badRequestMovesTheReportToRejectedAndGoesOn() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        sink.status = 400
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        try spool.add(Self.report(1))
        let outcome = try Self.delivery(spool, sink).drain(maxFailures: 3)
        #expect(outcome.rejected == 1 && outcome.remaining == 0 && sink.requests == 1)
        // The report and the registry's reason beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.rejectedDirectory).sorted().map { $0.hasSuffix(".why") } == [false, true])
        #expect(spool.rejected().map(\.refusal?.status) == [400])
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        let b = Backoff(base: 1, cap: 60)
        #expect(b.delay(attempt: 0, random: 0) == 0.5 && b.delay(attempt: 0, random: 1) == 1)
        #expect(b.delay(attempt: 3, random: 1) == 8 && b.delay(attempt: 3, random: 0) == 4)
        #expect(b.delay(attempt: 20, random: 1) == 60 && b.delay(attempt: 200, random: 0) == 30)
        let spread = Set((0..<50).map { _ in b.delay(attempt: 4) })
        #expect(spread.count > 40 && spread.allSatisfy { (8...16).contains($0) })
        #expect(abs(Backoff.jittered(100, random: 0) - 90) < 1e-9 && abs(Backoff.jittered(100, random: 1) - 110) < 1e-9)
    }

    @Test func unchangedContentBecomesASmallHeartbeat() throws {
        let a = try Self.report(1), b = try Self.report(2)
        #expect(a.reportId != b.reportId)
        #expect(Heartbeat.fingerprint(a) == Heartbeat.fingerprint(b))
        var other = try Self.report(3, host: "h2")
        #expect(Heartbeat.fingerprint(other) != Heartbeat.fingerprint(a))
        other = a
        other.host.labels["rack"] = "r1"
        #expect(Heartbeat.fingerprint(other) != Heartbeat.fingerprint(a))
        let hb = Heartbeat.heartbeat(of: b)
        #expect(hb.reportId == b.reportId && hb.sources.allSatisfy { $0.decoded == nil && $0.raw != nil })
        #expect(try Report.encoder.encode(hb).count * 3 < Report.encoder.encode(b).count)
    }

    @Test func agentOnceSpoolsFullThenHeartbeatsAndExitStatuses() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture("scalable-aw48").appendingPathComponent("sysfs").path
        o.vfioGroups = .named([])
        o.iommufdDevices = .named([])
        o.hostname = "agent1"
        let agent = Agent(collector: Collector(options: o), delivery: try Self.delivery(spool, sink), log: { _ in })
        #expect(agent.once(maxFailures: 2) == .delivered)
        #expect(agent.collectAndSpool(heartbeats: true) == .spooled)
        sink.status = 500
        #expect(agent.once(maxFailures: 1) == .pending)
        #expect(spool.pending().count == 2)
        sink.status = 200
        #expect(agent.once(maxFailures: 1) == .delivered)
        let sent = try sink.accepted.map { try Report.decode(json: Data($0), clock: nil) }
        #expect(sent.count == 4 && Set(sent.map(\.reportId)).count == 4)
        #expect(sent[1].sources.allSatisfy { $0.decoded == nil }, "second was a heartbeat")
        #expect(sent[0].sources.allSatisfy { $0.decoded != nil })
        // Spool full: the report of this run is lost, and the status says so.
        let tinyDir = try TempDir()
        let tiny = Agent(collector: Collector(options: o), delivery: Delivery(spool: try Spool(directory: tinyDir.url.path, maxBytes: 100),
                         client: try APIClient(baseURL: sink.url, token: nil), log: { _ in }), log: { _ in })
        #expect(tiny.once(maxFailures: 1) == .dropped)
    }
}

/// Log lines collected from a @Sendable closure.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}
