import Foundation

/// The registry's history as flat tables for auditors (`capreg export history`, docs/audits.md): what
/// was reported (reports, with their payloads as received), what the registry made of it (fact and
/// capability intervals, raw bytes included), what was withdrawn (retractions) and when unchanged
/// reports confirmed a state (heartbeats). Columns are those of the schema, one type each, so that the
/// files load into Parquet, DuckDB or a spreadsheet without guessing.
public enum HistoryTable: String, CaseIterable, Sendable {
    case reports, facts, capabilities, retractions, heartbeats

    public var columns: [HistoryColumn] {
        switch self {
        case .reports:
            return [.init("revision", .int), .init("report_id", .text), .init("hostname", .text), .init("collected_at", .time),
                    .init("received_at", .time), .init("kernel", .text), .init("collector_version", .text), .init("written_by", .text),
                    .init("peer", .text), .init("outcome", .text), .init("decoder_version", .int), .init("content_hash", .text),
                    .init("payload", .json)]
        case .facts:
            return [.init("hostname", .text), .init("name", .text), .init("type", .text), .init("value_int", .int), .init("value_text", .text),
                    .init("valid_from", .time), .init("valid_to", .time), .init("opened_by", .int), .init("closed_by", .int)]
        case .capabilities:
            return [.init("hostname", .text), .init("unit", .text), .init("capability", .text), .init("capability_version", .int),
                    .init("kernel", .text), .init("decoder_version", .int), .init("raw", .bytes), .init("decoded", .json),
                    .init("valid_from", .time), .init("valid_to", .time), .init("opened_by", .int), .init("closed_by", .int)]
        case .retractions:
            return [.init("report_id", .text), .init("revision", .int), .init("at", .time), .init("reason", .text)]
        case .heartbeats:
            return [.init("hostname", .text), .init("at", .time), .init("confirms", .int)]
        }
    }
}

public struct HistoryColumn: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// A 64-bit integer.
        case int
        case text
        /// Milliseconds since the epoch, written as RFC 3339 UTC with milliseconds; null for an open end.
        case time
        /// Raw bytes, written as lowercase hex.
        case bytes
        /// JSON text the registry stored (a report's payload, a decoded capability).
        case json
    }

    public var name: String
    public var kind: Kind

    init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// One cell of an exported row, as its column's kind says.
public enum HistoryCell: Sendable, Hashable {
    case null
    case int(Int64)
    case text(String)
    case bytes([UInt8])
}

/// Which part of the history: reports collected in [since, until), intervals that overlap it,
/// retractions of exported reports, heartbeats in it. nil bounds: the whole history.
public struct HistoryWindow: Sendable, Hashable {
    public var since: Date?
    public var until: Date?

    public init(since: Date? = nil, until: Date? = nil) {
        self.since = since
        self.until = until
    }
}

/// Where a page of one table stopped: the key of its last row (reports, facts, capabilities: the row id;
/// retractions: the revision; heartbeats: host id and first time of a heartbeats row, then, at stage 1,
/// the row id of heartbeats kept as reports).
public struct HistoryExportCursor: Sendable, Hashable {
    public var stage: Int
    public var a: Int64
    public var b: Int64

    public init(stage: Int = 0, a: Int64, b: Int64 = 0) {
        self.stage = stage
        self.a = a
        self.b = b
    }

    /// `stage.a.b`, as the API's cursor codec carries it.
    public var text: String { "\(stage).\(a).\(b)" }

    public init?(text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let stage = Int(parts[0]), (0...1).contains(stage), let a = Int64(parts[1]), let b = Int64(parts[2]) else { return nil }
        self.init(stage: stage, a: a, b: b)
    }
}

extension Registry {
    /// Rows of one table read at a time over HTTP: at most about `limit` (heartbeats rows expand to up to
    /// 64 beats each), after `after`, and where the next page starts (nil: this was the last).
    public static let maxHistoryPageRows = 10_000

    /// Streams every table of the window to `row` (table by table, in HistoryTable order, rows in the
    /// order they were stored), all in one read transaction: the counts agree with each other. Returns the
    /// registry revision the snapshot holds.
    public func exportHistory(_ window: HistoryWindow, tables: [HistoryTable] = HistoryTable.allCases,
                              _ row: (HistoryTable, [HistoryCell]) throws -> Void) throws -> Int64 {
        try budgetedRead { db in
            for table in tables {
                _ = try Self.historyRows(db, table, window, after: nil, limit: nil) { try row(table, $0) }
            }
            return try Self.revision(db)
        }
    }

    /// One page of one table (GET /v1/exports/history), with the revision it was read at.
    public func historyPage(_ table: HistoryTable, _ window: HistoryWindow, after: HistoryExportCursor?, limit: Int)
        throws -> (rows: [[HistoryCell]], next: HistoryExportCursor?, revision: Int64) {
        precondition((1...Self.maxHistoryPageRows).contains(limit), "a page holds 1 to maxHistoryPageRows rows")
        return try budgetedRead { db in
            var rows: [[HistoryCell]] = []
            let next = try Self.historyRows(db, table, window, after: after, limit: limit) { rows.append($0) }
            return (rows, next, try Self.revision(db))
        }
    }

    /// One table's rows after `after` (keyset on its key), at most `limit` stored rows when given; returns
    /// where the next page starts when the limit was reached.
    static func historyRows(_ db: any SQLConnection, _ table: HistoryTable, _ window: HistoryWindow, after: HistoryExportCursor?, limit: Int?,
                            _ row: ([HistoryCell]) throws -> Void) throws -> HistoryExportCursor? {
        let since = window.since.map(StoreTime.ms) ?? Int64.min
        let until = window.until.map(StoreTime.ms) ?? Int64.max
        let tail = limit.map { " LIMIT \($0)" } ?? ""
        var read = 0
        var last = HistoryExportCursor(a: Int64.min)
        func more(_ stage: Int = 0) -> HistoryExportCursor? {
            guard let limit, read >= limit else { return nil }
            return HistoryExportCursor(stage: stage, a: last.a, b: last.b)
        }
        let from = after?.a ?? Int64.min
        switch table {
        case .reports:
            try db.forEachRow("""
                SELECT r.id, r.report_id, h.hostname, r.collected_at, r.received_at, r.kernel_release, r.collector_version,
                       r.written_by, r.peer, r.outcome, r.decoder_version, r.content_hash, r.payload
                FROM reports r JOIN hosts h ON h.id = r.host_id
                WHERE r.collected_at >= ? AND r.collected_at < ? AND r.outcome <> 'heartbeat' AND r.id > ? ORDER BY r.id\(tail)
                """, [since, until, from]) { c in
                read += 1
                last.a = c.int64(0)
                try row([.int(c.int64(0)), .text(c.text(1)), .text(c.text(2)), .int(c.int64(3)), .int(c.int64(4)),
                         .text(c.text(5)), .text(c.text(6)), cell(text: c, 7), cell(text: c, 8), .text(c.text(9)),
                         .int(c.int64(10)), .text(c.text(11)), .text(c.text(12))])
            }
            return more()
        case .facts:
            try db.forEachRow("""
                SELECT f.id, h.hostname, f.name, f.type, f.value_int, f.value_text, f.valid_from, f.valid_to, f.opened_by, f.closed_by
                FROM facts f JOIN hosts h ON h.id = f.host_id WHERE f.valid_from < ? AND f.valid_to > ? AND f.id > ? ORDER BY f.id\(tail)
                """, [until, since, from]) { c in
                read += 1
                last.a = c.int64(0)
                try row([.text(c.text(1)), .text(c.text(2)), .text(c.text(3)), cell(int: c, 4), cell(text: c, 5),
                         .int(c.int64(6)), end(c.int64(7)), .int(c.int64(8)), cell(int: c, 9)])
            }
            return more()
        case .capabilities:
            try db.forEachRow("""
                SELECT c.id, h.hostname, c.unit, c.capability, c.capability_version, c.kernel_release, c.decoder_version, c.raw, c.decoded,
                       c.valid_from, c.valid_to, c.opened_by, c.closed_by
                FROM capability_versions c JOIN hosts h ON h.id = c.host_id
                WHERE c.valid_from < ? AND c.valid_to > ? AND c.id > ? ORDER BY c.id\(tail)
                """, [until, since, from]) { c in
                read += 1
                last.a = c.int64(0)
                try row([.text(c.text(1)), .text(c.text(2)), .text(c.text(3)), .int(c.int64(4)), .text(c.text(5)),
                         .int(c.int64(6)), .bytes(c.blob(7)), .text(c.text(8)), .int(c.int64(9)), end(c.int64(10)),
                         .int(c.int64(11)), cell(int: c, 12)])
            }
            return more()
        case .retractions:
            try db.forEachRow("""
                SELECT r.report_id, x.revision, x.at, x.reason FROM retractions x JOIN reports r ON r.id = x.report
                WHERE r.collected_at >= ? AND r.collected_at < ? AND x.revision > ? ORDER BY x.revision\(tail)
                """, [since, until, from]) { c in
                read += 1
                last.a = c.int64(1)
                try row([.text(c.text(0)), .int(c.int64(1)), .int(c.int64(2)), .text(c.text(3))])
            }
            return more()
        case .heartbeats:
            // Each heartbeats row's times expanded (stage 0), then heartbeats kept as reports (stage 1: one
            // marks where a late report's span ends).
            if (after?.stage ?? 0) == 0 {
                let host = after?.a ?? Int64.min, first = after?.b ?? Int64.min
                try db.forEachRow("""
                    SELECT h.hostname, b.first_at, b.times, b.report, b.host_id FROM heartbeats b JOIN hosts h ON h.id = b.host_id
                    WHERE b.last_at >= ? AND b.first_at < ? AND (b.host_id > ? OR (b.host_id = ? AND b.first_at > ?))
                    ORDER BY b.host_id, b.first_at\(tail)
                    """, [since, until, host, host, first]) { c in
                    read += 1
                    last = HistoryExportCursor(a: c.int64(4), b: c.int64(1))
                    let hostname = c.text(0)
                    for at in Heartbeats.times(firstAt: c.int64(1), Data(c.blob(2))) where at >= since && at < until {
                        try row([.text(hostname), .int(at), .int(c.int64(3))])
                    }
                }
                if let next = more() { return next }
                if limit != nil { return HistoryExportCursor(stage: 1, a: Int64.min) }
            }
            let kept = after?.stage == 1 ? after!.a : Int64.min
            read = 0
            try db.forEachRow("""
                SELECT h.hostname, r.collected_at, r.confirms, r.id FROM reports r JOIN hosts h ON h.id = r.host_id
                WHERE r.outcome = 'heartbeat' AND r.collected_at >= ? AND r.collected_at < ? AND r.id > ? ORDER BY r.id\(tail)
                """, [since, until, kept]) { c in
                read += 1
                last = HistoryExportCursor(stage: 1, a: c.int64(3))
                try row([.text(c.text(0)), .int(c.int64(1)), cell(int: c, 2)])
            }
            return more(1)
        }
    }

    static func cell(text c: any SQLColumns, _ i: Int32) -> HistoryCell { c.isNull(i) ? .null : .text(c.text(i)) }
    static func cell(int c: any SQLColumns, _ i: Int32) -> HistoryCell { c.isNull(i) ? .null : .int(c.int64(i)) }
    static func end(_ ms: Int64) -> HistoryCell { ms == StoreTime.openEnd ? .null : .int(ms) }
}
