import Foundation

/// A host that has not reported since a cutoff.
public struct StaleHost: Sendable, Hashable {
    public var hostname: String
    public var lastSeen: Date
    public var kernelRelease: String?
}

/// The dashboard's fleet-wide counts, each one statement over `hosts` (or `current_facts` by its name
/// index), so the overview costs a few scans of the hosts table whatever the history holds.
extension Registry {
    /// Current hosts per (vendor, first-level format); nil where the host has no such fact.
    public func vendorFormatCounts() throws -> [(vendor: String?, format: String?, hosts: Int)] {
        try budgetedRead { db in
            let sql = "SELECT cur_vendor, cur_first_level_format, count(*) FROM hosts GROUP BY 1, 2 ORDER BY 1, 2"
            return try db.rows(sql).map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Hosts last seen before `cutoff`, longest silent first (at most `limit`), and how many there are.
    public func staleHosts(seenBefore cutoff: Date, limit: Int) throws -> (total: Int, hosts: [StaleHost]) {
        let t = StoreTime.ms(cutoff)
        return try budgetedRead { db in
            let total = try db.value("SELECT count(*) FROM hosts WHERE last_seen < ?", [t], as: Int.self) ?? 0
            let sql = "SELECT hostname, last_seen, kernel_release FROM hosts WHERE last_seen < ? ORDER BY last_seen, hostname LIMIT ?"
            let hosts = try db.rows(sql, [t, max(0, limit)]).map {
                StaleHost(hostname: $0[0], lastSeen: StoreTime.date($0[1]), kernelRelease: $0[2])
            }
            return (total, hosts)
        }
    }

    /// Per current kernel release, how many hosts hold each of the bool facts `names` as true now.
    public func trueFactCountsByKernel(_ names: [String]) throws -> [String: [String: Int]] {
        guard !names.isEmpty else { return [:] }
        return try budgetedRead { db in
            let sql = """
                SELECT h.kernel_release, c.name, count(*) FROM current_facts c JOIN hosts h ON h.id = c.host_id
                WHERE c.name IN \(SQLPlaceholders.list(names.count)) AND c.type = 'bool' AND c.value_int = 1 AND h.kernel_release IS NOT NULL
                GROUP BY 1, 2
                """
            var out: [String: [String: Int]] = [:]
            for row in try db.rows(sql, (names)) {
                out[row[0] as String, default: [:]][row[1] as String] = row[2]
            }
            return out
        }
    }
}
