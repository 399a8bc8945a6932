#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Timestamps

/// Counts that outlive the process: reports delivered and rejected since the spool was made, and the
/// last delivery's time, in SPOOL/delivery-totals (JSON). A `--once` run from a timer and a daemon
/// restarted by systemd keep adding to the same counters, so the metrics' `_total`s only go up.
public struct DeliveryTotals: Codable, Equatable, Sendable {
    public var delivered = 0
    public var rejected = 0
    /// Unix seconds of the last 2xx; nil before the first.
    public var lastDelivery: Double?

    enum CodingKeys: String, CodingKey {
        case delivered, rejected
        case lastDelivery = "last_delivery"
    }

    public init(delivered: Int = 0, rejected: Int = 0, lastDelivery: Double? = nil) {
        self.delivered = delivered
        self.rejected = rejected
        self.lastDelivery = lastDelivery
    }
}

extension Spool {
    var totalsPath: String { directory + "/delivery-totals" }

    /// The stored totals (zero when none were written yet, or the file does not parse).
    public func totals() -> DeliveryTotals {
        FileManager.default.contents(atPath: totalsPath).flatMap { try? JSONDecoder().decode(DeliveryTotals.self, from: $0) } ?? DeliveryTotals()
    }

    /// Adds to the totals. Not fsynced: after a crash a count may lag by the last few reports, which
    /// only makes a counter look as if it reset (Prometheus copes); the reports themselves are safe.
    func count(delivered: Int = 0, rejected: Int = 0, at: Date? = nil) {
        var t = totals()
        t.delivered += delivered
        t.rejected += rejected
        if let at { t.lastDelivery = at.timeIntervalSince1970 }
        guard let data = try? JSONEncoder().encode(t) else { return }
        try? data.write(to: URL(fileURLWithPath: totalsPath), options: .atomic)
    }
}

/// The spool as a whole: what `capreg collect --status` prints and `--metrics-file` exports.
public struct SpoolStatus: Equatable, Sendable {
    public var waiting: [Spool.Entry]
    public var rejected: [RejectedReport]
    public var totals: DeliveryTotals

    public init(_ spool: Spool) {
        waiting = spool.pending()
        rejected = spool.rejected()
        totals = spool.totals()
    }

    public var waitingBytes: Int { waiting.reduce(0) { $0 + $1.size } }

    /// Prometheus text exposition (node_exporter's textfile collector reads `*.prom` files).
    public var prometheusText: String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("capreg_collector_reports_delivered_total", "counter", "Reports the registry accepted (2xx) since the spool was made.",
               "\(totals.delivered)")
        metric("capreg_collector_reports_rejected_total", "counter",
               "Reports the registry refused (400/413/415/422) and the collector moved to rejected/, since the spool was made.", "\(totals.rejected)")
        metric("capreg_collector_rejected_reports", "gauge", "Reports in the spool's rejected/ directory now.", "\(rejected.count)")
        metric("capreg_collector_spool_reports", "gauge", "Reports waiting in the spool for delivery.", "\(waiting.count)")
        metric("capreg_collector_spool_bytes", "gauge", "Bytes of the reports waiting in the spool.", "\(waitingBytes)")
        metric("capreg_collector_last_delivery_timestamp_seconds", "gauge",
               "Unix time of the last report the registry accepted; 0 before the first.", String(format: "%.3f", totals.lastDelivery ?? 0))
        return out
    }

    /// Writes `prometheusText` to `path` the textfile collector's way: a temporary file in the same
    /// directory, then rename, so a reader never sees half a file.
    public func writeMetrics(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try Data(prometheusText.utf8).write(to: temporary)
        guard rename(temporary.path, path) == 0 else {
            let e = Errno.current
            unlink(temporary.path)
            throw Spool.SpoolError.io("rename \(temporary.path) to \(path)", e)
        }
    }
}
