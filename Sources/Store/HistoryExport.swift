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

extension Registry {
    /// Streams every table of the window to `row` (table by table, in HistoryTable order, rows in the
    /// order they were stored), all in one read transaction: the counts agree with each other. Returns the
    /// registry revision the snapshot holds.
    public func exportHistory(_ window: HistoryWindow, tables: [HistoryTable] = HistoryTable.allCases,
                              _ row: (HistoryTable, [HistoryCell]) throws -> Void) throws -> Int64 {
        let since = window.since.map(StoreTime.ms) ?? Int64.min
        let until = window.until.map(StoreTime.ms) ?? Int64.max
        return try budgetedRead { db in
            for table in tables {
                switch table {
                case .reports:
                    try db.forEachRow("""
                        SELECT r.id, r.report_id, h.hostname, r.collected_at, r.received_at, r.kernel_release, r.collector_version,
                               r.written_by, r.peer, r.outcome, r.decoder_version, r.content_hash, r.payload
                        FROM reports r JOIN hosts h ON h.id = r.host_id
                        WHERE r.collected_at >= ? AND r.collected_at < ? AND r.outcome <> 'heartbeat' ORDER BY r.id
                        """, [since, until]) { c in
                        try row(.reports, [.int(c.int64(0)), .text(c.text(1)), .text(c.text(2)), .int(c.int64(3)), .int(c.int64(4)),
                                           .text(c.text(5)), .text(c.text(6)), Self.cell(text: c, 7), Self.cell(text: c, 8), .text(c.text(9)),
                                           .int(c.int64(10)), .text(c.text(11)), .text(c.text(12))])
                    }
                case .facts:
                    try db.forEachRow("""
                        SELECT h.hostname, f.name, f.type, f.value_int, f.value_text, f.valid_from, f.valid_to, f.opened_by, f.closed_by
                        FROM facts f JOIN hosts h ON h.id = f.host_id WHERE f.valid_from < ? AND f.valid_to > ? ORDER BY f.id
                        """, [until, since]) { c in
                        try row(.facts, [.text(c.text(0)), .text(c.text(1)), .text(c.text(2)), Self.cell(int: c, 3), Self.cell(text: c, 4),
                                         .int(c.int64(5)), Self.end(c.int64(6)), .int(c.int64(7)), Self.cell(int: c, 8)])
                    }
                case .capabilities:
                    try db.forEachRow("""
                        SELECT h.hostname, c.unit, c.capability, c.capability_version, c.kernel_release, c.decoder_version, c.raw, c.decoded,
                               c.valid_from, c.valid_to, c.opened_by, c.closed_by
                        FROM capability_versions c JOIN hosts h ON h.id = c.host_id WHERE c.valid_from < ? AND c.valid_to > ? ORDER BY c.id
                        """, [until, since]) { c in
                        try row(.capabilities, [.text(c.text(0)), .text(c.text(1)), .text(c.text(2)), .int(c.int64(3)), .text(c.text(4)),
                                                .int(c.int64(5)), .bytes(c.blob(6)), .text(c.text(7)), .int(c.int64(8)), Self.end(c.int64(9)),
                                                .int(c.int64(10)), Self.cell(int: c, 11)])
                    }
                case .retractions:
                    try db.forEachRow("""
                        SELECT r.report_id, x.revision, x.at, x.reason FROM retractions x JOIN reports r ON r.id = x.report
                        WHERE r.collected_at >= ? AND r.collected_at < ? ORDER BY x.revision
                        """, [since, until]) { c in
                        try row(.retractions, [.text(c.text(0)), .int(c.int64(1)), .int(c.int64(2)), .text(c.text(3))])
                    }
                case .heartbeats:
                    // Each row's times expanded; a heartbeat kept as a report (to mark a late report's end) is one too.
                    try db.forEachRow("""
                        SELECT h.hostname, b.first_at, b.times, b.report, b.host_id FROM heartbeats b JOIN hosts h ON h.id = b.host_id
                        WHERE b.last_at >= ? AND b.first_at < ? ORDER BY b.host_id, b.first_at
                        """, [since, until]) { c in
                        let hostname = c.text(0)
                        for at in Heartbeats.times(firstAt: c.int64(1), Data(c.blob(2))) where at >= since && at < until {
                            try row(.heartbeats, [.text(hostname), .int(at), .int(c.int64(3))])
                        }
                    }
                    try db.forEachRow("""
                        SELECT h.hostname, r.collected_at, r.confirms FROM reports r JOIN hosts h ON h.id = r.host_id
                        WHERE r.outcome = 'heartbeat' AND r.collected_at >= ? AND r.collected_at < ? ORDER BY r.id
                        """, [since, until]) { c in
                        try row(.heartbeats, [.text(c.text(0)), .int(c.int64(1)), Self.cell(int: c, 2)])
                    }
                }
            }
            return try Self.revision(db)
        }
    }

    static func cell(text c: any SQLColumns, _ i: Int32) -> HistoryCell { c.isNull(i) ? .null : .text(c.text(i)) }
    static func cell(int c: any SQLColumns, _ i: Int32) -> HistoryCell { c.isNull(i) ? .null : .int(c.int64(i)) }
    static func end(_ ms: Int64) -> HistoryCell { ms == StoreTime.openEnd ? .null : .int(ms) }
}
