/// The store interface every backend implements: transactions over one database, statements with `?`
/// arguments, rows as SQLValue. Everything the registry knows (ingest, history, queries, credentials)
/// is written once above it (`Registry`), so SQLite and PostgreSQL give the same answers by construction;
/// what differs between them is spelled in `SQLDialect`.
public protocol SQLDatabase: AnyObject, Sendable {
    var dialect: SQLDialect { get }

    /// A read-only transaction on one consistent snapshot. With a budget the backend stops the read past
    /// it (or when the client has gone) and throws `QueryInterrupted`.
    func read<T>(budget: QueryBudget?, _ body: (any SQLConnection) throws -> T) throws -> T

    /// One write transaction. Writers are serialized, so revision numbers (taken inside) commit in order:
    /// a revision never becomes visible before a smaller one.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T

    /// Where the database is, for messages: a file path, or a URL without its password.
    var location: String { get }

    /// Bytes the database takes on disk (SQLite: the file and its WAL); 0 when it cannot be told.
    func storedBytes() -> Int64

    /// The backend's own consistency check ("ok" when sound).
    func integrityCheck() throws -> String

    /// Work a backend does when a command ends (SQLite folds its WAL into the file); may do nothing.
    func close() throws
}

extension SQLDatabase {
    public func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try read(budget: nil, body) }
}

/// One transaction's statements.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }

    /// Runs one statement without rows; answers how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int

    /// Runs one statement whose answer the caller does not need (no rows, no count): a backend may send it
    /// without waiting, and its failure is then thrown by the transaction's next statement that is waited
    /// for, or by its COMMIT. Each answer waited for on PostgreSQL hands the connection's event loop back
    /// to the caller's thread; a report's write is about a dozen statements (docs/store.md).
    func send(_ sql: String, _ arguments: [any SQLBindable]) throws

    /// Runs an INSERT into a table with an `id` key and answers the new row's id.
    func insert(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int64

    /// Every row, copied, with column names.
    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow]

    /// Each row in turn, read in place (nothing copied but what `body` reads).
    func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (any SQLColumns) throws -> Void) throws

    /// Several statements without arguments (migrations).
    func executeScript(_ sql: String) throws

    /// Inserts many rows into `table` (each row's values in `columns` order) in as few trips as the backend
    /// allows: multi-row INSERTs, or on PostgreSQL one COPY. For moving whole tables (copy-store).
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) throws
}

extension SQLConnection {
    /// Waited for, like `execute` (SQLite runs every statement in the caller's thread anyway).
    public func send(_ sql: String, _ arguments: [any SQLBindable]) throws { _ = try execute(sql, arguments) }

    public func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) throws {
        var batch = RowBatch(table: table, columns: columns)
        for row in rows { try batch.add(self, row) }
        try batch.flush(self)
    }

    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    public func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    /// The first row, or nil.
    public func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row; nil when there is no row or it is NULL.
    public func value<T: SQLReadable>(_ sql: String, _ arguments: [any SQLBindable] = [], as type: T.Type = T.self) throws -> T? {
        guard let row = try row(sql, arguments), row.count > 0 else { return nil }
        let read: T?? = Optional<T>.read(row.values[0])
        return read ?? nil
    }

    /// The first column of every row (NULLs left out).
    public func values<T: SQLReadable>(_ sql: String, _ arguments: [any SQLBindable] = [], as type: T.Type = T.self) throws -> [T] {
        try rows(sql, arguments).compactMap { row in row.count > 0 ? T.read(row.values[0]) : nil }
    }

    /// Runs `body` inside a savepoint: undone alone when it throws, the transaction goes on.
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT capreg_step")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT capreg_step")
            return result
        } catch {
            try execute("ROLLBACK TO SAVEPOINT capreg_step")
            try execute("RELEASE SAVEPOINT capreg_step")
            throw error
        }
    }

    public func tableExists(_ name: String) throws -> Bool {
        switch dialect {
        case .sqlite: return try value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name], as: Int.self) != nil
        case .postgres: return try value("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?", [name], as: Int.self) != nil
        }
    }
}

/// Where the two SQL dialects differ in what the registry writes.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// A subquery of the strings (or integers) in the JSON array bound at `placeholder` ("?" or "?N"):
    /// `x IN (\(jsonArrayElements()))`.
    public func jsonArrayElements(_ placeholder: String = "?", integers: Bool = false) -> String {
        switch self {
        case .sqlite: return "SELECT value FROM json_each(\(placeholder))"
        case .postgres: return integers ? "SELECT value::bigint FROM json_array_elements_text(\(placeholder)::json) AS e(value)"
                                        : "SELECT value FROM json_array_elements_text(\(placeholder)::json) AS e(value)"
        }
    }

    /// `WITH name AS MATERIALIZED (…)`: the integer pairs `(a, b)` of the JSON array of two-element arrays
    /// bound at `placeholder` (`[[1,2],[3,4]]`), a list the caller computed, read once into a temporary table
    /// and then joined against tables (not parsed again for every row a join visits).
    public func jsonIntegerPairsCTE(_ name: String, _ placeholder: String = "?") -> String {
        switch self {
        case .sqlite: return "WITH \(name) AS MATERIALIZED (SELECT value ->> 0 AS a, value ->> 1 AS b FROM json_each(\(placeholder)))"
        case .postgres: return "WITH \(name) AS MATERIALIZED (SELECT (e->>0)::bigint AS a, (e->>1)::bigint AS b FROM json_array_elements(\(placeholder)::json) AS e)"
        }
    }

    /// Concatenation of `expression` over a group, in the order of the rows given.
    public func concatenate(_ expression: String) -> String {
        switch self {
        case .sqlite: return "group_concat(\(expression), '')"
        case .postgres: return "string_agg(\(expression), '')"
        }
    }
}

/// An error a backend raised, with what it may say in a log: its code and message, never the statement
/// or its arguments (a 240 KB query per failing request, and other callers' values).
public protocol SQLBackendError: Error {
    var summary: String { get }
    /// The database could not be reached (connection lost, no writable server during a failover): the
    /// same request may succeed a moment later. The API answers 503 `store_unavailable`, not 500.
    var unavailable: Bool { get }
}

extension SQLBackendError {
    public var unavailable: Bool { false }
}
