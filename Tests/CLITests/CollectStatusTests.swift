import Foundation
import Testing
import TestSupport

/// `capreg collect --status` and `--metrics-file` against the real `capreg serve`: a spooled report the
/// registry refuses (collected_at decades ahead) is dead-lettered with its reason, this run's report
/// still goes out, and the status and the metrics file say so.
@Suite("capreg collect --status", .serialized)
struct CollectStatusTests {
    @Test func refusedReportShowsInStatusAndMetrics() throws {
        let dir = try TempDir()
        let server = try CapregBinary.serve(db: dir.path("r.sqlite"), log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let spool = dir.path("spool")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        // A report from a host whose clock ran decades ahead, waiting first in line.
        let printed = try CapregBinary.run(["collect", "--sysfs-root", CollectCommandTests.sysfs, "--hostname", "status-host", "--no-probes"])
        var report = try #require(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any], "\(printed.stderr)")
        report["report_id"] = "far-ahead"
        report["collected_at"] = "2099-01-01T00:00:00Z"
        let bad = "r-000000000000001-far-ahead.json"
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: spool + "/" + bad))

        let waiting = try CapregBinary.run(["collect", "--status", "--spool", spool])
        #expect(waiting.status == 75 && waiting.stdout.contains("1 report waiting") && waiting.stdout.contains("waiting  \(bad)"), "\(waiting.stdout)")

        let metrics = dir.path("collector.prom")
        let run = try CapregBinary.run(["collect", "--push", "http://127.0.0.1:\(server.port)", "--spool", spool, "--once",
                                        "--sysfs-root", CollectCommandTests.sysfs, "--hostname", "status-host", "--no-probes",
                                        "--metrics-file", metrics])
        #expect(run.status == 76, "\(run.stderr)")
        #expect(run.stderr.contains("delivered 1, rejected 1, waiting 0"), "\(run.stderr)")

        let status = try CapregBinary.run(["collect", "--status", "--spool", spool])
        #expect(status.status == 76, "\(status.stdout)\(status.stderr)")
        let line = try #require(status.stdout.split(separator: "\n").first { $0.hasPrefix("rejected  \(bad)  ") }, "\(status.stdout)")
        #expect(line.contains("Z  400: ") && line.contains("collected_at"), "\(line)")
        #expect(status.stdout.contains("0 reports waiting") && status.stdout.contains("1 delivered, 1 rejected"), "\(status.stdout)")

        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        for expected in ["capreg_collector_reports_delivered_total 1", "capreg_collector_reports_rejected_total 1",
                         "capreg_collector_rejected_reports 1", "capreg_collector_spool_reports 0"] {
            #expect(text.split(separator: "\n").contains(Substring(expected)), "\(expected) in:\n\(text)")
        }
    }

    @Test func statusExitsLikeCollect() throws {
        let dir = try TempDir()
        let spool = dir.path("spool")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let empty = try CapregBinary.run(["collect", "--status", "--spool", spool])
        #expect(empty.status == 0 && empty.stdout.hasPrefix("spool \(spool): 0 reports waiting (0 bytes), 0 reports rejected\n"), "\(empty.stdout)")
        #expect(empty.stdout.contains("last delivery never"))
        #expect(try CapregBinary.run(["collect", "--status", "--spool", dir.path("absent")]).status == 66)
        #expect(try CapregBinary.run(["collect", "--status", "--spool", spool, "--once"]).status == 64)
        // The config's spool is read too.
        try "spool = \(spool)\n".write(toFile: dir.path("c.conf"), atomically: true, encoding: .utf8)
        #expect(try CapregBinary.run(["collect", "--status", "--config", dir.path("c.conf")]).status == 0)
    }
}
