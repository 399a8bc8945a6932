import Decoders
import Foundation

/// How many hosts held a usable capability at evenly spaced times, split by the kernel series each host
/// ran then: the audits page's chart (docs/audits.md).
public struct CapabilityTimeline: Sendable, Hashable {
    public var name: String
    public var times: [Date]
    /// Per kernel series ("6.6"), the hosts holding the capability at each time; the largest series first.
    public var series: [KernelSeriesCounts]
    /// Hosts with a state at each time (holding the capability or not).
    public var hosts: [Int]
}

public struct KernelSeriesCounts: Sendable, Hashable {
    public var kernel: String
    public var counts: [Int]
}

extension Registry {
    /// The names the chart can draw: those the partial index facts_usable_history holds (migrations/0018_audit_indexes.sql).
    public static let timelineFacts = CrossVendor.usableNames
    /// The partial index's condition, as migrations/0018_audit_indexes.sql writes it.
    static let timelineFactsSQL = "name IN (" + timelineFacts.map { "'\($0)'" }.joined(separator: ", ") + ")"
    public static let maxTimelinePoints = 120

    /// Counts at `points` times from `from` to `to` (both included). A host holds the capability when its
    /// value is true, a positive number or a format other than `none` (ValueChange.has).
    public func capabilityTimeline(name: String, from: Date, to: Date, points: Int) throws -> CapabilityTimeline {
        guard let literal = Self.timelineFacts.first(where: { $0 == name }) else {
            throw AuditRequestError(parameter: "fact", message: "one of \(Self.timelineFacts.joined(separator: ", "))")
        }
        guard (2...Self.maxTimelinePoints).contains(points) else {
            throw AuditRequestError(parameter: "points", message: "2 to \(Self.maxTimelinePoints)")
        }
        guard from < to else { throw AuditRequestError(parameter: "from", message: "must be before to") }
        let t0 = StoreTime.ms(from), t1 = StoreTime.ms(to)
        let step = Double(t1 - t0) / Double(points - 1)
        let times = (0..<points).map { t0 + Int64((Double($0) * step).rounded()) }
        let type = Vocabulary.entry(name)?.type ?? .bool
        return try budgetedRead { db in
            // Each host's kernel series from each counted report on: (collected_at, series index), in time order.
            var seriesNames: [String] = []
            var seriesIndex: [String: Int] = [:]
            var kernels: [Int64: [(at: Int64, series: Int)]] = [:]
            var releases: [String: Int] = [:]  // each release parsed once
            let retracted = try RetractedReports(db)
            try db.forEachRow("""
                SELECT r.host_id, r.collected_at, r.id, r.confirms, r.kernel_release FROM reports r
                WHERE r.collected_at <= ? ORDER BY r.host_id, r.collected_at, r.id
                """, [t1]) { row in
                if retracted.contains(row.int64(2), confirms: row.optionalInt64(3)) { return }
                let text = row.text(4)
                let index = releases[text] ?? {
                    let release = KernelRelease(text)
                    let label = "\(release.major).\(release.minor)"
                    let index = seriesIndex[label] ?? {
                        seriesNames.append(label)
                        seriesIndex[label] = seriesNames.count - 1
                        return seriesNames.count - 1
                    }()
                    releases[text] = index
                    return index
                }()
                kernels[row.int64(0), default: []].append((row.int64(1), index))
            }
            var counts = Array(repeating: Array(repeating: 0, count: points), count: seriesNames.count)
            var hosts = Array(repeating: 0, count: points)
            for (_, reports) in kernels {
                guard let first = reports.first?.at else { continue }
                for (i, t) in times.enumerated() where t >= first { hosts[i] += 1 }
            }
            // The fact's intervals that overlap the span, from the partial index alone: the name as a literal,
            // and the index's own condition written out, since SQLite uses a partial index only when the query
            // repeats its WHERE terms (`name = 'nesting'` alone does not prove `name IN (…)`). Without it SQLite
            // took facts_from's range, every fact row that began before `to` read from the table (3.7 s on the
            // 100,000-host fleet).
            try db.forEachRow("""
                SELECT host_id, valid_from, valid_to, value_int, value_text FROM facts
                WHERE \(Self.timelineFactsSQL) AND name = '\(literal)' AND valid_from <= ? AND valid_to > ?
                """, [t1, t0]) { row in
                let value = FactColumns.join(type: type.rawValue, int: row.optionalInt64(3), text: row.optionalText(4))
                guard ValueChange.has(value), let reports = kernels[row.int64(0)] else { return }
                let start = row.int64(1), end = row.int64(2)
                // The sample times inside [start, end).
                var i = max(0, Int((Double(start - t0) / step).rounded(.up)))
                while i < points && times[i] < start { i += 1 }
                while i > 0 && times[i - 1] >= start { i -= 1 }
                while i < points && times[i] < end {
                    if let series = Self.kernelSeries(at: times[i], reports) { counts[series][i] += 1 }
                    i += 1
                }
            }
            let series = zip(seriesNames, counts).map { KernelSeriesCounts(kernel: $0, counts: $1) }
                .filter { $0.counts.contains { $0 > 0 } }
                .sorted { ($0.counts.max() ?? 0, $1.kernel) > ($1.counts.max() ?? 0, $0.kernel) }
            return CapabilityTimeline(name: name, times: times.map(StoreTime.date), series: series, hosts: hosts)
        }
    }

    /// The series of the newest report at or before `t` (binary search), nil before the first.
    static func kernelSeries(at t: Int64, _ reports: [(at: Int64, series: Int)]) -> Int? {
        var lo = 0, hi = reports.count - 1
        var found: Int?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if reports[mid].at <= t {
                found = reports[mid].series
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        return found
    }
}
