import Foundation
import Report
import Timestamps
import Synchronization

/// The collector as a service: collect, spool, deliver; once (`--once`) or every interval.
public struct Agent: Sendable {
    public var collector: Collector
    public var delivery: Delivery
    public var log: @Sendable (String) -> Void
    /// Where each round's Prometheus text goes (`--metrics-file`, config `metrics_file`); nil: none.
    public var metricsFile: String?
    /// The NFD feature file each round rewrites (`--nfd-features-dir`, config `nfd_features_dir`); nil: none.
    public var nfd: NFDFeatureFile?

    public init(collector: Collector, delivery: Delivery, log: @escaping @Sendable (String) -> Void, metricsFile: String? = nil,
                nfd: NFDFeatureFile? = nil) {
        self.collector = collector
        self.delivery = delivery
        self.log = log
        self.metricsFile = metricsFile
        self.nfd = nfd
    }

    /// After every collection: a feature file that cannot be written is logged and the agent goes on (its
    /// last file expires on its own, so a node's labels never outlive their bound).
    func writeFeatureFile(_ report: Report) {
        guard let nfd else { return }
        do {
            let written = try nfd.write(report)
            let left = written.omitted.isEmpty ? "" : ", \(written.omitted.count) facts no label can carry left out"
            log("INFO NFD feature file: \(written.labels) labels\(left)")
        } catch {
            log("WARN \(error)")
        }
    }

    /// After every round: a metrics file that cannot be written is logged and the agent goes on.
    func writeMetrics() {
        guard let metricsFile else { return }
        do { try SpoolStatus(delivery.spool).writeMetrics(to: metricsFile) } catch {
            log("WARN metrics file \(metricsFile): \(error)")
        }
    }

    /// `--once` exit statuses, worst first.
    public enum Status: Int32, Sendable {
        case delivered = 0
        /// No report was made: the host has no usable name (HostIdentity.resolve); EX_NOHOST.
        case noIdentity = 68
        /// This run's report could not be spooled (spool full or unwritable): it is lost, loudly.
        case dropped = 73
        /// The registry refused a report; it is in the spool's rejected/ directory.
        case rejected = 76
        /// Reports are waiting in the spool for the next run.
        case pending = 75
    }

    public enum Collected: Sendable {
        case spooled, notSpooled, noIdentity
    }

    /// Collects and spools one report (full, or a heartbeat when `heartbeats` and nothing changed).
    public func collectAndSpool(heartbeats: Bool) -> Collected {
        let report: Report
        do {
            report = try collector.collect()
        } catch {
            log("ERROR \(error)")
            return .noIdentity
        }
        writeFeatureFile(report)
        let fingerprint = Heartbeat.fingerprint(report)
        let unchanged = heartbeats && Heartbeat.last(in: delivery.spool) == fingerprint
        let toSend = unchanged ? Heartbeat.heartbeat(of: report) : report
        do {
            let entry = try delivery.spool.add(toSend)
            Heartbeat.remember(fingerprint, in: delivery.spool)
            // The collected_at is logged as the wire carries it: a heartbeat the registry keeps is found by it.
            log("INFO spooled \(unchanged ? "heartbeat" : "report") \(report.reportId) collected \(RFC3339.format(report.collectedAt)) (\(entry.size) bytes, \(report.sources.count) sources)")
            return .spooled
        } catch {
            log("ERROR \(error)")
            return .notSpooled
        }
    }

    public func once(maxFailures: Int) -> Status {
        let collected = collectAndSpool(heartbeats: false)
        let outcome = delivery.drain(maxFailures: maxFailures)
        log("INFO delivered \(outcome.delivered), rejected \(outcome.rejected), waiting \(outcome.remaining)")
        writeMetrics()
        if collected == .noIdentity { return .noIdentity }
        if collected == .notSpooled { return .dropped }
        if outcome.rejected > 0 { return .rejected }
        return outcome.remaining > 0 ? .pending : .delivered
    }

    /// Until `stop` is set: collect every jittered `interval`, deliver with backoff in between.
    public func run(interval: Double, stop: StopFlag) {
        while !stop.isSet {
            _ = collectAndSpool(heartbeats: true)
            let next = Date().addingTimeInterval(Backoff.jittered(interval))
            let outcome = delivery.drain(deadline: next)
            if outcome.remaining > 0 { log("WARN \(outcome.remaining) reports waiting in the spool") }
            writeMetrics()
            while !stop.isSet && Date() < next { Thread.sleep(forTimeInterval: min(0.2, next.timeIntervalSinceNow)) }
        }
        log("INFO stopping")
    }
}

/// Set by SIGTERM/SIGINT (see `StopFlag.onSignals`) or by tests.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}

#if canImport(Glibc)
import Glibc
#endif

extension StopFlag {
    /// The process-wide flag SIGTERM and SIGINT set.
    public static let process = StopFlag()

    /// Also unblocks them on the calling thread: a process inherits its parent thread's signal mask, and a
    /// parent spawning from a worker thread hands down SIGTERM blocked (the handler would never run).
    public static func stopOnSignals() {
        signal(SIGTERM) { _ in StopFlag.process.set() }
        signal(SIGINT) { _ in StopFlag.process.set() }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
