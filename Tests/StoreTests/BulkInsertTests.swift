import Foundation
import Testing
import TestSupport
@testable import Store

/// `insertRows` (copy-store's bulk path: multi-row INSERTs on SQLite, one COPY on PostgreSQL) stores every
/// value as it was given, whatever bytes a text or blob holds, and NULL apart from the empty string.
@Suite struct BulkInsertTests {
    static let texts = ["", "plain", "back\\slash", "tab\there", "line\nbreak", "carriage\rreturn", "\\N", "\\.", "end\\",
                        "ünïcødé ✓ 𝔘", "quote ' \" ", String(repeating: "x", count: 70_000)]

    @Test func everyValueComesBackAsWritten() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let types = store.dialect == .postgres ? ("BIGINT", "TEXT", "BYTEA", "DOUBLE PRECISION") : ("INTEGER", "TEXT", "BLOB", "REAL")
        var rows: [[SQLValue]] = []
        for (i, text) in Self.texts.enumerated() {
            rows.append([.int(Int64(i)), .text(text), .blob(Array(UInt8(i)...255) + [0, 9, 10, 13, 92]), .double(Double(i) / 3)])
        }
        rows.append([.int(100), .null, .null, .null])
        rows.append([.int(Int64.min), .text("min"), .blob([]), .double(-0.1)])
        rows.append([.int(Int64.max), .text("max"), .blob([0]), .double(1e300)])
        try store.database.write { db in
            try db.execute("CREATE TABLE bulk_probe (i \(types.0) PRIMARY KEY, t \(types.1), b \(types.2), d \(types.3))")
            try db.insertRows(into: "bulk_probe", columns: ["i", "t", "b", "d"], rows: rows)
        }
        let read = try store.database.read { db in try db.rows("SELECT i, t, b, d FROM bulk_probe ORDER BY i").map(\.values) }
        #expect(read.count == rows.count)
        #expect(read == rows.sorted { Int64.read($0[0])! < Int64.read($1[0])! })
    }

    @Test func aRefusedRowFailsTheWholeInsert() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try store.database.write { db in try db.execute("CREATE TABLE bulk_probe (i BIGINT PRIMARY KEY)") }
        #expect(throws: (any Error).self) {
            try store.database.write { db in
                try db.insertRows(into: "bulk_probe", columns: ["i"], rows: [[.int(1)], [.int(2)], [.int(1)]])
            }
        }
        #expect(try store.count("SELECT count(*) FROM bulk_probe") == 0)
    }
}
