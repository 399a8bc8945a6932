import Foundation
import Report

/// Change detection for daemon mode. A report's content is everything but its id, time and the
/// informational `decoded` values. When the content is the same as the last report spooled, the
/// agent sends a heartbeat: the same report with a new id and time and without `decoded` (its raw
/// sources only, a fraction of the size). The registry stores it as "unchanged", which moves the
/// host's last-seen time and adds no history: a heartbeat needs no API of its own.
public enum Heartbeat {
    /// A stable digest of the content (FNV-1a 64 over the canonical JSON; change detection only).
    public static func fingerprint(_ report: Report) -> String {
        var r = report
        r.reportId = ""
        r.collectedAt = Date(timeIntervalSince1970: 0)
        r.sources = r.sources.map { var s = $0; s.decoded = nil; return s }
        let data = (try? Report.encoder.encode(r)) ?? Data()
        var h: UInt64 = 0xcbf29ce484222325
        for b in data { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(h, radix: 16)
    }

    /// The small form of an unchanged report.
    public static func heartbeat(of report: Report) -> Report {
        var r = report
        r.sources = r.sources.map { var s = $0; s.decoded = nil; return s }
        return r
    }

    /// The last spooled fingerprint, kept in the spool directory across restarts.
    public static func last(in spool: Spool) -> String? {
        guard case .success(let text) = FileReader.text(spool.directory + "/last-content") else { return nil }
        let t = text.trimmingWhitespace()
        return t.isEmpty ? nil : t
    }

    public static func remember(_ fingerprint: String, in spool: Spool) {
        try? (fingerprint + "\n").write(toFile: spool.directory + "/last-content", atomically: true, encoding: .utf8)
    }
}
