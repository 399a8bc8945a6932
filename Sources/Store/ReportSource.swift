import Foundation

/// The report a version of a host's history (or a change feed entry) comes from, and who wrote it
/// (migrations/0010): the identity and peer address recorded at ingest; nil for reports stored before
/// writers were recorded.
public struct ReportSource: Sendable, Hashable {
    public var reportId: String
    public var writtenBy: String?
    public var peer: String?

    public init(reportId: String, writtenBy: String?, peer: String?) {
        self.reportId = reportId
        self.writtenBy = writtenBy
        self.peer = peer
    }
}

extension Registry {
    /// The report in force for `host` at `t` (QuerySQL.reportAsOf) with its kernel; nil before its first report.
    static func reportAsOf(_ db: any SQLConnection, host: Int64, at t: Int64) throws -> (kernel: String, source: ReportSource)? {
        guard let row = try db.row(QuerySQL.reportAsOf, [host, t]) else { return nil }
        return (row[0], ReportSource(reportId: row[1], writtenBy: row[2], peer: row[3]))
    }
}
