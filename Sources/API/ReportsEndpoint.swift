import Decoders
import Foundation
import Report
import Server
import Store

/// POST /v1/reports: a collector's push, one report or an array. All or nothing per request: the store
/// decodes every source (once) before anything is written, so an undecodable one answers 400 (naming
/// the unit, the capability and the byte offset) with nothing stored; the rest is one transaction.
extension API {
    /// The caller's binding is the host its credential may write (nil: any); a report for another host
    /// refuses the whole request (403 host_mismatch), so one compromised host cannot rewrite the others.
    /// Every stored report records who wrote it (the caller's identity) and the peer address; a refusal is
    /// recorded in write_refusals (`capreg audit`).
    func postReports(_ request: HTTPRequest, _ caller: Caller) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        // The clock is read here, once per request: the one bound on how far ahead `collected_at` may be.
        let reports = try Self.parseReports(request.body, max: maxReportsPerRequest,
                                            clock: ClockBound(now: Date(), maxSkew: maxClockSkew.timeInterval))
        // Identities and addresses are ours (Authorizer), never the client's words, so a bad one is our bug: a 500.
        let writer = try Writer(identity: caller.identity, peer: caller.peer)
        if let binding = caller.binding {
            for (index, report) in reports.enumerated() {
                guard let mismatch = binding.mismatch(hostname: report.host.hostname, machineId: report.host.machineId) else { continue }
                metrics.countRefusedReports("host_mismatch", reports.count)
                recordRefusal(WriteRefusal(at: Date(), writer: writer, hostname: report.host.hostname, machineId: report.host.machineId,
                                           reportId: report.reportId, reason: "host_mismatch", detail: mismatch))
                throw APIError(.forbidden, "host_mismatch", "report \(report.reportId) (index \(index)): \(mismatch); nothing was stored",
                               details: [("report_index", .int(index)), ("bound_to", .string(binding.description)),
                                         ("hostname", .string(report.host.hostname))]
                                   + (report.host.machineId.map { [("machine_id", .string($0))] } ?? []))
            }
        }
        let results: [IngestResult]
        do {
            results = try registry.ingestAllOrNothing(reports, receivedAt: Date(), writer: writer)
        } catch let refusal as UndecodableReport {
            throw Self.refusal(refusal)
        }
        for result in results { metrics.countIngest(result.duplicate ? "duplicate" : result.outcome.rawValue) }
        // A change (or a stale host's return) written here reaches this replica's watchers without waiting for a tick.
        if results.contains(where: { !$0.duplicate && ($0.outcome == .created || $0.outcome == .changed) || $0.heartbeat }) { watchFeed.nudge() }
        let items: [JSONValue] = results.map { r in
            .object([
                ("report_id", .string(r.reportId)),
                ("hostname", .string(r.hostname)),
                ("outcome", .string(r.outcome.rawValue)),
                ("duplicate", .bool(r.duplicate)),
                // A duplicate of a report an admin retracted: it stays retracted (capreg retract).
                ("retracted", .bool(r.retracted)),
                // A new version: the host's history gained rows (a repeat or an unchanged state adds none).
                ("recorded", .bool(!r.duplicate && r.outcome != .unchanged)),
                // Kept as a heartbeat: its time only, no revision of its own, its report_id not kept.
                ("heartbeat", .bool(r.heartbeat)),
                ("facts_opened", .int(r.factsOpened)),
                ("facts_closed", .int(r.factsClosed)),
                // ingestAllOrNothing stores every report it returns: each has its revision.
                ("revision", .int(r.revision ?? 0)),
            ])
        }
        return .json(.object([("results", .array(items))]))
    }

    /// One row of write_refusals per refused request, naming its first mismatching report. Past the
    /// store's per-identity bound (Registry.maxRefusalsPerMinute) only the metric counts it; a store
    /// that cannot write is logged and counted, and the 403 is answered all the same: the refusal must
    /// never depend on its record.
    func recordRefusal(_ refusal: WriteRefusal) {
        do {
            if try !registry.recordRefusal(refusal) { metrics.countUnrecordedRefusal("rate_bound") }
        } catch {
            metrics.countUnrecordedRefusal("store_error")
            log("write refusal by \(refusal.writer.identity ?? "unknown") not recorded: \(StoreErrorText.summary(error))")
        }
    }

    /// The body through the one report decoder (Report.decodeOneOrMany: the same checks and words as
    /// `capreg ingest`); a refusal is a 400 whose `path` names the field (`[2].collected_at` in an array).
    static func parseReports(_ body: [UInt8], max: Int, clock: ClockBound) throws(APIError) -> [Report] {
        let reports: [Report]
        do {
            reports = try Report.decodeOneOrMany(json: Data(body), clock: clock)
        } catch {
            throw APIError(.badRequest, "invalid_report", error.description,
                           details: error.path.isEmpty ? [] : [("path", .string(error.path))])
        }
        guard reports.count <= max else {
            throw APIError(.badRequest, "too_many_reports", "\(reports.count) reports in one request; at most \(max)")
        }
        return reports
    }

    /// The 400 for a report the decoders refuse: which report, unit, capability and byte offset.
    static func refusal(_ refusal: UndecodableReport) -> APIError {
        let reportId = refusal.reportId
        var details: [(String, ErrorDetail)] = [("report_id", .string(reportId)), ("report_index", .int(refusal.index))]
        switch refusal.error {
        case .decode(let unit, let kind, let e):
            details += [("unit", .string(unit)), ("source_kind", .string(kind)), ("capability", .string(e.context)),
                        ("offset", .int(e.offset)), ("expected", .string(e.expected))]
            if let found = e.found { details.append(("found", .string(found))) }
            return APIError(.badRequest, "undecodable_source",
                            "report \(reportId): \(kind) \(unit): \(e.context): at byte \(e.offset): expected \(e.expected)"
                                + (e.found.map { ", found \($0)" } ?? "") + "; nothing was stored",
                            details: details)
        case .refused(let refusal):
            // Met only by reports that skipped Report.decode (the decoder above refuses the same first).
            return APIError(.badRequest, "invalid_report", "report \(reportId): \(refusal); nothing was stored",
                            details: refusal.path.isEmpty ? [] : [("path", .string(refusal.path))])
        case .badSource(let unit, let kind, let message):
            details += [("unit", .string(unit)), ("source_kind", .string(kind))]
            return APIError(.badRequest, "bad_source", "report \(reportId): \(kind) \(unit): \(message); nothing was stored",
                            details: details)
        }
    }
}
