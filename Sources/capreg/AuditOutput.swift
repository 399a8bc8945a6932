import Foundation
import Store
import Timestamps

/// `capreg audit`'s two forms: aligned text lines (one event each) and one JSON document.
enum AuditOutput {
    /// A header and one line per event, columns padded to their widest entry: TIME EVENT WHO PEER WHAT.
    static func lines(_ events: [AuditEvent]) -> [String] {
        let rows = [["TIME", "EVENT", "WHO", "PEER", "WHAT"]] + events.map(row)
        var widths = [Int](repeating: 0, count: 4)
        for row in rows { for i in widths.indices { widths[i] = max(widths[i], row[i].count) } }
        return rows.map { row in
            (widths.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) } + [row[4]]).joined(separator: "  ")
        }
    }

    static func row(_ event: AuditEvent) -> [String] {
        let at = RFC3339.format(event.at)
        switch event {
        case .write(let w):
            return [at, "write", w.writtenBy ?? "unknown", w.peer ?? "-",
                    "report \(w.reportId) collected \(RFC3339.format(w.collectedAt)): \(w.outcome) (revision \(w.revision))"]
        case .refusal(let r):
            let claim = "host \(r.hostname)" + (r.machineId.map { ", machine-id \($0)" } ?? "")
            return [at, "refused", r.writer.identity ?? "unknown", r.writer.peer ?? "-",
                    "report \(r.reportId) claimed \(claim): \(r.reason): \(oneLine(r.detail))"]
        case .retraction(let r):
            return [at, "retracted", "-", "-",
                    "report \(r.reportId) collected \(RFC3339.format(r.collectedAt)): \(oneLine(r.reason)) (revision \(r.revision))"]
        case .credential(let e):
            return [at, "credential", e.credential.map { "cred:" + $0 } ?? e.enrollmentCode.map { "code:" + $0 } ?? "-", "-",
                    "\(e.kind): \(oneLine(e.detail))"]
        }
    }

    /// Text on one line: an admin's reason may hold line breaks and other controls, which would break
    /// the one-event-per-line form.
    static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// `{"hostname", "since", "omitted", "events": [...]}`, each event with `at` and `event` (write,
    /// refused, retracted, credential) and its own fields; null where nothing is known.
    static func document(_ audit: HostAudit, since: Date?) -> [String: Any] {
        ["hostname": audit.hostname, "since": orNull(since.map(RFC3339.format)), "omitted": audit.omitted,
         "events": audit.events.map(object)]
    }

    static func object(_ event: AuditEvent) -> [String: Any] {
        var out: [String: Any] = ["at": RFC3339.format(event.at)]
        switch event {
        case .write(let w):
            out.merge(["event": "write", "report_id": w.reportId, "collected_at": RFC3339.format(w.collectedAt), "outcome": w.outcome,
                       "revision": w.revision, "written_by": orNull(w.writtenBy), "peer": orNull(w.peer)]) { a, _ in a }
        case .refusal(let r):
            out.merge(["event": "refused", "report_id": r.reportId, "hostname": r.hostname, "machine_id": orNull(r.machineId),
                       "reason": r.reason, "detail": r.detail, "identity": orNull(r.writer.identity), "peer": orNull(r.writer.peer)]) { a, _ in a }
        case .retraction(let r):
            out.merge(["event": "retracted", "report_id": r.reportId, "collected_at": RFC3339.format(r.collectedAt),
                       "revision": r.revision, "reason": r.reason]) { a, _ in a }
        case .credential(let e):
            out.merge(["event": "credential", "credential": e.credential, "enrollment_code": e.enrollmentCode, "kind": e.kind, "detail": e.detail]) { a, _ in a }
        }
        return out
    }

    /// JSON null for nil (JSONSerialization takes NSNull).
    static func orNull(_ value: Any?) -> Any { value ?? NSNull() }
}
