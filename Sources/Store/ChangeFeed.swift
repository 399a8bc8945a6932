import Decoders
import Foundation

/// One host of the change feed, with its labels at the window's end (those of its report in force then).
public struct ChangedHost: Sendable, Hashable {
    public var change: HostChange
    public var labels: [String: String]
    /// The report in force at the window's end (where the `after` values come from) and who wrote it.
    public var source: ReportSource?
}

public struct ChangePage: Sendable, Hashable {
    /// The registry revision the page was read at (same transaction as its hosts).
    public var revision: Int64
    public var hosts: [ChangedHost] = []
    /// The hostname to continue after; nil when the window has no more hosts.
    public var nextAfter: String?
}

extension Registry {
    /// The change feed as `changesPage` computes it (facts and kernel, same candidates, same diff), for
    /// hosts after `after` in hostname order: at most `limit` changed hosts, and at most `scanBudget`
    /// candidate hosts examined (a candidate may turn out unchanged), and about `maxBytes` of JSON (the
    /// host that passes it is the page's last), so one call costs a bounded amount
    /// of work; `nextAfter` says where to go on. `keep` decides, per host, whether it belongs in the
    /// answer (an API filter on the state at `to`, with the host's labels).
    public func changePage(from: Date, to: Date, after: String?, limit: Int, scanBudget: Int, maxBytes: Int = HostQueryLimits.maxPageBytes,
                           keep: (HostSnapshot, [String: String]) -> Bool = { _, _ in true }) throws -> ChangePage {
        let t1 = StoreTime.ms(from), t2 = StoreTime.ms(to)
        return try budgetedRead { db in
            // Even an empty page is read in a transaction, so that it carries a real revision.
            var page = ChangePage(revision: try Registry.revision(db))
            guard t1 < t2, limit > 0 else { return page }
            let sql = FleetPageSQL.changedHosts(names: nil, kernel: true)
            let candidates = try db.rows(sql, [after ?? "", t1, t2, scanBudget + 1])
            var bytes = 0
            for (i, row) in candidates.enumerated() {
                // At the row or scan bound, or once the page's JSON passes maxPageBytes, the next page goes on from here.
                if i == scanBudget || page.hosts.count == limit || bytes > maxBytes {
                    page.nextAfter = candidates[i - 1][1]
                    return page
                }
                let id: Int64 = row[0], hostname: String = row[1]
                guard let change = try Registry.change(db, host: id, hostname: hostname, t1: t1, t2: t2, names: nil, kernel: true),
                      let state = try Registry.snapshot(db, host: id, hostname: hostname, at: t2) else { continue }
                let labels = try labels(db, host: id, at: t2)
                guard keep(state, labels) else { continue }
                let source = try Registry.reportAsOf(db, host: id, at: t2)?.source
                let host = ChangedHost(change: change, labels: labels, source: source)
                page.hosts.append(host)
                bytes += host.jsonBytes
            }
            return page
        }
    }
}

extension ChangedHost {
    /// About the bytes of the host's entry in the API's JSON: names, values and each change's keys, its
    /// labels (up to 64 of 320 bytes each), and the report in force (id, writer, peer).
    var jsonBytes: Int {
        let changes = change.changes.reduce(100 + change.hostname.utf8.count) { sum, f in
            sum + 70 + f.name.utf8.count + (f.before?.description.utf8.count ?? 4) + (f.after?.description.utf8.count ?? 4)
        }
        let labelBytes = labels.reduce(0) { $0 + 6 + $1.key.utf8.count + $1.value.utf8.count }
        let sourceBytes = source.map { 50 + $0.reportId.utf8.count + ($0.writtenBy?.utf8.count ?? 4) + ($0.peer?.utf8.count ?? 4) } ?? 0
        return changes + labelBytes + sourceBytes
    }
}
