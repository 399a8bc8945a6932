import Foundation
import Server
import Store
import Timestamps

/// GET /v1/exports/history?table=T[&since=&until=][&cursor=C][&limit=N]: one page of one table of the
/// registry's history (docs/audits.md), for `capreg export history --server`. Admins only: it is every
/// payload as received, with writers and peer addresses. Each page is read at its own moment; one
/// snapshot of everything is `capreg export history --db`.
extension API {
    static let historyExportCursorTag = "x"

    func historyExport(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: ["table", "since", "until", "cursor", "limit"])
        guard let name = p.string("table") else {
            throw APIError.badParameter("table", "required: one of \(HistoryTable.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let table = HistoryTable(rawValue: name) else {
            throw APIError.badParameter("table", "one of \(HistoryTable.allCases.map(\.rawValue).joined(separator: ", ")); found \"\(name.prefix(40))\"")
        }
        let window = HistoryWindow(since: try p.time("since"), until: try p.time("until"))
        if let s = window.since, let u = window.until, s >= u { throw APIError.badParameter("since", "must be earlier than until") }
        var after: HistoryExportCursor?
        if let text = try PageCursor.decode(Self.historyExportCursorTag, p.string("cursor")) {
            guard let cursor = HistoryExportCursor(text: text) else { throw APIError.badParameter("cursor", "the cursor is not one this endpoint handed out") }
            after = cursor
        }
        let limit = p.string("limit") == nil ? 1000 : try p.limit(max: Registry.maxHistoryPageRows)
        let page = try store.historyPage(table, window, after: after, limit: limit)
        return .json(HistoryPageJSON.document(table, page.rows, next: page.next.map { PageCursor.encode(Self.historyExportCursorTag, $0.text) },
                                              revision: page.revision))
    }
}

/// A page of history rows as JSON: cells in column order; times RFC 3339, bytes hex, stored JSON as text.
public enum HistoryPageJSON {
    public static func document(_ table: HistoryTable, _ rows: [[HistoryCell]], next: String?, revision: Int64) -> JSONValue {
        .object([
            ("table", .string(table.rawValue)),
            ("revision", .int(revision)),
            ("columns", .array(table.columns.map { .object([("name", .string($0.name)), ("type", .string($0.kind.rawValue))]) })),
            ("rows", .array(rows.map { cells in .array(zip(table.columns, cells).map { cell($0.kind, $1) }) })),
            ("next_cursor", .optional(next)),
        ])
    }

    static func cell(_ kind: HistoryColumn.Kind, _ cell: HistoryCell) -> JSONValue {
        switch (kind, cell) {
        case (_, .null): return .null
        case (.time, .int(let ms)): return .string(RFC3339.format(StoreTime.date(ms)))
        case (_, .int(let n)): return .int(n)
        case (_, .text(let text)): return .string(text)
        case (_, .bytes(let raw)): return .string(raw.map { String(format: "%02x", $0) }.joined())
        }
    }

    /// A cell read back from a page (what `cell` wrote), or nil when it is not of its column's kind.
    public static func cell(_ kind: HistoryColumn.Kind, from any: Any) -> HistoryCell? {
        switch (kind, any) {
        case (_, is NSNull): return .null
        case (.time, let text as String): return (try? RFC3339.parse(text)).map { .int(StoreTime.ms($0)) }
        case (.int, let n as NSNumber): return .int(n.int64Value)
        case (.text, let text as String), (.json, let text as String): return .text(text)
        case (.bytes, let hex as String): return bytes(hex).map(HistoryCell.bytes)
        default: return nil
        }
    }

    static func bytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
