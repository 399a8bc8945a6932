import Decoders
import Foundation

/// One page of a fleet-wide answer, in hostname order.
public struct FleetPage<Item: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Item] = []
    /// Pass as `after` for the next page; nil when no host follows.
    public var nextAfter: String?
}

/// The fleet-wide as-of and change feed a page at a time (keyset cursor on hostname): a page costs a few
/// indexed lookups per host on it, not a walk over the whole fleet's history.
enum FleetPageSQL {
    static let hostsKnownAt = """
        SELECT id, hostname FROM hosts WHERE hostname > ? AND first_seen <= ? ORDER BY hostname LIMIT ?
        """

    /// Hosts whose state may differ between T1 and T2 (?2, ?3): a fact row of theirs opens or closes in
    /// (T1, T2] (read from facts_host_to alone), or the kernel in force differs. `names` (a fixed
    /// `IN (…)` of placeholders, from ?5 on) narrows the fact rows looked at; `kernel` false drops the
    /// kernel test. Both tests are exact supersets of a change; the caller diffs the two states.
    static func changedHosts(names: Int?, kernel: Bool) -> String {
        // No names: IN (NULL) matches nothing on both backends (PostgreSQL refuses an empty IN ()).
        let nameFilter = names.map { n in " AND name IN (\(n == 0 ? "NULL" : (0..<n).map { "?\($0 + 5)" }.joined(separator: ",")))" } ?? ""
        let counts = RetractionSQL.counts("reports")
        let kernelTest = kernel ? """
             OR (SELECT kernel_release FROM reports WHERE host_id = h.id AND collected_at <= ?2 AND \(counts)
                 ORDER BY collected_at DESC, id DESC LIMIT 1)
                IS DISTINCT FROM (SELECT kernel_release FROM reports WHERE host_id = h.id AND collected_at <= ?3 AND \(counts)
                 ORDER BY collected_at DESC, id DESC LIMIT 1)
            """ : ""
        return """
            SELECT h.id, h.hostname FROM hosts h
            WHERE h.hostname > ?1 AND h.first_seen <= ?3 AND h.last_seen > ?2
              AND (EXISTS (SELECT 1 FROM facts WHERE host_id = h.id AND valid_to > ?2
                           AND (valid_to <= ?3 OR (valid_from > ?2 AND valid_from <= ?3))\(nameFilter))\(kernelTest))
            ORDER BY h.hostname LIMIT ?4
            """
    }
}

extension Registry {
    /// Facts as they were at `time` for at most `limit` hosts after `after` (hosts not yet known then are
    /// skipped); `names` keeps only those facts.
    public func factsAsOfPage(_ time: Date, after: String? = nil, limit: Int, names: Set<String>? = nil) throws -> FleetPage<HostSnapshot> {
        let t = StoreTime.ms(time)
        return try budgetedRead { db in
            let rows = try db.rows(FleetPageSQL.hostsKnownAt, [after ?? "", t, max(0, limit) + 1])
            var page = FleetPage<HostSnapshot>()
            for row in rows.prefix(limit) {
                guard var snapshot = try Registry.snapshot(db, host: row[0], hostname: row[1], at: t) else { continue }
                if let names { snapshot.facts.removeAll { !names.contains($0.name) } }
                page.items.append(snapshot)
            }
            if rows.count > limit { page.nextAfter = page.items.last?.hostname ?? rows[limit - 1][1] }
            return page
        }
    }

    /// Net changes between `from` and `to` (facts, and the kernel in force) for at most `limit` changed
    /// hosts after `after`. `names` compares only those facts, and the kernel only when it holds "kernel".
    public func changesPage(from: Date, to: Date, after: String? = nil, limit: Int, names: Set<String>? = nil) throws -> FleetPage<HostChange> {
        try budgetedRead { db in
            try Registry.changesPage(db, t1: StoreTime.ms(from), t2: StoreTime.ms(to), after: after, limit: limit, names: names)
        }
    }

    static func changesPage(_ db: any SQLConnection, t1: Int64, t2: Int64, after: String?, limit: Int, names: Set<String>?) throws -> FleetPage<HostChange> {
        var page = FleetPage<HostChange>()
        guard t1 < t2, limit > 0 else { return page }
        let factNames = names.map { $0.subtracting(["kernel"]).sorted() }
        let kernel = names?.contains("kernel") ?? true
        let sql = FleetPageSQL.changedHosts(names: factNames?.count, kernel: kernel)
        var cursor = after ?? ""
        // Candidates may turn out unchanged (a value that went and came back): fetch until the page fills.
        while true {
            let batch = limit - page.items.count + 1
            let arguments = ([cursor, t1, t2, batch] as [any SQLBindable] + (factNames ?? []))
            let candidates = try db.rows(sql, arguments)
            for row in candidates {
                if page.items.count == limit {
                    page.nextAfter = cursor  // the last host examined
                    return page
                }
                let hostname: String = row[1]
                cursor = hostname
                if let change = try change(db, host: row[0], hostname: hostname, t1: t1, t2: t2, names: names, kernel: kernel) {
                    page.items.append(change)
                }
            }
            if candidates.count < batch { return page }
        }
    }

    /// The host's net change between T1 and T2, nil when nothing (compared) differs.
    static func change(_ db: any SQLConnection, host: Int64, hostname: String, t1: Int64, t2: Int64, names: Set<String>?,
                       kernel: Bool) throws -> HostChange? {
        let before = try snapshot(db, host: host, hostname: hostname, at: t1)
        let after = try snapshot(db, host: host, hostname: hostname, at: t2)
        func values(_ s: HostSnapshot?) -> [String: FactValue] {
            var out: [String: FactValue] = [:]
            for fact in s?.facts ?? [] where names?.contains(fact.name) ?? true && out[fact.name] == nil { out[fact.name] = fact.value }
            return out
        }
        let old = values(before), new = values(after)
        let changes = Set(old.keys).union(new.keys).sorted().compactMap { name -> FactChange? in
            old[name] == new[name] ? nil : FactChange(name: name, before: old[name], after: new[name])
        }
        let kernelChanged = kernel && before?.kernelRelease != after?.kernelRelease
        guard !changes.isEmpty || kernelChanged else { return nil }
        return HostChange(hostname: hostname, kernelBefore: before?.kernelRelease, kernelAfter: after?.kernelRelease, changes: changes)
    }
}
