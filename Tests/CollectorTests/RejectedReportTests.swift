import Collector
import Foundation
import Report
import Testing
import Timestamps
import TestSupport

/// A report the registry refuses is dead-lettered with its reason, the reports behind it still go out,
/// and the spool's status and metrics say so.
@Suite(.serialized) struct RejectedReportTests {
    @Test func aRefusedReportIsKeptWithItsReasonAndCountedWhileTheOthersAreDelivered() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        let spoolDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        let reports = try (1...3).map { try DeliveryTests.report($0) }
        for r in reports { try spool.add(r) }
        sink.refusing = reports[0].reportId  // the oldest, first in line
        let delivery = try DeliveryTests.delivery(spool, sink)
        let before = Date()
        let outcome = delivery.drain(maxFailures: 3)
        #expect(outcome == Delivery.Outcome(delivered: 2, rejected: 1, remaining: 0, failedAttempts: 0))
        #expect(try sink.accepted.map { try Report.decode(json: Data($0), clock: nil).reportId } == reports[1...].map(\.reportId))

        let status = SpoolStatus(spool)
        #expect(status.waiting.isEmpty)
        let rejected = try #require(status.rejected.first)
        #expect(status.rejected.count == 1 && rejected.name.hasSuffix("-\(reports[0].reportId).json"))
        let refusal = try #require(rejected.refusal)
        #expect(refusal.status == 400 && refusal.message == TestSink.refusalMessage, "\(refusal)")
        let at = try RFC3339.parse(refusal.rejectedAt)
        #expect(at >= before.addingTimeInterval(-1) && at <= Date().addingTimeInterval(1))
        #expect(status.totals.delivered == 2 && status.totals.rejected == 1)

        // The metrics file, written whole; counters add up across rounds (they live in the spool).
        let metrics = spoolDir.path("collector.prom")
        try status.writeMetrics(to: metrics)
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        for line in ["capreg_collector_reports_delivered_total 2", "capreg_collector_reports_rejected_total 1",
                     "capreg_collector_rejected_reports 1", "capreg_collector_spool_reports 0", "capreg_collector_spool_bytes 0",
                     "# TYPE capreg_collector_reports_delivered_total counter"] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line) in:\n\(text)")
        }
        let last = try #require(text.split(separator: "\n").first { $0.hasPrefix("capreg_collector_last_delivery_timestamp_seconds ") })
        #expect(Double(last.split(separator: " ")[1]).map { $0 >= before.timeIntervalSince1970 - 1 } == true, "\(last)")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: spoolDir.url.path)).contains { $0.hasSuffix(".tmp") })

        try spool.add(try DeliveryTests.report(4))
        #expect(delivery.drain(maxFailures: 3).delivered == 1)
        #expect(SpoolStatus(spool).prometheusText.contains("capreg_collector_reports_delivered_total 3\n"))
    }

    /// A daemon rewrites the metrics file after every round (here: two rounds, one report each).
    @Test func daemonWritesMetricsEveryRound() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        let spoolDir = try TempDir()
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture("scalable-aw48").appendingPathComponent("sysfs").path
        o.vfioGroups = .named([])
        o.iommufdDevices = .named([])
        o.hostname = "metrics-host"
        let metrics = spoolDir.path("m.prom")
        let agent = Agent(collector: Collector(options: o), delivery: try DeliveryTests.delivery(try Spool(directory: spoolDir.path("spool")), sink),
                          log: { _ in }, metricsFile: metrics)
        let stop = StopFlag()
        let done = StopFlag()
        Thread.detachNewThread {
            agent.run(interval: 1, stop: stop)
            done.set()
        }
        func delivered() -> String? {
            (try? String(contentsOfFile: metrics, encoding: .utf8))?.split(separator: "\n")
                .first { $0.hasPrefix("capreg_collector_reports_delivered_total ") }.map(String.init)
        }
        let end = Date().addingTimeInterval(15)
        while Date() < end && delivered() != "capreg_collector_reports_delivered_total 2" { usleep(50_000) }
        stop.set()
        while !done.isSet { usleep(50_000) }
        #expect(delivered() == "capreg_collector_reports_delivered_total 2" || delivered() == "capreg_collector_reports_delivered_total 3")
    }

    @Test func refusalKeepsTheRegistrysMessageOrItsBody() {
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        let shaped = Refusal(status: 400, body: #"{"error":{"code":"bad_report","message":"must be a string","path":"host.hostname"}}"#, at: at)
        #expect(shaped.message == "host.hostname: must be a string")
        let plain = Refusal(status: 413, body: String(repeating: "x", count: 5000), at: at)
        #expect(plain.message.utf8.count == Refusal.maxMessage && plain.rejectedAt == "2023-11-14T22:13:20.000Z")
    }
}
