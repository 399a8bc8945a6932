import Decoders
import Foundation
import GRDB

/// One host of the change feed, with its labels (as of its newest report: the store keeps no label history).
public struct ChangedHost: Sendable, Hashable {
    public var change: HostChange
    public var labels: [String: String]
}

public struct ChangePage: Sendable, Hashable {
    public var hosts: [ChangedHost] = []
    /// The hostname to continue after; nil when the window has no more hosts.
    public var nextAfter: String?
}

extension SQLiteStore {
    /// Net fact changes between `from` and `to` for hosts after `after` in hostname order: at most
    /// `limit` changed hosts, and at most `scanBudget` candidate hosts examined (a host whose rows moved
    /// but whose state at `to` equals its state at `from` is a candidate without a change), so one call
    /// costs a bounded amount of work; `nextAfter` says where to go on. `keep` decides, per host, whether
    /// it belongs in the answer (an API filter on the state at `to`).
    public func changePage(from: Date, to: Date, after: String?, limit: Int, scanBudget: Int,
                           keep: (HostSnapshot, [String: String]) -> Bool = { _, _ in true }) throws -> ChangePage {
        let t1 = StoreTime.ms(from), t2 = StoreTime.ms(to)
        var page = ChangePage()
        guard t1 < t2 else { return page }
        return try pool.read { db in
            // Hosts with a fact row opening or closing in (T1, T2], in hostname order after the cursor.
            let sql = """
                SELECT h.id, h.hostname FROM hosts h
                WHERE h.hostname > ? AND h.id IN (\(QuerySQL.changedHosts))
                ORDER BY h.hostname LIMIT ?
                """
            let candidates = try Row.fetchAll(db, sql: sql, arguments: [after ?? "", t1, t2, t1, t2, scanBudget + 1])
            for (i, row) in candidates.enumerated() {
                if i == scanBudget || page.hosts.count == limit {
                    page.nextAfter = candidates[i - 1][1]
                    return page
                }
                let id: Int64 = row[0], hostname: String = row[1]
                let before = try SQLiteStore.snapshot(db, host: id, hostname: hostname, at: t1)
                guard let after = try SQLiteStore.snapshot(db, host: id, hostname: hostname, at: t2) else { continue }
                let old = Dictionary((before?.facts ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                let new = Dictionary(after.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                let changes = Set(old.keys).union(new.keys).sorted().compactMap { name -> FactChange? in
                    old[name] == new[name] ? nil : FactChange(name: name, before: old[name], after: new[name])
                }
                if changes.isEmpty { continue }
                let labels = try labels(db, host: id)
                guard keep(after, labels) else { continue }
                page.hosts.append(ChangedHost(change: HostChange(hostname: hostname, kernelBefore: before?.kernelRelease,
                                                                 kernelAfter: after.kernelRelease, changes: changes),
                                              labels: labels))
            }
            return page
        }
    }
}
