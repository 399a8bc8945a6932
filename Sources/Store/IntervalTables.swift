import Decoders
import Foundation
import Report

/// The two interval-stamped tables (facts, capability_versions): loading a host's rows that an update at
/// T may touch, and applying a splice's operations.
protocol IntervalTable {
    associatedtype Value: Equatable
    static var table: String { get }
    /// The columns `row` fills, in its order.
    static var columns: [String] { get }
    static func row(host: Int64, key: String, value: Value, from: Int64, to: Int64, openedBy: Int64, closedBy: Int64?) -> [any SQLBindable]
}

extension IntervalTable {
    /// Applies `ops`; `placeholder` in a report position stands for `report` (the splice runs before the
    /// report row exists).
    static func apply(_ db: any SQLConnection, host: Int64, ops: [IntervalOp<Value>], placeholder: Int64, report: Int64) throws {
        func id(_ r: Int64) -> Int64 { r == placeholder ? report : r }
        // A splice touches each row at most once, so the closings can go first, those that share an end
        // (an in-order report closes every changed row at its time) in one UPDATE.
        var ends: [(to: Int64, closedBy: Int64?, rows: [Int64])] = []
        for case let .setEnd(row, to, closedBy) in ops {
            let by = closedBy.map(id)
            if let i = ends.firstIndex(where: { $0.to == to && $0.closedBy == by }) { ends[i].rows.append(row) } else {
                ends.append((to, by, [row]))
            }
        }
        for end in ends {
            for start in stride(from: 0, to: end.rows.count, by: 16) {
                let rows = end.rows[start..<min(start + 16, end.rows.count)]
                let sql = "UPDATE \(table) SET valid_to = ?, closed_by = ? WHERE id IN \(SQLPlaceholders.list(rows.count))"
                try db.send(sql, ([end.to, end.closedBy] as [any SQLBindable] + rows.map { $0 }))
            }
        }
        // New rows last, batched: nothing the other operations touch is among them.
        var inserts = RowBatch(table: table, columns: columns)
        for op in ops {
            switch op {
            case .setEnd:
                continue
            case let .setStart(row, from, openedBy):
                try db.send("UPDATE \(table) SET valid_from = ?, opened_by = ? WHERE id = ?", [from, id(openedBy), row])
            case let .delete(row):
                try db.send("DELETE FROM \(table) WHERE id = ?", [row])
            case let .insert(key, value, from, to, openedBy, closedBy):
                try inserts.add(db, row(host: host, key: key, value: value, from: from, to: to, openedBy: id(openedBy), closedBy: closedBy.map(id)))
            }
        }
        try inserts.flush(db)
    }
}

enum FactTable: IntervalTable {
    static let table = "facts"

    static func load(_ db: any SQLConnection, host: Int64, notEndingBefore at: Int64) throws -> [IntervalRow<FactValue>] {
        let sql = """
            SELECT id, name, type, value_int, value_text, valid_from, valid_to, opened_by, closed_by
            FROM facts WHERE host_id = ? AND valid_to >= ?
            """
        var rows: [IntervalRow<FactValue>] = []
        for r in try db.rows(sql, [host, at]) {
            rows.append(IntervalRow(id: r[0], key: r[1], value: FactColumns.join(type: r[2], int: r[3], text: r[4]),
                                    from: r[5], to: r[6], openedBy: r[7], closedBy: r[8]))
        }
        return rows
    }

    static let columns = ["host_id", "name", "type", "value_int", "value_text", "valid_from", "valid_to", "opened_by", "closed_by"]

    static func row(host: Int64, key: String, value: FactValue, from: Int64, to: Int64, openedBy: Int64, closedBy: Int64?) -> [any SQLBindable] {
        let c = FactColumns.split(value)
        return [host, key, c.type, c.int, c.text, from, to, openedBy, closedBy]
    }
}

enum CapabilityTable: IntervalTable {
    static let table = "capability_versions"

    /// Without `decoded` the values carry "" for it: enough to compare (identity ignores it) and to close
    /// or extend rows, not to copy a row (only an out-of-order splice, with a bounded placement, copies).
    static func load(_ db: any SQLConnection, host: Int64, notEndingBefore at: Int64, decoded: Bool) throws -> [IntervalRow<CapabilityValue>] {
        let sql = """
            SELECT id, unit, capability, capability_version, kernel_release, raw, \(decoded ? "decoded" : "''"), decoder_version,
                   valid_from, valid_to, opened_by, closed_by
            FROM capability_versions WHERE host_id = ? AND valid_to >= ?
            """
        var rows: [IntervalRow<CapabilityValue>] = []
        for r in try db.rows(sql, [host, at]) {
            let unit: String = r[1], capability: String = r[2]
            let raw: [UInt8] = [UInt8](r[5] as Data)
            let value = CapabilityValue(unit: unit, capability: capability, version: r[3], kernel: r[4], raw: raw,
                                        decoded: r[6], decoderVersion: r[7])
            rows.append(IntervalRow(id: r[0], key: CapabilityRecord.key(unit: unit, capability: capability), value: value,
                                    from: r[8], to: r[9], openedBy: r[10], closedBy: r[11]))
        }
        return rows
    }

    static let columns = ["host_id", "unit", "capability", "capability_version", "kernel_release", "raw", "decoder_version",
                          "decoded", "valid_from", "valid_to", "opened_by", "closed_by"]

    static func row(host: Int64, key: String, value: CapabilityValue, from: Int64, to: Int64, openedBy: Int64,
                    closedBy: Int64?) -> [any SQLBindable] {
        [host, value.unit, value.capability, value.version, value.kernel, Data(value.raw), value.decoderVersion, value.decoded,
         from, to, openedBy, closedBy]
    }
}
