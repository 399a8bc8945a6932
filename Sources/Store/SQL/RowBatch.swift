/// Rows for one table sent as multi-row INSERTs (`VALUES (…), (…), …`), up to `perStatement` rows a
/// statement, instead of one statement a row. On PostgreSQL every statement is a round trip to the server
/// (about 0.3 ms on loopback), and a new host's report writes over a hundred fact rows, so per-row
/// statements made ingest and copy-store about ten times slower there than on SQLite.
///
/// Rows go out when the batch is full and at `flush`, which the owner calls before anything that must
/// see them. 128 rows of at most 13 columns stay far below both backends' limits on arguments a statement
/// (SQLite 32,766, PostgreSQL 65,535), and a connection's statement cache holds at most 128 texts a table.
/// A new host's facts (about 90 in the synthetic fleet) go in one statement, not two.
struct RowBatch {
    let table: String
    let columns: [String]
    /// Appended to each statement, e.g. an `ON CONFLICT` clause.
    let suffix: String
    let perStatement: Int
    private var values: [any SQLBindable] = []
    private var count = 0
    /// Rows sent so far.
    private(set) var sent = 0

    init(table: String, columns: [String], suffix: String = "", perStatement: Int = 128) {
        precondition(perStatement > 0 && perStatement * columns.count <= 32_766)
        self.table = table
        self.columns = columns
        self.suffix = suffix
        self.perStatement = perStatement
    }

    /// Adds one row, its values in `columns` order.
    mutating func add(_ db: any SQLConnection, _ row: [any SQLBindable]) throws {
        precondition(row.count == columns.count, "\(table): \(row.count) values for \(columns.count) columns")
        values.append(contentsOf: row)
        count += 1
        if count == perStatement { try flush(db) }
    }

    /// Sends the rows added since the last statement.
    mutating func flush(_ db: any SQLConnection) throws {
        guard count > 0 else { return }
        let tuple = SQLPlaceholders.list(columns.count)
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: tuple, count: count).joined(separator: ", ") + (suffix.isEmpty ? "" : " " + suffix)
        try db.send(sql, values)
        sent += count
        values.removeAll(keepingCapacity: true)
        count = 0
    }
}
