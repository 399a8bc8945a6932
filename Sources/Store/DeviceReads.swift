import Decoders
import Report

extension Registry {
    /// Most hosts one device read names (an IN list per statement).
    static let devicesPerStatement = 500

    /// The current devices of the named hosts (those with none are left out), each sorted by address, its
    /// facts by name.
    static func currentDevices(_ db: any SQLConnection, hostnames: [String]) throws -> [String: [DeviceFacts]] {
        var out: [String: [DeviceFacts]] = [:]
        for start in stride(from: 0, to: hostnames.count, by: devicesPerStatement) {
            let chunk = Array(hostnames[start..<min(start + devicesPerStatement, hostnames.count)])
            let sql = """
                SELECT h.hostname, d.bdf, d.name, d.type, d.value_int, d.value_text
                FROM current_device_facts d JOIN hosts h ON h.id = d.host_id
                WHERE h.hostname IN \(SQLPlaceholders.list(chunk.count)) ORDER BY h.hostname, d.bdf, d.name
                """
            try db.forEachRow(sql, chunk) { r in
                let host = r.text(0)
                let bdf = r.text(1)
                let fact = Fact(r.text(2), FactColumns.join(type: r.text(3), int: r.optionalInt64(4), text: r.optionalText(5)))
                if out[host]?.last?.bdf == bdf {
                    out[host]![out[host]!.count - 1].facts.append(fact)
                } else {
                    out[host, default: []].append(DeviceFacts(bdf: bdf, facts: [fact]))
                }
            }
        }
        return out
    }

    /// The page with each host's current devices and current revision read in (the same transaction).
    static func withDevices(_ db: any SQLConnection, _ page: HostPage) throws -> HostPage {
        var page = page
        let names = page.hosts.map(\.hostname)
        let devices = try currentDevices(db, hostnames: names)
        var revisions: [String: Int64] = [:]
        for start in stride(from: 0, to: names.count, by: devicesPerStatement) {
            let chunk = Array(names[start..<min(start + devicesPerStatement, names.count)])
            try db.forEachRow("SELECT hostname, current_report_id FROM hosts WHERE hostname IN \(SQLPlaceholders.list(chunk.count))", chunk) { r in
                revisions[r.text(0)] = r.optionalInt64(1)
            }
        }
        for i in page.hosts.indices {
            page.hosts[i].devices = devices[page.hosts[i].hostname] ?? []
            page.hosts[i].currentRevision = revisions[page.hosts[i].hostname]
        }
        return page
    }

    /// One host's current devices (empty when it has none or is unknown).
    public func currentDevices(hostname: String) throws -> [DeviceFacts] {
        try budgetedRead { db in try Registry.currentDevices(db, hostnames: [hostname])[hostname] ?? [] }
    }
}
