import Foundation
import Server
import Store

/// Counters behind `/metrics`, in the Prometheus text exposition format (version 0.0.4). Updated from
/// every worker thread, so one lock; each update is a few dictionary operations.
public final class Metrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the latency histogram: sub-millisecond placement queries up to slow scans.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

    struct Histogram {
        var counts = [Int](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    private let lock = NSLock()
    private var requests: [String: Int] = [:]  // "route\u{0}class"
    private var latency: [String: Histogram] = [:]
    private var ingests: [String: Int] = [:]
    private var errors: [String: Int] = [:]
    private var interrupted: [String: Int] = [:]
    private var refusedReports: [String: Int] = [:]
    private var enrollments: [String: Int] = [:]
    private var unrecordedRefusals: [String: Int] = [:]
    private var serverStats: (@Sendable () -> ServerStats)?

    init() {}

    /// Lets `/metrics` include the server's connection counters (set once the server exists).
    public func attach(serverStats: @escaping @Sendable () -> ServerStats) {
        lock.withLock { self.serverStats = serverStats }
    }

    func record(route: String, status: Int, seconds: Double) {
        lock.withLock {
            requests["\(route)\u{0}\(status / 100)xx", default: 0] += 1
            var h = latency[route] ?? Histogram()
            if let i = Metrics.buckets.firstIndex(where: { seconds <= $0 }) { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            latency[route] = h
        }
    }

    func countIngest(_ outcome: String) { lock.withLock { ingests[outcome, default: 0] += 1 } }
    func countError(_ code: String) { lock.withLock { errors[code, default: 0] += 1 } }
    func countRefusedReports(_ reason: String, _ count: Int) { lock.withLock { refusedReports[reason, default: 0] += count } }
    func countEnrollment(_ outcome: String) { lock.withLock { enrollments[outcome, default: 0] += 1 } }
    func countUnrecordedRefusal(_ reason: String) { lock.withLock { unrecordedRefusals[reason, default: 0] += 1 } }
    func countInterrupted(_ reason: QueryInterrupted.Reason) { lock.withLock { interrupted[reason.rawValue, default: 0] += 1 } }

    func exposition(databaseBytes: Int64) -> String {
        let (requests, latency, ingests, errors, statsSource) = lock.withLock { (self.requests, self.latency, self.ingests, self.errors, self.serverStats) }
        let (interrupted, refusedReports, enrollments, unrecordedRefusals) = lock.withLock {
            (self.interrupted, self.refusedReports, self.enrollments, self.unrecordedRefusals)
        }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func value(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

        family("capreg_http_requests_total", "counter", "Responses by route template and status class.")
        for key in requests.keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
            out += "capreg_http_requests_total{route=\(quoted(String(parts[0]))),status=\"\(parts[1])\"} \(requests[key]!)\n"
        }
        family("capreg_http_request_duration_seconds", "histogram", "Handler time by route template.")
        for route in latency.keys.sorted() {
            let h = latency[route]!
            var cumulative = 0
            for (i, bound) in Metrics.buckets.enumerated() {
                cumulative += h.counts[i]
                out += "capreg_http_request_duration_seconds_bucket{route=\(quoted(route)),le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "capreg_http_request_duration_seconds_bucket{route=\(quoted(route)),le=\"+Inf\"} \(h.count)\n"
            out += "capreg_http_request_duration_seconds_sum{route=\(quoted(route))} \(h.sum)\n"
            out += "capreg_http_request_duration_seconds_count{route=\(quoted(route))} \(h.count)\n"
        }
        family("capreg_ingested_reports_total", "counter", "Reports pushed, by ingest outcome (duplicate: a report id already stored).")
        for outcome in ["created", "changed", "unchanged", "history", "duplicate"] {
            out += "capreg_ingested_reports_total{outcome=\"\(outcome)\"} \(ingests[outcome] ?? 0)\n"
        }
        family("capreg_reports_refused_total", "counter", "Reports of POST /v1/reports batches refused whole, by reason (host_mismatch: a credential bound to another host).")
        for reason in ["host_mismatch"] { out += "capreg_reports_refused_total{reason=\"\(reason)\"} \(refusedReports[reason] ?? 0)\n" }
        family("capreg_enrollments_total", "counter",
               "POST /v1/enroll by outcome: enrolled, or refused (the caller sees 401 for every *_code, 403 for host_mismatch, 400/413 for bad_request).")
        for outcome in Self.enrollmentOutcomes { out += "capreg_enrollments_total{outcome=\"\(outcome)\"} \(enrollments[outcome] ?? 0)\n" }
        family("capreg_write_refusals_unrecorded_total", "counter",
               "Refused POST /v1/reports requests left out of write_refusals: rate_bound (over \(Registry.maxRefusalsPerMinute) an identity a minute), store_error.")
        for reason in ["rate_bound", "store_error"] {
            out += "capreg_write_refusals_unrecorded_total{reason=\"\(reason)\"} \(unrecordedRefusals[reason] ?? 0)\n"
        }
        family("capreg_api_errors_total", "counter", "Error responses produced by the API, by error code.")
        for code in errors.keys.sorted() { out += "capreg_api_errors_total{code=\(quoted(code))} \(errors[code]!)\n" }
        family("capreg_queries_interrupted_total", "counter", "Store reads stopped before their end: past --query-budget, or their client gone.")
        for reason in QueryInterrupted.Reason.allCases {
            out += "capreg_queries_interrupted_total{reason=\"\(reason.rawValue)\"} \(interrupted[reason.rawValue] ?? 0)\n"
        }
        family("capreg_database_size_bytes", "gauge", "The SQLite database file plus its WAL, in bytes.")
        out += "capreg_database_size_bytes \(databaseBytes)\n"
        if let stats = statsSource?() {
            let server: [(name: String, type: String, help: String, value: Int)] = [
                ("capreg_http_connections_open", "gauge", "Connections being served.", stats.connectionsOpen),
                ("capreg_http_connections_accepted_total", "counter", "Connections accepted, rejected ones included.", stats.connectionsAccepted),
                ("capreg_http_connections_rejected_total", "counter", "Connections turned away with 503 (every slot busy).", stats.connectionsRejected),
                ("capreg_http_connections_anonymous", "gauge", "Open connections without an identity (no admitted token yet).", stats.connectionsAnonymous),
                ("capreg_http_anonymous_connections_cut_total", "counter", "Idle anonymous connections cut to make room for a new connection.", stats.anonymousConnectionsCut),
                ("capreg_http_admission_refusals_total", "counter", "Requests refused on their head (404, 405, 401, 403), body unread.", stats.admissionRefusals),
                ("capreg_http_identity_share_rejections_total", "counter", "429s: the token (or address) already held its share of connections.", stats.identityShareRejections),
                ("capreg_http_body_budget_rejections_total", "counter", "503s: the body did not fit in the server's buffered-body budget.", stats.bodyBudgetRejections),
                ("capreg_http_buffered_body_bytes", "gauge", "Body bytes reserved by requests being received or answered.", stats.bufferedBodyBytes),
                ("capreg_http_parse_errors_total", "counter", "Requests the HTTP parser refused.", stats.parseErrors),
                ("capreg_http_read_timeouts_total", "counter", "408s: heads or bodies that did not arrive in time.", stats.readTimeouts),
                ("capreg_watchers", "gauge", "Change-stream watchers held now (event streams and waiting long polls).", stats.streamsOpen),
                ("capreg_watchers_started_total", "counter", "Change-stream watchers taken over by the stream hub.", stats.streamsStarted),
                ("capreg_watchers_refused_total", "counter", "Watchers refused at their start: 503 (--max-watchers) or 429 (the token's share).", stats.streamsRefused),
                ("capreg_watchers_cut_slow_total", "counter", "Watchers cut because they did not read what was sent to them.", stats.streamsCutSlow),
            ]
            for metric in server {
                family(metric.name, metric.type, metric.help)
                out += "\(metric.name) \(metric.value)\n"
            }
        }
        return out
    }

    /// Every outcome of an enrollment, each exposed from the start (0) so a rate can be taken at once.
    static let enrollmentOutcomes = ["enrolled", "unknown_code", "used_code", "expired_code", "revoked_code", "host_mismatch", "bad_request"]

    /// A label value: backslash, quote and newline escaped.
    private func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
