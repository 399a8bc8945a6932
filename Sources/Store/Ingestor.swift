import Decoders
import Foundation
import JSONText
import Report

/// One report's write, inside the caller's transaction.
enum Ingestor {
    enum Item: Sendable {
        case ready(PreparedReport)
        case undecodable(Report, String)
        /// Refused by the one check (`Report.check`): answered before any lookup, since its identity may not
        /// even be looked up (SQLite text binding cuts at NUL: `a<NUL>b` would find report `a`).
        case refused(Report, String)

        var report: Report {
            switch self {
            case .ready(let p): return p.report
            case .undecodable(let r, _), .refused(let r, _): return r
            }
        }
    }

    /// `mayBeStored` false (the batch's id lookup found no such report) skips the per-report lookup.
    /// `writer` is recorded with the report (a duplicate keeps its first writer: nothing is written).
    static func ingest(_ db: any SQLConnection, _ item: Item, receivedAt: Int64, writer: Writer?, mayBeStored: Bool = true) throws -> IngestResult {
        let report = item.report
        if case .refused(_, let message) = item {
            return IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: .rejected, error: message)
        }
        if mayBeStored, let original = try storedOutcome(db, reportId: report.reportId) { return original }
        let p: PreparedReport
        switch item {
        case .ready(let prepared): p = prepared
        case .undecodable(_, let message), .refused(_, let message):
            return IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: .rejected, error: message)
        }
        let at = StoreTime.ms(report.collectedAt)
        // The host row with its labels' fingerprint (labels are rewritten only when they differ), and the label
        // set of its current report, which a report with the same labels points at without looking it up.
        let existing = try db.row("""
            SELECT h.id, h.last_seen, h.content_hash, h.label_print, h.machine_id, h.current_report_id, s.id, s.print,
                h.kernel_release, h.stale_since
            FROM hosts h LEFT JOIN reports r ON r.id = h.current_report_id LEFT JOIN label_sets s ON s.id = r.label_set_id
            WHERE h.hostname = ?
            """, [report.host.hostname])
        let knownLabelSet: Int64? = existing.flatMap { $0[7] as String? == p.labelPrint ? $0[6] as Int64? : nil }
        let host: Int64
        let placement: Placement
        var outcome: IngestOutcome
        var plan: StateWriter.Plan?
        let capabilities = p.capabilities
        var storedLabels: String? = ""  // a new host has none
        if let existing {
            host = existing[0]
            storedLabels = existing[3]
            let lastSeen: Int64 = existing[1]
            let currentHash: String? = existing[2]
            if at >= lastSeen {
                // The change stream held the host stale: this report or heartbeat may make it fresh.
                if existing[9] as Int64? != nil { try WatchEvents.freshen(db, host: host, lastSeen: at, receivedAt: receivedAt) }
                // A report from ahead of the registry's clock stays a row, which `capreg retract` can name.
                if currentHash == p.contentHash, at <= receivedAt, let current = existing[5] as Int64?,
                   try Heartbeats.repeats(db, current: current, existing, p, labels: storedLabels, writer: writer) {
                    return try Heartbeats.take(db, report: report, host: host, current: current, at: at, lastSeen: lastSeen, receivedAt: receivedAt)
                }
                placement = Placement(at: at, until: StoreTime.openEnd, next: nil, isNewest: true)
                outcome = currentHash == p.contentHash ? .unchanged : .changed
            } else {
                // A heartbeat after it, before any report, is where its span ends: that one is kept as a report.
                placement = try Heartbeats.placeLate(db, host: host, at: at, lastSeen: lastSeen, receivedAt: receivedAt)
                outcome = .history
            }
        } else {
            host = try db.insert("""
                INSERT INTO hosts (hostname, machine_id, first_seen, last_seen, last_received) VALUES (?, ?, ?, ?, ?)
                """, [report.host.hostname, report.host.machineId, at, at, receivedAt])
            placement = Placement(at: at, until: StoreTime.openEnd, next: nil, isNewest: true)
            outcome = .created
        }
        if outcome != .unchanged {
            plan = try StateWriter.plan(db, host: host, placement: placement, facts: p.facts, capabilities: capabilities, devices: p.devices,
                                        newHost: outcome == .created)
            if outcome == .history && plan!.isEmpty { outcome = .unchanged }
        }
        let written = plan?.written ?? StateWriter.Written()
        let reportRow = try insertReport(db, p, host: host, at: at, receivedAt: receivedAt, writer: writer, outcome: outcome, written: written,
                                         labelSet: knownLabelSet)
        var devices: [String] = []
        if let plan, !plan.isEmpty || outcome == .created { devices = try StateWriter.commit(db, plan, report: reportRow) }
        if let plan, placement.isNewest {
            try WatchEvents.record(db, host: host, kind: .changed, revision: reportRow, at: receivedAt,
                                   kernelBefore: existing?[8], kernelAfter: p.kernel.text,
                                   before: plan.previousOpenFacts, after: plan.desiredFacts, devices: devices)
        }
        try updateHost(db, p, host: host, at: at, receivedAt: receivedAt, report: reportRow, isNewest: placement.isNewest,
                       factsChanged: outcome == .created || outcome == .changed, storedLabels: storedLabels ?? "")
        if KernelMoveSummary.mayChange(newHost: existing == nil, isNewest: placement.isNewest, at: at, lastSeen: existing?[1],
                                       kernelBefore: existing?[8], kernelAfter: p.kernel.text) {
            try KernelMoveSummary.refresh(db, host: host)
        }
        return IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: outcome,
                            factsOpened: written.opened, factsClosed: written.closed, revision: reportRow)
    }

    /// Which of `ids` are stored: one query per 500 ids instead of one per report.
    static func storedAmong(_ db: any SQLConnection, _ ids: [String]) throws -> Set<String> {
        var found = Set<String>()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            let sql = "SELECT report_id FROM reports WHERE report_id IN \(SQLPlaceholders.list(chunk.count))"
            found.formUnion(try db.values(sql, (chunk), as: String.self))
        }
        return found
    }

    static func storedOutcome(_ db: any SQLConnection, reportId: String) throws -> IngestResult? {
        let sql = """
            SELECT r.outcome, r.facts_opened, r.facts_closed, h.hostname, r.id, NOT \(RetractionSQL.counts("r"))
            FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.report_id = ?
            """
        guard let row = try db.row(sql, [reportId]) else { return nil }
        let outcome = IngestOutcome(rawValue: row[0]) ?? .changed
        // A retracted report sent again stays retracted: the answer says so, and nothing is written.
        var result = IngestResult(reportId: reportId, hostname: row[3], outcome: outcome, duplicate: true,
                                  factsOpened: row[1], factsClosed: row[2], revision: row[4])
        result.retracted = row[5]
        return result
    }

    static func insertReport(_ db: any SQLConnection, _ p: PreparedReport, host: Int64, at: Int64, receivedAt: Int64, writer: Writer?,
                             outcome: IngestOutcome, written: StateWriter.Written, labelSet known: Int64? = nil) throws -> Int64 {
        let k = p.kernel
        // The report's row id is its revision's number (migrations/0004).
        let revision = try Registry.newRevision(db, .report, at: receivedAt)
        let labelSet = try known ?? labelSet(db, p.report.host.labels, print: p.labelPrint)
        var arguments: [any SQLBindable] = [revision, labelSet, p.report.reportId, host, at, receivedAt, k.text, k.major, k.minor, k.patch,
                                                      k.flavour, KernelKey.of(k), p.report.collectorVersion, p.sourceKinds, p.contentHash, p.payload,
                                                      SourceDecoder.decoderVersion, outcome.rawValue, written.opened, written.closed]
        // An unknown writer leaves written_by and peer at their default, NULL, so that statement is the one from
        // before migrations/0010 (tests build registries of older schemas through it).
        let writerColumns = writer == nil ? "" : ", written_by, peer"
        if let writer { arguments += [writer.identity, writer.peer] }
        try db.send("""
            INSERT INTO reports (id, label_set_id, report_id, host_id, collected_at, received_at, kernel_release, kernel_major, kernel_minor,
                kernel_patch, kernel_flavour, kernel_key, collector_version, source_kinds, content_hash, payload,
                decoder_version, outcome, facts_opened, facts_closed\(writerColumns))
            VALUES (\(Array(repeating: "?", count: arguments.count).joined(separator: ", ")))
            """, (arguments))
        return revision
    }

    static func updateHost(_ db: any SQLConnection, _ p: PreparedReport, host: Int64, at: Int64, receivedAt: Int64, report: Int64,
                           isNewest: Bool, factsChanged: Bool, storedLabels: String) throws {
        guard isNewest else {
            try db.send("UPDATE hosts SET first_seen = CASE WHEN first_seen < ? THEN first_seen ELSE ? END, last_received = ? WHERE id = ?",
                           [at, at, receivedAt, host])
            return
        }
        let current: [any SQLBindable] = [p.report.host.machineId, at, receivedAt, report, p.contentHash, p.kernel.text,
                                                    KernelKey.of(p.kernel)]
        // Changed labels: their print goes in the same statement, their rows after it.
        let labelsChanged = storedLabels != p.labelPrint
        let printColumn = labelsChanged ? ", label_print = ?" : ""
        let printValue: [any SQLBindable] = labelsChanged ? [p.labelPrint] : []
        if factsChanged {
            // One statement for the host's current columns and its key-fact projection.
            let key = StateWriter.keyFactValues(p.facts)
            try db.send("""
                UPDATE hosts SET machine_id = ?, last_seen = ?, last_received = ?, current_report_id = ?, content_hash = ?,
                    kernel_release = ?, kernel_key = ?\(printColumn), \(StateWriter.keyFactAssignments) WHERE id = ?
                """, (current + printValue + key + [host]))
        } else {
            try db.send("""
                UPDATE hosts SET machine_id = ?, last_seen = ?, last_received = ?, current_report_id = ?, content_hash = ?,
                    kernel_release = ?, kernel_key = ?\(printColumn) WHERE id = ?
                """, (current + printValue + [host]))
        }
        if labelsChanged { try replaceLabelRows(db, host: host, labels: p.report.host.labels, hadLabels: !storedLabels.isEmpty) }
    }

    /// The stored label set equal to `labels` (migrations/0007, `print` their LabelPrint), added on first sight.
    static func labelSet(_ db: any SQLConnection, _ labels: [String: String], print: String) throws -> Int64 {
        if let id = try db.value("SELECT id FROM label_sets WHERE print = ?", [print], as: Int64.self) {
            return id
        }
        let id = try db.insert("INSERT INTO label_sets (print) VALUES (?)", [print])
        try insertLabelRows(db, table: "label_set_entries", owner: "set_id", id: id, labels: labels)
        return id
    }

    /// The host's labels, print and rows (a retraction puts back those of the report now in force).
    static func writeLabels(_ db: any SQLConnection, host: Int64, of p: PreparedReport) throws {
        try db.send("UPDATE hosts SET label_print = ? WHERE id = ?", [p.labelPrint, host])
        try replaceLabelRows(db, host: host, labels: p.report.host.labels, hadLabels: true)
    }

    /// host_labels for `host`: its rows deleted (when it had any) and `labels` inserted in one statement.
    static func replaceLabelRows(_ db: any SQLConnection, host: Int64, labels: [String: String], hadLabels: Bool) throws {
        if hadLabels { try db.send("DELETE FROM host_labels WHERE host_id = ?", [host]) }
        try insertLabelRows(db, table: "host_labels", owner: "host_id", id: host, labels: labels)
    }

    /// `labels` as rows (`owner`, key, value) of `table`, in one statement.
    private static func insertLabelRows(_ db: any SQLConnection, table: String, owner: String, id: Int64, labels: [String: String]) throws {
        var rows = RowBatch(table: table, columns: [owner, "key", "value"])
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) { try rows.add(db, [id, key, value]) }
        try rows.flush(db)
    }
}

/// A host's labels as one string: `len:key len:value` per label in key order (UTF-8 bytes), lengths in
/// characters so that no text can fake a boundary. Equal strings mean equal labels (label_sets keys on it);
/// a spurious difference would only cost a rewrite, or a second set with the same entries. Each host's
/// current labels are kept so in `hosts.label_print` (migrations/0014, which computed it in SQL for the
/// hosts before it), read back by a page of hosts (`entries`).
enum LabelPrint {
    /// The labels a print holds, in its order; a malformed tail (not written by `of`) is left out.
    static func entries(_ print: String) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        var print = print
        print.withUTF8 { bytes in
            _ = walk(bytes) { key, value in
                out.append((String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                return true
            }
        }
        return out
    }

    /// The labels as a JSON object, straight from the print's bytes (no String a label): false, with
    /// nothing written, when a key is not ASCII (String order, which answers list labels in, may then
    /// differ from the print's byte order), keys are out of order, or the print is malformed.
    static func writeJSON(_ print: String, into out: inout JSONWriter) -> Bool {
        var print = print
        return print.withUTF8 { bytes in
            var previous: UnsafeBufferPointer<UInt8>?
            let plain = walk(bytes) { key, _ in
                defer { previous = key }
                return !key.contains { $0 >= 0x80 } && previous.map { $0.lexicographicallyPrecedes(key) } ?? true
            }
            guard plain else { return false }
            out.objectStart()
            _ = walk(bytes) { key, value in
                out.key(utf8: key)
                out.string(utf8: value)
                return true
            }
            out.objectEnd()
            return true
        }
    }

    /// Calls `body` with each label's key and value bytes, in order, while it returns true. Whether the
    /// whole print was well formed and walked. Read over the UTF-8 bytes, a scalar's length from its lead
    /// byte: through String's scalar view this was a tenth of a compact page's time.
    private static func walk(_ bytes: UnsafeBufferPointer<UInt8>,
                             _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var i = 0
        func field() -> UnsafeBufferPointer<UInt8>? {
            var count = 0, digits = 0
            while i < bytes.count, (0x30...0x39).contains(bytes[i]), digits < 9 {
                count = count * 10 + Int(bytes[i] - 0x30)
                i += 1
                digits += 1
            }
            guard digits > 0, i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            let start = i
            for _ in 0..<count {
                guard i < bytes.count else { return nil }
                let lead = bytes[i]
                i += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            }
            guard i <= bytes.count else { return nil }
            return UnsafeBufferPointer(rebasing: bytes[start..<i])
        }
        while i < bytes.count {
            guard let key = field(), let value = field(), body(key, value) else { return false }
        }
        return true
    }

    static func of(_ labels: [String: String]) -> String {
        var out = ""
        // host_labels orders keys with SQLite's BINARY collation: UTF-8 bytes.
        for (key, value) in labels.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            out += "\(key.unicodeScalars.count):\(key)\(value.unicodeScalars.count):\(value)"
        }
        return out
    }
}
