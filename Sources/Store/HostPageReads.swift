import Decoders

/// A query page's kernels, report times, facts and labels: one statement each for the whole page (not
/// one per host), read with ColumnReader. Whole current hosts take their facts from host_facts_json.
/// The id lists are padded to a power of two (repeating the last id) so that each statement has few
/// shapes to prepare and cache, whatever the page size.
enum HostPageReads {
    typealias PageRow = (id: Int64, hostname: String)

    static func hosts(_ db: any SQLConnection, _ page: [PageRow], mode: HostQuerySQL.Mode, fields: Set<String>?) throws -> [QueriedHost] {
        guard !page.isEmpty else { return [] }
        let ids = padded(page.map(\.id))
        let idList = (ids)

        // Now, without fields=: each host's encoded current facts come with its kernel (host_facts_json).
        let whole = mode == .now && fields == nil
        var reports: [Int64: (kernel: String?, at: Int64, facts: String?)] = [:]
        var labelSets: [Int64: Int64] = [:]
        reports.reserveCapacity(page.count)
        switch mode {
        case .now:
            try db.forEachRow(reportsNow(ids.count, withFacts: whole), idList) { r in
                reports[r.int64(0)] = (r.optionalText(1), r.int64(2), whole ? r.text(3) : nil)
            }
        case .asOf(let bound), .revision(let bound):
            let byRevision = if case .revision = mode { true } else { false }
            try db.forEachRow(reportsInForce(ids.count, byRevision: byRevision), (byRevision ? [bound, bound] : [bound, bound, bound]) + idList) { r in
                // As of T the host was last seen at the newer of its report in force and its newest heartbeat then.
                reports[r.int64(0)] = (r.optionalText(1), max(r.int64(2), r.optionalInt64(4) ?? .min), nil)
                if let set = r.optionalInt64(3) { labelSets[r.int64(0)] = set }
            }
        }

        var labels: [Int64: [String: String]] = [:]
        if mode == .now {
            try db.forEachRow(labelsOf(ids.count), idList) { r in
                labels[r.int64(0), default: [:]][r.text(1)] = r.text(2)
            }
        } else if !labelSets.isEmpty {
            // The labels each host's report in force gave (migrations/0007).
            let sets = padded(Array(Set(labelSets.values)).sorted())
            var entries: [Int64: [String: String]] = [:]
            try db.forEachRow(labelSetEntries(sets.count), (sets)) { r in
                entries[r.int64(0), default: [:]][r.text(1)] = r.text(2)
            }
            for (host, set) in labelSets { labels[host] = entries[set] ?? [:] }
        }

        let names = fields.map { padded($0.sorted()) }
        var facts: [Int64: [Fact]] = [:]
        facts.reserveCapacity(page.count)
        // fields= naming no facts (only hostname, kernel or labels) reads none.
        if !whole && names?.isEmpty != true {
            if mode == .now {
                try db.forEachRow(factsOf(ids.count, from: .current, names: names?.count), idList + (names ?? [])) { r in
                    facts[r.int64(0), default: []].append(Fact(r.text(1), value(r)))
                }
            } else {
                // Each host's facts at its own state time (the report in force read above); at a revision,
                // from the copy a later redecode saved, if one did (HostQuerySQL.factExists).
                var saved: [Int64: Int64] = [:]
                if case .revision(let n) = mode {
                    try db.forEachRow(savedFactsOf(ids.count), [n] + idList) { r in
                        saved[r.int64(0)] = r.int64(1)
                    }
                }
                let sql = factsOf(1, from: .intervals, names: names?.count)
                let savedSQL = factsOf(1, from: .saved, names: names?.count)
                for (id, report) in reports {
                    let arguments: [any SQLBindable] = [id, report.at, report.at] + (names ?? [])
                    try db.forEachRow(saved[id] == nil ? sql : savedSQL, saved[id].map { [$0] + arguments } ?? arguments) { r in
                        facts[r.int64(0), default: []].append(Fact(r.text(1), value(r)))
                    }
                }
            }
        }

        return page.map { row in
            let report = reports[row.id]
            return QueriedHost(hostname: row.hostname, kernelRelease: report?.kernel, reportedAt: StoreTime.date(report?.at ?? 0),
                               labels: labels[row.id] ?? [:], facts: report?.facts.map(QueriedFacts.json) ?? .list(facts[row.id] ?? []))
        }
    }

    /// Columns 2…4 (type, value_int, value_text) as a FactValue, as FactColumns.join reads them.
    private static func value(_ r: any SQLColumns) -> FactValue {
        if r.textEquals(2, "bool") { return .bool(r.int64(3) != 0) }
        if r.textEquals(2, "int") { return .int(r.int64(3)) }
        return .text(r.text(4))
    }

    /// `values` grown to the next power of two by repeating its last element (IN ignores repeats).
    static func padded<T>(_ values: [T]) -> [T] {
        guard let last = values.last else { return values }
        var size = 1
        while size < values.count { size <<= 1 }
        return values + Array(repeating: last, count: size - values.count)
    }

    static func list(_ n: Int) -> String { "(" + Array(repeating: "?", count: n).joined(separator: ",") + ")" }

    static func reportsNow(_ n: Int, withFacts: Bool) -> String {
        withFacts
            ? "SELECT h.id, h.kernel_release, h.last_seen, coalesce(j.facts, '{}') FROM hosts h LEFT JOIN host_facts_json j ON j.host_id = h.id WHERE h.id IN \(list(n))"
            : "SELECT id, kernel_release, last_seen FROM hosts WHERE id IN \(list(n))"
    }

    /// The report in force for each host: the newest collected at or before T, or the newest among
    /// report rows 1…N (a revision); retracted reports left out (at a revision, those retracted by then: N is bound twice).
    /// As of T (bound three times) also the host's newest heartbeat then; heartbeats make no revision.
    static func reportsInForce(_ n: Int, byRevision: Bool) -> String {
        let beat = byRevision ? "NULL" : """
            (SELECT capreg_last_beat(b.first_at, b.times, ?) FROM heartbeats b WHERE b.host_id = h.id AND b.first_at <= ?
             ORDER BY b.first_at DESC LIMIT 1)
            """
        return """
        SELECT h.id, r.kernel_release, r.collected_at, r.label_set_id, \(beat) FROM hosts h JOIN reports r ON r.id = (
            SELECT r2.id FROM reports r2 WHERE r2.host_id = h.id AND \(byRevision ? "r2.id" : "r2.collected_at") <= ?
                AND \(byRevision ? RetractionSQL.counts("r2", atRevision: "?") : RetractionSQL.counts("r2"))
            ORDER BY r2.collected_at DESC, r2.id DESC LIMIT 1)
        WHERE h.id IN \(list(n))
        """
    }

    static func labelsOf(_ n: Int) -> String { "SELECT host_id, key, value FROM host_labels WHERE host_id IN \(list(n))" }

    static func labelSetEntries(_ n: Int) -> String { "SELECT set_id, key, value FROM label_set_entries WHERE set_id IN \(list(n))" }

    /// For each host rewritten by a redecode after revision N, the earliest such redecode: its saved rows
    /// are the facts as revision N knew them.
    static func savedFactsOf(_ n: Int) -> String {
        "SELECT host_id, min(revision) FROM facts_superseded WHERE revision > ? AND host_id IN \(list(n)) GROUP BY host_id"
    }

    /// Where a page's fact rows come from: the current table, the intervals (valid at T), or the rows a
    /// redecode saved (valid at T, of one redecode revision: the first argument).
    enum FactRows {
        case current, intervals, saved
    }

    /// Facts of the page's hosts, by host then name, from `rows`.
    static func factsOf(_ n: Int, from rows: FactRows, names: Int?) -> String {
        let columns = "SELECT host_id, name, type, value_int, value_text"
        var sql = switch rows {
        case .current: "\(columns) FROM current_facts WHERE host_id IN \(list(n))"
        case .intervals: "\(columns) FROM facts WHERE host_id IN \(list(n)) AND valid_to > ? AND valid_from <= ?"
        case .saved: "\(columns) FROM facts_superseded WHERE revision = ? AND host_id IN \(list(n)) AND valid_to > ? AND valid_from <= ?"
        }
        if let names { sql += " AND name IN \(list(names))" }
        return sql + " ORDER BY host_id, name"
    }
}
