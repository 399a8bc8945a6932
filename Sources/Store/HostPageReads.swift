import Decoders

/// A query page's kernels, report times, facts and labels: one statement each for the whole page (not
/// one per host), read with ColumnReader. Now, the page statement itself carries each host's kernel,
/// state time, labels (`hosts.label_print`) and key facts (the `hosts.cur_*` columns), and for whole hosts
/// the encoded current facts (host_facts_json): a page of whole hosts, or of key facts only, is that one
/// statement.
/// The id lists are padded to a power of two (repeating the last id) so that each statement has few
/// shapes to prepare and cache, whatever the page size.
enum HostPageReads {
    /// One row of the page statement: `h.id, h.hostname`, and now the columns of `NowColumns`.
    struct PageRow {
        var id: Int64
        var hostname: String
        /// Now: what the page statement read beside the id (nil as of a time or a revision).
        var now: NowRow?
    }

    struct NowRow {
        var kernel: String?
        var at: Int64
        /// The host's labels: its `hosts.label_print`, read when asked for (QueriedLabels).
        var labelPrint: String
        /// The stored object (whole hosts), or the named key facts read from the row (sorted by name).
        var facts: QueriedFacts
    }

    /// What a page statement now selects beside `h.id, h.hostname`, and how its rows are read: the kernel,
    /// state time and labels, then either the encoded current facts (whole hosts) or the key facts `fields` names
    /// (their `hosts.cur_*` columns, typed as the vocabulary types them; ingest writes them with
    /// current_facts in one transaction, StateWriter.updateKeyFacts). Other named facts are read from
    /// current_facts after the page (`others`).
    struct NowColumns {
        /// Extra columns for HostQuerySQL.select.
        var columns: [String]
        var whole: Bool
        /// Key facts read from the row, in column order (sorted by name).
        var keys: [(name: String, type: FactType)] = []
        /// Named facts that are not key facts, sorted (nil: every fact, from the stored object).
        var others: [String]?

        init(fields: Set<String>?) {
            columns = ["h.kernel_release", "h.last_seen", "h.label_print"]
            guard let fields else {
                whole = true
                // A scalar subquery in the select list runs for the rows returned only (the page, not the walk).
                columns.append("(SELECT j.facts FROM host_facts_json j WHERE j.host_id = h.id)")
                return
            }
            whole = false
            var others: [String] = []
            for name in fields.sorted(by: DecodedJSON.utf8Precedes) {
                if let column = HostQuerySQL.keyColumns[name], let type = Vocabulary.entry(name)?.type {
                    keys.append((name, type))
                    columns.append("h." + column)
                } else {
                    others.append(name)
                }
            }
            self.others = others
        }

        func read(_ r: any SQLColumns) -> NowRow {
            let facts: QueriedFacts
            if whole {
                facts = .json(r.isNull(5) ? "{}" : r.text(5))
            } else {
                var list: [Fact] = []
                for (i, key) in keys.enumerated() {
                    let column = Int32(5 + i)
                    if r.isNull(column) { continue }
                    switch key.type {
                    case .bool: list.append(Fact(key.name, .bool(r.int64(column) != 0)))
                    case .int: list.append(Fact(key.name, .int(r.int64(column))))
                    case .text: list.append(Fact(key.name, .text(r.text(column))))
                    }
                }
                facts = .list(list)
            }
            return NowRow(kernel: r.optionalText(2), at: r.int64(3), labelPrint: r.text(4), facts: facts)
        }
    }

    /// The page's hosts in page order. Now, `page` must have been read with `now.columns` (Registry.page).
    static func hosts(_ db: any SQLConnection, _ page: [PageRow], mode: HostQuerySQL.Mode, fields: Set<String>?,
                      now: NowColumns? = nil) throws -> [QueriedHost] {
        guard !page.isEmpty else { return [] }
        let ids = padded(page.map { $0.id })  // a closure, not a key path: a key path is built at run time on each call
        let idList = ids

        let bound: Int64, byRevision: Bool
        switch mode {
        case .now: return try hostsNow(db, page, idList, now ?? NowColumns(fields: fields))
        case .asOf(let t): (bound, byRevision) = (t, false)
        case .revision(let n): (bound, byRevision) = (n, true)
        }

        var reports: [Int64: (kernel: String?, at: Int64)] = [:]
        var labelSets: [Int64: Int64] = [:]
        reports.reserveCapacity(page.count)
        try db.forEachRow(reportsInForce(ids.count, byRevision: byRevision), (byRevision ? [bound, bound] : [bound, bound, bound]) + idList) { r in
            // As of T the host was last seen at the newer of its report in force and its newest heartbeat then.
            reports[r.int64(0)] = (r.optionalText(1), max(r.int64(2), r.optionalInt64(4) ?? .min))
            if let set = r.optionalInt64(3) { labelSets[r.int64(0)] = set }
        }

        var labels: [Int64: [String: String]] = [:]
        if !labelSets.isEmpty {
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
        if names?.isEmpty != true {
            // Each host's facts at its own state time (the report in force read above); at a revision,
            // from the copy a later redecode saved, if one did (HostQuerySQL.factExists).
            var saved: [Int64: Int64] = [:]
            if byRevision {
                try db.forEachRow(savedFactsOf(ids.count), [bound] + idList) { r in
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

        return page.map { row in
            let report = reports[row.id]
            return QueriedHost(hostname: row.hostname, kernelRelease: report?.kernel, reportedAt: StoreTime.date(report?.at ?? 0),
                               labels: labels[row.id] ?? [:], facts: .list(facts[row.id] ?? []))
        }
    }


    /// A page now: kernels, state times, labels and key facts came with the page statement; the named facts
    /// that are not key facts, one statement.
    private static func hostsNow(_ db: any SQLConnection, _ page: [PageRow], _ idList: [Int64], _ now: NowColumns) throws -> [QueriedHost] {
        var others: [[Fact]]?
        if let names = now.others, !names.isEmpty {
            var position: [Int64: Int] = [:]
            position.reserveCapacity(page.count)
            for (i, row) in page.enumerated() { position[row.id] = i }
            var found = [[Fact]](repeating: [], count: page.count)
            let padNames = padded(names)
            try db.forEachRow(factsOf(idList.count, from: .current, names: padNames.count), idList + padNames) { r in
                if let i = position[r.int64(0)] { found[i].append(Fact(r.text(1), value(r))) }
            }
            others = found
        }
        return page.enumerated().map { i, row in
            let read = row.now ?? NowRow(kernel: nil, at: 0, labelPrint: "", facts: .list([]))
            var facts = read.facts
            if let more = others?[i], !more.isEmpty {
                // Key facts and the others, each sorted by name: merged in byte order, as current_facts sorts them.
                if case .list(let keyFacts) = facts, !keyFacts.isEmpty {
                    facts = .list((keyFacts + more).sorted { DecodedJSON.utf8Precedes($0.name, $1.name) })
                } else {
                    facts = .list(more)
                }
            }
            return QueriedHost(hostname: row.hostname, kernelRelease: read.kernel, reportedAt: StoreTime.date(read.at),
                               labels: .print(read.labelPrint), facts: facts)
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
        WHERE h.id IN \(SQLPlaceholders.list(n))
        """
    }

    static func labelSetEntries(_ n: Int) -> String { "SELECT set_id, key, value FROM label_set_entries WHERE set_id IN \(SQLPlaceholders.list(n))" }

    /// For each host rewritten by a redecode after revision N, the earliest such redecode: its saved rows
    /// are the facts as revision N knew them.
    static func savedFactsOf(_ n: Int) -> String {
        "SELECT host_id, min(revision) FROM facts_superseded WHERE revision > ? AND host_id IN \(SQLPlaceholders.list(n)) GROUP BY host_id"
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
        case .current: "\(columns) FROM current_facts WHERE host_id IN \(SQLPlaceholders.list(n))"
        case .intervals: "\(columns) FROM facts WHERE host_id IN \(SQLPlaceholders.list(n)) AND valid_to > ? AND valid_from <= ?"
        case .saved: "\(columns) FROM facts_superseded WHERE revision = ? AND host_id IN \(SQLPlaceholders.list(n)) AND valid_to > ? AND valid_from <= ?"
        }
        if let names { sql += " AND name IN \(SQLPlaceholders.list(names))" }
        return sql + " ORDER BY host_id, name"
    }
}
