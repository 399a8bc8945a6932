/// Walks a table in key order a batch at a time (`WHERE (key…) > (last…) ORDER BY key… LIMIT n`), the
/// same on both backends: for the copy (RegistryCopy) and its checksum (TableChecksum).
enum KeysetBatches {
    /// Calls `body` with each batch of `SELECT columns FROM table` after `start` (nil: from the first row).
    static func forEach(_ db: any SQLConnection, table: String, columns: [String], key: [String], after start: [SQLValue]?,
                        batch: Int, _ body: ([SQLRow]) throws -> Void) throws {
        let keys = key.joined(separator: ", ")
        let placeholders = SQLPlaceholders.list(key.count)
        let select = "SELECT \(columns.joined(separator: ", ")) FROM \(table)"
        let positions = key.map { columns.firstIndex(of: $0)! }
        var after = start
        while true {
            let rows = try after.map { try db.rows("\(select) WHERE (\(keys)) > \(placeholders) ORDER BY \(keys) LIMIT ?", $0 + [.int(Int64(batch))]) }
                ?? db.rows("\(select) ORDER BY \(keys) LIMIT ?", [batch])
            guard let last = rows.last else { return }
            try body(rows)
            after = positions.map { last.values[$0] }
        }
    }
}
