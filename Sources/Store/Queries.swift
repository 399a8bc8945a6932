import Decoders
import Foundation

/// The SQL of the main read queries, kept together so that StoreTests can EXPLAIN each one.
enum QuerySQL {
    static let hostByName = "SELECT id, hostname, machine_id, first_seen, last_seen, kernel_release FROM hosts WHERE hostname = ?"
    static let currentFactsOfHost = "SELECT name, type, value_int, value_text FROM current_facts WHERE host_id = ? ORDER BY name"
    /// "Which hosts have name = value now" (the API's predicates read this or the hosts key columns).
    static let currentHostsWithInt = "SELECT host_id FROM current_facts WHERE name = ? AND value_int = ?"
    static let nestingHosts = "SELECT id FROM hosts WHERE cur_nesting = 1 AND cur_pasid_bits >= ?"
    static let hostAsOf = """
        SELECT name, type, value_int, value_text FROM facts
        WHERE host_id = ? AND valid_to > ? AND valid_from <= ? ORDER BY name
        """
    /// `+valid_from` keeps the planner on facts_to_from: rows still valid after T are few for a recent
    /// T (open rows plus those closed since), while valid_from <= T matches almost all history.
    static let fleetAsOf = """
        SELECT host_id, name, type, value_int, value_text FROM facts
        WHERE valid_to > ? AND +valid_from <= ?
        """
    static let kernelAsOf = """
        SELECT kernel_release FROM reports WHERE host_id = ? AND collected_at <= ? AND \(RetractionSQL.counts("reports"))
        ORDER BY collected_at DESC, id DESC LIMIT 1
        """
    /// The same report (kernelAsOf's) with who wrote it: where a version of the history comes from.
    static let reportAsOf = """
        SELECT kernel_release, report_id, written_by, peer FROM reports WHERE host_id = ? AND collected_at <= ? AND \(RetractionSQL.counts("reports"))
        ORDER BY collected_at DESC, id DESC LIMIT 1
        """
    /// The labels of the same report (kernelAsOf's), from its label set (migrations/0007).
    static let labelsAsOf = """
        SELECT key, value FROM label_set_entries WHERE set_id = (
            SELECT label_set_id FROM reports WHERE host_id = ? AND collected_at <= ? AND \(RetractionSQL.counts("reports"))
            ORDER BY collected_at DESC, id DESC LIMIT 1)
        """
}

extension Registry {
    public func currentState(hostname: String) throws -> HostState? {
        try budgetedRead { db in try currentState(db, hostname: hostname)?.state }
    }

    /// The host's id and current state inside an open transaction; nil for an unknown host.
    func currentState(_ db: any SQLConnection, hostname: String) throws -> (id: Int64, state: HostState)? {
        guard StoreText.bindable(hostname), let host = try db.row(QuerySQL.hostByName, [hostname]) else { return nil }
        let id: Int64 = host[0]
        let facts = try db.rows(QuerySQL.currentFactsOfHost, [id]).map(Registry.fact)
        return (id, Registry.state(host, labels: try labels(db, host: id), facts: facts))
    }

    public func hosts() throws -> [HostState] {
        try budgetedRead { db in
            var facts: [Int64: [Fact]] = [:]
            for row in try db.rows("SELECT host_id, name, type, value_int, value_text FROM current_facts ORDER BY host_id, name") {
                facts[row[0], default: []].append(Fact(row[1], FactColumns.join(type: row[2], int: row[3], text: row[4])))
            }
            var labels: [Int64: [String: String]] = [:]
            for row in try db.rows("SELECT host_id, key, value FROM host_labels") {
                labels[row[0], default: [:]][row[1]] = row[2] as String
            }
            let sql = "SELECT id, hostname, machine_id, first_seen, last_seen, kernel_release FROM hosts ORDER BY hostname"
            return try db.rows(sql).map { host in
                let id: Int64 = host[0]
                return Registry.state(host, labels: labels[id] ?? [:], facts: facts[id] ?? [])
            }
        }
    }

    public func factsAsOf(_ time: Date, hostname: String? = nil) throws -> [HostSnapshot] {
        let t = StoreTime.ms(time)
        return try budgetedRead { db in
            if let hostname {
                guard StoreText.bindable(hostname), let host = try db.row(QuerySQL.hostByName, [hostname]) else { return [] }
                return try Registry.snapshot(db, host: host[0], hostname: hostname, at: t).map { [$0] } ?? []
            }
            var facts: [Int64: [Fact]] = [:]
            for row in try db.rows(QuerySQL.fleetAsOf, [t, t]) {
                facts[row[0], default: []].append(Fact(row[1], FactColumns.join(type: row[2], int: row[3], text: row[4])))
            }
            var out: [HostSnapshot] = []
            for row in try db.rows("SELECT id, hostname FROM hosts WHERE first_seen <= ? ORDER BY hostname", [t]) {
                let id: Int64 = row[0]
                let kernel = try db.value(QuerySQL.kernelAsOf, [id, t], as: String.self)
                out.append(HostSnapshot(hostname: row[1], kernelRelease: kernel, facts: (facts[id] ?? []).sorted { $0.name < $1.name }))
            }
            return out
        }
    }

    /// Every changed host, a kernel upgrade that changed no fact included: the pages of `changesPage`
    /// read in one transaction.
    public func changes(from: Date, to: Date) throws -> [HostChange] {
        let t1 = StoreTime.ms(from), t2 = StoreTime.ms(to)
        return try budgetedRead { db in
            var out: [HostChange] = []
            var after: String?
            repeat {
                let page = try Registry.changesPage(db, t1: t1, t2: t2, after: after, limit: 1000, names: nil)
                out += page.items
                after = page.nextAfter
            } while after != nil
            return out
        }
    }

    /// The labels that the host's report in force at `t` (ms) gave (migrations/0007).
    func labels(_ db: any SQLConnection, host: Int64, at t: Int64) throws -> [String: String] {
        var labels: [String: String] = [:]
        for row in try db.rows(QuerySQL.labelsAsOf, [host, t]) {
            labels[row[0]] = row[1] as String
        }
        return labels
    }

    func labels(_ db: any SQLConnection, host: Int64) throws -> [String: String] {
        var labels: [String: String] = [:]
        for row in try db.rows("SELECT key, value FROM host_labels WHERE host_id = ?", [host]) {
            labels[row[0]] = row[1] as String
        }
        return labels
    }

    static func snapshot(_ db: any SQLConnection, host: Int64, hostname: String, at t: Int64) throws -> HostSnapshot? {
        guard let kernel = try db.value(QuerySQL.kernelAsOf, [host, t], as: String.self) else {
            return nil  // no report yet at that time
        }
        let facts = try db.rows(QuerySQL.hostAsOf, [host, t, t]).map(fact)
        return HostSnapshot(hostname: hostname, kernelRelease: kernel, facts: facts)
    }

    static func fact(_ row: SQLRow) -> Fact {
        Fact(row[0], FactColumns.join(type: row[1], int: row[2], text: row[3]))
    }

    static func state(_ host: SQLRow, labels: [String: String], facts: [Fact]) -> HostState {
        HostState(hostname: host[1], machineId: host[2], labels: labels, firstSeen: StoreTime.date(host[3]),
                  lastSeen: StoreTime.date(host[4]), kernelRelease: host[5], facts: facts)
    }
}
