import Foundation
import Report

/// Ingest's side of heartbeats (migrations/sqlite/0012_heartbeats.sql).
extension Heartbeats {
    /// Whether a report repeats the host's current report in all a reports row records besides its id and
    /// times: labels, machine-id, collector version and writer (the caller has compared the content hash).
    /// `host` is Ingestor's host row: id, last_seen, content_hash, label print, machine_id, current_report_id.
    static func repeats(_ db: any SQLConnection, current: Int64, _ host: SQLRow, _ prepared: PreparedReport, labels storedLabels: String?,
                        writer: Writer?) throws -> Bool {
        let report = prepared.report
        guard storedLabels == prepared.labelPrint, host[4] as String? == report.host.machineId,
              let row = try db.row("SELECT collector_version, written_by, peer FROM reports WHERE id = ?", [current]) else { return false }
        return row[0] as String == report.collectorVersion && row[1] as String? == writer?.identity && row[2] as String? == writer?.peer
    }

    /// An unchanged report kept as a heartbeat: its time in the host's heartbeat rows and hosts.last_seen;
    /// no revision, no reports row. One at the host's last_seen moves nothing and writes nothing.
    static func take(_ db: any SQLConnection, report: Report, host: Int64, current: Int64, at: Int64, lastSeen: Int64,
                     receivedAt: Int64) throws -> IngestResult {
        if at > lastSeen {
            try record(db, host: host, report: current, at: at)
            try db.send("UPDATE hosts SET last_seen = ?, last_received = ? WHERE id = ?", [at, receivedAt, host])
        }
        var result = IngestResult(reportId: report.reportId, hostname: report.host.hostname, outcome: .unchanged,
                                  revision: try Registry.revision(db))
        result.heartbeat = true
        return result
    }

    /// Where a late report at `at` lands. When the host's next event after it is a heartbeat (no report
    /// comes first), that heartbeat is where the late report's span ends and the state it confirms
    /// resumes, so it becomes a reports row (`keepAsReport`), the next one: every boundary of the history
    /// is a report.
    static func placeLate(_ db: any SQLConnection, host: Int64, at: Int64, lastSeen: Int64, receivedAt: Int64) throws -> Placement {
        let next = try Placement.of(db, host: host, at: at, receivedAfter: nil)
        // A report at the heartbeat's own time was received after it, and shadows it.
        guard let beat = try first(db, host: host, after: at), next.isNewest || beat.at < next.until else { return next }
        let kept = try keepAsReport(db, host: host, beat: beat, lastSeen: lastSeen, receivedAt: receivedAt)
        return Placement(at: at, until: beat.at, next: kept, isNewest: false)
    }

    /// A heartbeat stored as a reports row too: the payload and columns of the report
    /// it confirms, its own time, outcome `heartbeat`, `confirms` naming the first report of that content
    /// (so a retraction of that report withdraws it too). It takes a revision like any report row (the
    /// row's id is its revision); its report_id is made up, and starts with U+001F, which no report sent
    /// to the registry may contain, so it can never be taken for one.
    /// Returns the new row's id.
    static func keepAsReport(_ db: any SQLConnection, host: Int64, beat: (at: Int64, report: Int64), lastSeen: Int64,
                             receivedAt: Int64) throws -> Int64 {
        let revision = try Registry.newRevision(db, .report, at: receivedAt)
        try db.send("""
            INSERT INTO reports (id, report_id, label_set_id, host_id, collected_at, received_at, kernel_release, kernel_major,
                kernel_minor, kernel_patch, kernel_flavour, kernel_key, collector_version, source_kinds, content_hash, payload,
                decoder_version, outcome, facts_opened, facts_closed, written_by, peer, confirms)
            SELECT ?, ?, label_set_id, host_id, ?, ?, kernel_release, kernel_major, kernel_minor, kernel_patch, kernel_flavour,
                kernel_key, collector_version, source_kinds, content_hash, payload, decoder_version, 'heartbeat', 0, 0, written_by,
                peer, coalesce(confirms, id)
            FROM reports WHERE id = ?
            """, [revision, madeUpReportId(revision), beat.at, receivedAt, beat.report])
        if beat.at == lastSeen {
            try db.send("UPDATE hosts SET current_report_id = ? WHERE id = ?", [revision, host])
        }
        return revision
    }

    /// The report_id of a heartbeat kept as a report (see `keepAsReport`).
    static func madeUpReportId(_ revision: Int64) -> String { "\u{1F}heartbeat-\(revision)" }
}
