import Foundation
import GRDB
import GRDBSQLite
import Store

/// Typed column reads straight from the SQLite statement a cursor has just stepped. For pages of
/// thousands of fact rows, GRDB's generic Row decoding (a copied Row per row, values boxed per column)
/// cost about 1 µs a row, most of a placement query's time; these reads cost what SQLite costs.
struct ColumnReader: SQLColumns {
    let statement: SQLiteStatement

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    /// The column as UTF-8 text ("" for NULL).
    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, column))
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Whether the column's text equals `expected`, without making a String.
    func textEquals(_ column: Int32, _ expected: StaticString) -> Bool {
        guard let bytes = sqlite3_column_text(statement, column) else { return false }
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count == expected.utf8CodeUnitCount else { return false }
        return memcmp(bytes, expected.utf8Start, count) == 0
    }
}
