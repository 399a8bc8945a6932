import Decoders
import Foundation
import Report

public struct RedecodeSummary: Sendable, Hashable {
    /// Reports read again.
    public var reports = 0
    /// Reports whose decoded output changed history (new fact or capability versions).
    public var changed = 0
    /// Reports today's decoders cannot read (left at their old decoder version).
    public var failed: [String] = []
    /// The revisions the run wrote (one per batch), nil when it had nothing to do.
    public var revisions: ClosedRange<Int64>?
}

extension Registry {
    /// Reports not yet read by today's decoders (all reports with `all`).
    public func redecodeBacklog(all: Bool = false) throws -> Int {
        try database.read { db in
            try db.value("SELECT count(*) FROM reports WHERE decoder_version < ?", [all ? Int.max : SourceDecoder.decoderVersion], as: Int.self) ?? 0
        }
    }

    /// Decodes every stored report again with today's decoders and splices the result at the report's
    /// own place in its host's history: only changed output opens new versions. Each batch commits on
    /// its own and marks its reports with the decoder version, so an interrupted run loses only the
    /// batch in flight and a re-run continues (with `all`, it starts over, which changes nothing twice).
    public func redecode(all: Bool = false, batchSize: Int = 200, progress: (Int) -> Void = { _ in }) throws -> RedecodeSummary {
        let below = all ? Int.max : SourceDecoder.decoderVersion
        var summary = RedecodeSummary()
        var lastId: Int64 = 0
        while true {
            let rows = try database.read { db in
                try db.rows("""
                    SELECT id, host_id, collected_at, payload, NOT \(RetractionSQL.counts("reports")) FROM reports
                    WHERE id > ? AND decoder_version < ? ORDER BY id LIMIT ?
                    """, [lastId, below, batchSize])
            }
            guard let last = rows.last else { break }
            lastId = last[0]
            let decoded: [(Int64, Int64, Int64, Bool, Result<PreparedReport, RedecodeFailure>)] = rows.map { row in
                let payload: String = row[3]
                return (row[0], row[1], row[2], row[4], Result { () throws(RedecodeFailure) in try Registry.decodeStored(payload) })
            }
            summary.changed += try database.write { db in
                // The batch is one revision: it rewrites decoded bytes and decoder versions, maybe facts.
                let revision = try Registry.newRevision(db, .redecode, at: StoreTime.ms(Date()))
                summary.revisions = (summary.revisions?.lowerBound ?? revision)...revision
                var saved = Set<Int64>()
                var changed = 0
                for (id, host, at, retracted, result) in decoded {
                    switch result {
                    case .success(let p):
                        if try Registry.redecodeOne(db, report: id, host: host, at: at, p, retracted: retracted, revision: revision,
                                                       saved: &saved) { changed += 1 }
                    case .failure(let f): summary.failed.append("report row \(id): \(f.message)")
                    }
                }
                // Every host whose history changed: its kernel moves may have changed with it.
                for host in saved.sorted() { try KernelMoveSummary.refresh(db, host: host) }
                return changed
            }
            summary.reports += rows.count
            progress(summary.reports)
        }
        return summary
    }

    struct RedecodeFailure: Error { var message: String }

    static func decodeStored(_ payload: String) throws(RedecodeFailure) -> PreparedReport {
        let report: Report
        // The one report decoder, with the checks every write path makes today: a report stored before a
        // check existed (a hostname of localhost, say) is listed as failed, and its history stays as it is.
        // No clock bound: it is about the moment of arrival, and this report arrived and was taken before.
        do { report = try Report.decode(json: Data(payload.utf8), clock: nil) } catch {
            throw RedecodeFailure(message: "stored payload is not a report the registry takes today: \(error)")
        }
        do { return try PreparedReport(report) } catch { throw RedecodeFailure(message: error.description) }
    }

    /// Copies the host's fact rows, as they stand, into facts_superseded under `revision`: the revision
    /// that is about to rewrite them (a redecode, a retraction). Answers at earlier revisions read the copy.
    static func saveFacts(_ db: any SQLConnection, host: Int64, before revision: Int64) throws {
        try db.execute("""
            INSERT INTO facts_superseded (revision, host_id, name, type, value_int, value_text, valid_from, valid_to)
            SELECT ?, host_id, name, type, value_int, value_text, valid_from, valid_to FROM facts WHERE host_id = ?
            """, [revision, host])
    }

    /// Returns true when history changed. Before the first change to a host's facts in this revision,
    /// its fact rows are saved (facts_superseded), so answers at earlier revisions still read them.
    static func redecodeOne(_ db: any SQLConnection, report: Int64, host: Int64, at: Int64, _ p: PreparedReport, retracted: Bool,
                            revision: Int64, saved: inout Set<Int64>) throws -> Bool {
        let placement = try Placement.of(db, host: host, at: at, receivedAfter: report)
        var changed = false
        // A later-received report of the same time shadows this one: nothing of it is in force. A retracted
        // report holds no span at all: only its decoder version moves.
        if placement.until > placement.at && !retracted {
            let capabilities = p.capabilities
            let plan = try StateWriter.plan(db, host: host, placement: placement, report: report, facts: p.facts, capabilities: capabilities, devices: p.devices)
            changed = !plan.isEmpty
            if changed && saved.insert(host).inserted { try saveFacts(db, host: host, before: revision) }
            let devices = try StateWriter.commit(db, plan, report: report)
            for c in capabilities {
                try db.execute("""
                    UPDATE capability_versions SET decoded = ?, decoder_version = ?
                    WHERE host_id = ? AND valid_to > ? AND valid_from <= ? AND unit = ? AND capability = ?
                    """, [c.decoded, c.decoderVersion, host, at, at, c.unit, c.capability])
            }
            if placement.isNewest {
                let kernel = try db.value("SELECT kernel_release FROM hosts WHERE id = ?", [host], as: String.self)
                try WatchEvents.record(db, host: host, kind: .changed, revision: revision, at: StoreTime.ms(Date()),
                                       kernelBefore: kernel, kernelAfter: kernel, before: plan.previousOpenFacts, after: plan.desiredFacts,
                                       devices: devices)
                try db.execute("UPDATE hosts SET content_hash = ? WHERE id = ?", [p.contentHash, host])
                try StateWriter.updateKeyFacts(db, host: host, facts: p.facts)
            }
        }
        try db.execute("UPDATE reports SET decoder_version = ?, content_hash = ? WHERE id = ?", [SourceDecoder.decoderVersion, p.contentHash, report])
        return changed
    }
}
