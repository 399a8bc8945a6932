/// A table's row count and a SHA-256 over its rows in key order, each value in one canonical encoding
/// (a type tag, a length, the bytes), columns in name order: equal on SQLite and PostgreSQL exactly when
/// both hold the same rows.
struct TableChecksum: Equatable {
    var rows: Int
    var digest: String

    static let batch = 5000

    static func of(_ db: any SQLConnection, table: String, columns: [String], key: [String]) throws -> TableChecksum {
        let names = columns.sorted()
        let select = "SELECT \(names.joined(separator: ", ")) FROM \(table)"
        var hash = SHA256()
        var count = 0
        func add(_ rows: [SQLRow]) {
            for row in rows { for value in row.values { encode(value, into: &hash) } }
            count += rows.count
        }
        if key.isEmpty {
            // Tables without a key are small: one ordered read (NULLs first on both backends).
            add(try db.rows(select + " ORDER BY " + names.map { "\($0) NULLS FIRST" }.joined(separator: ", ")))
        } else {
            try KeysetBatches.forEach(db, table: table, columns: names, key: key, after: nil, batch: batch, add)
        }
        return TableChecksum(rows: count, digest: hash.finalize())
    }

    static func encode(_ value: SQLValue, into hash: inout SHA256) {
        func length(_ n: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(n) >> (8 * $0)) } }
        switch value {
        case .null: hash.update([0])
        case .int(let i): hash.update([1] + length(Int(truncatingIfNeeded: i)))
        case .double(let d): hash.update([2] + length(Int(truncatingIfNeeded: d.bitPattern)))
        case .text(let s): hash.update([3] + length(s.utf8.count)); hash.update(s.utf8)
        case .blob(let b): hash.update([4] + length(b.count)); hash.update(b)
        }
    }
}
